// Publishing forwarding tables to workers. A table is a fresh SharedArrayBuffer per change;
// the exchange is one small SharedArrayBuffer shared once at worker start:
//   word 0        the newest published generation (the control side bumps it with Atomics)
//   word 1 + i    the generation worker i runs on (the worker acknowledges after switching)
// The control side stamps the table, bumps word 0 and posts the buffer to every worker; a
// worker checks word 0 after each receive (one atomic load), and when it moved, takes the posted
// buffers (synchronously, e.g. receiveMessageOnPort) and switches. Tables are immutable once
// published, so a worker never sees a half-built one, and the acknowledgements tell the
// control side when no worker uses an older generation any more.

import { ForwardingTable } from "./table.ts";
import { H_GENERATION } from "./table-layout.ts";

const PUBLISHED = 0;
const ACK_BASE = 1;

export function createTableExchange(workerCount: number): SharedArrayBuffer {
  return new SharedArrayBuffer((ACK_BASE + workerCount) * 4);
}

export class TablePublisher {
  private readonly words: Int32Array;

  constructor(exchange: SharedArrayBuffer) {
    this.words = new Int32Array(exchange);
  }

  get generation(): number {
    return Atomics.load(this.words, PUBLISHED);
  }

  /**
   * Stamps `table` with the next generation and announces it. The caller then posts
   * `table.buffer` to every worker. Returns the generation.
   */
  publish(table: ForwardingTable): number {
    const generation = this.generation + 1;
    Atomics.store(table.words, H_GENERATION, generation);
    Atomics.store(this.words, PUBLISHED, generation);
    return generation;
  }

  /** Whether every worker runs on `generation` or newer. */
  allWorkersOn(generation: number): boolean {
    for (let i = ACK_BASE; i < this.words.length; i++) if (Atomics.load(this.words, i) < generation) return false;
    return true;
  }
}

export class TableSubscriber {
  private readonly words: Int32Array;
  private current: ForwardingTable;

  /** Worker `workerIndex`'s side, starting on `initial` (the table it was started with). */
  constructor(
    exchange: SharedArrayBuffer,
    private readonly workerIndex: number,
    initial: ForwardingTable,
  ) {
    this.words = new Int32Array(exchange);
    this.current = initial;
    Atomics.store(this.words, ACK_BASE + workerIndex, initial.generation);
  }

  get table(): ForwardingTable {
    return this.current;
  }

  /** True when a newer table was published than the one in use: drain the posted buffers. */
  hasNewer(): boolean {
    return Atomics.load(this.words, PUBLISHED) !== this.current.generation;
  }

  /** Takes a posted table buffer; switches to it when it is newer than the current one. */
  adopt(buffer: SharedArrayBuffer): ForwardingTable {
    const table = new ForwardingTable(buffer);
    if (table.generation > this.current.generation) {
      this.current = table;
      Atomics.store(this.words, ACK_BASE + this.workerIndex, table.generation);
    }
    return this.current;
  }
}
