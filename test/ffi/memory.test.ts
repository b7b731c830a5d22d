import { expect, test } from "bun:test";
import { ptr } from "bun:ffi";
import { existsSync, readFileSync } from "node:fs";
import { adviseHugePages } from "../../ffi/memory.ts";

const THP_SETTING = "/sys/kernel/mm/transparent_hugepage/enabled";
const thpAvailable = existsSync(THP_SETTING) && !readFileSync(THP_SETTING, "utf8").includes("[never]");

/** AnonHugePages (bytes) of the mappings overlapping [start, end). */
function hugeBytesIn(start: number, end: number): number {
  let total = 0;
  for (const block of readFileSync("/proc/self/smaps", "utf8").split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const [from, to] = block.slice(0, block.indexOf(" ")).split("-").map((hex) => parseInt(hex, 16)) as [number, number];
    if (to <= start || from >= end) continue;
    total += Number(/^AnonHugePages:\s+(\d+) kB/m.exec(block)?.[1] ?? 0) * 1024;
  }
  return total;
}

test.skipIf(!thpAvailable)("a large shared buffer advised for huge pages is backed by them once touched", () => {
  const buffer = new SharedArrayBuffer(16 << 20);
  const advice = adviseHugePages(buffer);
  expect(advice.failure).toBeUndefined();
  // At least 14 of the 16 MiB lie in whole 2 MiB pages, wherever the buffer starts.
  expect(advice.advisedBytes).toBeGreaterThanOrEqual(14 << 20);
  const bytes = new Uint8Array(buffer);
  for (let at = 0; at < bytes.length; at += 4096) bytes[at] = 1;
  const start = ptr(bytes);
  expect(hugeBytesIn(start, start + buffer.byteLength)).toBeGreaterThanOrEqual(2 << 20);
});

test("a buffer smaller than a huge page is left alone", () => {
  expect(adviseHugePages(new SharedArrayBuffer(64 << 10))).toEqual({ advisedBytes: 0, failure: undefined });
});
