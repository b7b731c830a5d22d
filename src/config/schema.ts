// What each block and `set` accepts: the parameter names with the shape of their value
// (read by the parser), and a valibot schema per block that checks every value, applies
// the defaults and produces the typed fields of the model.
import * as v from "valibot";
import { didYouMean, excerpt } from "./errors.ts";
import { AgentCheck, AlertPath, HttpCheck, IntervalCheck, PortCheck, ScriptCheck } from "./health-schema.ts";
import { DEFAULT_SESSION_TIMEOUT_S, DOWN_POLICIES, IO_BACKENDS, MAX_OBJECT_ID, METHODS, ipToString, type Settings } from "./model.ts";
import { isWholeNumberIn, parseDottedAddress, wholeNumber } from "./values.ts";

/**
 * How the parser turns a parameter's token into the value its schema receives:
 * address -> unsigned 32-bit number; number -> its digits as written (the schema bounds them
 * as text, so a digit run of any length is an error quoting it); ids -> number[] of ids, each
 * bounded before a range is expanded (a lone number is a one-item list); tuple -> the text of
 * `80,3,10` as written; path -> a string (quoted or bare); pathTuple -> `"PATH",3,10` as
 * { path, tuple }; word/text -> string (text is a name: a quoted string reads naturally there).
 */
export type ValueShape = "address" | "number" | "ids" | "tuple" | "path" | "pathTuple" | "word" | "text";

export interface ParamSpec {
  shape: ValueShape;
  /** The parameter may be written several times (`tcpopen`: every check must pass). */
  repeats?: true;
}

export type BlockKind = "interface" | "network" | "gateway" | "vrrp" | "server" | "target";

export const BLOCK_PARAMS: Record<BlockKind, Record<string, ParamSpec>> = {
  interface: { name: { shape: "word" }, access: { shape: "word" } },
  network: {
    name: { shape: "text" },
    addr: { shape: "address" },
    mask: { shape: "address" },
    real: { shape: "address" },
    virt: { shape: "address" },
    nat: { shape: "word" },
    interface: { shape: "word" },
  },
  gateway: { ipaddr: { shape: "address" }, ping: { shape: "tuple" } },
  vrrp: {
    vrid: { shape: "number" },
    priority: { shape: "number" },
    network: { shape: "number" },
    interval: { shape: "number" },
    preempt: { shape: "word" },
    sync: { shape: "address" },
    key: { shape: "text" },
  },
  server: {
    name: { shape: "text" },
    ipaddr: { shape: "address" },
    port: { shape: "number" },
    protocol: { shape: "word" },
    targets: { shape: "ids" },
    backup: { shape: "ids" },
    method: { shape: "word" },
    timeout: { shape: "number" },
    persistence: { shape: "word" },
    downpolicy: { shape: "word" },
  },
  target: {
    name: { shape: "text" },
    ipaddr: { shape: "address" },
    port: { shape: "number" },
    protocol: { shape: "word" },
    tcpopen: { shape: "tuple", repeats: true },
    ping: { shape: "tuple" },
    arp: { shape: "tuple" },
    agent: { shape: "tuple" },
    script: { shape: "pathTuple" },
    http: { shape: "pathTuple" },
    dsrcheck: { shape: "tuple", repeats: true },
    dsr: { shape: "word" },
    weight: { shape: "number" },
    alert: { shape: "path" },
  },
};

type Message<TIssue extends v.BaseIssue<unknown>> = (issue: TIssue) => string;

function shown(input: unknown): string {
  return excerpt(Array.isArray(input) ? input.join(",") : String(input));
}

/** "expected X, found `Y`": every value message says both. */
function expected<TIssue extends v.BaseIssue<unknown>>(what: string): Message<TIssue> {
  return (issue) => `expected ${what}, found \`${shown(issue.input)}\``;
}

function oneOf<const TOptions extends readonly string[]>(options: TOptions) {
  return v.picklist(
    options,
    (issue) => `expected one of ${options.join(", ")}, found \`${shown(issue.input)}\`${didYouMean(shown(issue.input), options)}`,
  );
}

/** Digits as written, bounded as text before they become a number. */
function integer(min: number, max: number, what: string) {
  const message = expected(`${what} (a whole number ${min}-${max})`);
  return v.pipe(
    v.string(message),
    v.check((digits) => isWholeNumberIn(digits, min, max), message),
    v.transform((digits) => wholeNumber(digits)!),
  );
}

const Port = integer(0, 65535, "a port number");
const Address = v.number(expected("a dotted IPv4 address"));

export function isContiguousMask(mask: number): boolean {
  const inverted = ~mask >>> 0;
  // The host part of a contiguous mask is 2^k - 1: adding one leaves no bit in common.
  return (inverted & (inverted + 1)) === 0;
}

const Mask = v.pipe(
  Address,
  v.check(isContiguousMask, (issue) => `mask ${ipToString(issue.input)} is not contiguous: expected ones followed by zeros, e.g. 255.255.255.0`),
);

// The parser hands over arrays of ids it has bounded (1-MAX_OBJECT_ID) before expanding ranges;
// checking them item by item again would cost a schema run per id of every list.
const IdList = v.pipe(
  v.custom<number[]>(Array.isArray),
  v.check((ids) => new Set(ids).size === ids.length, (issue) => `list \`${shown(issue.input)}\` names an id twice: expected each id once`),
);

const Name = v.string();

// Linux limits interface names to 15 bytes (IFNAMSIZ - 1) without spaces or slashes.
export const InterfaceName = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9_.:@-]{1,15}$/, expected("a Linux interface name (at most 15 letters, digits or _.:@-), e.g. eth0")),
);

export const InterfaceBlock = v.object({
  name: InterfaceName,
  access: v.optional(oneOf(["raw"] as const)),
});

export const NetworkBlock = v.pipe(
  v.object({
    name: v.optional(Name),
    addr: Address,
    mask: Mask,
    real: v.optional(Address),
    virt: v.optional(Address),
    nat: v.optional(oneOf(["inside", "outside"] as const)),
    interface: v.optional(Name),
  }),
  v.forward(
    v.partialCheck(
      [["addr"], ["mask"]],
      (network) => ((network.addr & ~network.mask) >>> 0) === 0,
      (issue) =>
        `network address ${ipToString(issue.input.addr)} has host bits set under mask ${ipToString(issue.input.mask)}: expected ${ipToString((issue.input.addr & issue.input.mask) >>> 0)}`,
    ),
    ["addr"],
  ),
);

export const GatewayBlock = v.object({ ipaddr: Address, ping: v.optional(IntervalCheck("ping")) });

export const VrrpBlock = v.object({
  vrid: integer(1, 255, "a virtual router id"),
  priority: integer(1, 254, "a priority"),
  network: integer(1, MAX_OBJECT_ID, "a network id"),
  interval: v.optional(integer(1, 255, "an advertisement interval in seconds"), "1"),
  preempt: v.optional(oneOf(["enable", "disable"] as const), "enable"),
  sync: v.optional(Address),
  key: v.optional(v.pipe(v.string(), v.check((key) => key.length >= 1 && key.length <= 256, expected("a key of 1-256 characters")))),
});

export const ServerBlock = v.object({
  name: v.optional(Name),
  ipaddr: Address,
  port: Port,
  protocol: oneOf(["tcp", "udp"] as const),
  targets: IdList,
  backup: v.optional(IdList, []),
  method: v.optional(oneOf(METHODS), "rr"),
  timeout: v.optional(integer(1, 31536000, "an idle timeout in seconds"), String(DEFAULT_SESSION_TIMEOUT_S)),
  persistence: v.optional(oneOf(["client", "clientport"] as const), "client"),
  downpolicy: v.optional(oneOf(DOWN_POLICIES), "reschedule"),
});

export const TargetBlock = v.object({
  name: v.optional(Name),
  ipaddr: Address,
  // 0: the target takes the server's port unchanged (the only possibility in DSR).
  port: v.optional(Port, "0"),
  protocol: v.optional(oneOf(["tcp", "udp"] as const), "tcp"),
  tcpopen: v.optional(v.array(PortCheck("tcpopen")), []),
  ping: v.optional(IntervalCheck("ping")),
  arp: v.optional(IntervalCheck("arp")),
  agent: v.optional(AgentCheck),
  script: v.optional(ScriptCheck),
  http: v.optional(HttpCheck),
  dsrcheck: v.optional(v.array(PortCheck("dsrcheck")), []),
  dsr: v.optional(oneOf(["enable", "disable"] as const), "disable"),
  weight: v.optional(integer(1, 65535, "a weight"), "1"),
  alert: v.optional(AlertPath),
});

export const BLOCK_SCHEMAS = {
  interface: InterfaceBlock,
  network: NetworkBlock,
  gateway: GatewayBlock,
  vrrp: VrrpBlock,
  server: ServerBlock,
  target: TargetBlock,
} as const satisfies Record<BlockKind, v.GenericSchema>;

export const LARGEST_MAGLEV_SIZE = 1048573;
const MAGLEV_SIZE = expected(`a prime number below ${LARGEST_MAGLEV_SIZE + 1}, e.g. 65537`);

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let divisor = 2; divisor * divisor <= n; divisor++) if (n % divisor === 0) return false;
  return true;
}

function isListenAddress(text: string): boolean {
  const match = /^([0-9.]+):([0-9]{1,5})$/.exec(text);
  return match !== null && parseDottedAddress(match[1]!).ok && Number(match[2]) >= 1 && Number(match[2]) <= 65535;
}

interface SettingSpec {
  key: keyof Settings;
  shape: "number" | "word";
  schema: v.GenericSchema<unknown, Settings[keyof Settings]>;
  /** The value as `set` writes it, when that is not its plain text (booleans). */
  format?: (value: Settings[keyof Settings]) => string;
}

/** Kernel routing tables that are not bng's to fill, and why. */
const RESERVED_TABLES: Record<number, string> = {
  253: "the kernel's `default` table",
  254: "the kernel's `main` table, where the box's own routes are",
  255: "the kernel's `local` table, of the box's own addresses",
};

const AnnounceTable = v.pipe(
  integer(1, 4294967295, "a routing table id"),
  v.check(
    (table) => RESERVED_TABLES[table] === undefined,
    (issue) => `table ${issue.input} is ${RESERVED_TABLES[issue.input]}: expected a table of bng's own, e.g. 100 (1-252 or 256-4294967295)`,
  ),
);

/** `set NAME VALUE`: the names bng knows, the model field each one sets and its check. */
export const SETTINGS: Record<string, SettingSpec> = {
  ipforwarding: { key: "ipforwarding", shape: "number", schema: integer(0, 1, "0 or 1") },
  workers: { key: "workers", shape: "number", schema: integer(1, 64, "a number of worker threads") },
  sessions: { key: "sessionCapacity", shape: "number", schema: integer(1, 16777216, "a session table capacity") },
  maglevsize: {
    key: "maglevSize",
    shape: "number",
    // The bound comes first: trial division of a huge number would take forever.
    schema: v.pipe(
      v.string(MAGLEV_SIZE),
      v.check((digits) => isWholeNumberIn(digits, 2, LARGEST_MAGLEV_SIZE) && isPrime(wholeNumber(digits)!), MAGLEV_SIZE),
      v.transform((digits) => wholeNumber(digits)!),
    ),
  },
  arprefresh: { key: "arpRefreshS", shape: "number", schema: integer(1, 3600, "seconds between ARP refreshes") },
  metrics: { key: "metrics", shape: "word", schema: v.pipe(v.string(), v.check(isListenAddress, expected("ADDRESS:PORT to serve metrics on, e.g. 127.0.0.1:9100"))) },
  io: { key: "io", shape: "word", schema: oneOf(IO_BACKENDS) },
  announce: { key: "announceTable", shape: "number", schema: AnnounceTable },
  syslog: {
    key: "syslog",
    shape: "word",
    schema: v.pipe(oneOf(["enable", "disable"] as const), v.transform((word) => word === "enable")),
    format: (value) => (value ? "enable" : "disable"),
  },
  newsessions: { key: "newSessionsPerS", shape: "number", schema: integer(1, 10000000, "new sessions per second") },
  fintimeout: { key: "finTimeoutS", shape: "number", schema: integer(1, 600, "seconds a closed connection's session lives") },
};

/** Every issue of a value, or of a block, with the parameter it concerns (`index` in repeated ones). */
export interface SchemaIssue {
  param: string | undefined;
  index: number | undefined;
  missing: boolean;
  message: string;
}

export function issuesOf(issues: readonly v.BaseIssue<unknown>[]): SchemaIssue[] {
  return issues.map((issue) => {
    const [first, second] = issue.path ?? [];
    const param = first && typeof first.key === "string" ? first.key : undefined;
    const index = second && typeof second.key === "number" ? second.key : undefined;
    return { param, index, missing: first?.origin === "key", message: issue.message };
  });
}
