// The per-frame decision and the batch processor: every received frame gets one verdict
// (forward to a target, reply, drop with a reason, or pass = left to the kernel), and the frames
// to send are written into the tx batch. Nothing here allocates: the processor's state is set
// up once, and frames are read and written in place with integer arithmetic.
//
// An AF_PACKET tap only observes: the kernel gets its own copy of every frame whatever the
// verdict, so "drop" and "pass" differ in what is counted, not in what the kernel sees.

import type { PacketBatch, TxBatch } from "./packet-io.ts";
import { FRAME_CSUM_NOT_READY, FRAME_TRUNCATED, FRAME_VLAN_STRIPPED, PACKET_BROADCAST, PACKET_HOST, PACKET_OTHERHOST } from "./packet-io.ts";
import { ArpDecision } from "./arp-decision.ts";
import { completePartialL4Checksum } from "./checksum.ts";
import * as C from "./counters.ts";
import {
  ETH_DST,
  ETH_HEADER_LEN,
  ETH_SRC,
  ETH_TYPE,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_QINQ,
  ETHERTYPE_VLAN,
  ICMP_CODE,
  ICMP_ECHO_REQUEST,
  ICMP_HEADER_LEN,
  ICMP_TYPE,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_DST,
  IPV4_FLAGS_FRAGMENT,
  IPV4_FRAGMENT_OFFSET_MASK,
  IPV4_MIN_HEADER_LEN,
  IPV4_MORE_FRAGMENTS,
  IPV4_PROTOCOL,
  IPV4_SRC,
  IPV4_TOTAL_LENGTH,
  L4_DST_PORT,
  L4_SRC_PORT,
  TCP_FLAGS,
  TCP_MIN_HEADER_LEN,
  UDP_HEADER_LEN,
  ipv4HeaderLength,
  ipv4Version,
  isGroupMac,
  isMartianSource,
  read16,
  read32,
  readMacHigh,
  readMacLow,
  writeMac,
} from "./frame.ts";
import {
  ECHO_REPLIES_PER_SECOND,
  PerSecondLimit,
  QUOTED_CLIENT_IP,
  QUOTED_CLIENT_PORT,
  QUOTED_FIELDS,
  QUOTED_PROTOCOL,
  QUOTED_SERVER_PORT,
  isForwardedIcmpError,
  readQuotedPacket,
  turnIntoEchoReply,
} from "./icmp.ts";
import type { NeighbourTable } from "./neighbours.ts";
import type { SessionJournal } from "./session-journal.ts";
import { DROP_FOR_DOWN_TARGET, NOT_TCP, RESET_FOR_DOWN_TARGET, SessionChooser } from "./session-choice.ts";
import type { SessionTable } from "./sessions.ts";
import type { ForwardingTable } from "./table.ts";
import type { TargetMetrics } from "./target-metrics.ts";
import { writeTcpReset } from "./tcp-reset.ts";
import {
  S_ENABLED,
  S_ID,
  S_KEY_PORT,
  S_PORT,
  S_PROTOCOL,
  S_TIMEOUT_S,
  T_ID,
  T_MAC_HIGH,
  T_MAC_LOW,
  VIP_ANSWERS,
  VIP_FIRST_SERVER,
  VIP_IP,
  VIP_SERVER_COUNT,
} from "./table-layout.ts";
import { VERDICT_FORWARD, VERDICT_REPLY, Verdicts } from "./verdicts.ts";

export { VERDICT_DROP, VERDICT_FORWARD, VERDICT_PASS, VERDICT_REPLY } from "./verdicts.ts";

/** Where this worker's event counts are in its counters region (counters.ts), resolved once. */
const CHECKSUMS_COMPLETED_AT = C.EVENTS_AT + C.EVENT.checksums_completed;
const FORWARDED_AT = C.EVENTS_AT + C.EVENT.forwarded;
const FORWARDED_BYTES_AT = C.EVENTS_AT + C.EVENT.forwarded_bytes;
const FRAMES_AT = C.EVENTS_AT + C.EVENT.frames;
const ICMP_REPLIES_AT = C.EVENTS_AT + C.EVENT.icmp_replies;
const ICMP_ERRORS_FORWARDED_AT = C.EVENTS_AT + C.EVENT.icmp_errors_forwarded;
const RESETS_SENT_AT = C.EVENTS_AT + C.EVENT.resets_sent;

/** findServer results below zero. */
const NO_SERVER = -1;
const SERVER_DISABLED = -2;

export interface ProcessorOptions {
  rx: PacketBatch;
  tx: TxBatch;
  table: ForwardingTable;
  sessions: SessionTable;
  neighbours: NeighbourTable;
  /** This worker's counters region (counters.ts `workerCounters`). */
  counters: Float64Array;
  /** Milliseconds of the session clock (CLOCK_MONOTONIC in bng, a fake in tests). Read once per batch. */
  clock: () => number;
  /** What methods agent and bandwidth choose by, written by the control thread. */
  metrics: TargetMetrics;
  /** Seed of the random and wrandom methods. */
  randomSeed: number;
  /** Where the sessions this worker creates are recorded for a VRRP peer; none without `vrrp`. */
  journal?: SessionJournal;
}

export class Processor {
  /** Per rx slot after processBatch: VERDICT_*. */
  readonly verdicts: Uint8Array;
  /** Per rx slot after processBatch: the drop or pass reason index (counters.ts) of that verdict. */
  readonly reasons: Uint8Array;
  private table: ForwardingTable;
  private readonly rx: PacketBatch;
  private readonly tx: TxBatch;
  private readonly rxWords: Int32Array | undefined;
  private readonly txWords: Int32Array | undefined;
  private readonly sessions: SessionTable;
  private readonly out: Verdicts;
  private readonly arp: ArpDecision;
  private readonly clock: () => number;
  private readonly chooser: SessionChooser;
  private readonly echoReplies = new PerSecondLimit(ECHO_REPLIES_PER_SECOND);
  /** readQuotedPacket's fields of the ICMP error being decided. */
  private readonly quoted = new Int32Array(QUOTED_FIELDS);
  private nowS = 0;
  /** The sum of the words touchSessionBuckets loaded, kept (and public) so the loads stay in the compiled code. */
  touchedWords = 0;
  /**
   * Per rx slot during processBatch, what touchSessionBuckets found, so decide() need not look
   * it up again: the VIP slot (or -1: not a VIP), the server (findServer's result), the session
   * bucket (or -1). Only the slots and fields the pass got to are current.
   */
  private readonly vipAts: Int32Array;
  private readonly servers: Int32Array;
  private readonly bucketAts: Int32Array;

  constructor(options: ProcessorOptions) {
    this.rx = options.rx;
    this.tx = options.tx;
    this.table = options.table;
    this.sessions = options.sessions;
    this.out = new Verdicts(options.rx.slotCount, options.counters);
    this.verdicts = this.out.verdicts;
    this.reasons = this.out.reasons;
    this.arp = new ArpDecision(options.rx, options.tx, options.neighbours, this.out);
    this.clock = options.clock;
    this.chooser = new SessionChooser(options.sessions, options.counters, options.metrics, options.randomSeed, options.journal);
    this.vipAts = new Int32Array(options.rx.slotCount);
    this.servers = new Int32Array(options.rx.slotCount);
    this.bucketAts = new Int32Array(options.rx.slotCount);
    this.rxWords = wordView(options.rx);
    this.txWords = wordView(options.tx);
  }

  /** Switches to a newly published table; call between batches. */
  setTable(table: ForwardingTable): void {
    this.table = table;
  }

  get currentTable(): ForwardingTable {
    return this.table;
  }

  /** The session time (whole seconds) of the last batch: the clock is read once per batch. */
  get batchSecond(): number {
    return this.nowS;
  }

  /** Decides every frame of rx; afterwards tx holds exactly the frames to send. */
  processBatch(): void {
    this.nowS = this.sessions.secondsAt(this.clock());
    this.tx.count = 0;
    const rx = this.rx;
    this.touchSessionBuckets();
    for (let slot = 0; slot < rx.count; slot++) {
      this.reasons[slot] = 0;
      this.verdicts[slot] = this.decide(slot);
    }
    this.count(FRAMES_AT, rx.count);
  }

  /**
   * Looks up, before any frame is decided, the VIP of every frame decide() will read as IPv4 (a
   * host packet with no stripped VLAN tag, EtherType IPv4, an IPv4 header's worth of bytes) and,
   * where the frame is long enough to hold ports, its server and session bucket; then loads all
   * those buckets in one tight loop. The session table is far larger than the CPU caches, so each
   * lookup would otherwise stall its frame for a memory load in turn; issued back to back, the
   * loads overlap. decideIpv4() reads these results instead of looking again: it gets to each one
   * only past checks that imply this pass made it (the server only for a frame of 42 bytes or
   * more whose header has no options, so the ports are where this pass read them).
   */
  private touchSessionBuckets(): void {
    const rx = this.rx;
    const bytes = rx.bytes;
    const table = this.table;
    const { vipAts, servers, bucketAts } = this;
    for (let slot = 0; slot < rx.count; slot++) {
      bucketAts[slot] = -1;
      if (!this.toUs(slot) || ((rx.flags[slot] ?? 0) & FRAME_VLAN_STRIPPED) !== 0) continue;
      const length = rx.lengths[slot] ?? 0;
      const ipAt = rx.offsets[slot]! + ETH_HEADER_LEN;
      if (length < ETH_HEADER_LEN + IPV4_MIN_HEADER_LEN || read16(bytes, ipAt - ETH_HEADER_LEN + ETH_TYPE) !== ETHERTYPE_IPV4) continue;
      const vipAt = table.findVip(read32(bytes, ipAt + IPV4_DST));
      vipAts[slot] = vipAt;
      if (vipAt < 0 || length < ETH_HEADER_LEN + IPV4_MIN_HEADER_LEN + UDP_HEADER_LEN) continue;
      const l4At = ipAt + IPV4_MIN_HEADER_LEN;
      const server = this.findServer(vipAt, bytes[ipAt + IPV4_PROTOCOL] ?? 0, read16(bytes, l4At + L4_DST_PORT));
      servers[slot] = server;
      if (server < 0) continue;
      const serverAt = table.serverAt(server);
      bucketAts[slot] = this.sessions.bucketOf(table.field(serverAt, S_ID), read32(bytes, ipAt + IPV4_SRC), this.sessionPort(serverAt, l4At));
    }
    this.touchedWords = this.sessions.touch(bucketAts, rx.count);
  }

  /**
   * Whether the frame in `slot` is addressed to bng: to the interface (PACKET_HOST), or to the MAC
   * the table answers with when that is not the interface's (a VRRP master's virtual MAC, which
   * the interface accepts through a membership but the kernel marks PACKET_OTHERHOST).
   */
  private toUs(slot: number): boolean {
    const packetType = this.rx.pktTypes[slot];
    if (packetType === PACKET_HOST) return true;
    // A frame too short for its Ethernet header is not read for a MAC it does not hold.
    if (packetType !== PACKET_OTHERHOST || (this.rx.lengths[slot] ?? 0) < ETH_HEADER_LEN) return false;
    const bytes = this.rx.bytes;
    const at = this.rx.offsets[slot]!;
    return readMacLow(bytes, at + ETH_DST) === this.table.ownMacLow && readMacHigh(bytes, at + ETH_DST) === this.table.ownMacHigh;
  }

  private count(index: number, amount: number): void {
    this.out.count(index, amount);
  }

  private drop(slot: number, reason: number): number {
    return this.out.drop(slot, reason);
  }

  private pass(slot: number, reason: number): number {
    return this.out.pass(slot, reason);
  }

  private decide(slot: number): number {
    const rx = this.rx;
    const packetType = rx.pktTypes[slot];
    const toUs = this.toUs(slot);
    if (!toUs && packetType !== PACKET_BROADCAST) return this.pass(slot, C.PASS.packet_type);
    if (((rx.flags[slot] ?? 0) & FRAME_VLAN_STRIPPED) !== 0) return this.pass(slot, C.PASS.vlan);
    const bytes = rx.bytes;
    const at = rx.offsets[slot]!;
    const length = rx.lengths[slot] ?? 0;
    if (length < ETH_HEADER_LEN) return this.drop(slot, C.DROP.short_ethernet);
    const table = this.table;
    if (readMacLow(bytes, at + ETH_SRC) === table.ownMacLow && readMacHigh(bytes, at + ETH_SRC) === table.ownMacHigh) {
      return this.drop(slot, C.DROP.from_self);
    }
    const etherType = read16(bytes, at + ETH_TYPE);
    if (etherType === ETHERTYPE_ARP) return this.arp.decide(table, slot, at, length);
    // VLAN-tagged frames are not bng's: it serves the untagged interface it is bound to (bind it
    // to a VLAN device such as eth0.100 to balance on a VLAN).
    if (etherType === ETHERTYPE_VLAN || etherType === ETHERTYPE_QINQ) return this.pass(slot, C.PASS.vlan);
    if (etherType !== ETHERTYPE_IPV4) return this.pass(slot, C.PASS_NOT_IPV4);
    if (!toUs) return this.pass(slot, C.PASS.packet_type);
    return this.decideIpv4(slot, at, length);
  }

  private decideIpv4(slot: number, at: number, length: number): number {
    const bytes = this.rx.bytes;
    const ipAt = at + ETH_HEADER_LEN;
    if (length < ETH_HEADER_LEN + IPV4_MIN_HEADER_LEN) return this.drop(slot, C.DROP_SHORT_IPV4);
    if (ipv4Version(bytes, ipAt) !== 4) return this.drop(slot, C.DROP.bad_version);
    const table = this.table;
    const vipAt = this.vipAts[slot] ?? -1;
    if (vipAt < 0) return this.pass(slot, C.PASS.not_vip);
    // Only part of a frame longer than its slot is here (a GSO frame from a virtual link).
    if (((this.rx.flags[slot] ?? 0) & FRAME_TRUNCATED) !== 0) return this.drop(slot, C.DROP.truncated);
    const headerLength = ipv4HeaderLength(bytes, ipAt);
    if (headerLength < IPV4_MIN_HEADER_LEN) return this.drop(slot, C.DROP.bad_ihl);
    // Options are rare, mostly hostile (source routing), and would make the header's end
    // variable for no benefit: dropped, as Katran does.
    if (headerLength > IPV4_MIN_HEADER_LEN) return this.drop(slot, C.DROP.ip_options);
    const totalLength = read16(bytes, ipAt + IPV4_TOTAL_LENGTH);
    if (totalLength < headerLength || ETH_HEADER_LEN + totalLength > length) {
      return this.drop(slot, C.DROP.bad_total_length);
    }
    // Forged sources: no station sends from a group MAC, nor from these addresses (a reply to
    // one would go to the segment, the box itself or nowhere); none may create a session.
    if (isGroupMac(readMacHigh(bytes, at + ETH_SRC))) return this.drop(slot, C.DROP.group_source);
    const clientIp = read32(bytes, ipAt + IPV4_SRC);
    if (isMartianSource(clientIp) || clientIp === read32(bytes, ipAt + IPV4_DST)) return this.drop(slot, C.DROP.martian_source);
    const protocol = bytes[ipAt + IPV4_PROTOCOL] ?? 0;
    const fragment = read16(bytes, ipAt + IPV4_FLAGS_FRAGMENT);
    const l4At = ipAt + headerLength;
    const l4Length = totalLength - headerLength;
    if (protocol === IPPROTO_ICMP) return this.decideIcmp(slot, at, length, vipAt, fragment, l4At, l4Length);
    if (protocol !== IPPROTO_TCP && protocol !== IPPROTO_UDP) return this.drop(slot, C.DROP.unsupported_protocol);
    if ((fragment & IPV4_FRAGMENT_OFFSET_MASK) !== 0) return this.decideLaterFragment(slot, vipAt, protocol, clientIp);
    if (protocol === IPPROTO_TCP && l4Length < TCP_MIN_HEADER_LEN) return this.drop(slot, C.DROP.short_tcp);
    if (protocol === IPPROTO_UDP && l4Length < UDP_HEADER_LEN) return this.drop(slot, C.DROP.short_udp);
    const server = this.servers[slot] ?? NO_SERVER;
    if (server === NO_SERVER) return this.drop(slot, C.DROP.no_server);
    if (server === SERVER_DISABLED) return this.drop(slot, C.DROP.server_disabled);
    const serverAt = table.serverAt(server);
    const tcpFlags = protocol === IPPROTO_TCP ? (bytes[l4At + TCP_FLAGS] ?? 0) : NOT_TCP;
    const target = this.chooser.target(table, server, clientIp, this.sessionPort(serverAt, l4At), this.bucketAts[slot] ?? 0, this.nowS, tcpFlags);
    if (target >= 0) return this.forward(slot, at, length, serverAt, target);
    if (target === RESET_FOR_DOWN_TARGET) return this.reset(slot, at, l4At, l4Length);
    return this.drop(slot, target === DROP_FOR_DOWN_TARGET ? C.DROP.target_down : C.DROP.no_target);
  }

  /** Answers the client's TCP segment (its target is down, `downpolicy reset`) with a RST from the VIP. */
  private reset(slot: number, at: number, tcpAt: number, tcpLength: number): number {
    const tx = this.tx;
    if (tx.count >= tx.slotCount) return this.drop(slot, C.DROP.tx_full);
    const txSlot = tx.count;
    const length = writeTcpReset(this.rx.bytes, at, tcpAt, tcpLength, tx.bytes, tx.offsets[txSlot]!, this.table.ownMacHigh, this.table.ownMacLow);
    if (length === 0) return this.drop(slot, C.DROP.short_tcp);
    tx.count++;
    tx.rxSlots[txSlot] = -1;
    tx.lengths[txSlot] = length;
    this.count(RESETS_SENT_AT, 1);
    return VERDICT_REPLY;
  }

  /** The client port part of the session key: the source port when the server keys on it, else 0. */
  private sessionPort(serverAt: number, l4At: number): number {
    return this.table.field(serverAt, S_KEY_PORT) === 1 ? read16(this.rx.bytes, l4At + L4_SRC_PORT) : 0;
  }

  /**
   * A server for (VIP, protocol, port): an enabled server on exactly that port first, then an
   * enabled every-port server (port 0); SERVER_DISABLED when only disabled servers match.
   */
  private findServer(vipAt: number, protocol: number, port: number): number {
    const table = this.table;
    const first = table.vipField(vipAt, VIP_FIRST_SERVER);
    const end = first + table.vipField(vipAt, VIP_SERVER_COUNT);
    let anyPort = NO_SERVER;
    let disabledMatch = false;
    for (let server = first; server < end; server++) {
      const serverAt = table.serverAt(server);
      if (table.field(serverAt, S_PROTOCOL) !== protocol) continue;
      const serverPort = table.field(serverAt, S_PORT);
      if (serverPort !== port && serverPort !== 0) continue;
      if (table.field(serverAt, S_ENABLED) !== 1) disabledMatch = true;
      else if (serverPort === port) return server;
      else anyPort = server;
    }
    if (anyPort !== NO_SERVER) return anyPort;
    return disabledMatch ? SERVER_DISABLED : NO_SERVER;
  }

  /**
   * A fragment after the first carries no ports, so it can only follow an existing session,
   * and only when that session is findable without a port: the VIP has a single enabled server
   * for the protocol and that server keys sessions on the client address alone.
   */
  private decideLaterFragment(slot: number, vipAt: number, protocol: number, clientIp: number): number {
    const table = this.table;
    const first = table.vipField(vipAt, VIP_FIRST_SERVER);
    const end = first + table.vipField(vipAt, VIP_SERVER_COUNT);
    let only = NO_SERVER;
    for (let server = first; server < end; server++) {
      if (table.field(table.serverAt(server), S_PROTOCOL) !== protocol) continue;
      if (only !== NO_SERVER) return this.drop(slot, C.DROP.fragment_unmapped);
      only = server;
    }
    if (only === NO_SERVER) return this.drop(slot, C.DROP.fragment_unmapped);
    const serverAt = table.serverAt(only);
    if (table.field(serverAt, S_ENABLED) !== 1 || table.field(serverAt, S_KEY_PORT) === 1) {
      return this.drop(slot, C.DROP.fragment_unmapped);
    }
    const targetId = this.sessions.find(table.field(serverAt, S_ID), clientIp, 0, this.nowS, table.field(serverAt, S_TIMEOUT_S));
    const target = table.targetIndexOfId(targetId);
    if (target < 0 || !table.keepsSession(only, target)) return this.drop(slot, C.DROP.fragment_unmapped);
    const at = this.rx.offsets[slot]!;
    return this.forward(slot, at, this.rx.lengths[slot] ?? 0, serverAt, target);
  }

  /**
   * Sends the frame on to the target from its own rx slot (no copy): destination MAC = target,
   * source MAC = own, IP bytes unchanged.
   */
  private forward(slot: number, at: number, length: number, serverAt: number, target: number): number {
    const tx = this.tx;
    if (tx.count >= tx.slotCount) return this.drop(slot, C.DROP.tx_full);
    const table = this.table;
    const bytes = this.rx.bytes;
    const txSlot = tx.count++;
    tx.rxSlots[txSlot] = slot;
    const targetAt = table.targetAt(target);
    writeMac(bytes, at + ETH_DST, table.field(targetAt, T_MAC_HIGH), table.field(targetAt, T_MAC_LOW));
    writeMac(bytes, at + ETH_SRC, table.ownMacHigh, table.ownMacLow);
    tx.lengths[txSlot] = length;
    if (((this.rx.flags[slot] ?? 0) & FRAME_CSUM_NOT_READY) !== 0 && completePartialL4Checksum(bytes, at + ETH_HEADER_LEN)) {
      this.count(CHECKSUMS_COMPLETED_AT, 1);
    }
    const serverId = table.field(serverAt, S_ID);
    const targetId = table.field(targetAt, T_ID);
    this.count(FORWARDED_AT, 1);
    this.count(FORWARDED_BYTES_AT, length);
    this.count(C.SERVER_PACKETS_AT + serverId, 1);
    this.count(C.SERVER_BYTES_AT + serverId, length);
    this.count(C.TARGET_PACKETS_AT + targetId, 1);
    this.count(C.TARGET_BYTES_AT + targetId, length);
    return VERDICT_FORWARD;
  }

  /**
   * Answers an echo request to a VIP that an enabled server uses (at most ECHO_REPLIES_PER_SECOND
   * a second), forwards destination-unreachable and time-exceeded errors to the target they are
   * about; other ICMP is dropped.
   */
  private decideIcmp(slot: number, at: number, length: number, vipAt: number, fragment: number, icmpAt: number, icmpLength: number): number {
    if ((fragment & (IPV4_MORE_FRAGMENTS | IPV4_FRAGMENT_OFFSET_MASK)) !== 0) {
      return this.drop(slot, C.DROP.fragment_unmapped);
    }
    if (icmpLength < ICMP_HEADER_LEN) return this.drop(slot, C.DROP.short_icmp);
    const bytes = this.rx.bytes;
    const type = bytes[icmpAt + ICMP_TYPE] ?? 0;
    if (isForwardedIcmpError(type)) return this.forwardIcmpError(slot, at, length, vipAt, icmpAt, icmpLength);
    if (type !== ICMP_ECHO_REQUEST || bytes[icmpAt + ICMP_CODE] !== 0) return this.drop(slot, C.DROP.icmp_not_echo);
    const table = this.table;
    if (table.vipField(vipAt, VIP_ANSWERS) !== 1) return this.drop(slot, C.DROP.server_disabled);
    const tx = this.tx;
    if (tx.count >= tx.slotCount) return this.drop(slot, C.DROP.tx_full);
    if (!this.echoReplies.take(this.nowS)) return this.drop(slot, C.DROP.echo_rate_limited);
    const txSlot = tx.count++;
    tx.rxSlots[txSlot] = -1;
    const txAt = tx.offsets[txSlot]!;
    const replyLength = icmpAt - at + icmpLength;
    this.copyFrame(at, txAt, replyLength);
    turnIntoEchoReply(tx.bytes, txAt, txAt + (icmpAt - at), table.ownMacHigh, table.ownMacLow);
    tx.lengths[txSlot] = replyLength;
    this.count(ICMP_REPLIES_AT, 1);
    return VERDICT_REPLY;
  }

  /**
   * An ICMP error about a packet a target sent from the VIP to a client (quoted in it): forwarded
   * unchanged but for the MACs to the target of that client's session, so that path MTU
   * discovery works through bng (fragmentation needed reaches the target whose replies are too
   * big for a router on the way).
   */
  private forwardIcmpError(slot: number, at: number, length: number, vipAt: number, icmpAt: number, icmpLength: number): number {
    const table = this.table;
    const quoted = this.quoted;
    const malformed = readQuotedPacket(this.rx.bytes, icmpAt, icmpLength, table.vipField(vipAt, VIP_IP), quoted);
    if (malformed !== 0) return this.drop(slot, malformed);
    const server = this.findServer(vipAt, quoted[QUOTED_PROTOCOL] ?? 0, quoted[QUOTED_SERVER_PORT] ?? 0);
    if (server < 0) return this.drop(slot, C.DROP.icmp_error_no_session);
    const serverAt = table.serverAt(server);
    const keyPort = table.field(serverAt, S_KEY_PORT) === 1 ? (quoted[QUOTED_CLIENT_PORT] ?? 0) : 0;
    const target = this.chooser.quotedClientTarget(table, server, (quoted[QUOTED_CLIENT_IP] ?? 0) >>> 0, keyPort, this.nowS);
    if (target < 0) return this.drop(slot, C.DROP.icmp_error_no_session);
    this.count(ICMP_ERRORS_FORWARDED_AT, 1);
    return this.forward(slot, at, length, serverAt, target);
  }

  /** Copies `length` bytes of the rx frame at `from` to tx at `to`, a word at a time when it can. */
  private copyFrame(from: number, to: number, length: number): void {
    const rxWords = this.rxWords;
    const txWords = this.txWords;
    if (rxWords !== undefined && txWords !== undefined && (from & 3) === 0 && (to & 3) === 0) {
      // Whole words, rounding up: a slot is larger than the frame and word aligned, so the
      // few extra bytes stay inside the slot and beyond the frame's length.
      const fromWord = from >>> 2;
      const toWord = to >>> 2;
      const words = (length + 3) >>> 2;
      for (let i = 0; i < words; i++) txWords[toWord + i] = rxWords[fromWord + i] ?? 0;
      return;
    }
    const rxBytes = this.rx.bytes;
    const txBytes = this.tx.bytes;
    for (let i = 0; i < length; i++) txBytes[to + i] = rxBytes[from + i] ?? 0;
  }
}

/** An Int32 view of a batch's bytes when slots allow whole-word copies, else undefined. */
function wordView(batch: PacketBatch): Int32Array | undefined {
  const bytes = batch.bytes;
  if (bytes.byteOffset % 4 !== 0 || batch.slotSize % 4 !== 0 || bytes.byteLength % 4 !== 0) return undefined;
  return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}
