// Learned neighbours: target MAC addresses the data plane saw in ARP, by target id, for the
// control side to read. Workers write, the control side reads; each entry has a sequence
// number that a writer claims (even -> odd with compareExchange) so a reader never sees half
// of a MAC, and two workers learning the same target at once do not interleave.

import { ID_LIMIT } from "./table-layout.ts";
import { writeMac } from "./frame.ts";

const N_SEQUENCE = 0;
const N_MAC_HIGH = 1;
const N_MAC_LOW = 2;
/** How many ARP frames from this target were seen: grows with every refresh answered. */
const N_SIGHTINGS = 3;
const ENTRY_WORDS = 4;

export interface LearnedNeighbour {
  mac: Uint8Array;
  sightings: number;
}

export class NeighbourTable {
  readonly buffer: SharedArrayBuffer;
  private readonly words: Int32Array;

  static create(): NeighbourTable {
    return new NeighbourTable(new SharedArrayBuffer(ID_LIMIT * ENTRY_WORDS * 4));
  }

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.words = new Int32Array(buffer);
  }

  /** Records that target `id` answers at the given MAC. Gives up if another worker is writing it. */
  record(id: number, macHigh: number, macLow: number): void {
    const at = id * ENTRY_WORDS;
    const sequence = Atomics.load(this.words, at + N_SEQUENCE);
    if ((sequence & 1) === 1) return;
    if (Atomics.compareExchange(this.words, at + N_SEQUENCE, sequence, sequence + 1) !== sequence) return;
    Atomics.store(this.words, at + N_MAC_HIGH, macHigh);
    Atomics.store(this.words, at + N_MAC_LOW, macLow);
    Atomics.add(this.words, at + N_SIGHTINGS, 1);
    Atomics.store(this.words, at + N_SEQUENCE, sequence + 2);
  }

  /** How many ARP frames from target `id` were seen: a cheap test, without allocating, for whether to read() again. */
  sightings(id: number): number {
    return Atomics.load(this.words, id * ENTRY_WORDS + N_SIGHTINGS);
  }

  /** What was learned about target `id`, or undefined when no ARP from it was seen yet. */
  read(id: number): LearnedNeighbour | undefined {
    const at = id * ENTRY_WORDS;
    for (;;) {
      const sequence = Atomics.load(this.words, at + N_SEQUENCE);
      if ((sequence & 1) === 1) continue;
      const macHigh = Atomics.load(this.words, at + N_MAC_HIGH);
      const macLow = Atomics.load(this.words, at + N_MAC_LOW);
      const sightings = Atomics.load(this.words, at + N_SIGHTINGS);
      if (Atomics.load(this.words, at + N_SEQUENCE) !== sequence) continue;
      if (sightings === 0) return undefined;
      const mac = new Uint8Array(6);
      writeMac(mac, 0, macHigh, macLow >>> 0);
      return { mac, sightings };
    }
  }
}
