// bng doctor's ping of the gateway as frames: an ICMP echo request from the `real` address
// (which may be on no interface before `bng run`, so no ICMP socket could send it) and the
// fields of an echo reply read back. Pure.
import { writeIcmpChecksum } from "../dataplane/checksum.ts";
import { ICMP_CODE, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_HEADER_LEN, ICMP_TYPE, IPPROTO_ICMP, IPV4_DST, IPV4_SRC, read16, read32, write16 } from "../dataplane/frame.ts";
import { IP_AT, ipv4PayloadAt, PAYLOAD_AT, writeIpv4Headers, type Ipv4Header } from "../health/ipv4-frame.ts";

const ICMP_IDENTIFIER = 4;
const ICMP_SEQUENCE = 6;
/** The request's data: what ping(8) would carry, less the timestamp. */
const DATA = new TextEncoder().encode("bng doctor");
const MESSAGE_LEN = ICMP_HEADER_LEN + DATA.length;
/** Every frame writeEchoRequest writes. */
export const ECHO_FRAME_LEN = PAYLOAD_AT + MESSAGE_LEN;

/** An echo's addresses and numbers (addresses as uint32s). */
export interface Echo {
  srcIp: number;
  dstIp: number;
  identifier: number;
  sequence: number;
}

/** Writes an echo request at the start of `frame`; returns ECHO_FRAME_LEN. */
export function writeEchoRequest(frame: Uint8Array, header: Omit<Ipv4Header, "protocol" | "srcIp" | "dstIp">, echo: Echo): number {
  writeIpv4Headers(frame, { ...header, srcIp: echo.srcIp, dstIp: echo.dstIp, protocol: IPPROTO_ICMP }, MESSAGE_LEN);
  frame[PAYLOAD_AT + ICMP_TYPE] = ICMP_ECHO_REQUEST;
  frame[PAYLOAD_AT + ICMP_CODE] = 0;
  write16(frame, PAYLOAD_AT + ICMP_IDENTIFIER, echo.identifier);
  write16(frame, PAYLOAD_AT + ICMP_SEQUENCE, echo.sequence);
  frame.set(DATA, PAYLOAD_AT + ICMP_HEADER_LEN);
  writeIcmpChecksum(frame, PAYLOAD_AT, MESSAGE_LEN);
  return ECHO_FRAME_LEN;
}

/** Reads an echo reply's fields into `into`; false when the frame is no ICMP echo reply. */
export function readEchoReply(frame: Uint8Array, length: number, into: Echo): boolean {
  const icmpAt = ipv4PayloadAt(frame, length, IPPROTO_ICMP, ICMP_HEADER_LEN);
  if (icmpAt < 0 || frame[icmpAt + ICMP_TYPE] !== ICMP_ECHO_REPLY || frame[icmpAt + ICMP_CODE] !== 0) return false;
  into.srcIp = read32(frame, IP_AT + IPV4_SRC);
  into.dstIp = read32(frame, IP_AT + IPV4_DST);
  into.identifier = read16(frame, icmpAt + ICMP_IDENTIFIER);
  into.sequence = read16(frame, icmpAt + ICMP_SEQUENCE);
  return true;
}
