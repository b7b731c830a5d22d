// The results of one `npm run bench` run: the shape of bench/results/<date>.json, the speed
// targets checked against it, and the "Latest results" block of bench/README.md made from it.
// bench/run.ts writes the block after each run; run alone, this rewrites it from a results file
// without running anything:
//
//   node_modules/.bin/bun bench/results-table.ts [bench/results/FILE.json]   (default: the newest)
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { engineHeapRows, type EngineHeapRow } from "./engine-heap.ts";
import { httpRows, type HttpResult } from "./http.ts";
import type { HaResult } from "./ha.ts";
import { REPO, formatBytes, formatCount, markdownTable, ratioText, round, type MachineInfo, type Table } from "./lib.ts";
import { BNG_FORWARDERS, floodRows, pacedRows, packetRateRows, runsEach, type PacketRateResult } from "./packet-rate.ts";
import type { SessionsResult } from "./sessions.ts";
import type { StartupResult } from "./startup.ts";

/** A speed target checked against one run; `measured` and `met` are absent when the run did not measure it. */
export interface TargetCheck {
  figure: string;
  target: string;
  measured?: string;
  met?: boolean;
  /** How far off, when not met. */
  shortfall?: string;
}

export interface Results {
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
  /** Heap kept and allocated per batch of each packet engine on Bun and Deno (bench/engine-heap.ts). */
  engineHeap?: EngineHeapRow[];
  http?: HttpResult;
  /** Output of bench/dataplane.ts (the processor with in-memory I/O). */
  dataplane?: string;
  /** Output of bench/health-schedule.ts. */
  healthSchedule?: unknown;
  /** The VRRP pair: failover times and session sync (bench/ha.ts). */
  ha?: HaResult;
  targets: TargetCheck[];
}

export const RESULTS_BEGIN = "<!-- results:begin (rewritten by bench/run.ts) -->";
export const RESULTS_END = "<!-- results:end -->";
export const README_PATH = join(REPO, "bench/README.md");
export const RESULTS_DIR = join(REPO, "bench/results");

const SESSION_RSS_LIMIT = 64 * 2 ** 20;
const READY_LIMIT_MS = 150;
/** Below the smallest object a runtime allocates (16 bytes): one per batch would show. */
const HEAP_PER_BATCH_LIMIT = 8;

// Two decimals: a ratio a hair under its target must not read as "0 % short".
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

function httpAt(results: Results, connections: number) {
  const http = results.http;
  const ratios = http?.ratios.find((r) => r.connections === connections);
  if (!http || !ratios) return undefined;
  const summary = (mode: string) => http.summary.find((s) => s.mode === mode && s.connections === connections);
  return { ratios, summary };
}

interface Measurement {
  value: number;
  measured: string;
}

interface Target {
  figure: string;
  target: string;
  measure(results: Results): Measurement | undefined;
  met(value: number): boolean;
  shortfall(value: number): string;
}

function startupTarget(variant: "source" | "executable", figure: string): Target {
  return {
    figure,
    target: `≤ ${READY_LIMIT_MS} ms`,
    measure: (r) => {
      const v = r.startup?.variants.find((s) => s.variant === variant);
      return v && { value: v.medianMs, measured: `${round(v.medianMs)} ms` };
    },
    met: (ms) => ms <= READY_LIMIT_MS,
    shortfall: (ms) => `${round(ms - READY_LIMIT_MS)} ms late`,
  };
}

/** The targets of issues 7 and 25; bench/README.md says why each sits where it does. */
const TARGETS: Target[] = [
  {
    figure: "packet rate: bng (mmsg) / native forwarder",
    target: "≥ 0.95",
    measure: (r) => {
      const pr = r.packetRate;
      return pr && { value: pr.ratio, measured: `${ratioText(pr.ratio)} (${formatCount(pr.bng.forwardedPerSecond)} / ${formatCount(pr.native.forwardedPerSecond)} frames/s)` };
    },
    met: (x) => x >= 0.95,
    shortfall: (x) => `${pct(0.95 - x)} of native short`,
  },
  {
    figure: "packet rate: bng (`set io ring`) / native forwarder",
    target: "≥ 1.3",
    measure: (r) => {
      const pr = r.packetRate;
      return pr && { value: pr.ringRatio, measured: `${ratioText(pr.ringRatio)} (${formatCount(pr.bngRing.forwardedPerSecond)} / ${formatCount(pr.native.forwardedPerSecond)} frames/s)` };
    },
    met: (x) => x >= 1.3,
    shortfall: (x) => `${pct(1.3 - x)} of native short`,
  },
  {
    figure: "packet rate: bng (`set io xdp`) / native AF_XDP forwarder",
    target: "≥ 0.9",
    measure: (r) => {
      const pr = r.packetRate;
      if (!pr?.bngXdp || !pr.nativeXdp || pr.xdpRatio === undefined) return undefined;
      return { value: pr.xdpRatio, measured: `${ratioText(pr.xdpRatio)} (${formatCount(pr.bngXdp.forwardedPerSecond)} / ${formatCount(pr.nativeXdp.forwardedPerSecond)} frames/s)` };
    },
    met: (x) => x >= 0.9,
    shortfall: (x) => `${pct(0.9 - x)} of native AF_XDP short`,
  },
  {
    figure: "packet rate: share of a paced rate the native recvmmsg forwarder cannot take that bng (`set io xdp`) forwards",
    target: "≥ 0.97",
    measure: (r) => {
      const paced = r.packetRate?.paced;
      const share = paced?.summaries["bng-xdp"]?.forwardedShare;
      const nativeShare = paced?.summaries.native?.forwardedShare;
      if (!paced || share === undefined || nativeShare === undefined) return undefined;
      // Where the native forwarder kept up, the rate was not above its limit: nothing was shown.
      return {
        value: nativeShare < 0.97 ? share : NaN,
        measured: `${ratioText(share)} of ${formatCount(paced.summaries["bng-xdp"]!.offeredPerSecond)} frames/s offered (native recvmmsg forwarder ${ratioText(nativeShare)})`,
      };
    },
    met: (x) => x >= 0.97,
    shortfall: (x) => (Number.isNaN(x) ? "the native forwarder kept up: the rate was not above its limit" : `${pct(0.97 - x)} of the offered frames short`),
  },
  {
    figure: "flood to a non-VIP address: bng's cores, the most of its engines",
    target: "≤ 0.05",
    measure: (r) => {
      const costs = r.packetRate?.flood?.costs;
      if (!costs) return undefined;
      const engines = BNG_FORWARDERS.flatMap((engine) => (costs[engine] ? [[engine, costs[engine]!] as const] : []));
      const worst = Math.max(...engines.map(([, cost]) => cost.cpuCores));
      return { value: worst, measured: engines.map(([engine, cost]) => `${engine} ${round(cost.cpuCores, 3)} at ${formatCount(cost.offeredPerSecond)} frames/s`).join(", ") };
    },
    met: (x) => x <= 0.05,
    shortfall: (x) => `${round(x - 0.05, 3)} cores over`,
  },
  {
    figure: "flood to a non-VIP address: ARP and pings of the VIP answered by bng meanwhile",
    target: "all",
    measure: (r) => {
      const costs = r.packetRate?.flood?.costs;
      const pinged = costs ? BNG_FORWARDERS.flatMap((engine) => (costs[engine]?.vipPings ? [[engine, costs[engine]!.vipPings!] as const] : [])) : [];
      if (pinged.length === 0) return undefined;
      const answered = pinged.reduce((sum, [, pings]) => sum + pings.answered, 0);
      const sent = pinged.reduce((sum, [, pings]) => sum + pings.sent, 0);
      return { value: answered / sent, measured: pinged.map(([engine, pings]) => `${engine} ${pings.answered} / ${pings.sent}`).join(", ") };
    },
    met: (x) => x >= 1,
    shortfall: (x) => `${pct(1 - x)} unanswered`,
  },
  {
    figure: "heap per batch of the packet path, kept and (Deno) allocated, the most of every engine and runtime",
    target: `≤ ${HEAP_PER_BATCH_LIMIT} bytes`,
    measure: (r) => {
      const rows = r.engineHeap;
      if (!rows || rows.length === 0) return undefined;
      const worst = Math.max(...rows.flatMap((row) => [row.heapGrowthBytesPerBatch, row.allocatedBytesPerBatch ?? 0]));
      return {
        value: worst,
        measured: rows.map((row) => `${row.engine} ${row.runtime} ${row.heapGrowthBytesPerBatch}${row.allocatedBytesPerBatch === null ? "" : ` / ${row.allocatedBytesPerBatch}`}`).join(", "),
      };
    },
    met: (x) => x <= HEAP_PER_BATCH_LIMIT,
    shortfall: (x) => `${round(x - HEAP_PER_BATCH_LIMIT, 1)} bytes a batch over`,
  },
  {
    figure: "HTTP p50 latency, 1 connection: ring / mmsg",
    target: "≤ 1.10",
    measure: (r) => {
      const at1 = httpAt(r, 1);
      if (!at1) return undefined;
      const [ring, mmsg] = [at1.summary("bng-ring"), at1.summary("bng")];
      const detail = ring && mmsg ? ` (${ring.p50Ms} / ${mmsg.p50Ms} ms)` : "";
      return { value: at1.ratios.ringP50OverMmsgP50, measured: `${ratioText(at1.ratios.ringP50OverMmsgP50)}${detail}` };
    },
    met: (x) => x <= 1.1,
    shortfall: (x) => `${pct(x - 1.1)} slower than allowed`,
  },
  {
    figure: "HTTP p50 latency, 1 connection: xdp / mmsg",
    target: "≤ 1.00",
    measure: (r) => {
      const at1 = httpAt(r, 1);
      const ratio = at1?.ratios.xdpP50OverMmsgP50;
      if (!at1 || ratio === undefined) return undefined;
      const [xdp, mmsg] = [at1.summary("bng-xdp"), at1.summary("bng")];
      const detail = xdp && mmsg ? ` (${xdp.p50Ms} / ${mmsg.p50Ms} ms)` : "";
      return { value: ratio, measured: `${ratioText(ratio)}${detail}` };
    },
    met: (x) => x <= 1,
    shortfall: (x) => `${pct(x - 1)} slower than mmsg`,
  },
  {
    figure: "HTTP, 50 connections: bng / direct",
    target: "≥ 0.75",
    measure: (r) => {
      const at50 = httpAt(r, 50);
      if (!at50) return undefined;
      const [bng, direct] = [at50.summary("bng"), at50.summary("direct")];
      const detail = bng && direct ? ` (${formatCount(bng.requestsPerSecond)} / ${formatCount(direct.requestsPerSecond)} requests/s)` : "";
      return { value: at50.ratios.bngOverDirect, measured: `${ratioText(at50.ratios.bngOverDirect)}${detail}` };
    },
    met: (x) => x >= 0.75,
    shortfall: (x) => `${pct(0.75 - x)} of direct short`,
  },
  {
    figure: "HTTP, 50 connections: bng / HAProxy (TCP mode)",
    target: "> 1",
    measure: (r) => {
      const at50 = httpAt(r, 50);
      if (!at50) return undefined;
      const [bng, haproxy] = [at50.summary("bng"), at50.summary("haproxy")];
      const detail = bng && haproxy ? ` (${formatCount(bng.requestsPerSecond)} / ${formatCount(haproxy.requestsPerSecond)} requests/s)` : "";
      return { value: at50.ratios.bngOverHaproxy, measured: `${ratioText(at50.ratios.bngOverHaproxy)}${detail}` };
    },
    met: (x) => x > 1,
    shortfall: (x) => `${pct(1 - x)} below HAProxy`,
  },
  {
    figure: "RSS of a session table holding 1,000,000 sessions",
    target: `≤ ${formatBytes(SESSION_RSS_LIMIT)}`,
    measure: (r) => r.sessions && { value: r.sessions.rssDeltaBytes, measured: formatBytes(r.sessions.rssDeltaBytes) },
    met: (bytes) => bytes <= SESSION_RSS_LIMIT,
    shortfall: (bytes) => `${formatBytes(bytes - SESSION_RSS_LIMIT)} over`,
  },
  startupTarget("source", "start to ready: source under Bun"),
  startupTarget("executable", "start to ready: `dist/bng`"),
];

/** Every target, checked against what this run measured. */
export function checkTargets(results: Results): TargetCheck[] {
  return TARGETS.map(({ figure, target, measure, met, shortfall }) => {
    const measurement = measure(results);
    if (!measurement) return { figure, target };
    const ok = met(measurement.value);
    return ok ? { figure, target, measured: measurement.measured, met: true } : { figure, target, measured: measurement.measured, met: false, shortfall: shortfall(measurement.value) };
  });
}

function metText(check: TargetCheck, notMet: string): string {
  if (check.met === undefined) return "not run";
  return check.met ? "yes" : `${notMet}, ${check.shortfall}`;
}

/** The targets as a table; `notMet` is how a miss reads ("**no**" in markdown, "NO" in text). */
export function targetTable(results: Results, notMet: string): Table {
  return {
    header: ["figure", "measured", "target", "met"],
    rows: checkTargets(results).map((check) => [check.figure, check.measured ?? "-", check.target, metText(check, notMet)]),
  };
}

interface HealthSchedule {
  mode: string;
  targets: number;
  seconds: number;
  missedIntervals: number;
  worstLagMs: number;
  cpuPercent: number;
}

function isHealthSchedule(value: unknown): value is HealthSchedule {
  const v = value as Partial<Record<keyof HealthSchedule, unknown>> | null;
  return typeof v === "object" && v !== null && typeof v.targets === "number" && typeof v.missedIntervals === "number" && typeof v.worstLagMs === "number";
}

/** Figures without a target: what explains the targeted ones, or watches something else. */
function otherFigures(results: Results): string[][] {
  const rows: string[][] = [];
  const pr = results.packetRate;
  if (pr) rows.push(["packet rate: the native loop in a Bun worker / native forwarder", ratioText(pr.inBunRatio)]);
  if (pr?.denoRatio !== undefined) rows.push(["packet rate: bng on Deno / bng on Bun (recvmmsg)", ratioText(pr.denoRatio)]);
  const few = results.packetRateFewClients;
  if (few) rows.push([`packet rate with ${few.clients} clients: bng (mmsg) / native forwarder`, ratioText(few.ratio)]);
  const at1 = httpAt(results, 1);
  if (at1) rows.push(["HTTP, 1 connection: bng / direct", ratioText(at1.ratios.bngOverDirect)]);
  const ha = results.ha;
  if (ha) {
    const sorted = [...ha.failoverMs].sort((x, y) => x - y);
    if (sorted.length > 0) rows.push([`VRRP failover, SIGKILL of the master to the backup's takeover (${sorted.length} rounds, min / median / max)`, `${sorted[0]} / ${sorted[Math.floor(sorted.length / 2)]} / ${sorted.at(-1)} ms`]);
    rows.push([`session sync: ${ha.sync.sessions} new sessions, on the backup after the master's last one`, `${ha.sync.backupMs - ha.sync.masterMs} ms (${ha.sync.perSecond} sessions/s over the burst)`]);
  }
  const s = results.sessions;
  if (s) {
    rows.push([
      "session table: creations, lookups (hits), lookups (absent), creations into the full table",
      [s.insertsPerSecond, s.lookupsPerSecond, s.missesPerSecond, s.churnPerSecond].map((rate) => `${formatCount(rate)}/s`).join(", "),
    ]);
  }
  const executable = results.startup?.executableBytes;
  if (executable !== undefined) rows.push(["size of `dist/bng`", formatBytes(executable)]);
  const health = results.healthSchedule;
  if (isHealthSchedule(health)) {
    rows.push([
      `health checks: ${health.targets} targets (\`${health.mode}\`) for ${health.seconds} s on one core`,
      `${health.missedIntervals} missed intervals, worst lag ${health.worstLagMs} ms, ${health.cpuPercent} % CPU`,
    ]);
  }
  return rows;
}

/** The markdown between the markers in bench/README.md, from one run's results (`fileName` in bench/results/). */
export function resultsBlock(results: Results, fileName: string): string {
  const m = results.machine;
  const when = `${results.date.slice(0, 10)} ${results.date.slice(11, 16)} UTC`;
  const load = Object.entries(results.otherLoad).map(([name, l]) => `${name} ${l.busyCores}`).join(", ");
  const lines: string[] = [
    `Run of ${when}, commit \`${results.commit}\`${results.quick ? ", **quick mode** (fewer and shorter runs: not for the record)" : ""}: ` +
      `[\`results/${fileName}\`](results/${fileName}). ${m.cores} cores (${m.cpuModel}), ${formatBytes(m.memoryBytes)} RAM, Linux ${m.kernel}, Bun ${m.bun}. ` +
      `Other load just before each benchmark, in busy cores: ${load || "not recorded"}.`,
    "",
    markdownTable(targetTable(results, "**no**")),
  ];
  const others = otherFigures(results);
  if (others.length > 0) lines.push("", markdownTable({ header: ["other figure (no target)", "measured"], rows: others }));
  const pr = results.packetRate;
  if (pr) {
    lines.push("", `Packet rate: median of ${runsEach(pr)} interleaved rounds of ${pr.measureMs / 1000} s each; CPU time of the balancer process per forwarded frame.`, "", markdownTable(packetRateRows(pr)));
    if (pr.paced) {
      const pacedRounds = pr.paced.runs.filter((run_) => run_.forwarder === "native").length;
      lines.push("", `The VIP's frames at a steady rate (\`baseline/paced-gen.c\`) above what the native recvmmsg forwarder takes (median of ${pacedRounds} interleaved rounds):`, "", markdownTable(pacedRows(pr.paced)));
    }
    if (pr.flood) {
      const floodRounds = pr.flood.runs.filter((run_) => run_.forwarder === "bng").length;
      lines.push("", `The same frames to ${pr.flood.destination}, an address that is no VIP (median of ${floodRounds} interleaved rounds): the CPU each forwarder's process spent while they arrived.`, "", markdownTable(floodRows(pr.flood)));
    }
    for (const [profile, bng, native] of [[pr.profile, "bng", "native"], [pr.xdpProfile, "bng on xdp", "native AF_XDP"]] as const) {
      if (!profile || !("comparison" in profile)) continue;
      const c = profile.comparison;
      lines.push(
        "",
        `perf, CPU time per forwarded frame: ${bng} ${c.bngNsPerFrame} ns (kernel ${c.bngKernelNsPerFrame}), ${native} ${c.nativeNsPerFrame} ns (kernel ${c.nativeKernelNsPerFrame}); ` +
          `user space ${profile.userPercent} % of ${bng}'s samples.`,
      );
    }
  }
  if (results.engineHeap) {
    lines.push("", "Heap of each packet engine's receive → send loop (`engine-heap.ts`), the garbage collected before and after the measured batches:", "", markdownTable(engineHeapRows(results.engineHeap)));
  }
  const http = results.http;
  if (http) {
    lines.push("", `HTTP: wrk, median of ${http.rounds} interleaved rounds of ${http.seconds} s each.`, "", markdownTable(httpRows(http)));
  }
  if (results.dataplane) lines.push("", "Data plane in memory (`bench/dataplane.ts`):", "", "```", results.dataplane, "```");
  const errors = Object.entries(results.errors);
  if (errors.length > 0) lines.push("", "**Failed**: " + errors.map(([name, error]) => `${name}: ${error.split("\n")[0]}`).join("; "));
  return lines.join("\n");
}

/** `readme` with the text between its results markers replaced by `block`; everything else is kept as it is. */
export function replaceResultsBlock(readme: string, block: string): string {
  const count = (marker: string) => readme.split(marker).length - 1;
  if (count(RESULTS_BEGIN) !== 1 || count(RESULTS_END) !== 1) {
    throw new Error(`bench/README.md needs exactly one "${RESULTS_BEGIN}" and one "${RESULTS_END}" line, around the latest results`);
  }
  const from = readme.indexOf(RESULTS_BEGIN) + RESULTS_BEGIN.length;
  const to = readme.indexOf(RESULTS_END);
  if (to < from) throw new Error(`bench/README.md has "${RESULTS_END}" before "${RESULTS_BEGIN}"`);
  return `${readme.slice(0, from)}\n${block}\n${readme.slice(to)}`;
}

/** Rewrites the results block of the README at `readmePath` from `resultsPath`. */
export function writeResultsBlock(resultsPath: string, readmePath = README_PATH): void {
  const results = JSON.parse(readFileSync(resultsPath, "utf8")) as Results;
  const readme = readFileSync(readmePath, "utf8");
  writeFileSync(readmePath, replaceResultsBlock(readme, resultsBlock(results, basename(resultsPath))));
}

/** The newest results file (their names are ISO dates, so they sort by time). */
export function newestResultsFile(dir = RESULTS_DIR): string {
  const names = readdirSync(dir).filter((name) => name.endsWith(".json")).sort();
  const newest = names.at(-1);
  if (!newest) throw new Error(`no results file in ${dir}: run npm run bench`);
  return join(dir, newest);
}

if (import.meta.main) {
  const resultsPath = process.argv[2] ?? newestResultsFile();
  writeResultsBlock(resultsPath);
  console.log(`bench/README.md: latest results from ${resultsPath}`);
}
