// The frames of the DSR-path check: a bare TCP segment (SYN, or the RST that ends the
// target's half-open connection) in IPv4 in Ethernet, written into a caller's buffer, and the
// fields of an answer read back. Pure.
import { foldComplement, sumBytes } from "../dataplane/checksum.ts";
import { IPPROTO_TCP, IPV4_DST, IPV4_SRC, L4_DST_PORT, L4_SRC_PORT, TCP_CHECKSUM, TCP_MIN_HEADER_LEN, read16, read32, write16, write32 } from "../dataplane/frame.ts";
import { IP_AT, ipv4PayloadAt, PAYLOAD_AT, writeIpv4Headers } from "./ipv4-frame.ts";

export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

const TCP_SEQ = 4;
const TCP_ACK_NUMBER = 8;
const TCP_DATA_OFFSET = 12;
const TCP_FLAGS = 13;
const TCP_WINDOW = 14;
const TCP_URGENT = 18;
const WINDOW = 64240;

const TCP_AT = PAYLOAD_AT;
/** Every frame writeTcpFrame writes: Ethernet, IPv4 without options, TCP without options. */
export const TCP_FRAME_LEN = TCP_AT + TCP_MIN_HEADER_LEN;

/** The fields of a segment, as written or as read back (addresses as uint32s). */
export interface TcpSegment {
  srcIp: number;
  dstIp: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
}

/** Writes the segment, from `srcMac` to `dstMac`, at the start of `frame`; returns TCP_FRAME_LEN. */
export function writeTcpFrame(frame: Uint8Array, dstMac: Uint8Array, srcMac: Uint8Array, segment: TcpSegment, ipId: number): number {
  writeIpv4Headers(frame, { dstMac, srcMac, srcIp: segment.srcIp, dstIp: segment.dstIp, protocol: IPPROTO_TCP, ipId }, TCP_MIN_HEADER_LEN);
  write16(frame, TCP_AT + L4_SRC_PORT, segment.srcPort);
  write16(frame, TCP_AT + L4_DST_PORT, segment.dstPort);
  write32(frame, TCP_AT + TCP_SEQ, segment.seq);
  write32(frame, TCP_AT + TCP_ACK_NUMBER, segment.ack);
  frame[TCP_AT + TCP_DATA_OFFSET] = (TCP_MIN_HEADER_LEN / 4) << 4;
  frame[TCP_AT + TCP_FLAGS] = segment.flags;
  write16(frame, TCP_AT + TCP_WINDOW, WINDOW);
  write16(frame, TCP_AT + TCP_CHECKSUM, 0);
  write16(frame, TCP_AT + TCP_URGENT, 0);
  // The pseudo-header (addresses, protocol, TCP length) and the segment.
  const pseudo = sumBytes(frame, IP_AT + IPV4_SRC, 8, IPPROTO_TCP + TCP_MIN_HEADER_LEN);
  write16(frame, TCP_AT + TCP_CHECKSUM, foldComplement(sumBytes(frame, TCP_AT, TCP_MIN_HEADER_LEN, pseudo)));
  return TCP_FRAME_LEN;
}

/**
 * Reads the TCP fields of an IPv4 frame into `into`; false (leaving it partly written) when the
 * frame is not an unfragmented IPv4 TCP segment whose header is all there.
 */
export function readTcpFrame(frame: Uint8Array, length: number, into: TcpSegment): boolean {
  const tcpAt = ipv4PayloadAt(frame, length, IPPROTO_TCP, TCP_MIN_HEADER_LEN);
  if (tcpAt < 0) return false;
  into.srcIp = read32(frame, IP_AT + IPV4_SRC);
  into.dstIp = read32(frame, IP_AT + IPV4_DST);
  into.srcPort = read16(frame, tcpAt + L4_SRC_PORT);
  into.dstPort = read16(frame, tcpAt + L4_DST_PORT);
  into.seq = read32(frame, tcpAt + TCP_SEQ);
  into.ack = read32(frame, tcpAt + TCP_ACK_NUMBER);
  into.flags = frame[tcpAt + TCP_FLAGS]!;
  return true;
}
