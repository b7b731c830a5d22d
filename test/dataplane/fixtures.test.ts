// The frame cases (test/fixtures/frame-cases.ts) run in memory: each case sends its frames
// through one fresh worker's pure data plane (an in-memory PacketIO) and compares the verdict,
// the reason and every output byte. The same table runs over veth in test/e2e/frame-cases.test.ts.

import { describe, expect, test } from "bun:test";
import { DROP_REASONS, PASS_REASONS } from "../../src/dataplane/counters.ts";
import { VERDICT_DROP, VERDICT_FORWARD, VERDICT_PASS, VERDICT_REPLY } from "../../src/dataplane/process.ts";
import { FRAME_CSUM_NOT_READY } from "../../src/dataplane/packet-io.ts";
import { Lab, OWN_MAC, targetMac } from "../fixtures/dataplane.ts";
import { arpReplyFrom, arpRequestFor, FRAME_CASE_TARGETS_DOWN, FRAME_CASES, frameCaseConfig, packetTypeOf, syn, vethObstacle, VIP, type FrameStep } from "../fixtures/frame-cases.ts";
import { TCP_ACK, concat, internetChecksum, ip, mac, tcpFrame, withMacs } from "../fixtures/frames.ts";
import { PACKET_BROADCAST } from "../fixtures/memory-io.ts";

/** A TCP or UDP frame whose segment checksums to zero with its pseudo-header: a correct checksum. */
function l4ChecksumIsValid(frame: Uint8Array): boolean {
  const ihl = (frame[14]! & 15) * 4;
  const totalLength = (frame[16]! << 8) | frame[17]!;
  const segment = frame.slice(14 + ihl, 14 + totalLength);
  const pseudo = new Uint8Array([...frame.slice(26, 34), 0, frame[23]!, segment.length >>> 8, segment.length & 255]);
  return internetChecksum(concat(pseudo, segment)) === 0;
}

/** A fresh data plane on the cases' configuration, its down targets down. */
function freshLab(): Lab {
  const lab = new Lab(frameCaseConfig());
  for (const id of FRAME_CASE_TARGETS_DOWN) lab.setTarget(id, "down");
  return lab;
}

const injectOptions = (step: FrameStep) => ({ pktType: packetTypeOf(step), flags: step.flags ?? 0 });
const cases = FRAME_CASES;

const VERDICTS = { forward: VERDICT_FORWARD, reply: VERDICT_REPLY, drop: VERDICT_DROP, pass: VERDICT_PASS };

describe("data plane fixtures", () => {
  test("there are at least 40 cases", () => expect(cases.length).toBeGreaterThanOrEqual(40));

  test("a case runs in memory only exactly when it cannot cross a veth pair as the table states it, and says why", () => {
    const mismatched = cases.filter((c) => (c.memoryOnly !== undefined) !== (vethObstacle(c) !== undefined)).map((c) => `${c.name}: ${c.memoryOnly ?? vethObstacle(c)}`);
    expect(mismatched).toEqual([]);
    expect(cases.filter((c) => c.memoryOnly === undefined).length).toBeGreaterThanOrEqual(40);
  });

  for (const c of cases) {
    test(c.name, () => {
      const lab = freshLab();
      for (const step of c.steps) {
        const result = lab.run(step.frame, injectOptions(step));
        const expected = step.expect;
        expect(result.verdict).toBe(VERDICTS[expected.verdict]);
        if ("out" in expected) {
          expect(result.sent).toEqual([expected.out]);
        } else {
          expect(result.sent).toEqual([]);
          const names: readonly string[] = expected.verdict === "drop" ? DROP_REASONS : PASS_REASONS;
          expect(names[result.reason]).toBe(expected.reason);
        }
      }
      for (const [id, learned] of Object.entries(c.neighbours ?? {})) {
        expect(lab.neighbours.read(Number(id))).toEqual(learned === null ? undefined : { mac: mac(learned), sightings: 1 });
        expect(lab.neighbours.sightings(Number(id))).toBe(learned === null ? 0 : 1);
      }
    });
  }

  test("all single-frame cases in one batch, in two orders, are decided exactly as one frame at a time in that order", () => {
    // The processor looks up each frame's VIP, server and session bucket for the whole batch
    // first and reuses them while deciding: a batch must come out as the same frames would
    // one by one (sessions and round robin then evolve the same way, so even targets match).
    const singles = cases.filter((c) => c.steps.length === 1).map((c) => c.steps[0]!);
    expect(singles.length).toBeLessThanOrEqual(64);
    for (const order of [singles, [...singles].reverse()]) {
      const oneByOne = freshLab();
      const expected = order.map((step) => oneByOne.run(step.frame, injectOptions(step)));
      const batched = freshLab();
      for (const step of order) batched.io.inject(step.frame, injectOptions(step));
      expect(batched.io.receive()).toBe(order.length);
      batched.processor.processBatch();
      batched.io.send();
      expect(order.map((_, slot) => [batched.processor.verdicts[slot], batched.processor.reasons[slot]])).toEqual(expected.map((e) => [e.verdict, e.reason]));
      expect(batched.io.sent).toEqual(expected.flatMap((e) => e.sent));
    }
  });

  test("completed checksums verify against the pseudo-header", () => {
    const lab = new Lab(frameCaseConfig());
    for (const payloadLength of [0, 1, 2, 57, 1400]) {
      const frame = tcpFrame(syn({ flags: TCP_ACK, partialChecksum: true, payload: new Uint8Array(payloadLength).fill(0xa5) }));
      expect(l4ChecksumIsValid(frame)).toBe(false);
      const { sent } = lab.run(frame, { flags: FRAME_CSUM_NOT_READY });
      expect(sent.length).toBe(1);
      expect(l4ChecksumIsValid(sent[0]!)).toBe(true);
    }
    expect(lab.counters().events.checksums_completed).toBe(5);
  });

  test("drops, passes and traffic are counted by reason, server and target", () => {
    const lab = new Lab(frameCaseConfig());
    const frame = tcpFrame(syn());
    lab.run(frame);
    lab.run(frame);
    lab.run(tcpFrame(syn({ dstPort: 81 })));
    lab.run(tcpFrame(syn({ dstIp: "10.0.0.200" })));
    const counters = lab.counters();
    expect(counters.events.frames).toBe(4);
    expect(counters.events.forwarded).toBe(2);
    expect(counters.servers.get(1)).toEqual({ packets: 2, bytes: 2 * frame.length });
    expect(counters.targets.get(1)).toEqual({ packets: 2, bytes: 2 * frame.length });
    expect(counters.drops.no_server).toBe(1);
    expect(counters.passes.not_vip).toBe(1);
    expect(ip(VIP)).toBe(0x0a00000a);
  });

  test("a batch of mixed frames is decided frame by frame into one tx batch; forwarded frames go out from their rx slots", () => {
    const lab = new Lab(frameCaseConfig());
    const frames = [tcpFrame(syn()), arpRequestFor(VIP), tcpFrame(syn({ dstPort: 81 })), tcpFrame(syn({ srcIp: "192.0.2.8" }))];
    for (const frame of frames) lab.io.inject(frame, { pktType: frame[0] === 0xff ? PACKET_BROADCAST : 0 });
    lab.io.receive();
    lab.processor.processBatch();
    lab.io.send();
    expect([...lab.processor.verdicts.slice(0, 4)]).toEqual([VERDICT_FORWARD, VERDICT_REPLY, VERDICT_DROP, VERDICT_FORWARD]);
    expect(lab.io.sent).toEqual([
      withMacs(frames[0]!, targetMac(1), OWN_MAC),
      arpReplyFrom(VIP),
      withMacs(frames[3]!, targetMac(2), OWN_MAC),
    ]);
    // Forwarded frames are rewritten in place and sent from the rx slot they arrived in (no
    // copy); the ARP reply bng writes is in the tx batch's own slot.
    expect([...lab.io.tx.rxSlots.slice(0, 3)]).toEqual([0, -1, 3]);
  });
});

