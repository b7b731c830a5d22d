// ICMP errors to a VIP (issue 19, PMTU black hole): a destination unreachable or time exceeded
// about a target's reply to a client goes, unchanged but for its MACs, to the target of that
// client's session; without a session, or with a quote bng cannot read, it is dropped and counted.

import { describe, expect, test } from "bun:test";
import { DROP_REASONS } from "../../src/dataplane/counters.ts";
import { VERDICT_DROP, VERDICT_FORWARD } from "../../src/dataplane/process.ts";
import { config } from "../fixtures/config.ts";
import { CLIENT_MAC, EPOCH_MS, Lab, OWN_MAC, targetMac } from "../fixtures/dataplane.ts";
import { TCP_ACK, TCP_SYN, icmpErrorFrame, icmpFrame, quotedPacket, tcpFrame, udpFrame, withMacs, type IcmpErrorOptions } from "../fixtures/frames.ts";

const VIP = "10.0.0.10";
const ROUTER = "10.0.0.254";
const ROUTER_MAC = "02:00:00:00:ee:01";
const CLIENT = "192.0.2.7";
const OTHER_CLIENT = "192.0.2.8";

function labConfig() {
  return config(
    [
      { id: 1, ipaddr: VIP, port: 80, targets: [1, 2] },
      { id: 2, ipaddr: VIP, port: 53, protocol: "udp", targets: [3] },
      { id: 3, ipaddr: VIP, port: 8443, targets: [1, 2], persistence: "clientport", timeoutS: 30 },
      { id: 4, ipaddr: VIP, port: 443, targets: [1], enabled: false },
    ],
    [
      { id: 1, ipaddr: "10.0.0.101" },
      { id: 2, ipaddr: "10.0.0.102" },
      { id: 3, ipaddr: "10.0.0.103", port: 53 },
    ],
  );
}

const syn = (srcIp = CLIENT, srcPort = 40000, dstPort = 80) =>
  tcpFrame({ src: CLIENT_MAC, dst: OWN_MAC, srcIp, dstIp: VIP, srcPort, dstPort, flags: TCP_SYN });

/** A target's DSR reply to the client: from the VIP, 1400 bytes of payload, DF as Linux sets it. */
function targetReply(target: number, clientIp = CLIENT, clientPort = 40000, serverPort = 80): Uint8Array {
  return tcpFrame({ src: targetMac(target), dst: ROUTER_MAC, srcIp: VIP, dstIp: clientIp, srcPort: serverPort, dstPort: clientPort, flags: TCP_ACK, payload: new Uint8Array(1400).fill(0x42) });
}

/** What a router sends the VIP about `offending`: Linux quotes up to 576 bytes of the packet. */
function icmpError(offending: Uint8Array, extra: Partial<IcmpErrorOptions> = {}): Uint8Array {
  return icmpErrorFrame({ src: ROUTER_MAC, dst: OWN_MAC, srcIp: ROUTER, dstIp: VIP, type: 3, code: 4, rest: 1280, quoted: quotedPacket(offending, 548), ...extra });
}

function dropReason(lab: Lab, frame: Uint8Array): string | undefined {
  const result = lab.run(frame);
  expect(result.sent).toEqual([]);
  return result.verdict === VERDICT_DROP ? DROP_REASONS[result.reason] : `verdict ${result.verdict}`;
}

describe("ICMP errors to a VIP", () => {
  test("fragmentation needed about a target's reply goes to the target of the client's session, unchanged but for the MACs", () => {
    const lab = new Lab(labConfig());
    expect(lab.run(syn()).sent).toEqual([withMacs(syn(), targetMac(1), OWN_MAC)]);
    expect(lab.run(syn(OTHER_CLIENT)).sent).toEqual([withMacs(syn(OTHER_CLIENT), targetMac(2), OWN_MAC)]);
    for (const [client, target] of [[CLIENT, 1], [OTHER_CLIENT, 2]] as const) {
      const frame = icmpError(targetReply(target, client));
      const result = lab.run(frame);
      expect(result.verdict).toBe(VERDICT_FORWARD);
      expect(result.sent).toEqual([withMacs(frame, targetMac(target), OWN_MAC)]);
    }
    const counters = lab.counters();
    expect(counters.events.icmp_errors_forwarded).toBe(2);
    expect(counters.events.forwarded).toBe(4);
    expect(counters.targets.get(2)?.packets).toBe(2);
  });

  test("every destination-unreachable code and both time-exceeded codes are forwarded, with the shortest quote RFC 792 allows", () => {
    const lab = new Lab(labConfig());
    lab.run(syn());
    const codes = [...Array.from({ length: 16 }, (_, code) => [3, code]), [11, 0], [11, 1]] as const;
    for (const [type, code] of codes) {
      const frame = icmpError(targetReply(1), { type, code, rest: 0, quoted: quotedPacket(targetReply(1), 28) });
      expect(lab.run(frame).sent).toEqual([withMacs(frame, targetMac(1), OWN_MAC)]);
    }
    expect(lab.counters().events.icmp_errors_forwarded).toBe(codes.length);
  });

  test("an error about a UDP reply follows the UDP server's session; a clientport server's, the session of that client port", () => {
    const lab = new Lab(labConfig());
    const query = udpFrame({ src: CLIENT_MAC, dst: OWN_MAC, srcIp: CLIENT, dstIp: VIP, srcPort: 5353, dstPort: 53, payload: new Uint8Array(12) });
    lab.run(query);
    const answer = udpFrame({ src: targetMac(3), dst: ROUTER_MAC, srcIp: VIP, dstIp: CLIENT, srcPort: 53, dstPort: 5353, payload: new Uint8Array(900) });
    const portUnreachable = icmpError(answer, { code: 3, rest: 0 });
    expect(lab.run(portUnreachable).sent).toEqual([withMacs(portUnreachable, targetMac(3), OWN_MAC)]);

    expect(lab.run(syn(CLIENT, 41000, 8443)).sent).toEqual([withMacs(syn(CLIENT, 41000, 8443), targetMac(1), OWN_MAC)]);
    expect(lab.run(syn(CLIENT, 41001, 8443)).sent).toEqual([withMacs(syn(CLIENT, 41001, 8443), targetMac(2), OWN_MAC)]);
    const aboutSecond = icmpError(targetReply(2, CLIENT, 41001, 8443));
    expect(lab.run(aboutSecond).sent).toEqual([withMacs(aboutSecond, targetMac(2), OWN_MAC)]);
    expect(dropReason(lab, icmpError(targetReply(2, CLIENT, 41002, 8443)))).toBe("icmp_error_no_session");
  });

  test("without a session for the quoted client, server port or protocol, the error is dropped as icmp_error_no_session", () => {
    const lab = new Lab(labConfig());
    lab.run(syn());
    expect(dropReason(lab, icmpError(targetReply(1, OTHER_CLIENT)))).toBe("icmp_error_no_session");
    expect(dropReason(lab, icmpError(targetReply(1, CLIENT, 40000, 81)))).toBe("icmp_error_no_session");
    expect(dropReason(lab, icmpError(targetReply(1, CLIENT, 40000, 443)))).toBe("icmp_error_no_session");
    const udpAbout80 = udpFrame({ src: targetMac(1), dst: ROUTER_MAC, srcIp: VIP, dstIp: CLIENT, srcPort: 80, dstPort: 40000 });
    expect(dropReason(lab, icmpError(udpAbout80))).toBe("icmp_error_no_session");
    expect(lab.counters().drops.icmp_error_no_session).toBe(4);
  });

  test("a quote that is cut short, not from the VIP, of a later fragment or of neither TCP nor UDP is dropped as icmp_error_malformed", () => {
    const lab = new Lab(labConfig());
    lab.run(syn());
    const reply = targetReply(1);
    const laterFragment = tcpFrame({ src: targetMac(1), dst: ROUTER_MAC, srcIp: VIP, dstIp: CLIENT, srcPort: 80, dstPort: 40000, flags: TCP_ACK, fragmentOffset: 185 });
    const fromElsewhere = tcpFrame({ src: targetMac(1), dst: ROUTER_MAC, srcIp: "10.0.0.101", dstIp: CLIENT, srcPort: 80, dstPort: 40000, flags: TCP_ACK });
    const echoReply = icmpFrame({ src: targetMac(1), dst: ROUTER_MAC, srcIp: VIP, dstIp: CLIENT, type: 0 });
    const badVersion = quotedPacket(reply, 28);
    badVersion[0] = 0x65;
    const badIhl = quotedPacket(reply, 28);
    badIhl[0] = 0x44;
    const withOptions = tcpFrame({ src: targetMac(1), dst: ROUTER_MAC, srcIp: VIP, dstIp: CLIENT, srcPort: 80, dstPort: 40000, flags: TCP_ACK, ipOptions: new Uint8Array([1, 1, 1, 0]) });
    const quotes = [
      new Uint8Array(0),
      quotedPacket(reply, 19),
      quotedPacket(reply, 27),
      quotedPacket(withOptions, 31),
      quotedPacket(fromElsewhere, 28),
      quotedPacket(laterFragment, 28),
      quotedPacket(echoReply, 28),
      badVersion,
      badIhl,
    ];
    for (const quoted of quotes) expect(dropReason(lab, icmpError(reply, { quoted }))).toBe("icmp_error_malformed");
    // A quoted header with options is fine when the 8 bytes after it are there.
    const withOptionsWhole = icmpError(withOptions, { quoted: quotedPacket(withOptions, 32) });
    expect(lab.run(withOptionsWhole).sent).toEqual([withMacs(withOptionsWhole, targetMac(1), OWN_MAC)]);
    expect(lab.counters().drops.icmp_error_malformed).toBe(quotes.length);
  });

  test("an error neither refreshes the client's session nor keeps it alive", () => {
    const lab = new Lab(labConfig());
    lab.run(syn());
    lab.nowMs = EPOCH_MS + 599_000;
    expect(lab.run(icmpError(targetReply(1))).verdict).toBe(VERDICT_FORWARD);
    lab.nowMs = EPOCH_MS + 600_000;
    expect(lab.sessions.find(1, 0xc0000207, 0, 600, 600)).toBe(-1);
    expect(dropReason(lab, icmpError(targetReply(1)))).toBe("icmp_error_no_session");
  });

  test("other ICMP types to a VIP are still dropped as icmp_not_echo", () => {
    const lab = new Lab(labConfig());
    lab.run(syn());
    for (const type of [4, 5, 12, 13, 0]) {
      expect(dropReason(lab, icmpError(targetReply(1), { type, code: 0 }))).toBe("icmp_not_echo");
    }
  });
});
