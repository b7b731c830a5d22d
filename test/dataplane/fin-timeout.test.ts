// TCP FIN or RST from the client (issue 19): its session's remaining idle time becomes `set
// fintimeout` (default 10 s), as IPVS does, so closed connections do not hold sessions for the
// full idle timeout; a new SYN gives the session its server's timeout back.

import { describe, expect, test } from "bun:test";
import type { Config } from "../../src/config/model.ts";
import { config } from "../fixtures/config.ts";
import { CLIENT_MAC, EPOCH_MS, Lab, OWN_MAC, targetMac } from "../fixtures/dataplane.ts";
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, mac, tcpFrame, udpFrame } from "../fixtures/frames.ts";

const VIP = "10.0.0.10";
const CLIENT = "192.0.2.7";

function labConfig(finTimeoutS = 10, serverTimeoutS = 600): Config {
  const base = config([{ id: 1, ipaddr: VIP, port: 80, targets: [1, 2], timeoutS: serverTimeoutS }, { id: 2, ipaddr: VIP, port: 53, protocol: "udp", targets: [1, 2] }], [{ id: 1, ipaddr: "10.0.0.101" }, { id: 2, ipaddr: "10.0.0.102" }]);
  return { ...base, settings: { ...base.settings, finTimeoutS } };
}

const segment = (flags: number, srcPort = 40000) => tcpFrame({ src: CLIENT_MAC, dst: OWN_MAC, srcIp: CLIENT, dstIp: VIP, srcPort, dstPort: 80, flags });

/** The target id the frame went to (by its destination MAC), or undefined when nothing was sent. */
function targetOf(lab: Lab, frame: Uint8Array): number | undefined {
  const sent = lab.run(frame).sent[0];
  if (sent === undefined) return undefined;
  return [1, 2].find((id) => Buffer.from(sent.subarray(0, 6)).equals(mac(targetMac(id)))) ?? -1;
}

const at = (lab: Lab, seconds: number) => {
  lab.nowMs = EPOCH_MS + seconds * 1000;
};

describe("fintimeout", () => {
  for (const [name, flags] of [["FIN", TCP_FIN | TCP_ACK], ["RST", TCP_RST]] as const) {
    test(`after the client's ${name} the session ends 10 idle seconds later; a new SYN may then be re-balanced`, () => {
      const lab = new Lab(labConfig());
      expect(targetOf(lab, segment(TCP_SYN))).toBe(1);
      at(lab, 100);
      expect(targetOf(lab, segment(TCP_ACK))).toBe(1);
      expect(targetOf(lab, segment(flags))).toBe(1);
      expect(lab.counters().events.sessions_closed).toBe(1);
      expect(lab.sessions.list(100)[0]?.timeoutS).toBe(10);
      // Still the session's within the 10 s (the client's last ACK of the close, say)...
      at(lab, 109);
      expect(targetOf(lab, segment(TCP_ACK))).toBe(1);
      // ...and that packet did not give it its 600 s back: 10 s after it, it is gone.
      at(lab, 119);
      expect(lab.sessions.sweep(119)).toBe(1);
      expect(targetOf(lab, segment(TCP_SYN, 40001))).toBe(2);
    });
  }

  test("a new SYN while the session is closing gives it its server's timeout back", () => {
    const lab = new Lab(labConfig());
    expect(targetOf(lab, segment(TCP_SYN))).toBe(1);
    expect(targetOf(lab, segment(TCP_FIN | TCP_ACK))).toBe(1);
    at(lab, 5);
    expect(targetOf(lab, segment(TCP_SYN, 40001))).toBe(1);
    expect(lab.sessions.list(5)[0]?.timeoutS).toBe(600);
    at(lab, 300);
    expect(targetOf(lab, segment(TCP_ACK, 40001))).toBe(1);
    expect(lab.sessions.sweep(300)).toBe(0);
  });

  test("`set fintimeout` sets the time; a server whose idle timeout is shorter keeps the shorter one", () => {
    const short = new Lab(labConfig(3));
    targetOf(short, segment(TCP_SYN));
    targetOf(short, segment(TCP_FIN | TCP_ACK));
    at(short, 2);
    expect(targetOf(short, segment(TCP_ACK))).toBe(1);
    at(short, 5);
    expect(targetOf(short, segment(TCP_SYN, 40001))).toBe(2);

    const quick = new Lab(labConfig(10, 4));
    targetOf(quick, segment(TCP_SYN));
    targetOf(quick, segment(TCP_FIN | TCP_ACK));
    expect(quick.sessions.list(0)[0]?.timeoutS).toBe(4);
  });

  test("a FIN as a client's first packet makes a closing session; UDP sessions are never shortened", () => {
    const lab = new Lab(labConfig());
    expect(targetOf(lab, segment(TCP_FIN | TCP_ACK))).toBe(1);
    expect(lab.sessions.list(0)[0]?.timeoutS).toBe(10);
    const datagram = udpFrame({ src: CLIENT_MAC, dst: OWN_MAC, srcIp: CLIENT, dstIp: VIP, srcPort: 40000, dstPort: 53, payload: new Uint8Array([0x01, 0x05]) });
    lab.run(datagram);
    const udpSession = lab.sessions.list(0).find((session) => session.serverId === 2);
    expect(udpSession?.timeoutS).toBe(600);
    expect(lab.counters().events.sessions_closed).toBe(1);
  });
});
