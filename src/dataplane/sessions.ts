// The session table: (server id, client address[, client port]) -> target id, shared by every
// worker through one SharedArrayBuffer.
//
// Shape: a set-associative hash table. A key hashes to one bucket of BUCKET_WAYS consecutive
// slots and lives in any of them; lookups scan the bucket. When a bucket is full the least
// recently used session *of that bucket* is replaced (an approximate LRU: the victim is the
// oldest of 8, not of the whole table) and the eviction is counted.
//
// Concurrency: lookups take no lock. Every change of a slot (create, retarget, remove) happens
// under its bucket's spin lock (claimed with Atomics.compareExchange) and bumps the slot's
// sequence number to odd while it writes and back to even after, so a lookup that raced a writer
// sees the sequence change and falls back to the locked path. Two workers meeting the same new
// client therefore agree: the second one to take the lock finds the first one's session and
// uses its target. Refreshing the last-seen time is a single store outside the lock.
//
// Times are whole seconds since the table's epoch (a wall-clock millisecond value fixed at
// creation), so all workers and the control side agree on them. A session is idle-expired when
// now - lastSeen >= its timeout; expired sessions are reused in place and removed by sweep().

import { ID_LIMIT } from "./table-layout.ts";
import { hashPair } from "./select/hash.ts";

const MAGIC = 0x424e5301;
const BUCKET_WAYS = 8;
const BUCKET_SEED = 0x73657373; // "sess"

const H_MAGIC = 0;
const H_SLOT_COUNT = 1;
const H_BUCKET_MASK = 2;
const H_EVICTIONS = 3;
const H_CREATED = 4;
/** Index in a Float64 view of the header: bytes 24..31, clear of the Int32 fields above. */
const H_EPOCH_MS_F64 = 3;
const HEADER_WORDS = 8;

const E_SEQUENCE = 0;
/** serverId << 16 | client port (0 when the server keys on the address only). */
const E_KEY = 1;
const E_CLIENT_IP = 2;
/** Target id, or -1 for an empty slot. */
const E_TARGET = 3;
const E_LAST_SEEN_S = 4;
const E_CREATED_S = 5;
const E_TIMEOUT_S = 6;
const ENTRY_WORDS = 7;

const NO_TARGET = -1;

/** One session, for `show sessions`. */
export interface SessionInfo {
  serverId: number;
  clientIp: number;
  /** Client port, or 0 when the server keys sessions on the client address only. */
  clientPort: number;
  targetId: number;
  createdS: number;
  lastSeenS: number;
  timeoutS: number;
}

function sessionKey(serverId: number, clientPort: number): number {
  return (serverId << 16) | clientPort;
}

export class SessionTable {
  readonly buffer: SharedArrayBuffer;
  readonly epochMs: number;
  readonly slotCount: number;
  private readonly words: Int32Array;
  private readonly bucketMask: number;
  private readonly locksAt: number;
  private readonly targetCountsAt: number;
  private readonly serverCountsAt: number;
  private readonly entriesAt: number;

  /** A new, empty table holding at least `capacity` sessions; times count from `epochMs`. */
  static create(capacity: number, epochMs: number): SessionTable {
    let bucketCount = 1;
    while (bucketCount * BUCKET_WAYS < capacity) bucketCount *= 2;
    const slotCount = bucketCount * BUCKET_WAYS;
    const wordCount = HEADER_WORDS + bucketCount + 2 * ID_LIMIT + slotCount * ENTRY_WORDS;
    const buffer = new SharedArrayBuffer(wordCount * 4);
    const words = new Int32Array(buffer);
    words[H_MAGIC] = MAGIC;
    words[H_SLOT_COUNT] = slotCount;
    words[H_BUCKET_MASK] = bucketCount - 1;
    new Float64Array(buffer, 0, HEADER_WORDS / 2)[H_EPOCH_MS_F64] = epochMs;
    const table = new SessionTable(buffer);
    for (let slot = 0; slot < slotCount; slot++) words[table.entryAt(slot) + E_TARGET] = NO_TARGET;
    return table;
  }

  /** Attaches to a table created elsewhere (another thread). */
  constructor(buffer: SharedArrayBuffer) {
    const words = new Int32Array(buffer);
    if (words[H_MAGIC] !== MAGIC) throw new TypeError("not a bng session table");
    this.buffer = buffer;
    this.words = words;
    this.epochMs = new Float64Array(buffer, 0, HEADER_WORDS / 2)[H_EPOCH_MS_F64] ?? 0;
    this.slotCount = words[H_SLOT_COUNT] ?? 0;
    this.bucketMask = words[H_BUCKET_MASK] ?? 0;
    this.locksAt = HEADER_WORDS;
    this.targetCountsAt = this.locksAt + this.bucketMask + 1;
    this.serverCountsAt = this.targetCountsAt + ID_LIMIT;
    this.entriesAt = this.serverCountsAt + ID_LIMIT;
  }

  /** Session time (whole seconds since the epoch) of a wall-clock millisecond value. */
  secondsAt(ms: number): number {
    return Math.floor((ms - this.epochMs) / 1000);
  }

  get evictions(): number {
    return Atomics.load(this.words, H_EVICTIONS);
  }

  /** Sessions created since the table was made (binds of a key that had no session). */
  get created(): number {
    return Atomics.load(this.words, H_CREATED);
  }

  /** Sessions in the table bound to target `id`, including expired ones not yet swept. */
  sessionsOfTarget(id: number): number {
    return Atomics.load(this.words, this.targetCountsAt + id);
  }

  sessionsOfServer(id: number): number {
    return Atomics.load(this.words, this.serverCountsAt + id);
  }

  private entryAt(slot: number): number {
    return this.entriesAt + slot * ENTRY_WORDS;
  }

  private bucketOf(key: number, clientIp: number): number {
    return hashPair(key, clientIp, BUCKET_SEED) & this.bucketMask;
  }

  /**
   * The target id of the live session for the key, refreshing its last-seen time, or -1 when
   * there is none (or a writer was busy with it: the caller then takes the locked path).
   */
  find(serverId: number, clientIp: number, clientPort: number, nowS: number): number {
    const words = this.words;
    const key = sessionKey(serverId, clientPort);
    const ip = clientIp | 0;
    const first = this.entryAt(this.bucketOf(key, clientIp) * BUCKET_WAYS);
    for (let way = 0; way < BUCKET_WAYS; way++) {
      const at = first + way * ENTRY_WORDS;
      // Plain reads between two atomic reads of the sequence (a seqlock): the atomics order
      // them, and a changed sequence discards whatever a concurrent writer made them see.
      if (words[at + E_KEY] !== key || words[at + E_CLIENT_IP] !== ip) continue;
      const sequence = Atomics.load(words, at + E_SEQUENCE);
      const target = words[at + E_TARGET] ?? NO_TARGET;
      const lastSeen = words[at + E_LAST_SEEN_S] ?? 0;
      const timeout = words[at + E_TIMEOUT_S] ?? 0;
      const stillKey = words[at + E_KEY] === key && words[at + E_CLIENT_IP] === ip;
      if (Atomics.load(words, at + E_SEQUENCE) !== sequence || (sequence & 1) === 1 || !stillKey) return NO_TARGET;
      if (target === NO_TARGET) continue; // a cleared slot keeps its old key
      if (nowS - lastSeen >= timeout) return NO_TARGET;
      if (lastSeen !== nowS) Atomics.store(words, at + E_LAST_SEEN_S, nowS);
      return target;
    }
    return NO_TARGET;
  }

  /**
   * Binds the key to `targetId` unless another worker bound it first: under the bucket lock, a
   * live session whose target is not `staleTargetId` wins and its target is returned. A live
   * session to `staleTargetId` (the one the caller found unusable) or an expired one is
   * retargeted; otherwise a slot is taken (empty, else expired, else the bucket's least
   * recently used, counted as an eviction). Returns the target id the key is now bound to.
   */
  bind(
    serverId: number,
    clientIp: number,
    clientPort: number,
    nowS: number,
    timeoutS: number,
    targetId: number,
    staleTargetId: number,
  ): number {
    const words = this.words;
    const key = sessionKey(serverId, clientPort);
    const ip = clientIp | 0;
    const bucket = this.bucketOf(key, clientIp);
    const first = this.entryAt(bucket * BUCKET_WAYS);
    this.lock(bucket);
    let victim = -1;
    let victimRank = Infinity;
    for (let way = 0; way < BUCKET_WAYS; way++) {
      const at = first + way * ENTRY_WORDS;
      const target = words[at + E_TARGET] ?? NO_TARGET;
      const lastSeen = words[at + E_LAST_SEEN_S] ?? 0;
      const expired = target === NO_TARGET || nowS - lastSeen >= (words[at + E_TIMEOUT_S] ?? 0);
      if (target !== NO_TARGET && words[at + E_KEY] === key && words[at + E_CLIENT_IP] === ip) {
        if (!expired && target !== staleTargetId) {
          Atomics.store(words, at + E_LAST_SEEN_S, nowS);
          this.unlock(bucket);
          return target;
        }
        victim = at;
        break;
      }
      // Victim preference: an empty slot, then an expired one, then the oldest last-seen time.
      const rank = target === NO_TARGET ? -2 : expired ? -1 : lastSeen;
      if (rank < victimRank) {
        victimRank = rank;
        victim = at;
      }
    }
    this.write(victim, key, ip, nowS, timeoutS, targetId, serverId);
    this.unlock(bucket);
    return targetId;
  }

  /** Removes every session bound to target `id` (a target gone down). Returns how many. */
  removeTarget(id: number): number {
    return this.removeWhere((_serverId, targetId) => targetId === id);
  }

  /** Removes the sessions for which `matches(serverId, targetId)` holds (control side only). */
  removeWhere(matches: (serverId: number, targetId: number) => boolean): number {
    return this.clearSlots((at, target) => matches((this.words[at + E_KEY] ?? 0) >>> 16, target));
  }

  /** Removes idle-expired sessions so per-target counts reflect live ones. Returns how many. */
  sweep(nowS: number): number {
    const words = this.words;
    return this.clearSlots((at) => nowS - Atomics.load(words, at + E_LAST_SEEN_S) >= (words[at + E_TIMEOUT_S] ?? 0));
  }

  /** Empties every bound slot for which `clears(slotAt, targetId)` holds, bucket by bucket under its lock. */
  private clearSlots(clears: (at: number, targetId: number) => boolean): number {
    let removed = 0;
    for (let bucket = 0; bucket <= this.bucketMask; bucket++) {
      this.lock(bucket);
      const first = this.entryAt(bucket * BUCKET_WAYS);
      for (let way = 0; way < BUCKET_WAYS; way++) {
        const at = first + way * ENTRY_WORDS;
        const target = this.words[at + E_TARGET] ?? NO_TARGET;
        if (target !== NO_TARGET && clears(at, target)) {
          this.clear(at);
          removed++;
        }
      }
      this.unlock(bucket);
    }
    return removed;
  }

  /** Live sessions at `nowS`, for `show sessions` (allocates: control side only). */
  list(nowS: number): SessionInfo[] {
    const sessions: SessionInfo[] = [];
    for (let slot = 0; slot < this.slotCount; slot++) {
      const at = this.entryAt(slot);
      const words = this.words;
      const targetId = Atomics.load(words, at + E_TARGET);
      const lastSeenS = Atomics.load(words, at + E_LAST_SEEN_S);
      const timeoutS = words[at + E_TIMEOUT_S] ?? 0;
      if (targetId === NO_TARGET || nowS - lastSeenS >= timeoutS) continue;
      const key = words[at + E_KEY] ?? 0;
      sessions.push({
        serverId: key >>> 16,
        clientIp: (words[at + E_CLIENT_IP] ?? 0) >>> 0,
        clientPort: key & 0xffff,
        targetId,
        createdS: words[at + E_CREATED_S] ?? 0,
        lastSeenS,
        timeoutS,
      });
    }
    return sessions;
  }

  private lock(bucket: number): void {
    // A spin: the lock is held for a few dozen instructions, never across a blocking call.
    while (Atomics.compareExchange(this.words, this.locksAt + bucket, 0, 1) !== 0);
  }

  private unlock(bucket: number): void {
    Atomics.store(this.words, this.locksAt + bucket, 0);
  }

  /** Fills slot `at` (bucket lock held), keeping the per-target and per-server counts. */
  private write(
    at: number,
    key: number,
    ip: number,
    nowS: number,
    timeoutS: number,
    targetId: number,
    serverId: number,
  ): void {
    const words = this.words;
    const previousTarget = words[at + E_TARGET] ?? NO_TARGET;
    const sameKey = words[at + E_KEY] === key && words[at + E_CLIENT_IP] === ip;
    if (previousTarget !== NO_TARGET) {
      const live = nowS - (words[at + E_LAST_SEEN_S] ?? 0) < (words[at + E_TIMEOUT_S] ?? 0);
      if (live && !sameKey) Atomics.add(words, H_EVICTIONS, 1);
      Atomics.sub(words, this.targetCountsAt + previousTarget, 1);
      Atomics.sub(words, this.serverCountsAt + ((words[at + E_KEY] ?? 0) >>> 16), 1);
    }
    if (previousTarget === NO_TARGET || !sameKey) Atomics.add(words, H_CREATED, 1);
    Atomics.add(words, at + E_SEQUENCE, 1);
    Atomics.store(words, at + E_KEY, key);
    Atomics.store(words, at + E_CLIENT_IP, ip);
    Atomics.store(words, at + E_TARGET, targetId);
    Atomics.store(words, at + E_LAST_SEEN_S, nowS);
    Atomics.store(words, at + E_CREATED_S, nowS);
    Atomics.store(words, at + E_TIMEOUT_S, timeoutS);
    Atomics.add(words, at + E_SEQUENCE, 1);
    Atomics.add(words, this.targetCountsAt + targetId, 1);
    Atomics.add(words, this.serverCountsAt + serverId, 1);
  }

  /** Empties slot `at` (bucket lock held). */
  private clear(at: number): void {
    const words = this.words;
    const target = words[at + E_TARGET] ?? NO_TARGET;
    Atomics.add(words, at + E_SEQUENCE, 1);
    Atomics.store(words, at + E_TARGET, NO_TARGET);
    Atomics.add(words, at + E_SEQUENCE, 1);
    Atomics.sub(words, this.targetCountsAt + target, 1);
    Atomics.sub(words, this.serverCountsAt + ((words[at + E_KEY] ?? 0) >>> 16), 1);
  }
}
