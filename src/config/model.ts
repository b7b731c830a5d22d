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

/** New methods go at the end: the data plane numbers methods by their index here. */
export const METHODS = ["rr", "random", "hash", "session", "wrr", "wrandom", "first", "maglev", "agent", "bandwidth"] as const;
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
  /** BalanceNG parameters bng accepts without effect (block form only). */
  unimplemented: RawStatement[];
  pos: SourcePos;
}

/**
 * A BalanceNG statement or block parameter that bng accepts, keeps and prints back, but does
 * not act on (docs/config.md lists them with their BalanceNG meaning; each one is a warning).
 */
export interface RawStatement {
  /** `ipalias`, `gwhc`, `set bmduration`, `limit`: the keyword, with `set`'s name. */
  keyword: string;
  /** The rest of the statement as written: words, numbers and `{` `}` as text, strings unquoted. */
  args: RawToken[];
  pos: SourcePos;
}

export interface RawToken {
  text: string;
  /** Written as a double-quoted string (printed back quoted). */
  quoted: boolean;
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
  unimplemented: RawStatement[];
  pos: SourcePos;
}

export interface GatewayDef {
  ipaddr: number;
  ping: IntervalCheck | undefined;
  unimplemented: RawStatement[];
  pos: SourcePos;
}

/**
 * Every health check runs every `intervalS` seconds (1-86400) and marks its target down after
 * `timeoutS` seconds (interval-86400) without a success; the first success marks it up.
 */
export interface IntervalCheck {
  intervalS: number;
  timeoutS: number;
  pos: SourcePos;
}

/** `ping I,T` (ICMP echo) and `arp I,T` (an ARP reply from the target's address). */
export type PingCheck = IntervalCheck;

/** `tcpopen P,I,T`: a TCP connect to the target's address, port P; `dsrcheck P,I,T`: a SYN to VIP:P in a frame to the target's MAC. */
export interface TcpOpenCheck extends IntervalCheck {
  port: number;
}

/** `agent P,I,T`: a UDP query to the target's agent on port P; its reply is the target's load. */
export type AgentCheck = TcpOpenCheck;

/** `script "PATH",I,T`: PATH run with the target's address and port; exit 0 within I s is a success. */
export interface ScriptCheck extends IntervalCheck {
  /** Absolute path of the program. */
  path: string;
}

/** `http "PATH",P,I,T`: GET PATH from the target's address, port P; a 2xx or 3xx status is a success. */
export interface HttpCheck extends IntervalCheck {
  /** The request path, starting with `/`. */
  path: string;
  port: number;
}

/** `downpolicy`: what becomes of the packets of clients whose target went down. */
export const DOWN_POLICIES = ["reschedule", "hold", "reset"] as const;
export type DownPolicy = (typeof DOWN_POLICIES)[number];

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
  /**
   * `downpolicy`, default reschedule: a client of a target that went down gets a new target
   * on its next packet (reschedule), keeps being sent to it until its session expires (hold),
   * or has its TCP packets answered with a RST from the VIP (reset).
   */
  downPolicy: DownPolicy;
  unimplemented: RawStatement[];
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
  arp: PingCheck | undefined;
  agent: AgentCheck | undefined;
  script: ScriptCheck | undefined;
  http: HttpCheck | undefined;
  /** `dsrcheck`: like tcpopen, through the DSR path (the VIP's port, in a frame to the target's MAC); may repeat. */
  dsrcheck: TcpOpenCheck[];
  dsr: boolean;
  weight: number;
  /** `alert "PATH"`: run on every change of the target's state with TARGET_ID ADDRESS NEW_STATE CAUSE. */
  alert: string | undefined;
  unimplemented: RawStatement[];
  pos: SourcePos;
}

/** `vrrp { ... }`: VRRPv2 (RFC 3768) high availability with session sync to the peer. */
export interface VrrpDef {
  /** 1-255, the same on both nodes. */
  vrid: number;
  /** 1-254; the higher wins, a tie goes to the higher real address. */
  priority: number;
  /** The network whose interface carries the adverts, sent from its `real` address. */
  networkId: number;
  /** Advertisement interval in whole seconds, 1-255 (VRRPv2's field), default 1. */
  intervalS: number;
  /** `preempt enable|disable`, default enable: a returning higher-priority node takes over. */
  preempt: boolean;
  /** `sync ADDRESS`: the peer's real address, to which sessions are replicated. */
  sync: number | undefined;
  /** `key "secret"`: authenticates sync messages (HMAC). */
  key: string | undefined;
  unimplemented: RawStatement[];
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
  /** `set io mmsg|ring|xdp|auto`: packet I/O backend, default mmsg; auto tries xdp, then ring, then mmsg. */
  io: IoBackend;
  /** `set announce TABLE`: kernel routing table (1-4294967295 but 253-255) where VIPs with a usable target are published as /32 routes. */
  announceTable: number | undefined;
  /** `set syslog enable|disable`: log to syslog (/dev/log, RFC 5424) too, default disable. */
  syslog: boolean;
  /** `set newsessions N`: new sessions per second bng creates (1-10000000, default 50000); above it new clients are served statelessly. */
  newSessionsPerS: number;
  /** `set fintimeout S`: idle timeout in seconds (1-600, default 10) of a session once its client sent TCP FIN or RST. */
  finTimeoutS: number;
}

export const IO_BACKENDS = ["mmsg", "ring", "xdp", "auto"] as const;
export type IoBackend = (typeof IO_BACKENDS)[number];
/** An engine that runs: `set io` but `auto`, which picks one of these at start. */
export type PacketEngine = Exclude<IoBackend, "auto">;

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
  vrrp: VrrpDef | undefined;
  /** Top-level BalanceNG statements (and `set` names) bng accepts without effect, in file order. */
  unimplemented: RawStatement[];
}

export const DEFAULT_SETTINGS: Settings = {
  ipforwarding: undefined,
  workers: 1,
  sessionCapacity: 262144,
  maglevSize: 65537,
  arpRefreshS: 30,
  metrics: undefined,
  io: "mmsg",
  announceTable: undefined,
  syslog: false,
  newSessionsPerS: 50000,
  finTimeoutS: 10,
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

/** Which of `network`'s two non-host addresses `ip` is, if either (a /31 or /32 has none). */
export function nonHostAddress(network: NetworkDef, ip: number): string | undefined {
  if (prefixLength(network) > 30) return undefined;
  if (ip === network.addr) return "the network address";
  if (ip === broadcastAddress(network)) return "the broadcast address";
  return undefined;
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
