// Seeded fuzz of Processor.processBatch (200,000 mutated and garbage frames, random batches,
// clock and target states changing): no frame makes it throw, every verdict is the one
// docs/dataplane.md gives, counters count each frame once, only forwarded frames' MACs (and
// flagged checksums) change, replies are well formed, and a batch decides as frames one at a time.
// A failure names the seed, batch, slot and frame bytes; rerun a seed with BNG_FUZZ_SEED=<seed>.

import { describe, expect, test } from "bun:test";
import type { ServerDef } from "../../src/config/model.ts";
import * as C from "../../src/dataplane/counters.ts";
import { FRAME_CSUM_NOT_READY, FRAME_TRUNCATED, FRAME_VLAN_STRIPPED } from "../../src/dataplane/packet-io.ts";
import { VERDICT_DROP, VERDICT_FORWARD, VERDICT_PASS, VERDICT_REPLY } from "../../src/dataplane/process.ts";
import { ID_LIMIT, type TargetState } from "../../src/dataplane/table-layout.ts";
import { config } from "../fixtures/config.ts";
import { CLIENT_MAC, Lab, OWN_MAC, targetMac } from "../fixtures/dataplane.ts";
import {
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
  arpFrame,
  ethernet,
  icmpErrorFrame,
  icmpFrame,
  internetChecksum,
  ip,
  ipv4Frame,
  mac,
  quotedPacket,
  tcpFrame,
  udpFrame,
} from "../fixtures/frames.ts";
import { PACKET_BROADCAST, PACKET_HOST, PACKET_OTHERHOST } from "../fixtures/memory-io.ts";

const DEFAULT_SEED = 0x5eed_b09;
const FRAME_COUNT = 200_000;
/** Distinct base frames; each fuzz case mutates a copy of one (building frames is the slow part). */
const BASE_FRAME_COUNT = 4000;
/** A small prime keeps the Maglev rebuild on every target change cheap. */
const MAGLEV_SIZE = 1009;

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/** mulberry32: small, fast, and the same sequence for a seed on every run and machine. */
function createRng(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    /** An integer in lo..hi, both included. */
    int: (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (probability: number): boolean => next() < probability,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    bytes: (length: number): Uint8Array => {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) out[i] = Math.floor(next() * 256);
      return out;
    },
  };
}
type Rng = ReturnType<typeof createRng>;

// ---------------------------------------------------------------------------------------------
// The balancer under test: VIPs with several servers each, so every branch of the server lookup,
// the later-fragment rule and the selection methods is reachable.

const VIP_WEB = "10.0.0.10"; // several TCP servers, one UDP, one disabled, one keyed on ports
const VIP_ANY = "10.0.0.11"; // every-port servers: later TCP fragments map, later UDP ones do not
const VIP_MIXED = "10.0.0.12"; // one UDP server (later UDP fragments map), two TCP servers; downpolicy hold and reset
const VIP_OFF = "10.0.0.13"; // only a disabled server: no ARP or ping answers
const VIPS = [VIP_WEB, VIP_ANY, VIP_MIXED, VIP_OFF];
const NOT_VIPS = ["10.0.0.200", "10.0.0.252", "192.0.2.7", "10.0.0.101"];
const CLIENTS = ["192.0.2.7", "192.0.2.8", "198.51.100.1", "198.51.100.99", "203.0.113.5"];
const CLIENT_PORTS = [40000, 40001, 51234];
const TARGET_IPS = ["10.0.0.101", "10.0.0.102", "10.0.0.103", "10.0.0.104", "10.0.0.105", "10.0.0.106", "10.0.0.107"];
/** Sources no client has (docs/dataplane.md, martian_source); a frame's own VIP is one too. */
const MARTIANS = ["0.0.0.0", "0.1.2.3", "127.0.0.1", "224.0.0.5", "239.255.255.250", "255.255.255.255"];
/** Ethernet addresses no station sends from: multicast and broadcast. */
const GROUP_MACS = ["01:00:5e:00:00:05", "33:33:00:00:00:01", "ff:ff:ff:ff:ff:ff"];
/** ARP sender addresses bng never takes for a target's MAC. */
const BAD_ARP_SENDERS = [...GROUP_MACS, "00:00:00:00:00:00", OWN_MAC];
const ROUTER_IP = "10.0.0.254";

function fuzzConfig() {
  return config(
    [
      { id: 1, ipaddr: VIP_WEB, port: 80, targets: [1, 2], backup: [3], method: "rr" },
      { id: 2, ipaddr: VIP_WEB, port: 53, protocol: "udp", targets: [3], method: "hash" },
      { id: 3, ipaddr: VIP_WEB, port: 443, targets: [1], enabled: false },
      { id: 7, ipaddr: VIP_WEB, port: 8443, targets: [1, 2, 4], method: "maglev", persistence: "clientport" },
      { id: 4, ipaddr: VIP_ANY, port: 0, targets: [4, 5], backup: [8], method: "first", timeoutS: 5 },
      { id: 8, ipaddr: VIP_ANY, port: 0, protocol: "udp", targets: [5], method: "random", persistence: "clientport" },
      { id: 5, ipaddr: VIP_MIXED, port: 5000, protocol: "udp", targets: [5, 6, 7], method: "wrr", timeoutS: 30, downPolicy: "reset" },
      { id: 9, ipaddr: VIP_MIXED, port: 22, targets: [6, 7], method: "session", downPolicy: "hold" },
      { id: 10, ipaddr: VIP_MIXED, port: 25, targets: [2, 6], method: "wrandom", downPolicy: "reset" },
      { id: 6, ipaddr: VIP_OFF, port: 80, targets: [1], enabled: false },
    ],
    [
      { id: 1, ipaddr: "10.0.0.101" },
      { id: 2, ipaddr: "10.0.0.102" },
      { id: 3, ipaddr: "10.0.0.103", port: 53 },
      { id: 4, ipaddr: "10.0.0.104" },
      { id: 5, ipaddr: "10.0.0.105", weight: 3 },
      { id: 6, ipaddr: "10.0.0.106", weight: 2 },
      { id: 7, ipaddr: "10.0.0.107", enabled: false },
      // Shares target 1's address: an ARP from that address proves both MACs.
      { id: 8, ipaddr: "10.0.0.101", port: 8080 },
    ],
    MAGLEV_SIZE,
  );
}

// ---------------------------------------------------------------------------------------------
// Frame layout (untagged Ethernet, IPv4 without options): where the mutations and checks look.

const ETH_SRC = 6;
const ETH_TYPE = 12;
const IP = 14;
const IP_TOTAL_LENGTH = IP + 2;
const IP_FRAGMENT = IP + 6;
const IP_TTL = IP + 8;
const IP_PROTOCOL = IP + 9;
const IP_SRC = IP + 12;
const IP_DST = IP + 16;
const L4 = IP + 20;
const ARP_SHA = IP + 8;
const ARP_SPA = IP + 14;
const ARP_THA = IP + 18;
const ARP_TPA = IP + 24;
const ARP_FRAME_LEN = IP + 28;

const be16 = (bytes: Uint8Array, at: number): number => ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
const be32 = (bytes: Uint8Array, at: number): number => ((be16(bytes, at) << 16) | be16(bytes, at + 2)) >>> 0;
function put16(bytes: Uint8Array, at: number, value: number): void {
  if (at + 1 < bytes.length) bytes.set([(value >>> 8) & 255, value & 255], at);
}
function put32(bytes: Uint8Array, at: number, value: number): void {
  put16(bytes, at, value >>> 16);
  put16(bytes, at + 2, value & 0xffff);
}
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
/** The MAC at `at` is a group (multicast or broadcast) address. */
const isGroupMac = (bytes: Uint8Array, at: number): boolean => ((bytes[at] ?? 0) & 1) === 1;
const hex = (bytes: Uint8Array, limit = 96): string =>
  Buffer.from(bytes.subarray(0, limit)).toString("hex") + (bytes.length > limit ? `… (${bytes.length} bytes)` : ` (${bytes.length} bytes)`);

// ---------------------------------------------------------------------------------------------
// Base frames: well-formed frames that reach every verdict, built once per run.

interface BaseFrame {
  kind: string;
  frame: Uint8Array;
  /** The L4 checksum holds only the pseudo-header sum, as the kernel leaves it for offload. */
  partialChecksum: boolean;
  pktType: number;
}

const TCP_ENDPOINTS: ReadonlyArray<[string, number]> = [
  [VIP_WEB, 80], [VIP_WEB, 80], [VIP_WEB, 443], [VIP_WEB, 8443], [VIP_WEB, 81], [VIP_ANY, -1], [VIP_ANY, -1],
  [VIP_MIXED, 22], [VIP_MIXED, 25], [VIP_MIXED, 5000], [VIP_OFF, 80],
];
const UDP_ENDPOINTS: ReadonlyArray<[string, number]> = [[VIP_WEB, 53], [VIP_WEB, 80], [VIP_ANY, -1], [VIP_MIXED, 5000], [VIP_MIXED, 5000]];

function payload(rng: Rng): Uint8Array {
  return rng.bytes(rng.chance(0.8) ? rng.int(0, 120) : rng.int(0, 1400));
}

function client(rng: Rng): { srcIp: string; srcPort: number } {
  return {
    srcIp: rng.chance(0.02) ? rng.pick([...MARTIANS, ...VIPS]) : rng.chance(0.85) ? rng.pick(CLIENTS) : `198.18.${rng.int(0, 255)}.${rng.int(0, 255)}`,
    srcPort: rng.chance(0.8) ? rng.pick(CLIENT_PORTS) : rng.int(0, 65535),
  };
}

/**
 * An ICMP error to a VIP about a target's reply to a client: mostly well formed (some clients
 * have sessions), some with a quote bng cannot use (cut short, from another address, of a later
 * fragment, neither TCP nor UDP).
 */
function icmpErrorBase(rng: Rng, ip4: { src: string; dst: string; padding: number }): Uint8Array {
  const tcp = rng.chance(0.7);
  const [vip, endpointPort] = rng.pick(tcp ? TCP_ENDPOINTS : UDP_ENDPOINTS);
  const { srcIp: clientIp, srcPort: clientPort } = client(rng);
  const reply = {
    src: targetMac(rng.int(1, 8)),
    dst: "02:00:00:00:ee:01",
    srcIp: rng.chance(0.95) ? vip : rng.pick(NOT_VIPS),
    dstIp: clientIp,
    srcPort: endpointPort < 0 ? rng.int(0, 65535) : endpointPort,
    dstPort: clientPort,
    payload: payload(rng),
    fragmentOffset: rng.chance(0.03) ? rng.int(1, 100) : 0,
  };
  const offending = rng.chance(0.05) ? icmpFrame({ ...reply, type: 0 }) : tcp ? tcpFrame({ ...reply, flags: TCP_ACK }) : udpFrame(reply);
  const quoteLength = rng.pick([28, 28, 48, rng.int(0, 60), Infinity]);
  const type = rng.chance(0.8) ? 3 : 11;
  const code = type === 3 ? (rng.chance(0.6) ? 4 : rng.int(0, 15)) : rng.int(0, 1);
  const quoted = quotedPacket(offending, Number.isFinite(quoteLength) ? quoteLength : undefined);
  return icmpErrorFrame({ ...ip4, srcIp: ROUTER_IP, dstIp: vip, type, code, rest: type === 3 && code === 4 ? 1280 : 0, quoted });
}

function baseFrame(rng: Rng): BaseFrame {
  const ip4 = { src: rng.chance(0.015) ? rng.pick(GROUP_MACS) : CLIENT_MAC, dst: OWN_MAC, ...client(rng), padding: rng.chance(0.1) ? rng.int(1, 20) : 0 };
  const partialChecksum = rng.chance(0.25);
  const firstFragment = rng.chance(0.08);
  const roll = rng.int(0, 99);
  if (roll < 30) {
    const [dstIp, port] = rng.pick(TCP_ENDPOINTS);
    const flags = rng.pick([TCP_SYN, TCP_ACK, TCP_ACK, TCP_FIN | TCP_ACK]);
    const dstPort = port < 0 ? rng.int(0, 65535) : port;
    const frame = tcpFrame({ ...ip4, dstIp, dstPort, flags, payload: payload(rng), partialChecksum, moreFragments: firstFragment });
    return { kind: firstFragment ? "tcp-first-fragment" : "tcp", frame, partialChecksum, pktType: PACKET_HOST };
  }
  if (roll < 48) {
    const [dstIp, port] = rng.pick(UDP_ENDPOINTS);
    const dstPort = port < 0 ? rng.int(0, 65535) : port;
    const frame = udpFrame({ ...ip4, dstIp, dstPort, payload: payload(rng), partialChecksum, moreFragments: firstFragment });
    return { kind: firstFragment ? "udp-first-fragment" : "udp", frame, partialChecksum, pktType: PACKET_HOST };
  }
  if (roll < 58) {
    // A later fragment: no L4 header, so the bytes after the IP header are payload.
    const protocol = rng.pick([6, 17]);
    const dstIp = rng.pick([VIP_ANY, VIP_MIXED, VIP_WEB]);
    const frame = ipv4Frame({ ...ip4, dstIp, fragmentOffset: rng.int(1, 0x1fff), moreFragments: rng.chance(0.5) }, protocol, payload(rng));
    return { kind: "later-fragment", frame, partialChecksum: false, pktType: PACKET_HOST };
  }
  if (roll < 68) {
    if (rng.chance(0.4)) return { kind: "icmp-error", frame: icmpErrorBase(rng, ip4), partialChecksum: false, pktType: PACKET_HOST };
    const type = rng.pick([8, 8, 8, 0, 3, 13]);
    const dstIp = rng.chance(0.85) ? rng.pick(VIPS) : rng.pick(NOT_VIPS);
    const code = rng.chance(0.9) ? 0 : rng.int(1, 255);
    const frame = icmpFrame({ ...ip4, dstIp, type, code, payload: payload(rng), moreFragments: rng.chance(0.05) });
    return { kind: "icmp", frame, partialChecksum: false, pktType: PACKET_HOST };
  }
  if (roll < 80) {
    const senderIp = rng.pick([...CLIENTS, ...TARGET_IPS, ...VIPS]);
    const targetIp = rng.pick([...VIPS, ...VIPS, ...NOT_VIPS, ...TARGET_IPS]);
    const senderMac = rng.chance(0.08) ? rng.pick(BAD_ARP_SENDERS) : rng.chance(0.5) ? CLIENT_MAC : targetMac(rng.int(1, 8));
    const op = rng.chance(0.75) ? 1 : 2;
    // Replies mostly to bng's MAC, as answers to its own requests come; the Ethernet source is
    // mostly the sender's, sometimes a group address or another station's.
    const dst = op === 2 && rng.chance(0.7) ? OWN_MAC : "ff:ff:ff:ff:ff:ff";
    const src = rng.chance(0.85) && !BAD_ARP_SENDERS.includes(senderMac) ? senderMac : rng.pick([...GROUP_MACS, CLIENT_MAC, "02:00:00:00:dd:01"]);
    const frame = arpFrame({ op, senderMac, senderIp, targetIp, src, dst });
    return { kind: "arp", frame, partialChecksum: false, pktType: rng.chance(0.5) ? PACKET_BROADCAST : PACKET_HOST };
  }
  if (roll < 84) {
    const [dstIp, port] = rng.pick(TCP_ENDPOINTS);
    const ipOptions = rng.bytes(4 * rng.int(1, 10));
    const frame = tcpFrame({ ...ip4, dstIp, dstPort: port < 0 ? 80 : port, flags: TCP_SYN, ipOptions });
    return { kind: "ip-options", frame, partialChecksum: false, pktType: PACKET_HOST };
  }
  if (roll < 89) {
    const frame = tcpFrame({ ...ip4, dstIp: rng.pick(NOT_VIPS), dstPort: 80, flags: TCP_SYN, payload: payload(rng) });
    return { kind: "not-vip", frame, partialChecksum: false, pktType: PACKET_HOST };
  }
  if (roll < 92) {
    const frame = tcpFrame({ ...ip4, dstIp: VIP_WEB, dstPort: 80, flags: TCP_SYN, vlan: rng.int(0, 4095) });
    return { kind: "vlan-tagged", frame, partialChecksum: false, pktType: PACKET_HOST };
  }
  if (roll < 94) {
    // The largest frame a slot holds: the end of the slot is the end of the frame.
    const dstIp = rng.pick([VIP_WEB, VIP_ANY]);
    const frame = tcpFrame({ ...ip4, padding: 0, dstIp, dstPort: 80, flags: TCP_ACK, payload: rng.bytes(2048 - 54), partialChecksum });
    return { kind: "slot-sized", frame, partialChecksum, pktType: PACKET_HOST };
  }
  if (roll < 96) {
    const frame = ethernet({ src: CLIENT_MAC }, rng.pick([0x86dd, 0x88cc, 0x0842, rng.int(0, 0xffff)]), payload(rng));
    return { kind: "other-ethertype", frame, partialChecksum: false, pktType: PACKET_HOST };
  }
  // Garbage, mostly short; some with an IPv4 EtherType and a VIP destination to get further in.
  const frame = rng.bytes(rng.chance(0.7) ? rng.int(0, 80) : rng.int(0, 2048));
  if (rng.chance(0.5)) {
    put16(frame, ETH_TYPE, rng.pick([0x0800, 0x0806]));
    put32(frame, IP_DST, ip(rng.pick(VIPS)));
  }
  return { kind: "garbage", frame, partialChecksum: false, pktType: PACKET_HOST };
}

// ---------------------------------------------------------------------------------------------
// Mutations

const OWN_MAC_BYTES = mac(OWN_MAC);

/** Damages the frame in place (or returns a shorter/longer one); returns the new frame. */
function mutate(rng: Rng, input: Uint8Array, log: string[]): Uint8Array {
  let frame = input;
  const headerEnd = (): number => Math.min(frame.length, 64);
  switch (rng.int(0, 9)) {
    case 0: {
      const length = rng.chance(0.5) ? rng.int(0, frame.length) : Math.max(0, frame.length - rng.int(1, 8));
      frame = frame.slice(0, length);
      log.push(`truncate:${length}`);
      break;
    }
    case 1: {
      if (frame.length === 0) break;
      const at = rng.chance(0.85) ? rng.int(0, headerEnd() - 1) : rng.int(0, frame.length - 1);
      const bit = rng.int(0, 7);
      frame[at] = frame[at]! ^ (1 << bit);
      log.push(`bit:${at}.${bit}`);
      break;
    }
    case 2: {
      if (frame.length === 0) break;
      const at = rng.int(0, headerEnd() - 1);
      frame[at] = rng.int(0, 255);
      log.push(`byte:${at}`);
      break;
    }
    case 3: {
      if (frame.length > IP) frame[IP] = rng.chance(0.5) ? (frame[IP]! & 0xf0) | rng.int(0, 15) : (rng.int(0, 15) << 4) | (frame[IP]! & 0x0f);
      log.push("version/ihl");
      break;
    }
    case 4: {
      const ipLength = frame.length - IP;
      const value = rng.pick([0, 19, 20, 27, 28, 39, 40, ipLength - 1, ipLength, ipLength + 1, rng.int(0, 0xffff)]);
      put16(frame, IP_TOTAL_LENGTH, value & 0xffff);
      log.push(`total-length:${value & 0xffff}`);
      break;
    }
    case 5: {
      const value = rng.pick([0, 0x2000, 0x4000, rng.int(1, 0x1fff), 0x2000 | rng.int(0, 0x1fff), rng.int(0, 0xffff)]);
      put16(frame, IP_FRAGMENT, value);
      log.push(`fragment:${value.toString(16)}`);
      break;
    }
    case 6: {
      const value = rng.pick([1, 6, 17, 47, 0, rng.int(0, 255)]);
      if (frame.length > IP_PROTOCOL) frame[IP_PROTOCOL] = value;
      log.push(`protocol:${value}`);
      break;
    }
    case 7: {
      const at = rng.pick([L4, L4 + 2, IP_SRC, IP_DST]);
      if (at === IP_SRC) put32(frame, at, ip(rng.pick(CLIENTS)));
      else if (at === IP_DST) put32(frame, at, ip(rng.pick([...VIPS, ...NOT_VIPS])));
      else put16(frame, at, rng.pick([80, 53, 443, 8443, 5000, 22, 25, 0, rng.int(0, 65535)]));
      log.push(`field@${at}`);
      break;
    }
    case 8: {
      // ARP fields: hardware/protocol type and sizes, operation, sender and target address.
      const at = rng.pick([IP, IP + 2, IP + 4, IP + 6, ARP_SPA, ARP_TPA]);
      if (at === ARP_SPA || at === ARP_TPA) put32(frame, at, ip(rng.pick([...VIPS, ...TARGET_IPS, ...CLIENTS])));
      else if (at === IP + 4) put16(frame, at, rng.pick([0x0604, 0x0606, 0x0404, rng.int(0, 0xffff)]));
      else put16(frame, at, rng.pick([1, 2, 0x0800, rng.int(0, 0xffff)]));
      log.push(`arp@${at}`);
      break;
    }
    default: {
      const choice = rng.int(0, 2);
      if (choice === 0) {
        put16(frame, ETH_TYPE, rng.pick([0x0800, 0x0806, 0x8100, 0x88a8, 0x86dd]));
        log.push("ethertype");
      } else if (choice === 1 && frame.length >= IP) {
        frame.set(OWN_MAC_BYTES, ETH_SRC);
        log.push("from-self");
      } else {
        // Trailing bytes (Ethernet padding, or a frame filling its whole slot).
        const extra = rng.chance(0.8) ? rng.int(1, 30) : 2048 - frame.length;
        const longer = new Uint8Array(Math.min(2048, frame.length + extra));
        longer.set(frame);
        longer.set(rng.bytes(longer.length - frame.length), frame.length);
        frame = longer;
        log.push(`extend:${longer.length}`);
      }
    }
  }
  return frame;
}

interface FuzzFrame {
  frame: Uint8Array;
  pktType: number;
  flags: number;
  label: string;
}

function fuzzFrame(rng: Rng, bases: readonly BaseFrame[]): FuzzFrame {
  const base = rng.pick(bases);
  const log: string[] = [base.kind];
  let frame: Uint8Array = base.frame.slice();
  // Some frames go through unharmed so that the deep paths stay busy.
  const mutations = rng.chance(0.4) ? 0 : rng.int(1, 4);
  for (let i = 0; i < mutations; i++) frame = mutate(rng, frame, log);
  let pktType = base.pktType;
  if (rng.chance(0.1)) pktType = rng.int(0, 7);
  let flags = base.partialChecksum && rng.chance(0.9) ? FRAME_CSUM_NOT_READY : 0;
  if (rng.chance(0.15)) flags |= rng.pick([FRAME_CSUM_NOT_READY, FRAME_TRUNCATED, FRAME_VLAN_STRIPPED, rng.int(0, 255)]);
  return { frame, pktType, flags, label: log.join(" ") };
}

// ---------------------------------------------------------------------------------------------
// The model: what docs/dataplane.md promises for a frame, from the frame, the config and the
// targets' states alone (sessions and selection are left open where they decide).

const DROP = Object.fromEntries(C.DROP_REASONS.map((name, index) => [name, index])) as Record<C.DropReason, number>;
const PASS = Object.fromEntries(C.PASS_REASONS.map((name, index) => [name, index])) as Record<C.PassReason, number>;

type Expected =
  | { verdict: typeof VERDICT_DROP | typeof VERDICT_PASS; reason: number }
  | { verdict: typeof VERDICT_REPLY; reply: "arp" | "icmp" }
  /**
   * Forwarded to a target of `server`, or dropped for one of `orDrops`, or (`orReset`: a session
   * of a down target under `downpolicy reset`) answered with a RST.
   */
  | { verdict: typeof VERDICT_FORWARD; server: ServerDef; laterFragment: boolean; orDrops: number[]; orReset: boolean };

interface TargetRun {
  state: TargetState;
  macKnown: boolean;
}

class Model {
  readonly config = fuzzConfig();
  readonly targets = new Map<number, TargetRun>(this.config.targets.map((t) => [t.id, { state: "up", macKnown: true }]));
  private readonly vips = new Set(this.config.servers.map((s) => s.ipaddr));
  private readonly answering = new Set(this.config.servers.filter((s) => s.enabled).map((s) => s.ipaddr));
  private readonly targetsByIp = new Map<number, number>();
  /** Target id by MAC, to read which target a forwarded frame went to. */
  readonly targetByMac = new Map<string, number>();

  constructor() {
    for (const t of this.config.targets) {
      this.targetsByIp.set(t.ipaddr, (this.targetsByIp.get(t.ipaddr) ?? 0) + 1);
      this.targetByMac.set(hex(mac(targetMac(t.id))), t.id);
    }
  }

  isVip(address: number): boolean {
    return this.vips.has(address);
  }

  targetsWithIp(address: number): number {
    return this.targetsByIp.get(address) ?? 0;
  }

  private configEnabled(id: number): boolean {
    return this.config.targets.find((t) => t.id === id)?.enabled ?? false;
  }

  /** A new session may go to it: enabled, up, MAC known. */
  selectable(id: number): boolean {
    const run = this.targets.get(id);
    return this.configEnabled(id) && run?.state === "up" && run.macKnown;
  }

  /** An existing session may still go to it: MAC known and up or disabled (draining), never down. */
  keepsSessions(id: number): boolean {
    const run = this.targets.get(id);
    if (run === undefined || !run.macKnown || run.state === "down") return false;
    return !this.configEnabled(id) || run.state === "up" || run.state === "disabled";
  }

  hasActiveTarget(server: ServerDef): boolean {
    return server.targets.some((id) => this.selectable(id)) || server.backup.some((id) => this.selectable(id));
  }

  private serversOn(vip: number, protocol: number): ServerDef[] {
    return this.config.servers.filter((s) => s.ipaddr === vip && (s.protocol === "tcp" ? 6 : 17) === protocol);
  }

  /** To bng: to the interface, or other-host to the table's own MAC (a VRRP master's virtual MAC). */
  toUs(frame: Uint8Array, pktType: number): boolean {
    return pktType === PACKET_HOST || (pktType === PACKET_OTHERHOST && frame.length >= IP && sameBytes(frame.subarray(0, 6), OWN_MAC_BYTES));
  }

  expect(frame: Uint8Array, pktType: number, flags: number): Expected {
    const drop = (name: C.DropReason): Expected => ({ verdict: VERDICT_DROP, reason: DROP[name] });
    const pass = (name: C.PassReason): Expected => ({ verdict: VERDICT_PASS, reason: PASS[name] });
    const length = frame.length;
    const toUs = this.toUs(frame, pktType);
    if (!toUs && pktType !== PACKET_BROADCAST) return pass("packet_type");
    if ((flags & FRAME_VLAN_STRIPPED) !== 0) return pass("vlan");
    if (length < IP) return drop("short_ethernet");
    if (sameBytes(frame.subarray(ETH_SRC, ETH_SRC + 6), OWN_MAC_BYTES)) return drop("from_self");
    const etherType = be16(frame, ETH_TYPE);
    if (etherType === 0x0806) return this.expectArp(frame);
    if (etherType === 0x8100 || etherType === 0x88a8) return pass("vlan");
    if (etherType !== 0x0800) return pass("not_ipv4");
    if (!toUs) return pass("packet_type");
    if (length < L4) return drop("short_ipv4");
    if (frame[IP]! >>> 4 !== 4) return drop("bad_version");
    const vip = be32(frame, IP_DST);
    if (!this.isVip(vip)) return pass("not_vip");
    if ((flags & FRAME_TRUNCATED) !== 0) return drop("truncated");
    const headerLength = (frame[IP]! & 15) * 4;
    if (headerLength < 20) return drop("bad_ihl");
    if (headerLength > 20) return drop("ip_options");
    const totalLength = be16(frame, IP_TOTAL_LENGTH);
    if (totalLength < headerLength || IP + totalLength > length) return drop("bad_total_length");
    if (isGroupMac(frame, ETH_SRC)) return drop("group_source");
    const source = be32(frame, IP_SRC);
    if (MARTIANS.some((martian) => ip(martian) === source) || source >>> 24 === 127 || source >>> 24 === 0 || source >>> 28 === 0xe || source === vip) {
      return drop("martian_source");
    }
    const protocol = frame[IP_PROTOCOL]!;
    const fragment = be16(frame, IP_FRAGMENT);
    const l4Length = totalLength - headerLength;
    if (protocol === 1) {
      if ((fragment & 0x3fff) !== 0) return drop("fragment_unmapped");
      if (l4Length < 8) return drop("short_icmp");
      if (frame[L4] === 3 || frame[L4] === 11) return this.expectIcmpError(frame, vip, l4Length);
      if (frame[L4] !== 8 || frame[L4 + 1] !== 0) return drop("icmp_not_echo");
      if (!this.answering.has(vip)) return drop("server_disabled");
      return { verdict: VERDICT_REPLY, reply: "icmp" };
    }
    if (protocol !== 6 && protocol !== 17) return drop("unsupported_protocol");
    if ((fragment & 0x1fff) !== 0) {
      // Mappable only through the session of the VIP's single, enabled, address-keyed server.
      const candidates = this.serversOn(vip, protocol);
      const only = candidates[0];
      if (candidates.length !== 1 || only === undefined || !only.enabled || only.persistence === "clientport") {
        return drop("fragment_unmapped");
      }
      return { verdict: VERDICT_FORWARD, server: only, laterFragment: true, orDrops: [DROP.fragment_unmapped], orReset: false };
    }
    if (protocol === 6 && l4Length < 20) return drop("short_tcp");
    if (protocol === 17 && l4Length < 8) return drop("short_udp");
    const port = be16(frame, L4 + 2);
    const { server, matching } = this.serverFor(vip, protocol, port);
    if (server === undefined) return drop(matching > 0 ? "server_disabled" : "no_server");
    const orDrops = this.hasActiveTarget(server) ? [] : [DROP.no_target];
    // A session of a target that is down: held, or (reset) a TCP segment answered with a RST, but
    // a SYN (rebalanced), a RST (never answered: held) and a header length bng cannot read.
    const anyDown = [...server.targets, ...server.backup].some((id) => this.targets.get(id)?.state === "down");
    let orReset = false;
    if (anyDown && server.downPolicy === "hold") orDrops.push(DROP.target_down);
    if (anyDown && server.downPolicy === "reset" && protocol === 6) {
      const tcpFlags = frame[L4 + 13]!;
      const dataOffset = (frame[L4 + 12]! >>> 4) * 4;
      if ((tcpFlags & TCP_RST) !== 0) orDrops.push(DROP.target_down);
      else if ((tcpFlags & (TCP_SYN | TCP_ACK)) !== TCP_SYN) {
        if (dataOffset < 20 || dataOffset > l4Length) orDrops.push(DROP.short_tcp);
        else orReset = true;
      }
    }
    return { verdict: VERDICT_FORWARD, server, laterFragment: false, orDrops, orReset };
  }

  /** The enabled server for (VIP, protocol, port): one on exactly that port first, then an every-port one; and how many match at all. */
  private serverFor(vip: number, protocol: number, port: number): { server: ServerDef | undefined; matching: number } {
    const matching = this.serversOn(vip, protocol).filter((s) => s.port === port || s.port === 0);
    const enabled = matching.filter((s) => s.enabled);
    return { server: enabled.find((s) => s.port === port) ?? enabled[0], matching: matching.length };
  }

  /**
   * A destination unreachable or time exceeded to `vip`: its quote must be a whole IPv4 header
   * plus 8 bytes of a TCP or UDP header sent from the VIP (not of a later fragment); then it
   * goes to the target of the quoted client's session with the quoted port's server, if any.
   */
  private expectIcmpError(frame: Uint8Array, vip: number, icmpLength: number): Expected {
    const drop = (name: C.DropReason): Expected => ({ verdict: VERDICT_DROP, reason: DROP[name] });
    const quoteAt = L4 + 8;
    const quoteLength = icmpLength - 8;
    if (quoteLength < 20 || frame[quoteAt]! >>> 4 !== 4) return drop("icmp_error_malformed");
    const headerLength = (frame[quoteAt]! & 15) * 4;
    if (headerLength < 20 || quoteLength < headerLength + 8) return drop("icmp_error_malformed");
    if (be32(frame, quoteAt + 12) !== vip || (be16(frame, quoteAt + 6) & 0x1fff) !== 0) return drop("icmp_error_malformed");
    const protocol = frame[quoteAt + 9]!;
    if (protocol !== 6 && protocol !== 17) return drop("icmp_error_malformed");
    const { server } = this.serverFor(vip, protocol, be16(frame, quoteAt + headerLength));
    if (server === undefined) return drop("icmp_error_no_session");
    return { verdict: VERDICT_FORWARD, server, laterFragment: false, orDrops: [DROP.icmp_error_no_session], orReset: false };
  }

  /** Why the ARP frame is dropped before bng looks at its addresses, if it is: a group Ethernet source, or a sender MAC no station has. */
  private arpDrop(frame: Uint8Array): C.DropReason | undefined {
    if (isGroupMac(frame, ETH_SRC)) return "group_source";
    const sender = frame.subarray(ARP_SHA, ARP_SHA + 6);
    if (isGroupMac(frame, ARP_SHA) || sender.every((byte) => byte === 0) || sameBytes(sender, OWN_MAC_BYTES)) return "bad_arp_sender";
    return undefined;
  }

  private expectArp(frame: Uint8Array): Expected {
    if (frame.length < ARP_FRAME_LEN) return { verdict: VERDICT_DROP, reason: DROP.short_arp };
    const notAnswered: Expected = { verdict: VERDICT_PASS, reason: PASS.arp };
    if (be16(frame, IP) !== 1 || be16(frame, IP + 2) !== 0x0800 || frame[IP + 4] !== 6 || frame[IP + 5] !== 4) return notAnswered;
    const dropped = this.arpDrop(frame);
    if (dropped !== undefined) return { verdict: VERDICT_DROP, reason: DROP[dropped] };
    const senderIp = be32(frame, ARP_SPA);
    const targetIp = be32(frame, ARP_TPA);
    if (be16(frame, IP + 6) !== 1 || senderIp === targetIp || !this.answering.has(targetIp)) return notAnswered;
    return { verdict: VERDICT_REPLY, reply: "arp" };
  }

  /** How many neighbour sightings the frame gives: ARP for Ethernet/IPv4 from a target's address. */
  sightings(frame: Uint8Array, pktType: number, flags: number): number {
    if (!this.toUs(frame, pktType) && pktType !== PACKET_BROADCAST) return 0;
    if ((flags & FRAME_VLAN_STRIPPED) !== 0 || frame.length < ARP_FRAME_LEN || be16(frame, ETH_TYPE) !== 0x0806) return 0;
    if (sameBytes(frame.subarray(ETH_SRC, ETH_SRC + 6), OWN_MAC_BYTES)) return 0;
    if (be16(frame, IP) !== 1 || be16(frame, IP + 2) !== 0x0800 || frame[IP + 4] !== 6 || frame[IP + 5] !== 4) return 0;
    if (this.arpDrop(frame) !== undefined) return 0;
    return this.targetsWithIp(be32(frame, ARP_SPA));
  }
}

function verdictText(verdict: number, reason: number): string {
  if (verdict === VERDICT_DROP) return `drop ${C.DROP_REASONS[reason]}`;
  if (verdict === VERDICT_PASS) return `pass ${C.PASS_REASONS[reason]}`;
  return verdict === VERDICT_FORWARD ? "forward" : verdict === VERDICT_REPLY ? "reply" : `verdict ${verdict}`;
}

function expectedText(expected: Expected): string {
  if (expected.verdict === VERDICT_FORWARD) {
    const orDrop = expected.orDrops.map((reason) => ` or drop ${C.DROP_REASONS[reason]}`).join("");
    return `forward via server ${expected.server.id}${orDrop}${expected.orReset ? " or RST" : ""}`;
  }
  if (expected.verdict === VERDICT_REPLY) return `${expected.reply} reply`;
  return verdictText(expected.verdict, expected.reason);
}

// ---------------------------------------------------------------------------------------------
// Output checks

/** The TCP/UDP checksum a completion must write: the complement of the segment's sum, field included. */
/** An unfragmented TCP/UDP segment (20-byte IP header) long enough to hold its checksum field. */
function holdsCompletableChecksum(frame: Uint8Array): boolean {
  if ((be16(frame, IP_FRAGMENT) & 0x3fff) !== 0) return false;
  const protocol = frame[IP_PROTOCOL];
  const fieldEnd = protocol === 6 ? 18 : protocol === 17 ? 8 : Infinity;
  return be16(frame, IP_TOTAL_LENGTH) - 20 >= fieldEnd;
}

function completedChecksum(frame: Uint8Array): { at: number; value: number } {
  const protocol = frame[IP_PROTOCOL]!;
  const segment = frame.subarray(L4, IP + be16(frame, IP_TOTAL_LENGTH));
  const value = internetChecksum(segment);
  return { at: L4 + (protocol === 6 ? 16 : 6), value: protocol === 17 && value === 0 ? 0xffff : value };
}

/** The folded pseudo-header sum: what a CHECKSUM_PARTIAL frame carries in its checksum field. */
function pseudoHeaderSum(frame: Uint8Array): number {
  const segmentLength = be16(frame, IP_TOTAL_LENGTH) - 20;
  const pseudo = new Uint8Array([...frame.subarray(IP_SRC, IP_DST + 4), 0, frame[IP_PROTOCOL]!, segmentLength >>> 8, segmentLength & 255]);
  return ~internetChecksum(pseudo) & 0xffff;
}

function l4ChecksumVerifies(frame: Uint8Array): boolean {
  const segment = frame.subarray(L4, IP + be16(frame, IP_TOTAL_LENGTH));
  const pseudo = new Uint8Array([...frame.subarray(IP_SRC, IP_DST + 4), 0, frame[IP_PROTOCOL]!, segment.length >>> 8, segment.length & 255]);
  const whole = new Uint8Array(pseudo.length + segment.length);
  whole.set(pseudo);
  whole.set(segment, pseudo.length);
  return internetChecksum(whole) === 0;
}

/** Why an ICMP echo reply is not the one for `request`, or undefined when it is. */
function icmpReplyProblem(request: Uint8Array, reply: Uint8Array): string | undefined {
  const totalLength = be16(request, IP_TOTAL_LENGTH);
  if (reply.length !== IP + totalLength) return `reply length ${reply.length}, expected ${IP + totalLength} (no padding)`;
  if (!sameBytes(reply.subarray(0, 6), request.subarray(ETH_SRC, ETH_SRC + 6))) return "reply not addressed to the requester's MAC";
  if (!sameBytes(reply.subarray(ETH_SRC, ETH_SRC + 6), OWN_MAC_BYTES)) return "reply source MAC is not the own MAC";
  if (be16(reply, ETH_TYPE) !== 0x0800) return "reply EtherType is not IPv4";
  if (be32(reply, IP_SRC) !== be32(request, IP_DST) || be32(reply, IP_DST) !== be32(request, IP_SRC)) return "addresses not swapped";
  if (reply[IP_TTL] !== 64) return `reply TTL ${reply[IP_TTL]}`;
  if (internetChecksum(reply.subarray(IP, L4)) !== 0) return "reply IPv4 header checksum does not verify";
  // Every other header byte and the whole payload are the request's.
  const unchanged = [[IP, IP_TTL], [IP_PROTOCOL, IP_PROTOCOL + 1], [L4 + 1, L4 + 2], [L4 + 4, IP + totalLength]] as const;
  for (const [from, to] of unchanged) {
    if (!sameBytes(reply.subarray(from, to), request.subarray(from, to))) return `reply bytes ${from}..${to} differ from the request's`;
  }
  if (reply[L4] !== 0) return `reply ICMP type ${reply[L4]}`;
  // The ICMP checksum is updated, not recomputed: it verifies exactly when the request's did.
  const requestValid = internetChecksum(request.subarray(L4, IP + totalLength)) === 0;
  const replyValid = internetChecksum(reply.subarray(L4, IP + totalLength)) === 0;
  if (requestValid !== replyValid) {
    return `reply ICMP checksum ${replyValid ? "verifies" : "fails"} but the request's ${requestValid ? "verifies" : "fails"}`;
  }
  return undefined;
}

/** Why an ARP reply is not the one for `request`, or undefined when it is. */
function arpReplyProblem(request: Uint8Array, reply: Uint8Array): string | undefined {
  if (reply.length !== ARP_FRAME_LEN) return `ARP reply of ${reply.length} bytes`;
  const requesterMac = request.subarray(ARP_SHA, ARP_SHA + 6);
  if (!sameBytes(reply.subarray(0, 6), request.subarray(ETH_SRC, ETH_SRC + 6))) return "ARP reply not addressed to the request frame's Ethernet source";
  if (!sameBytes(reply.subarray(ETH_SRC, ETH_SRC + 6), OWN_MAC_BYTES)) return "ARP reply source MAC is not the own MAC";
  const fixed = [0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 2];
  if (!sameBytes(reply.subarray(ETH_TYPE, ARP_SHA), new Uint8Array(fixed))) return "ARP reply fixed fields wrong";
  if (!sameBytes(reply.subarray(ARP_SHA, ARP_SHA + 6), OWN_MAC_BYTES)) return "ARP reply sender is not the own MAC";
  if (be32(reply, ARP_SPA) !== be32(request, ARP_TPA)) return "ARP reply sender address is not the requested VIP";
  if (!sameBytes(reply.subarray(ARP_THA, ARP_THA + 6), requesterMac)) return "ARP reply target MAC is not the requester's";
  if (be32(reply, ARP_TPA) !== be32(request, ARP_SPA)) return "ARP reply target address is not the requester's";
  return undefined;
}

/** Why `reply` is not the RST RFC 793 §3.4 gives for the client's TCP segment `request`, or undefined when it is. */
function tcpResetProblem(request: Uint8Array, reply: Uint8Array): string | undefined {
  if (reply.length !== L4 + 20) return `RST of ${reply.length} bytes`;
  if (!sameBytes(reply.subarray(0, 6), request.subarray(ETH_SRC, ETH_SRC + 6))) return "RST not addressed to the segment's Ethernet source";
  if (!sameBytes(reply.subarray(ETH_SRC, ETH_SRC + 6), OWN_MAC_BYTES)) return "RST source MAC is not the own MAC";
  const ipFixed = [0x08, 0x00, 0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6];
  if (!sameBytes(reply.subarray(ETH_TYPE, IP + 10), new Uint8Array(ipFixed))) return "RST IPv4 header fixed fields wrong";
  if (be32(reply, IP_SRC) !== be32(request, IP_DST) || be32(reply, IP_DST) !== be32(request, IP_SRC)) return "RST addresses not swapped";
  if (internetChecksum(reply.subarray(IP, L4)) !== 0) return "RST IPv4 header checksum does not verify";
  if (be16(reply, L4) !== be16(request, L4 + 2) || be16(reply, L4 + 2) !== be16(request, L4)) return "RST ports not swapped";
  const flags = request[L4 + 13]!;
  const segmentLength = be16(request, IP_TOTAL_LENGTH) - 20 - (request[L4 + 12]! >>> 4) * 4 + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);
  const [seq, ack, replyFlags] = flags & TCP_ACK ? [be32(request, L4 + 8), 0, TCP_RST] : [0, (be32(request, L4 + 4) + segmentLength) >>> 0, TCP_RST | TCP_ACK];
  if (be32(reply, L4 + 4) !== seq || be32(reply, L4 + 8) !== ack) return `RST seq/ack ${be32(reply, L4 + 4)}/${be32(reply, L4 + 8)}, expected ${seq}/${ack}`;
  if (reply[L4 + 12] !== 0x50 || reply[L4 + 13] !== replyFlags || be16(reply, L4 + 14) !== 0 || be16(reply, L4 + 18) !== 0) return "RST TCP header fields wrong";
  if (!l4ChecksumVerifies(reply)) return "RST TCP checksum does not verify";
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The run

interface Tally {
  frames: number;
  forwarded: number;
  laterFragmentsForwarded: number;
  icmpErrorsForwarded: number;
  checksumsCompleted: number;
  arpReplies: number;
  icmpReplies: number;
  resetsSent: number;
  drops: number[];
  passes: number[];
}

const TARGET_STATE_CHOICES: readonly TargetState[] = ["up", "up", "down", "disabled", "pending"];

function runFuzz(seed: number, frameCount: number): Tally {
  const rng = createRng(seed);
  const bases = Array.from({ length: BASE_FRAME_COUNT }, () => baseFrame(rng));
  const model = new Model();
  const lab = new Lab(model.config);
  // The same frames one at a time: a batch must decide exactly as they would (see process.ts,
  // touchSessionBuckets: lookups are made for the whole batch before any frame is decided).
  const oneByOne = new Lab(model.config);
  const counters = C.workerCounters(lab.countersBuffer, 0);
  const { rx, tx } = lab.io;
  const tally: Tally = {
    frames: 0,
    forwarded: 0,
    laterFragmentsForwarded: 0,
    icmpErrorsForwarded: 0,
    checksumsCompleted: 0,
    arpReplies: 0,
    icmpReplies: 0,
    resetsSent: 0,
    drops: C.DROP_REASONS.map(() => 0),
    passes: C.PASS_REASONS.map(() => 0),
  };

  for (let batch = 0; tally.frames < frameCount; batch++) {
    // Between batches, as in production: time moves on (sometimes past every session timeout)
    // and the control side publishes tables with targets gone down, disabled, back up...
    if (rng.chance(0.3)) {
      const stepMs = rng.chance(0.97) ? rng.int(0, 2500) : rng.int(600_000, 900_000);
      lab.nowMs += stepMs;
      oneByOne.nowMs += stepMs;
    }
    if (rng.chance(0.04)) {
      const id = rng.int(1, 8);
      const run: TargetRun = { state: rng.pick(TARGET_STATE_CHOICES), macKnown: rng.chance(0.85) };
      model.targets.set(id, run);
      lab.setTarget(id, run.state, run.macKnown);
      oneByOne.setTarget(id, run.state, run.macKnown);
    } else if (rng.chance(0.01)) {
      for (const id of model.targets.keys()) {
        model.targets.set(id, { state: "up", macKnown: true });
        lab.setTarget(id, "up");
        oneByOne.setTarget(id, "up");
      }
    }

    const size = Math.min(rng.int(1, rx.slotCount), frameCount - tally.frames);
    const cases = Array.from({ length: size }, () => fuzzFrame(rng, bases));
    for (const c of cases) lab.io.inject(c.frame, { pktType: c.pktType, flags: c.flags });
    lab.io.receive();
    const rxBefore = rx.bytes.slice();
    const countersBefore = counters.slice();

    const where = (slot: number): string => {
      const c = cases[slot]!;
      return `seed ${seed} batch ${batch} slot ${slot} [${c.label}] pktType ${c.pktType} flags ${c.flags}\n  frame ${hex(c.frame, 2048)}\n  `;
    };
    try {
      lab.processor.processBatch();
    } catch (error) {
      // Invariant 1: no frame, however malformed, makes the processor throw.
      const frames = cases.map((_, s) => where(s)).join("\n");
      throw new Error(`processBatch threw on a batch of ${size} (seed ${seed} batch ${batch}): ${String(error)}\n${frames}`);
    }
    lab.io.sent.length = 0;
    lab.io.send();
    const sent = lab.io.sent;

    // Invariant 2 (and the model): one verdict per frame, with the reason docs/dataplane.md gives.
    const expectedRx = rxBefore.slice();
    const forwardedTo = new Map<number, number>();
    const forwardedBy = new Map<number, number>();
    let forwardedBytes = 0;
    let txIndex = 0;
    let checksumsCompleted = 0;
    let icmpErrorsForwarded = 0;
    let resetsSent = 0;
    let sightings = 0;
    for (let slot = 0; slot < size; slot++) {
      const c = cases[slot]!;
      const verdict = lab.processor.verdicts[slot]!;
      const reason = lab.processor.reasons[slot]!;
      const fail = (message: string): never => {
        throw new Error(`${where(slot)}${message}`);
      };
      sightings += model.sightings(c.frame, c.pktType, c.flags);
      if (verdict === VERDICT_DROP) {
        if (reason >= C.DROP_REASONS.length) fail(`drop with reason index ${reason}, not a drop reason`);
        tally.drops[reason]!++;
      } else if (verdict === VERDICT_PASS) {
        if (reason >= C.PASS_REASONS.length) fail(`pass with reason index ${reason}, not a pass reason`);
        tally.passes[reason]!++;
      } else if (verdict === VERDICT_FORWARD || verdict === VERDICT_REPLY) {
        if (reason !== 0) fail(`verdict ${verdict} carries reason ${reason}`);
      } else {
        fail(`verdict ${verdict} is none of forward, reply, drop, pass`);
      }
      const got = verdictText(verdict, reason);

      // Invariant 5, stated on its own (the model implies it): nothing leaves for a frame that
      // is not bng's or is not all there. ARP is exempt from the truncation rule: the docs
      // promise `truncated` for frames to a VIP, and an ARP request's 28 bytes are all there.
      const etherType = c.frame.length >= IP ? be16(c.frame, ETH_TYPE) : -1;
      const sends = verdict === VERDICT_FORWARD || verdict === VERDICT_REPLY;
      if (sends && (c.flags & FRAME_TRUNCATED) !== 0 && etherType !== 0x0806) fail(`${got} for a frame flagged truncated`);
      if (sends && etherType !== 0x0800 && etherType !== 0x0806) fail(`${got} for EtherType ${etherType.toString(16)}`);
      if (etherType === 0x0800 && c.frame.length >= L4 && !model.isVip(be32(c.frame, IP_DST))) {
        const unreadable = [DROP.short_ethernet, DROP.from_self, DROP.short_ipv4, DROP.bad_version];
        const allowed = verdict === VERDICT_PASS || (verdict === VERDICT_DROP && unreadable.includes(reason));
        if (!allowed) fail(`${got} for an IPv4 frame not addressed to a VIP: such frames are the kernel's`);
      }

      const expected = model.expect(c.frame, c.pktType, c.flags);
      const matches =
        expected.verdict === VERDICT_FORWARD
          ? verdict === VERDICT_FORWARD || (verdict === VERDICT_DROP && expected.orDrops.includes(reason)) || (verdict === VERDICT_REPLY && expected.orReset)
          : expected.verdict === VERDICT_REPLY
            ? verdict === VERDICT_REPLY
            : verdict === expected.verdict && reason === expected.reason;
      if (!matches) fail(`got ${got}, expected ${expectedText(expected)}`);

      if (!sends) continue;
      // Invariant 4: what was sent for this frame.
      const out = sent[txIndex];
      if (out === undefined) fail(`${got} but tx holds only ${sent.length} frames`);
      const outFrame = out!;
      const rxSlot = tx.rxSlots[txIndex];
      txIndex++;
      if (verdict === VERDICT_REPLY && expected.verdict === VERDICT_REPLY) {
        if (rxSlot !== -1) fail(`a reply names rx slot ${rxSlot}; bng writes replies into tx`);
        const problem = expected.reply === "arp" ? arpReplyProblem(c.frame, outFrame) : icmpReplyProblem(c.frame, outFrame);
        if (problem !== undefined) fail(`${problem}\n  reply ${hex(outFrame, 2048)}`);
        if (expected.reply === "arp") tally.arpReplies++;
        else tally.icmpReplies++;
        continue;
      }
      if (verdict === VERDICT_REPLY) {
        if (rxSlot !== -1) fail(`a RST names rx slot ${rxSlot}; bng writes replies into tx`);
        const problem = tcpResetProblem(c.frame, outFrame);
        if (problem !== undefined) fail(`${problem}\n  RST ${hex(outFrame, 2048)}`);
        resetsSent++;
        continue;
      }
      if (verdict !== VERDICT_FORWARD || expected.verdict !== VERDICT_FORWARD) continue;
      if (rxSlot !== slot) fail(`forwarded from rx slot ${rxSlot}, not its own slot ${slot}`);
      const targetId = model.targetByMac.get(hex(outFrame.subarray(0, 6)));
      if (targetId === undefined) fail(`forwarded to MAC ${hex(outFrame.subarray(0, 6))}, no target's`);
      const target = targetId!;
      const ofServer = expected.server.targets.includes(target) || expected.server.backup.includes(target);
      if (!ofServer || !model.keepsSessions(target)) {
        fail(`forwarded to target ${target} (${JSON.stringify(model.targets.get(target))}), which server ${expected.server.id} may not use now`);
      }
      // Exactly what the frame must look like: the input with the target's and the own MAC and,
      // when the kernel flagged it partial, the L4 checksum completed where there is one to
      // complete (not in a fragment, nor past the segment's end).
      const at = rx.offsets[slot]!;
      expectedRx.set(outFrame.subarray(0, 6), at);
      expectedRx.set(OWN_MAC_BYTES, at + ETH_SRC);
      if ((c.flags & FRAME_CSUM_NOT_READY) !== 0 && holdsCompletableChecksum(c.frame)) {
        const { at: fieldAt, value } = completedChecksum(c.frame);
        put16(expectedRx.subarray(at, at + c.frame.length), fieldAt, value);
        checksumsCompleted++;
        // A frame that really was partial (its field held the pseudo-header sum) now verifies.
        if (be16(c.frame, fieldAt) === pseudoHeaderSum(c.frame) && !l4ChecksumVerifies(outFrame)) fail("completed L4 checksum does not verify");
        tally.checksumsCompleted++;
      }
      if (outFrame.length !== c.frame.length) fail(`forwarded ${outFrame.length} bytes of a ${c.frame.length}-byte frame`);
      if (!sameBytes(outFrame, expectedRx.subarray(at, at + c.frame.length))) {
        fail(`forwarded frame differs from the input beyond the MACs and a flagged checksum\n  sent ${hex(outFrame, 2048)}`);
      }
      forwardedTo.set(target, (forwardedTo.get(target) ?? 0) + 1);
      forwardedBy.set(expected.server.id, (forwardedBy.get(expected.server.id) ?? 0) + 1);
      forwardedBytes += c.frame.length;
      tally.forwarded++;
      if (expected.laterFragment) tally.laterFragmentsForwarded++;
      if (c.frame[IP_PROTOCOL] === 1) icmpErrorsForwarded++;
    }
    if (txIndex !== sent.length) throw new Error(`seed ${seed} batch ${batch}: ${sent.length} frames sent for ${txIndex} forwards and replies`);
    // Nothing but the forwarded frames' MACs and checksums was written in rx (no stray writes
    // into other frames, their padding or the rest of a slot).
    if (!sameBytes(rx.bytes, expectedRx)) {
      const index = rx.bytes.findIndex((byte, i) => byte !== expectedRx[i]);
      const slot = rx.offsets.findIndex((offset) => index >= offset && index < offset + rx.slotSize);
      const change = `from ${expectedRx[index]} to ${rx.bytes[index]}`;
      const place = `rx byte ${index - rx.offsets[slot]!} of slot ${slot}${slot >= size ? " (unused in this batch)" : ""}`;
      throw new Error(`${slot < size ? where(slot) : `seed ${seed} batch ${batch}: `}${place} changed ${change} (verdict ${lab.processor.verdicts[slot]})`);
    }

    // Invariant 3: the counters account for every frame exactly once.
    const delta = (index: number): number => (counters[index] ?? 0) - (countersBefore[index] ?? 0);
    const sum = (from: number, count: number): number => Array.from({ length: count }, (_, i) => delta(from + i)).reduce((a, b) => a + b, 0);
    const counterProblems: string[] = [];
    const check = (name: string, actual: number, wanted: number): void => {
      if (actual !== wanted) counterProblems.push(`${name} rose by ${actual}, expected ${wanted}`);
    };
    const verdictCount = (verdict: number, reason?: number): number => {
      let n = 0;
      for (let slot = 0; slot < size; slot++) {
        if (lab.processor.verdicts[slot] === verdict && (reason === undefined || lab.processor.reasons[slot] === reason)) n++;
      }
      return n;
    };
    const events = (event: number): number => delta(C.EVENTS_AT + event);
    check("frames", events(C.EVENT.frames), size);
    check(
      "drops + passes + forwarded + arp_replies + icmp_replies",
      sum(C.DROPS_AT, C.DROP_REASONS.length) +
        sum(C.PASSES_AT, C.PASS_REASONS.length) +
        events(C.EVENT.forwarded) +
        events(C.EVENT.arp_replies) +
        events(C.EVENT.icmp_replies) +
        events(C.EVENT.resets_sent),
      size,
    );
    C.DROP_REASONS.forEach((name, reason) => check(`drops.${name}`, delta(C.DROPS_AT + reason), verdictCount(VERDICT_DROP, reason)));
    C.PASS_REASONS.forEach((name, reason) => check(`passes.${name}`, delta(C.PASSES_AT + reason), verdictCount(VERDICT_PASS, reason)));
    check("forwarded", events(C.EVENT.forwarded), verdictCount(VERDICT_FORWARD));
    check("arp_replies + icmp_replies + resets_sent", events(C.EVENT.arp_replies) + events(C.EVENT.icmp_replies) + events(C.EVENT.resets_sent), verdictCount(VERDICT_REPLY));
    check("resets_sent", events(C.EVENT.resets_sent), resetsSent);
    tally.resetsSent += resetsSent;
    check("forwarded_bytes", events(C.EVENT.forwarded_bytes), forwardedBytes);
    check("checksums_completed", events(C.EVENT.checksums_completed), checksumsCompleted);
    check("icmp_errors_forwarded", events(C.EVENT.icmp_errors_forwarded), icmpErrorsForwarded);
    tally.icmpErrorsForwarded += icmpErrorsForwarded;
    check("neighbour_sightings", events(C.EVENT.neighbour_sightings), sightings);
    check("tx frames", tx.count, verdictCount(VERDICT_FORWARD) + verdictCount(VERDICT_REPLY));
    for (const t of model.config.targets) check(`target ${t.id} packets`, delta(C.TARGET_PACKETS_AT + t.id), forwardedTo.get(t.id) ?? 0);
    for (const s of model.config.servers) check(`server ${s.id} packets`, delta(C.SERVER_PACKETS_AT + s.id), forwardedBy.get(s.id) ?? 0);
    check("all target bytes", sum(C.TARGET_BYTES_AT, ID_LIMIT), forwardedBytes);
    if (counterProblems.length > 0) throw new Error(`seed ${seed} batch ${batch} (${size} frames): ${counterProblems.join("; ")}`);

    // Invariant 6: a batch decides as its frames one at a time, in order.
    let sentIndex = 0;
    for (let slot = 0; slot < size; slot++) {
      const c = cases[slot]!;
      const single = oneByOne.run(c.frame, { pktType: c.pktType, flags: c.flags });
      const verdict = lab.processor.verdicts[slot]!;
      const reason = lab.processor.reasons[slot]!;
      const batchSent = verdict === VERDICT_FORWARD || verdict === VERDICT_REPLY ? [sent[sentIndex++]!] : [];
      const sameSent = single.sent.length === batchSent.length && single.sent.every((f, i) => sameBytes(f, batchSent[i]!));
      if (single.verdict !== verdict || single.reason !== reason || !sameSent) {
        const inBatch = `${verdictText(verdict, reason)}, sent ${batchSent.map((f) => hex(f)).join()}`;
        const alone = `${verdictText(single.verdict, single.reason)}, sent ${single.sent.map((f) => hex(f)).join()}`;
        throw new Error(`${where(slot)}in a batch: ${inBatch}; alone: ${alone}`);
      }
    }
    tally.frames += size;
  }
  return tally;
}

describe("data plane fuzz", () => {
  test(
    `${FRAME_COUNT} mutated frames: never a throw, every frame decided and counted once, only well-formed frames sent`,
    () => {
      const seed = Number(process.env.BNG_FUZZ_SEED ?? DEFAULT_SEED) >>> 0;
      const tally = runFuzz(seed, FRAME_COUNT);
      expect(tally.frames).toBe(FRAME_COUNT);
      // The fuzz must reach the deep paths, not pass by dropping everything at the first check:
      // a real share forwarded and answered, and every reason but the two below seen.
      const summary = JSON.stringify({ seed, ...tally });
      expect(tally.forwarded, summary).toBeGreaterThan(FRAME_COUNT * 0.1);
      expect(tally.laterFragmentsForwarded, summary).toBeGreaterThan(FRAME_COUNT * 0.005);
      expect(tally.icmpErrorsForwarded, summary).toBeGreaterThan(FRAME_COUNT * 0.001);
      expect(tally.checksumsCompleted, summary).toBeGreaterThan(FRAME_COUNT * 0.01);
      expect(tally.arpReplies, summary).toBeGreaterThan(FRAME_COUNT * 0.005);
      expect(tally.icmpReplies, summary).toBeGreaterThan(FRAME_COUNT * 0.005);
      expect(tally.resetsSent, summary).toBeGreaterThan(0);
      // tx_full cannot happen while tx has as many slots as rx; echo_rate_limited needs 1,000
      // echo requests within a second, far more than the fuzz sends (icmp.test.ts covers it).
      const unseenDrops = C.DROP_REASONS.filter((name, i) => name !== "tx_full" && name !== "echo_rate_limited" && tally.drops[i] === 0);
      const unseenPasses = C.PASS_REASONS.filter((_, i) => tally.passes[i] === 0);
      expect([...unseenDrops, ...unseenPasses], summary).toEqual([]);
      expect(tally.drops[DROP.tx_full], summary).toBe(0);
    },
    60_000,
  );

  // Found by this fuzz: the data plane used to "complete" a checksum a later fragment does not
  // have, writing into its payload (or past its end, inside the slot).
  test("a fragment flagged checksum-not-ready is forwarded with only its MACs changed", () => {
    const lab = new Lab(config([{ id: 1, ipaddr: VIP_ANY, port: 0, targets: [1] }], [{ id: 1, ipaddr: "10.0.0.101" }]));
    const fragment = { src: CLIENT_MAC, dst: OWN_MAC, srcIp: CLIENTS[0]!, dstIp: VIP_ANY };
    // The first fragment creates the client's session, which the later one follows. Its
    // checksum field covers segment bytes in later fragments too: nothing bng could complete.
    const first = tcpFrame({ ...fragment, srcPort: 40000, dstPort: 80, flags: TCP_SYN, moreFragments: true });
    const firstForwarded = lab.run(first, { flags: FRAME_CSUM_NOT_READY });
    expect(firstForwarded.verdict).toBe(VERDICT_FORWARD);
    const firstUnchanged = first.slice();
    firstUnchanged.set(mac(targetMac(1)), 0);
    firstUnchanged.set(OWN_MAC_BYTES, ETH_SRC);
    expect(firstForwarded.sent).toEqual([firstUnchanged]);
    const later = ipv4Frame({ ...fragment, fragmentOffset: 3 }, 6, new Uint8Array(24).fill(0xab));
    const { verdict, sent } = lab.run(later, { flags: FRAME_CSUM_NOT_READY });
    expect(verdict).toBe(VERDICT_FORWARD);
    const unchanged = later.slice();
    unchanged.set(mac(targetMac(1)), 0);
    unchanged.set(OWN_MAC_BYTES, ETH_SRC);
    // Bytes 50-51 (payload, where a TCP checksum would be) stay as they are.
    expect(sent).toEqual([unchanged]);
  });
});
