// Writing an IPv4 header without options, checksummed: the frames bng makes itself (the RST of
// downpolicy reset, VRRP adverts, the checks' probes). Plain arguments, no object, so the data
// plane can call it per packet.
import { writeIpv4HeaderChecksum } from "./checksum.ts";
import {
  IPV4_DST,
  IPV4_FLAGS_FRAGMENT,
  IPV4_IDENTIFICATION,
  IPV4_MIN_HEADER_LEN,
  IPV4_PROTOCOL,
  IPV4_SRC,
  IPV4_TOTAL_LENGTH,
  IPV4_TTL,
  IPV4_VERSION_IHL,
  write16,
  write32,
} from "./frame.ts";

const IPV4_TOS = 1;
/** Version 4, header length 5 words. */
const VERSION_IHL_5 = 0x45;

/** Writes at `ipAt` a 20-byte IPv4 header for `payloadLength` bytes of `protocol` from `srcIp` to `dstIp`. */
export function writeIpv4Header(
  bytes: Uint8Array,
  ipAt: number,
  tos: number,
  payloadLength: number,
  id: number,
  flagsFragment: number,
  ttl: number,
  protocol: number,
  srcIp: number,
  dstIp: number,
): void {
  bytes[ipAt + IPV4_VERSION_IHL] = VERSION_IHL_5;
  bytes[ipAt + IPV4_TOS] = tos;
  write16(bytes, ipAt + IPV4_TOTAL_LENGTH, IPV4_MIN_HEADER_LEN + payloadLength);
  write16(bytes, ipAt + IPV4_IDENTIFICATION, id & 0xffff);
  write16(bytes, ipAt + IPV4_FLAGS_FRAGMENT, flagsFragment);
  bytes[ipAt + IPV4_TTL] = ttl;
  bytes[ipAt + IPV4_PROTOCOL] = protocol;
  write32(bytes, ipAt + IPV4_SRC, srcIp);
  write32(bytes, ipAt + IPV4_DST, dstIp);
  writeIpv4HeaderChecksum(bytes, ipAt);
}
