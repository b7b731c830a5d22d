// The far end of the frame cases' veth pair (test/e2e/frame-cases.test.ts), run inside the client
// namespace: it sends a case's frame and right behind it a probe (an ICMP echo request to the VIP
// with its own sequence number) in one batch, and reports every frame that came back before the
// probe's reply. bng decides a batch in order and sends its output in order, so whatever the
// frame made bng send arrives before the reply to the probe: no waiting for silence.
// Commands on stdin, one JSON line each: {"frame":"HEX","probe":N}
//   -> {"frames":["HEX",...]} or {"error":"..."}
// Usage: bun test/e2e/frame-case-client.ts IFNAME
import { createInterface } from "node:readline";
import { openPacketIO } from "../../ffi/packet-io/open.ts";
import { CLIENT_MAC, OWN_MAC } from "../fixtures/dataplane.ts";
import { CLIENT, VIP } from "../fixtures/frame-cases.ts";
import { icmpFrame } from "../fixtures/frames.ts";

const PROBE_IDENTIFIER = 0xb0b0;
const PROBE_TIMEOUT_MS = 3000;

const [ifname = ""] = process.argv.slice(2);
const io = openPacketIO("mmsg", { ifname, receiveTimeoutMs: 20 });

const probe = (sequence: number, type: 8 | 0, from: string, to: string, ethSrc: string, ethDst: string) =>
  icmpFrame({ src: ethSrc, dst: ethDst, srcIp: from, dstIp: to, type, identifier: PROBE_IDENTIFIER, sequence, payload: new TextEncoder().encode(`probe ${sequence}`) });

function put(slot: number, frame: Uint8Array): void {
  io.tx.bytes.set(frame, slot * io.tx.slotSize);
  io.tx.lengths[slot] = frame.length;
}

const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

function exchange(frame: Uint8Array, sequence: number): object {
  const reply = toHex(probe(sequence, 0, VIP, CLIENT, OWN_MAC, CLIENT_MAC));
  put(0, frame);
  put(1, probe(sequence, 8, CLIENT, VIP, CLIENT_MAC, OWN_MAC));
  io.tx.count = 2;
  const accepted = io.send();
  if (accepted !== 2) return { error: `the kernel took ${accepted} of 2 frames (errno ${io.stats.lastSendErrno})` };
  const frames: string[] = [];
  const deadline = Date.now() + PROBE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const count = io.receive();
    for (let slot = 0; slot < count; slot++) {
      const at = slot * io.rx.slotSize;
      const received = toHex(io.rx.bytes.subarray(at, at + io.rx.lengths[slot]!));
      if (received === reply) return { frames };
      frames.push(received);
    }
  }
  return { error: `no reply to probe ${sequence} within ${PROBE_TIMEOUT_MS} ms`, frames };
}

console.log(JSON.stringify({ ready: true }));
for await (const line of createInterface({ input: process.stdin })) {
  const { frame, probe: sequence } = JSON.parse(line) as { frame: string; probe: number };
  console.log(JSON.stringify(exchange(Uint8Array.from(Buffer.from(frame, "hex")), sequence)));
}
io.close();
