// The session table: (server id, client address[, client port]) -> target id, shared by every
// worker through one SharedArrayBuffer.
//
// Shape: a set-associative hash table. A key hashes to two buckets of BUCKET_WAYS consecutive
// slots: it goes into its first bucket while that has room, else into its second. Lookups scan
// the first bucket and read the second only when the key is not in the first (a hit in the
// first, by far the common case, costs one bucket). When both are full the least recently used
// session of the 16 slots is replaced (an approximate LRU, not of the whole table) and the
// eviction is counted. The second bucket cuts the sessions replaced before the table is full
// about five-fold (1 % instead of 5 % of new sessions at 75 % fill; test/dataplane/sessions).
//
// Memory: a lookup reads only a slot's four hot words (sequence and target, key, client,
// last seen), and a bucket's hot words are 128 bytes aligned to 128, so the first four ways share
// one cache line. With a table far larger than the CPU caches, that line is the lookup's cost:
// `touch` loads it ahead (the processor touches a whole batch's buckets before deciding any
// frame, so the misses overlap). The cold words (created, timeout) live apart and are read by
// bind and the control side only.
//
// Concurrency: lookups take no lock. Every change of a slot (create, retarget, remove) happens
// under its bucket's spin lock (claimed with Atomics.compareExchange; bind holds both of the
// key's buckets, taking the lower one first) and bumps the slot's sequence number to odd while
// it writes and back to even after, so a lookup that raced a writer sees the sequence change and
// falls back to the locked path. Two workers meeting the same new client therefore agree: the
// second one to take the locks finds the first one's session and uses its target. Refreshing the
// last-seen time is a single store outside the lock.
//
// Times are whole seconds since the table's epoch (a millisecond value of the session clock,
// CLOCK_MONOTONIC in bng, fixed at creation), so all workers and the control side agree on them
// and a step of the wall clock changes none of them. A session is idle-expired when
// now - lastSeen >= its server's timeout (lookups are given the server's timeout; `retimeServer`
// brings the stored ones in line when a reload changes it); expired sessions are reused in place
// and removed by sweep(), or a share at a time by sweepTurn() (the daemon, every tick).
//
// Two flags ride in a slot's key word, above the key: SEEN_AGAIN, set (compare-and-swap, once)
// by the first lookup that finds the session, so eviction can tell a client that came back from
// one packet of a spoofed flood and replaces those first; and CLOSING, set by close() when the
// client sent TCP FIN or RST: the session then lives its stored, shortened timeout instead of
// its server's, until reopen() (a new SYN) gives it its server's back. The header also holds the
// new-session admission words (admission.ts), shared by all workers.

import { ADMISSION_WORDS, resetAdmission } from "./admission.ts";
import { ID_LIMIT } from "./table-layout.ts";
import { hashPair } from "./select/hash.ts";

const MAGIC = 0x424e5302;
const BUCKET_WAYS = 8;
const BUCKET_SEED = 0x73657373; // "sess"
/** Seeds a key's second bucket, where it goes only when its first bucket is full. */
const SECOND_BUCKET_SEED = 0x6f766572; // "over"

const H_MAGIC = 0;
const H_SLOT_COUNT = 1;
const H_BUCKET_MASK = 2;
const H_EVICTIONS = 3;
const H_CREATED = 4;
/** Always 0: findInBucket's loads depend on each other through it (see there). */
const H_ZERO = 5;
/** Index in a Float64 view of the header: bytes 24..31, clear of the Int32 fields above. */
const H_EPOCH_MS_F64 = 3;
/** Evictions of sessions that had seen a second packet: known clients lost. */
const H_EVICTIONS_KEPT = 8;
/** The admission words (admission.ts) start on the header's second cache line. */
const H_ADMISSION_AT = 16;
const HEADER_WORDS = 32;

/** Hot word 0: the sequence number above TARGET_BITS, the target id + 1 below (0: empty slot). */
const E_SEQUENCE_TARGET = 0;
/** serverId << 16 | client port (0 when the server keys on the address only). */
const E_KEY = 1;
/** The key's bits in E_KEY (server id < 4096 above bit 16, client port below); flags above. */
const KEY_MASK = 0x0fffffff;
/** The session saw a packet after the one that created it. */
const SEEN_AGAIN = 1 << 28;
/** Its client sent TCP FIN or RST: it lives its stored (shortened) timeout. */
const CLOSING = 1 << 29;
const E_CLIENT_IP = 2;
const E_LAST_SEEN_S = 3;
const HOT_WORDS = 4;
/** A bucket's hot words start on this many words (128 bytes: two cache lines). */
const BUCKET_ALIGN_WORDS = BUCKET_WAYS * HOT_WORDS;

const C_CREATED_S = 0;
const C_TIMEOUT_S = 1;
const COLD_WORDS = 2;

const TARGET_BITS = 13;
const TARGET_MASK = (1 << TARGET_BITS) - 1;
/** One step of the sequence number; set while a writer is changing the slot. */
const SEQUENCE_ONE = 1 << TARGET_BITS;

const NO_TARGET = -1;
/** findInBucket: the key is in none of the bucket's slots (look in its other bucket). */
const NOT_IN_BUCKET = -2;
/** Eviction rank added to a live session that saw a second packet: replaced last. */
const KEPT_RANK = 2 ** 32;
/** lookup's refresh time that refreshes nothing (peek). */
const NO_REFRESH = -1;

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

/** The server id of a slot's key word (flags masked off). */
function serverOfKey(keyWord: number): number {
  return (keyWord & KEY_MASK) >>> 16;
}

// Target id + 1 must fit below the sequence number, server ids below the flags.
if (ID_LIMIT > TARGET_MASK) throw new Error("session table: target ids do not fit TARGET_BITS");
if (((ID_LIMIT - 1) << 16) > KEY_MASK) throw new Error("session table: server ids do not fit below the key flags");

export class SessionTable {
  readonly buffer: SharedArrayBuffer;
  readonly epochMs: number;
  readonly slotCount: number;
  private readonly words: Int32Array;
  private readonly bucketMask: number;
  private readonly locksAt: number;
  private readonly targetCountsAt: number;
  private readonly serverCountsAt: number;
  private readonly hotAt: number;
  private readonly coldAt: number;
  /** The bucket where sweepTurn starts next (this object's own: only the control side sweeps). */
  private sweepCursor = 0;
  /**
   * After a find() or findIn() that returned a target: whether that session is closing (its
   * client sent FIN or RST). This object's own (each worker attaches its own), so no sharing.
   */
  foundClosing = false;
  /** The new-session admission words (admission.ts), shared by all workers. */
  readonly admissionWords: Int32Array;

  /** A new, empty table holding at least `capacity` sessions; times count from `epochMs`. */
  static create(capacity: number, epochMs: number): SessionTable {
    let bucketCount = 1;
    while (bucketCount * BUCKET_WAYS < capacity) bucketCount *= 2;
    const slotCount = bucketCount * BUCKET_WAYS;
    const layout = layoutOf(bucketCount);
    const buffer = new SharedArrayBuffer(layout.wordCount * 4);
    const words = new Int32Array(buffer);
    words[H_MAGIC] = MAGIC;
    words[H_SLOT_COUNT] = slotCount;
    words[H_BUCKET_MASK] = bucketCount - 1;
    new Float64Array(buffer, 0, HEADER_WORDS / 2)[H_EPOCH_MS_F64] = epochMs;
    resetAdmission(new Int32Array(buffer, H_ADMISSION_AT * 4, ADMISSION_WORDS));
    return new SessionTable(buffer);
  }

  /** Attaches to a table created elsewhere (another thread). */
  constructor(buffer: SharedArrayBuffer) {
    const words = new Int32Array(buffer);
    if (words[H_MAGIC] !== MAGIC) throw new TypeError("not a bng session table");
    if (words[H_ZERO] !== 0) throw new TypeError("session table header word H_ZERO must stay 0");
    this.buffer = buffer;
    this.words = words;
    this.epochMs = new Float64Array(buffer, 0, HEADER_WORDS / 2)[H_EPOCH_MS_F64] ?? 0;
    this.slotCount = words[H_SLOT_COUNT] ?? 0;
    this.bucketMask = words[H_BUCKET_MASK] ?? 0;
    const layout = layoutOf(this.bucketMask + 1);
    this.locksAt = layout.locksAt;
    this.targetCountsAt = layout.targetCountsAt;
    this.serverCountsAt = layout.serverCountsAt;
    this.hotAt = layout.hotAt;
    this.coldAt = layout.coldAt;
    this.admissionWords = new Int32Array(buffer, H_ADMISSION_AT * 4, ADMISSION_WORDS);
  }

  /** Session time (whole seconds since the epoch) of a millisecond value of the table's clock. */
  secondsAt(ms: number): number {
    return Math.floor((ms - this.epochMs) / 1000);
  }

  get evictions(): number {
    return Atomics.load(this.words, H_EVICTIONS);
  }

  /** The evictions of sessions that had seen a second packet: known clients that lost theirs. */
  get keptEvictions(): number {
    return Atomics.load(this.words, H_EVICTIONS_KEPT);
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

  /** Word index of the hot words of the key's bucket's first slot. */
  private bucketAt(key: number, clientIp: number): number {
    return this.hotAt + (hashPair(key, clientIp, BUCKET_SEED) & this.bucketMask) * BUCKET_ALIGN_WORDS;
  }

  /** The same for the key's second bucket (it may be the first one). */
  private secondBucketAt(key: number, clientIp: number): number {
    return this.hotAt + (hashPair(key, clientIp, SECOND_BUCKET_SEED) & this.bucketMask) * BUCKET_ALIGN_WORDS;
  }

  private coldOf(hotAt: number): number {
    return this.coldAt + ((hotAt - this.hotAt) / HOT_WORDS) * COLD_WORDS;
  }

  /** Where a lookup of the key starts reading: the word index of its bucket, for `touch`. */
  bucketOf(serverId: number, clientIp: number, clientPort: number): number {
    return this.bucketAt(sessionKey(serverId, clientPort), clientIp | 0);
  }

  /**
   * Loads the first cache line of each of the first `count` buckets in `bucketAts` (from
   * `bucketOf`; negative entries are skipped), so that lookups of those keys find it in cache.
   * The loads do not depend on each other, so the CPU overlaps their misses. Returns the sum of
   * the words read, which the caller must keep: a load whose value is unused may be dropped.
   */
  touch(bucketAts: Int32Array, count: number): number {
    const words = this.words;
    let sum = 0;
    for (let i = 0; i < count; i++) {
      const at = bucketAts[i] ?? -1;
      if (at >= 0) sum = (sum + (words[at] ?? 0)) | 0;
    }
    return sum;
  }

  /**
   * The target id of the session for the key if it was seen within `timeoutS` (its server's
   * timeout), refreshing its last-seen time; -1 when there is none (or a writer was busy with
   * it: the caller then takes the locked path).
   */
  find(serverId: number, clientIp: number, clientPort: number, nowS: number, timeoutS: number): number {
    return this.lookup(this.bucketOf(serverId, clientIp, clientPort), serverId, clientIp, clientPort, nowS, timeoutS, nowS);
  }

  /**
   * find() that neither refreshes the session nor marks it seen again: for a frame about the
   * client that is not the client's (an ICMP error about a target's reply to it).
   */
  peek(serverId: number, clientIp: number, clientPort: number, nowS: number, timeoutS: number): number {
    return this.lookup(this.bucketOf(serverId, clientIp, clientPort), serverId, clientIp, clientPort, nowS, timeoutS, NO_REFRESH);
  }

  /**
   * find() starting in the key's first bucket `first`, which must be `bucketOf(serverId,
   * clientIp, clientPort)`. A key that is not there may be in its second bucket (bind puts it
   * there when the first was full); only then is that one read.
   */
  findIn(first: number, serverId: number, clientIp: number, clientPort: number, nowS: number, timeoutS: number): number {
    return this.lookup(first, serverId, clientIp, clientPort, nowS, timeoutS, nowS);
  }

  /** find() from the key's first bucket, storing `refreshS` as last seen when later (NO_REFRESH: never). */
  private lookup(first: number, serverId: number, clientIp: number, clientPort: number, nowS: number, timeoutS: number, refreshS: number): number {
    const key = sessionKey(serverId, clientPort);
    const ip = clientIp | 0;
    const found = this.findInBucket(first, key, ip, nowS, timeoutS, refreshS);
    if (found !== NOT_IN_BUCKET) return found;
    const second = this.secondBucketAt(key, ip);
    if (second === first) return NO_TARGET;
    const overflowed = this.findInBucket(second, key, ip, nowS, timeoutS, refreshS);
    return overflowed === NOT_IN_BUCKET ? NO_TARGET : overflowed;
  }

  /**
   * The key's target in the bucket at `bucket` (storing `refreshS` as last seen when later, and
   * marking the session seen again), NO_TARGET, or NOT_IN_BUCKET.
   */
  private findInBucket(bucket: number, key: number, ip: number, nowS: number, timeoutS: number, refreshS: number): number {
    const words = this.words;
    // A seqlock read: the sequence, then the slot, then the sequence again; the slot counts only
    // if the sequence was even and did not change (the key and address read before the first
    // read of the sequence only pick the way). With plain loads, not Atomics.load:
    // JavaScriptCore compiles Atomics.load to a locked read-modify-write, a full barrier that
    // takes the cache line exclusively, and those two made up a third of this function's time
    // under load. The CPU keeps these plain loads in order (x86-64 does not reorder loads with
    // loads; arm64 orders a load after the load its address depends on), so only the compiler
    // could move them or merge the two reads of the sequence, and the JavaScript memory model
    // would let it. So the slot is read at an index that depends on the first read of the
    // sequence, and the sequence again at one that depends on the slot's words, through `zero`
    // (H_ZERO, always 0, a value the compiler cannot know): JavaScriptCore cannot issue a load
    // before the one its index depends on, nor take two loads at different index expressions for
    // one. Without this the compiler merged them (test/dataplane/session-threads.test.ts).
    const zero = words[H_ZERO] ?? 0;
    for (let way = 0; way < BUCKET_WAYS; way++) {
      const at = bucket + way * HOT_WORDS;
      if (((words[at + E_KEY] ?? 0) & KEY_MASK) !== key || words[at + E_CLIENT_IP] !== ip) continue;
      const sequenceTarget = words[at + E_SEQUENCE_TARGET] ?? 0;
      const slotAt = at + (sequenceTarget & zero);
      const lastSeen = words[slotAt + E_LAST_SEEN_S] ?? 0;
      const keyWord = words[slotAt + E_KEY] ?? 0;
      const ipAgain = words[slotAt + E_CLIENT_IP] ?? 0;
      // A closing session's limit is its stored timeout, in the cold words (read only then).
      const limit = (keyWord & CLOSING) === 0 ? timeoutS : (words[this.coldOf(slotAt) + C_TIMEOUT_S] ?? 0);
      const sequenceAgain = words[at + E_SEQUENCE_TARGET + ((lastSeen | keyWord | ipAgain | limit) & zero)] ?? 0;
      if (sequenceAgain !== sequenceTarget || (sequenceTarget & SEQUENCE_ONE) !== 0 || (keyWord & KEY_MASK) !== key || ipAgain !== ip) {
        return NO_TARGET;
      }
      const target = (sequenceTarget & TARGET_MASK) - 1;
      if (target === NO_TARGET) continue; // a cleared slot keeps its old key
      if (nowS - lastSeen >= limit) return NO_TARGET;
      // A plain store is enough: last-seen only moves forward (a worker whose batch began a
      // second earlier leaves a newer value alone), readers take whatever value they see, and a
      // writer that rebinds the slot sets it anew under the bucket lock.
      if (lastSeen < refreshS) words[at + E_LAST_SEEN_S] = refreshS;
      // Once per session: the compare-and-swap fails, harmlessly, if the slot changed meanwhile.
      if ((keyWord & SEEN_AGAIN) === 0 && refreshS !== NO_REFRESH) Atomics.compareExchange(words, at + E_KEY, keyWord, keyWord | SEEN_AGAIN);
      this.foundClosing = (keyWord & CLOSING) !== 0;
      return target;
    }
    return NOT_IN_BUCKET;
  }

  /**
   * Binds the key to `targetId` unless another worker bound it first: under the locks of the
   * key's two buckets, a live session whose target is not `staleTargetId` wins and its target is
   * returned. A live session to `staleTargetId` (the one the caller found unusable) or an
   * expired one is retargeted; otherwise a slot is taken: an empty or expired one of the first
   * bucket, else of the second, else the least recently used of the 16 (counted as an
   * eviction). Returns the target id the key is now bound to.
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
    const first = this.bucketAt(key, ip);
    const second = this.secondBucketAt(key, ip);
    this.lockPair(first, second);
    let victim = -1;
    let victimRank = Infinity;
    search: for (let pass = 0; pass < 2; pass++) {
      if (pass === 1 && second === first) break;
      const bucket = pass === 0 ? first : second;
      for (let way = 0; way < BUCKET_WAYS; way++) {
        const at = bucket + way * HOT_WORDS;
        const target = this.targetOf(at);
        const keyWord = words[at + E_KEY] ?? 0;
        if (target !== NO_TARGET && (keyWord & KEY_MASK) === key && words[at + E_CLIENT_IP] === ip) {
          // The key's own session is judged as find() judges it: by its server's timeout, or
          // its stored one while closing.
          const limit = (keyWord & CLOSING) === 0 ? timeoutS : (words[this.coldOf(at) + C_TIMEOUT_S] ?? 0);
          if (nowS - (words[at + E_LAST_SEEN_S] ?? 0) < limit && target !== staleTargetId) {
            words[at + E_LAST_SEEN_S] = nowS;
            // Another worker created it from an earlier packet of the client: this is a later one.
            if ((keyWord & SEEN_AGAIN) === 0) Atomics.or(words, at + E_KEY, SEEN_AGAIN);
            this.unlockPair(first, second);
            return target;
          }
          victim = at;
          break search;
        }
        // Victim preference: an empty slot, then an expired one, of the first bucket (where a
        // lookup reads first) before the second; then the oldest last-seen time of either,
        // sessions that never saw a second packet (a spoofed flood's) first.
        const free = target === NO_TARGET ? -2 : this.expired(at, nowS) ? -1 : 0;
        const rank = free < 0 ? free - (pass === 0 ? 2 : 0) : (words[at + E_LAST_SEEN_S] ?? 0) + ((keyWord & SEEN_AGAIN) !== 0 ? KEPT_RANK : 0);
        if (rank < victimRank) {
          victimRank = rank;
          victim = at;
        }
      }
    }
    this.write(victim, key, ip, nowS, timeoutS, targetId, serverId);
    this.unlockPair(first, second);
    return targetId;
  }

  /**
   * Marks the key's live session closing (its client sent TCP FIN or RST): from now on it expires
   * after `closingTimeoutS` idle seconds (or its stored timeout, if shorter) instead of its
   * server's. Returns whether there was a live session to mark.
   */
  close(serverId: number, clientIp: number, clientPort: number, nowS: number, closingTimeoutS: number): boolean {
    return this.changeClosing(serverId, clientIp, clientPort, nowS, closingTimeoutS, true);
  }

  /** Undoes close() (the client opened a new connection): the session gets `timeoutS`, its server's, again. */
  reopen(serverId: number, clientIp: number, clientPort: number, nowS: number, timeoutS: number): boolean {
    return this.changeClosing(serverId, clientIp, clientPort, nowS, timeoutS, false);
  }

  /** Sets or clears the key's CLOSING flag with the stored timeout that goes with it, under the key's bucket locks. */
  private changeClosing(serverId: number, clientIp: number, clientPort: number, nowS: number, timeoutS: number, closing: boolean): boolean {
    const words = this.words;
    const key = sessionKey(serverId, clientPort);
    const ip = clientIp | 0;
    const first = this.bucketAt(key, ip);
    const second = this.secondBucketAt(key, ip);
    this.lockPair(first, second);
    let changed = false;
    search: for (let pass = 0; pass < 2; pass++) {
      if (pass === 1 && second === first) break;
      const bucket = pass === 0 ? first : second;
      for (let way = 0; way < BUCKET_WAYS; way++) {
        const at = bucket + way * HOT_WORDS;
        const keyWord = words[at + E_KEY] ?? 0;
        const target = this.targetOf(at);
        if (target === NO_TARGET || (keyWord & KEY_MASK) !== key || words[at + E_CLIENT_IP] !== ip) continue;
        if (((keyWord & CLOSING) !== 0) === closing || this.expired(at, nowS)) break search;
        // Sequence odd while the flag and the timeout it goes with change: a lookup reads both or neither.
        const writing = this.beginWrite(at);
        const cold = this.coldOf(at);
        if (closing) {
          Atomics.or(words, at + E_KEY, CLOSING);
          words[cold + C_TIMEOUT_S] = Math.min(timeoutS, words[cold + C_TIMEOUT_S] ?? 0);
        } else {
          Atomics.and(words, at + E_KEY, ~CLOSING);
          words[cold + C_TIMEOUT_S] = timeoutS;
        }
        this.endWrite(at, writing, target);
        changed = true;
        break search;
      }
    }
    this.unlockPair(first, second);
    return changed;
  }

  /** Locks a key's two buckets, the lower one first, so that two binds never wait on each other in a circle. */
  private lockPair(first: number, second: number): void {
    if (first === second) return this.lock(first);
    this.lock(first < second ? first : second);
    this.lock(first < second ? second : first);
  }

  private unlockPair(first: number, second: number): void {
    this.unlock(first);
    if (second !== first) this.unlock(second);
  }

  /** Removes every session bound to target `id` (a target gone down). Returns how many. */
  removeTarget(id: number): number {
    return this.removeWhere((_serverId, targetId) => targetId === id);
  }

  /** Removes the sessions for which `matches(serverId, targetId)` holds (control side only). */
  removeWhere(matches: (serverId: number, targetId: number) => boolean): number {
    return this.clearSlots((at, target) => matches(serverOfKey(this.words[at + E_KEY] ?? 0), target));
  }

  /** Buckets of BUCKET_WAYS slots: slotCount / 8. */
  get bucketCount(): number {
    return this.bucketMask + 1;
  }

  /** Removes idle-expired sessions so per-target counts reflect live ones. Returns how many. */
  sweep(nowS: number): number {
    return this.sweepBuckets(nowS, 0, this.bucketCount);
  }

  /**
   * One of `turns` turns that together sweep the whole table: the next ceil(bucketCount / turns)
   * buckets (at least one) from where the previous turn of this object stopped. Returns how many
   * sessions it removed.
   */
  sweepTurn(nowS: number, turns: number): number {
    const share = Math.ceil(this.bucketCount / turns);
    const removed = this.sweepBuckets(nowS, this.sweepCursor, share);
    this.sweepCursor = (this.sweepCursor + share) & this.bucketMask;
    return removed;
  }

  /**
   * sweep() of `count` buckets from bucket `start` on (wrapping past the last), so the control
   * thread can spread a pass over many short turns. Allocates nothing, and takes the lock only of
   * a bucket that looked as if it held an expired session when read without it: most hold none,
   * and the workers' binds wait on nothing then. A slot changing hands during that look may be
   * missed; the next pass takes it.
   */
  sweepBuckets(nowS: number, start: number, count: number): number {
    let removed = 0;
    for (let i = 0; i < count; i++) {
      const first = this.hotAt + ((start + i) & this.bucketMask) * BUCKET_ALIGN_WORDS;
      if (!this.mayHoldExpired(first, nowS)) continue;
      this.lock(first);
      for (let way = 0; way < BUCKET_WAYS; way++) {
        const at = first + way * HOT_WORDS;
        if (this.targetOf(at) !== NO_TARGET && this.expired(at, nowS)) {
          this.clear(at);
          removed++;
        }
      }
      this.unlock(first);
    }
    return removed;
  }

  /** Whether a bound slot of the bucket at `first` looks expired, read without its lock (plain loads). */
  private mayHoldExpired(first: number, nowS: number): boolean {
    const words = this.words;
    for (let way = 0; way < BUCKET_WAYS; way++) {
      const at = first + way * HOT_WORDS;
      if (((words[at + E_SEQUENCE_TARGET] ?? 0) & TARGET_MASK) === 0) continue;
      if (nowS - (words[at + E_LAST_SEEN_S] ?? 0) >= (words[this.coldOf(at) + C_TIMEOUT_S] ?? 0)) return true;
    }
    return false;
  }

  /** Gives server `serverId`'s sessions the idle timeout `timeoutS` (a reload changed it); closing ones keep a shorter one. */
  retimeServer(serverId: number, timeoutS: number): void {
    const words = this.words;
    this.forEachBucket((first) => {
      for (let way = 0; way < BUCKET_WAYS; way++) {
        const at = first + way * HOT_WORDS;
        const keyWord = words[at + E_KEY] ?? 0;
        if (this.targetOf(at) === NO_TARGET || serverOfKey(keyWord) !== serverId) continue;
        const cold = this.coldOf(at);
        words[cold + C_TIMEOUT_S] = (keyWord & CLOSING) === 0 ? timeoutS : Math.min(timeoutS, words[cold + C_TIMEOUT_S] ?? 0);
      }
    });
  }

  /** Empties every bound slot for which `clears(slotAt, targetId)` holds, bucket by bucket under its lock. */
  private clearSlots(clears: (at: number, targetId: number) => boolean): number {
    let removed = 0;
    this.forEachBucket((first) => {
      for (let way = 0; way < BUCKET_WAYS; way++) {
        const at = first + way * HOT_WORDS;
        const target = this.targetOf(at);
        if (target !== NO_TARGET && clears(at, target)) {
          this.clear(at);
          removed++;
        }
      }
    });
    return removed;
  }

  /** Runs `visit(first slot's hot word index)` for every bucket, holding that bucket's lock. */
  private forEachBucket(visit: (first: number) => void): void {
    for (let bucket = 0; bucket <= this.bucketMask; bucket++) {
      const first = this.hotAt + bucket * BUCKET_ALIGN_WORDS;
      this.lock(first);
      visit(first);
      this.unlock(first);
    }
  }

  /**
   * Visits the live sessions in slots `from` to `from + count - 1` (fewer at the table's end) and
   * returns the slot after the last one looked at: slotCount when the table is done. A full
   * table transfer walks it this way in slices, without an object per session.
   */
  visitLive(from: number, count: number, nowS: number, visit: (serverId: number, clientIp: number, clientPort: number, targetId: number, lastSeenS: number) => void): number {
    const words = this.words;
    const end = Math.min(this.slotCount, from + count);
    for (let slot = from; slot < end; slot++) {
      const at = this.hotAt + slot * HOT_WORDS;
      const targetId = this.targetOf(at);
      if (targetId === NO_TARGET || this.expired(at, nowS)) continue;
      const key = words[at + E_KEY] ?? 0;
      visit(serverOfKey(key), (words[at + E_CLIENT_IP] ?? 0) >>> 0, key & 0xffff, targetId, Atomics.load(words, at + E_LAST_SEEN_S));
    }
    return end;
  }

  /** Every live session at `nowS` (allocates one object each: tests and small tables only). */
  list(nowS: number): SessionInfo[] {
    return this.select(nowS, () => true, Infinity).sessions;
  }

  /**
   * Live sessions at `nowS` that `matches` (server, target, client address): how many there are,
   * and the first `limit` of them as objects; the others are only counted, so `show sessions`
   * costs a pass over the table, not an object per session (control side only).
   */
  select(nowS: number, matches: (serverId: number, targetId: number, clientIp: number) => boolean, limit: number): { total: number; sessions: SessionInfo[] } {
    const sessions: SessionInfo[] = [];
    const words = this.words;
    let total = 0;
    for (let slot = 0; slot < this.slotCount; slot++) {
      const at = this.hotAt + slot * HOT_WORDS;
      const targetId = this.targetOf(at);
      if (targetId === NO_TARGET || this.expired(at, nowS)) continue;
      const key = words[at + E_KEY] ?? 0;
      const clientIp = (words[at + E_CLIENT_IP] ?? 0) >>> 0;
      if (!matches(serverOfKey(key), targetId, clientIp)) continue;
      total++;
      if (sessions.length >= limit) continue;
      const cold = this.coldOf(at);
      sessions.push({
        serverId: serverOfKey(key),
        clientIp,
        clientPort: key & 0xffff,
        targetId,
        createdS: words[cold + C_CREATED_S] ?? 0,
        lastSeenS: Atomics.load(words, at + E_LAST_SEEN_S),
        timeoutS: words[cold + C_TIMEOUT_S] ?? 0,
      });
    }
    return { total, sessions };
  }

  private targetOf(at: number): number {
    return (Atomics.load(this.words, at + E_SEQUENCE_TARGET) & TARGET_MASK) - 1;
  }

  /** Whether the slot at `at` has been idle for its stored timeout (bind and the control side). */
  private expired(at: number, nowS: number): boolean {
    return nowS - Atomics.load(this.words, at + E_LAST_SEEN_S) >= (this.words[this.coldOf(at) + C_TIMEOUT_S] ?? 0);
  }

  private lock(first: number): void {
    const lockAt = this.locksAt + (first - this.hotAt) / BUCKET_ALIGN_WORDS;
    // A spin: the lock is held for a few dozen instructions, never across a blocking call.
    while (Atomics.compareExchange(this.words, lockAt, 0, 1) !== 0);
  }

  private unlock(first: number): void {
    Atomics.store(this.words, this.locksAt + (first - this.hotAt) / BUCKET_ALIGN_WORDS, 0);
  }

  /** Marks the slot at `at` as being written (sequence odd); returns the word to finish with. */
  private beginWrite(at: number): number {
    return Atomics.add(this.words, at + E_SEQUENCE_TARGET, SEQUENCE_ONE) + SEQUENCE_ONE;
  }

  /** Ends a write begun with `beginWrite` (sequence even again), leaving `targetId` bound (-1: none). */
  private endWrite(at: number, writing: number, targetId: number): void {
    Atomics.store(this.words, at + E_SEQUENCE_TARGET, ((writing + SEQUENCE_ONE) & ~TARGET_MASK) | (targetId + 1));
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
    const previousTarget = this.targetOf(at);
    const previousKey = words[at + E_KEY] ?? 0;
    const sameKey = (previousKey & KEY_MASK) === key && words[at + E_CLIENT_IP] === ip;
    if (previousTarget !== NO_TARGET) {
      if (!this.expired(at, nowS) && !sameKey) {
        Atomics.add(words, H_EVICTIONS, 1);
        if ((previousKey & SEEN_AGAIN) !== 0) Atomics.add(words, H_EVICTIONS_KEPT, 1);
      }
      Atomics.sub(words, this.targetCountsAt + previousTarget, 1);
      Atomics.sub(words, this.serverCountsAt + serverOfKey(previousKey), 1);
    }
    if (previousTarget === NO_TARGET || !sameKey) Atomics.add(words, H_CREATED, 1);
    const writing = this.beginWrite(at);
    Atomics.store(words, at + E_KEY, key);
    Atomics.store(words, at + E_CLIENT_IP, ip);
    Atomics.store(words, at + E_LAST_SEEN_S, nowS);
    const cold = this.coldOf(at);
    words[cold + C_CREATED_S] = nowS;
    words[cold + C_TIMEOUT_S] = timeoutS;
    this.endWrite(at, writing, targetId);
    Atomics.add(words, this.targetCountsAt + targetId, 1);
    Atomics.add(words, this.serverCountsAt + serverId, 1);
  }

  /** Empties slot `at` (bucket lock held). */
  private clear(at: number): void {
    const words = this.words;
    const target = this.targetOf(at);
    this.endWrite(at, this.beginWrite(at), NO_TARGET);
    Atomics.sub(words, this.targetCountsAt + target, 1);
    Atomics.sub(words, this.serverCountsAt + serverOfKey(words[at + E_KEY] ?? 0), 1);
  }
}

/** Word offsets of a table's regions; the hot words start on a BUCKET_ALIGN_WORDS boundary. */
function layoutOf(bucketCount: number) {
  const slotCount = bucketCount * BUCKET_WAYS;
  const locksAt = HEADER_WORDS;
  const targetCountsAt = locksAt + bucketCount;
  const serverCountsAt = targetCountsAt + ID_LIMIT;
  const hotAt = Math.ceil((serverCountsAt + ID_LIMIT) / BUCKET_ALIGN_WORDS) * BUCKET_ALIGN_WORDS;
  const coldAt = hotAt + slotCount * HOT_WORDS;
  return { locksAt, targetCountsAt, serverCountsAt, hotAt, coldAt, wordCount: coldAt + slotCount * COLD_WORDS };
}
