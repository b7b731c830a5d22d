// Runs inside a test network namespace and drives bng's XDP engine on IFNAME with bng's XDP
// program attached for VIPS (comma separated): `ip netns exec NS bun test/ffi/xdp-helper.ts MODE
// IFNAME VIPS ...`. Prints `{"ready":true}` once the program is attached and the engine open,
// then one JSON line with what it saw. Modes:
//   receive DURATION_MS          summarize every frame received
//   forward DURATION_MS          send every IPv4 frame back to its source: even ones from where they
//                                arrived in the UMEM (tx.rxSlots), odd ones copied into the tx
//                                batch's own chunk, as a reply is; CPU time and stats at the end
//   overflow FLAG_FILE           read nothing until FLAG_FILE exists, then drain: frames taken and
//                                the kernel's drops
//   attach FLAG_FILE             attach the program and report its link; once FLAG_FILE exists, try a
//                                second program beside it and one for two workers, and report why not
import { interfaceIndex } from "../../ffi/interface.ts";
import { openPacketIO } from "../../ffi/packet-io/open.ts";
import type { AfPacketIO } from "../../ffi/packet-io/open.ts";
import { encodeProgram, vipFrameFilter } from "../../src/bpf/classic.ts";
import { txFrameAt } from "../../src/dataplane/packet-io.ts";
import { attachXdpRedirect } from "../../src/host/xdp-redirect.ts";
import { waitForFileSync } from "../fixtures/flag-file.ts";

const [mode = "", ifname = "", vipList = "", ...rest] = process.argv.slice(2);
const vips = vipList.split(",").filter((text) => text !== "").map((text) => text.split(".").reduce((value, part) => value * 256 + Number(part), 0));
const ifindex = interfaceIndex(ifname);

function summarize(io: AfPacketIO, slot: number) {
  const { bytes, offsets, lengths } = io.rx;
  const at = offsets[slot]!;
  const length = lengths[slot]!;
  const etherType = (bytes[at + 12]! << 8) | bytes[at + 13]!;
  const ipv4 = etherType === 0x0800 && length >= 34;
  return {
    length,
    pktType: io.rx.pktTypes[slot]!,
    flags: io.rx.flags[slot]!,
    etherType,
    ...(ipv4 ? { destinationIp: Array.from(bytes.subarray(at + 30, at + 34)).join("."), destinationPort: (bytes[at + 36]! << 8) | bytes[at + 37]! } : {}),
    ...(etherType === 0x0806 ? { arpOp: bytes[at + 21]!, arpTarget: Array.from(bytes.subarray(at + 38, at + 42)).join(".") } : {}),
  };
}

const redirect = attachXdpRedirect(ifname, ifindex, 1);
redirect.setVips(vips);

function openEngine(): AfPacketIO {
  return openPacketIO("xdp", { ifname, receiveTimeoutMs: 20, socketFilter: encodeProgram(vipFrameFilter([])), xdp: { socketMap: redirect.socketMap, queue: 0 } });
}

function ready(extra: object = {}): void {
  console.log(JSON.stringify({ ready: true, ...extra }));
}

function receiveMode(durationMs: number): void {
  const io = openEngine();
  ready();
  const frames: ReturnType<typeof summarize>[] = [];
  const deadline = Date.now() + durationMs;
  while (Date.now() < deadline) {
    const count = io.receive();
    for (let slot = 0; slot < count; slot++) frames.push(summarize(io, slot));
  }
  console.log(JSON.stringify({ frames, sendsWith: io.sendsWith, stats: io.stats }));
  io.close();
}

function forwardMode(durationMs: number): void {
  const io = openEngine();
  ready();
  const { rx, tx } = io;
  const started = process.cpuUsage();
  let forwarded = 0;
  let copied = 0;
  let frame = 0;
  const deadline = Date.now() + durationMs;
  while (Date.now() < deadline) {
    const count = io.receive();
    let out = 0;
    for (let slot = 0; slot < count; slot++) {
      const from = rx.offsets[slot]!;
      if (((rx.bytes[from + 12]! << 8) | rx.bytes[from + 13]!) !== 0x0800) continue;
      // Back to where it came from: the MAC addresses swapped.
      for (let byte = 0; byte < 6; byte++) {
        const destination = rx.bytes[from + byte]!;
        rx.bytes[from + byte] = rx.bytes[from + 6 + byte]!;
        rx.bytes[from + 6 + byte] = destination;
      }
      const length = rx.lengths[slot]!;
      if (frame++ % 2 === 0) {
        tx.rxSlots[out] = slot;
      } else {
        tx.rxSlots[out] = -1;
        const { bytes, at } = txFrameAt(rx, tx, out);
        for (let byte = 0; byte < length; byte++) bytes[at + byte] = rx.bytes[from + byte]!;
        copied++;
      }
      tx.lengths[out++] = length;
    }
    if (out === 0) continue;
    tx.count = out;
    forwarded += io.send();
  }
  const cpu = process.cpuUsage(started);
  io.collectKernelDrops();
  console.log(JSON.stringify({ forwarded, copied, userMicros: cpu.user, systemMicros: cpu.system, stats: io.stats }));
  io.close();
}

function overflowMode(flagFile: string): void {
  const io = openEngine();
  ready();
  waitForFileSync(flagFile);
  let taken = 0;
  for (let empty = 0; empty < 3; ) {
    const count = io.receive();
    if (count === 0) empty++;
    taken += count;
  }
  console.log(JSON.stringify({ taken, kernelDrops: io.collectKernelDrops(), kernelDropsAgain: io.collectKernelDrops() }));
  io.close();
}

function attachMode(flagFile: string): void {
  ready({ link: redirect.linkId });
  waitForFileSync(flagFile);
  let second: string;
  try {
    attachXdpRedirect(ifname, ifindex, 1).close();
    second = "attached";
  } catch (error) {
    second = (error as Error).message;
  }
  let queues: string;
  try {
    attachXdpRedirect(ifname, ifindex, 2).close();
    queues = "attached";
  } catch (error) {
    queues = (error as Error).message;
  }
  console.log(JSON.stringify({ second, queues }));
}

try {
  switch (mode) {
    case "receive":
      receiveMode(Number(rest[0]));
      break;
    case "forward":
      forwardMode(Number(rest[0]));
      break;
    case "overflow":
      overflowMode(rest[0] ?? "");
      break;
    case "attach":
      attachMode(rest[0] ?? "");
      break;
    default:
      console.error(`unknown mode ${JSON.stringify(mode)}`);
      process.exit(2);
  }
} finally {
  redirect.close();
}
