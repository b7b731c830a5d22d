// How the master learns which sessions to stream to its peer without a message per packet: each
// data-plane worker owns a journal, a fixed-size single-producer single-consumer ring of session
// records in a SharedArrayBuffer (the data plane sees it as a SessionJournal,
// src/dataplane/session-journal.ts). The worker appends a record when it creates a session; the
// control thread drains every worker's journal into sync batches (src/control/session-sync.ts).
// Appending is a few stores and one Atomics.store; nothing is allocated, nothing waits. A full
// ring drops the record and counts an overflow; the control side then knows its stream has a hole
// and sends the peer the whole table instead (takeOverflows).
//
// Layout (32-bit words): a header line, the producer's write count and the consumer's read count
// on cache lines of their own (no false sharing between the two threads), then the records, four
// words each: op << 24 | server << 12 | target, client address, client port, session time (s).
// The counts only grow (wrapping at 2^32); their difference is the fill, their low bits the slot.
// The producer writes a record with plain stores and then publishes it by storing the write count
// with Atomics.store; the consumer's Atomics.load of that count orders its reads after them
// (the JavaScript memory model's synchronizes-with), and the same holds the other way for slots
// handed back by the read count.

import { MAX_OBJECT_ID } from "../config/model.ts";

const MAGIC = 0x424e534a; // "BNSJ"
const H_MAGIC = 0;
const H_CAPACITY = 1;
/** Words per cache line (64 bytes). */
const LINE_WORDS = 16;
const W_WRITE = LINE_WORDS;
const W_OVERFLOWS = LINE_WORDS + 1;
const W_READ = 2 * LINE_WORDS;
const RECORDS_AT = 3 * LINE_WORDS;
const RECORD_WORDS = 4;


const ID_BITS = 12;
const ID_MASK = (1 << ID_BITS) - 1;
if (MAX_OBJECT_ID > ID_MASK) throw new Error("sync journal: object ids do not fit ID_BITS");

/** Called for each drained record, in the order the worker appended them. */
export type JournalVisitor = (op: number, serverId: number, clientIp: number, clientPort: number, targetId: number, timeS: number) => void;

export class SyncJournal {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  private readonly words: Int32Array;
  private readonly mask: number;
  /** The producer's last view of the read count (refreshed only when the ring looks full). */
  private readSeen: number;
  /** The consumer's count of overflows already reported by takeOverflows. */
  private overflowsTaken = 0;

  /** A journal of `capacity` records (rounded up to a power of two). */
  static create(capacity: number): SyncJournal {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 24) throw new RangeError(`sync journal capacity ${capacity}: expected 1 to 2^24`);
    let slots = 1;
    while (slots < capacity) slots *= 2;
    const buffer = new SharedArrayBuffer((RECORDS_AT + slots * RECORD_WORDS) * 4);
    const words = new Int32Array(buffer);
    words[H_MAGIC] = MAGIC;
    words[H_CAPACITY] = slots;
    return new SyncJournal(buffer);
  }

  /** Attaches to a journal made elsewhere (the worker's end or the control thread's). */
  constructor(buffer: SharedArrayBuffer) {
    const words = new Int32Array(buffer);
    if (words[H_MAGIC] !== MAGIC) throw new TypeError("not a bng sync journal");
    this.buffer = buffer;
    this.words = words;
    this.capacity = words[H_CAPACITY]!;
    this.mask = this.capacity - 1;
    this.readSeen = Atomics.load(words, W_READ);
  }

  /**
   * Producer (one worker) only. Appends a record; false when the ring is full (the record is
   * dropped and counted). Ids are 1-MAX_OBJECT_ID (target 0 allowed in a removal), the port
   * 0-65535, `timeS` the session table's time in seconds.
   */
  append(op: number, serverId: number, clientIp: number, clientPort: number, targetId: number, timeS: number): boolean {
    const words = this.words;
    const write = words[W_WRITE]!;
    if (((write - this.readSeen) | 0) >= this.capacity) {
      this.readSeen = Atomics.load(words, W_READ);
      if (((write - this.readSeen) | 0) >= this.capacity) {
        Atomics.store(words, W_OVERFLOWS, (words[W_OVERFLOWS]! + 1) | 0);
        return false;
      }
    }
    const at = RECORDS_AT + (write & this.mask) * RECORD_WORDS;
    words[at] = (op << 24) | ((serverId & ID_MASK) << ID_BITS) | (targetId & ID_MASK);
    words[at + 1] = clientIp | 0;
    words[at + 2] = clientPort & 0xffff;
    words[at + 3] = timeS | 0;
    Atomics.store(words, W_WRITE, (write + 1) | 0);
    return true;
  }

  /** Consumer (the control thread) only. Hands up to `max` records to `visit`; returns how many. */
  drain(max: number, visit: JournalVisitor): number {
    const words = this.words;
    const read = words[W_READ]!;
    const available = (Atomics.load(words, W_WRITE) - read) | 0;
    const count = available < max ? available : max;
    for (let i = 0; i < count; i++) {
      const at = RECORDS_AT + ((read + i) & this.mask) * RECORD_WORDS;
      const head = words[at]!;
      visit(head >>> 24, (head >>> ID_BITS) & ID_MASK, words[at + 1]! >>> 0, words[at + 2]!, head & ID_MASK, words[at + 3]!);
    }
    if (count > 0) Atomics.store(words, W_READ, (read + count) | 0);
    return count;
  }

  /** Records appended and not yet drained. */
  get pending(): number {
    return (Atomics.load(this.words, W_WRITE) - Atomics.load(this.words, W_READ)) | 0;
  }

  /** Records dropped because the ring was full, since it was made. */
  get overflows(): number {
    return Atomics.load(this.words, W_OVERFLOWS) >>> 0;
  }

  /**
   * Consumer only: how many records overflowed since the last call. Non-zero means the peer
   * missed events: send it the full table.
   */
  takeOverflows(): number {
    const total = this.overflows;
    const fresh = (total - this.overflowsTaken) >>> 0;
    this.overflowsTaken = total;
    return fresh;
  }
}
