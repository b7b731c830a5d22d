// parse(print(x)) == x, positions and file name aside: for every example configuration and
// for a few hundred random models that use every feature of the language.
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { loadConfigFile, parseConfig, printConfig } from "../../src/config/index.ts";
import {
  DEFAULT_SETTINGS,
  DOWN_POLICIES,
  IO_BACKENDS,
  METHODS,
  type Config,
  type RawStatement,
  type InterfaceDef,
  type NetworkDef,
  type ServerDef,
  type Settings,
  type SourcePos,
  type TargetDef,
} from "../../src/config/model.ts";
import { pick, seededRandom, withoutPositions } from "./helpers.ts";

const POS: SourcePos = { file: "generated", line: 1, column: 1 };

function roundTrip(config: Config): Config {
  const printed = printConfig(config);
  const result = parseConfig(printed, "printed.conf");
  if (!result.ok) throw new Error(`${result.errors.map((d) => `${d.line}:${d.column} ${d.message}`).join("\n")}\n${printed}`);
  return result.config;
}

// bird-*.conf are BIRD's configurations (scale-out), not bng's.
describe.each(readdirSync("config").filter((name) => name.endsWith(".conf") && !name.startsWith("bird-")))("config/%s", (name) => {
  test("reads back as the same model after printing", () => {
    const result = loadConfigFile(`config/${name}`);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(withoutPositions(roundTrip(result.config))).toEqual(withoutPositions(result.config));
  });
});

/** BalanceNG statements bng keeps as written: words, strings with what needs quoting, blocks. */
const RAW_STATEMENTS: RawStatement[] = [
  { keyword: "ipalias", args: ["1", "{", "addr", "172.16.1.20", "}"].map((text) => ({ text, quoted: false })), pos: POS },
  { keyword: "gwhc", args: [{ text: "enable", quoted: false }, { text: 'a "b" // c', quoted: true }], pos: POS },
  { keyword: "arp-insert", args: [{ text: "172.16.1.5", quoted: false }, { text: "02:00:00:00:00:05", quoted: false }], pos: POS },
  { keyword: "set bmduration", args: [{ text: "10", quoted: false }], pos: POS },
];

function generate(random: () => number): Config {
  const int = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
  const maybe = <T>(value: () => T): T | undefined => (random() < 0.5 ? value() : undefined);
  const distinct = (count: number, min: number, max: number): number[] => {
    const ids = new Set<number>();
    while (ids.size < count) ids.add(int(min, max));
    return [...ids];
  };
  // Names exercise quoting: spaces, quotes, backslashes, `//`, braces and non-ASCII text.
  const text = (): string => Array.from({ length: int(0, 12) }, () => pick(random, ["a", "Z", " ", '"', "\\", "/", "{", "}", "é", "7", "-", ","])).join("");
  const lifecycle = () => ({ registered: random() < 0.7, enabled: random() < 0.7 });

  const settings: Settings = { ...DEFAULT_SETTINGS };
  const explicitSettings: (keyof Settings)[] = [];
  const choices: { [K in keyof Settings]: () => Settings[K] } = {
    ipforwarding: () => int(0, 1),
    workers: () => int(1, 64),
    sessionCapacity: () => int(1, 16777216),
    maglevSize: () => pick(random, [3, 251, 65537, 1048573]),
    arpRefreshS: () => int(1, 3600),
    metrics: () => `127.0.0.${int(0, 255)}:${int(1, 65535)}`,
    io: () => pick(random, IO_BACKENDS),
    announceTable: () => pick(random, [1, 100, 252, 256, 4294967295]),
    syslog: () => random() < 0.5,
    newSessionsPerS: () => int(1, 10000000),
    finTimeoutS: () => int(1, 600),
  };
  for (const key of Object.keys(choices) as (keyof Settings)[]) {
    if (random() < 0.4) {
      (settings as Record<keyof Settings, unknown>)[key] = choices[key]();
      explicitSettings.push(key);
    }
  }
  explicitSettings.sort(() => random() - 0.5);

  const interfaces: InterfaceDef[] = distinct(int(1, 3), 1, 9).map((id, index) => {
    const name = `${pick(random, ["eth", "ens", "veth", "br-x@"])}${index}`;
    return random() < 0.5 && !name.includes("@")
      ? { id: undefined, name, access: undefined, unimplemented: [], registered: true, enabled: true, pos: POS }
      : { id, name, access: maybe(() => "raw" as const), unimplemented: [], ...lifecycle(), pos: POS };
  });
  const interfaceRefs = interfaces.flatMap((def) => (def.id === undefined ? [def.name] : [def.name, String(def.id)]));

  const networks: NetworkDef[] = distinct(int(1, 3), 1, 400).map((id) => {
    const prefix = int(8, 30);
    const mask = (0xffffffff << (32 - prefix)) >>> 0;
    const addr = (int(0, 0xffffffff) & mask) >>> 0;
    const host = (): number => (addr | int(1, (~mask >>> 0) - 1)) >>> 0;
    return {
      id,
      name: maybe(text),
      addr,
      mask,
      real: maybe(host),
      virt: maybe(host),
      nat: maybe(() => pick(random, ["inside", "outside"] as const)),
      interfaceRef: maybe(() => pick(random, interfaceRefs)),
      unimplemented: [],
      ...lifecycle(),
      pos: POS,
    };
  });

  const targetIds = distinct(int(1, 8), 1, 2000);
  // bng's own addresses: no VIP and no target may use one.
  const reals = new Set(networks.flatMap((network) => (network.real === undefined ? [] : [network.real])));
  const services = new Set<string>();
  const servers: ServerDef[] = distinct(int(1, 3), 1, 600).map((id) => {
    const network = pick(random, networks);
    const chosen = targetIds.filter(() => random() < 0.6);
    const members = chosen.length > 0 ? chosen : [targetIds[0]!];
    const backup = targetIds.filter((target) => !members.includes(target) && random() < 0.3);
    // Each server needs an address, port and protocol of its own.
    let service: Pick<ServerDef, "ipaddr" | "port" | "protocol">;
    do {
      service = {
        ipaddr: (network.addr | int(1, (~network.mask >>> 0) - 1)) >>> 0,
        port: pick(random, [0, 80, 443, int(1, 65535)]),
        protocol: pick(random, ["tcp", "udp"] as const),
      };
    } while (services.has(JSON.stringify(service)) || reals.has(service.ipaddr));
    services.add(JSON.stringify(service));
    return {
      id,
      name: maybe(text),
      ...service,
      targets: members,
      backup,
      method: pick(random, METHODS),
      sessionTimeoutS: pick(random, [600, int(1, 86400)]),
      persistence: pick(random, ["client", "clientport"] as const),
      downPolicy: pick(random, DOWN_POLICIES),
      unimplemented: [],
      ...lifecycle(),
      pos: POS,
    };
  });

  // A VIP must not be a target's address either.
  const claimed = new Set([...reals, ...servers.map((server) => server.ipaddr)]);
  const targetAddress = (): number => {
    let ip: number;
    do ip = int(0, 0xffffffff);
    while (claimed.has(ip));
    return ip;
  };
  const targets: TargetDef[] = targetIds.map((id) => {
    const ports = new Set(servers.filter((s) => s.targets.includes(id) || s.backup.includes(id)).map((s) => s.port));
    const dsr = random() < 0.7;
    // A DSR target's port must be its servers' port, or left out.
    const port = dsr ? (ports.size === 1 && random() < 0.5 ? [...ports][0]! : 0) : int(0, 65535);
    const interval = int(1, 30);
    return {
      id,
      name: maybe(text),
      ipaddr: targetAddress(),
      port,
      protocol: pick(random, ["tcp", "udp"] as const),
      tcpopen: Array.from({ length: int(0, 3) }, () => ({ port: int(1, 65535), intervalS: interval, timeoutS: interval + int(0, 30), pos: POS })),
      ping: maybe(() => ({ intervalS: interval, timeoutS: interval * 2, pos: POS })),
      arp: maybe(() => ({ intervalS: interval, timeoutS: interval + int(0, 30), pos: POS })),
      agent: maybe(() => ({ port: int(1, 65535), intervalS: interval, timeoutS: interval + int(0, 30), pos: POS })),
      script: maybe(() => ({ path: `/usr/lib/${text().replace(/[^a-z/é]/gi, "x")}`, intervalS: interval, timeoutS: interval + int(0, 30), pos: POS })),
      http: maybe(() => ({ path: `/${pick(random, ["", "healthz", "a/b?c=d&e", '"quoted"', "x,1,2"])}`, port: int(1, 65535), intervalS: interval, timeoutS: interval + int(0, 30), pos: POS })),
      dsrcheck: Array.from({ length: int(0, 2) }, () => ({ port: int(1, 65535), intervalS: interval, timeoutS: interval + int(0, 30), pos: POS })),
      dsr,
      weight: pick(random, [1, int(1, 65535)]),
      alert: maybe(() => `/etc/bng/${text().replace(/[\u0000-\u001f]/g, "")}`),
      unimplemented: maybe(() => [{ keyword: "limit", args: [pick(random, [{ text: "100", quoted: false }, { text: "a b", quoted: true }])], pos: POS }]) ?? [],
      ...lifecycle(),
      pos: POS,
    };
  });

  return {
    file: "generated",
    modules: Array.from({ length: int(0, 4) }, () => pick(random, ["arp", "ping", "hc", "slb", "vrrp", "rt", "nat"])),
    settings,
    explicitSettings,
    interfaces,
    networks,
    gateway: maybe(() => ({ ipaddr: int(0, 0xffffffff), ping: maybe(() => ({ intervalS: 3, timeoutS: 8, pos: POS })), unimplemented: [], pos: POS })),
    servers,
    targets,
    // VRRP runs on a network that takes part and has bng's own address.
    vrrp: networks.filter((network) => network.real !== undefined && network.registered && network.enabled).map((network) => ({
      vrid: int(1, 255),
      priority: int(1, 254),
      networkId: network.id,
      intervalS: int(1, 255),
      preempt: random() < 0.5,
      sync: undefined,
      key: maybe(() => `k${text()}`),
      unimplemented: [],
      pos: POS,
    }))[0],
    unimplemented: Array.from({ length: int(0, 3) }, () => pick(random, RAW_STATEMENTS)),
  };
}

test("300 generated models survive print and parse unchanged", () => {
  const random = seededRandom(20070928);
  for (let i = 0; i < 300; i++) {
    const model = generate(random);
    expect(withoutPositions(roundTrip(model))).toEqual(withoutPositions(model));
  }
});
