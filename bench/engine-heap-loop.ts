// The measured side of bench/engine-heap.ts, run inside its namespace on Bun or Deno:
//
//   engine-heap-loop.ts ENGINE IFNAME VIP WARMUP_BATCHES BATCHES
//
// Opens bng's packet engine ENGINE (mmsg, ring, xdp: the last with bng's XDP program taking VIP's
// frames) on IFNAME, prints `{"ready":true}`, then forwards what arrives, receive → tx → send, as
// the data plane does: even frames from their rx slot (tx.rxSlots), odd ones copied into a tx slot
// (a reply). After WARMUP_BATCHES non-empty batches (the JIT settles) it measures the heap over a
// window of BATCHES batches and one of 2 x BATCHES, and prints one JSON line with the difference,
// the cost of BATCHES batches: {engine, runtime, batches, framesPerBatch (over both windows),
// heapGrowthBytes, allocatedBytes}.
// Deno needs --v8-flags=--expose-gc, and a young generation that holds a window's allocations
// (--min-semi-space-size, --max-semi-space-size) for allocatedBytes.
import { interfaceIndex } from "../ffi/interface.ts";
import { native } from "../ffi/native.ts";
import { openPacketIO, type AfPacketIO } from "../ffi/packet-io/open.ts";
import type { PacketEngine } from "../src/config/model.ts";
import { encodeProgram, vipFrameFilter } from "../src/bpf/classic.ts";
import { attachXdpRedirect, type XdpRedirect } from "../src/host/xdp-redirect.ts";
import { collectGarbage } from "../test/runtime/gc.ts";

/**
 * Empty receives in a row (each waits up to the 20-ms receive timeout) after which the sender is
 * taken to be gone: fail rather than wait forever. Counted, not timed: no clock read per batch.
 */
const STALL_RECEIVES = 250;

const [engineArgument = "", ifname = "", vipText = "", warmupText = "", batchesText = ""] = process.argv.slice(2);
const engine = engineArgument as PacketEngine;
const warmupBatches = Number(warmupText);
const batches = Number(batchesText);
if (!["mmsg", "ring", "xdp"].includes(engine) || ifname === "" || !/^\d+\.\d+\.\d+\.\d+$/.test(vipText) || !(warmupBatches >= 0) || !(batches > 0)) {
  console.error("usage: engine-heap-loop.ts mmsg|ring|xdp IFNAME VIP WARMUP_BATCHES BATCHES");
  process.exit(2);
}
const vip = vipText.split(".").reduce((value, part) => value * 256 + Number(part), 0);

let redirect: XdpRedirect | undefined;
function openEngine(): AfPacketIO {
  if (engine !== "xdp") return openPacketIO(engine, { ifname, receiveTimeoutMs: 20 });
  redirect = attachXdpRedirect(ifname, interfaceIndex(ifname), 1);
  redirect.setVips([vip]);
  return openPacketIO("xdp", { ifname, receiveTimeoutMs: 20, socketFilter: encodeProgram(vipFrameFilter([])), xdp: { socketMap: redirect.socketMap, queue: 0 } });
}

let frame = 0;
let frames = 0;

/**
 * One receive, the frames put in tx, one send; returns the frames received. A function of its
 * own called per batch, as the worker calls the processor: the JIT optimizes it whole, where a
 * long loop around the copy would be compiled on stack and deoptimized (allocating) on each exit.
 */
function forwardBatch(io: AfPacketIO): number {
  const { rx, tx } = io;
  const received = io.receive();
  if (received === 0) return 0;
  for (let slot = 0; slot < received; slot++) {
    const length = rx.lengths[slot]!;
    if (frame++ % 2 === 0) {
      tx.rxSlots[slot] = slot;
    } else {
      tx.rxSlots[slot] = -1;
      copyFrame(rx.bytes, rx.offsets[slot]!, tx.bytes, tx.offsets[slot]!, length);
    }
    tx.lengths[slot] = length;
  }
  tx.count = received;
  io.send();
  return received;
}

function copyFrame(from: Uint8Array, fromAt: number, to: Uint8Array, toAt: number, length: number): void {
  for (let byte = 0; byte < length; byte++) to[toAt + byte] = from[fromAt + byte]!;
}

/** Forwards until `count` non-empty batches have gone through receive and send. */
function forwardBatches(io: AfPacketIO, count: number): void {
  let empty = 0;
  for (let done = 0; done < count; ) {
    const received = forwardBatch(io);
    if (received === 0) {
      if (++empty === STALL_RECEIVES) throw new Error(`no frame in ${STALL_RECEIVES} receives after ${done} of ${count} batches`);
      continue;
    }
    empty = 0;
    frames += received;
    done++;
  }
}

interface Window {
  frames: number;
  /** Heap used after the batches (garbage collected) minus before. */
  heapGrowthBytes: number;
  /**
   * Heap used after the batches, before collecting, minus before: what was allocated, garbage
   * included. V8 counts the young generation so as long as no scavenge ran (the caller makes it
   * large enough); JavaScriptCore counts only what its last collection kept: null on Bun.
   */
  allocatedBytes: number | null;
}

function measureWindow(io: AfPacketIO, count: number): Window {
  collectGarbage();
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  frames = 0;
  forwardBatches(io, count);
  const allocatedBytes = native.runtime === "deno" ? process.memoryUsage().heapUsed - before : null;
  collectGarbage();
  collectGarbage();
  return { frames, heapGrowthBytes: process.memoryUsage().heapUsed - before, allocatedBytes };
}

const io = openEngine();
try {
  console.log(JSON.stringify({ ready: true }));
  forwardBatches(io, warmupBatches);
  // A window of BATCHES and one of twice as many: their difference is what BATCHES more batches
  // cost, without what any window costs once (the readings themselves, a late compilation).
  const single = measureWindow(io, batches);
  const double = measureWindow(io, 2 * batches);
  const allocatedBytes = single.allocatedBytes === null || double.allocatedBytes === null ? null : double.allocatedBytes - single.allocatedBytes;
  console.log(JSON.stringify({ engine, runtime: native.runtime, batches, framesPerBatch: (single.frames + double.frames) / (3 * batches), heapGrowthBytes: double.heapGrowthBytes - single.heapGrowthBytes, allocatedBytes }));
} finally {
  io.close();
  redirect?.close();
}
