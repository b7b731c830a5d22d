// Weighted picks over a server's active list, whose entries carry cumulative weights.

import { ACTIVE_CUMULATIVE_WEIGHT, ACTIVE_STRIDE } from "../table-layout.ts";
import { gcd } from "./numbers.ts";


/**
 * The multiplier that spreads weighted round robin: pick n lands on weight position
 * (n * stride) mod total. A stride coprime to the total visits every position once per cycle
 * (exact proportions), and one near total/phi interleaves the targets instead of sending each
 * target's whole weight in a row.
 */
export function wrrStride(totalWeight: number): number {
  if (totalWeight <= 2) return 1;
  let stride = Math.max(1, Math.floor(totalWeight * 0.6180339887));
  while (gcd(stride, totalWeight) !== 1) stride++;
  return stride;
}

/**
 * Position in the active list (at word `activeAt`, `count` entries) of the entry whose
 * cumulative-weight interval holds `point` (0 <= point < total weight): a binary search.
 */
export function positionOfWeight(words: Int32Array, activeAt: number, count: number, point: number): number {
  let low = 0;
  let high = count - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((words[activeAt + middle * ACTIVE_STRIDE + ACTIVE_CUMULATIVE_WEIGHT] ?? 0) > point) high = middle;
    else low = middle + 1;
  }
  return low;
}
