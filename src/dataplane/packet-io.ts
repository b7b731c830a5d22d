// The one seam between the pure data plane and the kernel. ffi/ implements it over AF_PACKET;
// tests implement it in memory. A batch is a set of slots in preallocated memory: no frame is
// ever allocated per packet.

/** `PacketBatch.flags` bit: the frame's TCP/UDP checksum is partial (TP_STATUS_CSUMNOTREADY). */
export const FRAME_CSUM_NOT_READY = 1;
/**
 * `PacketBatch.flags` bit: the frame was longer than its slot and only the first `slotSize`
 * bytes are there (e.g. a GSO frame from a virtual link). The data plane drops such a frame to a
 * VIP; an ARP request is whole in any slot and is answered.
 */
export const FRAME_TRUNCATED = 2;
/**
 * `PacketBatch.flags` bit: the NIC stripped an 802.1Q tag from this frame (the kernel reports it
 * beside the frame, TP_STATUS_VLAN_VALID). It belongs to a VLAN, not to the untagged interface
 * bng serves, so the data plane leaves it alone as it does visibly tagged frames.
 */
export const FRAME_VLAN_STRIPPED = 4;

/** Kernel packet types (sll_pkttype) the data plane acts on. */
export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_OTHERHOST = 3;

/**
 * A fixed set of frame slots over preallocated memory. Slot i holds a frame of `lengths[i]`
 * bytes at byte offset `offsets[i]` of `bytes`, with room for `slotSize`. The AF_PACKET engines
 * and the tests lay slots out in a row (`offsets[i] = i * slotSize`, fixed); the XDP engine's
 * `bytes` is its whole UMEM and each receive sets where the kernel put each frame, so frames are
 * decided, rewritten and sent where they arrived.
 */
export interface PacketBatch {
  readonly slotCount: number;
  readonly slotSize: number;
  readonly bytes: Uint8Array;
  /** Per slot: the byte offset of its frame in `bytes`. */
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  /** Per slot: FRAME_* bits reported by the receiver (received batches only). */
  readonly flags: Uint8Array;
  /** Per slot: the kernel's packet type (PACKET_HOST = 0, PACKET_BROADCAST = 1, ...). */
  readonly pktTypes: Uint8Array;
  /** Number of slots in use. */
  count: number;
}

/**
 * The batch a PacketIO sends. A forwarded frame goes out from the rx slot it arrived in, its
 * header rewritten in place, rather than being copied: `rxSlots[i]` names that rx slot, or is -1
 * when slot i's frame is in the tx batch's own bytes (a reply bng writes, a test's frame).
 */
export interface TxBatch extends PacketBatch {
  readonly rxSlots: Int16Array;
}

/**
 * What an engine could not deliver or send, counted since it opened; read them, never reset
 * them. The workers copy them into their counters once a second (counters.ts recordIoTotals).
 */
export interface PacketIOStats {
  /** Received frames longer than a slot (delivered flagged FRAME_TRUNCATED). */
  truncatedFrames: number;
  /** Receives that met an interruption or a link going down and returned an empty batch. */
  receiveErrors: number;
  /** tx frames the kernel refused or the engine could not queue (queue or ring full, link down, too long). */
  sendDropped: number;
  /** errno of the last refused send, 0 if none. */
  lastSendErrno: number;
  /** Frames the kernel dropped before the engine took them (queue or ring full); see collectKernelDrops. */
  kernelDrops: number;
}

export function createPacketIOStats(): PacketIOStats {
  return { truncatedFrames: 0, receiveErrors: 0, sendDropped: 0, lastSendErrno: 0, kernelDrops: 0 };
}

export interface PacketIO {
  /** Preallocated batch the receiver fills. */
  readonly rx: PacketBatch;
  /** Preallocated batch the sender drains. */
  readonly tx: TxBatch;
  /**
   * Fills `rx` with up to rx.slotCount frames; waits at most the I/O's receive timeout.
   * Returns the number received (0 on timeout).
   */
  receive(): number;
  /** Sends tx.count frames (each from `tx` or the rx slot it names); returns the number the kernel accepted. */
  send(): number;
  readonly stats: PacketIOStats;
  /**
   * Brings `stats.kernelDrops` up to date and returns it. May make a system call: call it now
   * and then (bng's workers: once a second), never per batch.
   */
  collectKernelDrops(): number;
  close(): void;
}

export function createBatch(slotCount: number, slotSize: number): PacketBatch {
  return {
    slotCount,
    slotSize,
    // Over an explicit ArrayBuffer, so a pointer to the slots may be kept (ffi/README.md).
    bytes: new Uint8Array(new ArrayBuffer(slotCount * slotSize)),
    offsets: slotsInARow(slotCount, slotSize),
    lengths: new Uint32Array(slotCount),
    flags: new Uint8Array(slotCount),
    pktTypes: new Uint8Array(slotCount),
    count: 0,
  };
}

/** The offsets of `slotCount` slots of `slotSize` bytes one after the other. */
export function slotsInARow(slotCount: number, slotSize: number): Uint32Array {
  return Uint32Array.from({ length: slotCount }, (_, slot) => slot * slotSize);
}

/** A tx batch whose slots all hold their own frames until the processor says otherwise. */
export function createTxBatch(slotCount: number, slotSize: number): TxBatch {
  return { ...createBatch(slotCount, slotSize), rxSlots: new Int16Array(slotCount).fill(-1) };
}

/** The bytes and offset of tx slot `slot`'s frame: its own, or those of the rx slot it names. */
export function txFrameAt(rx: PacketBatch, tx: TxBatch, slot: number): { bytes: Uint8Array; at: number } {
  const rxSlot = tx.rxSlots[slot] ?? -1;
  return rxSlot >= 0 ? { bytes: rx.bytes, at: rx.offsets[rxSlot]! } : { bytes: tx.bytes, at: tx.offsets[slot]! };
}
