import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { monotonicMs } from "../../ffi/clock.ts";

const uptimeMs = () => Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 1000;

describe("monotonicMs", () => {
  test("counts from boot (CLOCK_MONOTONIC), not the wall clock's epoch", () => {
    const before = uptimeMs();
    const now = monotonicMs();
    // /proc/uptime is CLOCK_BOOTTIME: the monotonic clock plus time suspended, in 10 ms steps.
    expect(now).toBeLessThanOrEqual(uptimeMs() + 10);
    expect(now).toBeGreaterThan(0);
    expect(Math.abs(Date.now() - now)).toBeGreaterThan(before + 1000);
  });

  test("moves forward with time and never back, also once its callers are compiled", async () => {
    // Enough calls for the JIT to compile this loop: a pointer gone stale showed after 300,000.
    let previous = monotonicMs();
    let backwards = 0;
    for (let i = 0; i < 500_000; i++) {
      const next = monotonicMs();
      if (next < previous) backwards++;
      previous = next;
    }
    expect(backwards).toBe(0);
    // Each read between two of performance.now(), so that a pause of this thread between two
    // reads (a collection, the scheduler) widens the bounds instead of failing the test.
    const beforeStart = performance.now();
    const start = monotonicMs();
    const afterStart = performance.now();
    await sleep(200);
    const beforeEnd = performance.now();
    const elapsed = monotonicMs() - start;
    const afterEnd = performance.now();
    expect(elapsed).toBeGreaterThanOrEqual(beforeEnd - afterStart - 1);
    expect(elapsed).toBeLessThanOrEqual(afterEnd - beforeStart + 1);
    expect(elapsed).toBeGreaterThanOrEqual(199);
  });

  test("a worker thread reads the same clock as the main thread, unlike performance.now()", async () => {
    const shared = new SharedArrayBuffer(24);
    const times = new Float64Array(shared, 0, 2);
    const flags = new Int32Array(shared, 16, 2);
    // Started at least 300 ms after this thread, the worker's performance.now() counts from its
    // own start and reads at least that much less.
    await sleep(300);
    const worker = new Worker(new URL("./clock-worker.ts", import.meta.url).href, { type: "module" });
    try {
      worker.postMessage(shared);
      await sleep(100);
      Atomics.store(flags, 0, 1);
      Atomics.notify(flags, 0);
      const deadline = performance.now() + 5000;
      while (Atomics.load(flags, 1) === 0) {
        if (performance.now() > deadline) throw new Error("the worker did not answer");
        await sleep(1);
      }
      const mainMonotonic = monotonicMs();
      const mainPerformance = performance.now();
      // The worker read first, so the main thread's reading is later by the hand-over only.
      expect(mainMonotonic - times[0]!).toBeGreaterThanOrEqual(0);
      expect(mainMonotonic - times[0]!).toBeLessThan(50);
      expect(mainPerformance - times[1]!).toBeGreaterThan(250);
    } finally {
      worker.terminate();
    }
  });
});
