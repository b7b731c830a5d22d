// What bng does with an ARP frame: answers requests for its VIPs (to the frame's Ethernet
// source), learns targets' MACs from their ARP (neighbours.ts: a new MAC for a known target is
// only a candidate until the target's reply to bng's own request confirms it), drops frames
// with a sender MAC no station has, and notices a target that answers ARP for a VIP.

import { writeArpReplyFromRequest } from "./arp.ts";
import * as C from "./counters.ts";
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
  ARP_TPA,
  ETH_DST,
  ETH_HEADER_LEN,
  ETH_SRC,
  ETHERTYPE_IPV4,
  isGroupMac,
  read16,
  read32,
  readMacHigh,
  readMacLow,
} from "./frame.ts";
import { NEIGHBOUR_CANDIDATE, NEIGHBOUR_CONFIRMED, NEIGHBOUR_REFUTED, type NeighbourTable } from "./neighbours.ts";
import { PACKET_HOST, type PacketBatch, type TxBatch } from "./packet-io.ts";
import type { ForwardingTable } from "./table.ts";
import { T_ID, T_NEXT_SAME_IP, VIP_ANSWERS } from "./table-layout.ts";
import { VERDICT_REPLY, type Verdicts } from "./verdicts.ts";

const ARP_REPLIES_AT = C.EVENTS_AT + C.EVENT.arp_replies;
const NEIGHBOUR_SIGHTINGS_AT = C.EVENTS_AT + C.EVENT.neighbour_sightings;
const NEIGHBOUR_CANDIDATES_AT = C.EVENTS_AT + C.EVENT.neighbour_candidates;
const NEIGHBOUR_CONFIRMED_AT = C.EVENTS_AT + C.EVENT.neighbour_confirmed;
const NEIGHBOUR_REFUTED_AT = C.EVENTS_AT + C.EVENT.neighbour_refuted;
const TARGET_VIP_ARP_AT = C.EVENTS_AT + C.EVENT.target_vip_arp;

export class ArpDecision {
  constructor(
    private readonly rx: PacketBatch,
    private readonly tx: TxBatch,
    private readonly neighbours: NeighbourTable,
    private readonly out: Verdicts,
  ) {}

  /** The verdict for the ARP frame in rx slot `slot` (at byte `at`, `length` bytes). */
  decide(table: ForwardingTable, slot: number, at: number, length: number): number {
    const out = this.out;
    if (length < ETH_HEADER_LEN + ARP_LEN) return out.drop(slot, C.DROP.short_arp);
    const bytes = this.rx.bytes;
    const arpAt = at + ETH_HEADER_LEN;
    if (
      read16(bytes, arpAt + ARP_HTYPE) !== ARP_HTYPE_ETHERNET ||
      read16(bytes, arpAt + ARP_PTYPE) !== ETHERTYPE_IPV4 ||
      bytes[arpAt + ARP_HLEN] !== 6 ||
      bytes[arpAt + ARP_PLEN] !== 4
    ) {
      return out.pass(slot, C.PASS.arp);
    }
    if (isGroupMac(readMacHigh(bytes, at + ETH_SRC))) return out.drop(slot, C.DROP.group_source);
    const senderHigh = readMacHigh(bytes, arpAt + ARP_SHA);
    const senderLow = readMacLow(bytes, arpAt + ARP_SHA);
    // No station has such an address: taken for a target's, it would send that target's traffic
    // to everyone (broadcast, multicast), to no one or back to bng.
    if (isGroupMac(senderHigh) || (senderHigh === 0 && senderLow === 0) || (senderHigh === table.ownMacHigh && senderLow === table.ownMacLow)) {
      return out.drop(slot, C.DROP.bad_arp_sender);
    }
    const senderIp = read32(bytes, arpAt + ARP_SPA);
    const targetIp = read32(bytes, arpAt + ARP_TPA);
    const op = read16(bytes, arpAt + ARP_OP);
    // A reply sent to bng may answer the control side's own request (a probe). The control side
    // asks from the interface's MAC (PACKET_HOST), which is not the table's while that is a VRRP
    // virtual MAC.
    const toUs =
      this.rx.pktTypes[slot] === PACKET_HOST || (readMacHigh(bytes, at + ETH_DST) === table.ownMacHigh && readMacLow(bytes, at + ETH_DST) === table.ownMacLow);
    const replyTo = op === ARP_OP_REPLY && toUs ? targetIp : 0;
    // Any ARP a target sends (a reply to our request, its own request, a gratuitous
    // announcement) shows its MAC: learned the first time, a candidate when it differs.
    for (let target = table.firstTargetWithIp(senderIp); target >= 0; ) {
      const targetAt = table.targetAt(target);
      this.countNeighbour(this.neighbours.observe(table.field(targetAt, T_ID), senderHigh, senderLow, replyTo));
      target = table.field(targetAt, T_NEXT_SAME_IP);
    }
    if (table.findVip(senderIp) >= 0) this.noteVipArp(table, senderIp, senderHigh, senderLow);
    if (op !== ARP_OP_REQUEST || senderIp === targetIp) return out.pass(slot, C.PASS.arp);
    const vipAt = table.findVip(targetIp);
    if (vipAt < 0 || table.vipField(vipAt, VIP_ANSWERS) !== 1) return out.pass(slot, C.PASS.arp);
    const tx = this.tx;
    if (tx.count >= tx.slotCount) return out.drop(slot, C.DROP.tx_full);
    const txSlot = tx.count++;
    tx.rxSlots[txSlot] = -1;
    tx.lengths[txSlot] = writeArpReplyFromRequest(bytes, at, tx.bytes, tx.offsets[txSlot]!, table.ownMacHigh, table.ownMacLow, targetIp);
    out.count(ARP_REPLIES_AT, 1);
    return VERDICT_REPLY;
  }

  private countNeighbour(outcome: number): void {
    const out = this.out;
    out.count(NEIGHBOUR_SIGHTINGS_AT, 1);
    if (outcome === NEIGHBOUR_CANDIDATE) out.count(NEIGHBOUR_CANDIDATES_AT, 1);
    else if (outcome === NEIGHBOUR_CONFIRMED) out.count(NEIGHBOUR_CONFIRMED_AT, 1);
    else if (outcome === NEIGHBOUR_REFUTED) out.count(NEIGHBOUR_REFUTED_AT, 1);
  }

  /**
   * An ARP frame speaks for a VIP. From a target's MAC it means the target answers ARP for the
   * VIP it holds on its loopback (DSR needs arp_ignore=1 and arp_announce=2 there): clients and
   * routers may then send to the target directly. Counted per target for the control side.
   */
  private noteVipArp(table: ForwardingTable, vip: number, senderHigh: number, senderLow: number): void {
    const target = table.targetWithMac(senderHigh, senderLow);
    if (target < 0) return;
    this.neighbours.recordVipAnswer(table.field(table.targetAt(target), T_ID), vip);
    this.out.count(TARGET_VIP_ARP_AT, 1);
  }
}
