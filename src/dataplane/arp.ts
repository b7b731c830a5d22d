// ARP frames bng writes: replies for VIPs (data plane), requests towards targets and
// gratuitous announcements (control side, sent through the same PacketIO).

import {
  ARP_HLEN,
  ARP_HTYPE,
  ARP_HTYPE_ETHERNET,
  ARP_LEN,
  ARP_OP,
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  ARP_PLEN,
  ARP_PTYPE,
  ARP_SHA,
  ARP_SPA,
  ARP_THA,
  ARP_TPA,
  ETH_DST,
  ETH_HEADER_LEN,
  ETH_SRC,
  ETH_TYPE,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  write16,
  write32,
  writeMac,
} from "./frame.ts";

/** Length of every ARP frame bng writes (the kernel pads to the Ethernet minimum). */
export const ARP_FRAME_LEN = ETH_HEADER_LEN + ARP_LEN;

const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const ZERO_MAC = new Uint8Array(6);

/** Everything but the addresses: Ethernet type and the fixed ARP-for-IPv4 fields. */
function writeArpFixedFields(buf: Uint8Array, offset: number, op: number): void {
  write16(buf, offset + ETH_TYPE, ETHERTYPE_ARP);
  const arpAt = offset + ETH_HEADER_LEN;
  write16(buf, arpAt + ARP_HTYPE, ARP_HTYPE_ETHERNET);
  write16(buf, arpAt + ARP_PTYPE, ETHERTYPE_IPV4);
  buf[arpAt + ARP_HLEN] = 6;
  buf[arpAt + ARP_PLEN] = 4;
  write16(buf, arpAt + ARP_OP, op);
}

function writeArpFrame(
  buf: Uint8Array,
  offset: number,
  op: number,
  ethDst: Uint8Array,
  senderMac: Uint8Array,
  senderIp: number,
  targetMac: Uint8Array,
  targetIp: number,
): number {
  buf.set(ethDst, offset + ETH_DST);
  buf.set(senderMac, offset + ETH_SRC);
  writeArpFixedFields(buf, offset, op);
  const arpAt = offset + ETH_HEADER_LEN;
  buf.set(senderMac, arpAt + ARP_SHA);
  write32(buf, arpAt + ARP_SPA, senderIp);
  buf.set(targetMac, arpAt + ARP_THA);
  write32(buf, arpAt + ARP_TPA, targetIp);
  return ARP_FRAME_LEN;
}

/** A broadcast "who has targetIp, tell senderIp" from ownMac. Returns the frame length. */
export function writeArpRequest(
  buf: Uint8Array,
  offset: number,
  ownMac: Uint8Array,
  senderIp: number,
  targetIp: number,
): number {
  return writeArpFrame(buf, offset, ARP_OP_REQUEST, BROADCAST_MAC, ownMac, senderIp, ZERO_MAC, targetIp);
}

/**
 * A gratuitous ARP announcing `ip` at ownMac: the request form of RFC 5227 (sender and target
 * address both `ip`, target MAC zero), broadcast, which every common stack updates from.
 */
export function writeGratuitousArp(buf: Uint8Array, offset: number, ownMac: Uint8Array, ip: number): number {
  return writeArpFrame(buf, offset, ARP_OP_REQUEST, BROADCAST_MAC, ownMac, ip, ZERO_MAC, ip);
}

/**
 * Turns the ARP request at `requestAt` into the reply for `vip` at `replyAt` (own MAC given as
 * two integers, see frame.ts). The request's sender becomes the reply's target, and the reply
 * goes to the request frame's Ethernet source: a forged sender hardware address in the body (a
 * victim's, or broadcast) cannot turn bng into a reflector.
 */
export function writeArpReplyFromRequest(
  request: Uint8Array,
  requestAt: number,
  reply: Uint8Array,
  replyAt: number,
  ownMacHigh: number,
  ownMacLow: number,
  vip: number,
): number {
  const requestArp = requestAt + ETH_HEADER_LEN;
  const replyArp = replyAt + ETH_HEADER_LEN;
  for (let i = 0; i < 6; i++) {
    reply[replyAt + ETH_DST + i] = request[requestAt + ETH_SRC + i] ?? 0;
    reply[replyArp + ARP_THA + i] = request[requestArp + ARP_SHA + i] ?? 0;
  }
  writeMac(reply, replyAt + ETH_SRC, ownMacHigh, ownMacLow);
  writeArpFixedFields(reply, replyAt, ARP_OP_REPLY);
  writeMac(reply, replyArp + ARP_SHA, ownMacHigh, ownMacLow);
  write32(reply, replyArp + ARP_SPA, vip);
  for (let i = 0; i < 4; i++) reply[replyArp + ARP_TPA + i] = request[requestArp + ARP_SPA + i] ?? 0;
  return ARP_FRAME_LEN;
}
