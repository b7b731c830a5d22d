// Telling a partial TCP/UDP checksum from a full one by its value alone (the XDP engine's kernel
// does not say which is which), cross-checked with the frame builder's own checksum code.
import { describe, expect, test } from "bun:test";
import { completePartialL4Checksum, hasPartialL4Checksum } from "../../src/dataplane/checksum.ts";
import { ETH_HEADER_LEN } from "../../src/dataplane/frame.ts";
import { CLIENT_MAC, OWN_MAC } from "../fixtures/dataplane.ts";
import { ipv4Frame, tcpFrame, udpFrame, type TcpOptions } from "../fixtures/frames.ts";

const base = (extra: Partial<TcpOptions> = {}): TcpOptions => ({ src: CLIENT_MAC, dst: OWN_MAC, srcIp: "192.0.2.7", dstIp: "10.0.0.10", srcPort: 40000, dstPort: 80, flags: 0x10, ...extra });
const payloads = [0, 1, 33, 100, 1400].map((length) => new Uint8Array(length).map((_, i) => (i * 37 + length) & 0xff));

describe("hasPartialL4Checksum", () => {
  test("a partial TCP or UDP checksum is recognised, and completing it gives the full one", () => {
    for (const payload of payloads) {
      for (const make of [(partial: boolean) => tcpFrame(base({ payload, partialChecksum: partial })), (partial: boolean) => udpFrame({ ...base({ payload, partialChecksum: partial }), dstPort: 53 })]) {
        const partial = make(true);
        expect(hasPartialL4Checksum(partial, ETH_HEADER_LEN)).toBe(true);
        expect(completePartialL4Checksum(partial, ETH_HEADER_LEN)).toBe(true);
        expect(partial).toEqual(make(false));
      }
    }
  });

  test("a full checksum is not taken for a partial one", () => {
    for (const payload of payloads) {
      expect(hasPartialL4Checksum(tcpFrame(base({ payload })), ETH_HEADER_LEN)).toBe(false);
      expect(hasPartialL4Checksum(udpFrame({ ...base({ payload }), dstPort: 53 }), ETH_HEADER_LEN)).toBe(false);
    }
  });

  test("fragments, other protocols and segments too short for the field are never partial", () => {
    expect(hasPartialL4Checksum(tcpFrame(base({ partialChecksum: true, moreFragments: true })), ETH_HEADER_LEN)).toBe(false);
    expect(hasPartialL4Checksum(ipv4Frame(base(), 47, new Uint8Array(8)), ETH_HEADER_LEN)).toBe(false);
    expect(hasPartialL4Checksum(ipv4Frame(base(), 6, new Uint8Array(10)), ETH_HEADER_LEN)).toBe(false);
  });
});
