// Benchmark (not a timed test): does the health monitor keep its schedule with 500 targets
// checked every second on one CPU, by `tcpopen` or by `http`?
//
//   node_modules/.bin/bun bench/health-schedule.ts [--check tcpopen|http] [--targets 500] [--seconds 20] [--mode open|blackhole]
//
// Runs as root. It creates a private network namespace (`<id>-health`, a bench/lib.ts family:
// removed at the end, also on failure or a signal, and by the next benchmark if this one is
// killed) with only loopback, starts a server there and runs the monitor inside it pinned to
// CPU 0 (taskset). `tcpopen`: a python listener on 127.0.0.1 that accepts and closes; every
// target is 127.0.0.1. `http`: a real HTTP server (Bun.serve, every address) pinned to the last
// CPU; target N is 127.0.1.0 + N, and each attempt is a whole exchange (connect, GET /health,
// the response head, reset). `open`: every attempt succeeds. `blackhole`: an nftables rule drops
// the SYNs, so every attempt stays in flight for its whole interval and is cancelled as a
// timeout (the worst case for the readiness poller).
// Prints one JSON object: attempts, missed intervals, worst and mean schedule lag, CPU use, how
// many targets ended up / down and the causes of their last failures; for http also the
// requests the server answered.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { TargetDef } from "../src/config/model.ts";
import { createHealthMonitor } from "../src/health/monitor.ts";
import { createSystemProbes } from "../src/health/system-probes.ts";
import { NamespaceFamily } from "../test/fixtures/namespaces.ts";
import { BUN, run, type RunningProcess } from "../test/fixtures/process.ts";
import { makeScratch, NAMESPACE_PREFIX, removeScratch } from "./lib.ts";

const PORT = 8080;
const LOOPBACK = 0x7f000001;
const FIRST_HTTP_TARGET = 0x7f000100;

const { values } = parseArgs({
  options: {
    check: { type: "string", default: "tcpopen" },
    targets: { type: "string", default: "500" },
    seconds: { type: "string", default: "20" },
    mode: { type: "string", default: "open" },
    inner: { type: "boolean", default: false },
  },
});
const check = values.check;
const targetCount = Number(values.targets);
const seconds = Number(values.seconds);
const mode = values.mode;
if (check !== "tcpopen" && check !== "http") throw new Error(`--check tcpopen|http, not ${check}`);
if (mode !== "open" && mode !== "blackhole") throw new Error(`--mode open|blackhole, not ${mode}`);

async function measureInsideNamespace(): Promise<void> {
  const pos = { file: "bench", line: 1, column: 1 };
  const every = { intervalS: 1, timeoutS: 3, pos };
  const targets: TargetDef[] = Array.from({ length: targetCount }, (_, index) => ({
    id: index + 1,
    name: undefined,
    ipaddr: check === "http" ? FIRST_HTTP_TARGET + index + 1 : LOOPBACK,
    port: PORT,
    protocol: "tcp",
    tcpopen: check === "tcpopen" ? [{ port: PORT, ...every }] : [],
    ping: undefined,
    arp: undefined,
    agent: undefined,
    script: undefined,
    http: check === "http" ? { path: "/health", port: PORT, ...every } : undefined,
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
  const cpuPercent = ((cpu.user + cpu.system) / 1000 / (seconds * 1000)) * 100;
  const lastFailureCauses: Record<string, number> = {};
  for (const target of snapshot) {
    const cause = target.checks[0]?.failureCause;
    if (cause !== undefined) lastFailureCauses[cause] = (lastFailureCauses[cause] ?? 0) + 1;
  }
  console.log(
    JSON.stringify({
      check,
      mode,
      targets: targetCount,
      seconds,
      attempts: stats.attempts,
      expectedAttempts: targetCount * seconds,
      missedIntervals: stats.missedIntervals,
      worstLagMs: Number(stats.worstLagMs.toFixed(2)),
      meanLagMs: Number(stats.meanLagMs.toFixed(3)),
      cpuPercent: Number(cpuPercent.toFixed(1)),
      up: snapshot.filter((target) => target.state === "up").length,
      down: snapshot.filter((target) => target.state === "down").length,
      lastFailureCauses,
      events,
    }),
  );
}

const LISTENER = `
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", ${PORT}))
s.listen(4096)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.close()
`;

const HTTP_SERVER = `
let requests = 0;
Bun.serve({ hostname: "0.0.0.0", port: ${PORT}, fetch: () => (requests++, new Response("ok\\n")) });
console.log("listening");
process.on("SIGTERM", () => { console.log(JSON.stringify({ requests })); process.exit(0); });
`;

function startServer(namespaces: NamespaceFamily, namespace: string, scratch: string): RunningProcess {
  if (check === "tcpopen") return namespaces.spawn(namespace, ["python3", "-c", LISTENER]);
  const file = join(scratch, "server.ts");
  writeFileSync(file, HTTP_SERVER);
  return namespaces.spawn(namespace, ["taskset", "-c", String(navigator.hardwareConcurrency - 1), BUN, file]);
}

async function main(): Promise<void> {
  const namespaces = new NamespaceFamily(NAMESPACE_PREFIX);
  const scratch = makeScratch("health");
  try {
    const namespace = namespaces.add("health");
    const server = startServer(namespaces, namespace, scratch);
    await server.waitFor(/^listening$/, 10_000);
    if (mode === "blackhole") {
      run(["ip", "netns", "exec", namespace, "nft", `add table inet bngh; add chain inet bngh input { type filter hook input priority 0; }; add rule inet bngh input tcp dport ${PORT} drop`]);
    }
    const inner = ["--inner", "--check", check, "--targets", String(targetCount), "--seconds", String(seconds), "--mode", mode];
    const measured = await namespaces.exec(namespace, ["taskset", "-c", "0", BUN, import.meta.path, ...inner], { allowFailure: true, timeoutMs: (seconds + 60) * 1000 });
    process.stderr.write(measured.stderr);
    if (measured.exitCode !== 0) throw new Error(`the measuring process exited with ${measured.exitCode}`);
    await server.stop();
    const result = JSON.parse(measured.stdout.trim().split("\n").pop()!) as object;
    const served = check === "http" ? (JSON.parse(server.stdout.trim().split("\n").pop()!) as { requests: number }) : undefined;
    console.log(JSON.stringify(served ? { ...result, serverRequests: served.requests } : result));
  } finally {
    namespaces.destroyNow();
    removeScratch(scratch);
  }
}

await (values.inner ? measureInsideNamespace() : main());
