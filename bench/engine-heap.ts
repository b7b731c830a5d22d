// Heap growth of bng's packet engines while frames flow, per engine (mmsg, ring, xdp) and runtime
// (Bun, Deno): the proof that the receive → send loop allocates nothing on either (issue 20).
//
//   trafgen ── gen0 ══veth══ lb0 ── engine-heap-loop.ts (the engine, on Bun or on Deno)
//
// Two namespaces of a family (test/fixtures/namespaces.ts) joined by veth. trafgen sends UDP
// frames to the VIP at a moderate rate, 60 and 600 bytes in turn (the ring copies short frames as
// words and long ones with memcpy); the loop forwards them back out for a warm-up, then measures
// the heap over a fixed number of batches, the garbage collected before and after
// (bench/engine-heap-loop.ts): what stays (both runtimes) and, on Deno, what was allocated at all.
// Root only.
//
//   bun bench/engine-heap.ts [--batches N] [--warmup N] [--prefix P]
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { PacketEngine } from "../src/config/model.ts";
import { NamespaceFamily } from "../test/fixtures/namespaces.ts";
import type { RunningProcess } from "../test/fixtures/process.ts";
import { BUN, makeScratch, NAMESPACE_PREFIX, numberOption, REPO, removeScratch, round, textTable, type Table } from "./lib.ts";

export type EngineRuntime = "bun" | "deno";

export interface EngineHeapRow {
  engine: PacketEngine;
  runtime: EngineRuntime;
  /** Non-empty batches measured (each one receive and one send). */
  batches: number;
  /** Frames per batch, on average over the measured windows. */
  framesPerBatch: number;
  /** Heap kept per batch (after a full collection); 0 when the packet path retains nothing. */
  heapGrowthBytesPerBatch: number;
  /**
   * Heap allocated per batch, garbage included; 0 when nothing on the packet path allocates.
   * Deno only (V8 counts the young generation as used until it is collected); null on Bun.
   */
  allocatedBytesPerBatch: number | null;
}

export interface EngineHeapOptions {
  engines?: PacketEngine[];
  runtimes?: EngineRuntime[];
  /** Batches measured per engine and runtime (default 20,000). */
  batches?: number;
  /** Batches forwarded before measuring, for the JIT to settle (default 20,000). */
  warmupBatches?: number;
  /** The namespace family's prefix (default the benchmarks' own). */
  namespacePrefix?: string;
  /** trafgen's rate in frames per second (default 100,000: a fraction of one core). */
  framesPerSecond?: number;
  log?: (line: string) => void;
}

const LOOP = join(REPO, "bench/engine-heap-loop.ts");
const VIP = "10.0.0.10";
const ENGINE_LINK = "lb0";
const GENERATOR_LINK = "gen0";
const ENGINE_MAC = "02:00:00:00:0a:01";
const GENERATOR_MAC = "02:00:00:00:0b:01";

/**
 * How each runtime runs the loop. Deno: FFI (--allow-all, as bin/bng-deno runs the daemon), a
 * callable gc(), and a 64 MiB young generation, so that a window's allocations (up to about 1 KiB
 * per batch) are still counted when it ends instead of scavenged.
 */
const RUNTIME_COMMANDS: Record<EngineRuntime, string[]> = {
  bun: [BUN],
  deno: [
    join(REPO, "bin/deno"),
    "run",
    "--config",
    join(REPO, "deno.json"),
    "--no-prompt",
    "--allow-all",
    "--v8-flags=--expose-gc,--min-semi-space-size=64,--max-semi-space-size=64",
  ],
};

/** A UDP datagram from the generator to the VIP, `length` bytes of Ethernet frame (no FCS). */
function trafgenPacket(length: number): string {
  const mac = (text: string) => text.split(":").map((byte) => `0x${byte}`).join(", ");
  const ipLength = length - 14;
  return `{
  ${mac(ENGINE_MAC)},
  ${mac(GENERATOR_MAC)},
  0x08, 0x00,
  0x45, 0x00, const16(${ipLength}), drnd(2), const16(0x4000), 64, 17, csumip(14, 33),
  192, 0, 2, 2,
  ${VIP.split(".").join(", ")},
  drnd(2), const16(9), const16(${ipLength - 20}), const16(0),
  fill(0xab, ${ipLength - 28})
}
`;
}

export async function engineHeap(options: EngineHeapOptions = {}): Promise<EngineHeapRow[]> {
  const engines = options.engines ?? ["mmsg", "ring", "xdp"];
  const runtimes = options.runtimes ?? ["bun", "deno"];
  const batches = options.batches ?? 20_000;
  const warmupBatches = options.warmupBatches ?? 20_000;
  const log = options.log ?? (() => {});
  const family = new NamespaceFamily(options.namespacePrefix ?? NAMESPACE_PREFIX);
  const scratch = makeScratch("engine-heap");
  let generator: RunningProcess | undefined;
  try {
    const lb = family.add("lb");
    const gen = family.add("gen");
    family.veth({ ns: lb, ifname: ENGINE_LINK, mac: ENGINE_MAC }, { ns: gen, ifname: GENERATOR_LINK, mac: GENERATOR_MAC });
    const packets = join(scratch, "udp.trafgen");
    writeFileSync(packets, trafgenPacket(60) + trafgenPacket(600));
    // A process group of its own: trafgen forks its sender, and stopping it must stop both.
    generator = family.spawn(gen, ["trafgen", "--dev", GENERATOR_LINK, "--conf", packets, "--cpus", "1", "--rate", `${options.framesPerSecond ?? 100_000}pps`, "--no-sock-mem"], { processGroup: true });
    const rows: EngineHeapRow[] = [];
    for (const runtime of runtimes) {
      for (const engine of engines) {
        const loop = family.spawn(lb, [...RUNTIME_COMMANDS[runtime], LOOP, engine, ENGINE_LINK, VIP, String(warmupBatches), String(batches)]);
        await loop.waitFor((line) => line.includes('"ready"'), 30_000);
        const { line } = await loop.waitFor((line) => line.includes('"heapGrowthBytes"'), 120_000);
        const exitCode = await loop.exited;
        if (exitCode !== 0) throw new Error(`engine-heap-loop.ts ${engine} on ${runtime} exited with ${exitCode}: ${loop.stderr.trim()}`);
        const result = JSON.parse(line) as { runtime: EngineRuntime; batches: number; framesPerBatch: number; heapGrowthBytes: number; allocatedBytes: number | null };
        if (result.runtime !== runtime) throw new Error(`the loop ran on ${result.runtime}, not ${runtime}`);
        const row: EngineHeapRow = {
          engine,
          runtime,
          batches: result.batches,
          framesPerBatch: round(result.framesPerBatch, 1),
          heapGrowthBytesPerBatch: round(result.heapGrowthBytes / result.batches, 1),
          allocatedBytesPerBatch: result.allocatedBytes === null ? null : round(result.allocatedBytes / result.batches, 1),
        };
        log(
          `${engine} on ${runtime}: ${row.heapGrowthBytesPerBatch} bytes kept, ${row.allocatedBytesPerBatch ?? "-"} allocated per batch (${result.batches} batches of ${row.framesPerBatch} frames)`,
        );
        rows.push(row);
      }
    }
    return rows;
  } finally {
    await generator?.stop(1000);
    await family.destroy();
    removeScratch(scratch);
  }
}

export function engineHeapRows(rows: EngineHeapRow[]): Table {
  return {
    header: ["engine", "runtime", "batches", "frames per batch", "heap kept per batch (bytes)", "allocated per batch (bytes)"],
    rows: rows.map((row) => [
      row.engine,
      row.runtime,
      String(row.batches),
      String(row.framesPerBatch),
      String(row.heapGrowthBytesPerBatch),
      row.allocatedBytesPerBatch === null ? "- (not measurable on Bun)" : String(row.allocatedBytesPerBatch),
    ]),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { batches: { type: "string" }, warmup: { type: "string" }, prefix: { type: "string" } } });
  const rows = await engineHeap({
    batches: numberOption("batches", values.batches),
    warmupBatches: numberOption("warmup", values.warmup),
    namespacePrefix: values.prefix,
    log: (line) => console.error(line),
  });
  console.log(textTable(engineHeapRows(rows)));
}
