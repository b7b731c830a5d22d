// `alert`: programs run on each change of a target's state, with TARGET_ID ADDRESS NEW_STATE
// CAUSE. The monitor checks a real listener in the target namespace; the alerts record their
// arguments, fail, or hang (killed at the runner's 1 s alert timeout). I = 1 s, T = 3 s.
import { expect, test } from "bun:test";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningProcess } from "../fixtures/process.ts";
import { CheckLab, processesEnd, TARGET, tcpListener, useCheckLab } from "./check-lab.ts";

const I = 1;
const T = 3;
const lab = new CheckLab();
const recorded = join(lab.dir, "recorded");
const hungPids = join(lab.dir, "hung-pids");
const PORT = 8080;
const CLOSED_PORT = 8099;
const ALERT_TIMEOUT_MS = 1000;
let listener: RunningProcess | undefined;

function program(name: string, body: string): string {
  const path = join(lab.dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

async function setUp(): Promise<void> {
  const recording = program("record.sh", `printf '%s|%s|%s|%s\\n' "$1" "$2" "$3" "$4" >> ${recorded}`);
  const failing = program("fail.sh", `echo "pager gateway unreachable" >&2; exit 3`);
  const hanging = program("hang.sh", `sleep 300 & echo "$$ $!" >> ${hungPids}; wait`);
  await startListener();
  await lab.startMonitor(
    [
      { id: 1, ipaddr: TARGET, port: PORT, tcpopen: [PORT, I, T], alert: recording },
      { id: 2, ipaddr: TARGET, port: PORT, tcpopen: [CLOSED_PORT, I, T], alert: failing },
      { id: 3, ipaddr: TARGET, port: PORT, tcpopen: [CLOSED_PORT, I, T], alert: hanging },
    ],
    { alertTimeoutMs: ALERT_TIMEOUT_MS },
  );
}

async function startListener(): Promise<void> {
  listener = lab.spawnInTarget(["python3", "-c", tcpListener("0.0.0.0", PORT)]);
  await listener.waitFor(/listening/, 5000);
}

function recordedLines(): string[] {
  return existsSync(recorded) ? readFileSync(recorded, "utf8").trim().split("\n") : [];
}

async function recordedLine(count: number): Promise<string[]> {
  for (const deadline = Date.now() + 3000; recordedLines().length < count && Date.now() < deadline; ) await Bun.sleep(20);
  return recordedLines();
}

function logLines(event: string): string[] {
  return lab.lines<{ line: string }>("log").map((log) => log.line).filter((line) => line.includes(` ${event} `));
}

describeWith([ROOT], "alert in network namespaces", () => {
  useCheckLab(lab, setUp);

  test(
    "up, down and up again: the alert gets TARGET_ID ADDRESS NEW_STATE CAUSE each time, in order",
    async () => {
      const up = await lab.nextEvent(1, "up", 3000, 0);
      expect(await recordedLine(1)).toEqual([`1|${TARGET}|up|${up.cause}`]);
      await listener?.stop();
      const down = await lab.nextEvent(1, "down", (T + 2) * 1000);
      expect(down.cause).toBe(`tcpopen ${PORT} refused for ${T} s`);
      await startListener();
      const again = await lab.nextEvent(1, "up", (I + 2) * 1000);
      expect(await recordedLine(3)).toEqual([`1|${TARGET}|up|${up.cause}`, `1|${TARGET}|down|${down.cause}`, `1|${TARGET}|up|${again.cause}`]);
    },
    20_000,
  );

  test(
    "a failing alert is logged with its exit status and last output line",
    async () => {
      await lab.nextEvent(2, "down", (T + 2) * 1000, 0);
      await lab.runner!.waitFor((line) => line.includes("alert-failed"), 3000);
      expect(logLines("alert-failed")).toEqual([expect.stringMatching(/ warn  alert-failed target=2 alert=\S+fail\.sh state=down status="exit 3" output="pager gateway unreachable"$/)]);
    },
    10_000,
  );

  test(
    "a hanging alert is killed at the timeout with what it started, and logged",
    async () => {
      const down = await lab.nextEvent(3, "down", (T + 2) * 1000, 0);
      await lab.runner!.waitFor((line) => line.includes("alert-timeout"), ALERT_TIMEOUT_MS + 2000);
      const [logged] = logLines("alert-timeout");
      expect(logged).toMatch(/ warn  alert-timeout target=3 alert=\S+hang\.sh state=down timeout_s=1$/);
      expect(Date.parse(logged!.split(" ")[0]!) - down.wallMs).toBeGreaterThanOrEqual(ALERT_TIMEOUT_MS - 50);
      const pids = readFileSync(hungPids, "utf8").trim().split(/\s+/);
      expect(await processesEnd(pids)).toBe(true);
    },
    10_000,
  );
});
