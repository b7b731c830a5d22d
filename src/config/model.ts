// The typed configuration model every other part of bng consumes. The parser produces it,
// the printer writes it back; parse(print(model)) equals model once source positions
// (`pos`) are ignored.

/** Where a value came from, for error messages: 1-based line and column. */
export interface SourcePos {
  file: string;
  line: number;
  column: number;
}

export type Protocol = "tcp" | "udp";

/**
 * Highest server, target, network or interface id. The data plane keeps per-id arrays
 * (sessions, counters) in shared memory, so ids are bounded; BalanceNG itself allows at most
 * 512 servers and 1024 targets.
 */
export const MAX_OBJECT_ID = 4095;

/** Longest health-check interval or timeout: a day. Longer ones are config errors (and timers past 2^31 ms misfire). */
export const MAX_CHECK_SECONDS = 86400;

export const METHODS = ["rr", "random", "hash", "session", "wrr", "wrandom", "first", "maglev"] as const;
export type Method = (typeof METHODS)[number];

/** How a session is keyed: by client address (BalanceNG's default) or client address and port. */
export type Persistence = "client" | "clientport";

/** Lifecycle shared by every numbered object: defined, then registered, then enabled. */
export interface Lifecycle {
  registered: boolean;
  enabled: boolean;
}

/**
 * `interface eth0` (short form: id undefined) or `interface 1 { name eth0 access raw }`.
 */
export interface InterfaceDef extends Lifecycle {
  id: number | undefined;
  name: string;
  access: "raw" | undefined;
  pos: SourcePos;
}

export interface NetworkDef extends Lifecycle {
  id: number;
  name: string | undefined;
  /** Network address and mask as 32-bit unsigned integers. */
  addr: number;
  mask: number;
  /** bng's own address on this network: source of ARP requests and health checks. */
  real: number | undefined;
  /** Shared address (routing mode / VRRP); parsed and kept, not used by DSR. */
  virt: number | undefined;
  nat: "inside" | "outside" | undefined;
  /** The interface reference exactly as written: a name (`eth0`) or an interface block id (`1`). */
  interfaceRef: string | undefined;
  pos: SourcePos;
}

export interface GatewayDef {
  ipaddr: number;
  ping: PingCheck | undefined;
  pos: SourcePos;
}

export interface TcpOpenCheck {
  port: number;
  intervalS: number;
  timeoutS: number;
  pos: SourcePos;
}

export interface PingCheck {
  intervalS: number;
  timeoutS: number;
  pos: SourcePos;
}

export interface ServerDef extends Lifecycle {
  id: number;
  name: string | undefined;
  ipaddr: number;
  /** 0 = every port. */
  port: number;
  protocol: Protocol;
  targets: number[];
  backup: number[];
  method: Method;
  /** Idle timeout of this server's sessions in seconds (`timeout`, default 600). */
  sessionTimeoutS: number;
  persistence: Persistence;
  pos: SourcePos;
}

export interface TargetDef extends Lifecycle {
  id: number;
  name: string | undefined;
  ipaddr: number;
  port: number;
  protocol: Protocol;
  tcpopen: TcpOpenCheck[];
  ping: PingCheck | undefined;
  dsr: boolean;
  weight: number;
  pos: SourcePos;
}

/** `set NAME VALUE` settings bng knows, with their defaults applied. */
export interface Settings {
  /** `set ipforwarding 0|1`: accepted for compatibility; DSR never forwards through the kernel. */
  ipforwarding: number | undefined;
  /** `set workers N`: data-plane worker threads (PACKET_FANOUT group), default 1. */
  workers: number;
  /** `set sessions N`: capacity of the session table, default 262144. */
  sessionCapacity: number;
  /** `set maglevsize N`: prime size of the Maglev lookup table, default 65537. */
  maglevSize: number;
  /** `set arprefresh S`: seconds between ARP refreshes of target MACs, default 30. */
  arpRefreshS: number;
  /** `set metrics ADDRESS:PORT`: serve Prometheus /metrics over HTTP. */
  metrics: string | undefined;
  /** `set io mmsg|ring`: packet I/O backend, default mmsg. */
  io: "mmsg" | "ring";
}

export interface Config {
  file: string;
  /** `modules a,b,c`: accepted and recorded, no effect (bng has every feature built in). */
  modules: string[];
  settings: Settings;
  /** Which `set` names were written explicitly (so the printer writes only those). */
  explicitSettings: (keyof Settings)[];
  interfaces: InterfaceDef[];
  networks: NetworkDef[];
  gateway: GatewayDef | undefined;
  servers: ServerDef[];
  targets: TargetDef[];
}

export const DEFAULT_SETTINGS: Settings = {
  ipforwarding: undefined,
  workers: 1,
  sessionCapacity: 262144,
  maglevSize: 65537,
  arpRefreshS: 30,
  metrics: undefined,
  io: "mmsg",
};

export const DEFAULT_SESSION_TIMEOUT_S = 600;

export function ipToString(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** Whether an object takes part: registered and enabled. */
export function isActive(object: Lifecycle): boolean {
  return object.registered && object.enabled;
}

/** Why an object that must take part does not, and the lines that would make it: "disabled: add 'enable network 1'". */
export function inactiveReason(kind: string, id: number, object: Lifecycle): string {
  const missing = [...(object.registered ? [] : [`register ${kind} ${id}`]), ...(object.enabled ? [] : [`enable ${kind} ${id}`])];
  const state = !object.registered && !object.enabled ? "neither registered nor enabled" : object.registered ? "disabled" : "not registered";
  return `${state}: add '${missing.join("' and '")}'`;
}

export function networkContains(network: NetworkDef, ip: number): boolean {
  return ((ip & network.mask) >>> 0) === network.addr;
}

/** The prefix length of a network's (contiguous) mask: 24 for 255.255.255.0. */
export function prefixLength(network: NetworkDef): number {
  return 32 - Math.log2((~network.mask >>> 0) + 1);
}

/** A network as `ADDRESS/PREFIX`: 172.16.1.0/24. */
export function cidr(network: NetworkDef): string {
  return `${ipToString(network.addr)}/${prefixLength(network)}`;
}

/** A network's broadcast address: every host bit set (172.16.1.255 in 172.16.1.0/24). */
export function broadcastAddress(network: NetworkDef): number {
  return (network.addr | ~network.mask) >>> 0;
}

/**
 * The network a VIP is served in: the most specific network holding it that takes part, else
 * (so that the reason can be given) the most specific one holding it.
 */
export function vipNetwork(config: Config, ip: number): NetworkDef | undefined {
  const holding = config.networks.filter((network) => networkContains(network, ip)).sort((a, b) => b.mask - a.mask);
  return holding.find(isActive) ?? holding[0];
}

/** The interface a network is on: the declared one it names (by number or by name), or the only one. */
export function networkInterface(config: Config, network: NetworkDef): { name: string; def: InterfaceDef | undefined } | undefined {
  const ref = network.interfaceRef;
  if (ref === undefined) return config.interfaces.length === 1 ? { name: config.interfaces[0]!.name, def: config.interfaces[0] } : undefined;
  const def =
    config.interfaces.find((candidate) => candidate.id !== undefined && String(candidate.id) === ref) ?? config.interfaces.find((candidate) => candidate.name === ref);
  return { name: def?.name ?? ref, def };
}
