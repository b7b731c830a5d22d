// Helpers shared by the benchmarks: commands, namespaces the benchmark creates (prefix `bngb`),
// processes inside them, /proc readings, statistics and the machine's description.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { addNamespace, claimNamespaceFamily, removeNamespaceFamily } from "../test/e2e/lab.ts";
import { REPO } from "../test/fixtures/process.ts";

export { BUN, REPO } from "../test/fixtures/process.ts";

const NAMESPACE_PREFIX = "bngb";

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: CommandResult,
    why: string,
  ) {
    super(`${argv.join(" ")}: ${why}${result.stderr.trim() ? `: ${result.stderr.trim().slice(-2000)}` : ""}`);
  }
}

/** Runs a command to completion; throws on a non-zero exit unless allowFailure. */
export async function run(argv: string[], options: { allowFailure?: boolean; timeoutMs?: number; cwd?: string } = {}): Promise<CommandResult> {
  const child = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", cwd: options.cwd ?? REPO });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.timeoutMs ?? 60_000);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  const result = { exitCode, stdout, stderr };
  if (timedOut) throw new CommandError(argv, result, "timed out");
  if (exitCode !== 0 && !options.allowFailure) throw new CommandError(argv, result, `exit code ${exitCode}`);
  return result;
}

export function runSync(argv: string[]): CommandResult {
  const result = Bun.spawnSync(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

/** Output of a child collected in the background, each chunk stamped with its arrival time. */
class Collector {
  text = "";
  readonly done: Promise<void>;
  private readonly waiters: { pattern: RegExp; resolve: (at: number) => void }[] = [];

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) {
        const at = performance.now();
        this.text += decoder.decode(chunk, { stream: true });
        for (let i = this.waiters.length - 1; i >= 0; i--) {
          const waiter = this.waiters[i]!;
          if (waiter.pattern.test(this.text)) {
            this.waiters.splice(i, 1);
            waiter.resolve(at);
          }
        }
      }
      this.text += decoder.decode();
    })();
  }

  /** performance.now() of the chunk that completed the first match of `pattern`. */
  whenMatches(pattern: RegExp): Promise<number> {
    if (pattern.test(this.text)) return Promise.resolve(performance.now());
    return new Promise((resolveMatch) => this.waiters.push({ pattern, resolve: resolveMatch }));
  }
}

/** A process the benchmark started; `stop()` ends it (SIGTERM, then SIGKILL). */
export class Child {
  readonly pid: number;
  readonly exited: Promise<number>;
  readonly startedAt = performance.now();
  private readonly out: Collector;
  private readonly err: Collector;
  exitCode: number | null = null;

  constructor(
    readonly argv: readonly string[],
    private readonly child: Subprocess<"ignore", "pipe", "pipe">,
  ) {
    this.pid = child.pid;
    this.exited = child.exited.then((code) => (this.exitCode = code));
    this.out = new Collector(child.stdout);
    this.err = new Collector(child.stderr);
    liveChildren.add(this);
    void this.exited.then(() => liveChildren.delete(this));
  }

  get stdout(): string {
    return this.out.text;
  }

  get stderr(): string {
    return this.err.text;
  }

  /** Resolves with performance.now() when `pattern` appears on stdout or stderr; rejects on exit or timeout. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const failure = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.argv.join(" ")}: no ${pattern} within ${timeoutMs} ms\nstdout: ${this.stdout}\nstderr: ${this.stderr}`)), timeoutMs);
      void this.exited.then((code) => reject(new Error(`${this.argv.join(" ")} exited with ${code} before ${pattern}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`)));
    });
    try {
      return await Promise.race([this.out.whenMatches(pattern), this.err.whenMatches(pattern), failure]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Signals the child's whole process group (it runs in its own: trafgen forks workers). */
  signal(signal: NodeJS.Signals): void {
    if (this.exitCode !== null) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      this.child.kill(signal);
    }
  }

  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 3000): Promise<number> {
    this.signal(signal);
    const killer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    const code = await this.exited;
    clearTimeout(killer);
    await Promise.all([this.out.done, this.err.done]);
    return code;
  }
}

const liveChildren = new Set<Child>();

export function spawn(argv: string[], options: { env?: Record<string, string> } = {}): Child {
  const child = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", cwd: REPO, env: { ...process.env, ...options.env }, detached: true });
  return new Child(argv, child);
}

/** argv run inside namespace `ns`, pinned to `cpu` when given (taskset). */
export function nsArgv(ns: string, argv: string[], cpu?: number): string[] {
  return ["ip", "netns", "exec", ns, ...(cpu === undefined ? [] : ["taskset", "-c", String(cpu)]), ...argv];
}

/**
 * A family of namespaces `<id>-<name>` (id = bngb + 4 random characters) made by one benchmark.
 * `remove()` kills every process inside them and deletes them; it also runs at process exit and
 * on SIGINT/SIGTERM so a failed or interrupted benchmark leaves nothing behind. The family is
 * recorded as this process's (the lab's ownership records, test/e2e/lab.ts), so the next
 * benchmark removes what a killed one (SIGKILL runs no hooks) left.
 */
export class Namespaces {
  readonly id = claimNamespaceFamily(NAMESPACE_PREFIX);
  private removed = false;

  constructor() {
    liveFamilies.add(this);
    installExitHooks();
  }

  name(short: string): string {
    return `${this.id}-${short}`;
  }

  async add(short: string): Promise<string> {
    const ns = this.name(short);
    await addNamespace(ns);
    return ns;
  }

  /** Runs a shell script inside `ns`. */
  async sh(ns: string, script: string): Promise<CommandResult> {
    return run(nsArgv(ns, ["sh", "-ec", script]));
  }

  remove(): void {
    if (this.removed) return;
    this.removed = true;
    liveFamilies.delete(this);
    removeNamespaceFamily(this.id);
  }
}

const liveFamilies = new Set<Namespaces>();
const scratchDirectories = new Set<string>();
let hooksInstalled = false;

/** A temporary directory removed by `removeScratch`, or at exit whatever happens. */
export function makeScratch(tag: string): string {
  installExitHooks();
  const dir = mkdtempSync(join(tmpdir(), `bngb-${tag}-`));
  scratchDirectories.add(dir);
  return dir;
}

export function removeScratch(dir: string): void {
  scratchDirectories.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const cleanup = () => {
    for (const child of liveChildren) child.signal("SIGKILL");
    for (const family of liveFamilies) family.remove();
    for (const dir of scratchDirectories) rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", cleanup);
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
    process.on(signal, () => {
      cleanup();
      process.exit(code);
    });
  }
}

// --------------------------------------------------------------------------------------------
// /proc

const CLOCK_TICKS = Number(runSync(["getconf", "CLK_TCK"]).stdout.trim()) || 100;

export interface CpuTimes {
  /** Seconds of user and system time of the whole process (every thread). */
  user: number;
  system: number;
}

export function cpuTimes(pid: number): CpuTimes {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after the command name.
  return { user: Number(fields[11]) / CLOCK_TICKS, system: Number(fields[12]) / CLOCK_TICKS };
}

/** VmRSS of a process, in bytes. */
export function memory(pid: number): { rss: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return { rss: Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) * 1024 };
}

/** An interface counter (/sys/class/net/IF/statistics/NAME) read inside namespace `ns`. */
export async function interfaceCounter(ns: string, ifname: string, name: string): Promise<number> {
  const { stdout } = await run(nsArgv(ns, ["cat", `/sys/class/net/${ifname}/statistics/${name}`]));
  return Number(stdout.trim());
}

function loadAverage(): number[] {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
}

// --------------------------------------------------------------------------------------------
// Statistics and formatting

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function round(value: number, digits = 0): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** A ratio with its three decimals always shown (1.000, not 1). */
export function ratioText(ratio: number): string {
  return ratio.toFixed(3);
}

export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return "-";
  if (value >= 1e6) return `${round(value / 1e6, 2)} M`;
  if (value >= 1e3) return `${round(value / 1e3, 1)} k`;
  return String(round(value, 1));
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "-";
  return `${round(bytes / 2 ** 20, 1)} MiB`;
}

// --------------------------------------------------------------------------------------------
// The machine

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  kernel: string;
  bun: string;
  memoryBytes: number;
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    kernel: runSync(["uname", "-r"]).stdout.trim(),
    bun: Bun.version,
    memoryBytes: totalmem(),
    loadAverage: loadAverage(),
  };
}

/** Who else is using the CPU right now: processes above 10 % over their life, not ours. */
export function busyProcesses(): string[] {
  const ps = runSync(["ps", "-eo", "pid,pcpu,comm", "--sort=-pcpu", "--no-headers"]).stdout;
  return ps
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter(([pid, pcpu]) => Number(pcpu) >= 10 && Number(pid) !== process.pid)
    .map(([pid, pcpu, comm]) => `${comm}(${pid}) ${pcpu}%`);
}

export function fileSize(path: string): number | undefined {
  return existsSync(path) ? statSync(path).size : undefined;
}

/** The command that runs bng: BNG_BIN (e.g. dist/bng) or the source tree through the local bun. */
export { bngCommand } from "../test/e2e/bng.ts";

/** Prints `rows` as an aligned text table. */
/** A benchmark's results as rows: printed as text by the benchmark, as markdown in bench/README.md. */
export interface Table {
  header: string[];
  rows: string[][];
}

export function textTable({ header, rows }: Table): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function markdownTable({ header, rows }: Table): string {
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((row) => `| ${row.join(" | ")} |`)].join("\n");
}

/** A numeric command-line option (from node:util parseArgs): undefined when absent, an error when not a number. */
export function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number)) throw new Error(`--${name} needs a number, not "${value}"`);
  return number;
}

export interface CpuSample {
  idle: number;
  total: number;
}

/** The machine's CPU counters (/proc/stat, all CPUs). */
export function cpuSample(): CpuSample {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const counted = fields.slice(0, 8);
  return { idle: (counted[3] ?? 0) + (counted[4] ?? 0), total: counted.reduce((sum, n) => sum + n, 0) };
}

/** Cores busy on average between two samples. */
export function busyCoresBetween(before: CpuSample, after: CpuSample): number {
  const total = after.total - before.total;
  return total > 0 ? ((total - (after.idle - before.idle)) / total) * cpus().length : 0;
}

/** Cores kept busy by everything on the machine during `ms`, e.g. other tests. */
export async function machineBusyCores(ms = 1000): Promise<number> {
  const before = cpuSample();
  await sleep(ms);
  return busyCoresBetween(before, cpuSample());
}
