import { describe, expect, test } from "bun:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ControlTimer, TICK_MS } from "../../src/control/control-timer.ts";

/** A ControlTimer on a fake clock: `advance(ms)` moves the clock and fires the tick. */
function fakeTimer() {
  let nowMs = 1000;
  let tick: (() => void) | undefined;
  let stopped = false;
  const errors: string[] = [];
  const recoveries: string[] = [];
  const timer = new ControlTimer({
    onJobError: (job, error, failuresInARow) => errors.push(`${job}: ${(error as Error).message} (${failuresInARow} in a row)`),
    onJobRecovered: (job, failures) => recoveries.push(`${job} after ${failures}`),
    now: () => nowMs,
    start: (run) => {
      tick = run;
      return { stop: () => (stopped = true) };
    },
  });
  return {
    timer,
    errors,
    recoveries,
    advance(ms: number): void {
      nowMs += ms;
      if (!stopped) tick!();
    },
    get stopped() {
      return stopped;
    },
  };
}

describe("the control thread's timer", () => {
  test("runs each job on the ticks of its period", () => {
    const fake = fakeTimer();
    const runs: string[] = [];
    fake.timer.every("fast", TICK_MS, () => runs.push("fast"));
    fake.timer.every("neighbours", 200, () => runs.push("neighbours"));
    fake.timer.every("second", 1000, () => runs.push("second"));
    for (let i = 0; i < 10; i++) fake.advance(TICK_MS);
    expect(runs.filter((name) => name === "fast")).toHaveLength(10);
    expect(runs.filter((name) => name === "neighbours")).toHaveLength(5);
    expect(runs.filter((name) => name === "second")).toHaveLength(1);
    expect(runs.slice(-3)).toEqual(["fast", "neighbours", "second"]); // tick 10: all three, in order
  });

  test("measures how late each tick fired", () => {
    const fake = fakeTimer();
    fake.advance(TICK_MS);
    fake.advance(TICK_MS + 30);
    fake.advance(TICK_MS + 6);
    expect(fake.timer.lag()).toEqual({ interval_ms: TICK_MS, worst_ms: 30, recent_worst_ms: 30, mean_ms: 12, samples: 3 });
    // Five seconds later the stall has left the recent window, not the worst since start.
    for (let i = 0; i < 60; i++) fake.advance(TICK_MS);
    expect(fake.timer.lag()).toMatchObject({ worst_ms: 30, recent_worst_ms: 0, samples: 63 });
  });

  test("a job that throws is reported, not on every turn, and the others, and later ticks, still run", () => {
    const fake = fakeTimer();
    let after = 0;
    let broken = true;
    fake.timer.every("flaky", TICK_MS, () => {
      if (broken) throw new Error("no such interface");
    });
    fake.timer.every("after", TICK_MS, () => after++);
    for (let i = 0; i < 600; i++) fake.advance(TICK_MS); // a minute of failures: reported once
    expect(fake.errors).toEqual(["flaky: no such interface (1 in a row)"]);
    fake.advance(TICK_MS); // a minute after the first report: again, with the count
    expect(fake.errors).toEqual(["flaky: no such interface (1 in a row)", "flaky: no such interface (601 in a row)"]);
    broken = false;
    fake.advance(TICK_MS);
    fake.advance(TICK_MS);
    expect(fake.recoveries).toEqual(["flaky after 601"]);
    expect(after).toBe(603);
    broken = true;
    fake.advance(TICK_MS); // a new run of failures is reported at once
    expect(fake.errors.at(-1)).toBe("flaky: no such interface (1 in a row)");
  });

  test("refuses a period that is not a whole number of ticks", () => {
    const fake = fakeTimer();
    expect(() => fake.timer.every("odd", 150, () => {})).toThrow("job odd: its period (150 ms) must be a whole multiple of 100 ms");
    expect(() => fake.timer.every("zero", 0, () => {})).toThrow(RangeError);
  });

  test("stop ends the ticks", () => {
    const fake = fakeTimer();
    let runs = 0;
    fake.timer.every("job", TICK_MS, () => runs++);
    fake.advance(TICK_MS);
    fake.timer.stop();
    fake.advance(TICK_MS);
    expect(fake.stopped).toBe(true);
    expect(runs).toBe(1);
  });

  test("on the real clock it keeps ticking until stopped", async () => {
    let runs = 0;
    const timer = new ControlTimer({ onJobError: () => {}, onJobRecovered: () => {} });
    timer.every("count", TICK_MS, () => runs++);
    for (let waited = 0; runs < 3 && waited < 5000; waited += 50) await sleep(50);
    timer.stop();
    expect(runs).toBeGreaterThanOrEqual(3);
    expect(timer.lag().samples).toBe(runs);
    const stoppedAt = runs;
    await sleep(3 * TICK_MS);
    expect(runs).toBe(stoppedAt);
  });
});
