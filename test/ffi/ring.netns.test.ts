// The PACKET_MMAP rings (ffi/packet-io/ring.ts) beside recvmmsg/sendmmsg, in two namespaces joined by veth
// (names bngr + random suffix, removed afterwards even on failure): a lone frame on an idle link
// is handed over at once both ways (no block timeout, "the latency trap"), a link going down does
// not make the receive ring spin, and the cost per forwarded frame of both backends; the flood
// also takes the send ring round its end many times, sending from the rx slots. Reception flags,
// truncation, own output and the lengths sent are in af-packet.netns.test.ts. Needs root.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { vethLab, type IoKind } from "./netns-lab.ts";

const lab = vethLab("bngr");
const BACKENDS: IoKind[] = ["ring", "mmsg"];

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

describeWith([ROOT], "PACKET_MMAP receive ring between two namespaces", () => {
  beforeAll(() => lab.create());
  afterAll(() => lab.remove());

  test.each(BACKENDS)("%s: a single frame on an idle link is received within milliseconds, both ways", async (io) => {
    // B sends every test frame back; A sends one at a time, 20 ms apart, so that both sides are
    // asleep in poll/recvmmsg when each frame arrives. Both ends use the backend under test.
    const forwarder = await lab.startHelper(lab.namespaceB, ["forward", lab.linkB, "3000"], io);
    const pinger = await lab.startHelper(lab.namespaceA, ["ping", lab.linkA, lab.macB, "40", "20"], io);
    const { roundTrips, lost } = await pinger.result<{ roundTrips: number[]; lost: number }>();
    await forwarder.result();
    const sorted = roundTrips.toSorted((a, b) => a - b);
    console.log(
      `${io}: idle round trip (two receives, two sends) over ${sorted.length} frames: min ${sorted[0]!.toFixed(3)} ms, p50 ${percentile(sorted, 0.5).toFixed(3)} ms, p90 ${percentile(sorted, 0.9).toFixed(3)} ms, max ${sorted.at(-1)!.toFixed(3)} ms`,
    );
    expect(lost).toBe(0);
    // A TPACKET_V3 ring would add its block timeout to each receive: 1 ms at best, about 4 ms
    // by default (measured), hundreds of ms with a large one. Two receives per round trip.
    expect(percentile(sorted, 0.5)).toBeLessThan(2);
    expect(percentile(sorted, 0.9)).toBeLessThan(5);
  }, 20_000);

  test.each(BACKENDS)("%s: a link going down is counted once, not spun on; frames flow again after it comes back", async (io) => {
    const helper = await lab.startHelper(lab.namespaceA, ["linkdown", lab.linkA], io);
    const calls = await helper.result<{ idleCalls: number; downCalls: number; upCalls: number; receiveErrors: number }>();
    console.log(`${io}: receive() calls in 500 ms: idle ${calls.idleCalls}, link down ${calls.downCalls}, up again ${calls.upCalls}; receive errors ${calls.receiveErrors}`);
    expect(calls.receiveErrors).toBeGreaterThanOrEqual(1);
    // The receive timeout is 100 ms: about 5 calls per 500 ms, a few more for frames (IPv6
    // router solicitations and the like after the link comes up). A spinning loop makes thousands.
    for (const made of [calls.idleCalls, calls.downCalls, calls.upCalls]) expect(made).toBeLessThan(100);
    const receiver = await lab.startHelper(lab.namespaceA, ["receive", lab.linkA, "800"], io);
    const sender = await lab.startHelper(lab.namespaceB, ["send", lab.linkB, lab.macA, "after-down", "bypass", "60"]);
    expect((await sender.result<{ accepted: number }>()).accepted).toBe(1);
    const { frames } = await receiver.result<{ frames: { marker?: string }[] }>();
    expect(frames.some((frame) => frame.marker === "after-down-0")).toBe(true);
  }, 20_000);

  test.each(BACKENDS)("%s: forwards a flood of frames (frames/s and CPU per frame, receive + send)", async (io) => {
    const forwarder = await lab.startHelper(lab.namespaceB, ["forward", lab.linkB, "4000"], io);
    const flood = await lab.startHelper(lab.namespaceA, ["flood", lab.linkA, lab.macB, "200000"]);
    const flooded = await flood.result<{ sent: number; returned: number; wallMs: number }>();
    const forwarded = await forwarder.result<{ forwarded: number; userMicros: number; systemMicros: number; busyMs: number }>();

    expect(flooded.sent).toBe(200_000);
    expect(forwarded.forwarded).toBeGreaterThan(0);
    expect(flooded.returned).toBe(forwarded.forwarded);
    const perFrame = (micros: number) => ((micros / forwarded.forwarded) * 1000).toFixed(0);
    // The forwarder's CPU time covers its whole life (3 s of it idle in poll or recvmmsg, which
    // costs next to nothing); frames/s is over the time it was forwarding.
    console.log(
      `${io} forwarder: ${forwarded.forwarded} frames in ${forwarded.busyMs.toFixed(0)} ms = ${Math.round(forwarded.forwarded / (forwarded.busyMs / 1000))} frames/s; per frame user ${perFrame(forwarded.userMicros)} ns, system ${perFrame(forwarded.systemMicros)} ns`,
    );
  }, 30_000);
});
