// HTTP benchmark on the seed's network (test/e2e/lab.ts, namespaces `bngbXXXX-*`): wrk in the
// client namespace, at 50 connections and at 1, against
//   direct   one target's own address, 172.16.1.100:80, routed through the lab router;
//   bng      the VIP 172.16.1.10:80 with `bng run config/dsr-example.conf` in the bng box (DSR:
//            replies go from the targets straight to the router);
//   bng-ring the same with `set io ring` (the PACKET_MMAP rings);
//   bng-xdp  the same with `set io xdp` (an AF_XDP socket);
//   haproxy  the VIP 172.16.1.10:80 as a local address of the bng box, HAProxy in TCP mode
//            there, both targets as backends (a proxy: replies come back through HAProxy).
// Rounds interleave the five; medians over rounds are reported.
// Run alone: node_modules/.bin/bun bench/http.ts [--rounds N] [--seconds S]
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BNG_REAL_ADDRESS, ROUTER_ADDRESS, VIP, createLab, targetAddress, type Lab } from "../test/e2e/lab.ts";
import type { RunningProcess } from "../test/fixtures/process.ts";
import { parseArgs } from "node:util";
import { BngInLab, SEED_CONFIG_PATH } from "../test/e2e/bng.ts";
import { busyCoresBetween, cpuSample, cpuTimes, formatCount, makeScratch, median, numberOption, ratioText, removeScratch, round, sleep, textTable, type Table } from "./lib.ts";

export type HttpMode = "direct" | "bng" | "bng-ring" | "bng-xdp" | "haproxy";
export const HTTP_MODES: HttpMode[] = ["direct", "bng", "bng-ring", "bng-xdp", "haproxy"];
/** bng's engine in each of its modes. */
const ENGINES = { bng: "mmsg", "bng-ring": "ring", "bng-xdp": "xdp" } as const;
export const CONNECTION_COUNTS = [50, 1];

export interface HttpOptions {
  /** Rounds over every mode (default 5). */
  rounds?: number;
  /** wrk duration per measurement (default 5 s). */
  seconds?: number;
  log?: (line: string) => void;
}

export interface WrkResult {
  requestsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  requests: number;
  /** Connect/read/write/timeout errors and non-2xx answers. */
  errors: number;
}

export interface HttpMeasurement extends WrkResult {
  mode: HttpMode;
  connections: number;
  round: number;
  /** Cores used by the balancer (bng or haproxy) during the measurement. */
  balancerCores?: number;
  /** Cores busy on the whole machine during the measurement (wrk, router, targets, balancer, others). */
  machineCores: number;
}

export interface HttpSummary {
  mode: HttpMode;
  connections: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  balancerCores?: number;
  machineCores: number;
}

export interface HttpResult {
  seconds: number;
  rounds: number;
  measurements: HttpMeasurement[];
  summary: HttpSummary[];
  /** requests/s through bng over direct, and over HAProxy, per connection count; p50 of the other engines over mmsg's. */
  ratios: {
    connections: number;
    bngOverDirect: number;
    bngOverHaproxy: number;
    haproxyOverDirect: number;
    ringP50OverMmsgP50: number;
    /** Absent in results from before the xdp engine. */
    xdpP50OverMmsgP50?: number;
  }[];
}

function toMs(value: string, unit: string): number {
  const number = Number(value);
  if (unit === "us") return number / 1000;
  if (unit === "ms") return number;
  if (unit === "s") return number * 1000;
  if (unit === "m") return number * 60_000;
  return NaN;
}

export function parseWrk(output: string): WrkResult {
  const percentile = (p: number) => {
    const match = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(output);
    return match ? toMs(match[1]!, match[2]!) : NaN;
  };
  const requestsPerSecond = Number(/^Requests\/sec:\s+([\d.]+)/m.exec(output)?.[1] ?? NaN);
  const requests = Number(/^\s+(\d+) requests in/m.exec(output)?.[1] ?? NaN);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
  const errors = (socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0) + non2xx;
  if (!Number.isFinite(requestsPerSecond)) throw new Error(`cannot read wrk's output:\n${output}`);
  return { requestsPerSecond, p50Ms: percentile(50), p90Ms: percentile(90), p99Ms: percentile(99), requests, errors };
}

async function wrk(lab: Lab, url: string, connections: number, seconds: number): Promise<WrkResult> {
  const threads = Math.min(2, connections);
  const { stdout } = await lab.exec(lab.ns.client, ["wrk", "-t", String(threads), "-c", String(connections), "-d", `${seconds}s`, "--latency", url], {
    timeoutMs: (seconds + 20) * 1000,
  });
  return parseWrk(stdout);
}

function haproxyConfig(): string {
  return `global
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend vip
  bind ${VIP}:80
  default_backend targets
backend targets
  balance roundrobin
  server t1 ${targetAddress(1)}:80 source ${BNG_REAL_ADDRESS}
  server t2 ${targetAddress(2)}:80 source ${BNG_REAL_ADDRESS}
`;
}

interface Balancer {
  process?: RunningProcess;
  stop(): Promise<void>;
}

/** bng on the seed's config (mmsg); for another engine, the same file plus `set io ENGINE`. */
async function startBng(lab: Lab, scratch: string, io: (typeof ENGINES)[keyof typeof ENGINES]): Promise<Balancer> {
  const socket = join(scratch, "bng.sock");
  const config = io === "mmsg" ? SEED_CONFIG_PATH : join(scratch, `${io}.conf`);
  if (io !== "mmsg") writeFileSync(config, readFileSync(SEED_CONFIG_PATH, "utf8").replace("interface eth0\n", `interface eth0\nset io ${io}\n`));
  const bng = (await BngInLab.start(lab, config, socket)).process;
  for (const id of [1, 2]) {
    await bng.waitForOutput(new RegExp(`target-mac-learned target=${id} `), 10_000);
    await bng.waitForOutput(new RegExp(`target-up target=${id} `), 10_000);
  }
  return {
    process: bng,
    async stop() {
      const code = await bng.stop(5000);
      if (code !== 0) throw new Error(`bng exited with ${code}: ${bng.stderr.slice(-1000)}`);
    },
  };
}

async function startHaproxy(lab: Lab, scratch: string): Promise<Balancer> {
  const config = join(scratch, "haproxy.cfg");
  writeFileSync(config, haproxyConfig());
  // The real address first, so connections to the targets leave from it; the VIP as a /32; a
  // default route through the lab router for the replies to the client.
  await lab.execIn(lab.bngNs, `ip addr add ${BNG_REAL_ADDRESS}/24 dev eth0 && ip addr add ${VIP}/32 dev eth0 && ip route add default via ${ROUTER_ADDRESS}`);
  await lab.exec(lab.ns.router, ["ip", "neigh", "flush", "to", VIP]);
  const haproxy = lab.spawnIn(lab.bngNs, ["haproxy", "-db", "-f", config]);
  // HAProxy prints nothing when it starts well: wait until its port accepts.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = await lab.exec(lab.ns.client, ["bash", "-c", `exec 3<>/dev/tcp/${VIP}/80`], { allowFailure: true, timeoutMs: 2000 }).catch(() => undefined);
    if (probe?.exitCode === 0) break;
    if (haproxy.exitCode !== null || Date.now() > deadline) throw new Error(`haproxy did not start: ${haproxy.stderr}`);
    await sleep(100);
  }
  return {
    process: haproxy,
    async stop() {
      await haproxy.stop(3000, "SIGUSR1"); // soft stop
      await lab.execIn(lab.bngNs, `ip addr del ${VIP}/32 dev eth0; ip addr del ${BNG_REAL_ADDRESS}/24 dev eth0`, { allowFailure: true });
      await lab.exec(lab.ns.router, ["ip", "neigh", "flush", "to", VIP], { allowFailure: true });
    },
  };
}

export async function httpBenchmark(options: HttpOptions = {}): Promise<HttpResult> {
  const rounds = options.rounds ?? 5;
  const seconds = options.seconds ?? 5;
  const log = options.log ?? ((line: string) => console.error(line));
  const scratch = makeScratch("http");
  const lab = await createLab({ prefix: "bngb", clients: 1, targets: 2 });
  const measurements: HttpMeasurement[] = [];
  try {
    log(`http: lab ${lab.id}, wrk ${seconds} s per measurement, ${rounds} rounds`);
    for (let r = 1; r <= rounds; r++) {
      for (const mode of HTTP_MODES) {
        const balancer: Balancer =
          mode === "bng" || mode === "bng-ring" || mode === "bng-xdp"
            ? await startBng(lab, scratch, ENGINES[mode])
            : mode === "haproxy"
              ? await startHaproxy(lab, scratch)
              : { stop: async () => {} };
        try {
          const url = mode === "direct" ? `http://${targetAddress(1)}/` : `http://${VIP}/`;
          // A short warm-up: JIT of bng's worker and the targets, ARP caches, HAProxy's pools.
          await wrk(lab, url, 10, 1);
          for (const connections of CONNECTION_COUNTS) {
            const pid = balancer.process?.pid;
            const before = pid === undefined ? undefined : cpuTimes(pid);
            const machineBefore = cpuSample();
            const result = await wrk(lab, url, connections, seconds);
            const machineCores = busyCoresBetween(machineBefore, cpuSample());
            const after = pid === undefined ? undefined : cpuTimes(pid);
            const measurement: HttpMeasurement = { mode, connections, round: r, ...result, machineCores };
            if (before && after) measurement.balancerCores = (after.user + after.system - before.user - before.system) / seconds;
            measurements.push(measurement);
            log(
              `  round ${r} ${mode.padEnd(8)} c=${String(connections).padEnd(2)} ${formatCount(result.requestsPerSecond)} req/s, p50 ${round(result.p50Ms, 3)} ms, p99 ${round(result.p99Ms, 3)} ms` +
                (result.errors ? `, ${result.errors} errors` : "") +
                (measurement.balancerCores !== undefined ? `, balancer ${round(measurement.balancerCores, 2)} cores` : "") +
                `, machine ${round(machineCores, 2)} cores busy`,
            );
          }
        } finally {
          await balancer.stop();
        }
      }
    }
  } finally {
    await lab.destroy();
    removeScratch(scratch);
  }
  const summary: HttpSummary[] = [];
  for (const connections of CONNECTION_COUNTS) {
    for (const mode of HTTP_MODES) {
      const mine = measurements.filter((m) => m.mode === mode && m.connections === connections);
      const entry: HttpSummary = {
        mode,
        connections,
        requestsPerSecond: median(mine.map((m) => m.requestsPerSecond)),
        p50Ms: median(mine.map((m) => m.p50Ms)),
        p99Ms: median(mine.map((m) => m.p99Ms)),
        errors: mine.reduce((sum, m) => sum + m.errors, 0),
        machineCores: median(mine.map((m) => m.machineCores)),
      };
      if (mode !== "direct") entry.balancerCores = median(mine.map((m) => m.balancerCores ?? NaN));
      summary.push(entry);
    }
  }
  const rate = (mode: HttpMode, connections: number) => summary.find((s) => s.mode === mode && s.connections === connections)!.requestsPerSecond;
  const p50 = (mode: HttpMode, connections: number) => summary.find((s) => s.mode === mode && s.connections === connections)!.p50Ms;
  const ratios = CONNECTION_COUNTS.map((connections) => ({
    connections,
    bngOverDirect: rate("bng", connections) / rate("direct", connections),
    bngOverHaproxy: rate("bng", connections) / rate("haproxy", connections),
    haproxyOverDirect: rate("haproxy", connections) / rate("direct", connections),
    ringP50OverMmsgP50: p50("bng-ring", connections) / p50("bng", connections),
    xdpP50OverMmsgP50: p50("bng-xdp", connections) / p50("bng", connections),
  }));
  return { seconds, rounds, measurements, summary, ratios };
}

export function httpRows(result: HttpResult): Table {
  return {
    header: ["path", "connections", "requests/s", "p50 ms", "p99 ms", "errors", "balancer cores", "machine cores"],
    rows: result.summary.map((s) => [
      s.mode,
      String(s.connections),
      formatCount(s.requestsPerSecond),
      String(round(s.p50Ms, 3)),
      String(round(s.p99Ms, 3)),
      String(s.errors),
      s.balancerCores === undefined ? "-" : String(round(s.balancerCores, 2)),
      String(round(s.machineCores, 2)),
    ]),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { rounds: { type: "string" }, seconds: { type: "string" } } });
  const result = await httpBenchmark({ rounds: numberOption("rounds", values.rounds), seconds: numberOption("seconds", values.seconds) });
  console.log(textTable(httpRows(result)));
  for (const ratio of result.ratios) {
    console.log(
      `c=${ratio.connections}: bng/direct ${ratioText(ratio.bngOverDirect)}, bng/haproxy ${ratioText(ratio.bngOverHaproxy)}, haproxy/direct ${ratioText(ratio.haproxyOverDirect)}, ` +
        `p50 ring/mmsg ${ratioText(ratio.ringP50OverMmsgP50)}, p50 xdp/mmsg ${ratioText(ratio.xdpP50OverMmsgP50 ?? NaN)}`,
    );
  }
}
