// The alert runner's rules with real programs: a target's alerts in order, the cap on alerts
// at once, a full queue, and stopping. (Arguments, failures and timeouts against a real
// monitor: alert.netns.test.ts.)
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAlertRunner, MAX_RUNNING_ALERTS, MAX_WAITING_ALERTS } from "../../src/health/alerts.ts";
import type { HealthEvent, HealthState } from "../../src/health/state.ts";
import { createLogger } from "../../src/log/logger.ts";

const dir = mkdtempSync(join(tmpdir(), "bng-alerts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function program(body: string): { path: string; log: string } {
  const log = join(dir, `log-${++files}`);
  const path = join(dir, `alert-${files}.sh`);
  writeFileSync(path, `#!/bin/sh\nLOG=${log}\n${body}\n`);
  chmodSync(path, 0o755);
  return { path, log };
}

function event(targetId: number, to: HealthState): HealthEvent {
  return { targetId, ipaddr: `10.0.0.${targetId}`, port: 80, from: "up", to, cause: `cause of ${to}`, atMs: 0, message: "" };
}

function collectingLogger() {
  const lines: string[] = [];
  return { lines, logger: createLogger((line) => lines.push(line)) };
}

const linesOf = (path: string) => (existsSync(path) ? readFileSync(path, "utf8").trim().split("\n") : []);

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition(); ) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(10);
  }
}

describe("alert runner", () => {
  test("a target's alerts run one at a time, in the order of its changes", async () => {
    const { path, log } = program(`echo "begin $3" >> $LOG; sleep 0.1; echo "end $3" >> $LOG`);
    const alerts = createAlertRunner({ logger: collectingLogger().logger });
    for (const to of ["down", "up", "down"] as const) alerts.alert(path, event(1, to));
    await until(() => linesOf(log).length === 6);
    expect(linesOf(log)).toEqual(["begin down", "end down", "begin up", "end up", "begin down", "end down"]);
  });

  test(`at most ${MAX_RUNNING_ALERTS} alerts run at once over all targets`, async () => {
    const { path, log } = program(`echo "+ $1" >> $LOG; sleep 0.2; echo "- $1" >> $LOG`);
    const alerts = createAlertRunner({ logger: collectingLogger().logger });
    const targets = MAX_RUNNING_ALERTS + 2;
    for (let id = 1; id <= targets; id++) alerts.alert(path, event(id, "down"));
    await until(() => linesOf(log).length === targets * 2);
    let running = 0;
    let most = 0;
    for (const line of linesOf(log)) {
      running += line.startsWith("+") ? 1 : -1;
      most = Math.max(most, running);
    }
    expect(most).toBe(MAX_RUNNING_ALERTS);
  });

  test(`a target with more than ${MAX_WAITING_ALERTS} alerts waiting drops its oldest waiting one, logged`, async () => {
    const { path, log } = program(`echo "$3 $4" >> $LOG`);
    const { lines, logger } = collectingLogger();
    const alerts = createAlertRunner({ logger });
    const events = MAX_WAITING_ALERTS + 2;
    for (let i = 1; i <= events; i++) alerts.alert(path, { ...event(7, i % 2 === 0 ? "up" : "down"), cause: `change ${i}` });
    await until(() => linesOf(log).length === events - 1);
    await Bun.sleep(50);
    expect(linesOf(log).map((line) => line.split(" ").at(-1))).toEqual(Array.from({ length: events }, (_, i) => String(i + 1)).filter((n) => n !== "2"));
    expect(lines.filter((line) => line.includes("alert-dropped"))).toEqual([
      expect.stringMatching(new RegExp(`warn  alert-dropped target=7 alert=\\S+ state=up reason="${MAX_WAITING_ALERTS} later alerts of target 7 wait"$`)),
    ]);
  });

  test("close kills the running alert and drops the waiting ones, each logged; later changes run nothing", async () => {
    const { path, log } = program(`echo "$3" >> $LOG; sleep 300`);
    const { lines, logger } = collectingLogger();
    const alerts = createAlertRunner({ logger });
    alerts.alert(path, event(3, "down"));
    alerts.alert(path, event(3, "up"));
    await until(() => linesOf(log).length === 1);
    alerts.close();
    alerts.alert(path, event(3, "down"));
    await until(() => lines.some((line) => line.includes("alert-failed")));
    expect(lines).toEqual([
      expect.stringMatching(/warn  alert-dropped target=3 alert=\S+ state=up reason="bng is stopping"$/),
      expect.stringMatching(/warn  alert-failed target=3 alert=\S+ state=down status="killed: bng is stopping"$/),
    ]);
    await Bun.sleep(100);
    expect(linesOf(log)).toEqual(["down"]);
  });
});
