// Start-up benchmark: the time from spawning `bng run` to its `ready` log line on stderr (the
// control socket is listening, the data-plane worker has its socket, health checks are running),
// for the source tree run by bun and for the single executable dist/bng (built first with
// build.ts unless told not to), and the executable's size. bng runs in a namespace of its own
// (`bngbXXXX-lb`, a veth to `bngbXXXX-peer`), removed at the end.
// Run alone: node_modules/.bin/bun bench/startup.ts [--runs N] [--no-build]
import { join } from "node:path";
import { SEED_CONFIG_PATH } from "../test/e2e/bng.ts";
import { parseArgs } from "node:util";
import { NamespaceFamily } from "../test/fixtures/namespaces.ts";
import { BUN, REPO, NAMESPACE_PREFIX, fileSize, formatBytes, makeScratch, median, memory, nsArgv, numberOption, removeScratch, round, run, spawn, textTable, type Table } from "./lib.ts";

const DIST = join(REPO, "dist/bng");

export interface StartupOptions {
  /** Measured starts per variant, after one unmeasured (default 5). */
  runs?: number;
  /** Build dist/bng with build.ts first (default true). */
  build?: boolean;
  log?: (line: string) => void;
}

export interface StartupVariant {
  variant: "source" | "executable";
  command: string;
  /** The first start (cold: files and JIT caches), not in the median. */
  firstMs: number;
  readyMs: number[];
  medianMs: number;
  /** RSS of the idle process right after ready. */
  rssBytes: number;
}

export interface StartupResult {
  variants: StartupVariant[];
  executableBytes?: number;
  buildMs?: number;
  buildError?: string;
}

export async function startupBenchmark(options: StartupOptions = {}): Promise<StartupResult> {
  const runs = options.runs ?? 5;
  const log = options.log ?? ((line: string) => console.error(line));
  const result: StartupResult = { variants: [] };
  if (options.build ?? true) {
    const started = performance.now();
    const build = await run([BUN, join(REPO, "build.ts")], { allowFailure: true, timeoutMs: 300_000 });
    result.buildMs = performance.now() - started;
    if (build.exitCode !== 0) result.buildError = (build.stderr || build.stdout).trim().slice(-1000);
  }
  result.executableBytes = fileSize(DIST);

  const namespaces = new NamespaceFamily(NAMESPACE_PREFIX);
  const scratch = makeScratch("startup");
  try {
    const lb = namespaces.add("lb");
    const peer = namespaces.add("peer");
    namespaces.veth({ ns: lb, ifname: "eth0" }, { ns: peer, ifname: "eth0" });
    const variants: [StartupVariant["variant"], string[]][] = [["source", [BUN, join(REPO, "src/cli/main.ts")]]];
    if (result.executableBytes !== undefined) variants.push(["executable", [DIST]]);
    for (const [variant, command] of variants) {
      const times: number[] = [];
      let rssBytes = NaN;
      for (let i = 0; i <= runs; i++) {
        const socket = join(scratch, `bng-${variant}-${i}.sock`);
        const child = spawn(nsArgv(lb, [...command, "run", SEED_CONFIG_PATH, "--socket", socket]));
        const readyAt = await child.timeOfOutput(/ ready /, 20_000);
        times.push(readyAt - child.startedAt);
        if (i === runs) rssBytes = memory(child.pid).rss;
        const code = await child.stop(5000, "SIGTERM");
        if (code !== 0) throw new Error(`bng (${variant}) exited with ${code}: ${child.stderr.slice(-1000)}`);
      }
      const [firstMs, ...measured] = times;
      const entry: StartupVariant = { variant, command: command.map((part) => part.replace(REPO + "/", "")).join(" "), firstMs: firstMs!, readyMs: measured, medianMs: median(measured), rssBytes };
      result.variants.push(entry);
      log(`startup: ${variant} ready in ${measured.map((ms) => round(ms)).join(", ")} ms (first ${round(firstMs!)} ms), idle RSS ${formatBytes(rssBytes)}`);
    }
  } finally {
    namespaces.destroyNow();
    removeScratch(scratch);
  }
  return result;
}

export function startupRows(result: StartupResult): Table {
  return {
    header: ["bng", "ready (median)", "first start", "idle RSS"],
    rows: result.variants.map((v) => [`\`${v.command}\``, `${round(v.medianMs)} ms`, `${round(v.firstMs)} ms`, formatBytes(v.rssBytes)]),
  };
}

export function executableLine(result: StartupResult): string {
  const size = result.executableBytes === undefined ? "not built" + (result.buildError ? ` (${result.buildError.split("\n")[0]})` : "") : formatBytes(result.executableBytes);
  return `Executable \`dist/bng\`: ${size}.`;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { runs: { type: "string" }, "no-build": { type: "boolean", default: false } } });
  const result = await startupBenchmark({ runs: numberOption("runs", values.runs), build: !values["no-build"] });
  console.log(textTable(startupRows(result)));
  console.log(executableLine(result));
}
