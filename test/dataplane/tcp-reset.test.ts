// The RST of `downpolicy reset`, frame for frame: what RFC 793 §3.4 says a reset for a segment
// looks like, built by the test's own frame builder (its own checksum code) and compared whole.
import { describe, expect, test } from "bun:test";
import { readMacHigh, readMacLow } from "../../src/dataplane/frame.ts";
import { TCP_RESET_FRAME_LENGTH, writeTcpReset } from "../../src/dataplane/tcp-reset.ts";
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, internetChecksum, mac, tcpFrame, type TcpOptions } from "../fixtures/frames.ts";

const OWN = "02:00:00:00:00:01";
const ROUTER = "02:00:00:00:aa:01";
const VIP = "10.0.0.10";
const CLIENT = "192.0.2.7";

const fromClient = (options: Partial<TcpOptions> & { flags: number }) =>
  tcpFrame({ src: ROUTER, dst: OWN, srcIp: CLIENT, dstIp: VIP, srcPort: 40000, dstPort: 80, ...options });

/** The RST as RFC 793 has it: from VIP:80 to the client, DF, TTL 64, no options, window 0. */
const expectedReset = (seq: number, ack: number, flags: number) =>
  tcpFrame({ src: OWN, dst: ROUTER, srcIp: VIP, dstIp: CLIENT, srcPort: 80, dstPort: 40000, seq, ack, flags, window: 0, id: 0, dontFragment: true, ttl: 64 });

/** writeTcpReset over `frame`, into a fresh output buffer at offset 128 (as a tx slot would be). */
function resetFor(frame: Uint8Array): Uint8Array | undefined {
  const out = new Uint8Array(256).fill(0xee);
  const ownMac = mac(OWN);
  const totalLength = (frame[16]! << 8) | frame[17]!;
  const length = writeTcpReset(frame, 0, 34, totalLength - 20, out, 128, readMacHigh(ownMac, 0), readMacLow(ownMac, 0));
  if (length === 0) {
    expect(out.every((byte) => byte === 0xee)).toBe(true);
    return undefined;
  }
  expect(out.subarray(0, 128).every((byte) => byte === 0xee)).toBe(true);
  expect(out.subarray(128 + length).every((byte) => byte === 0xee)).toBe(true);
  return out.slice(128, 128 + length);
}

describe("the RST answering a client's segment (downpolicy reset)", () => {
  test("a segment with ACK: the RST's sequence number is the segment's ACK, no ACK of its own", () => {
    const reset = resetFor(fromClient({ flags: TCP_ACK | TCP_PSH, seq: 0x11223344, ack: 0xfedcba98, payload: new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n") }));
    expect(reset).toEqual(expectedReset(0xfedcba98, 0, TCP_RST));
    expect(reset!.length).toBe(TCP_RESET_FRAME_LENGTH);
  });

  test("a segment without ACK: sequence 0, ACK = its sequence + data length + 1 for FIN, RST|ACK", () => {
    const payload = new Uint8Array(7);
    // The sum wraps around 2^32.
    expect(resetFor(fromClient({ flags: TCP_FIN, seq: 0xfffffffe, payload }))).toEqual(expectedReset(0, 6, TCP_RST | TCP_ACK));
    expect(resetFor(fromClient({ flags: TCP_SYN, seq: 1000 }))).toEqual(expectedReset(0, 1001, TCP_RST | TCP_ACK));
  });

  test("the checksums verify: IP header and TCP over its pseudo-header", () => {
    const reset = resetFor(fromClient({ flags: TCP_ACK, seq: 5, ack: 0x80000001 }))!;
    expect(internetChecksum(reset.subarray(14, 34))).toBe(0);
    const pseudo = new Uint8Array(12 + 20);
    pseudo.set(reset.subarray(26, 34), 0);
    pseudo[9] = 6;
    pseudo[11] = 20;
    pseudo.set(reset.subarray(34, 54), 12);
    expect(internetChecksum(pseudo)).toBe(0);
  });

  test("options in the client's header are skipped in its length, never copied", () => {
    // Data offset 8 (12 bytes of options): SEG.LEN counts only the data after them.
    const frame = fromClient({ flags: TCP_FIN, seq: 100, payload: new Uint8Array(12 + 3) });
    frame[14 + 20 + 12] = 0x80;
    expect(resetFor(frame)).toEqual(expectedReset(0, 100 + 3 + 1, TCP_RST | TCP_ACK));
  });

  test("a header length below 20 bytes or beyond the segment: nothing written", () => {
    const tooShort = fromClient({ flags: TCP_ACK });
    tooShort[14 + 20 + 12] = 0x40;
    expect(resetFor(tooShort)).toBeUndefined();
    const beyond = fromClient({ flags: TCP_ACK });
    beyond[14 + 20 + 12] = 0x60;
    expect(resetFor(beyond)).toBeUndefined();
  });
});
