// The lab of the namespace tests of each check kind: a checker namespace running the health
// monitor with the real probes (monitor-runner.ts) from REAL, and a target namespace holding
// TARGET, joined by veth (netns.ts). Each test file makes one with useCheckLab.
import { afterAll, beforeAll } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LineProcess, run } from "../fixtures/process.ts";
import { NamespacePair } from "./netns.ts";

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
  readonly namespaces = new NamespacePair();
  runner: LineProcess | undefined;
  private readonly dirs: string[] = [];

  /** A temporary directory for the suite's files, removed with the lab. */
  makeDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** Both namespaces, TARGET on the target's veth; the runner adds REAL on the checker's. */
  create(): void {
    this.namespaces.create();
    this.inTarget(["ip", "addr", "add", `${TARGET}/24`, "dev", "vtarget"]);
  }

  /** Runs a command in the target namespace and returns its stdout. */
  inTarget(command: string[]): string {
    return run(["ip", "netns", "exec", this.namespaces.target, ...command]);
  }

  spawnInTarget(command: string[]): LineProcess {
    return this.namespaces.spawn(this.namespaces.target, command);
  }

  /** Starts the monitor on `targets` (monitor-runner.ts's RunnerTarget objects) and waits for it. */
  async startMonitor(targets: object[], extra: object = {}): Promise<LineProcess> {
    const spec = { real: REAL, ensure: { ifname: "vcheck", prefixLen: 24 }, targets, ...extra };
    const runner = this.namespaces.bun(this.namespaces.checker, RUNNER, JSON.stringify(spec));
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
    await this.namespaces.destroy();
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
  }
}

/** The suite's lab: created and `setUp` before its tests (all of it destroyed when that fails), destroyed after them. */
export function useCheckLab(setUp: (lab: CheckLab) => Promise<void>): CheckLab {
  const lab = new CheckLab();
  beforeAll(async () => {
    try {
      lab.create();
      await setUp(lab);
    } catch (error) {
      await lab.destroy();
      throw error;
    }
  }, 20_000);
  afterAll(() => lab.destroy());
  return lab;
}
