// Checks across objects, once the whole file is read: ids unique and defined, lifecycle
// statements applied in order, addresses inside their networks and not claimed twice (VIPs,
// targets, bng's own `real` addresses), DSR ports, and warnings for what parses but bng does
// not do yet.
import { didYouMean, type DiagnosticSink } from "./errors.ts";
import {
  broadcastAddress,
  cidr,
  inactiveReason,
  ipToString,
  isActive,
  networkContains,
  networkInterface,
  nonHostAddress,
  vipNetwork,
  type Config,
  type InterfaceDef,
  type NetworkDef,
  type ServerDef,
  type SourcePos,
  type TargetDef,
} from "./model.ts";
import { checkVrrp } from "./check-vrrp.ts";
import type { BlockLocation, ObjectKind, ParsedFile, ValueLocation } from "./parser.ts";

/** A network's host addresses, for messages: "from 172.16.1.1 to 172.16.1.254". */
function hostRange(network: NetworkDef): string {
  return `from ${ipToString(network.addr + 1)} to ${ipToString(broadcastAddress(network) - 1)}`;
}

const NOT_YET = "NAT/routing mode is not supported yet; this config parses but `bng run` will refuse it";

type NumberedDef = InterfaceDef | NetworkDef | ServerDef | TargetDef;

class Checker {
  private readonly config: Config;
  /** Each kind's objects by id (the parser keeps one object per id), so no check is quadratic. */
  private readonly byId: Record<ObjectKind, Map<number, NumberedDef>>;
  /** The first server that lists each target, in `targets` or `backup`. */
  private readonly serverOfTarget = new Map<number, ServerDef>();

  constructor(
    private readonly parsed: ParsedFile,
    private readonly sink: DiagnosticSink,
  ) {
    this.config = parsed.config;
    const index = (defs: NumberedDef[]) => new Map(defs.flatMap((def) => (def.id === undefined ? [] : [[def.id, def] as const])));
    this.byId = { interface: index(this.config.interfaces), network: index(this.config.networks), server: index(this.config.servers), target: index(this.config.targets) };
    for (const server of this.config.servers) {
      for (const id of [...server.targets, ...server.backup]) if (!this.serverOfTarget.has(id)) this.serverOfTarget.set(id, server);
    }
  }

  run(): void {
    this.checkInterfaceRefs();
    this.checkNetworkAddresses();
    this.checkServers();
    this.checkTargetAddresses();
    this.applyLifecycle();
    this.checkVipHostAddresses();
    this.warnAboutUnusableNetworks();
    this.warnAboutRoutingMode();
    this.warnAboutFinTimeout();
    this.warnAboutAgentMethod();
    if (this.config.vrrp) checkVrrp(this.config, this.config.vrrp, this.location(this.config.vrrp), this.sink, (id) => this.isDefined("network", id));
  }

  /** A session of a closed connection should not outlive an idle open one. */
  private warnAboutFinTimeout(): void {
    const at = this.parsed.settingLocations.get("finTimeoutS");
    const finTimeoutS = this.config.settings.finTimeoutS;
    const shorter = this.config.servers.filter((server) => server.sessionTimeoutS < finTimeoutS);
    if (!at || shorter.length === 0) return;
    const servers = shorter.map((server) => `server ${server.id} (timeout ${server.sessionTimeoutS})`).join(", ");
    this.sink.warning(at.line, at.column, `\`set fintimeout ${finTimeoutS}\` is longer than the idle timeout of ${servers}: a closed connection's session would outlive an idle one; expected at most ${Math.min(...shorter.map((server) => server.sessionTimeoutS))}`);
  }

  /** `method agent` chooses by the loads of `agent` checks: a target without one never reports a load. */
  private warnAboutAgentMethod(): void {
    const defined = new Map(this.config.targets.map((target) => [target.id, target]));
    for (const server of this.config.servers) {
      if (server.method !== "agent") continue;
      const unchecked = [...server.targets, ...server.backup].filter((id) => defined.has(id) && defined.get(id)!.agent === undefined);
      if (unchecked.length === 0) continue;
      const at = this.param(server, "method") ?? server.pos;
      const targets = `${unchecked.length === 1 ? "target" : "targets"} ${unchecked.join(", ")}`;
      const effect =
        unchecked.length === server.targets.length + server.backup.length
          ? "no load is ever reported, so they take turns as with `method rr`"
          : "a target without a load counts as the most loaded, and gets new clients only while no target with a load is up";
      this.sink.warning(at.line, at.column, `server ${server.id} uses \`method agent\`, but ${targets} ${unchecked.length === 1 ? "has" : "have"} no \`agent\` check: ${effect}; expected \`agent PORT,INTERVAL,TIMEOUT\` in each of its targets`);
    }
  }

  private at(location: { line: number; column: number } | undefined, fallback: SourcePos, message: string): void {
    this.sink.error(location?.line ?? fallback.line, location?.column ?? fallback.column, message);
  }

  private location(def: Parameters<ParsedFile["locations"]["get"]>[0]): BlockLocation | undefined {
    return this.parsed.locations.get(def);
  }

  private param(def: Parameters<ParsedFile["locations"]["get"]>[0], name: string): ValueLocation | undefined {
    return this.location(def)?.params.get(name)?.[0];
  }

  private isDefined(kind: ObjectKind, id: number): boolean {
    return this.parsed.brokenIds[kind].has(id) || this.parsed.unreadableIds.has(kind) || this.byId[kind].has(id);
  }

  private checkInterfaceRefs(): void {
    const known = this.config.interfaces.flatMap((def) => (def.id === undefined ? [def.name] : [def.name, String(def.id)]));
    for (const network of this.config.networks) {
      const ref = network.interfaceRef;
      if (ref === undefined || known.includes(ref) || this.parsed.brokenInterfaceNames.has(ref)) continue;
      if (/^[0-9]+$/.test(ref) && this.parsed.brokenIds.interface.has(Number(ref))) continue;
      const declared = known.length === 0 ? "none is declared" : `declared: ${known.join(", ")}`;
      this.at(
        this.param(network, "interface"),
        network.pos,
        `network ${network.id} uses interface \`${ref}\`, which is not declared (${declared}): expected \`interface ${ref}\` or \`interface N { name ${ref} }\` in the file${didYouMean(ref, known)}`,
      );
    }
  }

  private checkNetworkAddresses(): void {
    for (const network of this.config.networks) {
      if (network.mask === 0) {
        this.at(
          this.param(network, "mask"),
          network.pos,
          `network ${network.id} has \`mask 0.0.0.0\`, a /0 that holds every address: bng would add its \`real\` address with prefix /0, a route to every address through its interface; expected the mask of the subnet the interface is on, e.g. 255.255.255.0`,
        );
      }
      for (const field of ["real", "virt"] as const) {
        const ip = network[field];
        if (ip === undefined) continue;
        if (!networkContains(network, ip)) {
          this.at(this.param(network, field), network.pos, `\`${field} ${ipToString(ip)}\` is outside network ${network.id} (${cidr(network)}): expected an address inside it`);
          continue;
        }
        const which = nonHostAddress(network, ip);
        if (which === undefined) continue;
        this.at(
          this.param(network, field),
          network.pos,
          `\`${field} ${ipToString(ip)}\` is ${which} of network ${network.id} (${cidr(network)}), not a host address: expected an address ${hostRange(network)}`,
        );
      }
    }
  }

  private checkServers(): void {
    // A broken network block may be the one a VIP belongs to: do not guess.
    const networksComplete = this.parsed.brokenIds.network.size === 0;
    for (const server of this.config.servers) {
      if (networksComplete && !this.config.networks.some((network) => networkContains(network, server.ipaddr))) {
        const networks = this.config.networks.length === 0 ? "none is configured" : this.config.networks.map(cidr).join(", ");
        this.at(
          this.param(server, "ipaddr"),
          server.pos,
          `server ${server.id} address ${ipToString(server.ipaddr)} is outside every network (${networks}): expected a VIP inside a configured network, where bng can answer ARP for it`,
        );
      }
      this.checkVipUnclaimed(server);
      for (const list of ["targets", "backup"] as const) this.checkServerTargets(server, list);
    }
    this.checkDistinctServices();
  }

  /** bng answers ARP for a VIP and announces it: it must not be a real host's address, nor bng's own. */
  private checkVipUnclaimed(server: ServerDef): void {
    const at = this.param(server, "ipaddr");
    const vip = ipToString(server.ipaddr);
    const target = this.config.targets.find((def) => def.ipaddr === server.ipaddr);
    if (target) {
      this.at(
        at,
        server.pos,
        `server ${server.id} address ${vip} is also the address of target ${target.id} (line ${target.pos.line}): bng announces a VIP with gratuitous ARPs and would take the address over from that real server; expected a VIP that no host uses`,
      );
    }
    for (const network of this.config.networks) {
      if (network.real !== server.ipaddr) continue;
      this.at(
        at,
        server.pos,
        `server ${server.id} address ${vip} is the \`real\` address of network ${network.id} (line ${(this.param(network, "real") ?? network.pos).line}), bng's own address for ARP requests and health checks: expected a VIP other than every network's \`real\``,
      );
    }
    const gateway = this.config.gateway;
    if (gateway?.ipaddr === server.ipaddr) {
      this.at(
        at,
        server.pos,
        `server ${server.id} address ${vip} is also the address of the gateway (line ${gateway.pos.line}): bng announces a VIP with gratuitous ARPs and would take the address over from the router; expected a VIP that no host uses`,
      );
    }
  }

  /** A target on bng's own address never gets a MAC; a DSR target outside every network cannot be reached at layer 2. */
  private checkTargetAddresses(): void {
    const networksComplete = this.parsed.brokenIds.network.size === 0;
    for (const target of this.config.targets) {
      const at = this.param(target, "ipaddr") ?? target.pos;
      const ip = ipToString(target.ipaddr);
      for (const network of this.config.networks) {
        if (network.real === target.ipaddr) {
          this.at(
            at,
            target.pos,
            `target ${target.id} address ${ip} is the \`real\` address of network ${network.id} (line ${(this.param(network, "real") ?? network.pos).line}), bng's own address: bng cannot resolve a MAC for it, so the target would receive nothing; expected the target's own address, and a \`real\` that no other host uses`,
          );
        }
        const which = networkContains(network, target.ipaddr) ? nonHostAddress(network, target.ipaddr) : undefined;
        if (which !== undefined) {
          this.at(at, target.pos, `target ${target.id} address ${ip} is ${which} of network ${network.id} (${cidr(network)}), not a host address: expected the target's own address, ${hostRange(network)}`);
        }
      }
      const server = this.serverOfTarget.get(target.id);
      // With no network at all, the VIP's error already says so.
      if (!target.dsr || !server || !networksComplete || this.config.networks.length === 0) continue;
      if (this.config.networks.some((network) => networkContains(network, target.ipaddr))) continue;
      const networks = this.config.networks.map(cidr).join(", ");
      this.sink.warning(
        at.line,
        at.column,
        `target ${target.id} of server ${server.id} is a DSR target at ${ip}, outside every network (${networks}): single-legged DSR reaches a target at layer 2, from bng's \`real\` address on the target's network, ` +
          `so expected an address inside a configured network (\`bng run\` refuses a DSR target outside the networks it runs on)`,
      );
    }
  }

  /** A VIP that is its network's own address or broadcast address would be announced with gratuitous ARPs. */
  private checkVipHostAddresses(): void {
    // A broken network block may be the one a VIP belongs to: do not guess.
    if (this.parsed.brokenIds.network.size > 0) return;
    for (const server of this.config.servers) {
      const network = vipNetwork(this.config, server.ipaddr);
      if (network === undefined) continue;
      const which = nonHostAddress(network, server.ipaddr);
      if (which === undefined) continue;
      this.at(
        this.param(server, "ipaddr"),
        server.pos,
        `server ${server.id} address ${ipToString(server.ipaddr)} is ${which} of network ${network.id} (${cidr(network)}), not a host address: bng would announce it with gratuitous ARPs; expected a VIP ${hostRange(network)}`,
      );
    }
  }

  /** Two servers on one address, port and protocol would both claim the same packets. */
  private checkDistinctServices(): void {
    const first = new Map<string, ServerDef>();
    for (const server of this.config.servers) {
      const key = `${server.ipaddr}/${server.port}/${server.protocol}`;
      const earlier = first.get(key);
      if (!earlier) {
        first.set(key, server);
        continue;
      }
      this.at(
        this.param(server, "ipaddr"),
        server.pos,
        `server ${server.id} serves ${ipToString(server.ipaddr)} port ${server.port} ${server.protocol}, like server ${earlier.id} (line ${earlier.pos.line}): expected each address, port and protocol once`,
      );
    }
  }

  private checkServerTargets(server: ServerDef, list: "targets" | "backup"): void {
    const location = this.param(server, list);
    server[list].forEach((id, index) => {
      const column = location?.itemColumns[index];
      const where = location && column !== undefined ? { line: location.line, column } : location;
      const target = this.byId.target.get(id) as TargetDef | undefined;
      if (!target) {
        if (!this.isDefined("target", id)) this.at(where, server.pos, `server ${server.id} lists target ${id}, which is not defined: expected a \`target ${id} { ... }\` block`);
        return;
      }
      if (list === "backup" && server.targets.includes(id)) {
        this.at(where, server.pos, `target ${id} is both a target and a backup of server ${server.id}: expected it in one of the two lists`);
      }
      if (target.dsr && target.port !== 0 && target.port !== server.port) this.reportDsrPort(server, target);
    });
  }

  private reportDsrPort(server: ServerDef, target: TargetDef): void {
    this.at(
      this.param(target, "port"),
      target.pos,
      `DSR target ${target.id} has port ${target.port}, but server ${server.id} (line ${server.pos.line}) listens on port ${server.port}: ` +
        `a DSR target receives packets unchanged, so expected \`port ${server.port}\` (or no port)`,
    );
  }

  private applyLifecycle(): void {
    for (const state of this.parsed.lifecycle.values()) {
      const def = this.byId[state.kind].get(state.id);
      if (def === undefined) {
        if (!this.isDefined(state.kind, state.id)) {
          const { kind, id } = state;
          this.sink.error(state.firstAt.line, state.firstAt.column, `\`${state.firstVerb} ${kind} ${id}\`: no ${kind} ${id} is defined; expected a \`${kind} ${id} { ... }\` block`);
        }
        continue;
      }
      if (state.registered !== undefined) def.registered = state.registered;
      if (state.enabled !== undefined) def.enabled = state.enabled;
    }
    // In a file that does not load, a missing `register` is more likely a broken statement.
    if (this.sink.errors.length > 0) return;
    for (const kind of ["interface", "network", "server", "target"] as const) {
      for (const def of this.byId[kind].values()) {
        if (def.enabled && !def.registered) {
          this.sink.warning(def.pos.line, def.pos.column, `${kind} ${def.id} is enabled but not registered, so it stays inactive: expected \`register ${kind} ${def.id}\``);
        }
      }
    }
  }


  /** An enabled server whose VIP's network, or that network's interface, does not take part: `bng run` refuses the file. */
  private warnAboutUnusableNetworks(): void {
    const refused = "or `bng run` will refuse this file";
    const used = new Set<NetworkDef>();
    for (const server of this.config.servers.filter(isActive)) {
      const network = vipNetwork(this.config, server.ipaddr);
      if (network === undefined) continue;
      if (isActive(network)) {
        used.add(network);
        continue;
      }
      const at = this.param(server, "ipaddr") ?? server.pos;
      this.sink.warning(at.line, at.column, `server ${server.id}'s VIP ${ipToString(server.ipaddr)} is in network ${network.id}, which is ${inactiveReason("network", network.id, network)}, ${refused}`);
    }
    for (const network of used) {
      const link = networkInterface(this.config, network);
      if (link?.def?.id === undefined || isActive(link.def)) continue;
      const at = this.param(network, "interface") ?? network.pos;
      this.sink.warning(at.line, at.column, `network ${network.id} is on interface ${link.def.id} (${link.name}), which is ${inactiveReason("interface", link.def.id, link.def)}, ${refused}`);
    }
  }

  private warnAboutRoutingMode(): void {
    const forwarding = this.parsed.settingLocations.get("ipforwarding");
    if (forwarding && this.config.settings.ipforwarding === 1) {
      this.sink.warning(forwarding.line, forwarding.column, `\`set ipforwarding 1\` asks for routing mode: ${NOT_YET}`);
    }
    for (const network of this.config.networks) {
      const used = (["virt", "nat"] as const).filter((param) => network[param] !== undefined);
      const first = used.map((param) => this.param(network, param)).find((location) => location !== undefined);
      if (used.length === 0 || !first) continue;
      const written = used.map((param) => (param === "nat" ? `\`nat ${network.nat}\`` : "`virt`")).join(" and ");
      this.sink.warning(first.line, first.column, `network ${network.id} uses ${written}, which only NAT/routing mode needs: that mode is not supported yet, so bng reads them and ignores them`);
    }
    for (const target of this.config.targets) {
      // An unused NAT target harms nothing; one a server balances to would need NAT.
      const server = this.serverOfTarget.get(target.id);
      if (target.dsr || !server) continue;
      this.sink.warning(target.pos.line, target.pos.column, `target ${target.id} of server ${server.id} has no \`dsr enable\`, so it is a NAT target: ${NOT_YET}`);
    }
  }
}

export function checkConfig(parsed: ParsedFile, sink: DiagnosticSink): void {
  new Checker(parsed, sink).run();
}
