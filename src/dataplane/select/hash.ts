// Fixed, documented hash functions: two bng nodes with the same config must compute the same
// values, so nothing here may depend on a seed chosen at run time.

/** FNV-1a over the four bytes of an IPv4 address, most significant first. */
export function fnv1aIpv4(ip: number): number {
  let hash = 0x811c9dc5;
  hash = Math.imul(hash ^ (ip >>> 24), 0x01000193);
  hash = Math.imul(hash ^ ((ip >>> 16) & 0xff), 0x01000193);
  hash = Math.imul(hash ^ ((ip >>> 8) & 0xff), 0x01000193);
  hash = Math.imul(hash ^ (ip & 0xff), 0x01000193);
  return hash >>> 0;
}

/** MurmurHash3's 32-bit finaliser: a full-avalanche mix of one word. */
export function mix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Mixes two words under a seed (order matters): (a, b) -> 32-bit hash. */
export function hashPair(a: number, b: number, seed: number): number {
  return mix32(Math.imul(mix32(a ^ seed), 0x9e3779b1) ^ b);
}
