// `npm run bench`: installs the tools (scripts/install-bench-deps.sh), runs every benchmark,
// writes bench/results/<ISO date>.json, prints a summary and rewrites the "Latest results" block
// of bench/README.md from that file (bench/results-table.ts). Every figure is measured in this
// run. Needs root (namespaces, AF_PACKET).
//
//   bun bench/run.ts [--only sessions,startup,packet-rate,engine-heap,http,dataplane,health,ha] [--quick]
//
// --quick: fewer runs and shorter measurements, for trying the suite out (not for the record).
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { engineHeap, engineHeapRows } from "./engine-heap.ts";
import { haBenchmark } from "./ha.ts";
import { httpBenchmark, httpRows } from "./http.ts";
import { BUN, REPO, busyProcesses, machineBusyCores, machineInfo, ratioText, round, run, runSync, textTable } from "./lib.ts";
import { packetRate, packetRateRows, runsEach } from "./packet-rate.ts";
import { RESULTS_DIR, checkTargets, targetTable, writeResultsBlock, type Results } from "./results-table.ts";
import { sessionsBenchmark, sessionsRows } from "./sessions.ts";
import { executableLine, startupBenchmark, startupRows } from "./startup.ts";

const ALL = ["sessions", "startup", "packet-rate", "engine-heap", "http", "dataplane", "health", "ha"] as const;
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
  results.packetRateFewClients = await packetRate({ runs: 2, floodRuns: 0, pacedRuns: 0, measureMs: quick ? 2000 : 3000, clientBits: 8, profile: false, log });
});
await step("engine-heap", async () => {
  results.engineHeap = await engineHeap(quick ? { batches: 5_000, warmupBatches: 5_000, log } : { log });
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

await step("ha", async () => {
  results.ha = await haBenchmark({ rounds: quick ? 2 : 5, sessions: quick ? 20_000 : 100_000, log });
});

results.targets = checkTargets(results);

// ---------------------------------------------------------------------------------------------
// Output: JSON, summary, README block

mkdirSync(RESULTS_DIR, { recursive: true });
const fileName = `${started.toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-")}${quick ? "-quick" : ""}.json`;
const resultsPath = join(RESULTS_DIR, fileName);
writeFileSync(resultsPath, JSON.stringify(results, null, 2) + "\n");

console.log("");
console.log(`bng benchmarks, ${results.date}, commit ${commit}; ${results.machine.cores} cores ${results.machine.cpuModel}, Linux ${results.machine.kernel}, Bun ${results.machine.bun}`);
if (results.packetRate) console.log(`\nPacket rate (median of ${runsEach(results.packetRate)} runs each; bng / native ${ratioText(results.packetRate.ratio)}, ring / native ${ratioText(results.packetRate.ringRatio)}, xdp / native AF_XDP ${ratioText(results.packetRate.xdpRatio ?? NaN)})\n${textTable(packetRateRows(results.packetRate))}`);
if (results.packetRateFewClients) console.log(`\nPacket rate with ${results.packetRateFewClients.clients} clients (diagnostic; bng / native ${ratioText(results.packetRateFewClients.ratio)})\n${textTable(packetRateRows(results.packetRateFewClients))}`);
if (results.engineHeap) console.log(`\nHeap per batch of each packet engine\n${textTable(engineHeapRows(results.engineHeap))}`);
if (results.http) console.log(`\nHTTP\n${textTable(httpRows(results.http))}`);
if (results.sessions) console.log(`\nSessions\n${textTable(sessionsRows(results.sessions))}`);
if (results.startup) console.log(`\nStart-up\n${textTable(startupRows(results.startup))}\n${executableLine(results.startup)}`);
console.log(`\nTargets\n${textTable(targetTable(results, "NO"))}`);
const load = Object.entries(results.otherLoad).map(([name, l]) => `${name} ${l.busyCores}`).join(", ");
console.log(`\nOther load before each benchmark (cores busy): ${load}. Durations (s): ${Object.entries(results.durationsS).map(([n, s]) => `${n} ${s}`).join(", ")}.`);
console.log(`Results: ${resultsPath}`);
try {
  writeResultsBlock(resultsPath);
  console.log("bench/README.md: latest results rewritten");
} catch (error) {
  console.log(`bench/README.md not rewritten: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
if (Object.keys(results.errors).length > 0) {
  console.log(`Failed: ${Object.keys(results.errors).join(", ")}`);
  process.exit(1);
}
