// The control thread's measurements for methods agent and bandwidth, against counters the test
// sets: loads as reported, bandwidth as bytes a second over the last 5 seconds.
import { describe, expect, test } from "bun:test";
import { BANDWIDTH_WINDOW_S, MethodInputs } from "../../src/control/method-inputs.ts";
import { createCounters, TARGET_BYTES_AT, workerRegions } from "../../src/dataplane/counters.ts";
import { NO_LOAD, TargetMetrics } from "../../src/dataplane/target-metrics.ts";

function setUp() {
  const regions = workerRegions(createCounters(2));
  const metrics = TargetMetrics.create();
  const inputs = new MethodInputs(metrics, regions, 10_000);
  /** Adds `bytes` to target `id`, half in each worker's region. */
  const forward = (id: number, bytes: number) => regions.forEach((region) => (region[TARGET_BYTES_AT + id] = (region[TARGET_BYTES_AT + id] ?? 0) + bytes / 2));
  return { metrics, inputs, forward };
}

describe("bandwidth", () => {
  test("bytes a second since start, then over a sliding window of the last 5 seconds, summed over the workers", () => {
    const { metrics, inputs, forward } = setUp();
    forward(3, 4000);
    inputs.measureBandwidth(11_000);
    expect(metrics.bandwidth(3)).toBe(4000);
    forward(3, 6000);
    inputs.measureBandwidth(13_000);
    expect(metrics.bandwidth(3)).toBe(10_000 / 3);
    // Seconds 14..18 at 1,000 bytes each: once the window is full, the start's bytes fall out.
    for (let second = 14; second <= 18; second++) {
      forward(3, 1000);
      inputs.measureBandwidth(second * 1000);
    }
    expect(metrics.bandwidth(3)).toBe(1000);
    inputs.measureBandwidth(19_000);
    expect(metrics.bandwidth(3)).toBe((4 * 1000) / BANDWIDTH_WINDOW_S);
    expect(metrics.bandwidth(4)).toBe(0);
  });

  test("a target that stops receiving falls to 0 within the window", () => {
    const { metrics, inputs, forward } = setUp();
    forward(1, 50_000);
    inputs.measureBandwidth(11_000);
    for (let second = 12; second <= 11 + BANDWIDTH_WINDOW_S; second++) inputs.measureBandwidth(second * 1000);
    expect(metrics.bandwidth(1)).toBe(0);
  });
});

describe("agent loads", () => {
  test("each reply's load is written as it comes; a reload sets what the monitor has, none for restarted checks", () => {
    const { metrics, inputs } = setUp();
    expect(metrics.load(2)).toBe(NO_LOAD);
    inputs.agentLoad(2, 0.75);
    inputs.agentLoad(5, 3);
    expect([metrics.load(2), metrics.load(5)]).toEqual([0.75, 3]);
    inputs.followLoads([2, 5], (id) => (id === 2 ? 0.75 : undefined));
    expect([metrics.load(2), metrics.load(5)]).toEqual([0.75, NO_LOAD]);
  });
});
