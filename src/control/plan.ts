// What `bng run` needs from a configuration beyond it being valid: one interface to run the
// data plane on, each network's own address, DSR targets it can reach at layer 2 there, and
// only what DSR can do. Pure, so every refusal is tested without a kernel.
import {
  cidr,
  inactiveReason,
  ipToString,
  isActive,
  networkContains,
  networkInterface,
  prefixLength,
  vipNetwork,
  type Config,
  type NetworkDef,
  type ServerDef,
  type TargetDef,
} from "../config/model.ts";

export interface NetworkPlan {
  network: NetworkDef;
  /** bng's own address on the network, with the network's prefix length. */
  real: number;
  prefixLength: number;
}

export interface RunPlan {
  ifname: string;
  networks: NetworkPlan[];
  /** `set announce TABLE`: the routing table bng keeps the servable VIPs' routes in. */
  announceTable?: number | undefined;
}

/**
 * bng's own address towards `ip` (a target, the gateway): the `real` address of the network
 * that holds it, else of the first network bng runs on.
 */
export function realAddressFor(plan: RunPlan, ip: number): number | undefined {
  const inNetwork = plan.networks.find(({ network }) => ((ip & network.mask) >>> 0) === network.addr);
  return (inNetwork ?? plan.networks[0])?.real;
}

/**
 * Parts of the language bng reads but does not run yet: `bng run` refuses a configuration that
 * uses one, naming it, so that nobody believes a check, an alert or a policy is in force when
 * it is not. Each feature's implementer sets `implemented: true` here, and nowhere else.
 * `uses` says where a configuration uses the feature ("target 2"), or nothing.
 */
export const LANGUAGE_FEATURES: { keyword: string; implemented: boolean; uses: (config: Config) => string[] }[] = [
  { keyword: "vrrp", implemented: true, uses: (config) => (config.vrrp ? ["the vrrp block"] : []) },
  { keyword: "arp", implemented: true, uses: (config) => targetsWith(config, (target) => target.arp !== undefined) },
  { keyword: "agent", implemented: true, uses: (config) => targetsWith(config, (target) => target.agent !== undefined) },
  { keyword: "script", implemented: true, uses: (config) => targetsWith(config, (target) => target.script !== undefined) },
  { keyword: "http", implemented: true, uses: (config) => targetsWith(config, (target) => target.http !== undefined) },
  { keyword: "dsrcheck", implemented: true, uses: (config) => targetsWith(config, (target) => target.dsrcheck.length > 0) },
  { keyword: "alert", implemented: true, uses: (config) => targetsWith(config, (target) => target.alert !== undefined) },
  { keyword: "downpolicy hold", implemented: true, uses: (config) => serversWith(config, (server) => server.downPolicy === "hold") },
  { keyword: "downpolicy reset", implemented: true, uses: (config) => serversWith(config, (server) => server.downPolicy === "reset") },
  { keyword: "method agent", implemented: true, uses: (config) => serversWith(config, (server) => server.method === "agent") },
  { keyword: "method bandwidth", implemented: true, uses: (config) => serversWith(config, (server) => server.method === "bandwidth") },
  { keyword: "set announce", implemented: true, uses: (config) => (config.settings.announceTable !== undefined ? ["the settings"] : []) },
  { keyword: "set syslog enable", implemented: true, uses: (config) => (config.settings.syslog ? ["the settings"] : []) },
  { keyword: "set newsessions", implemented: true, uses: (config) => explicitly(config, "newSessionsPerS") },
  { keyword: "set fintimeout", implemented: true, uses: (config) => explicitly(config, "finTimeoutS") },
  { keyword: "set io xdp", implemented: true, uses: (config) => (config.settings.io === "xdp" ? ["the settings"] : []) },
  { keyword: "set io auto", implemented: true, uses: (config) => (config.settings.io === "auto" ? ["the settings"] : []) },
];

function targetsWith(config: Config, uses: (target: TargetDef) => boolean): string[] {
  return config.targets.filter(uses).map((target) => `target ${target.id}`);
}

function serversWith(config: Config, uses: (server: ServerDef) => boolean): string[] {
  return config.servers.filter(uses).map((server) => `server ${server.id}`);
}

function explicitly(config: Config, setting: keyof Config["settings"]): string[] {
  return config.explicitSettings.includes(setting) ? ["the settings"] : [];
}

export function planRun(config: Config): { ok: true; plan: RunPlan } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  for (const feature of LANGUAGE_FEATURES) {
    const where = feature.implemented ? [] : feature.uses(config);
    if (where.length > 0) errors.push(`${where.join(", ")} ${where.length === 1 ? "uses" : "use"} '${feature.keyword}', which bng does not implement yet: remove it to run`);
  }
  const servers = config.servers.filter(isActive);
  if (servers.length === 0) errors.push("no server is registered and enabled: nothing to balance");
  const used = new Map<number, NetworkDef>();
  const unusable = new Map<NetworkDef, ServerDef[]>();
  const dsrTargets = new Map<TargetDef, ServerDef[]>();
  // An unregistered target never takes part (not even by `bng enable target`): nothing to refuse.
  const registeredTargets = new Map(config.targets.filter((target) => target.registered).map((target) => [target.id, target]));
  for (const server of servers) {
    const network = vipNetwork(config, server.ipaddr);
    if (network && isActive(network)) used.set(network.id, network);
    else if (network) unusable.set(network, [...(unusable.get(network) ?? []), server]);
    for (const id of [...server.targets, ...server.backup]) {
      const target = registeredTargets.get(id);
      if (target && !target.dsr) {
        errors.push(`target ${id} (${ipToString(target.ipaddr)}) of server ${server.id} is not a DSR target: NAT/routing mode is not supported yet; add 'dsr enable' to target ${id}`);
      }
      if (target?.dsr) {
        const using = dsrTargets.get(target);
        if (using === undefined) dsrTargets.set(target, [server]);
        else if (using.at(-1) !== server) using.push(server);
      }
    }
  }
  // Single-legged DSR rewrites only the destination MAC: bng must reach each DSR target at
  // layer 2, from its `real` address on one of the networks it runs on. With no such network
  // the refusals below already say why.
  if (used.size > 0) {
    const ranges = [...used.values()].map(cidr).join(", ");
    for (const [target, held] of dsrTargets) {
      if ([...used.values()].some((network) => networkContains(network, target.ipaddr))) continue;
      const of = held.map((server) => `server ${server.id}`).join(", ");
      errors.push(
        `target ${target.id} (${ipToString(target.ipaddr)}) of ${of} is a DSR target outside the networks bng runs on (${ranges}, the networks of the enabled servers' VIPs): ` +
          `single-legged DSR reaches a target at layer 2 from the network's 'real' address; give target ${target.id} an address inside one of them`,
      );
    }
  }
  for (const [network, held] of unusable) {
    const vips = held.map((server) => `server ${server.id} (${ipToString(server.ipaddr)})`).join(", ");
    errors.push(`network ${network.id} holds the VIP of ${vips} but is ${inactiveReason("network", network.id, network)}`);
  }
  const networks: NetworkPlan[] = [];
  const names = new Set<string>();
  for (const network of used.values()) {
    if (network.real === undefined) {
      errors.push(`network ${network.id} has no 'real' address: bng needs its own address there to resolve target MACs and run health checks`);
      continue;
    }
    const link = networkInterface(config, network);
    if (link === undefined) {
      errors.push(`network ${network.id} names no interface and the configuration has ${config.interfaces.length} interfaces: add 'interface NAME' to network ${network.id}`);
      continue;
    }
    if (link.def?.id !== undefined && !isActive(link.def)) {
      errors.push(`network ${network.id} is on interface ${link.def.id} (${link.name}), which is ${inactiveReason("interface", link.def.id, link.def)}`);
      continue;
    }
    names.add(link.name);
    networks.push({ network, real: network.real, prefixLength: prefixLength(network) });
  }
  if (names.size > 1) {
    errors.push(`the enabled servers use several interfaces (${[...names].join(", ")}): bng runs single-legged DSR on one interface`);
  }
  if (config.settings.ipforwarding === 1) {
    errors.push("'set ipforwarding 1' asks for routing mode, which bng does not support yet: remove it for DSR");
  }
  const [ifname] = names;
  if (errors.length > 0 || ifname === undefined) return { ok: false, errors };
  return { ok: true, plan: { ifname, networks, announceTable: config.settings.announceTable } };
}
