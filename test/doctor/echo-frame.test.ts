// bng doctor's echo frames, byte for byte against the test fixtures' frame builder.
import { describe, expect, test } from "bun:test";
import { ECHO_FRAME_LEN, readEchoReply, writeEchoRequest, type Echo } from "../../src/doctor/echo-frame.ts";
import { icmpFrame, ip, mac, tcpFrame, TCP_SYN } from "../fixtures/frames.ts";

const OWN_MAC = "02:00:00:00:00:fc";
const GATEWAY_MAC = "02:00:00:00:00:fe";
const blank = (): Echo => ({ srcIp: 0, dstIp: 0, identifier: 0, sequence: 0 });

describe("writeEchoRequest", () => {
  test("an echo request from the real address to the gateway's MAC: exactly the fixture's frame", () => {
    const frame = new Uint8Array(64).fill(0xee);
    const echo = { srcIp: ip("10.214.0.252"), dstIp: ip("10.214.0.254"), identifier: 0xbeef, sequence: 3 };
    expect(writeEchoRequest(frame, { dstMac: mac(GATEWAY_MAC), srcMac: mac(OWN_MAC), ipId: 0x4242 }, echo)).toBe(ECHO_FRAME_LEN);
    const expected = icmpFrame({ dst: GATEWAY_MAC, src: OWN_MAC, srcIp: "10.214.0.252", dstIp: "10.214.0.254", id: 0x4242, type: 8, identifier: 0xbeef, sequence: 3, payload: new TextEncoder().encode("bng doctor") });
    expect([...frame.subarray(0, ECHO_FRAME_LEN)]).toEqual([...expected]);
  });
});

describe("readEchoReply", () => {
  test("an echo reply: its addresses, identifier and sequence", () => {
    const reply = icmpFrame({ dst: OWN_MAC, src: GATEWAY_MAC, srcIp: "10.214.0.254", dstIp: "10.214.0.252", type: 0, identifier: 0xbeef, sequence: 3 });
    const read = blank();
    expect(readEchoReply(reply, reply.length, read)).toBe(true);
    expect(read).toEqual({ srcIp: ip("10.214.0.254"), dstIp: ip("10.214.0.252"), identifier: 0xbeef, sequence: 3 });
  });

  test("an echo request, an unreachable, a TCP segment, a cut frame and a later fragment are no replies", () => {
    const base = { dst: OWN_MAC, src: GATEWAY_MAC, srcIp: "10.214.0.254", dstIp: "10.214.0.252" };
    const request = icmpFrame({ ...base, type: 8 });
    const unreachable = icmpFrame({ ...base, type: 3, code: 1 });
    const tcp = tcpFrame({ ...base, srcPort: 80, dstPort: 61000, flags: TCP_SYN });
    const reply = icmpFrame({ ...base, type: 0 });
    const fragment = icmpFrame({ ...base, type: 0, fragmentOffset: 2 });
    for (const [frame, length] of [[request, request.length], [unreachable, unreachable.length], [tcp, tcp.length], [reply, 40], [fragment, fragment.length]] as const) {
      expect(readEchoReply(frame, length, blank())).toBe(false);
    }
  });
});
