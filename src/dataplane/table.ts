// The forwarding table: one immutable SharedArrayBuffer per generation, built on the control
// thread and read by every worker. Integers only, laid out in sections of one Int32Array (plus
// a Uint16 section for Maglev tables), so a worker reads it without parsing or allocating.
// Servers and targets are identified across generations by their config ids (below ID_LIMIT):
// sessions and counters key on ids, table positions (indices) change with every build.

import { DOWN_POLICIES, METHODS, type Config, type Method } from "../config/model.ts";
import {
  ID_LIMIT,
  MAX_WEIGHT,
  TARGET_STATES,
  type TargetState,
  TARGET_UP,
  TARGET_DOWN,
  TARGET_DISABLED,
  DOWN_POLICY_RESCHEDULE,
  MAGIC,
  H_MAGIC,
  H_GENERATION,
  H_OWN_MAC_HIGH,
  H_OWN_MAC_LOW,
  H_SERVER_COUNT,
  H_TARGET_COUNT,
  H_VIP_MASK,
  H_VIP_AT,
  H_SERVERS_AT,
  H_TARGETS_AT,
  H_TARGET_ID_MAP_AT,
  H_TARGET_IP_MASK,
  H_TARGET_IP_AT,
  H_WORD_COUNT,
  H_MEMBERS_AT,
  H_MEMBER_WORDS,
  H_NEW_SESSIONS_PER_S,
  H_FIN_TIMEOUT_S,
  H_TARGET_MAC_MASK,
  H_TARGET_MAC_AT,
  HEADER_WORDS,
  VIP_IP,
  VIP_FIRST_SERVER,
  VIP_SERVER_COUNT,
  VIP_ANSWERS,
  VIP_STRIDE,
  S_ID,
  S_IP,
  S_PORT,
  S_PROTOCOL,
  S_METHOD,
  S_ENABLED,
  S_TIMEOUT_S,
  S_KEY_PORT,
  S_ACTIVE_AT,
  S_ACTIVE_COUNT,
  S_USING_BACKUP,
  S_TOTAL_WEIGHT,
  S_WRR_STRIDE,
  S_MAGLEV_AT,
  S_MAGLEV_SIZE,
  S_DOWN_POLICY,
  SERVER_STRIDE,
  ACTIVE_STRIDE,
  ACTIVE_TARGET,
  ACTIVE_CUMULATIVE_WEIGHT,
  T_ID,
  T_IP,
  T_PORT,
  T_MAC_HIGH,
  T_MAC_LOW,
  T_MAC_KNOWN,
  T_STATE,
  T_WEIGHT,
  T_NEXT_SAME_IP,
  TARGET_STRIDE,
  TARGET_IP_STRIDE,
  TARGET_IP_ADDR,
  TARGET_IP_FIRST_PLUS_ONE,
  STATELESS_MAGLEV_SIZE,
  TARGET_MAC_STRIDE,
  TARGET_MAC_HIGH,
  TARGET_MAC_LOW,
  TARGET_MAC_FIRST_PLUS_ONE,
} from "./table-layout.ts";
import { IPPROTO_TCP, IPPROTO_UDP, readMacHigh, readMacLow } from "./frame.ts";
import { mix32 } from "./select/hash.ts";
import { fillMaglevTable } from "./select/maglev.ts";
import { wrrStride } from "./select/weighted.ts";

/** What the control side knows about a target at run time. */
export interface TargetRuntime {
  mac: Uint8Array | undefined;
  state: TargetState;
}

export interface ForwardingTableInput {
  config: Pick<Config, "servers" | "targets" | "settings">;
  /** The MAC bng answers ARP with and forwards from: the interface's, or the VRRP virtual MAC. */
  ownMac: Uint8Array;
  /**
   * A VRRP backup: silent for the VIPs, as if every server were disabled (no ARP or ping answer,
   * VIP frames dropped as server_disabled), while target MACs are still learned.
   */
  standby?: boolean;
  /** By target id. A target missing here is pending with an unknown MAC. */
  targets: ReadonlyMap<number, TargetRuntime>;
}

/** Reads one generation of the table. Accessors are small so the JIT inlines them. */
export class ForwardingTable {
  readonly buffer: SharedArrayBuffer;
  readonly words: Int32Array;
  readonly maglev: Uint16Array;
  readonly ownMacHigh: number;
  readonly ownMacLow: number;
  readonly serverCount: number;
  readonly targetCount: number;
  /** `set newsessions`: new sessions a second, all workers together. */
  readonly newSessionsPerS: number;
  /** `set fintimeout`: idle seconds a session has left once its client sent TCP FIN or RST. */
  readonly finTimeoutS: number;
  private readonly vipMask: number;
  private readonly vipAt: number;
  private readonly serversAt: number;
  private readonly targetsAt: number;
  private readonly targetIdMapAt: number;
  private readonly targetIpMask: number;
  private readonly targetIpAt: number;
  private readonly membersAt: number;
  private readonly memberWords: number;
  private readonly targetMacMask: number;
  private readonly targetMacAt: number;

  constructor(buffer: SharedArrayBuffer) {
    const words = new Int32Array(buffer);
    if (words[H_MAGIC] !== MAGIC) throw new TypeError("not a bng forwarding table");
    const header = (index: number): number => words[index] ?? 0;
    this.buffer = buffer;
    this.words = words;
    this.maglev = new Uint16Array(buffer, header(H_WORD_COUNT) * 4);
    this.ownMacHigh = header(H_OWN_MAC_HIGH);
    this.ownMacLow = header(H_OWN_MAC_LOW) >>> 0;
    this.serverCount = header(H_SERVER_COUNT);
    this.targetCount = header(H_TARGET_COUNT);
    this.vipMask = header(H_VIP_MASK);
    this.vipAt = header(H_VIP_AT);
    this.serversAt = header(H_SERVERS_AT);
    this.targetsAt = header(H_TARGETS_AT);
    this.targetIdMapAt = header(H_TARGET_ID_MAP_AT);
    this.targetIpMask = header(H_TARGET_IP_MASK);
    this.targetIpAt = header(H_TARGET_IP_AT);
    this.membersAt = header(H_MEMBERS_AT);
    this.memberWords = header(H_MEMBER_WORDS);
    this.newSessionsPerS = header(H_NEW_SESSIONS_PER_S);
    this.finTimeoutS = header(H_FIN_TIMEOUT_S);
    this.targetMacMask = header(H_TARGET_MAC_MASK);
    this.targetMacAt = header(H_TARGET_MAC_AT);
  }

  get generation(): number {
    return this.words[H_GENERATION] ?? 0;
  }

  /** Word index of the VIP slot for `ip`, or -1 when `ip` is no server's address. */
  findVip(ip: number): number {
    const words = this.words;
    const signedIp = ip | 0;
    let slot = mix32(ip) & this.vipMask;
    for (;;) {
      const at = this.vipAt + slot * VIP_STRIDE;
      if (words[at + VIP_SERVER_COUNT] === 0) return -1;
      if (words[at + VIP_IP] === signedIp) return at;
      slot = (slot + 1) & this.vipMask;
    }
  }

  vipField(vipAt: number, field: number): number {
    return this.words[vipAt + field] ?? 0;
  }

  /** Word index of server `index`'s record. */
  serverAt(index: number): number {
    return this.serversAt + index * SERVER_STRIDE;
  }

  /** Word index of target `index`'s record. */
  targetAt(index: number): number {
    return this.targetsAt + index * TARGET_STRIDE;
  }

  field(recordAt: number, field: number): number {
    return this.words[recordAt + field] ?? 0;
  }

  /** Table index of the target with config id `id`, or -1. */
  targetIndexOfId(id: number): number {
    return id >= 0 && id < ID_LIMIT ? (this.words[this.targetIdMapAt + id] ?? -1) : -1;
  }

  /** Index of the first target with address `ip` (follow T_NEXT_SAME_IP for more), or -1. */
  firstTargetWithIp(ip: number): number {
    const words = this.words;
    const signedIp = ip | 0;
    let slot = mix32(ip) & this.targetIpMask;
    for (;;) {
      const at = this.targetIpAt + slot * TARGET_IP_STRIDE;
      const firstPlusOne = words[at + TARGET_IP_FIRST_PLUS_ONE] ?? 0;
      if (firstPlusOne === 0) return -1;
      if (words[at + TARGET_IP_ADDR] === signedIp) return firstPlusOne - 1;
      slot = (slot + 1) & this.targetIpMask;
    }
  }

  /** Index of the first target whose known MAC is (macHigh, macLow), or -1. */
  targetWithMac(macHigh: number, macLow: number): number {
    const words = this.words;
    const signedLow = macLow | 0;
    let slot = mix32(macHigh ^ macLow) & this.targetMacMask;
    for (;;) {
      const at = this.targetMacAt + slot * TARGET_MAC_STRIDE;
      const firstPlusOne = words[at + TARGET_MAC_FIRST_PLUS_ONE] ?? 0;
      if (firstPlusOne === 0) return -1;
      if (words[at + TARGET_MAC_HIGH] === macHigh && words[at + TARGET_MAC_LOW] === signedLow) return firstPlusOne - 1;
      slot = (slot + 1) & this.targetMacMask;
    }
  }

  /**
   * Whether an existing session of server `server` may still send to target `target` (both
   * table indexes): the target's MAC is known, it is up or disabled (draining), and the server
   * still lists it in `targets` or `backup`. Pending and down targets lose their sessions, and so
   * does a target a reload took out of the server's lists, on the session's next packet.
   */
  keepsSession(server: number, target: number): boolean {
    const at = this.targetAt(target);
    const state = this.words[at + T_STATE];
    if (this.words[at + T_MAC_KNOWN] !== 1 || (state !== TARGET_UP && state !== TARGET_DISABLED)) return false;
    return this.isMember(server, target);
  }

  /**
   * What becomes of a session of server `server` whose target `target` (both table indexes)
   * keepsSession refused: the server's `downpolicy` (DOWN_POLICY_*) when the target is down and
   * still one of the server's, else DOWN_POLICY_RESCHEDULE (pending, removed by a reload).
   */
  downPolicyOf(server: number, target: number): number {
    if (this.words[this.targetAt(target) + T_STATE] !== TARGET_DOWN || !this.isMember(server, target)) return DOWN_POLICY_RESCHEDULE;
    return this.words[this.serverAt(server) + S_DOWN_POLICY] ?? DOWN_POLICY_RESCHEDULE;
  }

  /** Whether the server lists target `target` in `targets` or `backup`. */
  private isMember(server: number, target: number): boolean {
    return ((this.words[this.membersAt + server * this.memberWords + (target >> 5)] ?? 0) & (1 << (target & 31))) !== 0;
  }

  /** Every address findVip finds (a registered server's VIP), ascending: what the kernel's filters let through (control side). */
  vips(): number[] {
    const vips: number[] = [];
    for (let slot = 0; slot <= this.vipMask; slot++) {
      const at = this.vipAt + slot * VIP_STRIDE;
      if (this.words[at + VIP_SERVER_COUNT] !== 0) vips.push(this.words[at + VIP_IP]! >>> 0);
    }
    return vips.sort((a, b) => a - b);
  }

  /** The VIPs an enabled server with a usable target (or backup) answers: what bng can serve (control side). */
  servableVips(): number[] {
    const vips = new Set<number>();
    for (let server = 0; server < this.serverCount; server++) {
      const at = this.serverAt(server);
      if (this.field(at, S_ENABLED) === 1 && this.field(at, S_ACTIVE_COUNT) > 0) vips.add(this.field(at, S_IP) >>> 0);
    }
    return [...vips];
  }
}

function powerOfTwoAtLeast(n: number): number {
  let size = 2;
  while (size < n) size *= 2;
  return size;
}

function protocolNumber(protocol: "tcp" | "udp"): number {
  return protocol === "tcp" ? IPPROTO_TCP : IPPROTO_UDP;
}

function methodCode(method: Method): number {
  return METHODS.indexOf(method);
}

function checkId(kind: string, id: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= ID_LIMIT) {
    throw new RangeError(`${kind} id ${id} is outside 0..${ID_LIMIT - 1}`);
  }
}

/**
 * Builds a complete, immutable table from the config and the targets' run-time state. Only
 * registered servers and targets appear; a server's active list is its selectable primaries
 * (enabled, up, MAC known), or its selectable backups when no primary is.
 */
export function buildForwardingTable(input: ForwardingTableInput): ForwardingTable {
  const { config, ownMac } = input;
  if (ownMac.length !== 6) throw new RangeError("own MAC must be 6 bytes");
  const maglevSize = config.settings.maglevSize;
  const servers = config.servers.filter((s) => s.registered).sort((a, b) => a.ipaddr - b.ipaddr || a.id - b.id);
  const targets = config.targets.filter((t) => t.registered);
  const targetIndexById = new Map<number, number>();
  targets.forEach((target, index) => {
    checkId("target", target.id);
    if (!Number.isInteger(target.weight) || target.weight < 1 || target.weight > MAX_WEIGHT) {
      throw new RangeError(`target ${target.id}: weight ${target.weight} is outside 1..${MAX_WEIGHT}`);
    }
    targetIndexById.set(target.id, index);
  });
  servers.forEach((server) => checkId("server", server.id));

  const stateOf = (index: number): number => {
    const target = targets[index]!;
    const state = input.targets.get(target.id)?.state ?? "pending";
    // A disabled target drains, unless it is down: then its sessions end like any down target's.
    if (!target.enabled && state !== "down") return TARGET_DISABLED;
    return TARGET_STATES.indexOf(state);
  };
  const macOf = (index: number): Uint8Array | undefined => input.targets.get(targets[index]!.id)?.mac;
  const selectable = (index: number): boolean => stateOf(index) === TARGET_UP && macOf(index)?.length === 6;
  const activeLists = servers.map((server) => {
    const pick = (ids: number[]): number[] =>
      ids.map((id) => targetIndexById.get(id)).filter((i): i is number => i !== undefined && selectable(i));
    const primaries = pick(server.targets);
    return primaries.length > 0 ? { list: primaries, backup: false } : { list: pick(server.backup), backup: true };
  });

  const distinctVips = [...new Set(servers.map((s) => s.ipaddr))];
  const distinctTargetIps = [...new Set(targets.map((t) => t.ipaddr))];
  const knownMacs = targets.flatMap((_, index) => {
    const mac = macOf(index);
    return mac?.length === 6 ? [{ high: readMacHigh(mac, 0), low: readMacLow(mac, 0) | 0, index }] : [];
  });
  const vipSlots = powerOfTwoAtLeast(distinctVips.length * 2);
  const targetIpSlots = powerOfTwoAtLeast(distinctTargetIps.length * 2);
  const targetMacSlots = powerOfTwoAtLeast(knownMacs.length * 2);
  const vipAt = HEADER_WORDS;
  const serversAt = vipAt + vipSlots * VIP_STRIDE;
  const targetsAt = serversAt + servers.length * SERVER_STRIDE;
  const targetIdMapAt = targetsAt + targets.length * TARGET_STRIDE;
  const targetIpAt = targetIdMapAt + ID_LIMIT;
  const membersAt = targetIpAt + targetIpSlots * TARGET_IP_STRIDE;
  const memberWords = Math.ceil(targets.length / 32);
  const targetMacAt = membersAt + servers.length * memberWords;
  const activeAt = targetMacAt + targetMacSlots * TARGET_MAC_STRIDE;
  const wordCount = activeAt + activeLists.reduce((sum, a) => sum + a.list.length * ACTIVE_STRIDE, 0);
  // Every server with an active target gets a consistent-hash table: maglev's own size for
  // method maglev, a small one for the others (they use it only while new sessions are refused).
  const maglevSizes = servers.map((server, i) => (activeLists[i]!.list.length === 0 ? 0 : server.method === "maglev" ? maglevSize : STATELESS_MAGLEV_SIZE));
  const maglevEntries = maglevSizes.reduce((sum, size) => sum + size, 0);
  // Rounded up to whole words so the Int32 view may span the buffer (Maglev tables are odd-sized).
  const buffer = new SharedArrayBuffer(wordCount * 4 + Math.ceil(maglevEntries / 2) * 4);
  const words = new Int32Array(buffer);
  const maglev = new Uint16Array(buffer, wordCount * 4);

  words[H_MAGIC] = MAGIC;
  words[H_OWN_MAC_HIGH] = readMacHigh(ownMac, 0);
  words[H_OWN_MAC_LOW] = readMacLow(ownMac, 0);
  words[H_SERVER_COUNT] = servers.length;
  words[H_TARGET_COUNT] = targets.length;
  words[H_VIP_MASK] = vipSlots - 1;
  words[H_VIP_AT] = vipAt;
  words[H_SERVERS_AT] = serversAt;
  words[H_TARGETS_AT] = targetsAt;
  words[H_TARGET_ID_MAP_AT] = targetIdMapAt;
  words[H_TARGET_IP_MASK] = targetIpSlots - 1;
  words[H_TARGET_IP_AT] = targetIpAt;
  words[H_WORD_COUNT] = wordCount;
  words[H_MEMBERS_AT] = membersAt;
  words[H_MEMBER_WORDS] = memberWords;
  words[H_NEW_SESSIONS_PER_S] = config.settings.newSessionsPerS;
  words[H_FIN_TIMEOUT_S] = config.settings.finTimeoutS;
  words[H_TARGET_MAC_MASK] = targetMacSlots - 1;
  words[H_TARGET_MAC_AT] = targetMacAt;

  for (const vip of distinctVips) {
    let slot = mix32(vip) & (vipSlots - 1);
    while (words[vipAt + slot * VIP_STRIDE + VIP_SERVER_COUNT] !== 0) slot = (slot + 1) & (vipSlots - 1);
    const at = vipAt + slot * VIP_STRIDE;
    const first = servers.findIndex((s) => s.ipaddr === vip);
    const onVip = servers.filter((s) => s.ipaddr === vip);
    words[at + VIP_IP] = vip;
    words[at + VIP_FIRST_SERVER] = first;
    words[at + VIP_SERVER_COUNT] = onVip.length;
    words[at + VIP_ANSWERS] = !input.standby && onVip.some((s) => s.enabled) ? 1 : 0;
  }

  words.fill(-1, targetIdMapAt, targetIdMapAt + ID_LIMIT);
  const lastWithIp = new Map<number, number>();
  targets.forEach((target, index) => {
    const at = targetsAt + index * TARGET_STRIDE;
    const mac = macOf(index);
    words[at + T_ID] = target.id;
    words[at + T_IP] = target.ipaddr;
    words[at + T_PORT] = target.port;
    if (mac?.length === 6) {
      words[at + T_MAC_HIGH] = readMacHigh(mac, 0);
      words[at + T_MAC_LOW] = readMacLow(mac, 0);
      words[at + T_MAC_KNOWN] = 1;
    }
    words[at + T_STATE] = stateOf(index);
    words[at + T_WEIGHT] = target.weight;
    words[at + T_NEXT_SAME_IP] = -1;
    words[targetIdMapAt + target.id] = index;
    const previous = lastWithIp.get(target.ipaddr);
    if (previous === undefined) {
      let slot = mix32(target.ipaddr) & (targetIpSlots - 1);
      while (words[targetIpAt + slot * TARGET_IP_STRIDE + TARGET_IP_FIRST_PLUS_ONE] !== 0) {
        slot = (slot + 1) & (targetIpSlots - 1);
      }
      words[targetIpAt + slot * TARGET_IP_STRIDE + TARGET_IP_ADDR] = target.ipaddr;
      words[targetIpAt + slot * TARGET_IP_STRIDE + TARGET_IP_FIRST_PLUS_ONE] = index + 1;
    } else {
      words[targetsAt + previous * TARGET_STRIDE + T_NEXT_SAME_IP] = index;
    }
    lastWithIp.set(target.ipaddr, index);
  });

  for (const { high, low, index } of knownMacs) {
    let slot = mix32(high ^ low) & (targetMacSlots - 1);
    for (;;) {
      const at = targetMacAt + slot * TARGET_MAC_STRIDE;
      if (words[at + TARGET_MAC_FIRST_PLUS_ONE] === 0) {
        words[at + TARGET_MAC_HIGH] = high;
        words[at + TARGET_MAC_LOW] = low;
        words[at + TARGET_MAC_FIRST_PLUS_ONE] = index + 1;
        break;
      }
      if (words[at + TARGET_MAC_HIGH] === high && words[at + TARGET_MAC_LOW] === low) break; // an earlier target has it
      slot = (slot + 1) & (targetMacSlots - 1);
    }
  }

  let listAt = activeAt;
  let maglevAt = 0;
  servers.forEach((server, index) => {
    const at = serversAt + index * SERVER_STRIDE;
    const { list, backup } = activeLists[index]!;
    words[at + S_ID] = server.id;
    words[at + S_IP] = server.ipaddr;
    words[at + S_PORT] = server.port;
    words[at + S_PROTOCOL] = protocolNumber(server.protocol);
    words[at + S_METHOD] = methodCode(server.method);
    words[at + S_ENABLED] = !input.standby && server.enabled ? 1 : 0;
    words[at + S_TIMEOUT_S] = server.sessionTimeoutS;
    words[at + S_KEY_PORT] = server.persistence === "clientport" ? 1 : 0;
    words[at + S_DOWN_POLICY] = DOWN_POLICIES.indexOf(server.downPolicy);
    words[at + S_ACTIVE_AT] = listAt;
    words[at + S_ACTIVE_COUNT] = list.length;
    words[at + S_USING_BACKUP] = backup ? 1 : 0;
    for (const id of [...server.targets, ...server.backup]) {
      const member = targetIndexById.get(id);
      if (member !== undefined) words[membersAt + index * memberWords + (member >> 5)]! |= 1 << (member & 31);
    }
    let cumulative = 0;
    for (const targetIndex of list) {
      cumulative += targets[targetIndex]!.weight;
      words[listAt + ACTIVE_TARGET] = targetIndex;
      words[listAt + ACTIVE_CUMULATIVE_WEIGHT] = cumulative;
      listAt += ACTIVE_STRIDE;
    }
    words[at + S_TOTAL_WEIGHT] = cumulative;
    words[at + S_WRR_STRIDE] = wrrStride(cumulative);
    words[at + S_MAGLEV_AT] = -1;
    const size = maglevSizes[index]!;
    if (size > 0) {
      // Backends in address order, so nodes that number or list the targets differently still
      // build the same table; entries are then translated to positions in the active list.
      const byAddress = list
        .map((targetIndex, position) => ({ target: targets[targetIndex]!, position }))
        .sort((a, b) => a.target.ipaddr - b.target.ipaddr || a.target.port - b.target.port);
      const backends = byAddress.map(({ target }) => ({ ip: target.ipaddr, port: target.port, weight: target.weight }));
      const entries = maglev.subarray(maglevAt, maglevAt + size);
      fillMaglevTable(backends, entries);
      for (let slot = 0; slot < size; slot++) entries[slot] = byAddress[entries[slot]!]!.position;
      words[at + S_MAGLEV_AT] = maglevAt;
      words[at + S_MAGLEV_SIZE] = size;
      maglevAt += size;
    }
  });
  return new ForwardingTable(buffer);
}
