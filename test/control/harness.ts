// Helpers for the control-plane acceptance tests (issue 5): the in-memory daemon of
// daemon-harness.ts, the `bng` command line run in this process with its output captured,
// a strict checker of the Prometheus text format, and a real `bng run` in a network namespace
// of its own (a dummy eth0), for what only a process shows (signals, a second run, exit).
import { chmodSync, copyFileSync, linkSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { bngCommand } from "../e2e/bng.ts";
import { NamespaceFamily } from "../fixtures/namespaces.ts";
import { BUN, REPO, run, runCommand, runCommandSync, RunningProcess, type CommandResult } from "../fixtures/process.ts";

export { CLIENT_MAC, DaemonHarness, OWN_MAC, SEED_CONFIG_TEXT, SEED_FAST_CHECKS_TEXT, TCP_ACK, TCP_SYN, VIP } from "./daemon-harness.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `bng ARGV` in this process: the exported main(), with console and process output captured.
 * A usage error (main throws) is exit code 2, as the real entry point does.
 */
export async function runCli(argv: string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const saved = { log: console.log, error: console.error, out: process.stdout.write, err: process.stderr.write };
  const text = (parts: unknown[]) => parts.map((part) => (typeof part === "string" ? part : Bun.inspect(part))).join(" ") + "\n";
  console.log = (...parts: unknown[]) => void (stdout += text(parts));
  console.error = (...parts: unknown[]) => void (stderr += text(parts));
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk)), true)) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } catch (error) {
    const usage = error instanceof Error && error.constructor.name === "UsageError";
    return { code: usage ? 2 : 1, stdout, stderr: stderr + String(error instanceof Error ? error.message : error) + "\n" };
  } finally {
    console.log = saved.log;
    console.error = saved.error;
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
  }
}

/** Column start offsets of a table line printed by render.ts `table()` (cells separated by 2+ spaces). */
export function columnStarts(line: string): number[] {
  const starts: number[] = [];
  for (const match of line.matchAll(/(?:^|\s{2,})(\S)/g)) starts.push(match.index! + match[0].length - 1);
  return starts;
}

// ---------------------------------------------------------------------------------------------
// The Prometheus text exposition format, version 0.0.4, checked strictly.

interface Family {
  help: number;
  type: string | undefined;
  types: number;
  sampled: boolean;
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"/;

/** Every problem with `text` as an exposition; empty when it is valid. */
export function validateExposition(text: string): string[] {
  const problems: string[] = [];
  const families = new Map<string, Family>();
  const series = new Set<string>();
  const histograms = new Map<string, { bounds: number[]; counts: number[]; count?: number; sum?: number }>();
  if (text.length > 0 && !text.endsWith("\n")) problems.push("the last line has no newline");
  let current: string | undefined;
  for (const line of text.split("\n").slice(0, -1)) {
    if (line === "") {
      problems.push("empty line");
      continue;
    }
    const meta = new RegExp(`^# (HELP|TYPE) (${NAME})(?: (.*))?$`).exec(line);
    if (meta) {
      const [, kind, name] = meta as unknown as [string, "HELP" | "TYPE", string, string | undefined];
      const rest = meta[3] ?? "";
      const family = families.get(name) ?? { help: 0, type: undefined, types: 0, sampled: false };
      if (family.sampled) problems.push(`${name}: ${kind} after its samples`);
      if (current !== undefined && current !== name && families.has(name)) problems.push(`${name}: family split in two groups`);
      current = name;
      if (kind === "HELP") {
        family.help++;
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ""))) problems.push(`${name}: bad escape in HELP`);
      } else {
        family.types++;
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest)) problems.push(`${name}: unknown type '${rest}'`);
        family.type = rest;
      }
      families.set(name, family);
      continue;
    }
    if (line.startsWith("#")) continue;
    const sample = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`).exec(line);
    if (!sample) {
      problems.push(`unparsable line: ${line}`);
      continue;
    }
    const name = sample[1]!;
    const labelText = sample[2] ?? "";
    const valueText = sample[3]!;
    const suffix = /_(bucket|sum|count)$/.exec(name)?.[1];
    const base = suffix ? name.slice(0, -suffix.length - 1) : name;
    const familyName = families.get(base)?.type === "histogram" || families.get(base)?.type === "summary" ? base : name;
    const family = families.get(familyName);
    if (!family) {
      problems.push(`${name}: sample without HELP and TYPE`);
      continue;
    }
    if (familyName !== current) problems.push(`${name}: sample outside its family's group`);
    if (family.help !== 1) problems.push(`${familyName}: ${family.help} HELP lines before its samples`);
    if (family.types !== 1) problems.push(`${familyName}: ${family.types} TYPE lines before its samples`);
    family.sampled = true;
    if (family.type === "histogram" && !suffix) problems.push(`${name}: a histogram sample must be _bucket, _sum or _count`);
    if (family.type === "summary" && suffix === "bucket") problems.push(`${name}: a summary has no buckets`);
    const labels = new Map<string, string>();
    let rest = labelText;
    while (rest.length > 0) {
      const label = LABEL.exec(rest);
      if (!label) {
        problems.push(`${name}{${labelText}}: malformed or badly escaped labels`);
        break;
      }
      if (labels.has(label[1]!)) problems.push(`${name}: label ${label[1]} twice`);
      labels.set(label[1]!, label[2]!);
      rest = rest.slice(label[0].length);
      if (rest.startsWith(",")) rest = rest.slice(1);
      else if (rest.length > 0) {
        problems.push(`${name}{${labelText}}: labels not separated by commas`);
        break;
      }
    }
    if (!/^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|NaN|[+-]Inf)$/.test(valueText)) problems.push(`${name}: value '${valueText}' is not a number`);
    const value = valueText === "+Inf" ? Infinity : valueText === "-Inf" ? -Infinity : Number(valueText);
    if (family.type === "counter" && !(value >= 0)) problems.push(`${name}: counter value ${valueText} is negative or NaN`);
    const key = `${name}{${[...labels].sort().map(([k, v]) => `${k}=${v}`).join(",")}}`;
    if (series.has(key)) problems.push(`${key}: duplicate series`);
    series.add(key);
    if (family.type === "histogram") {
      const le = labels.get("le");
      labels.delete("le");
      const id = `${base}{${[...labels].sort().map(([k, v]) => `${k}=${v}`).join(",")}}`;
      const histogram = histograms.get(id) ?? { bounds: [], counts: [] };
      histograms.set(id, histogram);
      if (suffix === "bucket") {
        if (le === undefined) problems.push(`${name}: bucket without le`);
        else {
          histogram.bounds.push(le === "+Inf" ? Infinity : Number(le));
          histogram.counts.push(value);
        }
      } else if (suffix === "count") histogram.count = value;
      else histogram.sum = value;
    }
  }
  for (const [id, histogram] of histograms) {
    const { bounds, counts } = histogram;
    if (bounds.at(-1) !== Infinity) problems.push(`${id}: buckets do not end with le="+Inf"`);
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) problems.push(`${id}: bucket bounds not increasing`);
      if (counts[i]! < counts[i - 1]!) problems.push(`${id}: buckets not cumulative`);
    }
    if (histogram.count === undefined) problems.push(`${id}: no _count`);
    else if (counts.at(-1) !== histogram.count) problems.push(`${id}: le="+Inf" bucket ${counts.at(-1)} differs from _count ${histogram.count}`);
    if (histogram.sum === undefined) problems.push(`${id}: no _sum`);
  }
  for (const [name, family] of families) if (family.help !== 1 || family.types !== 1) problems.push(`${name}: needs exactly one HELP and one TYPE (has ${family.help} and ${family.types})`);
  return problems;
}

/** The value of one sample line `name{labels} value` (labels as printed), or undefined. */
export function sampleValue(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) if (line.startsWith(series + " ")) return Number(line.slice(series.length + 1));
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// A real `bng run` in a network namespace with a dummy eth0.

/** A namespace `bngc<random>-box` (test/fixtures/namespaces.ts) holding one otherwise unconnected interface eth0, up. */
export class DummyNamespace {
  readonly family = new NamespaceFamily("bngc");
  readonly name: string;

  constructor() {
    try {
      this.name = this.family.add("box");
      // A dummy device where the kernel has the module; else a veth pair whose peer stays in
      // the namespace too (nothing is attached to it).
      const dummy = runCommandSync(["ip", "-n", this.name, "link", "add", "eth0", "type", "dummy"], { allowFailure: true });
      if (dummy.exitCode !== 0) {
        run(["ip", "-n", this.name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0peer"]);
        run(["ip", "-n", this.name, "link", "set", "eth0peer", "up"]);
      }
      run(["ip", "-n", this.name, "link", "set", "eth0", "up"]);
    } catch (error) {
      this.remove();
      throw error;
    }
  }

  addresses(): string[] {
    return [...run(["ip", "-n", this.name, "-4", "-o", "addr", "show", "dev", "eth0"]).matchAll(/inet (\S+)/g)].map((match) => match[1]!);
  }

  /** Runs `argv` inside the namespace; returns its stdout. */
  exec(argv: string[]): string {
    return run(["ip", "netns", "exec", this.name, ...argv]);
  }

  /** Kills every process inside and deletes the namespace. */
  remove(): void {
    this.family.destroyNow();
  }
}

/** `bng run CONFIG --socket PATH` inside a namespace; its stderr (the log) collected by line. */
export class BngProcess extends RunningProcess {
  /** `env` replaces bng's environment (default: this process's). */
  constructor(namespace: DummyNamespace, args: string[], env?: Record<string, string>) {
    super([...bngCommand(), ...args], { wrapper: ["ip", "netns", "exec", namespace.name], cwd: REPO, lines: "stderr", ...(env ? { env, replaceEnv: true } : {}) });
  }
}

/** A throwaway system user, for the socket's permission test; removed by remove(). */
export class TestUser {
  readonly name = `bngtest${Math.floor(Math.random() * 32768)}`;
  readonly uid: number;
  readonly gid: number;
  /** Where this user's copy of bng's command line lives (made by cli()). */
  #directory: string | undefined;

  constructor() {
    run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", this.name]);
    this.uid = Number(run(["id", "-u", this.name]).trim());
    this.gid = Number(run(["id", "-g", this.name]).trim());
  }

  /** argv run to completion as this user, without root's groups. */
  run(argv: string[]): Promise<CommandResult> {
    return runCommand(["setpriv", `--reuid=${this.uid}`, `--regid=${this.gid}`, "--clear-groups", ...argv], { cwd: "/", allowFailure: true });
  }

  /**
   * bng's command line as this user can run it wherever the repository is (a clone under /root
   * is root's alone): the CLI bundled into one file beside a link to bun, in a directory of its own.
   */
  cli(): string[] {
    if (this.#directory === undefined) {
      this.#directory = mkdtempSync(join(tmpdir(), "bng-user-cli-"));
      chmodSync(this.#directory, 0o755);
      run([BUN, "build", join(REPO, "src/cli/main.ts"), "--target=bun", `--outfile=${join(this.#directory, "bng.js")}`]);
      const bun = realpathSync(BUN);
      try {
        linkSync(bun, join(this.#directory, "bun"));
      } catch {
        copyFileSync(bun, join(this.#directory, "bun"));
      }
    }
    return [join(this.#directory, "bun"), join(this.#directory, "bng.js")];
  }

  remove(): void {
    runCommandSync(["userdel", this.name], { allowFailure: true });
    if (this.#directory !== undefined) rmSync(this.#directory, { recursive: true, force: true });
  }
}
