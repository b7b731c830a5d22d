// Helpers shared by the benchmarks: commands and processes (test/fixtures/process.ts with the
// benchmarks' defaults), scratch directories, /proc readings, statistics and the machine's
// description. Namespaces come from test/fixtures/namespaces.ts (families `bngb…`).
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { REPO, runCommand, runCommandSync, startProcess, type CommandOptions, type CommandResult, type RunningProcess } from "../test/fixtures/process.ts";

export { BUN, REPO } from "../test/fixtures/process.ts";

/** The benchmarks' namespace family prefix (test/fixtures/namespaces.ts). */
export const NAMESPACE_PREFIX = "bngb";

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Runs a command to completion in the repository (60 s at most); throws on a non-zero exit unless allowFailure. */
export function run(argv: string[], options: CommandOptions = {}): Promise<CommandResult> {
  return runCommand(argv, { cwd: REPO, timeoutMs: 60_000, ...options });
}

/** Runs a command to completion; never throws (the exit code says how it went). */
export function runSync(argv: string[]): CommandResult {
  return runCommandSync(argv, { allowFailure: true });
}

/** A process in a group of its own (trafgen forks workers), started in the repository. */
export function spawn(argv: string[], options: { env?: Record<string, string> } = {}): RunningProcess {
  return startProcess(argv, { cwd: REPO, env: options.env, processGroup: true });
}

/** argv run inside namespace `ns`, pinned to `cpu` when given (taskset). */
export function nsArgv(ns: string, argv: string[], cpu?: number): string[] {
  return ["ip", "netns", "exec", ns, ...(cpu === undefined ? [] : ["taskset", "-c", String(cpu)]), ...argv];
}

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
