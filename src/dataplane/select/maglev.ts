// Maglev lookup tables (Eisenbud et al., NSDI 2016, §3.4) with weights. Every backend walks its
// own permutation of the M slots (offset and skip derived from its address and port, so the
// table depends only on the configuration), and backends take turns claiming their next free
// preferred slot. Weights: a backend gets `weight` claims per round (weights reduced by their
// gcd), the scheme Katran uses, so its share of slots is proportional to its weight.

import { hashPair } from "./hash.ts";
import { gcd, isPrime } from "./numbers.ts";

const OFFSET_SEED = 0x6d61676c; // "magl"
const SKIP_SEED = 0x65763031; // "ev01"
const CLIENT_SEED = 0x636c6e74; // "clnt"

export interface MaglevBackend {
  ip: number;
  port: number;
  weight: number;
}



/**
 * Fills `out` (length M, prime, larger than the number of backends) with positions in
 * `backends`. Deterministic: the same backends in the same order give the same table.
 */
export function fillMaglevTable(backends: readonly MaglevBackend[], out: Uint16Array): void {
  const size = out.length;
  if (!isPrime(size)) throw new RangeError(`maglev table size ${size} is not prime`);
  if (backends.length === 0 || backends.length >= size || backends.length > 0xffff) {
    throw new RangeError(`maglev needs 1 to ${Math.min(size - 1, 0xffff)} backends, got ${backends.length}`);
  }
  const count = backends.length;
  const position = new Float64Array(count);
  const skip = new Float64Array(count);
  const turns = new Int32Array(count);
  let divisor = 0;
  for (const backend of backends) divisor = gcd(divisor, backend.weight);
  for (let i = 0; i < count; i++) {
    const backend = backends[i]!;
    position[i] = hashPair(backend.ip, backend.port, OFFSET_SEED) % size;
    skip[i] = (hashPair(backend.ip, backend.port, SKIP_SEED) % (size - 1)) + 1;
    turns[i] = backend.weight / divisor;
  }
  const claimed = new Uint8Array(size);
  let filled = 0;
  for (;;) {
    for (let i = 0; i < count; i++) {
      for (let turn = turns[i]!; turn > 0; turn--) {
        let slot = position[i]!;
        while (claimed[slot] === 1) slot = (slot + skip[i]!) % size;
        claimed[slot] = 1;
        out[slot] = i;
        position[i] = (slot + skip[i]!) % size;
        if (++filled === size) return;
      }
    }
  }
}

/** The slot a client falls on: a stable hash of its address (and port when sessions use it). */
export function maglevSlot(clientIp: number, clientPort: number, size: number): number {
  return hashPair(clientIp, clientPort, CLIENT_SEED) % size;
}
