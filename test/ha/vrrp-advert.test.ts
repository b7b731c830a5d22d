import { describe, expect, test } from "bun:test";
import {
  ADVERT_ACCEPTED,
  ADVERT_ACCEPTED_OWNER_ADDRESS_MISMATCH,
  ADVERT_ADDRESS_MISMATCH,
  ADVERT_AUTH_MISMATCH,
  ADVERT_BAD_CHECKSUM,
  ADVERT_BAD_DESTINATION,
  ADVERT_BAD_IP_HEADER,
  ADVERT_BAD_LENGTH,
  ADVERT_BAD_TTL,
  ADVERT_BAD_VERSION_TYPE,
  ADVERT_FROM_SELF,
  ADVERT_INTERVAL_MISMATCH,
  ADVERT_NOT_VRRP,
  ADVERT_OTHER_VRID,
  ADVERT_RESULTS,
  MAX_ADVERT_FRAME_LEN,
  MAX_VRRP_ADDRESSES,
  advertAccepted,
  advertFrameLength,
  checkVrrpAdvert,
  createAdvertFields,
  createVrrpRouter,
  virtualMac,
  virtualMacLow,
  writeVrrpAdvert,
  type VrrpRouter,
} from "../../src/ha/vrrp-advert.ts";
import { concat, internetChecksum, ip, ipv4Frame, tcpFrame } from "../fixtures/frames.ts";

const VIPS = ["192.0.2.10", "192.0.2.11"];
const router = createVrrpRouter({ vrid: 7, intervalS: 1, realAddress: ip("192.0.2.2"), addresses: VIPS.map(ip) });

function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, "");
  return Uint8Array.from({ length: digits.length / 2 }, (_, i) => Number.parseInt(digits.slice(2 * i, 2 * i + 2), 16));
}

interface AdvertOptions {
  srcIp?: string;
  dstIp?: string;
  ttl?: number;
  versionType?: number;
  vrid?: number;
  priority?: number;
  count?: number;
  authType?: number;
  intervalS?: number;
  addresses?: string[];
  /** Extra bytes after the auth data, inside the IP packet. */
  trailing?: number;
  breakChecksum?: boolean;
  moreFragments?: boolean;
  padding?: number;
}

/**
 * An advert built independently of the code under test: fixtures' IPv4 builder and reference
 * checksum; each option breaks one field while everything else stays honest.
 */
function advert(options: AdvertOptions = {}): Uint8Array {
  const addresses = (options.addresses ?? VIPS).map(ip);
  const vrrp = new Uint8Array(16 + 4 * addresses.length + (options.trailing ?? 0));
  vrrp[0] = options.versionType ?? 0x21;
  vrrp[1] = options.vrid ?? 7;
  vrrp[2] = options.priority ?? 150;
  vrrp[3] = options.count ?? addresses.length;
  vrrp[4] = options.authType ?? 0;
  vrrp[5] = options.intervalS ?? 1;
  const view = new DataView(vrrp.buffer);
  addresses.forEach((address, i) => view.setUint32(8 + 4 * i, address));
  view.setUint16(6, internetChecksum(vrrp) ^ (options.breakChecksum ? 0x0101 : 0));
  return ipv4Frame(
    {
      dst: "01:00:5e:00:00:12",
      src: "00:00:5e:00:01:07",
      srcIp: options.srcIp ?? "192.0.2.1",
      dstIp: options.dstIp ?? "224.0.0.18",
      ttl: options.ttl ?? 255,
      moreFragments: options.moreFragments ?? false,
      padding: options.padding ?? 0,
    },
    112,
    vrrp,
  );
}

function check(frame: Uint8Array, against: VrrpRouter = router) {
  const fields = createAdvertFields();
  const result = checkVrrpAdvert(frame, 0, frame.length, against, fields);
  return { result: ADVERT_RESULTS[result], fields };
}

describe("writeVrrpAdvert", () => {
  test("writes the hand-computed frame, byte for byte what keepalived sends but for the virtual source MAC", () => {
    const real = createVrrpRouter({ vrid: 7, intervalS: 1, realAddress: ip("192.0.2.1"), addresses: VIPS.map(ip) });
    // IP header sum: 45c0+002c+0001+0000+ff70+0000+c000+0201+e000+0012 = 2e770 -> e772 -> ~ = 188d.
    // VRRP sum: 2107+6402+0001+c000+020a+c000+020b+0000+0000 = 2091f -> 0921 -> ~ = f6de.
    // keepalived 2.2.7 sent exactly these bytes (vrid 7, priority 100, id 1) from its interface MAC.
    const expected = hex(`
      01005e000012 00005e000107 0800
      45c0 002c 0001 0000 ff70 188d c0000201 e0000012
      21 07 64 02 00 01 f6de c000020a c000020b 0000000000000000`);
    const buffer = new Uint8Array(100).fill(0xee);
    const length = writeVrrpAdvert(buffer, 10, real, 100, 1);
    expect(length).toBe(58);
    expect(Array.from(buffer.subarray(10, 10 + length))).toEqual(Array.from(expected));
    // Nothing outside the frame was touched.
    expect(buffer[9]).toBe(0xee);
    expect(buffer[68]).toBe(0xee);
  });

  test("a priority 0 advert differs only in priority and checksum, and the IP id in its header checksum", () => {
    const peer = createVrrpRouter({ vrid: 7, intervalS: 1, realAddress: ip("192.0.2.1"), addresses: VIPS.map(ip) });
    const a = new Uint8Array(64);
    const b = new Uint8Array(64);
    writeVrrpAdvert(a, 0, peer, 200, 5);
    writeVrrpAdvert(b, 0, peer, 0, 6);
    expect(b[36]).toBe(0);
    // Byte 19: the IP id's low byte; 24-25: the IP checksum; 36: priority; 40-41: VRRP checksum.
    const differing = Array.from(a.keys()).filter((i) => a[i] !== b[i]);
    expect(differing.filter((i) => ![19, 24, 25, 36, 40, 41].includes(i))).toEqual([]);
    expect(differing).toContain(36);
    expect(check(a.subarray(0, 58)).result).toBe("accepted");
    expect(check(b.subarray(0, 58)).fields.priority).toBe(0);
    // Our own advert, looped back to us, is recognised as ours.
    expect(check(a.subarray(0, 58), peer).result).toBe("from_self");
  });

  test("every frame it writes passes its own check and the fixtures' reference checksum", () => {
    for (const count of [1, 2, 17, MAX_VRRP_ADDRESSES]) {
      const addresses = Array.from({ length: count }, (_, i) => ip("10.0.0.0") + i * 3 + 1);
      const ours = createVrrpRouter({ vrid: 255, intervalS: 255, realAddress: ip("10.1.0.1"), addresses });
      const theirs = createVrrpRouter({ vrid: 255, intervalS: 255, realAddress: ip("10.1.0.2"), addresses: [...addresses].reverse() });
      const frame = new Uint8Array(MAX_ADVERT_FRAME_LEN);
      const length = writeVrrpAdvert(frame, 0, ours, 254, 0xffff);
      expect(length).toBe(advertFrameLength(count));
      expect(internetChecksum(frame.subarray(14, 34))).toBe(0);
      expect(internetChecksum(frame.subarray(34, length))).toBe(0);
      const { result, fields } = check(frame.subarray(0, length), theirs);
      expect(result).toBe("accepted");
      expect(fields).toEqual({ vrid: 255, priority: 254, intervalS: 255, sourceIp: ip("10.1.0.1"), count });
    }
  });

  test("refuses a buffer too small rather than writing past it", () => {
    expect(() => writeVrrpAdvert(new Uint8Array(57), 0, router, 100, 0)).toThrow(RangeError);
    expect(() => writeVrrpAdvert(new Uint8Array(100), 50, router, 100, 0)).toThrow(RangeError);
  });

  test("the virtual MAC is 00:00:5e:00:01:VRID", () => {
    expect(Array.from(virtualMac(42))).toEqual([0, 0, 0x5e, 0, 1, 42]);
    expect(virtualMacLow(42)).toBe(0x5e00012a);
  });
});

describe("createVrrpRouter", () => {
  test("refuses out-of-range settings and duplicate addresses", () => {
    const base = { vrid: 1, intervalS: 1, realAddress: 1, addresses: [ip("10.0.0.1")] };
    expect(() => createVrrpRouter({ ...base, vrid: 0 })).toThrow(RangeError);
    expect(() => createVrrpRouter({ ...base, vrid: 256 })).toThrow(RangeError);
    expect(() => createVrrpRouter({ ...base, intervalS: 0 })).toThrow(RangeError);
    expect(() => createVrrpRouter({ ...base, addresses: [] })).toThrow(RangeError);
    expect(() => createVrrpRouter({ ...base, addresses: Array.from({ length: 256 }, (_, i) => i + 1) })).toThrow(RangeError);
    expect(() => createVrrpRouter({ ...base, addresses: [5, 6, 5] })).toThrow(RangeError);
  });
});

describe("checkVrrpAdvert (RFC 3768 section 7.1)", () => {
  test("accepts a valid advert and reads priority, interval, source and count", () => {
    expect(check(advert({ priority: 42 }))).toEqual({
      result: "accepted",
      fields: { vrid: 7, priority: 42, intervalS: 1, sourceIp: ip("192.0.2.1"), count: 2 },
    });
  });

  test("accepts the addresses in any order and Ethernet padding after the packet", () => {
    expect(check(advert({ addresses: [...VIPS].reverse() })).result).toBe("accepted");
    const single = createVrrpRouter({ vrid: 7, intervalS: 1, realAddress: ip("192.0.2.2"), addresses: [ip("192.0.2.10")] });
    const padded = advert({ addresses: ["192.0.2.10"], padding: 6 });
    expect(padded.length).toBe(60);
    expect(check(padded, single).result).toBe("accepted");
  });

  const cases: [string, AdvertOptions | Uint8Array, (typeof ADVERT_RESULTS)[number]][] = [
    ["TTL 254 (it crossed a router)", { ttl: 254 }, "bad_ttl"],
    ["version 3", { versionType: 0x31 }, "bad_version_type"],
    ["type 2", { versionType: 0x22 }, "bad_version_type"],
    ["a count of 3 with 2 addresses", { count: 3 }, "bad_length"],
    ["a count of 1 with 2 addresses", { count: 1 }, "bad_length"],
    ["4 bytes beyond the counted addresses", { trailing: 4 }, "bad_length"],
    ["a wrong VRRP checksum", { breakChecksum: true }, "bad_checksum"],
    ["another VRID", { vrid: 8 }, "other_vrid"],
    ["auth type 1 (simple text password)", { authType: 1 }, "auth_mismatch"],
    ["interval 2 against our 1", { intervalS: 2 }, "interval_mismatch"],
    ["our own real address as source", { srcIp: "192.0.2.2" }, "from_self"],
    ["one address that is not ours", { addresses: ["192.0.2.10", "192.0.2.12"] }, "address_mismatch"],
    ["one of our addresses twice", { addresses: ["192.0.2.10", "192.0.2.10"] }, "address_mismatch"],
    ["one address fewer", { addresses: ["192.0.2.10"] }, "address_mismatch"],
    ["one address more", { addresses: [...VIPS, "192.0.2.12"] }, "address_mismatch"],
    ["unicast to our address", { dstIp: "192.0.2.2" }, "bad_destination"],
    ["a fragment", { moreFragments: true }, "bad_ip_header"],
  ];
  test.each(cases)("refuses %s", (_, options, expected) => {
    const frame = options instanceof Uint8Array ? options : advert(options);
    const { result } = check(frame);
    expect(result).toBe(expected);
    expect(advertAccepted(ADVERT_RESULTS.indexOf(result!))).toBe(false);
  });

  test("an address owner (priority 255) with another list is accepted and flagged, as the RFC says", () => {
    const { result, fields } = check(advert({ priority: 255, addresses: ["192.0.2.99"] }));
    expect(result).toBe("accepted_owner_address_mismatch");
    expect(fields.priority).toBe(255);
    expect(advertAccepted(ADVERT_ACCEPTED_OWNER_ADDRESS_MISMATCH)).toBe(true);
  });

  test("another VRID's advert still names its VRID (for the counter and a first log line)", () => {
    expect(check(advert({ vrid: 99 })).fields.vrid).toBe(99);
  });

  test("frames that are not VRRP are told apart from bad VRRP", () => {
    const tcp = tcpFrame({ srcIp: "192.0.2.1", dstIp: "192.0.2.10", srcPort: 1, dstPort: 80, flags: 0x02 });
    expect(check(tcp).result).toBe("not_vrrp");
    const arp = concat(new Uint8Array([1, 0, 0x5e, 0, 0, 0x12, 0, 0, 0x5e, 0, 1, 7, 0x08, 0x06]), new Uint8Array(28));
    expect(check(arp).result).toBe("not_vrrp");
    const version6 = advert();
    version6[14] = 0x65;
    expect(check(version6).result).toBe("not_vrrp");
  });

  test("an IP header with a bad checksum, a short IHL or a total length beyond the frame is refused", () => {
    const badSum = advert();
    badSum[24]! ^= 0xff;
    expect(check(badSum).result).toBe("bad_ip_header");
    const shortIhl = advert();
    shortIhl[14] = 0x44;
    expect(check(shortIhl).result).toBe("bad_ip_header");
    const frame = advert();
    expect(check(frame.subarray(0, frame.length - 1)).result).toBe("bad_ip_header");
  });

  test("every truncation of a valid advert is refused without reading past the given length", () => {
    const frame = advert();
    const fields = createAdvertFields();
    for (let length = 0; length < frame.length; length++) {
      // The bytes past `length` stay valid: a check that read them would accept.
      const result = checkVrrpAdvert(frame, 0, length, router, fields);
      expect(advertAccepted(result)).toBe(false);
    }
    expect(checkVrrpAdvert(frame, 0, frame.length, router, fields)).toBe(ADVERT_ACCEPTED);
  });

  test("checks a frame at an offset inside a larger buffer (an rx slot)", () => {
    const frame = advert();
    const slot = new Uint8Array(2048);
    slot.set(frame, 1024);
    expect(checkVrrpAdvert(slot, 1024, frame.length, router, createAdvertFields())).toBe(ADVERT_ACCEPTED);
  });

  test("random bytes and random mutations of a valid advert never throw and are never accepted by chance", () => {
    let seed = 12345;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 8;
    };
    const fields = createAdvertFields();
    const seen = new Set<number>();
    const buffer = new Uint8Array(1600);
    for (let round = 0; round < 20_000; round++) {
      const length = random() % 1600;
      for (let i = 0; i < length; i++) buffer[i] = random() & 0xff;
      // Half of them look like IPv4 protocol 112, so the deeper checks are reached.
      if (round % 2 === 0 && length > 34) {
        buffer[12] = 0x08;
        buffer[13] = 0x00;
        buffer[14] = 0x45;
        buffer[23] = 112;
      }
      const result = checkVrrpAdvert(buffer, 0, length, router, fields);
      seen.add(result);
      expect(advertAccepted(result)).toBe(false);
    }
    const valid = advert();
    for (let round = 0; round < 20_000; round++) {
      const mutated = valid.slice();
      const at = 14 + (random() % (valid.length - 14));
      const flip = 1 + (random() % 255);
      mutated[at]! ^= flip;
      const result = checkVrrpAdvert(mutated, 0, mutated.length, router, fields);
      seen.add(result);
      // One changed byte breaks a checksum, or names something that is not ours.
      expect(advertAccepted(result)).toBe(false);
    }
    expect(seen.has(ADVERT_NOT_VRRP)).toBe(true);
    expect(seen.has(ADVERT_BAD_IP_HEADER)).toBe(true);
    expect(seen.has(ADVERT_BAD_CHECKSUM)).toBe(true);
  });

  test("the result names cover every code, in their index order", () => {
    const codes = [
      ADVERT_ACCEPTED,
      ADVERT_ACCEPTED_OWNER_ADDRESS_MISMATCH,
      ADVERT_NOT_VRRP,
      ADVERT_BAD_IP_HEADER,
      ADVERT_BAD_DESTINATION,
      ADVERT_BAD_TTL,
      ADVERT_BAD_VERSION_TYPE,
      ADVERT_BAD_LENGTH,
      ADVERT_BAD_CHECKSUM,
      ADVERT_OTHER_VRID,
      ADVERT_AUTH_MISMATCH,
      ADVERT_INTERVAL_MISMATCH,
      ADVERT_FROM_SELF,
      ADVERT_ADDRESS_MISMATCH,
    ];
    expect(codes).toEqual(ADVERT_RESULTS.map((_, i) => i));
  });
});
