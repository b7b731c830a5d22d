// PacketIO receiving from a PACKET_MMAP ring (`set io ring`): the kernel writes frames into
// memory shared with bng, so a busy worker takes a batch without a system call; it sleeps in
// poll(2) only when the ring is empty. Sending is the shared sendmmsg path of packet-socket.ts.
//
// TPACKET_V2, not V3. V3 hands frames over a whole block at a time: a block is given to user
// space when it is full or when its retire timer (tp_retire_blk_tov, whole milliseconds, 0 =
// a kernel default) fires. Measured on this kernel between two namespaces (C echo over veth,
// one frame every 20 ms, round trip p50): V2 0.06 ms; V3 with tov 1 ms 0.92 ms, 2 ms 1.91 ms,
// default 3.9 ms. At low rates V3 adds its timeout to every frame and 1 ms is its floor: a
// 1-connection HTTP exchange would pay it on each packet. V2 has a status word per frame, so
// each frame is handed over as soon as it is written.
import { ptr, toArrayBuffer, type Pointer } from "bun:ffi";
import { FRAME_TRUNCATED, type PacketBatch } from "../src/dataplane/packet-io.ts";
import { EINTR, ENETDOWN, ENOBUFS, ENOMEM, SyscallError } from "./errors.ts";
import {
  MAP_SHARED,
  PACKET_RESERVE,
  PACKET_RX_RING,
  PACKET_VERSION,
  POLLERR,
  POLLFD,
  POLLIN,
  PROT_READ,
  PROT_WRITE,
  SO_ERROR,
  SOCKADDR_LL,
  SOL_PACKET,
  SOL_SOCKET,
  TP_STATUS_KERNEL,
  TP_STATUS_USER,
  TPACKET2_HDR,
  TPACKET_REQ,
  TPACKET_V2,
} from "./layout.ts";
import { check, lastErrno, libc } from "./libc.ts";
import {
  openPacketSocketIO,
  setIntOption,
  statusFlags,
  type AfPacketIO,
  type AfPacketStats,
  type PacketIOOptions,
  type PacketSocket,
  type ReceiveBackend,
} from "./packet-socket.ts";

/**
 * Frames in the ring: 32 full batches of 64, so a burst waits in the ring rather than being
 * dropped (about 4.4 MiB with 2,048-byte slots, what the recvmmsg backend asks for as SO_RCVBUF).
 */
const RING_FRAMES = 2048;
/** Jumbo slots get fewer frames instead of more memory. */
const RING_MAX_BYTES = 16 << 20;
// Blocks must be page-aligned; 64 KiB is a multiple of every page size Linux uses.
const RING_BLOCK_BYTES = 1 << 16;
// tpacket2_hdr (32) + sockaddr_ll (20), aligned, plus the kernel's 16-byte room before the
// network header puts an Ethernet frame at offset 66, and RING_RESERVE moves it to 68; 128
// leaves room for that in every ring frame.
const RING_FRAME_HEADROOM = 128;
// Two bytes before each frame (PACKET_RESERVE) put its Ethernet header on a 4-byte boundary, so
// a frame is copied out as 32-bit words in JavaScript: for short frames that is several times
// cheaper than one memcpy call through FFI (measured here: ~9 against ~50-60 ns for 60 bytes).
const RING_RESERVE = 2;
/** Frames up to this long are copied as words in JavaScript, longer ones with memcpy. */
const WORD_COPY_MAX_BYTES = 256;
// The kernel's TPACKET_ALIGNMENT: frame sizes are multiples of it.
const TPACKET_ALIGNMENT = 16;

/** The ring's geometry for frames of up to `slotSize` bytes. */
export function ringGeometry(slotSize: number) {
  // Frames need not be a power of two, only aligned; a block holds as many whole frames as fit
  // and leaves the rest unused, so frame i lives at offsets[i], not at i * frameSize.
  const frameSize = Math.ceil((slotSize + RING_FRAME_HEADROOM) / TPACKET_ALIGNMENT) * TPACKET_ALIGNMENT;
  const blockSize = Math.ceil(frameSize / RING_BLOCK_BYTES) * RING_BLOCK_BYTES;
  const framesPerBlock = Math.floor(blockSize / frameSize);
  const blockCount = Math.max(1, Math.min(Math.ceil(RING_FRAMES / framesPerBlock), Math.floor(RING_MAX_BYTES / blockSize)));
  const frameCount = blockCount * framesPerBlock;
  const offsets = new Uint32Array(frameCount);
  for (let frame = 0; frame < frameCount; frame++) {
    offsets[frame] = Math.floor(frame / framesPerBlock) * blockSize + (frame % framesPerBlock) * frameSize;
  }
  return { frameSize, blockSize, blockCount, frameCount, offsets, size: blockSize * blockCount };
}

/** A PacketIO on `options.ifname` that receives from a TPACKET_V2 PACKET_RX_RING. */
export function openRingIO(options: PacketIOOptions): AfPacketIO {
  return openPacketSocketIO(options, { usesReceiveBuffer: false, attach: attachRing });
}

function attachRing(socket: PacketSocket): ReceiveBackend {
  const { fd, ifname, arena, stats, receiveTimeoutMs } = socket;
  const { rx } = arena;
  const geometry = ringGeometry(rx.slotSize);
  setIntOption(fd, SOL_PACKET, PACKET_VERSION, TPACKET_V2, "setsockopt(PACKET_VERSION, TPACKET_V2)");
  setIntOption(fd, SOL_PACKET, PACKET_RESERVE, RING_RESERVE, "setsockopt(PACKET_RESERVE)");
  const request = new Uint32Array(TPACKET_REQ.size / 4);
  request[TPACKET_REQ.blockSize / 4] = geometry.blockSize;
  request[TPACKET_REQ.blockNr / 4] = geometry.blockCount;
  request[TPACKET_REQ.frameSize / 4] = geometry.frameSize;
  request[TPACKET_REQ.frameNr / 4] = geometry.frameCount;
  check(libc.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, request, TPACKET_REQ.size), `setsockopt(PACKET_RX_RING, ${ifname}, ${geometry.size} bytes)`, (errno) =>
    errno === ENOMEM || errno === ENOBUFS ? "not enough kernel memory for the receive ring; use `set io mmsg`" : undefined,
  );
  const mapped = libc.mmap(null, geometry.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  // MAP_FAILED is (void *)-1, which arrives as 2^64 - 1.
  const ringPointer = Number(mapped);
  if (mapped === null || ringPointer >= 2 ** 63) {
    const errno = lastErrno();
    throw new SyscallError(`mmap(receive ring, ${ifname}, ${geometry.size} bytes)`, errno, errno === ENOMEM ? "out of memory for the receive ring; use `set io mmsg`" : undefined);
  }
  const memory = toArrayBuffer(mapped, 0, geometry.size);
  const ring: Ring = {
    bytes: new Uint8Array(memory),
    words: new Int32Array(memory),
    rxWords: new Int32Array(rx.bytes.buffer, rx.bytes.byteOffset, rx.bytes.byteLength >> 2),
    view: new DataView(memory),
    pointer: ringPointer,
    offsets: geometry.offsets,
    next: 0,
  };
  const rxPointer = arena.pointer + (rx.bytes.byteOffset - arena.bytes.byteOffset);

  // One pollfd and one SO_ERROR cell (value, length), their pointers taken once; the receiver's
  // closure keeps the arrays referenced, so the addresses stay valid.
  const pollCell = new Uint8Array(new ArrayBuffer(POLLFD.size));
  const pollView = new DataView(pollCell.buffer);
  pollView.setInt32(POLLFD.fd, fd, true);
  pollView.setInt16(POLLFD.events, POLLIN, true);
  const pollPointer = ptr(pollCell);
  // Both over explicit ArrayBuffers, as every array whose pointer is kept (ffi/README.md).
  const errorCell = new Int32Array(new ArrayBuffer(8));
  const errorPointer = ptr(errorCell);
  const errorLengthPointer = errorPointer + 4;

  // A pending socket error (ENETDOWN when the link goes down) makes poll return POLLERR at once,
  // every time, until it is read: read it as recvmmsg would, or the worker would spin.
  function takePendingError(): void {
    errorCell[0] = 0;
    errorCell[1] = 4;
    check(libc.getsockopt(fd, SOL_SOCKET, SO_ERROR, errorPointer as Pointer, errorLengthPointer as Pointer), `getsockopt(SO_ERROR, ${ifname})`);
    const pending = errorCell[0]!;
    if (pending === 0) return;
    if (pending === ENETDOWN || pending === EINTR) {
      stats.receiveErrors++;
      return;
    }
    throw new SyscallError(`poll(receive ring, ${ifname})`, pending);
  }

  let released = false;
  return {
    receive(): number {
      const count = takeFromRing(ring, rx, rxPointer, stats);
      if (count !== 0) return count;
      // Nothing waiting: sleep until a frame is written or the timeout passes.
      const ready = libc.poll(pollPointer as Pointer, 1, receiveTimeoutMs);
      if (ready === 0) return 0;
      if (ready < 0) {
        const errno = lastErrno();
        if (errno !== EINTR) throw new SyscallError(`poll(receive ring, ${ifname})`, errno);
        stats.receiveErrors++;
        return 0;
      }
      if ((pollView.getInt16(POLLFD.revents, true) & POLLERR) !== 0) takePendingError();
      return takeFromRing(ring, rx, rxPointer, stats);
    },
    release(): void {
      if (released) return;
      released = true;
      libc.munmap(mapped, geometry.size);
    },
  };
}

interface Ring {
  readonly bytes: Uint8Array;
  /** The ring as 32-bit words: statuses are read and handed back with Atomics (ordering). */
  readonly words: Int32Array;
  /** The rx batch's slots as 32-bit words, the destination of word copies. */
  readonly rxWords: Int32Array;
  readonly view: DataView;
  readonly pointer: number;
  /** Byte offset of each frame in the ring. */
  readonly offsets: Uint32Array;
  /** The next frame the kernel fills (it fills them in order). */
  next: number;
}

/** Moves the frames the kernel has filled (up to a batch) into rx and gives them back at once. */
function takeFromRing(ring: Ring, rx: PacketBatch, rxPointer: number, stats: AfPacketStats): number {
  const { bytes, words, view, offsets } = ring;
  const { slotSize, slotCount } = rx;
  let count = 0;
  while (count < slotCount) {
    const frameAt = offsets[ring.next]!;
    // Acquire: the frame's bytes are read only after the kernel's status says they are written.
    const status = Atomics.load(words, (frameAt + TPACKET2_HDR.status) >> 2);
    if ((status & TP_STATUS_USER) === 0) break;
    const capturedLength = view.getUint32(frameAt + TPACKET2_HDR.snaplen, true);
    const wireLength = view.getUint32(frameAt + TPACKET2_HDR.len, true);
    const length = capturedLength < slotSize ? capturedLength : slotSize;
    const from = frameAt + view.getUint16(frameAt + TPACKET2_HDR.mac, true);
    const to = count * slotSize;
    if (length <= WORD_COPY_MAX_BYTES && (from & 3) === 0 && (to & 3) === 0) copyWords(ring, rx.bytes, from, to, length);
    else libc.memcpy((rxPointer + to) as Pointer, (ring.pointer + from) as Pointer, length);
    rx.lengths[count] = length;
    rx.pktTypes[count] = bytes[frameAt + TPACKET2_HDR.address + SOCKADDR_LL.pkttype]!;
    let flags = statusFlags(status);
    // tp_len is the length on the wire; less of it in the slot (the ring frame or the slot was
    // too small, e.g. a GSO super-frame) means the frame is unusable.
    if (length < wireLength) {
      flags |= FRAME_TRUNCATED;
      stats.truncatedFrames++;
    }
    rx.flags[count] = flags;
    // Release: the kernel may reuse the frame only after it has been copied out.
    Atomics.store(words, (frameAt + TPACKET2_HDR.status) >> 2, TP_STATUS_KERNEL);
    ring.next = ring.next + 1 === offsets.length ? 0 : ring.next + 1;
    count++;
  }
  rx.count = count;
  return count;
}

/** Copies `length` bytes from ring offset `from` to rx offset `to`, both 4-byte aligned: whole words, then the 0-3 bytes left. */
function copyWords(ring: Ring, rxBytes: Uint8Array, from: number, to: number, length: number): void {
  const { words, rxWords, bytes } = ring;
  const wordCount = length >> 2;
  const fromWord = from >> 2;
  const toWord = to >> 2;
  for (let word = 0; word < wordCount; word++) rxWords[toWord + word] = words[fromWord + word]!;
  for (let at = wordCount << 2; at < length; at++) rxBytes[to + at] = bytes[from + at]!;
}
