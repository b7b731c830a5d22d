// Classic BPF socket filters (SO_ATTACH_FILTER), written as bytes: the kernel runs them on each
// frame before it is queued for a packet socket, so a frame the filter refuses costs the socket
// nothing. Offsets are from the start of the Ethernet header (SOCK_RAW packet sockets).
import {
  ARP_OP,
  ARP_OP_REPLY,
  ETH_TYPE,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETH_HEADER_LEN,
  IPPROTO_TCP,
  IPV4_DST,
  IPV4_FLAGS_FRAGMENT,
  IPV4_FRAGMENT_OFFSET_MASK,
  IPV4_PROTOCOL,
  L4_DST_PORT,
} from "../dataplane/frame.ts";

// Instruction classes, sizes, modes and operations (linux/bpf_common.h).
const BPF_LD = 0x00;
const BPF_LDX = 0x01;
const BPF_JMP = 0x05;
const BPF_RET = 0x06;
const BPF_W = 0x00;
const BPF_H = 0x08;
const BPF_B = 0x10;
const BPF_ABS = 0x20;
const BPF_IND = 0x40;
const BPF_MSH = 0xa0;
const BPF_JEQ = 0x10;
const BPF_JGT = 0x20;
const BPF_JGE = 0x30;
const BPF_JSET = 0x40;
const BPF_K = 0x00;

/** struct sock_filter: u16 code, u8 jt, u8 jf, u32 k. */
export const SOCK_FILTER_SIZE = 8;
/** The kernel's limit on a classic program's length (BPF_MAXINSNS). */
export const MAX_INSTRUCTIONS = 4096;
/** A jump's offsets are one byte each. */
const MAX_JUMP = 255;
// Ancillary data a filter loads at negative offsets (linux/filter.h): whether the frame came with
// an 802.1Q tag that the NIC or the kernel's receive path moved out of it.
const SKF_AD_OFF = -0x1000;
const SKF_AD_VLAN_TAG_PRESENT = 48;

/** What an accepting filter returns: the bytes of the frame to keep (all of it). */
const ACCEPT_ALL = 0x40000;
const REFUSE = 0;

export interface Instruction {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

function instruction(code: number, jt: number, jf: number, k: number): Instruction {
  if (jt > MAX_JUMP || jf > MAX_JUMP) throw new RangeError(`a classic BPF jump reaches at most ${MAX_JUMP} instructions`);
  return { code, jt, jf, k: k >>> 0 };
}

const loadHalf = (offset: number) => instruction(BPF_LD | BPF_H | BPF_ABS, 0, 0, offset);
const loadByte = (offset: number) => instruction(BPF_LD | BPF_B | BPF_ABS, 0, 0, offset);
const loadWord = (offset: number) => instruction(BPF_LD | BPF_W | BPF_ABS, 0, 0, offset);
const loadVlanTagPresent = () => instruction(BPF_LD | BPF_W | BPF_ABS, 0, 0, SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT);
/** X = 4 * (the low nibble of the byte at `offset`): the IPv4 header's length. */
const loadHeaderLengthX = (offset: number) => instruction(BPF_LDX | BPF_B | BPF_MSH, 0, 0, offset);
const loadHalfAfterX = (offset: number) => instruction(BPF_LD | BPF_H | BPF_IND, 0, 0, offset);
const jumpIfEqual = (value: number, jt: number, jf: number) => instruction(BPF_JMP | BPF_JEQ | BPF_K, jt, jf, value);
const jumpIfAtLeast = (value: number, jt: number, jf: number) => instruction(BPF_JMP | BPF_JGE | BPF_K, jt, jf, value);
const jumpIfAbove = (value: number, jt: number, jf: number) => instruction(BPF_JMP | BPF_JGT | BPF_K, jt, jf, value);
const jumpIfAnyBit = (bits: number, jt: number, jf: number) => instruction(BPF_JMP | BPF_JSET | BPF_K, jt, jf, bits);
const accept = () => instruction(BPF_RET | BPF_K, 0, 0, ACCEPT_ALL);
const refuse = () => instruction(BPF_RET | BPF_K, 0, 0, REFUSE);

/** The program as struct sock_filter[], little-endian as the kernel reads it on x86-64 and arm64. */
export function encodeProgram(program: readonly Instruction[]): Uint8Array {
  if (program.length === 0 || program.length > MAX_INSTRUCTIONS) throw new RangeError(`a classic BPF program has 1 to ${MAX_INSTRUCTIONS} instructions, not ${program.length}`);
  const bytes = new Uint8Array(program.length * SOCK_FILTER_SIZE);
  const view = new DataView(bytes.buffer);
  program.forEach((step, index) => {
    const at = index * SOCK_FILTER_SIZE;
    view.setUint16(at, step.code, true);
    view.setUint8(at + 2, step.jt);
    view.setUint8(at + 3, step.jf);
    view.setUint32(at + 4, step.k, true);
  });
  return bytes;
}

const IPV4_AT = ETH_HEADER_LEN;

/** Accepts IPv4 frames whose protocol is `protocol` and destination `destination`; refuses everything else. */
export function ipv4ProtocolFilter(protocol: number, destination: number): Instruction[] {
  return [
    loadHalf(ETH_TYPE),
    jumpIfEqual(ETHERTYPE_IPV4, 0, 5),
    loadByte(IPV4_AT + IPV4_PROTOCOL),
    jumpIfEqual(protocol, 0, 3),
    loadWord(IPV4_AT + IPV4_DST),
    jumpIfEqual(destination, 0, 1),
    accept(),
    refuse(),
  ];
}

/** Accepts every ARP frame (requests and replies, to anyone); refuses everything else. */
export function arpFilter(): Instruction[] {
  return [loadHalf(ETH_TYPE), jumpIfEqual(ETHERTYPE_ARP, 0, 1), accept(), refuse()];
}

/** Accepts ARP replies (to anyone); refuses everything else. */
export function arpReplyFilter(): Instruction[] {
  return [
    loadHalf(ETH_TYPE),
    jumpIfEqual(ETHERTYPE_ARP, 0, 3),
    loadHalf(ETH_HEADER_LEN + ARP_OP),
    jumpIfEqual(ARP_OP_REPLY, 0, 1),
    accept(),
    refuse(),
  ];
}

/** Accepts unfragmented IPv4 TCP segments (or first fragments) to a destination port from `low` to `high`; refuses everything else. */
export function tcpPortRangeFilter(low: number, high: number): Instruction[] {
  return [
    loadHalf(ETH_TYPE),
    jumpIfEqual(ETHERTYPE_IPV4, 0, 9),
    loadByte(IPV4_AT + IPV4_PROTOCOL),
    jumpIfEqual(IPPROTO_TCP, 0, 7),
    loadHalf(IPV4_AT + IPV4_FLAGS_FRAGMENT),
    jumpIfAnyBit(IPV4_FRAGMENT_OFFSET_MASK, 5, 0),
    loadHeaderLengthX(IPV4_AT),
    loadHalfAfterX(IPV4_AT + L4_DST_PORT),
    jumpIfAtLeast(low, 0, 2),
    jumpIfAbove(high, 1, 0),
    accept(),
    refuse(),
  ];
}

/** VIPs compared in one run of jumps to one shared accept: the first one's jump is the longest. */
const VIPS_PER_CHUNK = MAX_JUMP + 1;
/** Instructions of vipFrameFilter besides one per VIP and one per chunk. */
const VIP_FILTER_FIXED = 10;
/** The most VIPs vipFrameFilter compares one by one; with more it accepts every IPv4 frame. */
export const MAX_FILTER_VIPS = Math.floor(((MAX_INSTRUCTIONS - VIP_FILTER_FIXED) * VIPS_PER_CHUNK) / (VIPS_PER_CHUNK + 1));

/**
 * What bng's data plane acts on: every ARP frame (answers for VIPs, targets' MACs) and IPv4
 * frames to one of `vips` (ICMP included); every other frame is refused. A frame with an 802.1Q
 * tag is refused too, whether the tag is still in it or was moved beside it (SKF_AD): bng serves
 * the untagged interface it is bound to, and a VLAN is served by running bng on its device
 * (eth0.100). The VIPs are compared in chunks of at most VIPS_PER_CHUNK, each ending in its own
 * accept, so that every jump fits its byte; past MAX_FILTER_VIPS every IPv4 frame is accepted.
 */
export function vipFrameFilter(vips: readonly number[]): Instruction[] {
  const program = [
    loadVlanTagPresent(),
    jumpIfEqual(0, 1, 0),
    refuse(),
    loadHalf(ETH_TYPE),
    jumpIfEqual(ETHERTYPE_ARP, 0, 1),
    accept(),
    jumpIfEqual(ETHERTYPE_IPV4, 1, 0),
    refuse(),
  ];
  if (vips.length > MAX_FILTER_VIPS) return [...program, accept()];
  program.push(loadWord(IPV4_AT + IPV4_DST));
  for (let first = 0; first < vips.length; first += VIPS_PER_CHUNK) {
    const chunk = vips.slice(first, first + VIPS_PER_CHUNK);
    // Each VIP's match jumps to the accept after the chunk; the last one's miss jumps over it.
    chunk.forEach((vip, index) => program.push(jumpIfEqual(vip, chunk.length - 1 - index, index === chunk.length - 1 ? 1 : 0)));
    program.push(accept());
  }
  program.push(refuse());
  return program;
}
