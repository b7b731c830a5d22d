// Runs a health monitor with the real probes inside a network namespace (started by the
// tests through `ip netns exec`) and reports on stdout, one JSON object per line:
//   {"type":"address","origin":"added","cidr":...}  when ensure was given (origin: added, adopted, present)
//   {"type":"address-error","message":...}      and exit 2, when adding failed
//   {"type":"ready","wallMs":...}               the monitor started
//   {"type":"event","wallMs":...,...HealthEvent}
//   {"type":"load","wallMs":...,"targetId":...,"load":...}   every load an agent check brought back
//   {"type":"log","line":...}                  a line the alert runner logged (docs/logs.md format)
//   {"type":"stopped"}                          after SIGTERM: monitor stopped, address undone
// Argument: one JSON object { real, targets: [RunnerTarget], ensure?: { ifname, prefixLen },
// alertTimeoutMs? } with addresses in dotted form. A target's checks are given as in the
// configuration ([port, I, T], ["PATH", I, T], ...); `dsrPath` is what the daemon would give
// its dsrcheck (the VIPs and the target's MAC).
import type { TargetDef } from "../../src/config/model.ts";
import { createAlertRunner } from "../../src/health/alerts.ts";
import { createHealthMonitor } from "../../src/health/monitor.ts";
import { createSystemProbes } from "../../src/health/system-probes.ts";
import { AddressError, ensureAddress, type EnsuredAddress } from "../../src/host/address.ts";
import { createLogger } from "../../src/log/logger.ts";

interface RunnerTarget {
  id: number;
  ipaddr: string;
  port: number;
  tcpopen?: [number, number, number];
  ping?: [number, number];
  arp?: [number, number];
  agent?: [number, number, number];
  script?: [string, number, number];
  http?: [string, number, number, number];
  dsrcheck?: [number, number, number];
  alert?: string;
  dsrPath?: { vips: string[]; mac: string };
}

interface RunnerSpec {
  real: string;
  targets: RunnerTarget[];
  ensure?: { ifname: string; prefixLen: number };
  alertTimeoutMs?: number;
}

const spec = JSON.parse(process.argv[2] ?? "") as RunnerSpec;
const ipFromText = (text: string) => text.split(".").reduce((value, part) => value * 256 + Number(part), 0);
const print = (line: object) => process.stdout.write(JSON.stringify(line) + "\n");
const pos = { file: "runner", line: 1, column: 1 };
const real = ipFromText(spec.real);

let address: EnsuredAddress | undefined;
if (spec.ensure) {
  try {
    address = ensureAddress(spec.ensure.ifname, real, spec.ensure.prefixLen, false, () => {});
    print({ type: "address", origin: address.origin, cidr: address.cidr });
  } catch (error) {
    if (!(error instanceof AddressError)) throw error;
    print({ type: "address-error", message: error.message });
    process.exit(2);
  }
}

const targets: TargetDef[] = spec.targets.map((target) => ({
  id: target.id,
  name: undefined,
  ipaddr: ipFromText(target.ipaddr),
  port: target.port,
  protocol: "tcp",
  tcpopen: target.tcpopen ? [{ port: target.tcpopen[0], intervalS: target.tcpopen[1], timeoutS: target.tcpopen[2], pos }] : [],
  ping: target.ping ? { intervalS: target.ping[0], timeoutS: target.ping[1], pos } : undefined,
  arp: target.arp ? { intervalS: target.arp[0], timeoutS: target.arp[1], pos } : undefined,
  agent: target.agent ? { port: target.agent[0], intervalS: target.agent[1], timeoutS: target.agent[2], pos } : undefined,
  script: target.script ? { path: target.script[0], intervalS: target.script[1], timeoutS: target.script[2], pos } : undefined,
  http: target.http ? { path: target.http[0], port: target.http[1], intervalS: target.http[2], timeoutS: target.http[3], pos } : undefined,
  dsrcheck: target.dsrcheck ? [{ port: target.dsrcheck[0], intervalS: target.dsrcheck[1], timeoutS: target.dsrcheck[2], pos }] : [],
  alert: target.alert,
  unimplemented: [],
  dsr: true,
  weight: 1,
  registered: true,
  enabled: true,
  pos,
}));

const macFromText = (text: string) => Uint8Array.from(text.split(":"), (part) => parseInt(part, 16));
const dsrPaths = new Map(spec.targets.map((target) => [target.id, target.dsrPath ? { vips: target.dsrPath.vips.map(ipFromText), mac: macFromText(target.dsrPath.mac) } : { vips: [], mac: undefined }]));
const logger = createLogger((line) => print({ type: "log", line }));

const monitor = createHealthMonitor({
  targets,
  realAddressFor: () => real,
  probes: createSystemProbes(),
  onChange: (event) => print({ type: "event", wallMs: Date.now(), ...event }),
  dsrPathFor: (target) => dsrPaths.get(target.id)!,
  alerts: createAlertRunner({ logger, ...(spec.alertTimeoutMs === undefined ? {} : { timeoutMs: spec.alertTimeoutMs }) }),
  onAgentLoad: (targetId, load) => print({ type: "load", wallMs: Date.now(), targetId, load }),
});
// Runs until SIGTERM: with no targets, nothing else would keep the process alive.
setInterval(() => {}, 60_000);
// Before "ready": a test may send SIGTERM the moment it reads that line.
process.on("SIGTERM", () => {
  monitor.stop();
  address?.undo();
  print({ type: "stopped" });
  process.exit(0);
});
print({ type: "ready", wallMs: Date.now() });
