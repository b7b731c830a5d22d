// The Internet checksum (RFC 1071) over frames in place. Sums are kept unfolded in a JS number
// (a frame's 16-bit words cannot overflow 2^53) and folded once at the end.

import {
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_CHECKSUM,
  IPV4_FLAGS_FRAGMENT,
  IPV4_FRAGMENT_OFFSET_MASK,
  IPV4_MORE_FRAGMENTS,
  IPV4_PROTOCOL,
  IPV4_SRC,
  IPV4_TOTAL_LENGTH,
  TCP_CHECKSUM,
  UDP_CHECKSUM,
  ICMP_CHECKSUM,
  ipv4HeaderLength,
  read16,
  write16,
} from "./frame.ts";

/** Unfolded ones'-complement sum of `length` bytes; an odd last byte is padded with zero. */
export function sumBytes(bytes: Uint8Array, at: number, length: number, initial: number): number {
  let sum = initial;
  const end = at + (length & ~1);
  for (let i = at; i < end; i += 2) sum += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  if (length & 1) sum += (bytes[end] ?? 0) << 8;
  return sum;
}

/** Folds a sum to 16 bits and complements it: the value a checksum field holds. */
export function foldComplement(sum: number): number {
  let folded = sum;
  while (folded > 0xffff) folded = (folded & 0xffff) + Math.floor(folded / 0x10000);
  return ~folded & 0xffff;
}

/** Recomputes the IPv4 header checksum in place. */
export function writeIpv4HeaderChecksum(bytes: Uint8Array, ipAt: number): void {
  write16(bytes, ipAt + IPV4_CHECKSUM, 0);
  write16(bytes, ipAt + IPV4_CHECKSUM, foldComplement(sumBytes(bytes, ipAt, ipv4HeaderLength(bytes, ipAt), 0)));
}

/** Recomputes an ICMP message's checksum in place over `length` bytes from `icmpAt`. */
export function writeIcmpChecksum(bytes: Uint8Array, icmpAt: number, length: number): void {
  write16(bytes, icmpAt + ICMP_CHECKSUM, 0);
  write16(bytes, icmpAt + ICMP_CHECKSUM, foldComplement(sumBytes(bytes, icmpAt, length, 0)));
}

/**
 * Completes a TCP or UDP checksum the kernel left partial (CHECKSUM_PARTIAL, reported as
 * TP_STATUS_CSUMNOTREADY): the field holds the folded pseudo-header sum, so summing the whole
 * segment with that field in place yields the full checksum. Returns false, changing nothing,
 * when there is nothing it can complete: neither TCP nor UDP, a fragment (a later one has no
 * TCP/UDP header, a first one not the whole segment to sum), or a segment too short to hold the
 * field. The kernel does not flag such frames; a malformed one must not get bytes written into it.
 */
export function completePartialL4Checksum(bytes: Uint8Array, ipAt: number): boolean {
  if ((read16(bytes, ipAt + IPV4_FLAGS_FRAGMENT) & (IPV4_MORE_FRAGMENTS | IPV4_FRAGMENT_OFFSET_MASK)) !== 0) return false;
  const protocol = bytes[ipAt + IPV4_PROTOCOL];
  const headerLength = ipv4HeaderLength(bytes, ipAt);
  const l4At = ipAt + headerLength;
  const l4Length = read16(bytes, ipAt + IPV4_TOTAL_LENGTH) - headerLength;
  let fieldOffset: number;
  if (protocol === IPPROTO_TCP) fieldOffset = TCP_CHECKSUM;
  else if (protocol === IPPROTO_UDP) fieldOffset = UDP_CHECKSUM;
  else return false;
  if (l4Length < fieldOffset + 2) return false;
  const fieldAt = l4At + fieldOffset;
  const checksum = foldComplement(sumBytes(bytes, l4At, l4Length, 0));
  // In UDP a zero checksum means "none"; the same value is sent as its other zero, 0xffff.
  write16(bytes, fieldAt, checksum === 0 && protocol === IPPROTO_UDP ? 0xffff : checksum);
  return true;
}

/**
 * Whether the IPv4 packet at `ipAt` is a whole TCP or UDP segment whose checksum field holds
 * exactly what a partial one holds: the folded pseudo-header sum (source, destination, protocol,
 * length), not complemented. For an engine whose kernel does not say which frames are partial
 * (AF_XDP: veth hands XDP its sender's partial checksums as they are). Completing a full
 * checksum that happens to hold the same value leaves it as it was (the segment then sums to the
 * complement of that value), so a wrong guess changes nothing.
 */
export function hasPartialL4Checksum(bytes: Uint8Array, ipAt: number): boolean {
  if ((read16(bytes, ipAt + IPV4_FLAGS_FRAGMENT) & (IPV4_MORE_FRAGMENTS | IPV4_FRAGMENT_OFFSET_MASK)) !== 0) return false;
  const protocol = bytes[ipAt + IPV4_PROTOCOL] ?? 0;
  let fieldOffset: number;
  if (protocol === IPPROTO_TCP) fieldOffset = TCP_CHECKSUM;
  else if (protocol === IPPROTO_UDP) fieldOffset = UDP_CHECKSUM;
  else return false;
  const headerLength = ipv4HeaderLength(bytes, ipAt);
  const l4Length = read16(bytes, ipAt + IPV4_TOTAL_LENGTH) - headerLength;
  if (l4Length < fieldOffset + 2) return false;
  const pseudo = sumBytes(bytes, ipAt + IPV4_SRC, 8, protocol + l4Length);
  return read16(bytes, ipAt + headerLength + fieldOffset) === (~foldComplement(pseudo) & 0xffff);
}

/**
 * Updates a checksum field for one 16-bit word of the covered data changing from `oldWord` to
 * `newWord` (RFC 1624, eqn. 3), so a reply keeps the request's checksum state without summing
 * the whole payload again.
 */
export function updatedChecksum(checksum: number, oldWord: number, newWord: number): number {
  return foldComplement((~checksum & 0xffff) + (~oldWord & 0xffff) + newWord);
}
