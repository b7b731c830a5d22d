// Benchmark (not a timed test): does the health monitor keep its schedule with 500 targets
// checked by `tcpopen` every second on one core?
//
//   node_modules/.bin/bun bench/health-schedule.ts [--targets 500] [--seconds 20] [--mode open|blackhole]
//
// Runs as root. It creates a private network namespace (`<id>-health`, a bench/lib.ts family:
// removed at the end, also on failure or a signal, and by the next benchmark if this one is
// killed) with only loopback, starts a listener on 127.0.0.1 there, and
// runs the monitor inside it pinned to one CPU (taskset). `open`: every connect succeeds.
// `blackhole`: an nftables rule drops the SYNs, so every attempt stays in flight for its whole
// interval and is cancelled as a timeout (the worst case for the readiness poller).
// Prints one JSON object: attempts, missed intervals, worst and mean schedule lag, CPU use,
// and how many targets ended up / down.
import { parseArgs } from "node:util";
import type { TargetDef } from "../src/config/model.ts";
import { createHealthMonitor } from "../src/health/monitor.ts";
import { createSystemProbes } from "../src/health/system-probes.ts";
import { NamespaceFamily } from "../test/fixtures/namespaces.ts";
import { run } from "../test/fixtures/process.ts";
import { NAMESPACE_PREFIX } from "./lib.ts";

const PORT = 8080;
const LOOPBACK = 0x7f000001;

const { values } = parseArgs({
  options: {
    targets: { type: "string", default: "500" },
    seconds: { type: "string", default: "20" },
    mode: { type: "string", default: "open" },
    cpu: { type: "string", default: "0" },
    inner: { type: "boolean", default: false },
  },
});
const targetCount = Number(values.targets);
const seconds = Number(values.seconds);
const mode = values.mode;
if (mode !== "open" && mode !== "blackhole") throw new Error(`--mode open|blackhole, not ${mode}`);

async function measureInsideNamespace(): Promise<void> {
  const pos = { file: "bench", line: 1, column: 1 };
  const targets: TargetDef[] = Array.from({ length: targetCount }, (_, index) => ({
    id: index + 1,
    name: undefined,
    ipaddr: LOOPBACK,
    port: PORT,
    protocol: "tcp",
    tcpopen: [{ port: PORT, intervalS: 1, timeoutS: 3, pos }],
    ping: undefined,
    arp: undefined, agent: undefined, script: undefined, http: undefined, dsrcheck: [], alert: undefined, unimplemented: [],
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
  const states = monitor.snapshot().map((target) => target.state);
  monitor.stop();
  const cpuPercent = ((cpu.user + cpu.system) / 1000 / (seconds * 1000)) * 100;
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
      cpuPercent: Number(cpuPercent.toFixed(1)),
      up: states.filter((state) => state === "up").length,
      down: states.filter((state) => state === "down").length,
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

async function main(): Promise<void> {
  const namespaces = new NamespaceFamily(NAMESPACE_PREFIX);
  try {
    const namespace = namespaces.add("health");
    const listener = namespaces.spawn(namespace, ["python3", "-c", LISTENER]);
    await listener.waitFor(/^listening$/, 10_000);
    if (mode === "blackhole") {
      run(["ip", "netns", "exec", namespace, "nft", `add table inet bngh; add chain inet bngh input { type filter hook input priority 0; }; add rule inet bngh input tcp dport ${PORT} drop`]);
    }
    const self = ["taskset", "-c", values.cpu, process.execPath, import.meta.path, "--inner", "--targets", String(targetCount), "--seconds", String(seconds), "--mode", mode];
    const measured = await namespaces.exec(namespace, self, { allowFailure: true, timeoutMs: (seconds + 60) * 1000 });
    process.stdout.write(measured.stdout);
    process.stderr.write(measured.stderr);
    if (measured.exitCode !== 0) throw new Error(`the measuring process exited with ${measured.exitCode}`);
  } finally {
    namespaces.destroyNow();
  }
}

await (values.inner ? measureInsideNamespace() : main());
