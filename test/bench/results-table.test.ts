// The "Latest results" block of bench/README.md: made from one run's results file by a pure
// function, written between its two markers and nowhere else.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { EngineHeapRow, EngineRuntime } from "../../bench/engine-heap.ts";
import type { HttpResult, HttpSummary } from "../../bench/http.ts";
import type { ForwarderSummary, PacketRateResult } from "../../bench/packet-rate.ts";
import { README_PATH, RESULTS_BEGIN, RESULTS_END, checkTargets, newestResultsFile, replaceResultsBlock, resultsBlock, writeResultsBlock, type Results } from "../../bench/results-table.ts";
import type { SessionsResult } from "../../bench/sessions.ts";
import type { StartupResult } from "../../bench/startup.ts";

const MiB = 2 ** 20;

function forwarder(forwardedPerSecond: number): ForwarderSummary {
  return { forwardedPerSecond, offeredPerSecond: 500_000, forwardedShare: forwardedPerSecond / 500_000, userNsPerFrame: 120, systemNsPerFrame: 4000, cpuCores: 0.97, rssBytes: 90 * MiB };
}

function packetRate(bng: number, ring: number, native: number, clients = 65536, xdp = { bng: 480_000, native: 500_000, share: 0.98, nativeShare: 0.95, floodCores: 0.01, pingsAnswered: 24 }): PacketRateResult {
  const floodCost = { offeredPerSecond: 600_000, cpuCores: xdp.floodCores, vipPings: { sent: 24, answered: 24 } };
  return {
    frame: "60 B + FCS",
    clients,
    generatorCpu: 0,
    balancerCpu: 1,
    measureMs: 4000,
    leakRatio: 0,
    runs: [1, 2, 3].map((round) => ({ forwarder: "bng" as const, round, forwardedPerSecond: bng, offeredPerSecond: 500_000, generatedPerSecond: 500_000, userNsPerFrame: 120, systemNsPerFrame: 4000, cpuCores: 0.97, rssBytes: 90 * MiB, forwardedShare: bng / 500_000 })),
    bng: forwarder(bng),
    bngRing: forwarder(ring),
    native: forwarder(native),
    nativeInBun: forwarder(native * 0.99),
    bngXdp: forwarder(xdp.bng),
    nativeXdp: forwarder(xdp.native),
    xdpRatio: xdp.bng / xdp.native,
    paced: { requestedPerSecond: 500_000, runs: [], summaries: { native: { ...forwarder(475_000), forwardedShare: xdp.nativeShare }, "bng-xdp": { ...forwarder(490_000), forwardedShare: xdp.share } } },
    flood: { destination: "172.16.1.77", runs: [], costs: { bng: floodCost, "bng-ring": floodCost, "bng-xdp": { ...floodCost, vipPings: { sent: 24, answered: xdp.pingsAnswered } }, native: { offeredPerSecond: 300_000, cpuCores: 0.44 } } },
    ratio: bng / native,
    ringRatio: ring / native,
    inBunRatio: 0.99,
  };
}

function http(rates: { direct: number; bng: number; haproxy: number }, p50: { bng: number; ring: number; xdp: number }): HttpResult {
  const at = (connections: number, mode: HttpSummary["mode"], requestsPerSecond: number, p50Ms: number): HttpSummary => ({ mode, connections, requestsPerSecond, p50Ms, p99Ms: 2, errors: 0, machineCores: 1.9 });
  return {
    seconds: 5,
    rounds: 5,
    measurements: [],
    summary: [
      at(50, "direct", rates.direct, 0.5),
      at(50, "bng", rates.bng, 0.6),
      at(50, "bng-ring", rates.bng, 0.6),
      at(50, "bng-xdp", rates.bng, 0.6),
      at(50, "haproxy", rates.haproxy, 0.8),
      at(1, "direct", 15_000, 0.06),
      at(1, "bng", 14_000, p50.bng),
      at(1, "bng-ring", 14_000, p50.ring),
      at(1, "bng-xdp", 14_000, p50.xdp),
      at(1, "haproxy", 12_000, 0.08),
    ],
    ratios: [
      { connections: 50, bngOverDirect: rates.bng / rates.direct, bngOverHaproxy: rates.bng / rates.haproxy, haproxyOverDirect: rates.haproxy / rates.direct, ringP50OverMmsgP50: 1, xdpP50OverMmsgP50: 1 },
      { connections: 1, bngOverDirect: 14 / 15, bngOverHaproxy: 14 / 12, haproxyOverDirect: 12 / 15, ringP50OverMmsgP50: p50.ring / p50.bng, xdpP50OverMmsgP50: p50.xdp / p50.bng },
    ],
  };
}

function sessions(rssDeltaBytes: number): SessionsResult {
  return {
    sessions: 1_000_000,
    slots: 1_048_576,
    tableBytes: 24.5 * MiB,
    rssBeforeBytes: 50 * MiB,
    rssAfterBytes: 50 * MiB + rssDeltaBytes,
    rssDeltaBytes,
    bytesPerSession: rssDeltaBytes / 1e6,
    liveAfterInsert: 941_932,
    evictions: 58_068,
    insertsPerSecond: 1.84e6,
    lookupsPerSecond: 8.5e6,
    lookupHitRatio: 0.94,
    missesPerSecond: 6.4e6,
    churnPerSecond: 1.7e6,
  };
}

function startup(sourceMs: number, executableMs: number): StartupResult {
  const variant = (v: "source" | "executable", command: string, medianMs: number) => ({ variant: v, command, firstMs: medianMs, readyMs: [medianMs], medianMs, rssBytes: 80 * MiB });
  return { variants: [variant("source", "bun src/cli/main.ts", sourceMs), variant("executable", "dist/bng", executableMs)], executableBytes: 99.5 * MiB };
}

function heapRow(engine: EngineHeapRow["engine"], runtime: EngineRuntime, kept: number, allocated: number | null): EngineHeapRow {
  return { engine, runtime, batches: 20_000, framesPerBatch: 2, heapGrowthBytesPerBatch: kept, allocatedBytesPerBatch: allocated };
}

function results(parts: Partial<Results> = {}): Results {
  return {
    date: "2026-12-01T09:05:07.123Z",
    commit: "0123456789ab",
    quick: false,
    machine: { cores: 2, cpuModel: "AMD EPYC", kernel: "6.18.44", bun: "1.3.3", memoryBytes: 24 * 2 ** 30, loadAverage: [0, 0, 0] },
    otherLoad: { sessions: { busyCores: 0, busyProcesses: [] }, "packet-rate": { busyCores: 0.02, busyProcesses: [] } },
    durationsS: {},
    errors: {},
    targets: [],
    ...parts,
  };
}

const everything = (overrides: Partial<Results> = {}) =>
  results({
    packetRate: packetRate(240_000, 340_000, 250_000),
    packetRateFewClients: packetRate(245_000, 345_000, 250_000, 256),
    http: http({ direct: 95_000, bng: 72_000, haproxy: 58_000 }, { bng: 0.07, ring: 0.072, xdp: 0.068 }),
    sessions: sessions(36 * MiB),
    startup: startup(131, 97),
    dataplane: "full path (memory I/O + processor): 211.7 ns CPU/frame",
    healthSchedule: { mode: "open", targets: 500, seconds: 10, missedIntervals: 0, worstLagMs: 4.68, cpuPercent: 5.4 },
    engineHeap: [heapRow("mmsg", "bun", 0, null), heapRow("ring", "deno", 1.2, -0.4)],
    ...overrides,
  });

/** The rows of the block's first table (the targets). */
function targetLines(block: string): string[] {
  const lines = block.split("\n");
  const start = lines.indexOf("| figure | measured | target | met |");
  const end = lines.indexOf("", start);
  return lines.slice(start, end === -1 ? undefined : end);
}

describe("resultsBlock", () => {
  test("a full run: every target with its measured figure, met or not", () => {
    const block = resultsBlock(everything(), "2026-12-01T09-05-07Z.json");
    expect(block.split("\n")[0]).toBe(
      "Run of 2026-12-01 09:05 UTC, commit `0123456789ab`: [`results/2026-12-01T09-05-07Z.json`](results/2026-12-01T09-05-07Z.json). " +
        "2 cores (AMD EPYC), 24576 MiB RAM, Linux 6.18.44, Bun 1.3.3. Other load just before each benchmark, in busy cores: sessions 0, packet-rate 0.02.",
    );
    expect(targetLines(block)).toEqual([
      "| figure | measured | target | met |",
      "|---|---|---|---|",
      "| packet rate: bng (mmsg) / native forwarder | 0.960 (240 k / 250 k frames/s) | ≥ 0.95 | yes |",
      "| packet rate: bng (`set io ring`) / native forwarder | 1.360 (340 k / 250 k frames/s) | ≥ 1.3 | yes |",
      "| packet rate: bng (`set io xdp`) / native AF_XDP forwarder | 0.960 (480 k / 500 k frames/s) | ≥ 0.9 | yes |",
      "| packet rate: share of a paced rate the native recvmmsg forwarder cannot take that bng (`set io xdp`) forwards | 0.980 of 500 k frames/s offered (native recvmmsg forwarder 0.950) | ≥ 0.97 | yes |",
      "| flood to a non-VIP address: bng's cores, the most of its engines | bng 0.01 at 600 k frames/s, bng-ring 0.01 at 600 k frames/s, bng-xdp 0.01 at 600 k frames/s | ≤ 0.05 | yes |",
      "| flood to a non-VIP address: ARP and pings of the VIP answered by bng meanwhile | bng 24 / 24, bng-ring 24 / 24, bng-xdp 24 / 24 | all | yes |",
      "| heap per batch of the packet path, kept and (Deno) allocated, the most of every engine and runtime | mmsg bun 0, ring deno 1.2 / -0.4 | ≤ 8 bytes | yes |",
      "| HTTP p50 latency, 1 connection: ring / mmsg | 1.029 (0.072 / 0.07 ms) | ≤ 1.10 | yes |",
      "| HTTP p50 latency, 1 connection: xdp / mmsg | 0.971 (0.068 / 0.07 ms) | ≤ 1.00 | yes |",
      "| HTTP, 50 connections: bng / direct | 0.758 (72 k / 95 k requests/s) | ≥ 0.75 | yes |",
      "| HTTP, 50 connections: bng / HAProxy (TCP mode) | 1.241 (72 k / 58 k requests/s) | > 1 | yes |",
      "| RSS of a session table holding 1,000,000 sessions | 36 MiB | ≤ 64 MiB | yes |",
      "| start to ready: source under Bun | 131 ms | ≤ 150 ms | yes |",
      "| start to ready: `dist/bng` | 97 ms | ≤ 150 ms | yes |",
    ]);
    expect(block).toContain("| packet rate: the native loop in a Bun worker / native forwarder | 0.990 |");
    expect(block).toContain("| packet rate with 256 clients: bng (mmsg) / native forwarder | 0.980 |");
    expect(block).toContain("| health checks: 500 targets (`open`) for 10 s on one core | 0 missed intervals, worst lag 4.68 ms, 5.4 % CPU |");
    expect(block).toContain("| native C (bench/baseline/fwd.c) | 250 k |");
    expect(block).toContain("| native C AF_XDP (bench/baseline/xdp-fwd.c) | 500 k |");
    expect(block).toContain("| bng, set io xdp | 600 k | 0.01 | 24 / 24 |");
    expect(block).toContain("| native C (bench/baseline/fwd.c) | 300 k | 0.44 | - |");
    expect(block).toContain("| haproxy | 50 | 58 k |");
    expect(block).toContain("```\nfull path (memory I/O + processor): 211.7 ns CPU/frame\n```");
    expect(block).not.toContain("quick");
    expect(block).not.toContain("Failed");
  });

  test("a miss says by how much, also a hair under the target", () => {
    const block = resultsBlock(
      everything({
        packetRate: packetRate(237_475, 320_000, 250_000, 65536, { bng: 440_000, native: 500_000, share: 0.95, nativeShare: 0.9, floodCores: 0.06, pingsAnswered: 18 }),
        engineHeap: [heapRow("xdp", "deno", 0.5, 24)],
        http: http({ direct: 100_000, bng: 70_000, haproxy: 71_000 }, { bng: 0.07, ring: 0.0784, xdp: 0.0714 }),
        sessions: sessions(65 * MiB),
        startup: startup(151, 97),
      }),
      "f.json",
    );
    expect(targetLines(block).slice(2)).toEqual([
      "| packet rate: bng (mmsg) / native forwarder | 0.950 (237.5 k / 250 k frames/s) | ≥ 0.95 | **no**, 0.01 % of native short |",
      "| packet rate: bng (`set io ring`) / native forwarder | 1.280 (320 k / 250 k frames/s) | ≥ 1.3 | **no**, 2.00 % of native short |",
      "| packet rate: bng (`set io xdp`) / native AF_XDP forwarder | 0.880 (440 k / 500 k frames/s) | ≥ 0.9 | **no**, 2.00 % of native AF_XDP short |",
      "| packet rate: share of a paced rate the native recvmmsg forwarder cannot take that bng (`set io xdp`) forwards | 0.950 of 500 k frames/s offered (native recvmmsg forwarder 0.900) | ≥ 0.97 | **no**, 2.00 % of the offered frames short |",
      "| flood to a non-VIP address: bng's cores, the most of its engines | bng 0.06 at 600 k frames/s, bng-ring 0.06 at 600 k frames/s, bng-xdp 0.06 at 600 k frames/s | ≤ 0.05 | **no**, 0.01 cores over |",
      "| flood to a non-VIP address: ARP and pings of the VIP answered by bng meanwhile | bng 24 / 24, bng-ring 24 / 24, bng-xdp 18 / 24 | all | **no**, 8.33 % unanswered |",
      "| heap per batch of the packet path, kept and (Deno) allocated, the most of every engine and runtime | xdp deno 0.5 / 24 | ≤ 8 bytes | **no**, 16 bytes a batch over |",
      "| HTTP p50 latency, 1 connection: ring / mmsg | 1.120 (0.0784 / 0.07 ms) | ≤ 1.10 | **no**, 2.00 % slower than allowed |",
      "| HTTP p50 latency, 1 connection: xdp / mmsg | 1.020 (0.0714 / 0.07 ms) | ≤ 1.00 | **no**, 2.00 % slower than mmsg |",
      "| HTTP, 50 connections: bng / direct | 0.700 (70 k / 100 k requests/s) | ≥ 0.75 | **no**, 5.00 % of direct short |",
      "| HTTP, 50 connections: bng / HAProxy (TCP mode) | 0.986 (70 k / 71 k requests/s) | > 1 | **no**, 1.41 % below HAProxy |",
      "| RSS of a session table holding 1,000,000 sessions | 65 MiB | ≤ 64 MiB | **no**, 1 MiB over |",
      "| start to ready: source under Bun | 151 ms | ≤ 150 ms | **no**, 1 ms late |",
      "| start to ready: `dist/bng` | 97 ms | ≤ 150 ms | yes |",
    ]);
  });

  test("a partial or quick run: what was not measured says so, failures are named", () => {
    const partial = results({ quick: true, sessions: sessions(36 * MiB), errors: { http: "wrk not found\nmore detail" } });
    const block = resultsBlock(partial, "2026-12-01T09-05-07Z-quick.json");
    expect(block.split("\n")[0]).toContain(", **quick mode** (fewer and shorter runs: not for the record): ");
    expect(targetLines(block).slice(2)).toEqual([
      "| packet rate: bng (mmsg) / native forwarder | - | ≥ 0.95 | not run |",
      "| packet rate: bng (`set io ring`) / native forwarder | - | ≥ 1.3 | not run |",
      "| packet rate: bng (`set io xdp`) / native AF_XDP forwarder | - | ≥ 0.9 | not run |",
      "| packet rate: share of a paced rate the native recvmmsg forwarder cannot take that bng (`set io xdp`) forwards | - | ≥ 0.97 | not run |",
      "| flood to a non-VIP address: bng's cores, the most of its engines | - | ≤ 0.05 | not run |",
      "| flood to a non-VIP address: ARP and pings of the VIP answered by bng meanwhile | - | all | not run |",
      "| heap per batch of the packet path, kept and (Deno) allocated, the most of every engine and runtime | - | ≤ 8 bytes | not run |",
      "| HTTP p50 latency, 1 connection: ring / mmsg | - | ≤ 1.10 | not run |",
      "| HTTP p50 latency, 1 connection: xdp / mmsg | - | ≤ 1.00 | not run |",
      "| HTTP, 50 connections: bng / direct | - | ≥ 0.75 | not run |",
      "| HTTP, 50 connections: bng / HAProxy (TCP mode) | - | > 1 | not run |",
      "| RSS of a session table holding 1,000,000 sessions | 36 MiB | ≤ 64 MiB | yes |",
      "| start to ready: source under Bun | - | ≤ 150 ms | not run |",
      "| start to ready: `dist/bng` | - | ≤ 150 ms | not run |",
    ]);
    expect(block).not.toContain("| forwarder |");
    expect(block).not.toContain("| path |");
    expect(block.split("\n").at(-1)).toBe("**Failed**: http: wrk not found");
  });

  test("a paced rate the native forwarder also took shows nothing: the share target is not met, whatever xdp forwarded", () => {
    const block = resultsBlock(everything({ packetRate: packetRate(240_000, 340_000, 250_000, 65536, { bng: 480_000, native: 500_000, share: 0.99, nativeShare: 0.98, floodCores: 0.01, pingsAnswered: 24 }) }), "f.json");
    expect(targetLines(block)).toContain(
      "| packet rate: share of a paced rate the native recvmmsg forwarder cannot take that bng (`set io xdp`) forwards | 0.990 of 500 k frames/s offered (native recvmmsg forwarder 0.980) | ≥ 0.97 | **no**, the native forwarder kept up: the rate was not above its limit |",
    );
  });

  test("checkTargets keeps what the results file records: unmeasured targets carry no verdict", () => {
    const checks = checkTargets(results({ sessions: sessions(70 * MiB) }));
    expect(checks).toHaveLength(14);
    expect(checks.filter((c) => c.met !== undefined)).toEqual([
      { figure: "RSS of a session table holding 1,000,000 sessions", target: "≤ 64 MiB", measured: "70 MiB", met: false, shortfall: "6 MiB over" },
    ]);
    expect(JSON.parse(JSON.stringify(checks[0]))).toEqual({ figure: "packet rate: bng (mmsg) / native forwarder", target: "≥ 0.95" });
  });
});

describe("replaceResultsBlock", () => {
  const readme = `# Benchmarks\n\nHow to run.\n\n## Latest results\n\n${RESULTS_BEGIN}\nold figures\n| a | b |\n${RESULTS_END}\n\n## After\n\nText after.\n`;

  test("replaces only what lies between the markers, and again gives the same file", () => {
    const once = replaceResultsBlock(readme, "new figures");
    expect(once).toBe(`# Benchmarks\n\nHow to run.\n\n## Latest results\n\n${RESULTS_BEGIN}\nnew figures\n${RESULTS_END}\n\n## After\n\nText after.\n`);
    expect(replaceResultsBlock(once, "new figures")).toBe(once);
  });

  test("a README without its markers, with two, or with them reversed is refused", () => {
    expect(() => replaceResultsBlock("# Benchmarks\n", "x")).toThrow(`needs exactly one "${RESULTS_BEGIN}" and one "${RESULTS_END}"`);
    expect(() => replaceResultsBlock(readme.replace(RESULTS_END, ""), "x")).toThrow("needs exactly one");
    expect(() => replaceResultsBlock(readme + RESULTS_BEGIN + "\n", "x")).toThrow("needs exactly one");
    expect(() => replaceResultsBlock(`${RESULTS_END}\n${RESULTS_BEGIN}\n`, "x")).toThrow(`has "${RESULTS_END}" before "${RESULTS_BEGIN}"`);
  });
});

describe("writeResultsBlock", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("rewrites the README's block from a results file, named by its file", () => {
    dir = mkdtempSync(join(tmpdir(), "bng-results-table-"));
    const readmePath = join(dir, "README.md");
    const resultsPath = join(dir, "2026-12-01T09-05-07Z.json");
    writeFileSync(readmePath, `before\n${RESULTS_BEGIN}\nold\n${RESULTS_END}\nafter\n`);
    const run = everything();
    writeFileSync(resultsPath, JSON.stringify(run));
    writeResultsBlock(resultsPath, readmePath);
    expect(readFileSync(readmePath, "utf8")).toBe(`before\n${RESULTS_BEGIN}\n${resultsBlock(run, "2026-12-01T09-05-07Z.json")}\n${RESULTS_END}\nafter\n`);
  });
});

test("bench/README.md shows the newest committed results file", () => {
  const newest = newestResultsFile();
  const block = resultsBlock(JSON.parse(readFileSync(newest, "utf8")) as Results, basename(newest));
  const readme = readFileSync(README_PATH, "utf8");
  expect(replaceResultsBlock(readme, block)).toBe(readme);
});
