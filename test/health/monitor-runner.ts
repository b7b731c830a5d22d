// Runs a health monitor with the real probes inside a network namespace (started by the
// tests through `ip netns exec`) and reports on stdout, one JSON object per line:
//   {"type":"address","origin":"added","cidr":...}  when ensure was given (origin: added, adopted, present)
//   {"type":"address-error","message":...}      and exit 2, when adding failed
//   {"type":"ready","wallMs":...}               the monitor started
//   {"type":"event","wallMs":...,...HealthEvent}
//   {"type":"stopped"}                          after SIGTERM: monitor stopped, address undone
// Argument: one JSON object { real, targets: [{id, ipaddr, port, tcpopen?: [port,I,T], ping?: [I,T]}],
// ensure?: { ifname, prefixLen, socket } } with addresses in dotted form; `socket` names the
// instance the address is marked for, as bng's control socket does.
import type { TargetDef } from "../../src/config/model.ts";
import { createHealthMonitor } from "../../src/health/monitor.ts";
import { createSystemProbes } from "../../src/health/system-probes.ts";
import { AddressError, ensureAddress, type EnsuredAddress } from "../../src/host/address.ts";

interface RunnerTarget {
  id: number;
  ipaddr: string;
  port: number;
  tcpopen?: [number, number, number];
  ping?: [number, number];
}

interface RunnerSpec {
  real: string;
  targets: RunnerTarget[];
  ensure?: { ifname: string; prefixLen: number };
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
  arp: undefined, agent: undefined, script: undefined, http: undefined, dsrcheck: [], alert: undefined, unimplemented: [],
  dsr: true,
  weight: 1,
  registered: true,
  enabled: true,
  pos,
}));

const monitor = createHealthMonitor({
  targets,
  realAddressFor: () => real,
  probes: createSystemProbes(),
  onChange: (event) => print({ type: "event", wallMs: Date.now(), ...event }),
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
