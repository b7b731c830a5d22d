// The Ethernet and IPv4 headers of the frames the checks write themselves (the DSR-path SYN and
// RST, bng doctor's echo requests), and the IPv4 checks every answer they read must pass. Pure.
import {
  ETH_DST,
  ETH_HEADER_LEN,
  ETH_SRC,
  ETH_TYPE,
  ETHERTYPE_IPV4,
  IPV4_FLAGS_FRAGMENT,
  IPV4_FRAGMENT_OFFSET_MASK,
  IPV4_MIN_HEADER_LEN,
  IPV4_PROTOCOL,
  IPV4_VERSION_IHL,
  ipv4HeaderLength,
  read16,
  write16,
} from "../dataplane/frame.ts";
import { writeIpv4Header } from "../dataplane/ipv4-header.ts";

const TTL = 64;

/** Where the IPv4 header starts in every frame written here. */
export const IP_AT = ETH_HEADER_LEN;
/** Where the payload (TCP, ICMP) starts: after an IPv4 header without options. */
export const PAYLOAD_AT = ETH_HEADER_LEN + IPV4_MIN_HEADER_LEN;

/** The fields of the headers written. */
export interface Ipv4Header {
  dstMac: Uint8Array;
  srcMac: Uint8Array;
  srcIp: number;
  dstIp: number;
  protocol: number;
  ipId: number;
}

/** Writes Ethernet and an option-less IPv4 header for a payload of `payloadLength` bytes at PAYLOAD_AT. */
export function writeIpv4Headers(frame: Uint8Array, header: Ipv4Header, payloadLength: number): void {
  frame.set(header.dstMac.subarray(0, 6), ETH_DST);
  frame.set(header.srcMac.subarray(0, 6), ETH_SRC);
  write16(frame, ETH_TYPE, ETHERTYPE_IPV4);
  writeIpv4Header(frame, IP_AT, 0, payloadLength, header.ipId, 0, TTL, header.protocol, header.srcIp, header.dstIp);
}

/**
 * Where the payload of an IPv4 frame of `protocol` starts, when at least `minimum` bytes of it
 * are there and the frame is not a later fragment; -1 otherwise.
 */
export function ipv4PayloadAt(frame: Uint8Array, length: number, protocol: number, minimum: number): number {
  if (length < PAYLOAD_AT + minimum || read16(frame, ETH_TYPE) !== ETHERTYPE_IPV4) return -1;
  if ((frame[IP_AT + IPV4_VERSION_IHL]! >>> 4) !== 4 || frame[IP_AT + IPV4_PROTOCOL] !== protocol) return -1;
  if ((read16(frame, IP_AT + IPV4_FLAGS_FRAGMENT) & IPV4_FRAGMENT_OFFSET_MASK) !== 0) return -1;
  const headerLength = ipv4HeaderLength(frame, IP_AT);
  const payloadAt = IP_AT + headerLength;
  if (headerLength < IPV4_MIN_HEADER_LEN || payloadAt + minimum > length) return -1;
  return payloadAt;
}
