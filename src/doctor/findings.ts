// What bng doctor's observations mean, as a checklist per target of each server with the exact
// fix under every failure. Pure: the wording is tested against observations made up in tests.
//
// The checks: (mac) the target's MAC resolves by ARP from the `real` address; (vip_arp) the
// target neither answers ARP for the VIP nor announces it in its own ARP requests, and no other
// host does (a server-level line); (dsr_path) a SYN to VIP:port in a frame to the target's MAC
// is answered with a SYN-ACK from the VIP, the SYN to the target's own address:port telling
// the causes of a failure apart; (gateway_ping) the gateway answers ping.
import { ipToString, prefixLength, type NetworkDef } from "../config/model.ts";
import type { ArpSighting, PingOutcome, SynOutcome } from "./link.ts";
import { answersTo, synKey, type Observations } from "./observe.ts";
import type { DoctorSubjects, ServerSubject, TargetSubject } from "./subjects.ts";

export type CheckName = "mac" | "vip_arp" | "dsr_path" | "gateway_ping";
export type CheckStatus = "pass" | "fail" | "skip";

export interface CheckResult {
  check: CheckName;
  status: CheckStatus;
  /** What was found, as one sentence. */
  text: string;
  /** What to do about a failure. */
  fix?: string;
}

export interface TargetReport {
  id: number;
  ipaddr: string;
  port: number;
  backup: boolean;
  enabled: boolean;
  mac: string | null;
  checks: CheckResult[];
}

export interface ServerReport {
  id: number;
  vip: string;
  port: number;
  protocol: string;
  /** Hosts other than bng and this server's targets that answer ARP for the VIP. */
  checks: CheckResult[];
  targets: TargetReport[];
}

export interface DoctorContext {
  /** The configuration file read, or the running bng's. */
  config: string;
  /** The pid of the bng answering on the control socket, when one does. */
  bngPid: number | undefined;
  ownMac: string;
  /** The `real` addresses and whether the doctor answered ARP for them (no interface held them). */
  reals: { address: number; answeredByDoctor: boolean }[];
  /** The network of each `real` address, for the prefix length in a fix. */
  networkOf: (ip: number) => NetworkDef | undefined;
}

export interface DoctorReport {
  config: string;
  bng_pid: number | null;
  interface: string;
  mac: string;
  reals: { address: string; answered_by_doctor: boolean }[];
  servers: ServerReport[];
  gateway: { ipaddr: string; mac: string | null; checks: CheckResult[] } | null;
  checks: number;
  failed: number;
  ok: boolean;
}

const ARP_SYSCTLS = "`sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2`";
const KEEP_SYSCTLS = "and the same two settings in a file in /etc/sysctl.d/ so that they survive a reboot";

export function buildReport(subjects: DoctorSubjects, seen: Observations, context: DoctorContext): DoctorReport {
  const names = macNames(subjects, seen.sightings);
  const servers = subjects.servers.map((subject) => serverReport(subject, seen, context, names));
  const gateway = subjects.gateway && gatewayReport(subjects, seen);
  const all = [...servers.flatMap((server) => [...server.checks, ...server.targets.flatMap((target) => target.checks)]), ...(gateway?.checks ?? [])];
  const failed = all.filter((check) => check.status === "fail").length;
  return {
    config: context.config,
    bng_pid: context.bngPid ?? null,
    interface: subjects.ifname,
    mac: context.ownMac,
    reals: context.reals.map(({ address, answeredByDoctor }) => ({ address: ipToString(address), answered_by_doctor: answeredByDoctor })),
    servers,
    gateway: gateway ?? null,
    checks: all.filter((check) => check.status !== "skip").length,
    failed,
    ok: failed === 0,
  };
}

/** Whose a MAC is, as the fixes name it: "target 2", "the gateway", or bng's own (VRRP). */
interface MacNames {
  of(mac: string): string | undefined;
  isBng(mac: string): boolean;
}

function macNames(subjects: DoctorSubjects, sightings: readonly ArpSighting[]): MacNames {
  const names = new Map<string, string[]>();
  const name = (mac: string, who: string) => names.set(mac, [...(names.get(mac) ?? []), who]);
  const named = new Set<number>();
  for (const { targets } of subjects.servers) {
    for (const { target, real } of targets) {
      if (named.has(target.id)) continue;
      named.add(target.id);
      for (const answer of answersTo(sightings, real, target.ipaddr)) name(answer.mac, `target ${target.id}`);
    }
  }
  const gateway = subjects.gateway;
  if (gateway) for (const answer of answersTo(sightings, gateway.real, gateway.ipaddr)) name(answer.mac, "the gateway");
  return {
    of: (mac) => names.get(mac)?.join(" and "),
    isBng: (mac) => subjects.bngMacs.includes(mac),
  };
}

function serverReport(subject: ServerSubject, seen: Observations, context: DoctorContext, names: MacNames): ServerReport {
  const { server } = subject;
  const vip = ipToString(server.ipaddr);
  // Every ARP frame from the VIP's address but bng's: answers (arp_ignore) and announcements (arp_announce).
  const vipFrames = seen.sightings.filter((frame) => frame.sender === server.ipaddr && !names.isBng(frame.mac) && frame.mac !== context.ownMac);
  const targets = subject.targets.map((target) => targetReport(subject, target, seen, vipFrames, context));
  const targetMacs = new Set(targets.flatMap((target) => (target.mac === null ? [] : [target.mac])));
  const others = [...new Set(vipFrames.filter((frame) => !targetMacs.has(frame.mac)).map((frame) => frame.mac))];
  const checks = others.map((mac): CheckResult => {
    const who = names.of(mac);
    const answers = vipFrames.some((frame) => frame.mac === mac && frame.reply);
    const verb = answers ? "answers ARP for" : "announces in its ARP requests";
    if (who !== undefined) {
      return { check: "vip_arp", status: "fail", text: `${who} (${mac}), not a target of server ${server.id}, ${verb} ${vip}`, fix: `on ${who}: ${ARP_SYSCTLS}, ${KEEP_SYSCTLS}; if it holds ${vip} on a network interface, move it to lo or remove it` };
    }
    return {
      check: "vip_arp",
      status: "fail",
      text: `an unknown host (${mac}) ${verb} ${vip}: clients' packets for ${vip} can go to it instead of bng`,
      fix: `find the host with MAC ${mac} (the switch's MAC table, or \`ip neigh\` on a neighbour) and remove ${vip} from its interfaces, or run ${ARP_SYSCTLS} there`,
    };
  });
  return { id: server.id, vip, port: server.port, protocol: server.protocol, checks, targets };
}

function targetReport(subject: ServerSubject, { target, backup, real, synPort, skip }: TargetSubject, seen: Observations, vipFrames: readonly ArpSighting[], context: DoctorContext): TargetReport {
  const answers = answersTo(seen.sightings, real, target.ipaddr);
  const mac = answers.length === 1 ? answers[0]!.mac : null;
  const who = `target ${target.id}`;
  const vip = ipToString(subject.server.ipaddr);
  const checks: CheckResult[] = [macCheck(who, target.ipaddr, real, answers, context)];
  checks.push(vipArpCheck(who, vip, mac, vipFrames, context.networkOf(subject.server.ipaddr)));
  if (skip !== undefined || synPort === undefined) checks.push({ check: "dsr_path", status: "skip", text: `not checked: ${skip}` });
  else if (mac === null) checks.push({ check: "dsr_path", status: "skip", text: `not run: the SYN goes to ${who}'s MAC, and ARP gave none or several` });
  else {
    const syns = seen.syns.get(synKey(subject.server.id, target.id));
    if (syns) checks.push(dsrPathCheck(who, vip, ipToString(target.ipaddr), synPort, mac, ipToString(real), syns.vip, syns.own));
  }
  return { id: target.id, ipaddr: ipToString(target.ipaddr), port: target.port, backup, enabled: target.enabled, mac, checks };
}

function macCheck(who: string, ip: number, real: number, answers: readonly ArpSighting[], context: DoctorContext): CheckResult {
  const address = ipToString(ip);
  const from = ipToString(real);
  if (answers.length === 1) return { check: "mac", status: "pass", text: `MAC ${answers[0]!.mac} resolves by ARP from ${from}` };
  if (answers.length > 1) {
    return {
      check: "mac",
      status: "fail",
      text: `${answers.length} hosts answer ARP for ${address}: ${answers.map((answer) => answer.mac).join(", ")}`,
      fix: `an address conflict: give ${address} to one host only; until then bng sends ${who}'s clients to whichever answered last`,
    };
  }
  const network = context.networkOf(ip);
  const segment = network ? ` (${ipToString(network.addr)}/${prefixLength(network)})` : "";
  return {
    check: "mac",
    status: "fail",
    text: `${address} does not answer ARP from ${from}: bng cannot forward to ${who} without its MAC`,
    fix: `check that ${who} is up, holds ${address} on the interface it has on this segment${segment} (\`ip -4 addr\` on it), and is on the same switch or VLAN as this box; or correct ${who}'s ipaddr`,
  };
}

function vipArpCheck(who: string, vip: string, mac: string | null, vipFrames: readonly ArpSighting[], network: NetworkDef | undefined): CheckResult {
  const own = mac === null ? [] : vipFrames.filter((frame) => frame.mac === mac);
  if (own.some((frame) => frame.reply)) {
    const prefix = network ? prefixLength(network) : 32;
    return {
      check: "vip_arp",
      status: "fail",
      text: `${who} (${mac}) answers ARP for ${vip}: routers and clients may send ${vip}'s traffic straight to it, past bng`,
      fix: `on ${who}: ${ARP_SYSCTLS}, ${KEEP_SYSCTLS}; if it still answers, ${vip} is on its network interface rather than on lo: \`ip addr del ${vip}/${prefix} dev IFACE; ip addr add ${vip}/32 dev lo\``,
    };
  }
  if (own.length > 0) {
    return {
      check: "vip_arp",
      status: "fail",
      text: `${who} (${mac}) sends ARP requests from ${vip}, telling the segment that ${vip} is at its MAC`,
      fix: `on ${who}: \`sysctl -w net.ipv4.conf.all.arp_announce=2\`, and the same setting in a file in /etc/sysctl.d/ so that it survives a reboot`,
    };
  }
  if (vipFrames.length === 0) return { check: "vip_arp", status: "pass", text: `nobody but bng answers ARP for ${vip}` };
  if (mac === null) return { check: "vip_arp", status: "skip", text: `cannot tell whether ${who} answers ARP for ${vip}: its MAC is not known` };
  return { check: "vip_arp", status: "pass", text: `${who} does not answer ARP for ${vip} (the other hosts that do are listed under the server)` };
}

function dsrPathCheck(who: string, vip: string, address: string, port: number, mac: string, real: string, toVip: SynOutcome, toOwn: SynOutcome): CheckResult {
  const sent = `a SYN to ${vip}:${port} in a frame to ${mac}`;
  if (toVip.kind === "syn-ack") return { check: "dsr_path", status: "pass", text: `${sent} is answered with a SYN-ACK from ${vip} (${toVip.ms.toFixed(1)} ms)` };
  if (toVip.kind === "error") return { check: "dsr_path", status: "fail", text: `${sent} could not be sent: ${toVip.cause}` };
  if (toVip.kind === "rst") {
    const listen = `make the service on ${who} listen on ${vip}:${port} too, or on every address (0.0.0.0:${port}; e.g. nginx \`listen ${port};\` rather than \`listen ${address}:${port};\`)`;
    if (toOwn.kind === "rst") {
      return { check: "dsr_path", status: "fail", text: `${sent} is refused (RST), and so is ${address}:${port}: nothing listens on port ${port} on ${who}`, fix: `start the service on ${who}, listening on ${vip}:${port} or on every address (0.0.0.0:${port})` };
    }
    const ownOnly = toOwn.kind === "syn-ack" ? `; ${address}:${port} accepts: the service listens on ${who}'s own address only` : "";
    return {
      check: "dsr_path",
      status: "fail",
      text: `${sent} is refused (RST): ${vip} is on ${who}, but nothing listens on ${vip}:${port}${ownOnly}`,
      fix: `${listen}; \`ss -tln 'sport = :${port}'\` on ${who} shows where it listens`,
    };
  }
  const addVip = `on ${who}: \`ip addr add ${vip}/32 dev lo\` (and in its network configuration so that it lasts), with ${ARP_SYSCTLS} so that it does not answer ARP for ${vip}`;
  if (toOwn.kind === "syn-ack" || toOwn.kind === "rst") {
    return { check: "dsr_path", status: "fail", text: `${sent} gets no answer, while ${address}:${port} answers: ${vip} is not on ${who}'s loopback`, fix: addVip };
  }
  return {
    check: "dsr_path",
    status: "fail",
    text: `${sent} gets no answer, nor does ${address}:${port}: a firewall on ${who} drops the SYNs, or ${vip} is missing there`,
    fix: `allow TCP port ${port} in ${who}'s firewall (from the clients and from ${real}); check that \`ip addr show dev lo\` on ${who} lists ${vip}/32, else ${addVip.slice(`on ${who}: `.length)}`,
  };
}

function gatewayReport(subjects: DoctorSubjects, seen: Observations): NonNullable<DoctorReport["gateway"]> {
  const gateway = subjects.gateway!;
  const address = ipToString(gateway.ipaddr);
  const from = ipToString(gateway.real);
  const answers = answersTo(seen.sightings, gateway.real, gateway.ipaddr);
  const mac = answers[0]?.mac ?? null;
  if (mac === null) {
    return {
      ipaddr: address,
      mac,
      checks: [{ check: "gateway_ping", status: "fail", text: `gateway ${address} does not answer ARP from ${from}`, fix: `check the gateway block's ipaddr, and that the router is on the same switch or VLAN as this box` }],
    };
  }
  return { ipaddr: address, mac, checks: [pingCheck(address, mac, from, seen.gatewayPing)] };
}

function pingCheck(address: string, mac: string, from: string, outcome: PingOutcome | undefined): CheckResult {
  if (outcome?.kind === "reply") return { check: "gateway_ping", status: "pass", text: `gateway ${address} (${mac}) answers ping from ${from} (${outcome.ms.toFixed(1)} ms)` };
  if (outcome?.kind === "error") return { check: "gateway_ping", status: "fail", text: `the ping of gateway ${address} could not be sent: ${outcome.cause}` };
  return {
    check: "gateway_ping",
    status: "fail",
    text: `gateway ${address} (${mac}) does not answer ping from ${from}`,
    fix: `allow ICMP echo requests from ${from} on ${address} (its firewall, or net.ipv4.icmp_echo_ignore_all=0 on Linux), or correct the gateway block's ipaddr`,
  };
}
