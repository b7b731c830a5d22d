// The session-sync wire format: UDP datagrams between the two nodes' real addresses, each a
// batch of session records or a control message (full table start/end, full table request).
// Big-endian throughout; layout in docs/ha.md.
//
// Every datagram names its sender (its real address), the sender's boot epoch (wall-clock ms
// at its start, so a restart has a higher one) and a sequence number that grows by one per
// datagram within an epoch: the receiver takes only a higher epoch, or a higher sequence in the
// current one, so a replayed datagram is refused. With a key, an HMAC-SHA256 of everything
// before it ends the datagram; without one only the configured peer's source address is
// accepted (always checked, key or not). Decoding never throws on what arrives: it returns a
// SYNC_* result, counted per reason, and a message is taken whole or not at all.

import { createHmac, timingSafeEqual } from "node:crypto";
import { read16, read32, write16, write32 } from "../dataplane/frame.ts";
import { MAX_OBJECT_ID } from "../config/model.ts";

const MAGIC = 0x424e4753; // "BNGS"
export const SYNC_VERSION = 1;

/** Message types. */
export const SYNC_BATCH = 1;
export const SYNC_FULL_START = 2;
export const SYNC_FULL_END = 3;
export const SYNC_FULL_REQUEST = 4;
const LAST_TYPE = SYNC_FULL_REQUEST;

/** Record operations. */
export const SYNC_UPSERT = 1;
export const SYNC_REMOVE = 2;

const FLAG_MAC = 1;

// Header offsets.
const H_MAGIC = 0;
const H_VERSION = 4;
const H_TYPE = 5;
const H_FLAGS = 6;
const H_RESERVED = 7;
const H_SENDER = 8;
const H_EPOCH = 12;
const H_SEQUENCE = 20;
const H_COUNT = 28;
const H_RESERVED2 = 30;
const H_VALUE = 32;
export const SYNC_HEADER_LEN = 36;

// Record offsets.
const R_OP = 0;
const R_RESERVED = 1;
const R_SERVER = 2;
const R_TARGET = 4;
const R_PORT = 6;
const R_CLIENT = 8;
const R_IDLE = 12;
export const SYNC_RECORD_LEN = 16;

export const SYNC_MAC_LEN = 32;
/** The largest UDP payload that crosses a 1500-byte MTU unfragmented (1500 - 20 - 8). */
export const MAX_SYNC_DATAGRAM = 1472;
/** Records per datagram: what fits beside the header and a MAC in MAX_SYNC_DATAGRAM. */
export const MAX_SYNC_RECORDS = Math.floor((MAX_SYNC_DATAGRAM - SYNC_HEADER_LEN - SYNC_MAC_LEN) / SYNC_RECORD_LEN);
/** The longest session idle timeout the configuration accepts (one year), in seconds. */
export const MAX_SYNC_IDLE_S = 31_536_000;

/** What became of a received datagram. Indices are stable (counter names). */
export const SYNC_RESULTS = [
  "accepted",
  "foreign_source",
  "bad_length",
  "bad_count",
  "wrong_version",
  "malformed",
  "auth_mismatch",
  "bad_mac",
  "replay",
  "bad_record",
] as const;
export type SyncResult = (typeof SYNC_RESULTS)[number];

export const SYNC_ACCEPTED = 0;
/** The UDP source or the sender id is not the configured peer. */
export const SYNC_FOREIGN_SOURCE = 1;
/** Shorter than a header, longer than MAX_SYNC_DATAGRAM, or not the length its count implies. */
export const SYNC_BAD_LENGTH = 2;
/** More records than MAX_SYNC_RECORDS. */
export const SYNC_BAD_COUNT = 3;
export const SYNC_WRONG_VERSION = 4;
/** Bad magic, unknown type or flags, reserved bits set, records in a control message, zero epoch or sequence. */
export const SYNC_MALFORMED = 5;
/** A MAC where no key is configured, or none where one is. */
export const SYNC_AUTH_MISMATCH = 6;
export const SYNC_BAD_MAC = 7;
/** Not newer than the last accepted datagram of the peer (older epoch, or sequence not higher). */
export const SYNC_REPLAY = 8;
/** A record with an unknown operation or a field out of range. */
export const SYNC_BAD_RECORD = 9;

/** One session record as read from an accepted batch. */
export interface SyncRecord {
  op: number;
  serverId: number;
  clientIp: number;
  /** 0 when the server keys sessions on the client address only. */
  clientPort: number;
  /** 0 in a removal. */
  targetId: number;
  /** Seconds since the session last saw a frame, at sending; 0 in a removal. */
  idleS: number;
}

export function createSyncRecord(): SyncRecord {
  return { op: 0, serverId: 0, clientIp: 0, clientPort: 0, targetId: 0, idleS: 0 };
}

function keyBytes(key: string | Uint8Array | undefined): Uint8Array | undefined {
  if (key === undefined) return undefined;
  const bytes = typeof key === "string" ? new TextEncoder().encode(key) : key;
  if (bytes.length === 0) throw new RangeError("sync key is empty");
  return bytes;
}

function mac(key: Uint8Array, bytes: Uint8Array, length: number): Uint8Array {
  return createHmac("sha256", key).update(bytes.subarray(0, length)).digest();
}

function writeUint53(bytes: Uint8Array, at: number, value: number): void {
  write32(bytes, at, Math.floor(value / 2 ** 32));
  write32(bytes, at + 4, value >>> 0);
}

/** A 64-bit field as a number; -1 when it exceeds 2^53 - 1 (never sent by bng). */
function readUint53(bytes: Uint8Array, at: number): number {
  const high = read32(bytes, at);
  if (high > 0x1fffff) return -1;
  return high * 2 ** 32 + read32(bytes, at + 4);
}

export interface SyncEncoderOptions {
  /** Where datagrams are written; at least MAX_SYNC_DATAGRAM bytes, reused for each. */
  buffer: Uint8Array;
  /** This node's real address. */
  senderId: number;
  /** This node's boot epoch: wall-clock ms at start, 1 to 2^53 - 1. */
  epochMs: number;
  key?: string | Uint8Array;
}

/**
 * Writes datagrams into one preallocated buffer: records are added to the open batch until it
 * is full, then `finishBatch()` numbers it (and signs it) and returns its length to send.
 */
export class SyncEncoder {
  readonly buffer: Uint8Array;
  private readonly senderId: number;
  private readonly epochMs: number;
  private readonly key: Uint8Array | undefined;
  private sequence = 0;
  private count = 0;

  constructor(options: SyncEncoderOptions) {
    if (options.buffer.length < MAX_SYNC_DATAGRAM) throw new RangeError(`sync buffer of ${options.buffer.length} bytes: needs ${MAX_SYNC_DATAGRAM}`);
    if (!Number.isSafeInteger(options.epochMs) || options.epochMs < 1) throw new RangeError(`sync epoch ${options.epochMs}: expected 1 to 2^53-1`);
    this.buffer = options.buffer;
    this.senderId = options.senderId >>> 0;
    this.epochMs = options.epochMs;
    this.key = keyBytes(options.key);
  }

  /** Records in the open batch. */
  get recordCount(): number {
    return this.count;
  }

  get isFull(): boolean {
    return this.count === MAX_SYNC_RECORDS;
  }

  /** The sequence number of the last datagram written (0 before the first). */
  get lastSequence(): number {
    return this.sequence;
  }

  /** Adds a created or refreshed session; false (nothing written) when the batch is full. */
  addUpsert(serverId: number, clientIp: number, clientPort: number, targetId: number, idleS: number): boolean {
    checkId("target", targetId);
    if (!Number.isInteger(idleS) || idleS < 0 || idleS > MAX_SYNC_IDLE_S) throw new RangeError(`sync idle ${idleS}: expected 0-${MAX_SYNC_IDLE_S} s`);
    return this.addRecord(SYNC_UPSERT, serverId, clientIp, clientPort, targetId, idleS);
  }

  /** Adds a removed session; false (nothing written) when the batch is full. */
  addRemoval(serverId: number, clientIp: number, clientPort: number): boolean {
    return this.addRecord(SYNC_REMOVE, serverId, clientIp, clientPort, 0, 0);
  }

  /** Closes the open batch (it may be empty: a keepalive) and returns the datagram's length. */
  finishBatch(): number {
    const length = this.finish(SYNC_BATCH, this.count, 0);
    this.count = 0;
    return length;
  }

  /**
   * A control message: SYNC_FULL_START (value: sessions in the table as the transfer starts),
   * SYNC_FULL_END (value: records sent in the transfer) or SYNC_FULL_REQUEST (value 0). Any
   * records of an open batch are dropped: finish the batch first.
   */
  writeControl(type: number, value: number): number {
    if (type !== SYNC_FULL_START && type !== SYNC_FULL_END && type !== SYNC_FULL_REQUEST) throw new RangeError(`sync control type ${type}`);
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`sync control value ${value}`);
    this.count = 0;
    return this.finish(type, 0, value);
  }

  private addRecord(op: number, serverId: number, clientIp: number, clientPort: number, targetId: number, idleS: number): boolean {
    checkId("server", serverId);
    if (!Number.isInteger(clientPort) || clientPort < 0 || clientPort > 0xffff) throw new RangeError(`sync client port ${clientPort}`);
    if (this.count === MAX_SYNC_RECORDS) return false;
    const at = SYNC_HEADER_LEN + this.count * SYNC_RECORD_LEN;
    const bytes = this.buffer;
    bytes[at + R_OP] = op;
    bytes[at + R_RESERVED] = 0;
    write16(bytes, at + R_SERVER, serverId);
    write16(bytes, at + R_TARGET, targetId);
    write16(bytes, at + R_PORT, clientPort);
    write32(bytes, at + R_CLIENT, clientIp >>> 0);
    write32(bytes, at + R_IDLE, idleS);
    this.count++;
    return true;
  }

  private finish(type: number, count: number, value: number): number {
    const bytes = this.buffer;
    this.sequence++;
    write32(bytes, H_MAGIC, MAGIC);
    bytes[H_VERSION] = SYNC_VERSION;
    bytes[H_TYPE] = type;
    bytes[H_FLAGS] = this.key ? FLAG_MAC : 0;
    bytes[H_RESERVED] = 0;
    write32(bytes, H_SENDER, this.senderId);
    writeUint53(bytes, H_EPOCH, this.epochMs);
    writeUint53(bytes, H_SEQUENCE, this.sequence);
    write16(bytes, H_COUNT, count);
    write16(bytes, H_RESERVED2, 0);
    write32(bytes, H_VALUE, value);
    const length = SYNC_HEADER_LEN + count * SYNC_RECORD_LEN;
    if (!this.key) return length;
    bytes.set(mac(this.key, bytes, length), length);
    return length + SYNC_MAC_LEN;
  }
}

function checkId(what: string, id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > MAX_OBJECT_ID) throw new RangeError(`sync ${what} id ${id}: expected 1-${MAX_OBJECT_ID}`);
}

/** The source decision alone: only the configured peer's real address may send sync traffic. */
export function syncSourceAllowed(sourceIp: number, peerAddress: number): boolean {
  return sourceIp >>> 0 === peerAddress >>> 0;
}

export interface SyncReceiverOptions {
  /** The peer's real address (`sync` in the config). */
  peerAddress: number;
  key?: string | Uint8Array;
}

/**
 * Checks datagrams from the peer. After SYNC_ACCEPTED the header fields below describe the
 * message and `record(i, out)` reads its records from the caller's buffer, which must stay
 * untouched until they are read. `counts[result]` counts every outcome.
 */
export class SyncReceiver {
  readonly counts = new Float64Array(SYNC_RESULTS.length);
  type = 0;
  epochMs = 0;
  /** The accepted datagram opened a new epoch of the peer: it restarted (or this is its first). */
  newEpoch = false;
  sequence = 0;
  recordCount = 0;
  value = 0;
  /** When the last datagram was accepted (the caller's clock), -1 before the first. */
  lastAcceptedAtMs = -1;
  private readonly peerAddress: number;
  private readonly key: Uint8Array | undefined;
  private peerEpochMs = 0;
  private peerSequence = 0;
  private bytes: Uint8Array = new Uint8Array(0);

  constructor(options: SyncReceiverOptions) {
    this.peerAddress = options.peerAddress >>> 0;
    this.key = keyBytes(options.key);
  }

  /** Checks the datagram of `length` bytes in `bytes` from `sourceIp` received at `nowMs`. */
  receive(bytes: Uint8Array, length: number, sourceIp: number, nowMs: number): number {
    const result = this.check(bytes, length, sourceIp);
    this.counts[result]!++;
    if (result === SYNC_ACCEPTED) this.lastAcceptedAtMs = nowMs;
    return result;
  }

  /** Reads record `index` (0 to recordCount - 1) of the last accepted batch into `out`. */
  record(index: number, out: SyncRecord): void {
    if (!(index >= 0 && index < this.recordCount)) throw new RangeError(`sync record ${index} of ${this.recordCount}`);
    const at = SYNC_HEADER_LEN + index * SYNC_RECORD_LEN;
    const bytes = this.bytes;
    out.op = bytes[at + R_OP]!;
    out.serverId = read16(bytes, at + R_SERVER);
    out.targetId = read16(bytes, at + R_TARGET);
    out.clientPort = read16(bytes, at + R_PORT);
    out.clientIp = read32(bytes, at + R_CLIENT);
    out.idleS = read32(bytes, at + R_IDLE);
  }

  private check(bytes: Uint8Array, length: number, sourceIp: number): number {
    this.recordCount = 0;
    if (!syncSourceAllowed(sourceIp, this.peerAddress)) return SYNC_FOREIGN_SOURCE;
    if (!Number.isInteger(length) || length < SYNC_HEADER_LEN || length > MAX_SYNC_DATAGRAM || length > bytes.length) return SYNC_BAD_LENGTH;
    if (read32(bytes, H_MAGIC) !== MAGIC) return SYNC_MALFORMED;
    if (bytes[H_VERSION] !== SYNC_VERSION) return SYNC_WRONG_VERSION;
    const type = bytes[H_TYPE]!;
    const flags = bytes[H_FLAGS]!;
    if (type < SYNC_BATCH || type > LAST_TYPE || (flags & ~FLAG_MAC) !== 0 || bytes[H_RESERVED] !== 0 || read16(bytes, H_RESERVED2) !== 0) {
      return SYNC_MALFORMED;
    }
    if (((flags & FLAG_MAC) !== 0) !== (this.key !== undefined)) return SYNC_AUTH_MISMATCH;
    const count = read16(bytes, H_COUNT);
    if (count > MAX_SYNC_RECORDS) return SYNC_BAD_COUNT;
    if (count !== 0 && type !== SYNC_BATCH) return SYNC_MALFORMED;
    const signedLength = SYNC_HEADER_LEN + count * SYNC_RECORD_LEN;
    if (length !== signedLength + (this.key ? SYNC_MAC_LEN : 0)) return SYNC_BAD_LENGTH;
    if (this.key && !timingSafeEqual(mac(this.key, bytes, signedLength), bytes.subarray(signedLength, signedLength + SYNC_MAC_LEN))) {
      return SYNC_BAD_MAC;
    }
    if (read32(bytes, H_SENDER) !== this.peerAddress) return SYNC_FOREIGN_SOURCE;
    const epochMs = readUint53(bytes, H_EPOCH);
    const sequence = readUint53(bytes, H_SEQUENCE);
    if (epochMs < 1 || sequence < 1) return SYNC_MALFORMED;
    for (let i = 0; i < count; i++) {
      if (!recordValid(bytes, SYNC_HEADER_LEN + i * SYNC_RECORD_LEN)) return SYNC_BAD_RECORD;
    }
    if (epochMs < this.peerEpochMs || (epochMs === this.peerEpochMs && sequence <= this.peerSequence)) return SYNC_REPLAY;
    this.newEpoch = epochMs !== this.peerEpochMs;
    this.peerEpochMs = epochMs;
    this.peerSequence = sequence;
    this.type = type;
    this.epochMs = epochMs;
    this.sequence = sequence;
    this.recordCount = count;
    this.value = read32(bytes, H_VALUE);
    this.bytes = bytes;
    return SYNC_ACCEPTED;
  }
}

function recordValid(bytes: Uint8Array, at: number): boolean {
  if (bytes[at + R_RESERVED] !== 0) return false;
  const server = read16(bytes, at + R_SERVER);
  if (server < 1 || server > MAX_OBJECT_ID) return false;
  const target = read16(bytes, at + R_TARGET);
  const idle = read32(bytes, at + R_IDLE);
  switch (bytes[at + R_OP]) {
    case SYNC_UPSERT:
      return target >= 1 && target <= MAX_OBJECT_ID && idle <= MAX_SYNC_IDLE_S;
    case SYNC_REMOVE:
      return target === 0 && idle === 0;
    default:
      return false;
  }
}
