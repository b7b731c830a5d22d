// Per-worker counters in one SharedArrayBuffer. Each worker owns a region and is its only
// writer (plain increments, no atomics); the control side sums the regions when it reads.
// Float64 keeps counts exact to 2^53 and an aligned 8-byte store is never torn on x86-64/arm64.

import type { PacketIOStats } from "./packet-io.ts";
import { ID_LIMIT } from "./table-layout.ts";

/** Each name's index in its list, so a list is the one source of its names and indexes. */
function indexesOf<const Names extends readonly string[]>(names: Names): { readonly [Name in Names[number]]: number } {
  return Object.freeze(Object.fromEntries(names.map((name, index) => [name, index]))) as { readonly [Name in Names[number]]: number };
}

/** Why a frame addressed to a VIP (or unreadable) was dropped. Indices are stable. */
export const DROP_REASONS = [
  "short_ethernet",
  "short_arp",
  "short_ipv4",
  "bad_version",
  "bad_ihl",
  "ip_options",
  "bad_total_length",
  "short_tcp",
  "short_udp",
  "short_icmp",
  "fragment_unmapped",
  "unsupported_protocol",
  "icmp_not_echo",
  "no_server",
  "server_disabled",
  "no_target",
  "from_self",
  "tx_full",
  "truncated",
  "group_source",
  "martian_source",
  "bad_arp_sender",
  "echo_rate_limited",
  "icmp_error_malformed",
  "icmp_error_no_session",
  "target_down",
] as const;
export type DropReason = (typeof DROP_REASONS)[number];
export const DROP = indexesOf(DROP_REASONS);

export const DROP_SHORT_IPV4 = 2;

/** Why a frame was left to the kernel. */
export const PASS_REASONS = ["not_vip", "not_ipv4", "vlan", "packet_type", "arp"] as const;
export type PassReason = (typeof PASS_REASONS)[number];
export const PASS = indexesOf(PASS_REASONS);

export const PASS_NOT_IPV4 = 1;

/** Everything else a worker counts. */
export const EVENTS = [
  "frames",
  "forwarded",
  "forwarded_bytes",
  "arp_replies",
  "icmp_replies",
  "neighbour_sightings",
  "checksums_completed",
  // The worker's packet I/O, copied from its totals (never incremented per frame): frames the
  // kernel dropped because the socket's queue or ring was full, frames the kernel refused to
  // send, and receives that failed (EINTR, ENETDOWN).
  "kernel_drops",
  "send_refused",
  "receive_errors",
  // ICMP destination-unreachable and time-exceeded forwarded to the target that sent the
  // packet they are about (also counted in `forwarded`).
  "icmp_errors_forwarded",
  // Flood defence: frames of new clients beyond `set newsessions` a second (no session made),
  // and those of them forwarded by consistent hashing (also counted in `forwarded`).
  "sessions_refused",
  "flood_stateless",
  // Sessions whose client sent TCP FIN or RST: they now end after `set fintimeout` idle seconds.
  "sessions_closed",
  // ARP from a target's address with another MAC than the one bng uses (a candidate), a
  // candidate adopted because the target's reply to bng's own request carried it, and one
  // dropped because that reply carried the MAC bng already had.
  "neighbour_candidates",
  "neighbour_confirmed",
  "neighbour_refuted",
  // ARP frames for a VIP sent with a target's MAC: the target answers ARP for the VIP.
  "target_vip_arp",
  // TCP segments of clients whose target is down answered with a RST from the VIP (`downpolicy reset`).
  "resets_sent",
] as const;
export type EventName = (typeof EVENTS)[number];
export const EVENT = indexesOf(EVENTS);


// Region layout, in Float64 slots.
export const EVENTS_AT = 0;
export const DROPS_AT = EVENTS_AT + EVENTS.length;
export const PASSES_AT = DROPS_AT + DROP_REASONS.length;
/** Per server id: packets at SERVER_PACKETS_AT + id, bytes at SERVER_BYTES_AT + id. */
export const SERVER_PACKETS_AT = PASSES_AT + PASS_REASONS.length;
export const SERVER_BYTES_AT = SERVER_PACKETS_AT + ID_LIMIT;
export const TARGET_PACKETS_AT = SERVER_BYTES_AT + ID_LIMIT;
export const TARGET_BYTES_AT = TARGET_PACKETS_AT + ID_LIMIT;
/** The errno of the worker's last refused send (0: none), copied with its I/O totals; not summed. */
export const LAST_SEND_ERRNO_AT = TARGET_BYTES_AT + ID_LIMIT;
const REGION_SLOTS = LAST_SEND_ERRNO_AT + 1;

export interface TrafficCount {
  packets: number;
  bytes: number;
}

/** Sums over all workers. Servers and targets appear once they have traffic. */
export interface CountersSnapshot {
  events: Record<EventName, number>;
  drops: Record<DropReason, number>;
  passes: Record<PassReason, number>;
  servers: Map<number, TrafficCount>;
  targets: Map<number, TrafficCount>;
}

export function createCounters(workerCount: number): SharedArrayBuffer {
  return new SharedArrayBuffer(workerCount * REGION_SLOTS * 8);
}

/** Worker `index`'s region: the array the processor increments. */
export function workerCounters(buffer: SharedArrayBuffer, index: number): Float64Array {
  return new Float64Array(buffer, index * REGION_SLOTS * 8, REGION_SLOTS);
}

function named<const Names extends readonly string[]>(
  names: Names,
  sums: Float64Array,
  at: number,
): Record<Names[number], number> {
  return Object.fromEntries(names.map((name, i) => [name, sums[at + i] ?? 0])) as Record<Names[number], number>;
}

function traffic(sums: Float64Array, packetsAt: number, bytesAt: number): Map<number, TrafficCount> {
  const byId = new Map<number, TrafficCount>();
  for (let id = 0; id < ID_LIMIT; id++) {
    const packets = sums[packetsAt + id] ?? 0;
    if (packets > 0) byId.set(id, { packets, bytes: sums[bytesAt + id] ?? 0 });
  }
  return byId;
}

/** Copies a worker's I/O totals into its region (the worker is its only writer). */
export function recordIoTotals(region: Float64Array, totals: Readonly<Pick<PacketIOStats, "kernelDrops" | "sendDropped" | "receiveErrors" | "lastSendErrno">>): void {
  region[EVENTS_AT + EVENT.kernel_drops] = totals.kernelDrops;
  region[EVENTS_AT + EVENT.send_refused] = totals.sendDropped;
  region[EVENTS_AT + EVENT.receive_errors] = totals.receiveErrors;
  region[LAST_SEND_ERRNO_AT] = totals.lastSendErrno;
}

/** The errno of the last send refused by the worker that had the most refused; 0 when none was. */
export function lastSendErrno(regions: readonly Float64Array[]): number {
  let errno = 0;
  let most = 0;
  for (let i = 0; i < regions.length; i++) {
    const refused = regions[i]![EVENTS_AT + EVENT.send_refused] ?? 0;
    if (refused > most) {
      most = refused;
      errno = regions[i]![LAST_SEND_ERRNO_AT] ?? 0;
    }
  }
  return errno;
}

/** Every worker's region, for `eventTotal`: views made once, so the sum allocates nothing. */
export function workerRegions(buffer: SharedArrayBuffer): Float64Array[] {
  return Array.from({ length: buffer.byteLength / (REGION_SLOTS * 8) }, (_, index) => workerCounters(buffer, index));
}

/** One event (EVENT_*) summed over the workers' regions. */
export function eventTotal(regions: readonly Float64Array[], event: number): number {
  let total = 0;
  for (let i = 0; i < regions.length; i++) total += regions[i]![EVENTS_AT + event] ?? 0;
  return total;
}

export function readCounters(buffer: SharedArrayBuffer): CountersSnapshot {
  const workers = buffer.byteLength / (REGION_SLOTS * 8);
  const sums = new Float64Array(REGION_SLOTS);
  for (let w = 0; w < workers; w++) {
    const region = workerCounters(buffer, w);
    for (let i = 0; i < REGION_SLOTS; i++) sums[i] = (sums[i] ?? 0) + (region[i] ?? 0);
  }
  return {
    events: named(EVENTS, sums, EVENTS_AT),
    drops: named(DROP_REASONS, sums, DROPS_AT),
    passes: named(PASS_REASONS, sums, PASSES_AT),
    servers: traffic(sums, SERVER_PACKETS_AT, SERVER_BYTES_AT),
    targets: traffic(sums, TARGET_PACKETS_AT, TARGET_BYTES_AT),
  };
}
