// When the data plane fails (a worker thread crashed), bng stops by itself and says it failed,
// so `bng run` exits 1 and a supervisor restarts it.
import { afterAll, expect, test } from "bun:test";
import { DaemonHarness } from "./daemon-harness.ts";

const harness = new DaemonHarness();
const vanishing = new DaemonHarness();
afterAll(async () => {
  await harness.stop();
  await vanishing.stop();
});

test("a data-plane failure stops the daemon, logged, and marks it failed", async () => {
  await harness.start();
  expect(harness.daemon.failed).toBe(false);
  harness.failDataplane("data-plane worker 0 crashed: recvmmsg(eth0) failed: EBADF");
  await harness.daemon.stopped;
  expect(harness.daemon.failed).toBe(true);
  expect(harness.logLines.some((line) => /error dataplane-failed .*EBADF/.test(line))).toBe(true);
  expect(harness.logLines.some((line) => /stopping reason="data plane failed"/.test(line))).toBe(true);
});

test("an interface that disappears stops the daemon as a failure within a second or two", async () => {
  await vanishing.start();
  vanishing.interfacePresent = false;
  const started = Date.now();
  await vanishing.daemon.stopped;
  expect(Date.now() - started).toBeLessThan(2500);
  expect(vanishing.daemon.failed).toBe(true);
  expect(vanishing.logLines.some((line) => /error interface-gone interface=eth0/.test(line))).toBe(true);
});
