import { describe, expect, test } from "bun:test";
import { JOURNAL_CREATED } from "../../src/dataplane/session-journal.ts";
import { SyncJournal } from "../../src/ha/sync-journal.ts";

/** Any operation byte goes through the ring unchanged. */
const OTHER_OP = 2;
const LAST_OP = 255;
import { recordFields, type ProducerJob } from "./journal-producer.worker.ts";

type Drained = [op: number, serverId: number, clientIp: number, clientPort: number, targetId: number, timeS: number];

function drainAll(journal: SyncJournal, max = Infinity): Drained[] {
  const out: Drained[] = [];
  journal.drain(max, (...record) => out.push(record));
  return out;
}

describe("one thread", () => {
  test("records come out in order with every field intact, extremes included", () => {
    const journal = SyncJournal.create(16);
    expect(journal.append(JOURNAL_CREATED, 1, 0xffffffff, 65535, 4095, 0)).toBe(true);
    expect(journal.append(OTHER_OP, 4095, 0x80000000, 0, 1, 2_000_000_000)).toBe(true);
    expect(journal.append(LAST_OP, 17, 0x0a000001, 443, 0, 12)).toBe(true);
    expect(journal.pending).toBe(3);
    expect(drainAll(journal)).toEqual([
      [JOURNAL_CREATED, 1, 0xffffffff, 65535, 4095, 0],
      [OTHER_OP, 4095, 0x80000000, 0, 1, 2_000_000_000],
      [LAST_OP, 17, 0x0a000001, 443, 0, 12],
    ]);
    expect(journal.pending).toBe(0);
    expect(drainAll(journal)).toEqual([]);
  });

  test("drain takes at most `max` records and leaves the rest", () => {
    const journal = SyncJournal.create(8);
    for (let n = 0; n < 5; n++) journal.append(JOURNAL_CREATED, 1, n, 0, 1, n);
    expect(drainAll(journal, 2).map((record) => record[2])).toEqual([0, 1]);
    expect(drainAll(journal, 10).map((record) => record[2])).toEqual([2, 3, 4]);
  });

  test("a full ring drops and counts; takeOverflows reports each overflow once", () => {
    const journal = SyncJournal.create(5);
    expect(journal.capacity).toBe(8);
    const appended = Array.from({ length: 11 }, (_, n) => journal.append(JOURNAL_CREATED, 1, n, 0, 1, n));
    expect(appended.filter(Boolean).length).toBe(8);
    expect(journal.overflows).toBe(3);
    expect(journal.takeOverflows()).toBe(3);
    expect(journal.takeOverflows()).toBe(0);
    // Room again after a drain: the dropped records are gone, the next ones go in.
    expect(drainAll(journal, 2).map((record) => record[2])).toEqual([0, 1]);
    expect(journal.append(JOURNAL_CREATED, 1, 100, 0, 1, 0)).toBe(true);
    expect(drainAll(journal).map((record) => record[2])).toEqual([2, 3, 4, 5, 6, 7, 100]);
  });

  test.each([0x7ffffffe, -3])("the counts wrap (from %i) without losing or repeating a record", (start) => {
    const journal = SyncJournal.create(4);
    // White box: start both counts just below a wrap (write count at word 16, read count at 32).
    const words = new Int32Array(journal.buffer);
    words[16] = start;
    words[32] = start;
    const fresh = new SyncJournal(journal.buffer);
    let next = 0;
    const seen: number[] = [];
    for (let round = 0; round < 10; round++) {
      while (fresh.append(JOURNAL_CREATED, 1, next, 0, 1, 0)) next++;
      seen.push(...drainAll(fresh, 3).map((record) => record[2]));
    }
    seen.push(...drainAll(fresh).map((record) => record[2]));
    expect(seen).toEqual(Array.from({ length: next }, (_, n) => n));
    // The write count crossed the sign bit (from 2^31 - 2) or zero (from 2^32 - 3).
    expect(Math.sign(words[16]!)).toBe(-Math.sign(start));
  });

  test("attaching checks the buffer", () => {
    expect(() => new SyncJournal(new SharedArrayBuffer(1024))).toThrow(TypeError);
    expect(() => SyncJournal.create(0)).toThrow(RangeError);
  });
});

describe("two threads", () => {
  async function produce(records: number, capacity: number, waitForRoom: boolean) {
    const journal = SyncJournal.create(capacity);
    const control = new SharedArrayBuffer(8);
    const controlWords = new Int32Array(control);
    const worker = new Worker(new URL("./journal-producer.worker.ts", import.meta.url).href);
    const done = new Promise<{ dropped: number }>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<{ dropped: number }>) => resolve(event.data);
      worker.onerror = (event) => reject(new Error(`producer failed: ${event.message}`));
    });
    try {
      const job: ProducerJob = { journal: journal.buffer, control, records, waitForRoom };
      worker.postMessage(job);
      while (Atomics.load(controlWords, 0) === 0) await Bun.sleep(1);
      // Drain while the worker appends, checking every record against its number.
      let expectedNext = 0;
      let drained = 0;
      let wrong = 0;
      let drainsWithRecords = 0;
      const check = (_op: number, serverId: number, clientIp: number, clientPort: number, targetId: number, timeS: number) => {
        // timeS carries the record's number; with drops it may skip ahead, never back.
        if (timeS < expectedNext) wrong++;
        const fields = recordFields(timeS);
        if (fields.serverId !== serverId || fields.clientIp !== clientIp || fields.clientPort !== clientPort || fields.targetId !== targetId) wrong++;
        expectedNext = timeS + 1;
        drained++;
      };
      const deadline = Date.now() + 30_000;
      for (;;) {
        const finished = Atomics.load(controlWords, 1) === 1;
        const count = journal.drain(1000, check);
        if (count > 0) drainsWithRecords++;
        if (finished && count === 0 && journal.pending === 0) break;
        if (Date.now() > deadline) throw new Error(`drained ${drained} of ${records} in 30 s`);
      }
      const { dropped } = await done;
      return { drained, wrong, dropped, overflows: journal.overflows, drainsWithRecords };
    } finally {
      worker.terminate();
    }
  }

  test("waiting for room, a million records cross intact and in order", async () => {
    const result = await produce(1_000_000, 1024, true);
    expect(result.wrong).toBe(0);
    expect(result.drained).toBe(1_000_000);
    expect(result.dropped).toBe(0);
    // The ring was drained many times over while the worker appended.
    expect(result.drainsWithRecords).toBeGreaterThan(100);
  }, 60_000);

  test("never waiting, every record is either drained intact or counted as an overflow", async () => {
    const result = await produce(1_000_000, 256, false);
    expect(result.wrong).toBe(0);
    expect(result.drained + result.overflows).toBe(1_000_000);
    expect(result.overflows).toBe(result.dropped);
    // A 256-record ring against a producer that never waits: both outcomes really happened.
    expect(result.drained).toBeGreaterThan(0);
    expect(result.overflows).toBeGreaterThan(0);
  }, 60_000);
});
