// `downpolicy`: what becomes of the packets of a client whose session's target went down. The
// control side keeps the sessions of hold and reset servers (test/control); here the data plane
// decides each packet of such a session.
import { describe, expect, test } from "bun:test";
import type { DownPolicy } from "../../src/config/model.ts";
import { DROP, DROP_REASONS } from "../../src/dataplane/counters.ts";
import { VERDICT_DROP, VERDICT_FORWARD, VERDICT_REPLY } from "../../src/dataplane/process.ts";
import { config } from "../fixtures/config.ts";
import { CLIENT_MAC, EPOCH_MS, Lab, OWN_MAC, targetMac } from "../fixtures/dataplane.ts";
import { TCP_ACK, TCP_PSH, TCP_RST, TCP_SYN, mac, tcpFrame, udpFrame } from "../fixtures/frames.ts";

const VIP = "10.0.0.10";
const CLIENT = "192.0.2.7";

function labWith(downPolicy: DownPolicy): Lab {
  return new Lab(
    config(
      [
        { id: 1, ipaddr: VIP, port: 80, targets: [1, 2], downPolicy, timeoutS: 60 },
        { id: 2, ipaddr: VIP, port: 53, protocol: "udp", targets: [1, 2], downPolicy },
      ],
      [{ id: 1, ipaddr: "10.0.0.101" }, { id: 2, ipaddr: "10.0.0.102" }],
    ),
  );
}

const segment = (flags: number, seq = 1000, ack = 0x5000) => tcpFrame({ src: CLIENT_MAC, dst: OWN_MAC, srcIp: CLIENT, dstIp: VIP, srcPort: 40000, dstPort: 80, flags, seq, ack });
const datagram = () => udpFrame({ src: CLIENT_MAC, dst: OWN_MAC, srcIp: CLIENT, dstIp: VIP, srcPort: 40000, dstPort: 53 });

/** The target id a forwarded frame went to, by its destination MAC. */
function targetOf(frame: Uint8Array | undefined): number | undefined {
  if (frame === undefined) return undefined;
  return [1, 2].find((id) => Buffer.from(frame.subarray(0, 6)).equals(mac(targetMac(id))));
}

/** Binds the client (TCP and UDP) to target 1, then takes target 1 down. */
function boundToDownTarget(lab: Lab): void {
  expect(targetOf(lab.run(segment(TCP_SYN)).sent[0])).toBe(1);
  expect(targetOf(lab.run(datagram()).sent[0])).toBe(1);
  lab.setTarget(1, "down");
}

describe("downpolicy", () => {
  test("reschedule (the default): the next packet goes to another target", () => {
    const lab = labWith("reschedule");
    boundToDownTarget(lab);
    const next = lab.run(segment(TCP_ACK | TCP_PSH));
    expect(next.verdict).toBe(VERDICT_FORWARD);
    expect(targetOf(next.sent[0])).toBe(2);
  });

  test("hold: packets are dropped and counted while the target is down; the session resumes when it is up", () => {
    const lab = labWith("hold");
    boundToDownTarget(lab);
    for (const frame of [segment(TCP_ACK | TCP_PSH), segment(TCP_SYN), datagram()]) {
      const held = lab.run(frame);
      expect(held.verdict).toBe(VERDICT_DROP);
      expect(DROP_REASONS[held.reason]).toBe("target_down");
      expect(held.sent).toEqual([]);
    }
    expect(lab.counters().drops.target_down).toBe(3);
    lab.setTarget(1, "up");
    expect(targetOf(lab.run(segment(TCP_ACK)).sent[0])).toBe(1);
  });

  test("hold ends with the session: once it has expired, the client is balanced anew", () => {
    const lab = labWith("hold");
    boundToDownTarget(lab);
    lab.nowMs = EPOCH_MS + 60_000;
    expect(targetOf(lab.run(segment(TCP_SYN)).sent[0])).toBe(2);
  });

  test("hold applies to down targets of the server only: pending, or no longer listed by it, the client is rescheduled", () => {
    const pending = labWith("hold");
    boundToDownTarget(pending);
    pending.setTarget(1, "pending");
    expect(targetOf(pending.run(segment(TCP_ACK)).sent[0])).toBe(2);

    const unlisted = labWith("hold");
    boundToDownTarget(unlisted);
    unlisted.reconfigure(config([{ id: 1, ipaddr: VIP, port: 80, targets: [2], downPolicy: "hold" }], [{ id: 1, ipaddr: "10.0.0.101" }, { id: 2, ipaddr: "10.0.0.102" }]));
    expect(targetOf(unlisted.run(segment(TCP_ACK)).sent[0])).toBe(2);
  });

  test("reset: a segment is answered with a RST from the VIP to the client, exactly", () => {
    const lab = labWith("reset");
    boundToDownTarget(lab);
    const answered = lab.run(segment(TCP_ACK | TCP_PSH, 1001, 0x12345678));
    expect(answered.verdict).toBe(VERDICT_REPLY);
    expect(answered.sent).toEqual([
      tcpFrame({ src: OWN_MAC, dst: CLIENT_MAC, srcIp: VIP, dstIp: CLIENT, srcPort: 80, dstPort: 40000, seq: 0x12345678, ack: 0, flags: TCP_RST, window: 0, id: 0, dontFragment: true, ttl: 64 }),
    ]);
    expect(lab.counters().events.resets_sent).toBe(1);
    expect(lab.counters().events.forwarded).toBe(2);
  });

  test("reset: the client's retry (a SYN) goes to another target, and stays there", () => {
    const lab = labWith("reset");
    boundToDownTarget(lab);
    lab.run(segment(TCP_ACK));
    const retry = lab.run(segment(TCP_SYN, 7000));
    expect(retry.verdict).toBe(VERDICT_FORWARD);
    expect(targetOf(retry.sent[0])).toBe(2);
    expect(targetOf(lab.run(segment(TCP_ACK, 7001)).sent[0])).toBe(2);
    lab.setTarget(1, "up");
    expect(targetOf(lab.run(segment(TCP_ACK, 7001)).sent[0])).toBe(2);
  });

  test("reset: a RST from the client is never answered with one; UDP is rescheduled", () => {
    const lab = labWith("reset");
    boundToDownTarget(lab);
    const rst = lab.run(segment(TCP_RST));
    expect(rst.verdict).toBe(VERDICT_DROP);
    expect(rst.reason).toBe(DROP.target_down);
    expect(rst.sent).toEqual([]);
    expect(targetOf(lab.run(datagram()).sent[0])).toBe(2);
    expect(lab.counters().events.resets_sent).toBe(0);
  });

  test("reset: a segment whose header length is impossible is dropped as short_tcp, not answered", () => {
    const lab = labWith("reset");
    boundToDownTarget(lab);
    const frame = segment(TCP_ACK);
    frame[14 + 20 + 12] = 0x40;
    const bad = lab.run(frame);
    expect(bad.verdict).toBe(VERDICT_DROP);
    expect(bad.reason).toBe(DROP.short_tcp);
    expect(bad.sent).toEqual([]);
  });
});
