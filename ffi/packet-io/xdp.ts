// The XDP engine (`set io xdp`): an AF_XDP socket on one receive queue of the interface (one per
// worker), fed by bng's XDP program (src/bpf/xdp.ts), which redirects the VIPs' frames and the ARP
// requests for them into the socket map and passes everything else to the kernel. Frames arrive
// in the UMEM, are decided where they lie (rx.bytes is the whole UMEM, rx.offsets say where each
// frame is) and a forwarded frame is sent from its own chunk: no copy in bng either way. Replies
// (ARP, ICMP echo) are written into free chunks that tx.offsets name.
//
// Every other ARP frame passes to the kernel, which needs replies to its own requests, so bng
// reads ARP through a packet socket of its own as well (the "ARP tap", its socket filter given by
// the caller): copies, once every TAP_EVERY busy receives or when poll says it holds frames.
//
// Chunks: every chunk is in exactly one place at a time: in bng's free stack, with the kernel
// to receive into (fill ring to rx ring), in bng's current rx batch, a tx slot's own chunk, or
// sent and not yet completed (tx ring to completion ring). There are enough for all of those at
// once (XDP_CHUNKS), so none ever has to be waited for.
import { FRAME_CSUM_NOT_READY, FRAME_TRUNCATED, type PacketBatch, type TxBatch, createPacketIOStats } from "../../src/dataplane/packet-io.ts";
import { hasPartialL4Checksum } from "../../src/dataplane/checksum.ts";
import { ETH_HEADER_LEN, ETH_TYPE, ETHERTYPE_IPV4, IPV4_MIN_HEADER_LEN, isGroupMac, read16, readMacHigh, readMacLow } from "../../src/dataplane/frame.ts";
import { updateMapElement } from "../bpf.ts";
import { EAGAIN, EBUSY, EINTR, EMSGSIZE, ENETDOWN, ENOBUFS, SyscallError } from "../errors.ts";
import { interfaceIndex, interfaceMac, interfaceMtu } from "../interface.ts";
import {
  MSG_DONTWAIT,
  MSG_TRUNC,
  PACKET_BROADCAST,
  PACKET_HOST,
  PACKET_MULTICAST,
  PACKET_OTHERHOST,
  PACKET_STATISTICS,
  POLLERR,
  POLLFD,
  POLLIN,
  SO_ERROR,
  SOL_PACKET,
  SOL_SOCKET,
  SOL_XDP,
  TPACKET_STATS,
  XDP_PACKET_HEADROOM,
  XDP_RING_NEED_WAKEUP,
  XDP_STATISTICS,
  XDP_STATISTICS_STRUCT,
} from "../layout.ts";
import { monotonicMs } from "../clock.ts";
import { check, lastErrno, libc } from "../libc.ts";
import { native } from "../native.ts";
import { attachSocketFilter, assertIntegerIn, configurePacketSocket, openUnboundPacketSocket, type AfPacketIO, type PacketIOOptions } from "./socket.ts";
import { openXdpSocket, type XdpRing, type XdpSocket } from "./xdp-socket.ts";

/** Frames the kernel can hold for bng before it drops (the fill ring), as the receive ring does. */
const FILL_FRAMES = 2048;
/** Frames sent and not yet completed, at most: 8 batches of 64, as the send ring. */
const TX_FRAMES = 512;
/** Busy receives between two looks at the ARP tap (a system call that mostly finds nothing). */
const TAP_EVERY = 8;
/** The ARP tap's receive buffer: ARP only, read at least every few batches. */
const TAP_RECEIVE_BUFFER_BYTES = 256 << 10;
/** Kicks of the tx ring per send at most: in copy mode the kernel sends 32 frames per kick. */
const MAX_KICKS = 8;
/**
 * While frames come faster than bng takes them (the last receive found some without sleeping), a
 * receive that finds fewer than GATHER_FRAMES watches the rx ring for up to GATHER_MS until that
 * many are there, as a NIC's interrupt moderation does: at a steady rate each wake-up found a few
 * frames, and its system calls (poll, the kick) and ring reads were shared among only those.
 */
const GATHER_FRAMES = 32;
const GATHER_MS = 0.02;
/** Looks at the rx ring between two readings of the clock while gathering. */
const LOOKS_PER_CLOCK = 16;
const LINK_HEADER_ROOM = 18;
// The packet path's 64-bit arguments, made once (native/types.ts: a number would allocate on Deno).
const NO_BYTES = native.wide(0);
const TWO_POLLFDS = native.wide(2);

/** The chunk size that holds `mtu`-sized frames behind the kernel's headroom: 2 KiB or a 4 KiB page. */
export function xdpChunkSize(mtu: number): number {
  const needed = XDP_PACKET_HEADROOM + mtu + LINK_HEADER_ROOM;
  if (needed <= 2048) return 2048;
  if (needed <= 4096) return 4096;
  throw new RangeError(`set io xdp: an MTU of ${mtu} needs chunks of more than a page; the XDP engine takes an MTU of ${4096 - XDP_PACKET_HEADROOM - LINK_HEADER_ROOM} at most (use \`set io ring\`)`);
}

/** An XDP engine's PacketIO on queue `options.xdp.queue` of `options.ifname`. */
export function openXdpIO(options: PacketIOOptions): AfPacketIO {
  const { ifname, xdp } = options;
  if (xdp === undefined) throw new Error("set io xdp: the XDP program's socket map was not given (internal error)");
  const batchSize = options.batchSize ?? 64;
  const receiveTimeoutMs = options.receiveTimeoutMs ?? 100;
  assertIntegerIn("batchSize", batchSize, 1, 1024);
  assertIntegerIn("receiveTimeoutMs", receiveTimeoutMs, 1, 60_000);
  const ifindex = interfaceIndex(ifname);
  const chunkSize = xdpChunkSize(interfaceMtu(ifname));
  const ownMac = interfaceMac(ifname);
  const ownHigh = readMacHigh(ownMac, 0);
  const ownLow = readMacLow(ownMac, 0);
  const geometry = { chunkSize, chunkCount: FILL_FRAMES + 2 * TX_FRAMES + 2 * batchSize, fillSize: FILL_FRAMES, rxSize: FILL_FRAMES, txSize: TX_FRAMES, completionSize: TX_FRAMES };
  const socket = openXdpSocket(ifname, ifindex, xdp.queue, geometry);
  let tapFd = -1;
  try {
    tapFd = openUnboundPacketSocket();
    if (options.socketFilter !== undefined) attachSocketFilter(tapFd, options.socketFilter, ifname);
    configurePacketSocket(tapFd, ifname, ifindex, { receiveTimeoutMs, receiveBufferBytes: TAP_RECEIVE_BUFFER_BYTES, fanoutGroup: options.fanoutGroup, qdiscBypass: false });
  } catch (error) {
    if (tapFd >= 0) libc.close(tapFd);
    socket.close();
    throw error;
  }
  // The fill ring is full now: the socket can take frames once the program sends it some.
  const io = xdpIO(options, socket, tapFd, ifindex, batchSize, receiveTimeoutMs, ownHigh, ownLow, geometry.chunkCount);
  try {
    updateMapElement(xdp.socketMap, Uint32Array.of(xdp.queue), Uint32Array.of(socket.fd), "bng_sockets");
  } catch (error) {
    io.close();
    throw error;
  }
  return io;
}

function xdpIO(options: PacketIOOptions, socket: XdpSocket, tapFd: number, ifindex: number, batchSize: number, receiveTimeoutMs: number, ownHigh: number, ownLow: number, chunkCount: number): AfPacketIO {
  const { ifname } = options;
  const { umem, fill, rx: rxRing, tx: txRing, completion } = socket;
  const chunkSize = umem.length / chunkCount;
  const chunkMask = ~(chunkSize - 1);
  const slotSize = chunkSize - XDP_PACKET_HEADROOM;
  const stats = createPacketIOStats();
  // bng's free chunks, a stack of their offsets.
  const free = new Uint32Array(chunkCount);
  let freeCount = 0;
  for (let chunk = chunkCount - 1; chunk >= 0; chunk--) free[freeCount++] = chunk * chunkSize;
  const take = (): number => free[--freeCount]!;
  const batch = (): PacketBatch => ({
    slotCount: batchSize,
    slotSize,
    bytes: umem,
    offsets: new Uint32Array(batchSize),
    lengths: new Uint32Array(batchSize),
    flags: new Uint8Array(batchSize),
    pktTypes: new Uint8Array(batchSize),
    count: 0,
  });
  const rx = batch();
  const tx: TxBatch = { ...batch(), rxSlots: new Int16Array(batchSize).fill(-1) };
  for (let slot = 0; slot < batchSize; slot++) tx.offsets[slot] = take();
  /** Per rx slot: sent from where it lies (its chunk is the kernel's until completed). */
  const sentFromRx = new Uint8Array(batchSize);

  /** Gives the kernel free chunks to receive into, keeping a batch's worth for replies and the tap. */
  function refillFill(): void {
    const room = fill.size - ((fill.local - Atomics.load(fill.words, fill.consumerAt)) | 0);
    const count = Math.min(room, freeCount - batchSize);
    if (count <= 0) return;
    for (let entry = 0; entry < count; entry++) {
      const at = fill.entriesAt + ((fill.local + entry) & fill.mask) * 2;
      fill.words[at] = take();
      fill.words[at + 1] = 0;
    }
    fill.local = (fill.local + count) | 0;
    Atomics.store(fill.words, fill.producerAt, fill.local);
  }

  /** Takes back the chunks of frames the kernel has finished sending. */
  function reapCompletions(): void {
    const ready = (Atomics.load(completion.words, completion.producerAt) - completion.local) | 0;
    for (let entry = 0; entry < ready; entry++) free[freeCount++] = completion.words[completion.entriesAt + ((completion.local + entry) & completion.mask) * 2]! & chunkMask;
    if (ready === 0) return;
    completion.local = (completion.local + ready) | 0;
    Atomics.store(completion.words, completion.consumerAt, completion.local);
  }

  function packetType(at: number): number {
    const high = readMacHigh(umem, at);
    const low = readMacLow(umem, at);
    if (high === ownHigh && low === ownLow) return PACKET_HOST;
    if (high === 0xffff && low === 0xffffffff) return PACKET_BROADCAST;
    return isGroupMac(high) ? PACKET_MULTICAST : PACKET_OTHERHOST;
  }

  /**
   * Whether the frame at `at` carries a partial TCP/UDP checksum: a veth peer's kernel may leave it
   * to the receiver (CHECKSUM_PARTIAL), and AF_XDP, unlike a packet socket, does not say so. Such a
   * frame is forwarded with its checksum completed; a NIC never delivers one.
   */
  function partialChecksum(at: number, length: number): boolean {
    return length >= ETH_HEADER_LEN + IPV4_MIN_HEADER_LEN && read16(umem, at + ETH_TYPE) === ETHERTYPE_IPV4 && hasPartialL4Checksum(umem, at + ETH_HEADER_LEN);
  }

  /** The sum of the bytes takeReceived loaded ahead, kept so that the loads stay in the compiled code. */
  const touchedAhead = { bytes: 0 };

  /** Moves received frames from the rx ring into rx from slot `count` on; returns the new count. */
  function takeReceived(count: number): number {
    const ring: XdpRing = rxRing;
    const ready = (Atomics.load(ring.words, ring.producerAt) - ring.local) | 0;
    const taking = Math.min(ready, batchSize - count);
    // The kernel wrote these frames on another core, so each one's first read misses the cache.
    // Read back to back in a loop this small, the misses overlap; one frame at a time, inside the
    // loop below, each stalled in turn (most of this function's time in a profile).
    let touched = 0;
    for (let entry = 0; entry < taking; entry++) touched += umem[(ring.words[ring.entriesAt + ((ring.local + entry) & ring.mask) * 4]! >>> 0) + ETH_TYPE]!;
    touchedAhead.bytes = touched;
    for (let entry = 0; entry < taking; entry++) {
      const at = ring.entriesAt + ((ring.local + entry) & ring.mask) * 4;
      const address = ring.words[at]! >>> 0;
      const slot = count + entry;
      const length = ring.words[at + 2]! >>> 0;
      rx.offsets[slot] = address;
      rx.lengths[slot] = length;
      rx.flags[slot] = partialChecksum(address, length) ? FRAME_CSUM_NOT_READY : 0;
      rx.pktTypes[slot] = packetType(address);
    }
    if (taking > 0) {
      ring.local = (ring.local + taking) | 0;
      Atomics.store(ring.words, ring.consumerAt, ring.local);
    }
    return count + taking;
  }

  refillFill();

  // The tap's frame lands here first (recv takes a typed array), then goes into a chunk.
  const tapBuffer = new Uint8Array(chunkSize);
  const tapBufferLength = native.wide(tapBuffer.length);
  let busyReceives = 0;
  /** Whether the last receive that took frames found them without sleeping in poll. */
  let framesWaiting = false;

  /** Copies what the ARP tap holds into free chunks as rx slots from `count` on; returns the new count. */
  function takeFromTap(count: number): number {
    while (count < batchSize && freeCount > 0) {
      const length = libc.recv(tapFd, tapBuffer, tapBufferLength, MSG_DONTWAIT | MSG_TRUNC);
      if (length < 0) {
        const errno = lastErrno();
        if (errno === EAGAIN) break;
        if (errno === EINTR || errno === ENETDOWN) {
          stats.receiveErrors++;
          break;
        }
        throw new SyscallError(`recv(ARP tap, ${ifname})`, errno);
      }
      const kept = Math.min(length, slotSize);
      const at = take() + XDP_PACKET_HEADROOM;
      for (let byte = 0; byte < kept; byte++) umem[at + byte] = tapBuffer[byte]!;
      rx.offsets[count] = at;
      rx.lengths[count] = kept;
      rx.flags[count] = kept < length ? FRAME_TRUNCATED : 0;
      if (kept < length) stats.truncatedFrames++;
      rx.pktTypes[count] = packetType(at);
      count++;
    }
    return count;
  }

  // poll(2) over the socket and the tap, made once.
  const pollCells = new Uint8Array(POLLFD.size * 2);
  const pollView = new DataView(pollCells.buffer);
  for (const [index, fd] of [socket.fd, tapFd].entries()) {
    pollView.setInt32(index * POLLFD.size + POLLFD.fd, fd, true);
    pollView.setInt16(index * POLLFD.size + POLLFD.events, POLLIN, true);
  }
  const errorCell = new Int32Array(1);
  const errorLength = new Uint32Array(1);

  /** A socket error poll reported (ENETDOWN when the interface goes away): read, so poll stops reporting it. */
  function takePendingError(fd: number): void {
    errorCell[0] = 0;
    errorLength[0] = 4;
    check(libc.getsockopt(fd, SOL_SOCKET, SO_ERROR, errorCell, errorLength), `getsockopt(SO_ERROR, ${ifname})`);
    const pending = errorCell[0]!;
    if (pending === 0) return;
    if (pending === ENETDOWN || pending === EINTR) stats.receiveErrors++;
    else throw new SyscallError(`poll(AF_XDP, ${ifname})`, pending);
  }

  function receive(): number {
    // The last batch's frames that were not sent go back to the free chunks.
    for (let slot = 0; slot < rx.count; slot++) {
      if (sentFromRx[slot] === 0) free[freeCount++] = rx.offsets[slot]! & chunkMask;
      sentFromRx[slot] = 0;
    }
    rx.count = 0;
    reapCompletions();
    refillFill();
    let count = takeReceived(0);
    if (count < GATHER_FRAMES && framesWaiting) count = gather(count);
    if (count > 0 && ++busyReceives >= TAP_EVERY) {
      busyReceives = 0;
      count = takeFromTap(count);
    }
    // Idle: straight to poll, which says whether the tap holds anything. A recv of the tap
    // before it and after each wake cost two system calls per frame at a low rate: latency.
    if (count === 0) {
      const ready = libc.poll(pollCells, TWO_POLLFDS, receiveTimeoutMs);
      if (ready < 0) {
        const errno = lastErrno();
        if (errno !== EINTR) throw new SyscallError(`poll(AF_XDP, ${ifname})`, errno);
        stats.receiveErrors++;
      } else if (ready > 0) {
        if ((pollView.getInt16(POLLFD.revents, true) & POLLERR) !== 0) takePendingError(socket.fd);
        const tapEvents = pollView.getInt16(POLLFD.size + POLLFD.revents, true);
        if ((tapEvents & POLLERR) !== 0) takePendingError(tapFd);
        count = takeReceived(0);
        if ((tapEvents & POLLIN) !== 0) count = takeFromTap(count);
      }
      if (count > 0) framesWaiting = false;
    } else {
      framesWaiting = true;
    }
    rx.count = count;
    return count;
  }

  /** Holding `count` frames, watches the rx ring until GATHER_FRAMES in all are there or GATHER_MS passed; takes them. */
  function gather(count: number): number {
    const wanted = GATHER_FRAMES - count;
    const until = monotonicMs() + GATHER_MS;
    do {
      for (let look = 0; look < LOOKS_PER_CLOCK; look++) {
        if (((Atomics.load(rxRing.words, rxRing.producerAt) - rxRing.local) | 0) >= wanted) return takeReceived(count);
      }
    } while (monotonicMs() < until);
    return takeReceived(count);
  }

  /** Has the kernel send what the tx ring holds: in copy mode each call sends up to 32 frames. */
  function kick(): void {
    for (let kicks = 0; kicks < MAX_KICKS; kicks++) {
      if ((Atomics.load(txRing.words, txRing.flagsAt) & XDP_RING_NEED_WAKEUP) === 0) return;
      if (Atomics.load(txRing.words, txRing.consumerAt) === txRing.local) return;
      if (libc.send(socket.fd, null, NO_BYTES, MSG_DONTWAIT) >= 0) continue;
      const errno = lastErrno();
      // More than one call's worth, or the completion ring full: take completions back, go on.
      if (errno === EAGAIN || errno === EBUSY || errno === ENOBUFS) {
        reapCompletions();
        continue;
      }
      if (errno !== EINTR) {
        stats.lastSendErrno = errno;
        return;
      }
    }
  }

  function send(): number {
    reapCompletions();
    const total = tx.count;
    let queued = 0;
    // Read once per send, not per frame: an Atomics.load is a locked instruction in JavaScriptCore
    // (about 7 ns, more on a line the kernel writes), and the room can only grow meanwhile.
    const room = txRing.size - ((txRing.local - Atomics.load(txRing.words, txRing.consumerAt)) | 0);
    for (let slot = 0; slot < total; slot++) {
      const length = tx.lengths[slot]!;
      if (queued >= room || length > slotSize) {
        stats.sendDropped++;
        stats.lastSendErrno = queued >= room ? ENOBUFS : EMSGSIZE;
        continue;
      }
      const rxSlot = tx.rxSlots[slot]!;
      let address: number;
      if (rxSlot >= 0) {
        address = rx.offsets[rxSlot]!;
        sentFromRx[rxSlot] = 1;
      } else {
        if (freeCount === 0) {
          stats.sendDropped++;
          stats.lastSendErrno = ENOBUFS;
          continue;
        }
        // The slot's chunk goes with the frame; the slot gets a free one for the next reply.
        address = tx.offsets[slot]!;
        tx.offsets[slot] = take();
      }
      const at = txRing.entriesAt + (txRing.local & txRing.mask) * 4;
      txRing.words[at] = address;
      txRing.words[at + 1] = 0;
      txRing.words[at + 2] = length;
      txRing.words[at + 3] = 0;
      txRing.local = (txRing.local + 1) | 0;
      queued++;
    }
    if (queued === 0) return 0;
    Atomics.store(txRing.words, txRing.producerAt, txRing.local);
    kick();
    return queued;
  }

  // XDP_STATISTICS counts from the socket's start; bng adds what is new at each collection.
  const statistics = new Uint32Array(XDP_STATISTICS_STRUCT.size >> 2);
  const statisticsLength = new Uint32Array(1);
  const tapStatistics = new Uint32Array(TPACKET_STATS.size >> 2);
  const tapStatisticsLength = new Uint32Array(1);
  let socketDropsSeen = 0;
  let invalidSendsSeen = 0;
  const count64 = (field: number) => statistics[field >> 2]! + statistics[(field >> 2) + 1]! * 2 ** 32;

  let closed = false;
  const assertOpen = () => {
    if (closed) throw new Error(`PacketIO on ${ifname} is closed`);
  };
  return {
    ifname,
    ifindex,
    rx,
    tx,
    stats,
    sendsWith: socket.zeroCopy ? "AF_XDP tx ring (zero-copy)" : "AF_XDP tx ring (copy)",
    receive(): number {
      assertOpen();
      return receive();
    },
    send(): number {
      assertOpen();
      return send();
    },
    setSocketFilter(program: Uint8Array): void {
      assertOpen();
      attachSocketFilter(tapFd, program, ifname);
    },
    collectKernelDrops(): number {
      assertOpen();
      statisticsLength[0] = XDP_STATISTICS_STRUCT.size;
      check(libc.getsockopt(socket.fd, SOL_XDP, XDP_STATISTICS, statistics, statisticsLength), `getsockopt(XDP_STATISTICS, ${ifname})`);
      // Frames lost for want of a chunk to receive into or of room in the rx ring.
      const socketDrops = count64(XDP_STATISTICS_STRUCT.rxDropped) + count64(XDP_STATISTICS_STRUCT.rxRingFull);
      const invalidSends = count64(XDP_STATISTICS_STRUCT.txInvalidDescs);
      stats.kernelDrops += socketDrops - socketDropsSeen;
      stats.sendDropped += invalidSends - invalidSendsSeen;
      socketDropsSeen = socketDrops;
      invalidSendsSeen = invalidSends;
      tapStatisticsLength[0] = TPACKET_STATS.size;
      check(libc.getsockopt(tapFd, SOL_PACKET, PACKET_STATISTICS, tapStatistics, tapStatisticsLength), `getsockopt(PACKET_STATISTICS, ARP tap, ${ifname})`);
      stats.kernelDrops += tapStatistics[TPACKET_STATS.drops >> 2]!;
      return stats.kernelDrops;
    },
    close(): void {
      if (closed) return;
      closed = true;
      libc.close(tapFd);
      // Closing the socket also takes it out of the socket map.
      socket.close();
    },
  };
}
