// The DSR-path check's frames, byte for byte against the test fixtures' frame builder.
import { describe, expect, test } from "bun:test";
import { readTcpFrame, TCP_ACK, TCP_FRAME_LEN, TCP_RST, TCP_SYN, type TcpSegment, writeTcpFrame } from "../../src/health/tcp-frame.ts";
import { ip, mac, tcpFrame, TCP_SYN as FIXTURE_SYN } from "../fixtures/frames.ts";

const TARGET_MAC = "02:00:00:00:00:0b";
const OWN_MAC = "02:00:00:00:00:fc";

describe("writeTcpFrame", () => {
  test("a SYN from the real address to VIP:port, to the target's MAC: exactly the fixture's frame", () => {
    const frame = new Uint8Array(64).fill(0xee);
    const segment: TcpSegment = { srcIp: ip("10.214.0.252"), dstIp: ip("10.214.0.10"), srcPort: 61234, dstPort: 8080, seq: 0xdeadbeef, ack: 0, flags: TCP_SYN };
    expect(writeTcpFrame(frame, mac(TARGET_MAC), mac(OWN_MAC), segment, 0x1234)).toBe(TCP_FRAME_LEN);
    const expected = tcpFrame({ dst: TARGET_MAC, src: OWN_MAC, srcIp: "10.214.0.252", dstIp: "10.214.0.10", srcPort: 61234, dstPort: 8080, seq: 0xdeadbeef, ack: 0, flags: FIXTURE_SYN, id: 0x1234 });
    expect([...frame.subarray(0, TCP_FRAME_LEN)]).toEqual([...expected]);
  });

  test("a RST with its sequence number, read back field by field", () => {
    const frame = new Uint8Array(64);
    const written: TcpSegment = { srcIp: ip("10.214.0.252"), dstIp: ip("10.214.0.10"), srcPort: 65535, dstPort: 80, seq: 0xffffffff, ack: 0, flags: TCP_RST };
    writeTcpFrame(frame, mac(TARGET_MAC), mac(OWN_MAC), written, 0xffff);
    const read: TcpSegment = { srcIp: 0, dstIp: 0, srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0 };
    expect(readTcpFrame(frame, TCP_FRAME_LEN, read)).toBe(true);
    expect(read).toEqual(written);
  });
});

describe("readTcpFrame", () => {
  const into = (): TcpSegment => ({ srcIp: 0, dstIp: 0, srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0 });

  test("a SYN-ACK with IP options: the TCP header after them", () => {
    const frame = tcpFrame({ dst: OWN_MAC, src: TARGET_MAC, srcIp: "10.214.0.10", dstIp: "10.214.0.252", srcPort: 8080, dstPort: 61234, seq: 7, ack: 0xdeadbef0, flags: FIXTURE_SYN | TCP_ACK, ipOptions: new Uint8Array([1, 1, 1, 0]) });
    const read = into();
    expect(readTcpFrame(frame, frame.length, read)).toBe(true);
    expect(read).toEqual({ srcIp: ip("10.214.0.10"), dstIp: ip("10.214.0.252"), srcPort: 8080, dstPort: 61234, seq: 7, ack: 0xdeadbef0, flags: TCP_SYN | TCP_ACK });
  });

  test("not an unfragmented IPv4 TCP segment with its whole header: refused", () => {
    const base = { dst: OWN_MAC, src: TARGET_MAC, srcIp: "10.214.0.10", dstIp: "10.214.0.252", srcPort: 8080, dstPort: 61234, flags: FIXTURE_SYN };
    const later = tcpFrame({ ...base, fragmentOffset: 3 });
    expect(readTcpFrame(later, later.length, into())).toBe(false);
    const whole = tcpFrame(base);
    expect(readTcpFrame(whole, whole.length - 1, into())).toBe(false);
    const longHeader = tcpFrame({ ...base, ipOptions: new Uint8Array(8) });
    expect(readTcpFrame(longHeader, TCP_FRAME_LEN + 4, into())).toBe(false);
    const version6 = tcpFrame({ ...base, version: 6 });
    expect(readTcpFrame(version6, version6.length, into())).toBe(false);
  });
});
