// Bounded child processes: output kept to its limit, killed at the timeout with their group,
// their leftovers killed at exit; and the concurrency limit's order.
import { describe, expect, test } from "bun:test";
import { ConcurrencyLimit, describeExit, lastLine, startChild } from "../../src/health/child-process.ts";
import { processesEnd } from "./check-lab.ts";

const sh = (script: string) => ["/bin/sh", "-c", script];

describe("startChild", () => {
  test("exit status, and stdout and stderr kept together up to the limit while the rest is read and dropped", async () => {
    const outcome = await startChild(sh("echo out; echo err >&2; head -c 100000 /dev/zero | tr '\\0' x; exit 4"), { outputLimit: 64 }).finished;
    expect(outcome).toMatchObject({ exitCode: 4, signal: null, killed: false });
    expect(outcome.output.length).toBe(64);
    expect(outcome.output).toContain("out\n");
    expect(describeExit(outcome)).toBe("exit 4");
  });

  test("killed at its timeout, with what it started; the outcome says so", async () => {
    const started = performance.now();
    const child = startChild(sh("sleep 300 & echo $!; wait"), { outputLimit: 64, timeoutMs: 300 });
    const outcome = await child.finished;
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(outcome).toMatchObject({ exitCode: null, signal: "SIGKILL", killed: true });
    expect(describeExit(outcome)).toBe("killed by SIGKILL");
    expect(await processesEnd([outcome.output.trim()])).toBe(true);
  });

  test("what a program leaves running in its group when it exits is killed; kill() ends it at once", async () => {
    const leftover = await startChild(sh("sleep 300 & echo $!"), { outputLimit: 64 }).finished;
    expect(leftover.exitCode).toBe(0);
    expect(await processesEnd([leftover.output.trim()])).toBe(true);
    const child = startChild(sh("sleep 300"), { outputLimit: 64 });
    child.kill();
    expect(await child.finished).toMatchObject({ killed: true, signal: "SIGKILL" });
  });

  test("a program that cannot be started throws", () => {
    expect(() => startChild(["/nonexistent/bng-check"], { outputLimit: 64 })).toThrow();
  });
});

test("lastLine: the last non-empty line, its end when too long", () => {
  expect(lastLine("first\nsecond\n\n  \n")).toBe("second");
  expect(lastLine("")).toBe("");
  expect(lastLine("abcdefghij", 4)).toBe("...ghij");
});

test("ConcurrencyLimit: at most `limit` at once, the rest in order; a waiting job can be withdrawn", () => {
  const limit = new ConcurrencyLimit(2);
  const started: number[] = [];
  const withdrawals = [1, 2, 3, 4, 5].map((job) => limit.enqueue(() => started.push(job)));
  expect(started).toEqual([1, 2]);
  expect(withdrawals[0]!()).toBe(false);
  expect(withdrawals[3]!()).toBe(true);
  limit.release();
  expect(started).toEqual([1, 2, 3]);
  limit.release();
  expect(started).toEqual([1, 2, 3, 5]);
  expect(limit.active).toBe(2);
  limit.release();
  limit.release();
  expect(limit.active).toBe(0);
});
