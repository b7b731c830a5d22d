// `agent`: the monitor's UDP query against `bng agent` running in the target namespace, whose
// reported load the test controls through `--script`. I = 1 s, T = 3 s.
import { expect, test } from "bun:test";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningProcess } from "../fixtures/process.ts";
import { CheckLab, TARGET, useCheckLab } from "./check-lab.ts";

const I = 1;
const T = 3;
const lab = new CheckLab();
const script = join(lab.dir, "load.sh");
const loadFile = join(lab.dir, "load");
const SCRIPTED_PORT = 4439;
const LOADAVG_PORT = 4440;
let scripted: RunningProcess;
let loadavg: RunningProcess;

interface LoadLine {
  targetId: number;
  load: number;
}

/** `bng agent ARGS` in the target namespace, its log (stderr) read as its lines. */
const spawnAgent = (...args: string[]) => lab.spawnInTarget([process.execPath, "test/health/agent-runner.ts", ...args], { lines: "stderr" });

const startAgent = async (...args: string[]) => {
  const agent = spawnAgent(...args);
  await agent.waitFor(/agent-listening/, 10_000);
  return agent;
};

async function nextLoad(targetId: number, load: number, timeoutMs: number): Promise<void> {
  await lab.runner!.waitFor((line) => {
    const parsed = JSON.parse(line) as Partial<LoadLine> & { type: string };
    return parsed.type === "load" && parsed.targetId === targetId && parsed.load === load;
  }, timeoutMs);
}

async function setUp(): Promise<void> {
  writeFileSync(script, `#!/bin/sh\ncat ${loadFile}\n`);
  chmodSync(script, 0o755);
  writeFileSync(loadFile, "0.25\n");
  scripted = await startAgent(String(SCRIPTED_PORT), "--script", script);
  loadavg = await startAgent(String(LOADAVG_PORT));
  await lab.startMonitor([
    { id: 1, ipaddr: TARGET, port: 80, agent: [SCRIPTED_PORT, I, T] },
    { id: 2, ipaddr: TARGET, port: 80, agent: [LOADAVG_PORT, I, T] },
  ]);
}

describeWith([ROOT], "agent in network namespaces", () => {
  useCheckLab(lab, setUp);

  test(
    "the agent's reply is the script's load: up, and each reply's load reaches the monitor",
    async () => {
      const up = await lab.nextEvent(1, "up", 3000, 0);
      expect(up.cause).toMatch(new RegExp(`^agent ${SCRIPTED_PORT} load 0.25 in [0-9.]+ ms$`));
      writeFileSync(loadFile, "3.5\n");
      await nextLoad(1, 3.5, (I + 2) * 1000);
    },
    10_000,
  );

  test(
    "without --script the load is the 1-minute load average",
    async () => {
      await lab.nextEvent(2, "up", 3000, 0);
      const loads = lab.lines<LoadLine>("load").filter((line) => line.targetId === 2);
      const now = Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
      expect(loads.length).toBeGreaterThan(0);
      expect(Math.abs(loads.at(-1)!.load - now)).toBeLessThan(2);
    },
    10_000,
  );

  test(
    "a script that prints no number: the agent logs it and does not answer, the target goes down",
    async () => {
      writeFileSync(loadFile, "busy\n");
      const down = await lab.nextEvent(1, "down", (T + 2) * 1000);
      expect(down.cause).toBe(`agent ${SCRIPTED_PORT} no reply for ${T} s`);
      expect(scripted.lines.some((line) => line.includes("agent-script-failed") && line.includes('status="printed no load (a number)"') && line.includes("output=busy"))).toBe(true);
      writeFileSync(loadFile, "1\n");
      await lab.nextEvent(1, "up", (I + 2) * 1000);
    },
    15_000,
  );

  test(
    "a second agent on a port that is taken refuses to start",
    async () => {
      const second = spawnAgent(String(SCRIPTED_PORT));
      expect(await second.exited).toBe(1);
      expect(second.lines.join("\n")).toMatch(new RegExp(`error agent-failed port=${SCRIPTED_PORT} error="UDP port ${SCRIPTED_PORT} is taken`));
    },
    10_000,
  );

  test(
    "the agent stopped: its port is closed, the target goes down as refused",
    async () => {
      await loadavg.stop();
      expect(loadavg.lines.some((line) => line.includes("agent-stopped"))).toBe(true);
      const down = await lab.nextEvent(2, "down", (T + 2) * 1000);
      expect(down.cause).toBe(`agent ${LOADAVG_PORT} refused for ${T} s`);
    },
    15_000,
  );
});
