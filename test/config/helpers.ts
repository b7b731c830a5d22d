// Shared by the configuration tests: a reproducible PRNG and model comparison without positions.
import type { Config } from "../../src/config/model.ts";

/** mulberry32: small, fast and seedable, so a failing case can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** The model with every `pos` and the file name removed: what parse(print(x)) must preserve. */
export function withoutPositions(config: Config): unknown {
  return JSON.parse(JSON.stringify({ ...config, file: undefined }, (key, value: unknown) => (key === "pos" ? undefined : value)));
}
