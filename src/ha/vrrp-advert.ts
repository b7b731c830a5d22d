// VRRPv2 advertisements (RFC 3768): the whole Ethernet frame bng sends, and the checks of
// section 7.1 on a received one. Both work in the caller's buffers and allocate nothing, so a
// flood of adverts (valid or not) costs no garbage.
//
// Sent frames match what keepalived 2.x puts on the wire (captured in test/ha/keepalived):
// TOS 0xc0 (internetwork control), no DF (keepalived leaves frag_off 0, so every advert gets its
// own IP id, which the caller counts), TTL 255, auth type 0 with 8 zero bytes of auth data. Unlike
// keepalived without `use_vmac`, the source MAC is the virtual router MAC as the RFC requires.

import { foldComplement, sumBytes } from "../dataplane/checksum.ts";
import { writeIpv4Header } from "../dataplane/ipv4-header.ts";
import {
  ETH_DST,
  ETH_HEADER_LEN,
  ETH_SRC,
  ETH_TYPE,
  ETHERTYPE_IPV4,
  IPV4_DST,
  IPV4_FLAGS_FRAGMENT,
  IPV4_FRAGMENT_OFFSET_MASK,
  IPV4_MIN_HEADER_LEN,
  IPV4_MORE_FRAGMENTS,
  IPV4_PROTOCOL,
  IPV4_SRC,
  IPV4_TOTAL_LENGTH,
  IPV4_TTL,
  ipv4HeaderLength,
  ipv4Version,
  read16,
  read32,
  write16,
  write32,
  writeMac,
} from "../dataplane/frame.ts";

export const IPPROTO_VRRP = 112;
/** 224.0.0.18, the VRRP group, and its Ethernet multicast MAC 01:00:5e:00:00:12. */
export const VRRP_GROUP = 0xe0000012;
const VRRP_GROUP_MAC_HIGH = 0x0100;
const VRRP_GROUP_MAC_LOW = 0x5e000012;
/** The group's MAC as bytes, for the interface's multicast filter. */
export const VRRP_GROUP_MAC = Uint8Array.of(0x01, 0x00, 0x5e, 0x00, 0x00, 0x12);
/** The virtual router MAC is 00:00:5e:00:01:VRID (RFC 3768 section 7.3): its high 16 bits. */
export const VIRTUAL_MAC_HIGH = 0x0000;
const VIRTUAL_MAC_LOW_BASE = 0x5e000100;
export const VRRP_TTL = 255;
/** IP precedence "internetwork control", as keepalived sends. */
const VRRP_TOS = 0xc0;

const VRRP_VERSION = 2;
const VRRP_TYPE_ADVERTISEMENT = 1;
const AUTH_TYPE_NONE = 0;
/** The priority of the address owner; bng never owns the VIPs (it uses 1-254). */
export const PRIORITY_OWNER = 255;

/** VRRP header offsets from the VRRP header. */
const VRRP_VERSION_TYPE = 0;
const VRRP_VRID = 1;
const VRRP_PRIORITY = 2;
const VRRP_COUNT = 3;
const VRRP_AUTH_TYPE = 4;
const VRRP_ADVER_INT = 5;
const VRRP_CHECKSUM = 6;
const VRRP_ADDRESSES = 8;
const VRRP_AUTH_DATA_LEN = 8;
/** The fixed part: the 8-byte header plus the 8 bytes of authentication data. */
const VRRP_FIXED_LEN = VRRP_ADDRESSES + VRRP_AUTH_DATA_LEN;

/** The count field is one byte. */
export const MAX_VRRP_ADDRESSES = 255;
/** The longest advert frame: 1070 bytes, well inside a 1500-byte MTU. */
export const MAX_ADVERT_FRAME_LEN = ETH_HEADER_LEN + IPV4_MIN_HEADER_LEN + VRRP_FIXED_LEN + 4 * MAX_VRRP_ADDRESSES;

/** What a received advert was found to be. Indices are stable (counter names). */
export const ADVERT_RESULTS = [
  "accepted",
  "accepted_owner_address_mismatch",
  "not_vrrp",
  "bad_ip_header",
  "bad_destination",
  "bad_ttl",
  "bad_version_type",
  "bad_length",
  "bad_checksum",
  "other_vrid",
  "auth_mismatch",
  "interval_mismatch",
  "from_self",
  "address_mismatch",
] as const;
export type AdvertResult = (typeof ADVERT_RESULTS)[number];

/** A valid advert for our VRID: feed it to the state machine. */
export const ADVERT_ACCEPTED = 0;
/**
 * Valid, from an address owner (priority 255) whose address list differs from ours: RFC 3768
 * says log it and go on processing (bng itself never sends 255; keepalived may).
 */
export const ADVERT_ACCEPTED_OWNER_ADDRESS_MISMATCH = 1;
/** Not IPv4 protocol 112: not for the VRRP code at all (not counted as a VRRP error). */
export const ADVERT_NOT_VRRP = 2;
/** Bad IHL, IP header checksum, total length beyond the frame, or a fragment. */
export const ADVERT_BAD_IP_HEADER = 3;
/** Protocol 112 sent to another address than 224.0.0.18 (bng speaks multicast VRRP only). */
export const ADVERT_BAD_DESTINATION = 4;
/** TTL other than 255: it crossed a router (RFC 3768 section 7.1, MUST). */
export const ADVERT_BAD_TTL = 5;
export const ADVERT_BAD_VERSION_TYPE = 6;
/** The IP total length is not exactly the header, 16 bytes and 4 per counted address. */
export const ADVERT_BAD_LENGTH = 7;
export const ADVERT_BAD_CHECKSUM = 8;
/** Another virtual router's advert: ignored silently, only counted. */
export const ADVERT_OTHER_VRID = 9;
/** Auth type other than 0 (bng and its peers use none, as RFC 3768 recommends). */
export const ADVERT_AUTH_MISMATCH = 10;
/** Advert interval differs from ours (RFC 3768 section 7.1, MUST discard). */
export const ADVERT_INTERVAL_MISMATCH = 11;
/** From our own real address: a looped copy of our advert or an address conflict. */
export const ADVERT_FROM_SELF = 12;
/**
 * The address count or list differs from our VIPs, from a non-owner: discarded, as RFC 3768
 * says and as Debian's keepalived 2.2.7 does (it logs "ip address associated with VRID ... not
 * present in MASTER advert" and counts addr_list_err). A mismatch is a misconfiguration to log.
 */
export const ADVERT_ADDRESS_MISMATCH = 13;

export function advertAccepted(result: number): boolean {
  return result === ADVERT_ACCEPTED || result === ADVERT_ACCEPTED_OWNER_ADDRESS_MISMATCH;
}

/** One virtual router as this node sends and checks it. Made once per configuration. */
export interface VrrpRouter {
  readonly vrid: number;
  /** Advertisement interval, whole seconds (VRRPv2). */
  readonly intervalS: number;
  /** This node's real (primary) address on the network: the adverts' source. */
  readonly realAddress: number;
  /** The virtual addresses in the order they are advertised. */
  readonly addresses: Uint32Array;
  /** The same, sorted, for the membership check of received lists. */
  readonly sortedAddresses: Uint32Array;
  /** Scratch of the membership check: which sorted address a received list named already. */
  readonly seen: Uint8Array;
}

export interface VrrpRouterConfig {
  vrid: number;
  intervalS: number;
  realAddress: number;
  addresses: readonly number[];
}

/** Checks the ranges once (bad values are a programming error here: the config check names them). */
export function createVrrpRouter(config: VrrpRouterConfig): VrrpRouter {
  const { vrid, intervalS, realAddress, addresses } = config;
  if (!Number.isInteger(vrid) || vrid < 1 || vrid > 255) throw new RangeError(`VRRP vrid ${vrid}: expected 1-255`);
  if (!Number.isInteger(intervalS) || intervalS < 1 || intervalS > 255) throw new RangeError(`VRRP interval ${intervalS}: expected 1-255 s`);
  if (addresses.length < 1 || addresses.length > MAX_VRRP_ADDRESSES) {
    throw new RangeError(`VRRP: ${addresses.length} virtual addresses, expected 1-${MAX_VRRP_ADDRESSES}`);
  }
  const list = Uint32Array.from(addresses, (address) => address >>> 0);
  const sorted = list.slice().sort();
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) throw new RangeError("VRRP: a virtual address is listed twice");
  }
  return { vrid, intervalS, realAddress: realAddress >>> 0, addresses: list, sortedAddresses: sorted, seen: new Uint8Array(list.length) };
}

/** The low 32 bits of the virtual router MAC 00:00:5e:00:01:VRID (see frame.ts on MACs as two integers). */
export function virtualMacLow(vrid: number): number {
  return (VIRTUAL_MAC_LOW_BASE | vrid) >>> 0;
}

/** The virtual router MAC as bytes, for the ARP writers of src/dataplane/arp.ts. */
export function virtualMac(vrid: number): Uint8Array {
  return new Uint8Array([0x00, 0x00, 0x5e, 0x00, 0x01, vrid]);
}

/** Length of the advert frame for `count` addresses (before any Ethernet padding). */
export function advertFrameLength(count: number): number {
  return ETH_HEADER_LEN + IPV4_MIN_HEADER_LEN + VRRP_FIXED_LEN + 4 * count;
}

/**
 * Writes the advert of `router` with `priority` (0-255: 0 when stepping down) into `buf` at
 * `offset`; `ipId` is the IP identification (the caller counts it up per advert). Returns the
 * frame length. The buffer must hold advertFrameLength(addresses) bytes from `offset`.
 */
export function writeVrrpAdvert(buf: Uint8Array, offset: number, router: VrrpRouter, priority: number, ipId: number): number {
  const count = router.addresses.length;
  const length = advertFrameLength(count);
  if (offset < 0 || offset + length > buf.length) throw new RangeError(`VRRP advert: ${length} bytes do not fit at ${offset}`);
  writeMac(buf, offset + ETH_DST, VRRP_GROUP_MAC_HIGH, VRRP_GROUP_MAC_LOW);
  writeMac(buf, offset + ETH_SRC, VIRTUAL_MAC_HIGH, virtualMacLow(router.vrid));
  write16(buf, offset + ETH_TYPE, ETHERTYPE_IPV4);

  const ipAt = offset + ETH_HEADER_LEN;
  writeIpv4Header(buf, ipAt, VRRP_TOS, length - ETH_HEADER_LEN - IPV4_MIN_HEADER_LEN, ipId, 0, VRRP_TTL, IPPROTO_VRRP, router.realAddress, VRRP_GROUP);

  const vrrpAt = ipAt + IPV4_MIN_HEADER_LEN;
  buf[vrrpAt + VRRP_VERSION_TYPE] = (VRRP_VERSION << 4) | VRRP_TYPE_ADVERTISEMENT;
  buf[vrrpAt + VRRP_VRID] = router.vrid;
  buf[vrrpAt + VRRP_PRIORITY] = priority;
  buf[vrrpAt + VRRP_COUNT] = count;
  buf[vrrpAt + VRRP_AUTH_TYPE] = AUTH_TYPE_NONE;
  buf[vrrpAt + VRRP_ADVER_INT] = router.intervalS;
  write16(buf, vrrpAt + VRRP_CHECKSUM, 0);
  for (let i = 0; i < count; i++) write32(buf, vrrpAt + VRRP_ADDRESSES + 4 * i, router.addresses[i]!);
  buf.fill(0, vrrpAt + VRRP_ADDRESSES + 4 * count, offset + length);
  const vrrpLength = VRRP_FIXED_LEN + 4 * count;
  write16(buf, vrrpAt + VRRP_CHECKSUM, foldComplement(sumBytes(buf, vrrpAt, vrrpLength, 0)));
  return length;
}

/** What the checks read out of a received advert; one object, reused for every frame. */
export interface AdvertFields {
  vrid: number;
  priority: number;
  intervalS: number;
  /** The sender's primary (real) address: the tie-break and the "current master". */
  sourceIp: number;
  count: number;
}

export function createAdvertFields(): AdvertFields {
  return { vrid: 0, priority: 0, intervalS: 0, sourceIp: 0, count: 0 };
}

/**
 * Checks the Ethernet frame of `length` bytes at `at` as an advert for `router` (RFC 3768
 * section 7.1, in its order) and returns one of the ADVERT_* results. `out` gets each field as
 * soon as it is read: after ADVERT_OTHER_VRID it names that VRID, after a success everything.
 * Ethernet padding after the IP packet is allowed; VLAN tags are the caller's business.
 */
export function checkVrrpAdvert(frame: Uint8Array, at: number, length: number, router: VrrpRouter, out: AdvertFields): number {
  if (length < ETH_HEADER_LEN + IPV4_MIN_HEADER_LEN || at < 0 || at + length > frame.length) return ADVERT_NOT_VRRP;
  if (read16(frame, at + ETH_TYPE) !== ETHERTYPE_IPV4) return ADVERT_NOT_VRRP;
  const ipAt = at + ETH_HEADER_LEN;
  if (ipv4Version(frame, ipAt) !== 4 || frame[ipAt + IPV4_PROTOCOL] !== IPPROTO_VRRP) return ADVERT_NOT_VRRP;

  const headerLength = ipv4HeaderLength(frame, ipAt);
  const totalLength = read16(frame, ipAt + IPV4_TOTAL_LENGTH);
  if (
    headerLength < IPV4_MIN_HEADER_LEN ||
    totalLength < headerLength ||
    ETH_HEADER_LEN + totalLength > length ||
    (read16(frame, ipAt + IPV4_FLAGS_FRAGMENT) & (IPV4_MORE_FRAGMENTS | IPV4_FRAGMENT_OFFSET_MASK)) !== 0 ||
    foldComplement(sumBytes(frame, ipAt, headerLength, 0)) !== 0
  ) {
    return ADVERT_BAD_IP_HEADER;
  }
  out.sourceIp = read32(frame, ipAt + IPV4_SRC);
  if (read32(frame, ipAt + IPV4_DST) !== VRRP_GROUP) return ADVERT_BAD_DESTINATION;
  if (frame[ipAt + IPV4_TTL] !== VRRP_TTL) return ADVERT_BAD_TTL;

  const vrrpAt = ipAt + headerLength;
  const vrrpLength = totalLength - headerLength;
  if (vrrpLength < VRRP_FIXED_LEN) return ADVERT_BAD_LENGTH;
  if (frame[vrrpAt + VRRP_VERSION_TYPE] !== ((VRRP_VERSION << 4) | VRRP_TYPE_ADVERTISEMENT)) return ADVERT_BAD_VERSION_TYPE;
  const count = frame[vrrpAt + VRRP_COUNT]!;
  out.count = count;
  if (vrrpLength !== VRRP_FIXED_LEN + 4 * count) return ADVERT_BAD_LENGTH;
  if (foldComplement(sumBytes(frame, vrrpAt, vrrpLength, 0)) !== 0) return ADVERT_BAD_CHECKSUM;

  out.vrid = frame[vrrpAt + VRRP_VRID]!;
  out.priority = frame[vrrpAt + VRRP_PRIORITY]!;
  out.intervalS = frame[vrrpAt + VRRP_ADVER_INT]!;
  if (out.vrid !== router.vrid) return ADVERT_OTHER_VRID;
  if (frame[vrrpAt + VRRP_AUTH_TYPE] !== AUTH_TYPE_NONE) return ADVERT_AUTH_MISMATCH;
  if (out.intervalS !== router.intervalS) return ADVERT_INTERVAL_MISMATCH;
  if (out.sourceIp === router.realAddress) return ADVERT_FROM_SELF;
  if (!addressesMatch(frame, vrrpAt + VRRP_ADDRESSES, count, router)) {
    return out.priority === PRIORITY_OWNER ? ADVERT_ACCEPTED_OWNER_ADDRESS_MISMATCH : ADVERT_ADDRESS_MISMATCH;
  }
  return ADVERT_ACCEPTED;
}

/**
 * Whether the `count` addresses at `listAt` are exactly the router's (in any order, as
 * keepalived compares): same count, each one ours, none twice. A binary search per address
 * keeps a 255-address advert at about 2,000 steps.
 */
function addressesMatch(frame: Uint8Array, listAt: number, count: number, router: VrrpRouter): boolean {
  const sorted = router.sortedAddresses;
  if (count !== sorted.length) return false;
  const seen = router.seen;
  seen.fill(0);
  for (let i = 0; i < count; i++) {
    const address = read32(frame, listAt + 4 * i);
    let low = 0;
    let high = sorted.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const candidate = sorted[middle]!;
      if (candidate === address) {
        found = middle;
        break;
      }
      if (candidate < address) low = middle + 1;
      else high = middle - 1;
    }
    if (found < 0 || seen[found] === 1) return false;
    seen[found] = 1;
  }
  return true;
}
