// Received batch sizes per worker, for the `bng_worker_batch_frames` histogram: one increment
// per batch (never per frame), each worker the only writer of its region.

/** Bucket upper bounds; a last bucket takes larger batches. */
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64] as const;
const SLOTS_PER_WORKER = BATCH_BUCKETS.length + 3;
const COUNT_AT = BATCH_BUCKETS.length + 1;
const SUM_AT = BATCH_BUCKETS.length + 2;

export function createBatchStats(workerCount: number): SharedArrayBuffer {
  return new SharedArrayBuffer(workerCount * SLOTS_PER_WORKER * 8);
}

export function workerBatchStats(buffer: SharedArrayBuffer, index: number): Float64Array {
  return new Float64Array(buffer, index * SLOTS_PER_WORKER * 8, SLOTS_PER_WORKER);
}

export function recordBatch(stats: Float64Array, frames: number): void {
  // ceil(log2(frames)): 1 -> 0, 2 -> 1, 3..4 -> 2, ... 33..64 -> 6, larger -> 7.
  const bucket = Math.min(32 - Math.clz32(frames - 1), BATCH_BUCKETS.length);
  stats[bucket]! += 1;
  stats[COUNT_AT]! += 1;
  stats[SUM_AT]! += frames;
}

export interface BatchHistogram {
  /** Non-cumulative counts per bucket of BATCH_BUCKETS, then the overflow bucket. */
  buckets: number[];
  count: number;
  sum: number;
}

export function readBatchStats(buffer: SharedArrayBuffer): BatchHistogram {
  const workers = buffer.byteLength / (SLOTS_PER_WORKER * 8);
  const total = new Array<number>(SLOTS_PER_WORKER).fill(0);
  for (let worker = 0; worker < workers; worker++) {
    const region = workerBatchStats(buffer, worker);
    for (let i = 0; i < SLOTS_PER_WORKER; i++) total[i]! += region[i] ?? 0;
  }
  return { buckets: total.slice(0, BATCH_BUCKETS.length + 1), count: total[COUNT_AT]!, sum: total[SUM_AT]! };
}
