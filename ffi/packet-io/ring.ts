// PacketIO over PACKET_MMAP rings (`set io ring`). Receiving: the kernel writes frames into
// memory shared with bng, so a busy worker takes a batch without a system call; it sleeps in
// poll(2) only when the ring is empty. Sending: bng writes the batch into a send ring
// (PACKET_TX_RING) and one send(2) hands all of it to the kernel, which walks the ring itself
// instead of taking one message header and iovec per frame from user memory as sendmmsg does.
//
// TPACKET_V2, not V3. V3 hands frames over a whole block at a time: a block is given to user
// space when it is full or when its retire timer (tp_retire_blk_tov, whole milliseconds, 0 =
// a kernel default) fires. Measured on this kernel between two namespaces (C echo over veth,
// one frame every 20 ms, round trip p50): V2 0.06 ms; V3 with tov 1 ms 0.92 ms, 2 ms 1.91 ms,
// default 3.9 ms. At low rates V3 adds its timeout to every frame and 1 ms is its floor: a
// 1-connection HTTP exchange would pay it on each packet. V2 has a status word per frame, so
// each frame is handed over as soon as it is written.
//
// The send ring lives on a second socket, bound to the interface with protocol 0 so that it
// receives nothing. Each of its frames starts with a virtio_net_hdr (PACKET_VNET_HDR) whose
// hdr_len is the whole frame, so the kernel copies the frame into one linear buffer, as sendmmsg
// does for a frame under a page. Without it the kernel copies only the Ethernet header and
// attaches the rest as the ring's pages, marked zero-copy, which costs more further on (veth,
// for one, copies such pages again before a frame enters the next namespace).
// Measured on 2026-11-30 with C forwarders (not kept in the repository) on the topology of
// bench/packet-rate.ts (two rounds, kernel time per forwarded 64-byte frame): receive ring + sendmmsg 2,818-2,867 ns,
// receive ring + send ring with the header 2,515-2,543 ns, without it 3,038-3,064 ns.
import { FRAME_TRUNCATED, type PacketBatch, type PacketIOStats, type TxBatch } from "../../src/dataplane/packet-io.ts";
import { EINTR, EMSGSIZE, ENETDOWN, ENOBUFS, ENOMEM, SyscallError } from "../errors.ts";
import {
  MAP_SHARED,
  MSG_DONTWAIT,
  PACKET_LOSS,
  PACKET_QDISC_BYPASS,
  PACKET_RESERVE,
  PACKET_RX_RING,
  PACKET_TX_HAS_OFF,
  PACKET_TX_RING,
  PACKET_VERSION,
  PACKET_VNET_HDR,
  POLLERR,
  POLLFD,
  POLLIN,
  PROT_READ,
  PROT_WRITE,
  SO_ERROR,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOCKADDR_LL,
  SOL_PACKET,
  SOL_SOCKET,
  TP_STATUS_AVAILABLE,
  TP_STATUS_KERNEL,
  TP_STATUS_SEND_REQUEST,
  TP_STATUS_SENDING,
  TP_STATUS_USER,
  TP_STATUS_WRONG_FORMAT,
  TPACKET2_HDR,
  TPACKET_REQ,
  TPACKET_V2,
  VIRTIO_NET_HDR,
} from "../layout.ts";
import { check, lastErrno, libc } from "../libc.ts";
import { native, type NativePointer, type WideInteger } from "../native.ts";
import {
  openPacketSocketIO,
  openUnboundPacketSocket,
  setBufferSize,
  setIntOption,
  sockaddrLl,
  statusFlags,
  type AfPacketIO,
  type AttachedBackend,
  type PacketIOOptions,
  type PacketSocket,
} from "./socket.ts";

/**
 * Frames in the receive ring: 32 full batches of 64, so a burst waits in the ring rather than
 * being dropped (2,070 frames, about 4.3 MiB, with 2,048-byte slots: what the recvmmsg backend
 * asks for as SO_RCVBUF).
 */
const RING_FRAMES = 2048;
/**
 * Batches the send ring holds at least (512 frames for batches of 64; 527 once rounded up to
 * whole blocks with 2,048-byte slots). A frame stays the kernel's until
 * the driver has finished with it (at once on veth, at transmit completion on a NIC), and a frame
 * that finds its ring frame still taken is dropped, so there is room for several batches in flight.
 */
const SEND_RING_BATCHES = 8;
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
// Where a send ring frame's data starts, its tp_mac (PACKET_TX_HAS_OFF): the virtio_net_hdr
// there ends at 44, so the Ethernet frame after it is on a word boundary and is copied in as
// 32-bit words. The kernel's fixed start, just after the 32-byte header, would put it at 42.
const SEND_DATA_AT = 34;
const SEND_FRAME_AT = SEND_DATA_AT + VIRTIO_NET_HDR.size;
// A frame up to this long is sent as one linear buffer (its virtio_net_hdr's hdr_len is the
// whole frame), as sendmmsg sends a frame under a page. A longer one (jumbo frames) has only its
// first SEND_COPIED_HEADER_BYTES copied, all its headers, and the rest attached as the ring's
// pages, so the kernel never needs a buffer of several pages for it.
const SEND_LINEAR_MAX_BYTES = 3584;
const SEND_COPIED_HEADER_BYTES = 128;
/** A send ring frame is free when it has none of these status bits (timestamp bits may be set). */
const SEND_FRAME_TAKEN = TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING | TP_STATUS_WRONG_FORMAT;
/** Frames up to this long are copied as words in JavaScript, longer ones with memcpy. */
const WORD_COPY_MAX_BYTES = 256;
// The kernel's TPACKET_ALIGNMENT: frame sizes are multiples of it.
const TPACKET_ALIGNMENT = 16;
/** Send buffer of the send ring's socket: what its frames in flight may hold, as SO_RCVBUF for recvmmsg. */
const SEND_BUFFER_BYTES = 4 << 20;
// The packet path's 64-bit arguments, made once (native/types.ts: a number would allocate on Deno).
const NO_BYTES = native.wide(0);
const ONE_POLLFD = native.wide(1);

/** A ring of `frameCount` frames of at least `frameBytes` bytes, in page-aligned blocks. */
function ringGeometry(frameBytes: number, frames: number) {
  // Frames need not be a power of two, only aligned; a block holds as many whole frames as fit
  // and leaves the rest unused, so frame i lives at offsets[i], not at i * frameSize.
  const frameSize = Math.ceil(frameBytes / TPACKET_ALIGNMENT) * TPACKET_ALIGNMENT;
  const blockSize = Math.ceil(frameSize / RING_BLOCK_BYTES) * RING_BLOCK_BYTES;
  const framesPerBlock = Math.floor(blockSize / frameSize);
  const blockCount = Math.max(1, Math.min(Math.ceil(frames / framesPerBlock), Math.floor(RING_MAX_BYTES / blockSize)));
  const frameCount = blockCount * framesPerBlock;
  const offsets = new Uint32Array(frameCount);
  for (let frame = 0; frame < frameCount; frame++) {
    offsets[frame] = Math.floor(frame / framesPerBlock) * blockSize + (frame % framesPerBlock) * frameSize;
  }
  return { frameSize, blockSize, blockCount, frameCount, offsets, size: blockSize * blockCount };
}

/** The receive ring's geometry for frames of up to `slotSize` bytes. */
export function receiveRingGeometry(slotSize: number) {
  return ringGeometry(slotSize + RING_FRAME_HEADROOM, RING_FRAMES);
}

/** The send ring's geometry for batches of `batchSize` frames of up to `slotSize` bytes. */
export function sendRingGeometry(slotSize: number, batchSize: number) {
  return ringGeometry(SEND_FRAME_AT + slotSize, SEND_RING_BATCHES * batchSize);
}

/** A PacketIO on `options.ifname` that receives from a TPACKET_V2 PACKET_RX_RING and sends through a PACKET_TX_RING. */
export function openRingIO(options: PacketIOOptions): AfPacketIO {
  return openPacketSocketIO(options, { usesReceiveBuffer: false, attach: attachRings });
}

type Geometry = ReturnType<typeof ringGeometry>;

/** Sets up `fd`'s ring of `kind` (PACKET_RX_RING or PACKET_TX_RING) and maps it; returns its address. */
function mapRing(fd: number, kind: typeof PACKET_RX_RING | typeof PACKET_TX_RING, geometry: Geometry, ifname: string): number {
  const request = new Uint32Array(TPACKET_REQ.size / 4);
  request[TPACKET_REQ.blockSize / 4] = geometry.blockSize;
  request[TPACKET_REQ.blockNr / 4] = geometry.blockCount;
  request[TPACKET_REQ.frameSize / 4] = geometry.frameSize;
  request[TPACKET_REQ.frameNr / 4] = geometry.frameCount;
  const [option, what] = kind === PACKET_RX_RING ? ["PACKET_RX_RING", "receive ring"] : ["PACKET_TX_RING", "send ring"];
  check(libc.setsockopt(fd, SOL_PACKET, kind, request, TPACKET_REQ.size), `setsockopt(${option}, ${ifname}, ${geometry.size} bytes)`, (errno) =>
    errno === ENOMEM || errno === ENOBUFS ? `not enough kernel memory for the ${what}; use \`set io mmsg\`` : undefined,
  );
  const mapped = libc.mmap(null, geometry.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  // MAP_FAILED is (void *)-1, which arrives as 2^64 - 1.
  if (mapped === 0 || mapped >= 2 ** 63) {
    const errno = lastErrno();
    throw new SyscallError(`mmap(${what}, ${ifname}, ${geometry.size} bytes)`, errno, errno === ENOMEM ? `out of memory for the ${what}; use \`set io mmsg\`` : undefined);
  }
  return mapped;
}

function attachRings(socket: PacketSocket): AttachedBackend {
  const { fd, ifname, arena } = socket;
  const receiveGeometry = receiveRingGeometry(arena.rx.slotSize);
  setIntOption(fd, SOL_PACKET, PACKET_VERSION, TPACKET_V2, "setsockopt(PACKET_VERSION, TPACKET_V2)");
  setIntOption(fd, SOL_PACKET, PACKET_RESERVE, RING_RESERVE, "setsockopt(PACKET_RESERVE)");
  const receiveMapping = mapRing(fd, PACKET_RX_RING, receiveGeometry, ifname);
  const slots = slotViews(arena.rx, arena.tx, arena.rxSlotPointers, arena.txSlotPointers);
  let sendFd = -1;
  let sender: ReturnType<typeof attachSendRing> | undefined;
  try {
    sendFd = openUnboundPacketSocket();
    sender = attachSendRing(socket, sendFd, slots);
    const receiver = attachReceiveRing(socket, receiveGeometry, receiveMapping, slots);
    const attachedSender = sender;
    return {
      receive: receiver.receive,
      sender: { name: "send ring", send: attachedSender.send },
      release(): void {
        receiver.release();
        attachedSender.release();
      },
    };
  } catch (error) {
    libc.munmap(native.pointer(receiveMapping), receiveGeometry.size);
    if (sender !== undefined) sender.release();
    else if (sendFd >= 0) libc.close(sendFd);
    throw error;
  }
}

/** A ring mapped from the kernel (or, in tests, ordinary memory): its bytes three ways, its address, where each frame is, and the next frame. */
export interface MappedRing {
  readonly bytes: Uint8Array;
  /** The ring as 32-bit words: statuses are read and handed back with Atomics (ordering). */
  readonly words: Int32Array;
  readonly view: DataView;
  /** The address of `bytes`. */
  readonly address: number;
  /** Byte offset of each frame in the ring. */
  readonly offsets: Uint32Array;
  /**
   * Per frame, a kept pointer to a place in it for memcpy, and that place's offset from the
   * frame's start (-1: none yet). Made the first time a frame is copied with memcpy, again only
   * if the place moves (the kernel's tp_mac), so copying allocates nothing in the steady state.
   */
  readonly copyPointers: NativePointer[];
  readonly copyPointerOffsets: Int32Array;
  /** The next frame to take (receive) or fill (send): the kernel goes through them in order. */
  next: number;
}

function mappedRing(memory: ArrayBuffer, address: number, offsets: Uint32Array): MappedRing {
  return {
    bytes: new Uint8Array(memory),
    words: new Int32Array(memory),
    view: new DataView(memory),
    address,
    offsets,
    copyPointers: new Array<NativePointer>(offsets.length),
    copyPointerOffsets: new Int32Array(offsets.length).fill(-1),
    next: 0,
  };
}

/** A kept pointer to byte `offset` of ring frame `frame`. */
function ringPointer(ring: MappedRing, frame: number, offset: number): NativePointer {
  if (ring.copyPointerOffsets[frame] !== offset) {
    ring.copyPointers[frame] = native.pointer(ring.address + ring.offsets[frame]! + offset);
    ring.copyPointerOffsets[frame] = offset;
  }
  return ring.copyPointers[frame]!;
}

/** The arena's rx and tx slots as words and as kept pointers: where frames are copied to and from. */
export interface SlotViews {
  readonly rxWords: Int32Array;
  readonly txWords: Int32Array;
  readonly rxPointers: readonly NativePointer[];
  readonly txPointers: readonly NativePointer[];
  /** memcpy's length argument for each frame length up to the larger slot, made once. */
  readonly copyLengths: readonly WideInteger[];
}

/** The views of `rx` and `tx`, whose slots are at `rxPointers` and `txPointers`. */
export function slotViews(rx: PacketBatch, tx: TxBatch, rxPointers: readonly NativePointer[], txPointers: readonly NativePointer[]): SlotViews {
  return {
    rxWords: new Int32Array(rx.bytes.buffer, rx.bytes.byteOffset, rx.bytes.byteLength >> 2),
    txWords: new Int32Array(tx.bytes.buffer, tx.bytes.byteOffset, tx.bytes.byteLength >> 2),
    rxPointers,
    txPointers,
    copyLengths: Array.from({ length: Math.max(rx.slotSize, tx.slotSize) + 1 }, (_, length) => native.wide(length)),
  };
}

function attachReceiveRing(socket: PacketSocket, geometry: Geometry, mapped: number, slots: SlotViews): { receive(): number; release(): void } {
  const { fd, ifname, arena, stats, receiveTimeoutMs } = socket;
  const { rx } = arena;
  const ring = mappedRing(native.memoryAt(mapped, geometry.size), mapped, geometry.offsets);
  const mapping = native.pointer(mapped);

  // One pollfd and one SO_ERROR cell (value, length), made once.
  const pollCell = new Uint8Array(POLLFD.size);
  const pollView = new DataView(pollCell.buffer);
  pollView.setInt32(POLLFD.fd, fd, true);
  pollView.setInt16(POLLFD.events, POLLIN, true);
  const errorCell = new Int32Array(1);
  const errorLength = new Uint32Array(1);

  // A pending socket error (ENETDOWN when the link goes down) makes poll return POLLERR at once,
  // every time, until it is read: read it as recvmmsg would, or the worker would spin.
  function takePendingError(): void {
    errorCell[0] = 0;
    errorLength[0] = 4;
    check(libc.getsockopt(fd, SOL_SOCKET, SO_ERROR, errorCell, errorLength), `getsockopt(SO_ERROR, ${ifname})`);
    const pending = errorCell[0]!;
    if (pending === 0) return;
    if (pending === ENETDOWN || pending === EINTR) {
      stats.receiveErrors++;
      return;
    }
    throw new SyscallError(`poll(receive ring, ${ifname})`, pending);
  }

  return {
    receive(): number {
      const count = takeFromRing(ring, rx, slots, stats);
      if (count !== 0) return count;
      // Nothing waiting: sleep until a frame is written or the timeout passes.
      const ready = libc.poll(pollCell, ONE_POLLFD, receiveTimeoutMs);
      if (ready === 0) return 0;
      if (ready < 0) {
        const errno = lastErrno();
        if (errno !== EINTR) throw new SyscallError(`poll(receive ring, ${ifname})`, errno);
        stats.receiveErrors++;
        return 0;
      }
      if ((pollView.getInt16(POLLFD.revents, true) & POLLERR) !== 0) takePendingError();
      return takeFromRing(ring, rx, slots, stats);
    },
    release(): void {
      libc.munmap(mapping, geometry.size);
    },
  };
}

/**
 * The send ring on its own socket `sendFd`: options, ring and mapping (the options must come
 * before the ring), then bind. Throws SyscallError (RangeError when 16 MiB holds less than a
 * batch), having unmapped the ring; the caller closes `sendFd`.
 */
function attachSendRing(socket: PacketSocket, sendFd: number, slots: SlotViews): { send(): number; release(): void } {
  const { ifname, ifindex, arena, stats } = socket;
  const { rx, tx } = arena;
  setIntOption(sendFd, SOL_PACKET, PACKET_VERSION, TPACKET_V2, "setsockopt(PACKET_VERSION, TPACKET_V2)");
  setIntOption(sendFd, SOL_PACKET, PACKET_VNET_HDR, 1, "setsockopt(PACKET_VNET_HDR)");
  setIntOption(sendFd, SOL_PACKET, PACKET_TX_HAS_OFF, 1, "setsockopt(PACKET_TX_HAS_OFF)");
  // A frame the kernel refuses must not stop the ring: it is skipped and the rest go out.
  setIntOption(sendFd, SOL_PACKET, PACKET_LOSS, 1, "setsockopt(PACKET_LOSS)");
  if (socket.qdiscBypass) setIntOption(sendFd, SOL_PACKET, PACKET_QDISC_BYPASS, 1, "setsockopt(PACKET_QDISC_BYPASS)");
  setBufferSize(sendFd, SO_SNDBUFFORCE, SO_SNDBUF, "SO_SNDBUF", SEND_BUFFER_BYTES);
  const geometry = sendRingGeometry(tx.slotSize, tx.slotCount);
  if (geometry.frameCount < tx.slotCount) {
    throw new RangeError(
      `a send ring of ${RING_MAX_BYTES >> 20} MiB holds only ${geometry.frameCount} frames of ${tx.slotSize} bytes, fewer than a batch of ${tx.slotCount}; use \`set io mmsg\``,
    );
  }
  const mapped = mapRing(sendFd, PACKET_TX_RING, geometry, ifname);
  const mapping = native.pointer(mapped);
  let ring: MappedRing;
  try {
    ring = createSendRing(native.memoryAt(mapped, geometry.size), mapped, geometry.offsets);
    // Protocol 0: the socket receives nothing; the kernel reads each frame's EtherType from it.
    const bound = libc.bind(sendFd, sockaddrLl(ifindex, 0), SOCKADDR_LL.size);
    if (bound < 0) throw new SyscallError(`bind(AF_PACKET send ring, ${ifname})`, lastErrno());
  } catch (error) {
    libc.munmap(mapping, geometry.size);
    throw error;
  }
  return {
    send(): number {
      const queued = putInSendRing(ring, rx, tx, slots, stats);
      if (queued === 0) return 0;
      // One call sends every frame marked; MSG_DONTWAIT: it does not wait for the driver to
      // finish with them, only to take them.
      const sent = libc.send(sendFd, null, NO_BYTES, MSG_DONTWAIT);
      if (sent < 0) stats.lastSendErrno = lastErrno();
      const unsent = takeBackUnsent(ring, queued, stats);
      // Taken only in part without an error: the kernel had no memory (or send buffer) for a buffer.
      if (unsent > 0 && sent >= 0) stats.lastSendErrno = ENOBUFS;
      return queued - unsent;
    },
    release(): void {
      libc.munmap(mapping, geometry.size);
      libc.close(sendFd);
    },
  };
}

/**
 * A send ring over `memory` (at address `pointer`) with frames at `offsets`. Every frame's data
 * starts at SEND_DATA_AT, set here once; its virtio_net_hdr asks for nothing (no checksum, no
 * segmentation) but hdr_len, written per frame: the rest stays as the kernel zeroed it.
 */
export function createSendRing(memory: ArrayBuffer, address: number, offsets: Uint32Array): MappedRing {
  const ring = mappedRing(memory, address, offsets);
  for (const frameAt of offsets) ring.view.setUint16(frameAt + TPACKET2_HDR.mac, SEND_DATA_AT, true);
  return ring;
}

/**
 * Copies tx's frames (each from its own slot or the rx slot it names) into the send ring and
 * marks them to be sent; a frame whose ring frame the kernel still holds, or longer than its
 * slot, is dropped and counted. Returns how many were marked.
 */
export function putInSendRing(ring: MappedRing, rx: PacketBatch, tx: TxBatch, slots: SlotViews, stats: PacketIOStats): number {
  const { words, bytes, view, offsets } = ring;
  const total = tx.count;
  let queued = 0;
  for (let slot = 0; slot < total; slot++) {
    const frameAt = offsets[ring.next]!;
    if ((Atomics.load(words, (frameAt + TPACKET2_HDR.status) >> 2) & SEND_FRAME_TAKEN) !== 0) {
      stats.sendDropped++;
      stats.lastSendErrno = ENOBUFS;
      continue;
    }
    const length = tx.lengths[slot]!;
    if (length > tx.slotSize) {
      stats.sendDropped++;
      stats.lastSendErrno = EMSGSIZE;
      continue;
    }
    const rxSlot = tx.rxSlots[slot]!;
    const fromRx = rxSlot >= 0;
    const from = fromRx ? rxSlot * rx.slotSize : slot * tx.slotSize;
    const to = frameAt + SEND_FRAME_AT;
    if (length <= WORD_COPY_MAX_BYTES && (from & 3) === 0) {
      copyWords(fromRx ? slots.rxWords : slots.txWords, fromRx ? rx.bytes : tx.bytes, from, words, bytes, to, length);
    } else {
      libc.memcpy(ringPointer(ring, ring.next, SEND_FRAME_AT), fromRx ? slots.rxPointers[rxSlot]! : slots.txPointers[slot]!, slots.copyLengths[length]!);
    }
    view.setUint32(frameAt + TPACKET2_HDR.len, VIRTIO_NET_HDR.size + length, true);
    // hdr_len: what the kernel copies into the buffer it sends. The 32-bit store also clears
    // gso_size, which follows it.
    words[(frameAt + SEND_DATA_AT + VIRTIO_NET_HDR.hdrLen) >> 2] = length <= SEND_LINEAR_MAX_BYTES ? length : SEND_COPIED_HEADER_BYTES;
    // Release: the kernel reads the frame only after it sees the status.
    Atomics.store(words, (frameAt + TPACKET2_HDR.status) >> 2, TP_STATUS_SEND_REQUEST);
    ring.next = ring.next + 1 === offsets.length ? 0 : ring.next + 1;
    queued++;
  }
  return queued;
}

/**
 * After a send, the frames of the last `queued` the kernel did not take (interface down, no
 * memory for a buffer) are still marked, at the end of the ring's filled part, where the kernel
 * would resume. They are given back and counted as dropped, so a frame is never sent late and
 * the kernel's position stays the next frame filled. Returns how many.
 */
export function takeBackUnsent(ring: MappedRing, queued: number, stats: PacketIOStats): number {
  const { words, offsets } = ring;
  let unsent = 0;
  while (unsent < queued) {
    const previous = ring.next === 0 ? offsets.length - 1 : ring.next - 1;
    const statusAt = (offsets[previous]! + TPACKET2_HDR.status) >> 2;
    if (Atomics.load(words, statusAt) !== TP_STATUS_SEND_REQUEST) break;
    Atomics.store(words, statusAt, TP_STATUS_AVAILABLE);
    ring.next = previous;
    unsent++;
  }
  stats.sendDropped += unsent;
  return unsent;
}

/** Moves the frames the kernel has filled (up to a batch) into rx and gives them back at once. */
function takeFromRing(ring: MappedRing, rx: PacketBatch, slots: SlotViews, stats: PacketIOStats): number {
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
    const mac = view.getUint16(frameAt + TPACKET2_HDR.mac, true);
    const from = frameAt + mac;
    const to = count * slotSize;
    if (length <= WORD_COPY_MAX_BYTES && (from & 3) === 0 && (to & 3) === 0) copyWords(words, bytes, from, slots.rxWords, rx.bytes, to, length);
    else libc.memcpy(slots.rxPointers[count]!, ringPointer(ring, ring.next, mac), slots.copyLengths[length]!);
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

/**
 * Copies `length` bytes at byte offset `from` of one region to `to` of another, both 4-byte
 * aligned, each region given as words and as bytes: whole words, then the 0-3 bytes left.
 */
function copyWords(fromWords: Int32Array, fromBytes: Uint8Array, from: number, toWords: Int32Array, toBytes: Uint8Array, to: number, length: number): void {
  const wordCount = length >> 2;
  const fromWord = from >> 2;
  const toWord = to >> 2;
  for (let word = 0; word < wordCount; word++) toWords[toWord + word] = fromWords[fromWord + word]!;
  for (let at = wordCount << 2; at < length; at++) toBytes[to + at] = fromBytes[from + at]!;
}
