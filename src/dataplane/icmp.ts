// ICMP to a VIP: echo replies bng writes itself, and the errors it forwards. A destination
// unreachable (fragmentation needed above all: path MTU discovery) or time exceeded sent to a
// VIP is about a packet a target sent from the VIP to a client, quoted in it: its IP header and
// the first 8 bytes of its TCP or UDP header (VIP:port -> client:port). The processor forwards
// the ICMP frame to the target of that client's session, which is the one whose reply a router
// could not deliver (as Katran and IPVS do). Everything here works in place on bytes.

import { updatedChecksum, writeIpv4HeaderChecksum } from "./checksum.ts";
import * as C from "./counters.ts";
import {
  ETH_DST,
  ETH_HEADER_LEN,
  ETH_SRC,
  ICMP_CHECKSUM,
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_HEADER_LEN,
  ICMP_TIME_EXCEEDED,
  ICMP_TYPE,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_DST,
  IPV4_FLAGS_FRAGMENT,
  IPV4_FRAGMENT_OFFSET_MASK,
  IPV4_MIN_HEADER_LEN,
  IPV4_PROTOCOL,
  IPV4_SRC,
  IPV4_TTL,
  L4_DST_PORT,
  L4_SRC_PORT,
  REPLY_TTL,
  ipv4HeaderLength,
  ipv4Version,
  read16,
  read32,
  write16,
  write32,
  writeMac,
} from "./frame.ts";

/** Echo replies a worker sends a second at most; further requests are dropped (echo_rate_limited). */
export const ECHO_REPLIES_PER_SECOND = 1000;

/** The fields of an ICMP error's quoted packet, in the Int32Array readQuotedPacket fills. */
export const QUOTED_PROTOCOL = 0;
/** The quoted packet's source port: the server's port on the VIP. */
export const QUOTED_SERVER_PORT = 1;
/** The quoted packet's destination: the client (unsigned in the array's int32: compare with | 0). */
export const QUOTED_CLIENT_IP = 2;
export const QUOTED_CLIENT_PORT = 3;
export const QUOTED_FIELDS = 4;

/** Whether an ICMP type is an error bng forwards to a target: destination unreachable (every code) or time exceeded. */
export function isForwardedIcmpError(type: number): boolean {
  return type === ICMP_DEST_UNREACHABLE || type === ICMP_TIME_EXCEEDED;
}

/**
 * Reads the packet quoted in the ICMP error at `icmpAt` (`icmpLength` bytes of ICMP message,
 * within the frame) into `out` (QUOTED_*). Returns 0, or the drop reason `icmp_error_malformed`
 * when the quote is not a whole IPv4 header plus 8 bytes of TCP or UDP header sent from `vip`,
 * or is of a later fragment (which carries no ports).
 */
export function readQuotedPacket(bytes: Uint8Array, icmpAt: number, icmpLength: number, vip: number, out: Int32Array): number {
  const quoteAt = icmpAt + ICMP_HEADER_LEN;
  const quoteLength = icmpLength - ICMP_HEADER_LEN;
  if (quoteLength < IPV4_MIN_HEADER_LEN || ipv4Version(bytes, quoteAt) !== 4) return C.DROP.icmp_error_malformed;
  const headerLength = ipv4HeaderLength(bytes, quoteAt);
  // RFC 792: the header and 64 bits of the datagram's data, where the ports are.
  if (headerLength < IPV4_MIN_HEADER_LEN || quoteLength < headerLength + 8) return C.DROP.icmp_error_malformed;
  if (read32(bytes, quoteAt + IPV4_SRC) !== vip >>> 0) return C.DROP.icmp_error_malformed;
  if ((read16(bytes, quoteAt + IPV4_FLAGS_FRAGMENT) & IPV4_FRAGMENT_OFFSET_MASK) !== 0) return C.DROP.icmp_error_malformed;
  const protocol = bytes[quoteAt + IPV4_PROTOCOL] ?? 0;
  if (protocol !== IPPROTO_TCP && protocol !== IPPROTO_UDP) return C.DROP.icmp_error_malformed;
  const l4At = quoteAt + headerLength;
  out[QUOTED_PROTOCOL] = protocol;
  out[QUOTED_SERVER_PORT] = read16(bytes, l4At + L4_SRC_PORT);
  out[QUOTED_CLIENT_IP] = read32(bytes, quoteAt + IPV4_DST);
  out[QUOTED_CLIENT_PORT] = read16(bytes, l4At + L4_DST_PORT);
  return 0;
}

/**
 * Turns a copy of an echo request at `at` (its ICMP message at `icmpAt`) into the reply, in
 * place: MACs and addresses swapped (the own MAC as source), TTL 64, IP header checksum
 * recomputed, ICMP type 0 with its checksum updated incrementally (RFC 1624).
 */
export function turnIntoEchoReply(frame: Uint8Array, at: number, icmpAt: number, ownMacHigh: number, ownMacLow: number): void {
  for (let i = 0; i < 6; i++) frame[at + ETH_DST + i] = frame[at + ETH_SRC + i] ?? 0;
  writeMac(frame, at + ETH_SRC, ownMacHigh, ownMacLow);
  const ipAt = at + ETH_HEADER_LEN;
  const requester = read32(frame, ipAt + IPV4_SRC);
  write32(frame, ipAt + IPV4_SRC, read32(frame, ipAt + IPV4_DST));
  write32(frame, ipAt + IPV4_DST, requester);
  frame[ipAt + IPV4_TTL] = REPLY_TTL;
  writeIpv4HeaderChecksum(frame, ipAt);
  const requestTypeCode = read16(frame, icmpAt + ICMP_TYPE);
  frame[icmpAt + ICMP_TYPE] = ICMP_ECHO_REPLY;
  write16(frame, icmpAt + ICMP_CHECKSUM, updatedChecksum(read16(frame, icmpAt + ICMP_CHECKSUM), requestTypeCode, ICMP_ECHO_REPLY << 8));
}

/** Allows up to `limit` events a second (whole seconds of the caller's clock); one per worker, no sharing. */
export class PerSecondLimit {
  private second = Number.NEGATIVE_INFINITY;
  private used = 0;

  constructor(private readonly limit: number) {}

  /** Takes one if this second has one left. */
  take(nowS: number): boolean {
    if (nowS !== this.second) {
      this.second = nowS;
      this.used = 0;
    }
    if (this.used >= this.limit) return false;
    this.used++;
    return true;
  }
}
