// Neighbour hygiene (issue 19): no ARP frame can make a target's MAC broadcast, multicast, zero
// or bng's own; a new MAC for a target that has one is only a candidate until the target's reply
// to bng's own request (a probe from `real`) carries it; a target that answers ARP for a VIP is
// counted per target.

import { describe, expect, test } from "bun:test";
import { DROP_REASONS } from "../../src/dataplane/counters.ts";
import { VERDICT_DROP, VERDICT_PASS } from "../../src/dataplane/process.ts";
import { config } from "../fixtures/config.ts";
import { Lab, OWN_MAC, targetMac } from "../fixtures/dataplane.ts";
import { BROADCAST, arpFrame, ip, mac } from "../fixtures/frames.ts";
import { PACKET_BROADCAST } from "../fixtures/memory-io.ts";

const VIP = "10.0.0.10";
const REAL = "10.0.0.252";
const TARGET_IP = "10.0.0.101";
const OLD_MAC = "02:00:00:00:cc:01";
const NEW_MAC = "02:00:00:00:cc:02";
const ATTACKER_MAC = "02:00:00:00:66:66";

function lab(): Lab {
  return new Lab(config([{ id: 1, ipaddr: VIP, port: 80, targets: [1, 2] }], [{ id: 1, ipaddr: TARGET_IP }, { id: 2, ipaddr: "10.0.0.102" }]));
}

/** A gratuitous announcement of the target's address at `senderMac`, from Ethernet source `src`. */
const announcement = (senderMac: string, src = senderMac) => arpFrame({ op: 1, src, senderMac, senderIp: TARGET_IP, targetIp: TARGET_IP });
/** The target's reply to bng's request from `real` (unicast to bng's MAC). */
const replyToBng = (senderMac: string, to = REAL) => arpFrame({ op: 2, dst: OWN_MAC, src: senderMac, senderMac, senderIp: TARGET_IP, targetMac: OWN_MAC, targetIp: to });

const hex = (text: string) => mac(text);

describe("neighbour hygiene", () => {
  test("broadcast, multicast, zero or bng's own MAC as an ARP sender is never taken for a target's MAC (bad_arp_sender)", () => {
    const balancer = lab();
    for (const bad of [BROADCAST, "01:00:5e:00:00:fb", "00:00:00:00:00:00", OWN_MAC]) {
      const result = balancer.run(announcement(bad, ATTACKER_MAC), { pktType: PACKET_BROADCAST });
      expect(result.verdict).toBe(VERDICT_DROP);
      expect(DROP_REASONS[result.reason]).toBe("bad_arp_sender");
    }
    expect(balancer.neighbours.read(1)).toBeUndefined();
    expect(balancer.counters().drops.bad_arp_sender).toBe(4);
    // Once a MAC is known, a broadcast one does not even become a candidate.
    balancer.run(announcement(OLD_MAC), { pktType: PACKET_BROADCAST });
    balancer.run(announcement(BROADCAST, ATTACKER_MAC), { pktType: PACKET_BROADCAST });
    expect(balancer.neighbours.read(1)?.mac).toEqual(hex(OLD_MAC));
    expect(balancer.neighbours.readCandidate(1)).toBeUndefined();
  });

  test("a new MAC for a target that has one is a candidate only: it is adopted when the reply to bng's probe carries it", () => {
    const balancer = lab();
    expect(balancer.run(announcement(OLD_MAC), { pktType: PACKET_BROADCAST }).verdict).toBe(VERDICT_PASS);
    expect(balancer.neighbours.read(1)).toEqual({ mac: hex(OLD_MAC), sightings: 1 });
    balancer.run(announcement(NEW_MAC), { pktType: PACKET_BROADCAST });
    expect(balancer.neighbours.read(1)).toEqual({ mac: hex(OLD_MAC), sightings: 1 });
    expect(balancer.neighbours.readCandidate(1)).toEqual(hex(NEW_MAC));
    expect(balancer.neighbours.candidateSightings(1)).toBe(1);
    // A reply carrying it before bng asked, or to another address than the probe's, decides nothing.
    balancer.run(replyToBng(NEW_MAC));
    balancer.neighbours.beginProbe(1, ip(REAL));
    balancer.run(replyToBng(NEW_MAC, "10.0.0.77"));
    expect(balancer.neighbours.read(1)?.mac).toEqual(hex(OLD_MAC));
    expect(balancer.neighbours.probing(1)).toBe(true);
    // The reply to the probe carries the candidate: adopted, the probe ends.
    balancer.run(replyToBng(NEW_MAC));
    expect(balancer.neighbours.read(1)).toEqual({ mac: hex(NEW_MAC), sightings: 2 });
    expect(balancer.neighbours.readCandidate(1)).toBeUndefined();
    expect(balancer.neighbours.probing(1)).toBe(false);
    const events = balancer.counters().events;
    expect([events.neighbour_candidates, events.neighbour_confirmed, events.neighbour_refuted]).toEqual([3, 1, 0]);
  });

  test("a probe answered with the MAC bng has refutes the candidate (a forged announcement changes nothing)", () => {
    const balancer = lab();
    balancer.run(announcement(OLD_MAC), { pktType: PACKET_BROADCAST });
    balancer.run(announcement(ATTACKER_MAC), { pktType: PACKET_BROADCAST });
    balancer.neighbours.beginProbe(1, ip(REAL));
    balancer.run(replyToBng(OLD_MAC));
    expect(balancer.neighbours.read(1)).toEqual({ mac: hex(OLD_MAC), sightings: 2 });
    expect(balancer.neighbours.readCandidate(1)).toBeUndefined();
    expect(balancer.neighbours.probing(1)).toBe(false);
    expect(balancer.counters().events.neighbour_refuted).toBe(1);
  });

  test("a target answering ARP for a VIP (DSR without arp_ignore) is counted per target, with the VIP", () => {
    const balancer = lab();
    // Target 1's MAC is in the forwarding table (the control side learned it); here it answers a station's ARP for the VIP.
    const targetAnswers = arpFrame({ op: 2, dst: "02:00:00:00:aa:01", src: targetMac(1), senderMac: targetMac(1), senderIp: VIP, targetMac: "02:00:00:00:aa:01", targetIp: "10.0.0.50" });
    expect(balancer.run(targetAnswers).verdict).toBe(VERDICT_PASS);
    expect(balancer.run(targetAnswers).verdict).toBe(VERDICT_PASS);
    expect(balancer.neighbours.vipAnswers(1)).toBe(2);
    expect(balancer.neighbours.lastVipAnswered(1)).toBe(ip(VIP));
    expect(balancer.neighbours.vipAnswers(2)).toBe(0);
    // Anyone else answering for the VIP is not a target's misconfiguration.
    balancer.run(arpFrame({ op: 2, dst: "02:00:00:00:aa:01", src: ATTACKER_MAC, senderMac: ATTACKER_MAC, senderIp: VIP, targetIp: "10.0.0.50" }));
    expect(balancer.counters().events.target_vip_arp).toBe(2);
  });
});
