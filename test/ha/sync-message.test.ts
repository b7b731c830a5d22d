import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import {
  MAX_SYNC_DATAGRAM,
  MAX_SYNC_IDLE_S,
  MAX_SYNC_RECORDS,
  SYNC_ACCEPTED,
  SYNC_BATCH,
  SYNC_FULL_END,
  SYNC_FULL_REQUEST,
  SYNC_FULL_START,
  SYNC_HEADER_LEN,
  SYNC_MAC_LEN,
  SYNC_RECORD_LEN,
  SYNC_REMOVE,
  SYNC_RESULTS,
  SYNC_UPSERT,
  SyncEncoder,
  SyncReceiver,
  createSyncRecord,
  syncSourceAllowed,
  type SyncRecord,
} from "../../src/ha/sync-message.ts";
import { ip } from "../fixtures/frames.ts";

const MASTER = ip("172.16.1.252");
const BACKUP = ip("172.16.1.253");
const EPOCH = 1_760_000_000_000;

function encoder(options: { key?: string; senderId?: number; epochMs?: number } = {}): SyncEncoder {
  return new SyncEncoder({ buffer: new Uint8Array(MAX_SYNC_DATAGRAM), senderId: options.senderId ?? MASTER, epochMs: options.epochMs ?? EPOCH, ...(options.key ? { key: options.key } : {}) });
}

function receiver(key?: string): SyncReceiver {
  return new SyncReceiver({ peerAddress: MASTER, ...(key ? { key } : {}) });
}

/** A copy of the datagram the encoder just wrote (what goes on the wire). */
function datagram(enc: SyncEncoder, length: number): Uint8Array {
  return enc.buffer.slice(0, length);
}

function result(rx: SyncReceiver, bytes: Uint8Array, source = MASTER, length = bytes.length): string {
  return SYNC_RESULTS[rx.receive(bytes, length, source, 0)]!;
}

function records(rx: SyncReceiver): SyncRecord[] {
  return Array.from({ length: rx.recordCount }, (_, i) => {
    const record = createSyncRecord();
    rx.record(i, record);
    return record;
  });
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

describe("the wire format", () => {
  test("a batch without a key, byte for byte", () => {
    const enc = encoder();
    expect(enc.addUpsert(1, ip("198.51.100.7"), 0, 2, 30)).toBe(true);
    expect(enc.addRemoval(4095, ip("203.0.113.200"), 65535)).toBe(true);
    const bytes = datagram(enc, enc.finishBatch());
    expect(hex(bytes)).toBe(
      [
        "424e4753", // magic "BNGS"
        "01", // version
        "01", // type: batch
        "00", // flags: no MAC
        "00",
        "ac10 01fc".replace(" ", ""), // sender 172.16.1.252
        "00000199c82cc000", // epoch ms 1760000000000
        "0000000000000001", // sequence 1
        "0002", // records
        "0000",
        "00000000", // value
        "01 00 0001 0002 0000 c6336407 0000001e".replace(/ /g, ""), // upsert server 1 -> target 2, port 0, idle 30 s
        "02 00 0fff 0000 ffff cb0071c8 00000000".replace(/ /g, ""), // remove server 4095, port 65535
      ].join(""),
    );
  });

  test("with a key the HMAC-SHA256 of everything before it ends the datagram", () => {
    const enc = encoder({ key: "secret" });
    const length = enc.writeControl(SYNC_FULL_REQUEST, 0);
    expect(length).toBe(SYNC_HEADER_LEN + SYNC_MAC_LEN);
    const bytes = datagram(enc, length);
    expect(bytes[6]).toBe(1);
    const expected = createHmac("sha256", "secret").update(bytes.subarray(0, SYNC_HEADER_LEN)).digest();
    expect(hex(bytes.subarray(SYNC_HEADER_LEN))).toBe(expected.toString("hex"));
  });

  test("a full datagram holds MAX_SYNC_RECORDS records and fits a 1500-byte MTU with its MAC", () => {
    const enc = encoder({ key: "k" });
    let added = 0;
    while (enc.addUpsert(1 + (added % 4095), added, added & 0xffff, 1, 0)) added++;
    expect(added).toBe(MAX_SYNC_RECORDS);
    expect(enc.isFull).toBe(true);
    const length = enc.finishBatch();
    expect(length).toBe(SYNC_HEADER_LEN + MAX_SYNC_RECORDS * SYNC_RECORD_LEN + SYNC_MAC_LEN);
    expect(length + 20 + 8).toBeLessThanOrEqual(1500);
    const rx = receiver("k");
    expect(result(rx, datagram(enc, length))).toBe("accepted");
    expect(rx.recordCount).toBe(MAX_SYNC_RECORDS);
    expect(enc.recordCount).toBe(0);
  });

  test("the encoder refuses out-of-range fields instead of sending them", () => {
    const enc = encoder();
    expect(() => enc.addUpsert(0, 1, 0, 1, 0)).toThrow(RangeError);
    expect(() => enc.addUpsert(4096, 1, 0, 1, 0)).toThrow(RangeError);
    expect(() => enc.addUpsert(1, 1, 0, 0, 0)).toThrow(RangeError);
    expect(() => enc.addUpsert(1, 1, 65536, 1, 0)).toThrow(RangeError);
    expect(() => enc.addUpsert(1, 1, 0, 1, MAX_SYNC_IDLE_S + 1)).toThrow(RangeError);
    expect(() => enc.addRemoval(1, 1, -1)).toThrow(RangeError);
    expect(() => enc.writeControl(SYNC_BATCH, 0)).toThrow(RangeError);
    expect(() => new SyncEncoder({ buffer: new Uint8Array(100), senderId: 1, epochMs: 1 })).toThrow(RangeError);
    expect(() => new SyncEncoder({ buffer: new Uint8Array(MAX_SYNC_DATAGRAM), senderId: 1, epochMs: 0 })).toThrow(RangeError);
    expect(() => new SyncReceiver({ peerAddress: MASTER, key: "" })).toThrow(RangeError);
  });
});

describe("receiving", () => {
  for (const key of [undefined, "secret"]) {
    test(`batches and control messages round-trip ${key ? "with" : "without"} a key`, () => {
      const enc = encoder(key ? { key } : {});
      const rx = receiver(key);
      expect(result(rx, datagram(enc, enc.writeControl(SYNC_FULL_START, 1234)))).toBe("accepted");
      expect({ type: rx.type, value: rx.value, sequence: rx.sequence, epochMs: rx.epochMs, newEpoch: rx.newEpoch }).toEqual({
        type: SYNC_FULL_START,
        value: 1234,
        sequence: 1,
        epochMs: EPOCH,
        newEpoch: true,
      });
      enc.addUpsert(12, 0xfffffffe, 443, 4000, MAX_SYNC_IDLE_S);
      enc.addRemoval(13, 1, 0);
      expect(result(rx, datagram(enc, enc.finishBatch()))).toBe("accepted");
      expect(rx.type).toBe(SYNC_BATCH);
      expect(rx.newEpoch).toBe(false);
      expect(records(rx)).toEqual([
        { op: SYNC_UPSERT, serverId: 12, clientIp: 0xfffffffe, clientPort: 443, targetId: 4000, idleS: MAX_SYNC_IDLE_S },
        { op: SYNC_REMOVE, serverId: 13, clientIp: 1, clientPort: 0, targetId: 0, idleS: 0 },
      ]);
      expect(result(rx, datagram(enc, enc.writeControl(SYNC_FULL_END, 1)))).toBe("accepted");
      expect({ type: rx.type, value: rx.value, sequence: rx.sequence }).toEqual({ type: SYNC_FULL_END, value: 1, sequence: 3 });
      expect(rx.counts[SYNC_ACCEPTED]).toBe(3);
    });
  }

  test("an empty batch is a keepalive and sets the last-accepted time", () => {
    const enc = encoder();
    const rx = receiver();
    expect(rx.lastAcceptedAtMs).toBe(-1);
    const bytes = datagram(enc, enc.finishBatch());
    expect(rx.receive(bytes, bytes.length, MASTER, 5000)).toBe(SYNC_ACCEPTED);
    expect(rx.recordCount).toBe(0);
    expect(rx.lastAcceptedAtMs).toBe(5000);
  });

  test("a foreign source is refused, with or without a key, and so is a sender id that is not the peer", () => {
    const enc = encoder();
    const bytes = datagram(enc, enc.finishBatch());
    expect(result(receiver(), bytes, ip("172.16.1.99"))).toBe("foreign_source");
    expect(syncSourceAllowed(MASTER, MASTER)).toBe(true);
    expect(syncSourceAllowed(BACKUP, MASTER)).toBe(false);
    // The right key, the right UDP source, another sender id inside.
    const other = encoder({ key: "secret", senderId: ip("172.16.1.99") });
    expect(result(receiver("secret"), datagram(other, other.finishBatch()))).toBe("foreign_source");
  });

  test("a wrong key is refused and installs nothing", () => {
    const enc = encoder({ key: "wrong" });
    enc.addUpsert(1, 1, 1, 1, 1);
    const rx = receiver("secret");
    expect(result(rx, datagram(enc, enc.finishBatch()))).toBe("bad_mac");
    expect(rx.recordCount).toBe(0);
    expect(() => rx.record(0, createSyncRecord())).toThrow(RangeError);
  });

  test("a MAC where none is configured, or none where one is, is an auth mismatch", () => {
    const signed = encoder({ key: "secret" });
    expect(result(receiver(), datagram(signed, signed.finishBatch()))).toBe("auth_mismatch");
    const unsigned = encoder();
    expect(result(receiver("secret"), datagram(unsigned, unsigned.finishBatch()))).toBe("auth_mismatch");
  });

  test("any changed byte of a signed datagram is refused", () => {
    const enc = encoder({ key: "secret" });
    enc.addUpsert(7, ip("198.51.100.1"), 1000, 3, 5);
    const bytes = datagram(enc, enc.finishBatch());
    for (let at = 0; at < bytes.length; at++) {
      const changed = bytes.slice();
      changed[at]! ^= 0x01;
      expect(result(receiver("secret"), changed)).not.toBe("accepted");
    }
    expect(result(receiver("secret"), bytes)).toBe("accepted");
  });

  test("a replayed batch is refused, so is an older epoch; a newer epoch (a restart) is taken", () => {
    const rx = receiver("secret");
    const enc = encoder({ key: "secret" });
    enc.addUpsert(1, 1, 0, 1, 0);
    const first = datagram(enc, enc.finishBatch());
    const second = datagram(enc, enc.finishBatch());
    expect(result(rx, first)).toBe("accepted");
    expect(result(rx, second)).toBe("accepted");
    expect(result(rx, first)).toBe("replay");
    expect(result(rx, second)).toBe("replay");
    const old = encoder({ key: "secret", epochMs: EPOCH - 1 });
    expect(result(rx, datagram(old, old.finishBatch()))).toBe("replay");
    const restarted = encoder({ key: "secret", epochMs: EPOCH + 60_000 });
    expect(result(rx, datagram(restarted, restarted.finishBatch()))).toBe("accepted");
    expect(rx.newEpoch).toBe(true);
    expect(rx.sequence).toBe(1);
    // The old epoch is over: its next datagram is refused too.
    expect(result(rx, datagram(enc, enc.finishBatch()))).toBe("replay");
    expect(rx.counts[SYNC_RESULTS.indexOf("replay")]).toBe(4);
  });

  test("a refused datagram does not move the replay window", () => {
    const rx = receiver("secret");
    const enc = encoder({ key: "secret" });
    const good = datagram(enc, enc.finishBatch());
    const bad = datagram(enc, enc.finishBatch());
    bad[bad.length - 1]! ^= 0xff;
    expect(result(rx, bad)).toBe("bad_mac");
    expect(result(rx, good)).toBe("accepted");
  });

  test("every truncation of a datagram is refused", () => {
    const enc = encoder({ key: "secret" });
    enc.addUpsert(1, 1, 0, 1, 0);
    enc.addUpsert(2, 2, 0, 2, 0);
    const bytes = datagram(enc, enc.finishBatch());
    for (let length = 0; length < bytes.length; length++) {
      expect(result(receiver("secret"), bytes.subarray(0, length))).toBe("bad_length");
    }
    // A length beyond the bytes given is refused, not read.
    expect(result(receiver("secret"), bytes, MASTER, bytes.length + 1)).toBe("bad_length");
  });

  test("over-long counts: beyond the maximum, or beyond the bytes that came", () => {
    const enc = encoder();
    enc.addUpsert(1, 1, 0, 1, 0);
    const bytes = datagram(enc, enc.finishBatch());
    const tooMany = bytes.slice();
    new DataView(tooMany.buffer).setUint16(28, MAX_SYNC_RECORDS + 1);
    expect(result(receiver(), tooMany)).toBe("bad_count");
    const allOnes = bytes.slice();
    new DataView(allOnes.buffer).setUint16(28, 0xffff);
    expect(result(receiver(), allOnes)).toBe("bad_count");
    const more = bytes.slice();
    new DataView(more.buffer).setUint16(28, 2);
    expect(result(receiver(), more)).toBe("bad_length");
    const oversized = new Uint8Array(MAX_SYNC_DATAGRAM + 1);
    oversized.set(bytes);
    expect(result(receiver(), oversized)).toBe("bad_length");
  });

  test("wrong version, bad magic, unknown type, flags or reserved bits", () => {
    const enc = encoder();
    const bytes = datagram(enc, enc.finishBatch());
    const cases: [number, number, string][] = [
      [4, 2, "wrong_version"],
      [0, 0x41, "malformed"],
      [5, 0, "malformed"],
      [5, 5, "malformed"],
      [6, 2, "malformed"],
      [7, 1, "malformed"],
      [30, 1, "malformed"],
    ];
    for (const [at, value, expected] of cases) {
      const changed = bytes.slice();
      changed[at] = value;
      expect([at, result(receiver(), changed)]).toEqual([at, expected]);
    }
  });

  test("records in a control message, a zero epoch or sequence are malformed", () => {
    const enc = encoder();
    enc.addUpsert(1, 1, 0, 1, 0);
    const batch = datagram(enc, enc.finishBatch());
    const control = batch.slice();
    control[5] = SYNC_FULL_END;
    expect(result(receiver(), control)).toBe("malformed");
    const zeroSequence = batch.slice();
    zeroSequence.fill(0, 20, 28);
    expect(result(receiver(), zeroSequence)).toBe("malformed");
    const zeroEpoch = batch.slice();
    zeroEpoch.fill(0, 12, 20);
    expect(result(receiver(), zeroEpoch)).toBe("malformed");
    const hugeSequence = batch.slice();
    hugeSequence.fill(0xff, 20, 28);
    expect(result(receiver(), hugeSequence)).toBe("malformed");
  });

  test("a record out of range spoils the whole batch", () => {
    const record = SYNC_HEADER_LEN + SYNC_RECORD_LEN; // the second record
    const cases: [string, (view: DataView) => void][] = [
      ["server 0", (view) => view.setUint16(record + 2, 0)],
      ["server 4096", (view) => view.setUint16(record + 2, 4096)],
      ["upsert to target 0", (view) => view.setUint16(record + 4, 0)],
      ["upsert to target 4096", (view) => view.setUint16(record + 4, 4096)],
      ["idle beyond a year", (view) => view.setUint32(record + 12, MAX_SYNC_IDLE_S + 1)],
      ["unknown operation", (view) => view.setUint8(record, 3)],
      ["reserved byte set", (view) => view.setUint8(record + 1, 1)],
      ["removal with a target", (view) => (view.setUint8(record, SYNC_REMOVE), view.setUint16(record + 4, 1))],
      ["removal with an idle time", (view) => (view.setUint8(record, SYNC_REMOVE), view.setUint16(record + 4, 0), view.setUint32(record + 12, 1))],
    ];
    for (const [what, spoil] of cases) {
      const enc = encoder();
      enc.addUpsert(1, 1, 0, 1, 0);
      enc.addUpsert(2, 2, 0, 2, 0);
      const bytes = datagram(enc, enc.finishBatch());
      spoil(new DataView(bytes.buffer));
      const rx = receiver();
      expect([what, result(rx, bytes)]).toEqual([what, "bad_record"]);
      expect(rx.recordCount).toBe(0);
    }
  });

  test("random bytes never throw; with a key they are never accepted, without one only when well-formed", () => {
    let seed = 99;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 8;
    };
    const header = (() => {
      const enc = encoder();
      return datagram(enc, enc.finishBatch()).subarray(0, SYNC_HEADER_LEN);
    })();
    const buffer = new Uint8Array(2000);
    for (const key of [undefined, "secret"]) {
      const rx = receiver(key);
      for (let round = 0; round < 20_000; round++) {
        const length = random() % 2000;
        for (let i = 0; i < length; i++) buffer[i] = random() & 0xff;
        // Half of them start with a valid header up to the sequence, so the deeper checks run.
        if (round % 2 === 0) buffer.set(header.subarray(0, Math.min(length, 12 + (round % 17))));
        const outcome = rx.receive(buffer, length, MASTER, round);
        if (outcome !== SYNC_ACCEPTED) continue;
        // Without a key anything well-formed from the peer's address is the peer's: then it must
        // be exactly a header and its records, each in range.
        expect(key).toBeUndefined();
        expect(length).toBe(SYNC_HEADER_LEN + rx.recordCount * SYNC_RECORD_LEN);
        for (const record of records(rx)) expect(record.serverId >= 1 && record.serverId <= 4095).toBe(true);
      }
      expect(rx.counts.reduce((sum, count) => sum + count, 0)).toBe(20_000);
      if (key) expect(rx.counts[SYNC_ACCEPTED]).toBe(0);
      expect(rx.counts[SYNC_RESULTS.indexOf("malformed")]).toBeGreaterThan(0);
      expect(rx.counts[SYNC_RESULTS.indexOf("bad_length")]).toBeGreaterThan(0);
    }
  });
});
