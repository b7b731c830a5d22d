// Benchmark (not a timed test): does the health monitor keep its schedule with 500 targets
// checked by `http` every second?
//
//   node_modules/.bin/bun bench/health-http.ts [--targets 500] [--seconds 20] [--mode ok|blackhole]
//
// Runs as root. In a private network namespace (`<id>-health`, a bench/lib.ts family, removed at
// the end, also on failure or a signal) with only loopback, a real HTTP server (Bun.serve, every
// address, port 8080) runs on the last CPU and the monitor on CPU 0 (taskset); target N is
// 127.0.1.0 + N, so every check has its own connection 4-tuple. Each attempt is a whole HTTP
// exchange: connect from 127.0.0.1, GET /health, read the response head, reset. `blackhole`: an
// nftables rule drops the SYNs, so every attempt stays in flight for its whole interval and is
// cancelled as a timeout. Prints one JSON object: attempts, missed intervals, worst and mean
// schedule lag, the monitor's CPU use, the server's requests, and how many targets ended up / down.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { TargetDef } from "../src/config/model.ts";
import { createHealthMonitor } from "../src/health/monitor.ts";
import { createSystemProbes } from "../src/health/system-probes.ts";
import { BUN, makeScratch, Namespaces, nsArgv, removeScratch, runSync, spawn } from "./lib.ts";

const PORT = 8080;
const LOOPBACK = 0x7f000001;
const FIRST_TARGET = 0x7f000100;

const { values } = parseArgs({
  options: {
    targets: { type: "string", default: "500" },
    seconds: { type: "string", default: "20" },
    mode: { type: "string", default: "ok" },
    inner: { type: "boolean", default: false },
  },
});
const targetCount = Number(values.targets);
const seconds = Number(values.seconds);
const mode = values.mode;
if (mode !== "ok" && mode !== "blackhole") throw new Error(`--mode ok|blackhole, not ${mode}`);

async function measureInsideNamespace(): Promise<void> {
  const pos = { file: "bench", line: 1, column: 1 };
  const targets: TargetDef[] = Array.from({ length: targetCount }, (_, index) => ({
    id: index + 1,
    name: undefined,
    ipaddr: FIRST_TARGET + index + 1,
    port: PORT,
    protocol: "tcp",
    tcpopen: [],
    ping: undefined,
    arp: undefined,
    agent: undefined,
    script: undefined,
    http: { path: "/health", port: PORT, intervalS: 1, timeoutS: 3, pos },
    dsrcheck: [],
    alert: undefined,
    unimplemented: [],
    dsr: true,
    weight: 1,
    registered: true,
    enabled: true,
    pos,
  }));
  let events = 0;
  const cpuBefore = process.cpuUsage();
  const monitor = createHealthMonitor({ targets, realAddressFor: () => LOOPBACK, probes: createSystemProbes(), onChange: () => events++ });
  await Bun.sleep(seconds * 1000);
  const cpu = process.cpuUsage(cpuBefore);
  const stats = monitor.scheduleStats();
  const snapshot = monitor.snapshot();
  monitor.stop();
  const causes: Record<string, number> = {};
  for (const target of snapshot) {
    const cause = target.checks[0]?.failureCause;
    if (cause !== undefined) causes[cause] = (causes[cause] ?? 0) + 1;
  }
  console.log(
    JSON.stringify({
      mode,
      targets: targetCount,
      seconds,
      attempts: stats.attempts,
      expectedAttempts: targetCount * seconds,
      missedIntervals: stats.missedIntervals,
      worstLagMs: Number(stats.worstLagMs.toFixed(2)),
      meanLagMs: Number(stats.meanLagMs.toFixed(3)),
      cpuPercent: Number((((cpu.user + cpu.system) / 1000 / (seconds * 1000)) * 100).toFixed(1)),
      up: snapshot.filter((target) => target.state === "up").length,
      down: snapshot.filter((target) => target.state === "down").length,
      lastFailureCauses: causes,
      events,
    }),
  );
}

const SERVER = `
let requests = 0;
Bun.serve({ hostname: "0.0.0.0", port: ${PORT}, fetch: () => (requests++, new Response("ok\\n")) });
console.log("listening");
process.on("SIGTERM", () => { console.log(JSON.stringify({ requests })); process.exit(0); });
`;

async function main(): Promise<void> {
  const namespaces = new Namespaces();
  const scratch = makeScratch("health-http");
  try {
    const namespace = await namespaces.add("health");
    const serverFile = join(scratch, "server.ts");
    writeFileSync(serverFile, SERVER);
    const lastCpu = navigator.hardwareConcurrency - 1;
    const server = spawn(nsArgv(namespace, [BUN, serverFile], lastCpu));
    await server.waitFor(/listening/, 10_000);
    if (mode === "blackhole") {
      const dropped = runSync(nsArgv(namespace, ["nft", `add table inet bngh; add chain inet bngh input { type filter hook input priority 0; }; add rule inet bngh input tcp dport ${PORT} drop`]));
      if (dropped.exitCode !== 0) throw new Error(`nft: ${dropped.stderr.trim()}`);
    }
    const measured = spawn(nsArgv(namespace, [BUN, import.meta.path, "--inner", "--targets", String(targetCount), "--seconds", String(seconds), "--mode", mode], 0));
    const exitCode = await measured.exited;
    if (exitCode !== 0) throw new Error(`the measuring process exited with ${exitCode}: ${measured.stderr}`);
    await server.stop();
    const inner = JSON.parse(measured.stdout.trim().split("\n").pop()!) as object;
    const served = JSON.parse(server.stdout.trim().split("\n").pop()!) as { requests: number };
    console.log(JSON.stringify({ ...inner, serverRequests: served.requests }));
  } finally {
    namespaces.remove();
    removeScratch(scratch);
  }
}

await (values.inner ? measureInsideNamespace() : main());
