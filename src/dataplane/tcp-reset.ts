// The RST bng sends from a VIP for `downpolicy reset`: a client whose session's target went down
// learns at its next segment that the connection is gone, and reconnects at once instead of
// retransmitting into a dead target until it times out.
//
// RFC 793 §3.4 (Reset Generation, a segment for no connection): if the segment has an ACK, the
// RST takes its sequence number from the segment's ACK field, with no ACK of its own; else the
// RST has sequence number 0 and acknowledges the segment's sequence number plus its length (SYN
// and FIN count one each). The client's connection is synchronized, so its receiver accepts the
// RST only when its sequence number is exactly the next one it expects (RFC 5961 §3.2): the
// value the client's own segment carries in its ACK field.

import { foldComplement, sumBytes } from "./checksum.ts";
import { writeIpv4Header } from "./ipv4-header.ts";
import {
  ETH_DST,
  ETH_HEADER_LEN,
  ETH_SRC,
  ETH_TYPE,
  ETHERTYPE_IPV4,
  IPPROTO_TCP,
  IPV4_DONT_FRAGMENT,
  IPV4_DST,
  IPV4_MIN_HEADER_LEN,
  IPV4_SRC,
  L4_DST_PORT,
  L4_SRC_PORT,
  REPLY_TTL,
  TCP_ACK_NUMBER,
  TCP_CHECKSUM,
  TCP_DATA_OFFSET,
  TCP_FLAG_ACK,
  TCP_FLAG_FIN,
  TCP_FLAG_RST,
  TCP_FLAG_SYN,
  TCP_FLAGS,
  TCP_MIN_HEADER_LEN,
  TCP_SEQ,
  TCP_URGENT_POINTER,
  TCP_WINDOW,
  read16,
  read32,
  write16,
  write32,
  writeMac,
} from "./frame.ts";

/** Ethernet, IPv4 and TCP headers without options or data; the kernel pads it to 60 bytes. */
export const TCP_RESET_FRAME_LENGTH = ETH_HEADER_LEN + IPV4_MIN_HEADER_LEN + TCP_MIN_HEADER_LEN;

const TCP_DATA_OFFSET_5 = 0x50;

/**
 * Writes at `outAt` of `out` the RST that answers the client's TCP segment in `frame`: Ethernet
 * at `at` (the client side's MAC as source), an IPv4 header of 20 bytes, the segment at `tcpAt`,
 * `tcpLength` bytes long. The RST goes from the segment's destination (VIP and port) to its
 * source, from `ownMac` to the frame's source MAC. Returns the length written, or 0 (nothing
 * written) when the segment's header length is not within 20..tcpLength bytes.
 */
export function writeTcpReset(frame: Uint8Array, at: number, tcpAt: number, tcpLength: number, out: Uint8Array, outAt: number, ownMacHigh: number, ownMacLow: number): number {
  const headerLength = ((frame[tcpAt + TCP_DATA_OFFSET] ?? 0) >>> 4) * 4;
  if (headerLength < TCP_MIN_HEADER_LEN || headerLength > tcpLength) return 0;
  const flags = frame[tcpAt + TCP_FLAGS] ?? 0;
  const ipAt = at + ETH_HEADER_LEN;
  const outIpAt = outAt + ETH_HEADER_LEN;
  const outTcpAt = outIpAt + IPV4_MIN_HEADER_LEN;

  for (let i = 0; i < 6; i++) out[outAt + ETH_DST + i] = frame[at + ETH_SRC + i] ?? 0;
  writeMac(out, outAt + ETH_SRC, ownMacHigh, ownMacLow);
  write16(out, outAt + ETH_TYPE, ETHERTYPE_IPV4);

  const vip = read32(frame, ipAt + IPV4_DST);
  const client = read32(frame, ipAt + IPV4_SRC);
  writeIpv4Header(out, outIpAt, 0, TCP_MIN_HEADER_LEN, 0, IPV4_DONT_FRAGMENT, REPLY_TTL, IPPROTO_TCP, vip, client);

  write16(out, outTcpAt + L4_SRC_PORT, read16(frame, tcpAt + L4_DST_PORT));
  write16(out, outTcpAt + L4_DST_PORT, read16(frame, tcpAt + L4_SRC_PORT));
  if ((flags & TCP_FLAG_ACK) !== 0) {
    write32(out, outTcpAt + TCP_SEQ, read32(frame, tcpAt + TCP_ACK_NUMBER));
    write32(out, outTcpAt + TCP_ACK_NUMBER, 0);
    out[outTcpAt + TCP_FLAGS] = TCP_FLAG_RST;
  } else {
    const segmentLength = tcpLength - headerLength + ((flags & TCP_FLAG_SYN) !== 0 ? 1 : 0) + ((flags & TCP_FLAG_FIN) !== 0 ? 1 : 0);
    write32(out, outTcpAt + TCP_SEQ, 0);
    write32(out, outTcpAt + TCP_ACK_NUMBER, (read32(frame, tcpAt + TCP_SEQ) + segmentLength) >>> 0);
    out[outTcpAt + TCP_FLAGS] = TCP_FLAG_RST | TCP_FLAG_ACK;
  }
  out[outTcpAt + TCP_DATA_OFFSET] = TCP_DATA_OFFSET_5;
  write16(out, outTcpAt + TCP_WINDOW, 0);
  write16(out, outTcpAt + TCP_CHECKSUM, 0);
  write16(out, outTcpAt + TCP_URGENT_POINTER, 0);
  // Pseudo-header (RFC 793 §3.1): source, destination, protocol, TCP length.
  const pseudo = (vip >>> 16) + (vip & 0xffff) + (client >>> 16) + (client & 0xffff) + IPPROTO_TCP + TCP_MIN_HEADER_LEN;
  write16(out, outTcpAt + TCP_CHECKSUM, foldComplement(sumBytes(out, outTcpAt, TCP_MIN_HEADER_LEN, pseudo)));
  return TCP_RESET_FRAME_LENGTH;
}
