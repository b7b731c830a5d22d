// Each received frame's verdict and the counts that go with it: the processor and the ARP
// decision record into one of these per worker (preallocated per rx slot, nothing per frame).

import * as C from "./counters.ts";

export const VERDICT_FORWARD = 1;
export const VERDICT_REPLY = 2;
export const VERDICT_DROP = 3;
export const VERDICT_PASS = 4;

export class Verdicts {
  /** Per rx slot after a batch: VERDICT_*. */
  readonly verdicts: Uint8Array;
  /** Per rx slot after a batch: the drop or pass reason index (counters.ts) of that verdict, else 0. */
  readonly reasons: Uint8Array;

  /** `counters` is the worker's region (counters.ts `workerCounters`). */
  constructor(
    slotCount: number,
    readonly counters: Float64Array,
  ) {
    this.verdicts = new Uint8Array(slotCount);
    this.reasons = new Uint8Array(slotCount);
  }

  count(index: number, amount: number): void {
    this.counters[index] = (this.counters[index] ?? 0) + amount;
  }

  /** Counts a drop for `reason` (C.DROP) and returns VERDICT_DROP. */
  drop(slot: number, reason: number): number {
    this.reasons[slot] = reason;
    this.count(C.DROPS_AT + reason, 1);
    return VERDICT_DROP;
  }

  /** Counts a pass for `reason` (C.PASS) and returns VERDICT_PASS. */
  pass(slot: number, reason: number): number {
    this.reasons[slot] = reason;
    this.count(C.PASSES_AT + reason, 1);
    return VERDICT_PASS;
  }
}
