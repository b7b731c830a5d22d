// Learned neighbours: target MAC addresses the data plane saw in ARP, by target id, for the
// control side to read. Each entry has a sequence number that a writer claims (even -> odd with
// compareExchange) so a reader never sees half of a MAC and two writers never interleave.
//
// A target's first MAC is learned from any ARP frame from its address. After that, an ARP frame
// from its address with another MAC does not change it (anyone on the segment can send one): it
// becomes the entry's candidate, and the control side confirms it by asking itself. It marks the
// entry probing (beginProbe, with the address it asks from, its `real`) and sends an ARP request
// to the target; a reply to that request (unicast to bng's MAC, addressed to that address) that
// carries the candidate adopts it, one that carries the current MAC drops the candidate (the
// target is still where it was). Workers never record a broadcast, multicast, zero or own MAC
// (process.ts drops such ARP frames first).

import { ID_LIMIT } from "./table-layout.ts";
import { writeMac } from "./frame.ts";

const N_SEQUENCE = 0;
const N_MAC_HIGH = 1;
const N_MAC_LOW = 2;
/** ARP frames from this target that carried its MAC: grows with every refresh answered. */
const N_SIGHTINGS = 3;
/** 1 once a MAC is known (forget() clears it, keeping the counts). */
const N_MAC_KNOWN = 4;
const N_CANDIDATE_HIGH = 5;
const N_CANDIDATE_LOW = 6;
/** ARP frames from this target's address that carried another MAC than its own. */
const N_CANDIDATE_SIGHTINGS = 7;
/** 1 while a candidate waits to be confirmed or refuted. */
const N_CANDIDATE_PENDING = 8;
/** The address bng's own ARP request to the target was sent from while the control side waits for its reply; 0: none. */
const N_PROBE_FROM = 9;
/** ARP frames for a VIP with this target's MAC as sender: the target answers ARP for the VIP (DSR misconfigured). */
const N_VIP_ANSWERS = 10;
/** The VIP of the last of those. */
const N_VIP_ANSWERED = 11;
const ENTRY_WORDS = 12;

/** What observe() did with an ARP frame from a target's address. */
export const NEIGHBOUR_LEARNED = 0;
export const NEIGHBOUR_SEEN = 1;
export const NEIGHBOUR_CANDIDATE = 2;
export const NEIGHBOUR_CONFIRMED = 3;
export const NEIGHBOUR_REFUTED = 4;
/** Another writer held the entry: nothing recorded (the next ARP frame will be). */
export const NEIGHBOUR_BUSY = 5;

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

  /**
   * A worker saw an ARP frame from target `id`'s address with sender MAC (macHigh, macLow).
   * `replyTo` is the frame's target protocol address when it is an ARP reply sent to bng's own
   * MAC, else 0: such a frame answers the control side's probe when that was sent from
   * `replyTo`. Returns NEIGHBOUR_*. Gives up (BUSY) if another writer holds the entry.
   */
  observe(id: number, macHigh: number, macLow: number, replyTo: number): number {
    const words = this.words;
    const at = id * ENTRY_WORDS;
    const sequence = Atomics.load(words, at + N_SEQUENCE);
    if ((sequence & 1) === 1) return NEIGHBOUR_BUSY;
    if (Atomics.compareExchange(words, at + N_SEQUENCE, sequence, sequence + 1) !== sequence) return NEIGHBOUR_BUSY;
    const low = macLow | 0;
    const known = words[at + N_MAC_KNOWN] === 1;
    const current = known && words[at + N_MAC_HIGH] === macHigh && words[at + N_MAC_LOW] === low;
    const probeReply = replyTo !== 0 && words[at + N_PROBE_FROM] === (replyTo | 0);
    let outcome: number;
    if (!known || current) {
      outcome = known ? NEIGHBOUR_SEEN : NEIGHBOUR_LEARNED;
      if (probeReply && words[at + N_CANDIDATE_PENDING] === 1) {
        outcome = NEIGHBOUR_REFUTED;
        this.endProbeAt(at);
      }
      this.adoptAt(at, macHigh, low);
    } else if (probeReply && words[at + N_CANDIDATE_PENDING] === 1 && words[at + N_CANDIDATE_HIGH] === macHigh && words[at + N_CANDIDATE_LOW] === low) {
      outcome = NEIGHBOUR_CONFIRMED;
      this.endProbeAt(at);
      this.adoptAt(at, macHigh, low);
    } else {
      outcome = NEIGHBOUR_CANDIDATE;
      Atomics.store(words, at + N_CANDIDATE_HIGH, macHigh);
      Atomics.store(words, at + N_CANDIDATE_LOW, low);
      Atomics.store(words, at + N_CANDIDATE_PENDING, 1);
      Atomics.add(words, at + N_CANDIDATE_SIGHTINGS, 1);
    }
    Atomics.store(words, at + N_SEQUENCE, sequence + 2);
    return outcome;
  }

  /** A worker saw target `id`'s MAC answer ARP for `vip`. */
  recordVipAnswer(id: number, vip: number): void {
    const at = id * ENTRY_WORDS;
    Atomics.store(this.words, at + N_VIP_ANSWERED, vip | 0);
    Atomics.add(this.words, at + N_VIP_ANSWERS, 1);
  }

  /** How many ARP frames from target `id` carried its MAC: a cheap test, without allocating, for whether to read() again. */
  sightings(id: number): number {
    return Atomics.load(this.words, id * ENTRY_WORDS + N_SIGHTINGS);
  }

  /** How many ARP frames from target `id`'s address carried another MAC: a cheap test for whether a candidate appeared. */
  candidateSightings(id: number): number {
    return Atomics.load(this.words, id * ENTRY_WORDS + N_CANDIDATE_SIGHTINGS);
  }

  /** How many ARP frames for a VIP carried target `id`'s MAC as sender (its DSR setup answers ARP for the VIP). */
  vipAnswers(id: number): number {
    return Atomics.load(this.words, id * ENTRY_WORDS + N_VIP_ANSWERS);
  }

  /** The VIP of the last of those (0 when none). */
  lastVipAnswered(id: number): number {
    return Atomics.load(this.words, id * ENTRY_WORDS + N_VIP_ANSWERED) >>> 0;
  }

  /** Whether a probe of target `id` waits for its reply. */
  probing(id: number): boolean {
    return Atomics.load(this.words, id * ENTRY_WORDS + N_PROBE_FROM) !== 0;
  }

  /** What was learned about target `id`, or undefined when no MAC is known. */
  read(id: number): LearnedNeighbour | undefined {
    const at = id * ENTRY_WORDS;
    const words = this.words;
    for (;;) {
      const sequence = Atomics.load(words, at + N_SEQUENCE);
      if ((sequence & 1) === 1) continue;
      const known = Atomics.load(words, at + N_MAC_KNOWN);
      const macHigh = Atomics.load(words, at + N_MAC_HIGH);
      const macLow = Atomics.load(words, at + N_MAC_LOW);
      const sightings = Atomics.load(words, at + N_SIGHTINGS);
      if (Atomics.load(words, at + N_SEQUENCE) !== sequence) continue;
      if (known !== 1) return undefined;
      return { mac: macOf(macHigh, macLow), sightings };
    }
  }

  /** The MAC waiting to be confirmed for target `id`, or undefined when none is. */
  readCandidate(id: number): Uint8Array | undefined {
    const at = id * ENTRY_WORDS;
    const words = this.words;
    for (;;) {
      const sequence = Atomics.load(words, at + N_SEQUENCE);
      if ((sequence & 1) === 1) continue;
      const pending = Atomics.load(words, at + N_CANDIDATE_PENDING);
      const macHigh = Atomics.load(words, at + N_CANDIDATE_HIGH);
      const macLow = Atomics.load(words, at + N_CANDIDATE_LOW);
      if (Atomics.load(words, at + N_SEQUENCE) !== sequence) continue;
      return pending === 1 ? macOf(macHigh, macLow) : undefined;
    }
  }

  /** The control side sent an ARP request to target `id` from `fromIp` to confirm its candidate: a reply to it decides. */
  beginProbe(id: number, fromIp: number): void {
    const at = this.claim(id);
    Atomics.store(this.words, at + N_PROBE_FROM, fromIp | 0);
    this.release(at);
  }

  /** Gives up waiting for the probe's reply: the candidate is dropped. Returns whether one was still pending (unconfirmed). */
  endProbe(id: number): boolean {
    const at = this.claim(id);
    const pending = this.words[at + N_CANDIDATE_PENDING] === 1;
    this.endProbeAt(at);
    this.release(at);
    return pending;
  }

  /** Forgets target `id`'s MAC (the id now names another host): the next ARP frame from its address teaches it anew. */
  forget(id: number): void {
    const at = this.claim(id);
    Atomics.store(this.words, at + N_MAC_KNOWN, 0);
    this.endProbeAt(at);
    this.release(at);
  }

  /** Sets the entry's MAC (entry claimed). */
  private adoptAt(at: number, macHigh: number, macLow: number): void {
    const words = this.words;
    Atomics.store(words, at + N_MAC_HIGH, macHigh);
    Atomics.store(words, at + N_MAC_LOW, macLow);
    Atomics.store(words, at + N_MAC_KNOWN, 1);
    Atomics.add(words, at + N_SIGHTINGS, 1);
  }

  /** Ends a probe and drops the candidate (entry claimed). */
  private endProbeAt(at: number): void {
    Atomics.store(this.words, at + N_PROBE_FROM, 0);
    Atomics.store(this.words, at + N_CANDIDATE_PENDING, 0);
  }

  /** Claims target `id`'s entry for the control side, waiting out a worker's short write. */
  private claim(id: number): number {
    const at = id * ENTRY_WORDS;
    for (;;) {
      const sequence = Atomics.load(this.words, at + N_SEQUENCE);
      if ((sequence & 1) === 0 && Atomics.compareExchange(this.words, at + N_SEQUENCE, sequence, sequence + 1) === sequence) return at;
    }
  }

  private release(at: number): void {
    Atomics.add(this.words, at + N_SEQUENCE, 1);
  }
}

function macOf(macHigh: number, macLow: number): Uint8Array {
  const mac = new Uint8Array(6);
  writeMac(mac, 0, macHigh, macLow >>> 0);
  return mac;
}
