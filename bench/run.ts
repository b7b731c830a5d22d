// `npm run bench`: installs the tools (scripts/install-bench-deps.sh), runs every benchmark,
// writes bench/results/<ISO date>.json, rewrites the results section of bench/README.md and
// prints a summary. Every figure is measured in this run. Needs root (namespaces, AF_PACKET).
//
//   bun bench/run.ts [--only sessions,startup,packet-rate,http,dataplane,health] [--quick]
//
// --quick: fewer runs and shorter measurements, for trying the suite out (not for the record).
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { httpBenchmark, httpRows, type HttpResult } from "./http.ts";
import { BUN, REPO, busyProcesses, formatBytes, formatCount, machineBusyCores, machineInfo, markdownTable, ratioText, round, run, runSync, textTable, type MachineInfo, type Table } from "./lib.ts";
import { packetRate, packetRateRows, runsEach, type PacketRateResult } from "./packet-rate.ts";
import { sessionsBenchmark, sessionsRows, type SessionsResult } from "./sessions.ts";
import { executableLine, startupBenchmark, startupRows, type StartupResult } from "./startup.ts";

const ALL = ["sessions", "startup", "packet-rate", "http", "dataplane", "health"] as const;
type Benchmark = (typeof ALL)[number];

const { values } = parseArgs({
  options: { only: { type: "string" }, quick: { type: "boolean", default: false } },
});
const selected = new Set<Benchmark>(values.only ? (values.only.split(",").map((name) => name.trim()) as Benchmark[]) : ALL);
for (const name of selected) if (!ALL.includes(name)) throw new Error(`unknown benchmark ${name}; one of ${ALL.join(", ")}`);
const quick = values.quick ?? false;

if (process.getuid?.() !== 0) {
  console.error("npm run bench needs root: it builds network namespaces and opens AF_PACKET sockets");
  process.exit(1);
}

interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
  /** How far off, when not met. */
  shortfall?: string;
}

interface Results {
  date: string;
  commit: string;
  quick: boolean;
  machine: MachineInfo;
  /** Cores busy with other work on the machine just before each benchmark (other tests, builds). */
  otherLoad: Record<string, { busyCores: number; busyProcesses: string[] }>;
  durationsS: Record<string, number>;
  errors: Record<string, string>;
  sessions?: SessionsResult;
  startup?: StartupResult;
  packetRate?: PacketRateResult;
  /** The packet-rate comparison again with 256 clients: the session table's cache misses out of the picture. */
  packetRateFewClients?: PacketRateResult;
  http?: HttpResult;
  /** Output of bench/dataplane.ts (the processor with in-memory I/O). */
  dataplane?: string;
  /** Output of bench/health-schedule.ts. */
  healthSchedule?: unknown;
  targets: TargetCheck[];
}

const log = (line: string) => console.error(line);
const started = new Date();
const commit = (() => {
  const head = runSync(["git", "-C", REPO, "rev-parse", "--short=12", "HEAD"]).stdout.trim() || "unknown";
  const dirty = runSync(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"]).stdout.trim();
  return head + (dirty ? "-dirty" : "");
})();

log("installing benchmark tools if missing (scripts/install-bench-deps.sh)");
await run(["bash", join(REPO, "scripts/install-bench-deps.sh")], { timeoutMs: 600_000 });

const results: Results = {
  date: started.toISOString(),
  commit,
  quick,
  machine: machineInfo(),
  otherLoad: {},
  durationsS: {},
  errors: {},
  targets: [],
};
log(`machine: ${results.machine.cores} cores, ${results.machine.cpuModel}, kernel ${results.machine.kernel}, bun ${results.machine.bun}, commit ${commit}`);

async function step(name: Benchmark, body: () => Promise<void>): Promise<void> {
  if (!selected.has(name)) return;
  const busyCores = await machineBusyCores(1000);
  results.otherLoad[name] = { busyCores: round(busyCores, 2), busyProcesses: busyProcesses() };
  log(`\n== ${name} (other load before: ${round(busyCores, 2)} cores busy)`);
  const t0 = performance.now();
  try {
    await body();
  } catch (error) {
    results.errors[name] = error instanceof Error ? error.message : String(error);
    log(`!! ${name} failed: ${results.errors[name]}`);
  }
  results.durationsS[name] = round((performance.now() - t0) / 1000, 1);
}

await step("sessions", async () => {
  results.sessions = await sessionsBenchmark();
});
await step("startup", async () => {
  results.startup = await startupBenchmark({ runs: quick ? 3 : 5, log });
});
await step("packet-rate", async () => {
  results.packetRate = await packetRate(quick ? { runs: 2, measureMs: 2000, log } : { log });
  log("packet rate with 256 clients (diagnostic: the session table in cache)");
  results.packetRateFewClients = await packetRate({ runs: 2, measureMs: quick ? 2000 : 3000, clientBits: 8, profile: false, log });
});
await step("http", async () => {
  results.http = await httpBenchmark(quick ? { rounds: 1, seconds: 3, log } : { log });
});
await step("dataplane", async () => {
  const { stdout } = await run([BUN, join(REPO, "bench/dataplane.ts")], { timeoutMs: 120_000 });
  results.dataplane = stdout.trim();
});
await step("health", async () => {
  const { stdout } = await run([BUN, join(REPO, "bench/health-schedule.ts"), "--seconds", quick ? "5" : "10"], { timeoutMs: 120_000 });
  results.healthSchedule = JSON.parse(stdout.trim().split("\n").pop() ?? "null");
});

// ---------------------------------------------------------------------------------------------
// Targets

function check(target: string, measured: string, met: boolean, shortfall: string): void {
  results.targets.push(met ? { target, measured, met } : { target, measured, met, shortfall });
}

// Two decimals: a ratio a hair under its target must not read as "0 % short".
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
if (results.packetRate) {
  const { ratio, ringRatio, bng, bngRing, native } = results.packetRate;
  check(
    "packet rate: bng with set io ring ≥ 1.3 × native baseline",
    `${ratioText(ringRatio)} × (${formatCount(bngRing.forwardedPerSecond)} vs ${formatCount(native.forwardedPerSecond)} frames/s)`,
    ringRatio >= 1.3,
    `${pct(1.3 - ringRatio)} of the baseline short (needs ${formatCount(1.3 * native.forwardedPerSecond)} frames/s)`,
  );
  check(
    "packet rate: bng ≥ 0.95 × native baseline",
    `${ratioText(ratio)} × (${formatCount(bng.forwardedPerSecond)} vs ${formatCount(native.forwardedPerSecond)} frames/s)`,
    ratio >= 0.95,
    `${pct(0.95 - ratio)} of the baseline short (needs ${formatCount(0.95 * native.forwardedPerSecond)} frames/s)`,
  );
}
if (results.http) {
  const at50 = results.http.ratios.find((r) => r.connections === 50)!;
  const at1 = results.http.ratios.find((r) => r.connections === 1)!;
  check(
    "HTTP, 1 connection: ring p50 latency within 10 % of mmsg",
    `${ratioText(at1.ringP50OverMmsgP50)} × mmsg's p50`,
    at1.ringP50OverMmsgP50 <= 1.1,
    `${pct(at1.ringP50OverMmsgP50 - 1.1)} slower than allowed`,
  );
  check("HTTP, 50 connections: bng ≥ 0.75 × direct", `${ratioText(at50.bngOverDirect)} ×`, at50.bngOverDirect >= 0.75, `${pct(0.75 - at50.bngOverDirect)} of direct short`);
  check("HTTP, 50 connections: bng > HAProxy (TCP mode)", `${ratioText(at50.bngOverHaproxy)} ×`, at50.bngOverHaproxy > 1, `${pct(1 - at50.bngOverHaproxy)} below HAProxy`);
}
if (results.sessions) {
  const limit = 64 * 2 ** 20;
  const { rssDeltaBytes } = results.sessions;
  check("1,000,000 sessions ≤ 64 MiB RSS", formatBytes(rssDeltaBytes), rssDeltaBytes <= limit, `${formatBytes(rssDeltaBytes - limit)} over`);
}
if (results.startup) {
  for (const variant of results.startup.variants) {
    check(`ready within 150 ms (${variant.variant})`, `${round(variant.medianMs)} ms`, variant.medianMs <= 150, `${round(variant.medianMs - 150)} ms late`);
  }
}

// ---------------------------------------------------------------------------------------------
// Output: JSON, README section, summary

function targetRows(notMet: string): Table {
  return { header: ["target", "measured", "met", "short by"], rows: results.targets.map((t) => [t.target, t.measured, t.met ? "yes" : notMet, t.shortfall ?? ""]) };
}

const resultsDir = join(REPO, "bench/results");
mkdirSync(resultsDir, { recursive: true });
const fileName = `${started.toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-")}${quick ? "-quick" : ""}.json`;
const resultsPath = join(resultsDir, fileName);
writeFileSync(resultsPath, JSON.stringify(results, null, 2) + "\n");

function markdown(): string {
  const m = results.machine;
  const lines: string[] = [];
  lines.push(`Run of ${results.date} (commit \`${results.commit}\`)${quick ? ", **quick mode** (fewer runs)" : ""}: \`bench/results/${fileName}\`.`);
  lines.push("");
  lines.push(`Machine: ${m.cores} cores, ${m.cpuModel}, ${formatBytes(m.memoryBytes)} RAM, Linux ${m.kernel}, Bun ${m.bun}. ` + `Other load just before each benchmark (cores busy): ${Object.entries(results.otherLoad).map(([name, load]) => `${name} ${load.busyCores}`).join(", ")}.`);
  lines.push("");
  if (results.targets.length > 0) {
    lines.push("**Targets**");
    lines.push("");
    lines.push(markdownTable(targetRows("**no**")));
    lines.push("");
  }
  const pr = results.packetRate;
  if (pr) {
    lines.push(`**Packet rate** (${pr.frame}; median of ${runsEach(pr)} interleaved runs each, ${pr.measureMs / 1000} s windows; generator on CPU ${pr.generatorCpu}, balancer on CPU ${pr.balancerCpu}; CPU time of the balancer process per forwarded frame)`);
    lines.push("");
    lines.push(markdownTable(packetRateRows(pr)));
    lines.push("");
    lines.push(`bng / native: **${ratioText(pr.ratio)}**; bng with the ring / native: **${ratioText(pr.ringRatio)}**.`);
    lines.push(
      `The native loop run inside Bun as bng runs its data plane (a worker thread through bun:ffi, a 100 ms timer on the main thread) reaches **${ratioText(pr.inBunRatio)}** × the standalone native forwarder: ` +
        `that is the runtime's share of bng's distance to the baseline; the rest is bng's own work per frame.`,
    );
    const few = results.packetRateFewClients;
    if (few) {
      lines.push(
        `The same with ${few.clients} clients (the session table stays in cache; median of ${runsEach(few)} runs each): ` +
          `bng ${formatCount(few.bng.forwardedPerSecond)} frames/s, ${round(few.bng.userNsPerFrame)} ns user + ${round(few.bng.systemNsPerFrame)} ns system per frame; ` +
          `native ${formatCount(few.native.forwardedPerSecond)} frames/s, ${round(few.native.userNsPerFrame)} + ${round(few.native.systemNsPerFrame)} ns; bng / native **${ratioText(few.ratio)}**.`,
      );
    }
    if (pr.profile && "bySymbol" in pr.profile) {
      const top = pr.profile.bySymbol.slice(0, 8).map((e) => `${e.name.replace(/^\[[k.]\] /, "")} ${e.percent} %`).join(", ");
      const user = pr.profile.userSymbols.slice(0, 8).map((e) => `${e.name.replace(/^\[\.\] /, "")} ${e.percent} %`).join(", ");
      const dsos = pr.profile.byDso.map((e) => `${e.name} ${e.percent} %`).join(", ");
      lines.push("");
      lines.push(`perf profile of bng under this load (${pr.profile.samples} samples): by object ${dsos}; top symbols ${top}. User space ${pr.profile.userPercent} % of samples: ${user}.`);
      const c = pr.profile.comparison;
      const symbol = (name: string) => name.replace(/^\[[k.]\] /, "").replace(/^JSC-FTL: /, "").replace(/#\w+$/, "");
      const more = c.moreInBng.slice(0, 10).map((d) => `${symbol(d.name)} +${d.differenceNs}`).join(", ");
      const less = c.lessInBng.slice(0, 3).map((d) => `${symbol(d.name)} ${d.differenceNs}`).join(", ");
      lines.push("");
      lines.push(
        `The same profile of the native forwarder, per forwarded frame (CPU time of the process over the recording, shared out by samples): bng ${c.bngNsPerFrame} ns (kernel ${c.bngKernelNsPerFrame}), native ${c.nativeNsPerFrame} ns (kernel ${c.nativeKernelNsPerFrame}). ` +
          `Where bng spends more, ns per frame: ${more}; less: ${less}.`,
      );
    }
    lines.push("");
  }
  const http = results.http;
  if (http) {
    lines.push(`**HTTP** (wrk ${http.seconds} s per measurement, median of ${http.rounds} interleaved rounds; balancer cores = CPU of bng or HAProxy during the measurement, machine cores = CPU busy on the whole machine)`);
    lines.push("");
    lines.push(
      markdownTable(httpRows(http)),
    );
    const at50 = http.ratios.find((r) => r.connections === 50);
    if (at50) lines.push("", `At 50 connections: bng / direct **${ratioText(at50.bngOverDirect)}**, bng / HAProxy **${ratioText(at50.bngOverHaproxy)}**, HAProxy / direct ${ratioText(at50.haproxyOverDirect)}.`);
    lines.push("");
  }
  const sessions = results.sessions;
  if (sessions) {
    lines.push("**Sessions** (`SessionTable`, capacity 1,000,000, filled through its API)");
    lines.push("");
    lines.push(
      markdownTable(sessionsRows(sessions)),
    );
    lines.push("");
  }
  const startup = results.startup;
  if (startup) {
    lines.push("**Start-up** (spawn of `bng run` to its `ready` log line; median of the starts after the first)");
    lines.push("");
    lines.push(markdownTable(startupRows(startup)));
    lines.push("");
    lines.push(executableLine(startup));
    lines.push("");
  }
  if (results.dataplane) {
    lines.push("**Data plane in memory** (`bench/dataplane.ts`)");
    lines.push("");
    lines.push("```");
    lines.push(results.dataplane);
    lines.push("```");
    lines.push("");
  }
  if (results.healthSchedule) {
    lines.push(`**Health schedule** (\`bench/health-schedule.ts\`): \`${JSON.stringify(results.healthSchedule)}\``);
    lines.push("");
  }
  if (Object.keys(results.errors).length > 0) {
    lines.push("**Failed**: " + Object.entries(results.errors).map(([name, error]) => `${name}: ${error.split("\n")[0]}`).join("; "));
    lines.push("");
  }
  return lines.join("\n");
}

const readmePath = join(REPO, "bench/README.md");
const BEGIN = "<!-- results:begin (rewritten by bench/run.ts) -->";
const END = "<!-- results:end -->";
if (existsSync(readmePath)) {
  const readme = readFileSync(readmePath, "utf8");
  const from = readme.indexOf(BEGIN);
  const to = readme.indexOf(END);
  const section = `${BEGIN}\n${markdown()}\n${END}`;
  const updated = from >= 0 && to > from ? readme.slice(0, from) + section + readme.slice(to + END.length) : `${readme.trimEnd()}\n\n## Results\n\n${section}\n`;
  writeFileSync(readmePath, updated);
} else {
  writeFileSync(readmePath, `# Benchmarks\n\n## Results\n\n${BEGIN}\n${markdown()}\n${END}\n`);
}

console.log("");
console.log(`bng benchmarks, ${results.date}, commit ${commit}; ${results.machine.cores} cores ${results.machine.cpuModel}, Linux ${results.machine.kernel}, Bun ${results.machine.bun}`);
if (results.packetRate) console.log(`\nPacket rate (median of ${runsEach(results.packetRate)} runs each; bng / native ${ratioText(results.packetRate.ratio)}, ring / native ${ratioText(results.packetRate.ringRatio)})\n${textTable(packetRateRows(results.packetRate))}`);
if (results.packetRateFewClients) console.log(`\nPacket rate with ${results.packetRateFewClients.clients} clients (diagnostic; bng / native ${ratioText(results.packetRateFewClients.ratio)})\n${textTable(packetRateRows(results.packetRateFewClients))}`);
if (results.http) console.log(`\nHTTP\n${textTable(httpRows(results.http))}`);
if (results.sessions) console.log(`\nSessions\n${textTable(sessionsRows(results.sessions))}`);
if (results.startup) console.log(`\nStart-up\n${textTable(startupRows(results.startup))}\n${executableLine(results.startup)}`);
if (results.targets.length > 0) console.log(`\nTargets\n${textTable(targetRows("NO"))}`);
const load = Object.entries(results.otherLoad).map(([name, l]) => `${name} ${l.busyCores}`).join(", ");
console.log(`\nOther load before each benchmark (cores busy): ${load}. Durations (s): ${Object.entries(results.durationsS).map(([n, s]) => `${n} ${s}`).join(", ")}.`);
console.log(`Results: ${resultsPath}; bench/README.md updated.`);
if (Object.keys(results.errors).length > 0) {
  console.log(`Failed: ${Object.keys(results.errors).join(", ")}`);
  process.exit(1);
}
