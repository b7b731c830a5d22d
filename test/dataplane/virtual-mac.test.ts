// A VRRP master answers with the virtual MAC, which the interface accepts through a membership
// while the kernel marks its frames PACKET_OTHERHOST: bng takes those to its own (table) MAC and
// no other.
import { describe, expect, test } from "bun:test";
import * as C from "../../src/dataplane/counters.ts";
import { VERDICT_FORWARD, VERDICT_PASS } from "../../src/dataplane/process.ts";
import { config } from "../fixtures/config.ts";
import { CLIENT_MAC, Lab, OWN_MAC, targetMac } from "../fixtures/dataplane.ts";
import { TCP_SYN, tcpFrame, withMacs } from "../fixtures/frames.ts";
import { PACKET_OTHERHOST } from "../fixtures/memory-io.ts";

const VIP = "10.0.0.10";

describe("frames to the table's own MAC", () => {
  test("PACKET_OTHERHOST to the table's MAC is forwarded; to any other MAC it is left alone", () => {
    const lab = new Lab(config([{ id: 1, ipaddr: VIP, port: 80, targets: [1] }], [{ id: 1, ipaddr: "10.0.0.101" }]));
    const syn = (dst: string) => tcpFrame({ src: CLIENT_MAC, dst, srcIp: "192.0.2.7", dstIp: VIP, srcPort: 41000, dstPort: 80, flags: TCP_SYN });
    const toUs = lab.run(syn(OWN_MAC), { pktType: PACKET_OTHERHOST });
    expect(toUs.verdict).toBe(VERDICT_FORWARD);
    expect(toUs.sent).toEqual([withMacs(syn(OWN_MAC), targetMac(1), OWN_MAC)]);
    const toOther = lab.run(syn("02:00:00:00:99:99"), { pktType: PACKET_OTHERHOST });
    expect(toOther.verdict).toBe(VERDICT_PASS);
    expect(toOther.reason).toBe(C.PASS.packet_type);
  });
});
