// PacketIO over an AF_PACKET socket: recvmmsg/sendmmsg on one preallocated arena.
//
// The arena holds the rx and tx frame slots, one iovec and one mmsghdr per slot, a sockaddr_ll
// and a PACKET_AUXDATA control buffer per rx slot. Every pointer is computed once here; a
// receive or send allocates nothing and makes one system call in the common case.
import { ptr, toArrayBuffer, type Pointer } from "bun:ffi";
import { FRAME_CSUM_NOT_READY, FRAME_TRUNCATED, FRAME_VLAN_STRIPPED, type PacketBatch, type PacketIO } from "../src/dataplane/packet-io.ts";
import {
  EADDRINUSE,
  EAGAIN,
  EINTR,
  ENETDOWN,
  ENOBUFS,
  ENODEV,
  ENOPROTOOPT,
  EPERM,
  EACCES,
  SyscallError,
} from "./errors.ts";
import { interfaceIndex, interfaceMtu } from "./interface.ts";
import {
  AF_PACKET,
  AUXDATA_CONTROL_SPACE,
  CMSGHDR,
  ETH_P_ALL_NETWORK_ORDER,
  IOVEC,
  MMSGHDR,
  MSG_DONTWAIT,
  MSG_TRUNC,
  MSG_WAITFORONE,
  PACKET_AUXDATA,
  PACKET_FANOUT,
  PACKET_FANOUT_HASH,
  PACKET_IGNORE_OUTGOING,
  PACKET_QDISC_BYPASS,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_RCVTIMEO,
  SO_SNDTIMEO,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOCKADDR_LL,
  SOL_PACKET,
  SOL_SOCKET,
  TIMEVAL,
  TP_STATUS_CSUMNOTREADY,
  TP_STATUS_VLAN_VALID,
  TPACKET_AUXDATA,
  MAP_SHARED,
  PACKET_RX_RING,
  PACKET_VERSION,
  POLLIN,
  PROT_READ,
  PROT_WRITE,
  TP_STATUS_KERNEL,
  TP_STATUS_USER,
  TPACKET2_HDR,
  TPACKET_REQ,
  TPACKET_V2,
} from "./layout.ts";
import { check, lastErrno, libc } from "./libc.ts";


export interface PacketIOOptions {
  ifname: string;
  /** Frames per recvmmsg/sendmmsg (default 64). */
  batchSize?: number;
  /** Bytes per frame slot (default: the interface MTU plus Ethernet and VLAN headers, at least 2048). */
  slotSize?: number;
  /** Longest wait of `receive()` (default 100 ms), so the caller can notice a new table. */
  receiveTimeoutMs?: number;
  /** PACKET_FANOUT_HASH group id (0 to 65535): sockets in one group share the frames by flow. */
  fanoutGroup?: number;
  /** Receive buffer to ask for, in bytes (default 4 MiB). */
  receiveBufferBytes?: number;
  /**
   * Send tx frames straight to the driver (PACKET_QDISC_BYPASS, default true). Bypassed frames
   * also skip the taps: tcpdump on this host does not show them. Turn off to watch them.
   */
  qdiscBypass?: boolean;
  /**
   * How frames are received (`set io`): "mmsg" (default) copies batches out of the socket with
   * recvmmsg; "ring" reads them from a PACKET_MMAP receive ring (TPACKET_V2) shared with the
   * kernel, without a system call while frames are waiting. Both send with sendmmsg.
   */
  io?: "mmsg" | "ring";
}

/** Counters of what the socket could not deliver or send; read them, never reset them. */
export interface AfPacketStats {
  /** Received frames longer than a slot (delivered flagged FRAME_TRUNCATED). */
  truncatedFrames: number;
  /** recvmmsg calls that failed with EINTR or ENETDOWN and returned an empty batch. */
  receiveErrors: number;
  /** tx frames the kernel refused (queue full, interface down, longer than the MTU). */
  sendDropped: number;
  /** errno of the last refused send, 0 if none. */
  lastSendErrno: number;
}

export interface AfPacketIO extends PacketIO {
  readonly ifname: string;
  readonly ifindex: number;
  readonly stats: AfPacketStats;
}

const DEFAULT_BATCH_SIZE = 64;
const DEFAULT_RECEIVE_TIMEOUT_MS = 100;
const DEFAULT_RECEIVE_BUFFER_BYTES = 4 << 20;
const MIN_SLOT_SIZE = 2048;
// Ethernet header (14) + one VLAN tag (4) on top of the MTU.
const LINK_HEADER_ROOM = 18;
// A signal storm must not keep a send loop spinning.
const MAX_SEND_INTERRUPTS = 8;

function defaultSlotSize(ifname: string): number {
  const needed = interfaceMtu(ifname) + LINK_HEADER_ROOM;
  return Math.max(MIN_SLOT_SIZE, Math.ceil(needed / 64) * 64);
}

function assertIntegerIn(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

function socketAdvice(errno: number): string | undefined {
  return errno === EPERM || errno === EACCES ? "bng needs root or CAP_NET_RAW" : undefined;
}

function setIntOption(fd: number, level: number, option: number, value: number, call: string, advice?: (errno: number) => string | undefined): void {
  const cell = new Int32Array([value]);
  check(libc.setsockopt(fd, level, option, ptr(cell), 4), call, advice);
}

function setTimeoutOption(fd: number, option: number, milliseconds: number, call: string): void {
  const timeval = new BigInt64Array(TIMEVAL.size / 8);
  timeval[0] = BigInt(Math.floor(milliseconds / 1000));
  timeval[1] = BigInt((milliseconds % 1000) * 1000);
  check(libc.setsockopt(fd, SOL_SOCKET, option, ptr(timeval), TIMEVAL.size), call);
}

/** A sockaddr_ll naming `ifindex` with protocol `protocolNetworkOrder`. */
function sockaddrLl(ifindex: number, protocolNetworkOrder: number): Uint8Array {
  const address = new Uint8Array(SOCKADDR_LL.size);
  const view = new DataView(address.buffer);
  view.setUint16(SOCKADDR_LL.family, AF_PACKET, true);
  view.setUint16(SOCKADDR_LL.protocol, protocolNetworkOrder, true);
  view.setInt32(SOCKADDR_LL.ifindex, ifindex, true);
  return address;
}

// Protocol 0 at socket() means no frame is queued before bind picks the interface; binding with
// ETH_P_ALL then starts the capture on that interface alone.
function openUnboundPacketSocket(): number {
  return check(libc.socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0), "socket(AF_PACKET, SOCK_RAW)", socketAdvice);
}

interface SocketSettings {
  readonly receiveTimeoutMs: number;
  readonly receiveBufferBytes: number;
  readonly fanoutGroup: number | undefined;
  readonly qdiscBypass: boolean;
}

function configurePacketSocket(fd: number, ifname: string, ifindex: number, settings: SocketSettings): void {
  const { receiveTimeoutMs, receiveBufferBytes, fanoutGroup } = settings;
  // The balancer's own output (and that of the other workers and the ARP sender) would
  // otherwise come back as input and loop.
  setIntOption(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, "setsockopt(PACKET_IGNORE_OUTGOING)", (errno) =>
    errno === ENOPROTOOPT ? "this kernel lacks PACKET_IGNORE_OUTGOING (Linux 4.20+ needed)" : undefined,
  );
  // tp_status tells which frames carry a partial checksum (veth and other virtual links).
  setIntOption(fd, SOL_PACKET, PACKET_AUXDATA, 1, "setsockopt(PACKET_AUXDATA)");
  // The forced size ignores net.core.rmem_max (needs CAP_NET_ADMIN); without it the kernel
  // caps the plain request at rmem_max, which is still better than the default.
  const bufferCell = new Int32Array([receiveBufferBytes]);
  if (libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, ptr(bufferCell), 4) < 0) {
    check(libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, ptr(bufferCell), 4), "setsockopt(SO_RCVBUF)");
  }
  // A bounded wait lets the worker notice a new forwarding table between batches.
  setTimeoutOption(fd, SO_RCVTIMEO, receiveTimeoutMs, "setsockopt(SO_RCVTIMEO)");
  // A full send buffer must not hold the worker forever either.
  setTimeoutOption(fd, SO_SNDTIMEO, receiveTimeoutMs, "setsockopt(SO_SNDTIMEO)");
  // Forwarded frames go straight to the driver: bng is the only sender of them and a qdisc
  // would only add a queue and a lock.
  if (settings.qdiscBypass) setIntOption(fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1, "setsockopt(PACKET_QDISC_BYPASS)");
  const address = sockaddrLl(ifindex, ETH_P_ALL_NETWORK_ORDER);
  check(libc.bind(fd, ptr(address), SOCKADDR_LL.size), `bind(AF_PACKET, ${ifname})`, (errno) =>
    errno === ENODEV ? `interface ${ifname} disappeared; see \`ip link\`` : undefined,
  );
  if (fanoutGroup !== undefined) {
    setIntOption(fd, SOL_PACKET, PACKET_FANOUT, fanoutGroup | (PACKET_FANOUT_HASH << 16), `setsockopt(PACKET_FANOUT, group ${fanoutGroup})`, (errno) =>
      errno === EADDRINUSE
        ? `fanout group ${fanoutGroup} is in use with another mode or interface (another bng?); choose another group id`
        : undefined,
    );
  }
}

export function openPacketIO(options: PacketIOOptions): AfPacketIO {
  const { ifname } = options;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const receiveTimeoutMs = options.receiveTimeoutMs ?? DEFAULT_RECEIVE_TIMEOUT_MS;
  const receiveBufferBytes = options.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER_BYTES;
  assertIntegerIn("batchSize", batchSize, 1, 1024);
  assertIntegerIn("receiveTimeoutMs", receiveTimeoutMs, 1, 60_000);
  assertIntegerIn("receiveBufferBytes", receiveBufferBytes, 4096, 1 << 30);
  if (options.fanoutGroup !== undefined) assertIntegerIn("fanoutGroup", options.fanoutGroup, 0, 0xffff);
  const ifindex = interfaceIndex(ifname);
  const slotSize = options.slotSize ?? defaultSlotSize(ifname);
  assertIntegerIn("slotSize", slotSize, 64, 1 << 17);

  const arena = layOutArena(batchSize, slotSize);
  const fd = openUnboundPacketSocket();
  try {
    configurePacketSocket(fd, ifname, ifindex, {
      receiveTimeoutMs,
      receiveBufferBytes,
      fanoutGroup: options.fanoutGroup,
      qdiscBypass: options.qdiscBypass ?? true,
    });
  } catch (error) {
    libc.close(fd);
    throw error;
  }
  let ring: ReceiveRing | undefined;
  if (options.io === "ring") {
    try {
      ring = mapReceiveRing(fd, ifname, slotSize);
    } catch (error) {
      libc.close(fd);
      throw error;
    }
  }

  const { rx, tx, words, bytes } = arena;
  const rxMessages = arena.pointer + arena.rxMessages;
  const txMessages = arena.pointer + arena.txMessages;
  const stats: AfPacketStats = { truncatedFrames: 0, receiveErrors: 0, sendDropped: 0, lastSendErrno: 0 };
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new Error(`PacketIO on ${ifname} is closed`);
  }

  function receiveFromRing(ring: ReceiveRing): number {
    assertOpen();
    let count = takeFromRing(ring, rx, stats);
    if (count === 0) {
      // Nothing waiting: sleep in poll(2) until a frame arrives or the timeout passes.
      ring.pollFd.setInt32(0, fd, true);
      ring.pollFd.setInt16(4, POLLIN, true);
      if (libc.poll(ring.pollCell, 1, receiveTimeoutMs) > 0) count = takeFromRing(ring, rx, stats);
    }
    return count;
  }

  function receiveMessages(): number {
    assertOpen();
    // MSG_WAITFORONE: wait (up to SO_RCVTIMEO) for the first frame only, then take what is queued.
    const received = libc.recvmmsg(fd, rxMessages as Pointer, batchSize, MSG_WAITFORONE, null);
    if (received < 0) {
      rx.count = 0;
      const errno = lastErrno();
      if (errno === EAGAIN) return 0;
      if (errno === EINTR || errno === ENETDOWN) {
        stats.receiveErrors++;
        return 0;
      }
      throw new SyscallError(`recvmmsg(AF_PACKET, ${ifname})`, errno);
    }
    for (let slot = 0; slot < received; slot++) {
      const message = (arena.rxMessages + slot * MMSGHDR.size) >> 2;
      rx.lengths[slot] = words[message + (MMSGHDR.len >> 2)]!;
      rx.pktTypes[slot] = bytes[arena.rxAddresses + slot * SOCKADDR_LL.size + SOCKADDR_LL.pkttype]!;
      let frameFlags = 0;
      if ((words[message + (MMSGHDR.flags >> 2)]! & MSG_TRUNC) !== 0) {
        frameFlags |= FRAME_TRUNCATED;
        stats.truncatedFrames++;
      }
      const control = (arena.rxControls + slot * AUXDATA_CONTROL_SPACE) >> 2;
      if (
        words[message + (MMSGHDR.controllen >> 2)]! >= CMSGHDR.size + TPACKET_AUXDATA.size &&
        words[control + (CMSGHDR.level >> 2)] === SOL_PACKET &&
        words[control + (CMSGHDR.type >> 2)] === PACKET_AUXDATA
      ) {
        frameFlags |= statusFlags(words[control + ((CMSGHDR.data + TPACKET_AUXDATA.status) >> 2)]!);
      }
      rx.flags[slot] = frameFlags;
      // The kernel wrote back how much of the name and control buffers it used.
      words[message + (MMSGHDR.namelen >> 2)] = SOCKADDR_LL.size;
      words[message + (MMSGHDR.controllen >> 2)] = AUXDATA_CONTROL_SPACE;
    }
    rx.count = received;
    return received;
  }

  return {
    ifname,
    ifindex,
    rx,
    tx,
    stats,

    receive: ring ? () => receiveFromRing(ring) : receiveMessages,

    send(): number {
      assertOpen();
      const total = tx.count;
      for (let slot = 0; slot < total; slot++) {
        words[(arena.txIovecs + slot * IOVEC.size + IOVEC.len) >> 2] = tx.lengths[slot]!;
      }
      let next = 0;
      let accepted = 0;
      let interrupts = 0;
      while (next < total) {
        const sent = libc.sendmmsg(fd, (txMessages + next * MMSGHDR.size) as Pointer, total - next, 0);
        if (sent > 0) {
          next += sent;
          accepted += sent;
          continue;
        }
        const errno = lastErrno();
        if (errno === EINTR && interrupts++ < MAX_SEND_INTERRUPTS) continue;
        stats.lastSendErrno = errno;
        if (errno === EAGAIN || errno === ENOBUFS || errno === ENETDOWN || errno === EINTR) {
          // The queue or the interface refuses everything now; the rest of the batch is lost.
          stats.sendDropped += total - next;
          break;
        }
        // Something about this frame (EMSGSIZE, EINVAL): drop it, send the rest.
        stats.sendDropped++;
        next++;
      }
      return accepted;
    },

    close(): void {
      if (closed) return;
      closed = true;
      if (ring) libc.munmap(ring.pointer as Pointer, ring.size);
      libc.close(fd);
    },
  };
}

/** FRAME_* bits for a frame's tp_status (from PACKET_AUXDATA or the ring's frame header). */
function statusFlags(status: number): number {
  return ((status & TP_STATUS_CSUMNOTREADY) !== 0 ? FRAME_CSUM_NOT_READY : 0) | ((status & TP_STATUS_VLAN_VALID) !== 0 ? FRAME_VLAN_STRIPPED : 0);
}

/** A PACKET_MMAP receive ring (TPACKET_V2): fixed-size frames, each with its own status word. */
interface ReceiveRing {
  readonly pointer: number;
  readonly size: number;
  readonly frameSize: number;
  readonly frameCount: number;
  readonly bytes: Uint8Array;
  /** The ring as 32-bit words; statuses are read and handed back with Atomics (ordering). */
  readonly words: Int32Array;
  readonly view: DataView;
  /** Next frame to look at. */
  next: number;
  readonly pollCell: Uint8Array;
  readonly pollFd: DataView;
}

const RING_FRAMES = 1024;
const RING_BLOCK_BYTES = 1 << 16;

function mapReceiveRing(fd: number, ifname: string, slotSize: number): ReceiveRing {
  setIntOption(fd, SOL_PACKET, PACKET_VERSION, TPACKET_V2, "setsockopt(PACKET_VERSION, TPACKET_V2)");
  // Room for the header and address in front of a slot's worth of frame, a power of two so
  // that whole frames tile the blocks.
  let frameSize = 2048;
  while (frameSize < slotSize + 128) frameSize *= 2;
  const blockSize = Math.max(RING_BLOCK_BYTES, frameSize);
  const framesPerBlock = blockSize / frameSize;
  const blockCount = Math.ceil(RING_FRAMES / framesPerBlock);
  const request = new Uint32Array(TPACKET_REQ.size / 4);
  request[TPACKET_REQ.blockSize / 4] = blockSize;
  request[TPACKET_REQ.blockNr / 4] = blockCount;
  request[TPACKET_REQ.frameSize / 4] = frameSize;
  request[TPACKET_REQ.frameNr / 4] = blockCount * framesPerBlock;
  check(libc.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, ptr(request), TPACKET_REQ.size), `setsockopt(PACKET_RX_RING, ${ifname})`, (errno) =>
    errno === ENOBUFS ? "not enough locked memory for the receive ring; use `set io mmsg`" : undefined,
  );
  const size = blockSize * blockCount;
  const mapped = libc.mmap(null, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  // MAP_FAILED is (void *)-1.
  if (mapped === null || Number(mapped) >= 2 ** 63 || Number(mapped) === -1) {
    throw new SyscallError(`mmap(receive ring, ${ifname})`, lastErrno());
  }
  const memory = toArrayBuffer(mapped, 0, size);
  const pollCell = new Uint8Array(8);
  return {
    pointer: Number(mapped),
    size,
    frameSize,
    frameCount: blockCount * framesPerBlock,
    bytes: new Uint8Array(memory),
    words: new Int32Array(memory),
    view: new DataView(memory),
    next: 0,
    pollCell,
    pollFd: new DataView(pollCell.buffer),
  };
}

/** Moves the frames the kernel has filled (up to a batch) into rx and gives them back. */
function takeFromRing(ring: ReceiveRing, rx: PacketBatch, stats: AfPacketStats): number {
  let count = 0;
  const { bytes, words, view, frameSize, frameCount } = ring;
  const slotSize = rx.slotSize;
  while (count < rx.slotCount) {
    const frameAt = ring.next * frameSize;
    const status = Atomics.load(words, (frameAt + TPACKET2_HDR.status) >> 2);
    if ((status & TP_STATUS_USER) === 0) break;
    const capturedLength = view.getUint32(frameAt + TPACKET2_HDR.snaplen, true);
    const wireLength = view.getUint32(frameAt + TPACKET2_HDR.len, true);
    const dataAt = frameAt + view.getUint16(frameAt + TPACKET2_HDR.mac, true);
    const length = capturedLength < slotSize ? capturedLength : slotSize;
    rx.bytes.set(bytes.subarray(dataAt, dataAt + length), count * slotSize);
    rx.lengths[count] = length;
    rx.pktTypes[count] = bytes[frameAt + TPACKET2_HDR.address + SOCKADDR_LL.pkttype]!;
    let flags = statusFlags(status);
    if (length < wireLength) {
      flags |= FRAME_TRUNCATED;
      stats.truncatedFrames++;
    }
    rx.flags[count] = flags;
    Atomics.store(words, (frameAt + TPACKET2_HDR.status) >> 2, TP_STATUS_KERNEL);
    ring.next = ring.next + 1 === frameCount ? 0 : ring.next + 1;
    count++;
  }
  rx.count = count;
  return count;
}

interface Arena {
  readonly pointer: number;
  readonly bytes: Uint8Array;
  /** The same memory as 32-bit words (little-endian: the low half of each size_t field). */
  readonly words: Uint32Array;
  readonly rx: PacketBatch;
  readonly tx: PacketBatch;
  readonly txIovecs: number;
  readonly rxMessages: number;
  readonly txMessages: number;
  readonly rxAddresses: number;
  readonly rxControls: number;
}

/** Byte offsets of each region of the arena for `batchSize` slots of `slotSize` bytes. */
export function arenaLayout(batchSize: number, slotSize: number) {
  const align8 = (offset: number) => Math.ceil(offset / 8) * 8;
  const frames = batchSize * slotSize;
  const rxFrames = 0;
  const txFrames = align8(rxFrames + frames);
  const rxIovecs = align8(txFrames + frames);
  const txIovecs = rxIovecs + batchSize * IOVEC.size;
  const rxMessages = txIovecs + batchSize * IOVEC.size;
  const txMessages = rxMessages + batchSize * MMSGHDR.size;
  const rxControls = txMessages + batchSize * MMSGHDR.size;
  const rxAddresses = rxControls + batchSize * AUXDATA_CONTROL_SPACE;
  const size = align8(rxAddresses + batchSize * SOCKADDR_LL.size);
  return { rxFrames, txFrames, rxIovecs, txIovecs, rxMessages, txMessages, rxControls, rxAddresses, size };
}

function layOutArena(batchSize: number, slotSize: number): Arena {
  const layout = arenaLayout(batchSize, slotSize);
  const buffer = new ArrayBuffer(layout.size);
  const bytes = new Uint8Array(buffer);
  const words = new Uint32Array(buffer);
  const pointer = ptr(bytes);
  const batch = (frames: number): PacketBatch => ({
    slotCount: batchSize,
    slotSize,
    bytes: new Uint8Array(buffer, frames, batchSize * slotSize),
    lengths: new Uint32Array(batchSize),
    flags: new Uint8Array(batchSize),
    pktTypes: new Uint8Array(batchSize),
    count: 0,
  });
  // Pointer-sized fields are written as two 32-bit words (little-endian on x86-64 and arm64).
  const setPointer = (offset: number, address: number) => {
    words[offset >> 2] = address % 0x1_0000_0000;
    words[(offset >> 2) + 1] = Math.floor(address / 0x1_0000_0000);
  };
  for (let slot = 0; slot < batchSize; slot++) {
    const rxIovec = layout.rxIovecs + slot * IOVEC.size;
    setPointer(rxIovec + IOVEC.base, pointer + layout.rxFrames + slot * slotSize);
    words[(rxIovec + IOVEC.len) >> 2] = slotSize;
    const txIovec = layout.txIovecs + slot * IOVEC.size;
    setPointer(txIovec + IOVEC.base, pointer + layout.txFrames + slot * slotSize);

    const rxMessage = layout.rxMessages + slot * MMSGHDR.size;
    setPointer(rxMessage + MMSGHDR.name, pointer + layout.rxAddresses + slot * SOCKADDR_LL.size);
    words[(rxMessage + MMSGHDR.namelen) >> 2] = SOCKADDR_LL.size;
    setPointer(rxMessage + MMSGHDR.iov, pointer + rxIovec);
    words[(rxMessage + MMSGHDR.iovlen) >> 2] = 1;
    setPointer(rxMessage + MMSGHDR.control, pointer + layout.rxControls + slot * AUXDATA_CONTROL_SPACE);
    words[(rxMessage + MMSGHDR.controllen) >> 2] = AUXDATA_CONTROL_SPACE;

    // No destination name: a bound AF_PACKET socket sends out of the interface it is bound to.
    const txMessage = layout.txMessages + slot * MMSGHDR.size;
    setPointer(txMessage + MMSGHDR.iov, pointer + txIovec);
    words[(txMessage + MMSGHDR.iovlen) >> 2] = 1;
  }
  return {
    pointer,
    bytes,
    words,
    rx: batch(layout.rxFrames),
    tx: batch(layout.txFrames),
    txIovecs: layout.txIovecs,
    rxMessages: layout.rxMessages,
    txMessages: layout.txMessages,
    rxAddresses: layout.rxAddresses,
    rxControls: layout.rxControls,
  };
}

/** A send-only AF_PACKET socket for the control thread's ARP requests and announcements. */
export interface FrameSender {
  readonly ifname: string;
  /** Sends the first `length` bytes of `frame` (a whole Ethernet frame) out of the interface. */
  send(frame: Uint8Array, length: number): void;
  close(): void;
}

export function openFrameSender(ifname: string): FrameSender {
  const ifindex = interfaceIndex(ifname);
  // Protocol 0 and never bound: the socket receives nothing, so it costs nothing to keep open.
  const fd = openUnboundPacketSocket();
  // Protocol 0 in the address: the kernel reads the EtherType from the frame itself.
  // Passed as the typed array on every call (not a pointer taken once) so the address stays
  // referenced: a pointer alone would not keep it from being collected.
  const destination = sockaddrLl(ifindex, 0);
  let closed = false;
  return {
    ifname,
    send(frame: Uint8Array, length: number): void {
      if (closed) throw new Error(`frame sender on ${ifname} is closed`);
      assertIntegerIn("length", length, 14, frame.length);
      // MSG_DONTWAIT: the control thread runs timers and the control socket; it never waits here.
      const sent = libc.sendto(fd, frame, length, MSG_DONTWAIT, destination, SOCKADDR_LL.size);
      if (Number(sent) < 0) throw new SyscallError(`sendto(AF_PACKET, ${ifname})`, lastErrno());
    },
    close(): void {
      if (closed) return;
      closed = true;
      libc.close(fd);
    },
  };
}
