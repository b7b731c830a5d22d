// What methods `agent` and `bandwidth` choose by, per target id, in one SharedArrayBuffer made
// once at start: the load the target's agent last reported, and the bytes a second bng forwarded
// to it over the last few seconds. The control thread is the only writer (an agent's reply, a
// rate computed each second); workers read when they choose a target for a new session. Plain
// Float64 stores and loads, as the counters use: an aligned 8-byte access is never torn on
// x86-64/arm64, and a reader that sees the previous value for a moment chooses as it would have
// a moment earlier. No table is rebuilt or republished for a new value.

import { ID_LIMIT } from "./table-layout.ts";

/** The load of a target whose agent has not reported one: it counts as the highest. */
export const NO_LOAD = Number.POSITIVE_INFINITY;

const LOADS_AT = 0;
const BANDWIDTHS_AT = ID_LIMIT;
const SLOTS = 2 * ID_LIMIT;

export class TargetMetrics {
  readonly buffer: SharedArrayBuffer;
  private readonly values: Float64Array;

  /** A new region: every load NO_LOAD, every bandwidth 0. */
  static create(): TargetMetrics {
    const metrics = new TargetMetrics(new SharedArrayBuffer(SLOTS * 8));
    metrics.values.fill(NO_LOAD, LOADS_AT, LOADS_AT + ID_LIMIT);
    return metrics;
  }

  /** A view of a region made by create() (a worker's side). */
  constructor(buffer: SharedArrayBuffer) {
    if (buffer.byteLength !== SLOTS * 8) throw new RangeError(`target metrics need ${SLOTS * 8} bytes, got ${buffer.byteLength}`);
    this.buffer = buffer;
    this.values = new Float64Array(buffer);
  }

  /** The load target `id`'s agent last reported, NO_LOAD when none. */
  load(id: number): number {
    return this.values[LOADS_AT + id] ?? NO_LOAD;
  }

  /** Records target `id`'s load; undefined (no reply yet, or the target was replaced) makes it NO_LOAD. */
  setLoad(id: number, load: number | undefined): void {
    this.values[LOADS_AT + id] = load === undefined || !(load >= 0) ? NO_LOAD : load;
  }

  /** Bytes a second forwarded to target `id` over the last few seconds. */
  bandwidth(id: number): number {
    return this.values[BANDWIDTHS_AT + id] ?? 0;
  }

  setBandwidth(id: number, bytesPerS: number): void {
    this.values[BANDWIDTHS_AT + id] = bytesPerS;
  }
}
