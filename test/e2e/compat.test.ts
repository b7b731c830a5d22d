// BalanceNG's verbs: `bng -c FILE start` runs bng in the background with a pid file and a log,
// `bng status` answers, a second start says it is already running, `bng stop` stops it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { runCommandSync } from "../fixtures/process.ts";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { bngCommand, Scratch, SEED_CONFIG_PATH } from "./bng.ts";
import { createLab, type Lab } from "./lab.ts";

const SEED_CONFIG = readFileSync(SEED_CONFIG_PATH, "utf8");

/** Whether `pid` is still running. The detached daemon is an orphan: once it exits it may stay a
 * zombie until init reaps it, which is exited all the same. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
let lab: Lab;
let scratch: Scratch;

describeWith([ROOT], "BalanceNG compatibility verbs", () => {
  beforeAll(async () => {
    scratch = new Scratch();
    lab = await createLab({ prefix: "bngk", clients: 2 });
  }, 30_000);

  afterAll(async () => {
    await lab?.destroy();
    scratch?.remove();
  }, 30_000);

  test("-c FILE start, status, a second start, a second run on the same socket, stop", async () => {
    const socket = `${scratch.dir}/bng.sock`;
    const pidFile = `${scratch.dir}/bng.pid`;
    const logFile = `${scratch.dir}/bng.log`;
    const options = ["--socket", socket, "--pid-file", pidFile, "--log-file", logFile];
    const config = scratch.writeConfig("bng.conf", SEED_CONFIG);
    const started = await lab.exec(lab.bngNs, [...bngCommand(), "-c", config, "start", ...options], { allowFailure: true, timeoutMs: 15_000 });
    expect(started.stdout).toContain("bng: starting up ...");
    expect(started.exitCode).toBe(0);
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    expect(started.stdout).toContain(`running with PID ${pid}`);
    expect(running(pid)).toBe(true);

    const status = runCommandSync([...bngCommand(), "status", "--json", "--socket", socket], { allowFailure: true });
    expect(status.exitCode).toBe(0);
    expect(JSON.parse(status.stdout).pid).toBe(pid);

    const again = await lab.exec(lab.bngNs, [...bngCommand(), "-c", config, "start", ...options], { allowFailure: true });
    expect(again.exitCode).toBe(1);
    expect(again.stdout).toContain(`already running with PID ${pid}`);

    const second = await lab.exec(lab.bngNs, [...bngCommand(), "run", config, "--socket", socket], { allowFailure: true, timeoutMs: 15_000 });
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toContain(`another bng is already running on ${socket}`);

    const stop = runCommandSync([...bngCommand(), "stop", "--socket", socket], { allowFailure: true });
    expect(stop.exitCode).toBe(0);
    expect(stop.stdout).toContain(`pid ${pid}`);
    const deadline = Date.now() + 2000;
    while (running(pid) && Date.now() < deadline) await Bun.sleep(50);
    expect(running(pid)).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
    expect(readFileSync(logFile, "utf8")).toMatch(/ stopped /);
  }, 30_000);

  test("start with a broken configuration reports why and exits 1", async () => {
    const broken = scratch.writeConfig("broken.conf", SEED_CONFIG.replace("targets 1,2", "targets 1,7"));
    const result = await lab.exec(lab.bngNs, [...bngCommand(), "-c", broken, "start", "--socket", `${scratch.dir}/b.sock`, "--pid-file", `${scratch.dir}/b.pid`, "--log-file", `${scratch.dir}/b.log`], { allowFailure: true, timeoutMs: 15_000 });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("did not start");
    expect(result.stderr).toMatch(/target 7/);
  }, 30_000);
});
