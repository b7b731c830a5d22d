// Katran-style fixture cases: each case sends frames through one worker's pure data plane (an
// in-memory PacketIO) and compares the verdict, the reason and every output byte.

import { describe, expect, test } from "bun:test";
import { DROP_REASONS, PASS_REASONS, type DropReason, type PassReason } from "../../src/dataplane/counters.ts";
import { VERDICT_DROP, VERDICT_FORWARD, VERDICT_PASS, VERDICT_REPLY } from "../../src/dataplane/process.ts";
import { config } from "../fixtures/config.ts";
import {
  TCP_ACK,
  TCP_FIN,
  TCP_SYN,
  arpFrame,
  concat,
  ethernet,
  icmpFrame,
  internetChecksum,
  ip,
  ipv4Frame,
  tcpFrame,
  udpFrame,
  withMacs,
  type TcpOptions,
} from "../fixtures/frames.ts";
import { CLIENT_MAC, Lab, OWN_MAC, targetMac } from "../fixtures/dataplane.ts";
import { FRAME_CSUM_NOT_READY, FRAME_TRUNCATED, FRAME_VLAN_STRIPPED } from "../../src/dataplane/packet-io.ts";
import { PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OTHERHOST, PACKET_OUTGOING } from "../fixtures/memory-io.ts";

const VIP = "10.0.0.10";
const VIP_ALL_PORTS = "10.0.0.11";
const VIP_DEAD = "10.0.0.12";
const VIP_DISABLED = "10.0.0.13";
const CLIENT = "192.0.2.7";

function labConfig() {
  return config(
    [
      { id: 1, ipaddr: VIP, port: 80, targets: [1, 2] },
      { id: 2, ipaddr: VIP, port: 53, protocol: "udp", targets: [3] },
      { id: 3, ipaddr: VIP, port: 443, targets: [1], enabled: false },
      { id: 4, ipaddr: VIP_ALL_PORTS, port: 0, targets: [4], method: "first" },
      { id: 5, ipaddr: VIP_DEAD, port: 80, targets: [5] },
      { id: 6, ipaddr: VIP_DISABLED, port: 80, targets: [1], enabled: false },
    ],
    [
      { id: 1, ipaddr: "10.0.0.101" },
      { id: 2, ipaddr: "10.0.0.102" },
      { id: 3, ipaddr: "10.0.0.103", port: 53 },
      { id: 4, ipaddr: "10.0.0.104" },
      { id: 5, ipaddr: "10.0.0.105" },
    ],
  );
}

type Expected =
  | { verdict: "forward" | "reply"; out: Uint8Array }
  | { verdict: "drop"; reason: DropReason }
  | { verdict: "pass"; reason: PassReason };

interface Step {
  frame: Uint8Array;
  pktType?: number;
  flags?: number;
  expect: Expected;
}

interface Case {
  description: string;
  steps: Step[];
  /** Extra assertions on the lab after the steps (learned MACs, counters). */
  after?: (lab: Lab) => void;
}

const syn = (extra: Partial<TcpOptions> = {}): TcpOptions => ({
  src: CLIENT_MAC,
  dst: OWN_MAC,
  srcIp: CLIENT,
  dstIp: VIP,
  srcPort: 40000,
  dstPort: 80,
  flags: TCP_SYN,
  ...extra,
});

const forwardedTo = (targetId: number, frame: Uint8Array): Expected => ({
  verdict: "forward",
  out: withMacs(frame, targetMac(targetId), OWN_MAC),
});
const drop = (reason: DropReason): Expected => ({ verdict: "drop", reason });
const pass = (reason: PassReason): Expected => ({ verdict: "pass", reason });

function one(description: string, frame: Uint8Array, expect: Expected, extra: Partial<Step> = {}): Case {
  return { description, steps: [{ frame, expect, ...extra }] };
}

function arpRequestFor(targetIp: string, extra: Partial<Parameters<typeof arpFrame>[0]> = {}): Uint8Array {
  return arpFrame({ op: 1, senderMac: CLIENT_MAC, senderIp: CLIENT, targetIp, ...extra });
}

function arpReplyFrom(vip: string): Uint8Array {
  return arpFrame({
    op: 2,
    dst: CLIENT_MAC,
    src: OWN_MAC,
    senderMac: OWN_MAC,
    senderIp: vip,
    targetMac: CLIENT_MAC,
    targetIp: CLIENT,
  });
}

const echoPayload = new TextEncoder().encode("bng ping payload, odd length.");

function echo(type: number, from: string, to: string, ethSrc: string, ethDst: string, payload = echoPayload): Uint8Array {
  return icmpFrame({ src: ethSrc, dst: ethDst, srcIp: from, dstIp: to, type, identifier: 77, sequence: 5, payload });
}

/** A TCP or UDP frame whose segment checksums to zero with its pseudo-header: a correct checksum. */
function l4ChecksumIsValid(frame: Uint8Array): boolean {
  const ihl = (frame[14]! & 15) * 4;
  const totalLength = (frame[16]! << 8) | frame[17]!;
  const segment = frame.slice(14 + ihl, 14 + totalLength);
  const pseudo = new Uint8Array([...frame.slice(26, 34), 0, frame[23]!, segment.length >>> 8, segment.length & 255]);
  return internetChecksum(concat(pseudo, segment)) === 0;
}

const cases: Case[] = [
  one("ARP request for a VIP is answered with the own MAC", arpRequestFor(VIP), {
    verdict: "reply",
    out: arpReplyFrom(VIP),
  }),
  one("ARP request for an every-port VIP is answered", arpRequestFor(VIP_ALL_PORTS), {
    verdict: "reply",
    out: arpReplyFrom(VIP_ALL_PORTS),
  }),
  one(
    "broadcast ARP request (PACKET_BROADCAST) for a VIP is answered",
    arpRequestFor(VIP),
    { verdict: "reply", out: arpReplyFrom(VIP) },
    { pktType: PACKET_BROADCAST },
  ),
  one("ARP request for another address is left to the kernel", arpRequestFor("10.0.0.200"), pass("arp")),
  one("ARP request for the real address is left to the kernel", arpRequestFor("10.0.0.252"), pass("arp")),
  one("ARP request for a VIP of only disabled servers is not answered", arpRequestFor(VIP_DISABLED), pass("arp")),
  one(
    "gratuitous ARP for a VIP from another host is not answered",
    arpFrame({ op: 1, senderMac: CLIENT_MAC, senderIp: VIP, targetIp: VIP }),
    pass("arp"),
  ),
  {
    description: "gratuitous ARP from a target records its MAC",
    steps: [
      {
        frame: arpFrame({ op: 1, senderMac: "02:00:00:00:cc:01", senderIp: "10.0.0.101", targetIp: "10.0.0.101" }),
        expect: pass("arp"),
      },
    ],
    after: (lab) => expect(lab.neighbours.read(1)?.mac).toEqual(new Uint8Array([2, 0, 0, 0, 0xcc, 1])),
  },
  {
    description: "ARP reply from a target records its MAC; others are untouched",
    steps: [
      {
        frame: arpFrame({
          op: 2,
          dst: OWN_MAC,
          senderMac: "02:00:00:00:cc:02",
          senderIp: "10.0.0.102",
          targetMac: OWN_MAC,
          targetIp: "10.0.0.252",
        }),
        expect: pass("arp"),
      },
    ],
    after: (lab) => {
      expect(lab.neighbours.read(2)).toEqual({ mac: new Uint8Array([2, 0, 0, 0, 0xcc, 2]), sightings: 1 });
      expect(lab.neighbours.sightings(2)).toBe(1);
      expect(lab.neighbours.read(1)).toBeUndefined();
      expect(lab.neighbours.sightings(1)).toBe(0);
    },
  },
  one("ARP frame cut short of the ARP header is dropped", arpRequestFor(VIP).slice(0, 41), drop("short_arp")),
  one(
    "ARP for a non-Ethernet hardware type is left to the kernel",
    (() => {
      const frame = arpRequestFor(VIP);
      frame[15] = 6;
      return frame;
    })(),
    pass("arp"),
  ),
  one("ICMP echo request to a VIP gets an echo reply", echo(8, CLIENT, VIP, CLIENT_MAC, OWN_MAC), {
    verdict: "reply",
    out: echo(0, VIP, CLIENT, OWN_MAC, CLIENT_MAC),
  }),
  one(
    "ICMP echo request with Ethernet padding gets a reply without the padding",
    ipv4Frame({ src: CLIENT_MAC, dst: OWN_MAC, srcIp: CLIENT, dstIp: VIP, padding: 18 }, 1, echo(8, CLIENT, VIP, CLIENT_MAC, OWN_MAC, new Uint8Array(0)).slice(34)),
    { verdict: "reply", out: echo(0, VIP, CLIENT, OWN_MAC, CLIENT_MAC, new Uint8Array(0)) },
  ),
  one("ICMP echo request to another address is left to the kernel", echo(8, CLIENT, "10.0.0.200", CLIENT_MAC, OWN_MAC), pass("not_vip")),
  one("ICMP destination unreachable to a VIP is dropped", echo(3, CLIENT, VIP, CLIENT_MAC, OWN_MAC), drop("icmp_not_echo")),
  one("ICMP echo to a VIP of only disabled servers is dropped", echo(8, CLIENT, VIP_DISABLED, CLIENT_MAC, OWN_MAC), drop("server_disabled")),
  one(
    "ICMP message shorter than its header is dropped",
    ipv4Frame({ src: CLIENT_MAC, dst: OWN_MAC, srcIp: CLIENT, dstIp: VIP }, 1, new Uint8Array([8, 0, 0, 0])),
    drop("short_icmp"),
  ),
  one("TCP SYN to VIP:80 goes to the first target", tcpFrame(syn()), forwardedTo(1, tcpFrame(syn()))),
  one("TCP ACK with payload to VIP:80 is forwarded", tcpFrame(syn({ flags: TCP_ACK, payload: new Uint8Array(100).fill(7) })), forwardedTo(1, tcpFrame(syn({ flags: TCP_ACK, payload: new Uint8Array(100).fill(7) })))),
  one("TCP FIN to VIP:80 is forwarded", tcpFrame(syn({ flags: TCP_FIN | TCP_ACK })), forwardedTo(1, tcpFrame(syn({ flags: TCP_FIN | TCP_ACK })))),
  one("a padded 60-byte frame keeps its padding", tcpFrame(syn({ padding: 6 })), forwardedTo(1, tcpFrame(syn({ padding: 6 })))),
  {
    description: "SYN, ACK and FIN of one client all go to its session's target",
    steps: [TCP_SYN, TCP_ACK, TCP_FIN | TCP_ACK].map((flags) => ({
      frame: tcpFrame(syn({ flags })),
      expect: forwardedTo(1, tcpFrame(syn({ flags }))),
    })),
  },
  one(
    "UDP to VIP:53 goes to the UDP server's target",
    udpFrame({ ...syn(), dstPort: 53, payload: new Uint8Array([1, 2, 3]) }),
    forwardedTo(3, udpFrame({ ...syn(), dstPort: 53, payload: new Uint8Array([1, 2, 3]) })),
  ),
  one("TCP to a VIP port with no server is dropped", tcpFrame(syn({ dstPort: 81 })), drop("no_server")),
  one("UDP to a VIP port served only over TCP is dropped", udpFrame({ ...syn(), dstPort: 80 }), drop("no_server")),
  one("TCP to a disabled server is dropped", tcpFrame(syn({ dstPort: 443 })), drop("server_disabled")),
  one(
    "TCP to any port of an every-port server is forwarded",
    tcpFrame(syn({ dstIp: VIP_ALL_PORTS, dstPort: 8080 })),
    forwardedTo(4, tcpFrame(syn({ dstIp: VIP_ALL_PORTS, dstPort: 8080 }))),
  ),
  one("TCP to a server whose only target is down is dropped", tcpFrame(syn({ dstIp: VIP_DEAD })), drop("no_target")),
  one("TCP to another address is left to the kernel", tcpFrame(syn({ dstIp: "10.0.0.200" })), pass("not_vip")),
  one("an IPv6 frame is left to the kernel", ethernet({ src: CLIENT_MAC }, 0x86dd, new Uint8Array(40)), pass("not_ipv4")),
  one("a frame shorter than an Ethernet header is dropped", tcpFrame(syn()).slice(0, 13), drop("short_ethernet")),
  one("a frame cut after the Ethernet header is dropped", tcpFrame(syn()).slice(0, 14), drop("short_ipv4")),
  one("a frame cut inside the IPv4 header is dropped", tcpFrame(syn()).slice(0, 30), drop("short_ipv4")),
  one("a frame cut after the IPv4 header is dropped", tcpFrame(syn()).slice(0, 34), drop("bad_total_length")),
  one("a frame cut inside the TCP header is dropped", tcpFrame(syn()).slice(0, 50), drop("bad_total_length")),
  one(
    "a TCP segment shorter than a TCP header is dropped",
    ipv4Frame({ ...syn() }, 6, new Uint8Array([0x9c, 0x40, 0, 80, 0, 0, 0, 0, 0, 0])),
    drop("short_tcp"),
  ),
  one(
    "a UDP segment shorter than a UDP header is dropped",
    ipv4Frame({ ...syn() }, 17, new Uint8Array([0x9c, 0x40, 0, 53])),
    drop("short_udp"),
  ),
  one("IHL below 5 is dropped", tcpFrame(syn({ ihl: 4 })), drop("bad_ihl")),
  one("IP options are dropped", tcpFrame(syn({ ipOptions: new Uint8Array([1, 1, 1, 0]) })), drop("ip_options")),
  one("a total length beyond the frame is dropped", tcpFrame(syn({ totalLength: 1000 })), drop("bad_total_length")),
  one("a total length below the header is dropped", tcpFrame(syn({ totalLength: 12 })), drop("bad_total_length")),
  one("an IPv4 ethertype with version 6 is dropped", tcpFrame(syn({ version: 6 })), drop("bad_version")),
  one("GRE to a VIP is dropped", ipv4Frame({ ...syn() }, 47, new Uint8Array(8)), drop("unsupported_protocol")),
  one(
    "a first fragment (MF, offset 0) is forwarded like any frame",
    tcpFrame(syn({ moreFragments: true })),
    forwardedTo(1, tcpFrame(syn({ moreFragments: true }))),
  ),
  one(
    "a later fragment without a session is dropped",
    ipv4Frame({ ...syn(), fragmentOffset: 3 }, 6, new Uint8Array(24)),
    drop("fragment_unmapped"),
  ),
  {
    description: "a later fragment follows the session its first fragment created",
    steps: [
      {
        frame: tcpFrame(syn({ dstIp: VIP_ALL_PORTS, moreFragments: true })),
        expect: forwardedTo(4, tcpFrame(syn({ dstIp: VIP_ALL_PORTS, moreFragments: true }))),
      },
      {
        frame: ipv4Frame({ ...syn(), dstIp: VIP_ALL_PORTS, fragmentOffset: 3 }, 6, new Uint8Array(24)),
        expect: forwardedTo(4, ipv4Frame({ ...syn(), dstIp: VIP_ALL_PORTS, fragmentOffset: 3 }, 6, new Uint8Array(24))),
      },
    ],
  },
  one(
    "a later UDP fragment to the VIP's only UDP server, without a session, is dropped",
    ipv4Frame({ ...syn(), fragmentOffset: 3 }, 17, new Uint8Array(24)),
    drop("fragment_unmapped"),
  ),
  {
    description: "a later TCP fragment to a VIP with several TCP servers is unmappable even with a session",
    steps: [
      { frame: tcpFrame(syn()), expect: forwardedTo(1, tcpFrame(syn())) },
      { frame: ipv4Frame({ ...syn(), fragmentOffset: 9 }, 6, new Uint8Array(8)), expect: drop("fragment_unmapped") },
    ],
  },
  one("a VLAN-tagged TCP frame to a VIP is left to the kernel", tcpFrame(syn({ vlan: 100 })), pass("vlan")),
  one("a VLAN-tagged ARP request for a VIP is left to the kernel", arpRequestFor(VIP, { vlan: 100 }), pass("vlan")),
  one("a TCP frame whose VLAN tag the NIC stripped is left to the kernel", tcpFrame(syn()), pass("vlan"), { flags: FRAME_VLAN_STRIPPED }),
  one("an ARP request whose VLAN tag the NIC stripped is not answered", arpRequestFor(VIP), pass("vlan"), { flags: FRAME_VLAN_STRIPPED }),
  one("a frame from our own MAC is dropped", tcpFrame(syn({ src: OWN_MAC })), drop("from_self")),
  one("an outgoing frame is ignored", tcpFrame(syn()), pass("packet_type"), { pktType: PACKET_OUTGOING }),
  one("an other-host frame (to another MAC) is ignored", tcpFrame(syn({ dst: "02:00:00:00:99:99" })), pass("packet_type"), { pktType: PACKET_OTHERHOST }),
  one("a multicast frame is ignored", tcpFrame(syn()), pass("packet_type"), { pktType: PACKET_MULTICAST }),
  one("a broadcast IPv4 frame is ignored", tcpFrame(syn()), pass("packet_type"), { pktType: PACKET_BROADCAST }),
  one(
    "a partial TCP checksum is completed",
    tcpFrame(syn({ flags: TCP_ACK, partialChecksum: true, payload: new Uint8Array(33).fill(0x5a) })),
    forwardedTo(1, tcpFrame(syn({ flags: TCP_ACK, payload: new Uint8Array(33).fill(0x5a) }))),
    { flags: FRAME_CSUM_NOT_READY },
  ),
  one(
    "a partial UDP checksum is completed",
    udpFrame({ ...syn(), dstPort: 53, partialChecksum: true, payload: new Uint8Array([9, 8, 7, 6, 5]) }),
    forwardedTo(3, udpFrame({ ...syn(), dstPort: 53, payload: new Uint8Array([9, 8, 7, 6, 5]) })),
    { flags: FRAME_CSUM_NOT_READY },
  ),
  one(
    "a truncated frame to a VIP (longer than its slot) is dropped",
    tcpFrame(syn({ flags: TCP_ACK, payload: new Uint8Array(64) })),
    drop("truncated"),
    { flags: FRAME_TRUNCATED },
  ),
  one("a truncated frame not for a VIP is left to the kernel", tcpFrame(syn({ dstIp: "10.0.0.200" })), pass("not_vip"), { flags: FRAME_TRUNCATED }),
  one(
    "an unflagged frame's checksum is left as it is, even if wrong",
    tcpFrame(syn({ partialChecksum: true })),
    forwardedTo(1, tcpFrame(syn({ partialChecksum: true }))),
  ),
];

const VERDICTS = { forward: VERDICT_FORWARD, reply: VERDICT_REPLY, drop: VERDICT_DROP, pass: VERDICT_PASS };

describe("data plane fixtures", () => {
  test("there are at least 40 cases", () => expect(cases.length).toBeGreaterThanOrEqual(40));

  for (const c of cases) {
    test(c.description, () => {
      const lab = new Lab(labConfig());
      lab.setTarget(5, "down");
      for (const step of c.steps) {
        const result = lab.run(step.frame, { pktType: step.pktType ?? 0, flags: step.flags ?? 0 });
        const expected = step.expect;
        expect(result.verdict).toBe(VERDICTS[expected.verdict]);
        if ("out" in expected) {
          expect(result.sent).toEqual([expected.out]);
        } else {
          expect(result.sent).toEqual([]);
          const names: readonly string[] = expected.verdict === "drop" ? DROP_REASONS : PASS_REASONS;
          expect(names[result.reason]).toBe(expected.reason);
        }
      }
      c.after?.(lab);
    });
  }

  test("all single-frame cases in one batch, in two orders, are decided exactly as one frame at a time in that order", () => {
    // The processor looks up each frame's VIP, server and session bucket for the whole batch
    // first and reuses them while deciding: a batch must come out as the same frames would
    // one by one (sessions and round robin then evolve the same way, so even targets match).
    const singles = cases.filter((c) => c.steps.length === 1).map((c) => c.steps[0]!);
    expect(singles.length).toBeLessThanOrEqual(64);
    const fresh = () => {
      const lab = new Lab(labConfig());
      lab.setTarget(5, "down");
      return lab;
    };
    for (const order of [singles, [...singles].reverse()]) {
      const oneByOne = fresh();
      const expected = order.map((step) => oneByOne.run(step.frame, { pktType: step.pktType ?? 0, flags: step.flags ?? 0 }));
      const batched = fresh();
      for (const step of order) batched.io.inject(step.frame, { pktType: step.pktType ?? 0, flags: step.flags ?? 0 });
      expect(batched.io.receive()).toBe(order.length);
      batched.processor.processBatch();
      batched.io.send();
      expect(order.map((_, slot) => [batched.processor.verdicts[slot], batched.processor.reasons[slot]])).toEqual(expected.map((e) => [e.verdict, e.reason]));
      expect(batched.io.sent).toEqual(expected.flatMap((e) => e.sent));
    }
  });

  test("completed checksums verify against the pseudo-header", () => {
    const lab = new Lab(labConfig());
    for (const payloadLength of [0, 1, 2, 57, 1400]) {
      const frame = tcpFrame(syn({ flags: TCP_ACK, partialChecksum: true, payload: new Uint8Array(payloadLength).fill(0xa5) }));
      expect(l4ChecksumIsValid(frame)).toBe(false);
      const { sent } = lab.run(frame, { flags: FRAME_CSUM_NOT_READY });
      expect(sent.length).toBe(1);
      expect(l4ChecksumIsValid(sent[0]!)).toBe(true);
    }
    expect(lab.counters().events.checksums_completed).toBe(5);
  });

  test("drops, passes and traffic are counted by reason, server and target", () => {
    const lab = new Lab(labConfig());
    const frame = tcpFrame(syn());
    lab.run(frame);
    lab.run(frame);
    lab.run(tcpFrame(syn({ dstPort: 81 })));
    lab.run(tcpFrame(syn({ dstIp: "10.0.0.200" })));
    const counters = lab.counters();
    expect(counters.events.frames).toBe(4);
    expect(counters.events.forwarded).toBe(2);
    expect(counters.servers.get(1)).toEqual({ packets: 2, bytes: 2 * frame.length });
    expect(counters.targets.get(1)).toEqual({ packets: 2, bytes: 2 * frame.length });
    expect(counters.drops.no_server).toBe(1);
    expect(counters.passes.not_vip).toBe(1);
    expect(ip(VIP)).toBe(0x0a00000a);
  });

  test("a batch of mixed frames is decided frame by frame into one tx batch; forwarded frames go out from their rx slots", () => {
    const lab = new Lab(labConfig());
    const frames = [tcpFrame(syn()), arpRequestFor(VIP), tcpFrame(syn({ dstPort: 81 })), tcpFrame(syn({ srcIp: "192.0.2.8" }))];
    for (const frame of frames) lab.io.inject(frame, { pktType: frame[0] === 0xff ? PACKET_BROADCAST : 0 });
    lab.io.receive();
    lab.processor.processBatch();
    lab.io.send();
    expect([...lab.processor.verdicts.slice(0, 4)]).toEqual([VERDICT_FORWARD, VERDICT_REPLY, VERDICT_DROP, VERDICT_FORWARD]);
    expect(lab.io.sent).toEqual([
      withMacs(frames[0]!, targetMac(1), OWN_MAC),
      arpReplyFrom(VIP),
      withMacs(frames[3]!, targetMac(2), OWN_MAC),
    ]);
    // Forwarded frames are rewritten in place and sent from the rx slot they arrived in (no
    // copy); the ARP reply bng writes is in the tx batch's own slot.
    expect([...lab.io.tx.rxSlots.slice(0, 3)]).toEqual([0, -1, 3]);
  });
});

