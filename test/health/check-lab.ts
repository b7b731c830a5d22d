// The lab of the namespace tests of each check kind: a checker namespace running the health
// monitor with the real probes (monitor-runner.ts) from REAL, and a target namespace holding
// TARGET, joined by veth. Each test file makes one with useCheckLab, inside describeWith([ROOT]).
import { afterAll, beforeAll } from "bun:test";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NamespaceFamily } from "../fixtures/namespaces.ts";
import { BUN, run, type RunningProcess, type StartOptions } from "../fixtures/process.ts";

export const REAL = "10.214.0.252";
export const TARGET = "10.214.0.11";
const RUNNER = "test/health/monitor-runner.ts";

export interface EventLine {
  type: "event";
  wallMs: number;
  targetId: number;
  from: string;
  to: string;
  cause: string;
}

/** Whether process `pid` still runs: a zombie (dead, not yet reaped by its parent) does not. */
export function processRunning(pid: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
}

/** Whether every process of `pids` is gone within a second: a SIGKILLed process on a busy machine takes a moment to die. */
export async function processesEnd(pids: readonly string[]): Promise<boolean> {
  for (const deadline = Date.now() + 1000; pids.some(processRunning); ) {
    if (Date.now() > deadline) return false;
    await Bun.sleep(10);
  }
  return true;
}

/**
 * A python3 TCP server on ADDRESS:PORT that prints "listening" when ready and runs `handle`
 * (python, one line) on each accepted connection `c`: by default it closes it; `held.append(c)`
 * keeps it open without a word.
 */
export function tcpListener(address: string, port: number, handle = "c.close()"): string {
  return `
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("${address}", ${port}))
s.listen(64)
print("listening", flush=True)
held = []
while True:
    c, _ = s.accept()
    ${handle}
`;
}

export class CheckLab {
  /** The suite's files (scripts, state): made with the lab, removed with it. */
  readonly dir = join(tmpdir(), `bng-check-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  runner: RunningProcess | undefined;
  private family: NamespaceFamily | undefined;
  private checker = "";
  private target = "";

  /** Both namespaces (checker: vcheck, target: vtarget with TARGET); the runner adds REAL on vcheck. */
  create(): void {
    mkdirSync(this.dir);
    this.family = new NamespaceFamily("bngq");
    this.checker = this.family.add("checker");
    this.target = this.family.add("target");
    this.family.veth({ ns: this.checker, ifname: "vcheck" }, { ns: this.target, ifname: "vtarget", address: `${TARGET}/24` });
  }

  /** Runs a command in the target namespace and returns its stdout. */
  inTarget(command: string[]): string {
    return run(["ip", "netns", "exec", this.target, ...command]);
  }

  spawnInTarget(command: string[], options?: StartOptions): RunningProcess {
    return this.family!.spawn(this.target, command, options);
  }

  /** Starts the monitor on `targets` (monitor-runner.ts's RunnerTarget objects) and waits for it. */
  async startMonitor(targets: object[], extra: object = {}): Promise<RunningProcess> {
    const spec = { real: REAL, ensure: { ifname: "vcheck", prefixLen: 24 }, targets, ...extra };
    const runner = this.family!.spawn(this.checker, [BUN, RUNNER, JSON.stringify(spec)]);
    this.runner = runner;
    await runner.waitFor((line) => line.includes('"type":"ready"'), 10_000);
    return runner;
  }

  /** The runner's lines of one type, parsed. */
  lines<T>(type: string): T[] {
    return (this.runner?.lines ?? []).map((line) => JSON.parse(line) as { type: string }).filter((line) => line.type === type) as T[];
  }

  /** The next change of `targetId` to `to` from now on (or from line `from`). */
  async nextEvent(targetId: number, to: string, timeoutMs: number, from = this.runner!.lines.length): Promise<EventLine> {
    const { line } = await this.runner!.waitFor(
      (text) => {
        const parsed = JSON.parse(text) as Partial<EventLine>;
        return parsed.type === "event" && parsed.targetId === targetId && parsed.to === to;
      },
      timeoutMs,
      from,
    );
    return JSON.parse(line) as EventLine;
  }

  async destroy(): Promise<void> {
    await this.family?.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Registers the hooks that create `lab` and run `setUp` before the suite's tests (destroying all of it when that fails) and destroy it after them. Call it inside the suite's describe. */
export function useCheckLab(lab: CheckLab, setUp: () => Promise<void>): void {
  beforeAll(async () => {
    try {
      lab.create();
      await setUp();
    } catch (error) {
      await lab.destroy();
      throw error;
    }
  }, 20_000);
  afterAll(() => lab.destroy());
}
