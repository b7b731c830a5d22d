// The classic BPF programs bng generates, run by a small interpreter of the instructions they use
// (the kernel's semantics: a load past the frame's end refuses it; jumps count from the next
// instruction). test/ffi/socket-filter.netns.test.ts attaches them to real sockets.
import { describe, expect, test } from "bun:test";
import { encodeProgram, MAX_FILTER_VIPS, MAX_INSTRUCTIONS, SOCK_FILTER_SIZE, vipFrameFilter, type Instruction } from "../../src/bpf/classic.ts";
import { CLIENT_MAC, OWN_MAC } from "../fixtures/dataplane.ts";
import { arpFrame, ethernet, icmpFrame, ip, tcpFrame, udpFrame } from "../fixtures/frames.ts";

const SKF_AD_VLAN_TAG_PRESENT = (-0x1000 + 48) >>> 0;

interface Delivery {
  frame: Uint8Array;
  /** An 802.1Q tag beside the frame (moved out of it by the NIC or the receive path). */
  vlanTagPresent?: boolean;
}

/** What the kernel's classic BPF would return for `delivery`: the bytes to keep, 0 to refuse. */
function runFilter(program: readonly Instruction[], delivery: Delivery): number {
  const { frame } = delivery;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let a = 0;
  let x = 0;
  for (let pc = 0; pc < program.length; pc++) {
    const { code, jt, jf, k } = program[pc]!;
    const size = code & 0x18;
    const load = (at: number): number | undefined => {
      const bytes = size === 0x00 ? 4 : size === 0x08 ? 2 : 1;
      if (at < 0 || at + bytes > frame.length) return undefined;
      return bytes === 4 ? view.getUint32(at) : bytes === 2 ? view.getUint16(at) : view.getUint8(at);
    };
    switch (code & 0x07) {
      case 0x00: {
        if ((code & 0xe0) === 0x20 && k === SKF_AD_VLAN_TAG_PRESENT) {
          a = delivery.vlanTagPresent ? 1 : 0;
          break;
        }
        const loaded = load((code & 0xe0) === 0x40 ? x + k : k);
        if (loaded === undefined) return 0;
        a = loaded;
        break;
      }
      case 0x01: {
        const byte = load(k);
        if (byte === undefined) return 0;
        x = (byte & 0x0f) * 4;
        break;
      }
      case 0x05: {
        const operation = code & 0xf0;
        const taken = operation === 0x10 ? a === k : operation === 0x20 ? a > k : operation === 0x30 ? a >= k : (a & k) !== 0;
        pc += taken ? jt : jf;
        break;
      }
      case 0x06:
        return k;
      default:
        throw new Error(`instruction ${code.toString(16)} is not interpreted here`);
    }
  }
  throw new Error("the program ran off its end");
}

const VIP = "10.0.0.10";
const OTHER_VIP = "10.0.0.11";
const accepted = (program: readonly Instruction[], delivery: Delivery) => runFilter(program, delivery) !== 0;
const tcpTo = (dstIp: string, vlan?: number) => tcpFrame({ src: CLIENT_MAC, dst: OWN_MAC, srcIp: "192.0.2.7", dstIp, srcPort: 4000, dstPort: 80, flags: 2, ...(vlan === undefined ? {} : { vlan }) });

describe("vipFrameFilter", () => {
  const filter = vipFrameFilter([ip(VIP), ip(OTHER_VIP)]);

  test("accepts ARP and IPv4 to a VIP, whatever the protocol", () => {
    expect(accepted(filter, { frame: arpFrame({ op: 1, senderMac: CLIENT_MAC, senderIp: "192.0.2.7", targetIp: "10.0.0.200" }) })).toBe(true);
    expect(accepted(filter, { frame: arpFrame({ op: 2, senderMac: CLIENT_MAC, senderIp: "192.0.2.7", targetIp: VIP }) })).toBe(true);
    expect(accepted(filter, { frame: tcpTo(VIP) })).toBe(true);
    expect(accepted(filter, { frame: tcpTo(OTHER_VIP) })).toBe(true);
    expect(accepted(filter, { frame: udpFrame({ src: CLIENT_MAC, dst: OWN_MAC, srcIp: "192.0.2.7", dstIp: VIP, srcPort: 4000, dstPort: 53 }) })).toBe(true);
    expect(accepted(filter, { frame: icmpFrame({ src: CLIENT_MAC, dst: OWN_MAC, srcIp: "192.0.2.7", dstIp: VIP, type: 8, identifier: 1, sequence: 1, payload: new Uint8Array(8) }) })).toBe(true);
  });

  test("refuses IPv4 to another address, other EtherTypes, and frames too short for a destination", () => {
    expect(accepted(filter, { frame: tcpTo("10.0.0.12") })).toBe(false);
    expect(accepted(filter, { frame: ethernet({ src: CLIENT_MAC, dst: OWN_MAC }, 0x86dd, new Uint8Array(40)) })).toBe(false);
    expect(accepted(filter, { frame: tcpTo(VIP).subarray(0, 30) })).toBe(false);
  });

  test("refuses 802.1Q frames, tagged in-band or with the tag beside them", () => {
    expect(accepted(filter, { frame: tcpTo(VIP, 100) })).toBe(false);
    expect(accepted(filter, { frame: arpFrame({ op: 1, senderMac: CLIENT_MAC, senderIp: "192.0.2.7", targetIp: VIP, vlan: 100 }) })).toBe(false);
    expect(accepted(filter, { frame: tcpTo(VIP), vlanTagPresent: true })).toBe(false);
    expect(accepted(filter, { frame: arpFrame({ op: 1, senderMac: CLIENT_MAC, senderIp: "192.0.2.7", targetIp: VIP }), vlanTagPresent: true })).toBe(false);
  });

  test("with no VIP, accepts only ARP", () => {
    const arpOnly = vipFrameFilter([]);
    expect(accepted(arpOnly, { frame: tcpTo(VIP) })).toBe(false);
    expect(accepted(arpOnly, { frame: arpFrame({ op: 1, senderMac: CLIENT_MAC, senderIp: "192.0.2.7", targetIp: VIP }) })).toBe(true);
  });

  test("compares 1,000 VIPs in chunks whose jumps fit a byte: each accepted, their neighbours refused", () => {
    const vips = Array.from({ length: 1000 }, (_, index) => ip("10.1.0.0") + index * 2);
    const program = vipFrameFilter(vips);
    // encodeProgram stores each jump in a byte; instruction() refuses longer ones as they are made.
    expect(encodeProgram(program).length).toBe(program.length * SOCK_FILTER_SIZE);
    expect(program.every((step) => step.jt <= 255 && step.jf <= 255)).toBe(true);
    for (const vip of vips) {
      const dotted = [vip >>> 24, (vip >>> 16) & 255, (vip >>> 8) & 255, vip & 255].join(".");
      const neighbour = [vip >>> 24, (vip >>> 16) & 255, (vip >>> 8) & 255, (vip & 255) + 1].join(".");
      expect(accepted(program, { frame: tcpTo(dotted) })).toBe(true);
      expect(accepted(program, { frame: tcpTo(neighbour) })).toBe(false);
    }
  });

  test("MAX_FILTER_VIPS VIPs fill the kernel's limit exactly; one more accepts every IPv4 frame", () => {
    const vips = Array.from({ length: MAX_FILTER_VIPS + 1 }, (_, index) => ip("10.2.0.0") + index);
    const full = vipFrameFilter(vips.slice(0, MAX_FILTER_VIPS));
    expect(full.length).toBe(MAX_INSTRUCTIONS);
    expect(accepted(full, { frame: tcpTo("10.2.15.229") })).toBe(true);
    expect(accepted(full, { frame: tcpTo("10.2.15.230") })).toBe(false);
    const everyIpv4 = vipFrameFilter(vips);
    expect(accepted(everyIpv4, { frame: tcpTo("10.9.9.9") })).toBe(true);
    expect(accepted(everyIpv4, { frame: tcpTo("10.9.9.9", 7) })).toBe(false);
  });
});
