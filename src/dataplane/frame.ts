// Header layouts as byte offsets and readers over a frame in a Uint8Array. The hot path reads
// and writes through these with plain byte arithmetic: no DataView, no object per packet.

export const ETH_HEADER_LEN = 14;
export const ETH_DST = 0;
export const ETH_SRC = 6;
export const ETH_TYPE = 12;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;

/** ARP for IPv4 over Ethernet: the only kind bng speaks. Offsets from the ARP header. */
export const ARP_LEN = 28;
export const ARP_HTYPE = 0;
export const ARP_PTYPE = 2;
export const ARP_HLEN = 4;
export const ARP_PLEN = 5;
export const ARP_OP = 6;
export const ARP_SHA = 8;
export const ARP_SPA = 14;
export const ARP_THA = 18;
export const ARP_TPA = 24;
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;
export const ARP_HTYPE_ETHERNET = 1;

/** IPv4 offsets from the IP header. */
export const IPV4_MIN_HEADER_LEN = 20;
export const IPV4_VERSION_IHL = 0;
export const IPV4_TOTAL_LENGTH = 2;
export const IPV4_IDENTIFICATION = 4;
export const IPV4_FLAGS_FRAGMENT = 6;
export const IPV4_TTL = 8;
export const IPV4_PROTOCOL = 9;
export const IPV4_CHECKSUM = 10;
export const IPV4_SRC = 12;
export const IPV4_DST = 16;
export const IPV4_MORE_FRAGMENTS = 0x2000;
export const IPV4_DONT_FRAGMENT = 0x4000;
/** TTL of the packets bng originates from a VIP, echo replies and RSTs (Linux's default). */
export const REPLY_TTL = 64;
export const IPV4_FRAGMENT_OFFSET_MASK = 0x1fff;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export const TCP_MIN_HEADER_LEN = 20;
export const TCP_SEQ = 4;
export const TCP_ACK_NUMBER = 8;
/** The header length in 32-bit words, in the high nibble. */
export const TCP_DATA_OFFSET = 12;
export const TCP_FLAGS = 13;
export const TCP_WINDOW = 14;
export const TCP_CHECKSUM = 16;
export const TCP_URGENT_POINTER = 18;
export const TCP_FLAG_FIN = 0x01;
export const TCP_FLAG_SYN = 0x02;
export const TCP_FLAG_RST = 0x04;
export const TCP_FLAG_ACK = 0x10;
export const UDP_HEADER_LEN = 8;
export const UDP_CHECKSUM = 6;
/** Source and destination ports sit at the same offsets in TCP and UDP. */
export const L4_SRC_PORT = 0;
export const L4_DST_PORT = 2;

export const ICMP_HEADER_LEN = 8;
export const ICMP_TYPE = 0;
export const ICMP_CODE = 1;
export const ICMP_CHECKSUM = 2;
export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACHABLE = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;

export function read16(bytes: Uint8Array, at: number): number {
  return ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
}

/** A big-endian 32-bit field as an unsigned number (IPv4 addresses). */
export function read32(bytes: Uint8Array, at: number): number {
  return (
    (((bytes[at] ?? 0) << 24) | ((bytes[at + 1] ?? 0) << 16) | ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0)) >>>
    0
  );
}

export function write16(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 8;
  bytes[at + 1] = value;
}

export function write32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = value >>> 16;
  bytes[at + 2] = value >>> 8;
  bytes[at + 3] = value;
}

/**
 * MAC addresses travel through shared memory as two integers: the high 16 bits and the low
 * 32 bits (unsigned). That keeps them in Int32 tables and compares them without loops.
 */
export function readMacHigh(bytes: Uint8Array, at: number): number {
  return read16(bytes, at);
}

export function readMacLow(bytes: Uint8Array, at: number): number {
  return read32(bytes, at + 2);
}

/** "02:00:5e:10:00:01": a MAC as operators and `ip link` write it. */
export function formatMac(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, 6), (byte) => byte.toString(16).padStart(2, "0")).join(":");
}

export function writeMac(bytes: Uint8Array, at: number, macHigh: number, macLow: number): void {
  write16(bytes, at, macHigh);
  write32(bytes, at + 2, macLow);
}


/** Whether a MAC's high 16 bits (readMacHigh) are of a group address: multicast, broadcast included. */
export function isGroupMac(macHigh: number): boolean {
  return (macHigh & 0x0100) !== 0;
}

/**
 * Whether an IPv4 source address is a martian: 0.0.0.0/8 ("this network"), 127.0.0.0/8
 * (loopback), 224.0.0.0/4 (multicast) or 255.255.255.255 (limited broadcast). No client sends
 * from one; a frame that claims to is forged.
 */
export function isMartianSource(ip: number): boolean {
  const first = ip >>> 24;
  return first === 0 || first === 127 || (first & 0xf0) === 0xe0 || ip >>> 0 === 0xffffffff;
}

/** IHL in bytes (the header length field counts 32-bit words). */
export function ipv4HeaderLength(bytes: Uint8Array, ipAt: number): number {
  return ((bytes[ipAt + IPV4_VERSION_IHL] ?? 0) & 0x0f) << 2;
}

export function ipv4Version(bytes: Uint8Array, ipAt: number): number {
  return (bytes[ipAt + IPV4_VERSION_IHL] ?? 0) >>> 4;
}
