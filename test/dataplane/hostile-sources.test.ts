// Forged sources (issue 19): bng answers no group Ethernet source, answers ARP to the frame's
// own source (not the body's claim), limits echo replies, and lets no martian source create a
// session.

import { describe, expect, test } from "bun:test";
import { DROP_REASONS } from "../../src/dataplane/counters.ts";
import { VERDICT_DROP, VERDICT_FORWARD, VERDICT_REPLY } from "../../src/dataplane/process.ts";
import { config } from "../fixtures/config.ts";
import { CLIENT_MAC, EPOCH_MS, Lab, OWN_MAC, targetMac } from "../fixtures/dataplane.ts";
import { BROADCAST, TCP_SYN, arpFrame, icmpFrame, ip, tcpFrame, withMacs } from "../fixtures/frames.ts";
import { PACKET_BROADCAST } from "../fixtures/memory-io.ts";

const VIP = "10.0.0.10";
const CLIENT = "192.0.2.7";
const VICTIM_MAC = "02:00:00:00:99:99";
/** Echo replies a worker sends a second at most (icmp.ts ECHO_REPLIES_PER_SECOND, docs/dataplane.md). */
const ECHO_REPLIES_PER_SECOND = 1000;

function lab(): Lab {
  return new Lab(config([{ id: 1, ipaddr: VIP, port: 80, targets: [1] }], [{ id: 1, ipaddr: "10.0.0.101" }]));
}

const echoRequest = (src = CLIENT_MAC, srcIp = CLIENT, sequence = 1) =>
  icmpFrame({ src, dst: OWN_MAC, srcIp, dstIp: VIP, type: 8, identifier: 7, sequence, payload: new Uint8Array(32).fill(1) });
const syn = (src = CLIENT_MAC, srcIp = CLIENT) => tcpFrame({ src, dst: OWN_MAC, srcIp, dstIp: VIP, srcPort: 40000, dstPort: 80, flags: TCP_SYN });

function dropped(result: { verdict: number; reason: number; sent: Uint8Array[] }): string | undefined {
  expect(result.sent).toEqual([]);
  return result.verdict === VERDICT_DROP ? DROP_REASONS[result.reason] : `verdict ${result.verdict}`;
}

describe("forged and flooding sources", () => {
  test("an echo request from a broadcast or multicast Ethernet source gets no reply (group_source)", () => {
    const balancer = lab();
    for (const group of [BROADCAST, "01:00:5e:00:00:01", "33:33:00:00:00:01"]) {
      expect(dropped(balancer.run(echoRequest(group)))).toBe("group_source");
    }
    expect(balancer.run(echoRequest()).verdict).toBe(VERDICT_REPLY);
    expect(balancer.counters().drops.group_source).toBe(3);
  });

  test(`echo replies are limited to ${ECHO_REPLIES_PER_SECOND} a second per worker; the rest are dropped and counted`, () => {
    const balancer = lab();
    const request = echoRequest();
    let replies = 0;
    for (let i = 0; i < ECHO_REPLIES_PER_SECOND + 50; i++) {
      // In batches of 64, as a worker receives them.
      balancer.io.inject(request);
      if (balancer.io.pending === 64 || i === ECHO_REPLIES_PER_SECOND + 49) {
        balancer.io.receive();
        balancer.processor.processBatch();
        balancer.io.sent.length = 0;
        replies += balancer.io.send();
      }
    }
    expect(replies).toBe(ECHO_REPLIES_PER_SECOND);
    expect(balancer.counters().drops.echo_rate_limited).toBe(50);
    balancer.nowMs = EPOCH_MS + 1000;
    expect(balancer.run(request).verdict).toBe(VERDICT_REPLY);
    expect(balancer.counters().events.icmp_replies).toBe(ECHO_REPLIES_PER_SECOND + 1);
  });

  test("an ARP reply goes to the request frame's Ethernet source, not to the sender address its body claims", () => {
    const balancer = lab();
    // A request whose body names a victim as the sender: answered to the station that sent it.
    const request = arpFrame({ op: 1, src: CLIENT_MAC, senderMac: VICTIM_MAC, senderIp: CLIENT, targetIp: VIP });
    const { verdict, sent } = balancer.run(request, { pktType: PACKET_BROADCAST });
    expect(verdict).toBe(VERDICT_REPLY);
    expect(sent).toEqual([
      arpFrame({ op: 2, dst: CLIENT_MAC, src: OWN_MAC, senderMac: OWN_MAC, senderIp: VIP, targetMac: VICTIM_MAC, targetIp: CLIENT }),
    ]);
  });

  test("an ARP request from a group Ethernet source is not answered (group_source)", () => {
    const balancer = lab();
    const request = arpFrame({ op: 1, src: BROADCAST, senderMac: CLIENT_MAC, senderIp: CLIENT, targetIp: VIP });
    expect(dropped(balancer.run(request, { pktType: PACKET_BROADCAST }))).toBe("group_source");
  });

  test("martian sources and the VIP itself as source are dropped (martian_source) and create no session", () => {
    const balancer = lab();
    const martians = ["0.0.0.0", "0.1.2.3", "127.0.0.1", "127.255.0.9", "224.0.0.1", "239.255.255.250", "255.255.255.255", VIP];
    for (const source of martians) {
      expect(dropped(balancer.run(syn(CLIENT_MAC, source)))).toBe("martian_source");
      expect(dropped(balancer.run(echoRequest(CLIENT_MAC, source)))).toBe("martian_source");
    }
    expect(balancer.sessions.created).toBe(0);
    expect(balancer.counters().drops.martian_source).toBe(2 * martians.length);
    // Their neighbours are ordinary sources.
    for (const source of ["1.0.0.1", "126.255.255.255", "128.0.0.1", "223.255.255.255"]) {
      expect(balancer.run(syn(CLIENT_MAC, source)).sent).toEqual([withMacs(syn(CLIENT_MAC, source), targetMac(1), OWN_MAC)]);
    }
    expect(balancer.sessions.created).toBe(4);
    expect(ip("255.255.255.255")).toBe(0xffffffff);
  });

  test("a TCP frame to a VIP from a group Ethernet source creates no session", () => {
    const balancer = lab();
    expect(dropped(balancer.run(syn("01:00:5e:7f:00:01")))).toBe("group_source");
    expect(balancer.sessions.created).toBe(0);
    expect(balancer.run(syn()).verdict).toBe(VERDICT_FORWARD);
  });
});
