// What bng's AF_PACKET engines share: the options, the socket and its setup, and the
// preallocated arena. mmsg.ts receives with recvmmsg and sends with sendmmsg; ring.ts receives
// from a PACKET_MMAP ring and sends through another; both hand an `AttachedBackend` to
// `openPacketSocketIO`. open.ts picks the engine.
//
// The arena holds the rx and tx frame slots, one iovec and one mmsghdr per slot, a sockaddr_ll
// and a PACKET_AUXDATA control buffer per rx slot. Every pointer is computed once here (and
// made a kept NativePointer where the packet path passes it to C); a receive or send allocates
// nothing and makes one system call in the common case.
import {
  createPacketIOStats,
  FRAME_CSUM_NOT_READY,
  FRAME_VLAN_STRIPPED,
  type PacketBatch,
  type PacketIO,
  slotsInARow,
  type PacketIOStats,
  type TxBatch,
} from "../../src/dataplane/packet-io.ts";
import { EACCES, EADDRINUSE, ENODEV, ENOPROTOOPT, EPERM } from "../errors.ts";
import { interfaceIndex, interfaceMtu } from "../interface.ts";
import {
  AF_PACKET,
  AUXDATA_CONTROL_SPACE,
  ETH_P_ALL_NETWORK_ORDER,
  IOVEC,
  MMSGHDR,
  PACKET_AUXDATA,
  PACKET_FANOUT,
  PACKET_FANOUT_HASH,
  PACKET_IGNORE_OUTGOING,
  PACKET_QDISC_BYPASS,
  PACKET_STATISTICS,
  SO_ATTACH_FILTER,
  SOCK_FPROG,
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
  TPACKET_STATS,
  TP_STATUS_CSUMNOTREADY,
  TP_STATUS_VLAN_VALID,
} from "../layout.ts";
import { check, libc } from "../libc.ts";
import { native, type NativePointer } from "../native.ts";

export interface PacketIOOptions {
  ifname: string;
  /** Frames per batch received and sent (default 64). */
  batchSize?: number;
  /** Bytes per frame slot (default: the interface MTU plus Ethernet and VLAN headers, at least 2048). */
  slotSize?: number;
  /** Longest wait of `receive()` (default 100 ms), so the caller can notice a new table. */
  receiveTimeoutMs?: number;
  /** PACKET_FANOUT_HASH group id (0 to 65535): sockets in one group share the frames by flow. */
  fanoutGroup?: number;
  /** Receive buffer to ask for, in bytes (default 4 MiB; the ring does not use one). */
  receiveBufferBytes?: number;
  /**
   * Send tx frames straight to the driver (PACKET_QDISC_BYPASS, default true). Bypassed frames
   * also skip the taps: tcpdump on this host does not show them. Turn off to watch them.
   */
  qdiscBypass?: boolean;
  /**
   * A classic BPF program (struct sock_filter[]) attached before the socket is bound: the kernel
   * queues only the frames it accepts, so every other frame of the interface costs bng nothing.
   * None: every frame (tests, benchmarks).
   */
  socketFilter?: Uint8Array;
  /**
   * `set io xdp`: the XDP program's socket map and the receive queue whose frames this engine
   * takes (its socket joins the map at that index). The socket filter is then its ARP tap's.
   */
  xdp?: { socketMap: number; queue: number };
}

/**
 * A PacketIO on an AF_PACKET socket. `collectKernelDrops()` reads PACKET_STATISTICS (which the
 * kernel resets as it is read): one system call that allocates nothing.
 */
export interface AfPacketIO extends PacketIO {
  readonly ifname: string;
  readonly ifindex: number;
  /** How `send()` hands frames to the kernel: "sendmmsg", or "send ring" (PACKET_TX_RING). */
  readonly sendsWith: string;
  /** Replaces the socket filter (`PacketIOOptions.socketFilter`); the kernel swaps it atomically. */
  setSocketFilter(program: Uint8Array): void;
}

const DEFAULT_BATCH_SIZE = 64;
const DEFAULT_RECEIVE_TIMEOUT_MS = 100;
const DEFAULT_RECEIVE_BUFFER_BYTES = 4 << 20;
const MIN_SLOT_SIZE = 2048;
// Ethernet header (14) + one VLAN tag (4) on top of the MTU.
const LINK_HEADER_ROOM = 18;

function defaultSlotSize(ifname: string): number {
  const needed = interfaceMtu(ifname) + LINK_HEADER_ROOM;
  return Math.max(MIN_SLOT_SIZE, Math.ceil(needed / 64) * 64);
}

export function assertIntegerIn(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

function socketAdvice(errno: number): string | undefined {
  return errno === EPERM || errno === EACCES ? "bng needs root or CAP_NET_RAW" : undefined;
}

export function setIntOption(fd: number, level: number, option: number, value: number, call: string, advice?: (errno: number) => string | undefined): void {
  const cell = new Int32Array([value]);
  check(libc.setsockopt(fd, level, option, cell, 4), call, advice);
}

/**
 * Sets a socket buffer to `bytes` with `forcedOption` (SO_RCVBUFFORCE, SO_SNDBUFFORCE), which
 * ignores net.core.rmem_max/wmem_max but needs CAP_NET_ADMIN; without it, with `option`
 * (SO_RCVBUF, SO_SNDBUF), which the kernel caps at that maximum: still better than the default.
 */
export function setBufferSize(fd: number, forcedOption: number, option: number, optionName: string, bytes: number): void {
  const cell = new Int32Array([bytes]);
  if (libc.setsockopt(fd, SOL_SOCKET, forcedOption, cell, 4) < 0) setIntOption(fd, SOL_SOCKET, option, bytes, `setsockopt(${optionName})`);
}

function setTimeoutOption(fd: number, option: number, milliseconds: number, call: string): void {
  const timeval = new BigInt64Array(TIMEVAL.size / 8);
  timeval[0] = BigInt(Math.floor(milliseconds / 1000));
  timeval[1] = BigInt((milliseconds % 1000) * 1000);
  check(libc.setsockopt(fd, SOL_SOCKET, option, timeval, TIMEVAL.size), call);
}

/** A sockaddr_ll naming `ifindex` with protocol `protocolNetworkOrder`. */
export function sockaddrLl(ifindex: number, protocolNetworkOrder: number): Uint8Array {
  const address = new Uint8Array(SOCKADDR_LL.size);
  const view = new DataView(address.buffer);
  view.setUint16(SOCKADDR_LL.family, AF_PACKET, true);
  view.setUint16(SOCKADDR_LL.protocol, protocolNetworkOrder, true);
  view.setInt32(SOCKADDR_LL.ifindex, ifindex, true);
  return address;
}

/**
 * Attaches the classic BPF program `program` (struct sock_filter[]) to `fd`, replacing any
 * filter it had in one step; the kernel copies the instructions during the call.
 */
export function attachSocketFilter(fd: number, program: Uint8Array, ifname: string): void {
  const fprog = new Uint8Array(SOCK_FPROG.size);
  const view = new DataView(fprog.buffer);
  view.setUint16(SOCK_FPROG.len, program.length / 8, true);
  view.setBigUint64(SOCK_FPROG.filter, BigInt(native.addressOf(program)), true);
  check(libc.setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog, SOCK_FPROG.size), `setsockopt(SO_ATTACH_FILTER, ${ifname})`);
}

// Protocol 0 at socket() means no frame is queued before bind picks the interface; binding with
// ETH_P_ALL then starts the capture on that interface alone.
export function openUnboundPacketSocket(): number {
  return check(libc.socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0), "socket(AF_PACKET, SOCK_RAW)", socketAdvice);
}

export interface SocketSettings {
  readonly receiveTimeoutMs: number;
  /** SO_RCVBUF to ask for; undefined when the backend does not receive through the socket's queue. */
  readonly receiveBufferBytes: number | undefined;
  readonly fanoutGroup: number | undefined;
  readonly qdiscBypass: boolean;
}

/** Sets up `fd` as the engines want it and binds it to `ifname` (joining the fanout group, if any). */
export function configurePacketSocket(fd: number, ifname: string, ifindex: number, settings: SocketSettings): void {
  const { receiveTimeoutMs, receiveBufferBytes, fanoutGroup } = settings;
  // The balancer's own output (and that of the other workers and the ARP sender) would
  // otherwise come back as input and loop.
  setIntOption(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, "setsockopt(PACKET_IGNORE_OUTGOING)", (errno) =>
    errno === ENOPROTOOPT ? "this kernel lacks PACKET_IGNORE_OUTGOING (Linux 4.20+ needed)" : undefined,
  );
  // tp_status tells which frames carry a partial checksum (veth and other virtual links).
  setIntOption(fd, SOL_PACKET, PACKET_AUXDATA, 1, "setsockopt(PACKET_AUXDATA)");
  if (receiveBufferBytes !== undefined) setBufferSize(fd, SO_RCVBUFFORCE, SO_RCVBUF, "SO_RCVBUF", receiveBufferBytes);
  // A bounded wait lets the worker notice a new forwarding table between batches.
  setTimeoutOption(fd, SO_RCVTIMEO, receiveTimeoutMs, "setsockopt(SO_RCVTIMEO)");
  // A full send buffer must not hold the worker forever either.
  setTimeoutOption(fd, SO_SNDTIMEO, receiveTimeoutMs, "setsockopt(SO_SNDTIMEO)");
  // Forwarded frames go straight to the driver: bng is the only sender of them and a qdisc
  // would only add a queue and a lock.
  if (settings.qdiscBypass) setIntOption(fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1, "setsockopt(PACKET_QDISC_BYPASS)");
  const address = sockaddrLl(ifindex, ETH_P_ALL_NETWORK_ORDER);
  check(libc.bind(fd, address, SOCKADDR_LL.size), `bind(AF_PACKET, ${ifname})`, (errno) =>
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

/** FRAME_* bits for a frame's tp_status (from PACKET_AUXDATA or the ring's frame header). */
export function statusFlags(status: number): number {
  return ((status & TP_STATUS_CSUMNOTREADY) !== 0 ? FRAME_CSUM_NOT_READY : 0) | ((status & TP_STATUS_VLAN_VALID) !== 0 ? FRAME_VLAN_STRIPPED : 0);
}

/** The socket a backend is attached to, before it is bound. */
export interface PacketSocket {
  readonly fd: number;
  readonly ifname: string;
  readonly ifindex: number;
  /** `PacketIOOptions.qdiscBypass`, for a backend that sends through a socket of its own. */
  readonly qdiscBypass: boolean;
  readonly receiveTimeoutMs: number;
  readonly arena: Arena;
  readonly stats: PacketIOStats;
}

/** How one engine fills `rx` and sends `tx`; created once per socket. */
export interface AttachedBackend {
  /** Fills the arena's rx batch (waiting at most the receive timeout) and returns the count. */
  receive(): number;
  /**
   * The engine's send path, named (`AfPacketIO.sendsWith`): `send` sends the arena's tx batch
   * and returns how many frames the kernel took, counting the rest in `stats.sendDropped`; it
   * never throws per frame.
   */
  sender: { readonly name: string; send(): number };
  /** Frees what the backend holds besides the socket (the rings' mappings, the send ring's socket); called once. */
  release(): void;
}

export interface Backend {
  /** Whether frames wait in the socket's queue (recvmmsg), so a larger SO_RCVBUF matters. */
  readonly usesReceiveBuffer: boolean;
  /**
   * Prepares the unbound socket (a ring is set up before bind, so no frame takes the ordinary
   * queue first) and returns its receiver (and sender, if it has its own). Throws SyscallError
   * (or RangeError), having freed what it took.
   */
  attach(socket: PacketSocket): AttachedBackend;
}

/**
 * An AF_PACKET PacketIO on `options.ifname` receiving through `backend`: the options are checked,
 * the socket is opened, attached, configured and bound; on any failure everything taken so far
 * is given back and the SyscallError (or RangeError) is thrown.
 */
export function openPacketSocketIO(options: PacketIOOptions, backend: Backend): AfPacketIO {
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
  const stats = createPacketIOStats();
  const fd = openUnboundPacketSocket();
  const qdiscBypass = options.qdiscBypass ?? true;
  let attachment: AttachedBackend | undefined;
  try {
    // The filter before the bind: no frame is queued unfiltered in between.
    if (options.socketFilter !== undefined) attachSocketFilter(fd, options.socketFilter, ifname);
    attachment = backend.attach({ fd, ifname, ifindex, qdiscBypass, receiveTimeoutMs, arena, stats });
    configurePacketSocket(fd, ifname, ifindex, {
      receiveTimeoutMs,
      receiveBufferBytes: backend.usesReceiveBuffer ? receiveBufferBytes : undefined,
      fanoutGroup: options.fanoutGroup,
      qdiscBypass,
    });
  } catch (error) {
    attachment?.release();
    libc.close(fd);
    throw error;
  }
  const attached = attachment;
  const send = attached.sender.send;
  // struct tpacket_stats and its length, made once.
  const statisticsCell = new Uint32Array(TPACKET_STATS.size >> 2);
  const statisticsLength = new Uint32Array(1);
  const statisticsCall = `getsockopt(PACKET_STATISTICS, ${ifname})`;
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new Error(`PacketIO on ${ifname} is closed`);
  }

  return {
    ifname,
    ifindex,
    rx: arena.rx,
    tx: arena.tx,
    stats,
    sendsWith: attached.sender.name,

    receive(): number {
      assertOpen();
      return attached.receive();
    },

    send(): number {
      assertOpen();
      return send();
    },

    setSocketFilter(program: Uint8Array): void {
      assertOpen();
      attachSocketFilter(fd, program, ifname);
    },

    collectKernelDrops(): number {
      assertOpen();
      statisticsLength[0] = TPACKET_STATS.size;
      check(libc.getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, statisticsCell, statisticsLength), statisticsCall);
      stats.kernelDrops += statisticsCell[TPACKET_STATS.drops >> 2]!;
      return stats.kernelDrops;
    },

    close(): void {
      if (closed) return;
      closed = true;
      attached.release();
      libc.close(fd);
    },
  };
}

export interface Arena {
  /** The arena's address, for arithmetic at setup. */
  readonly pointer: number;
  readonly bytes: Uint8Array;
  /** The same memory as 32-bit words (little-endian: the low half of each size_t field). */
  readonly words: Uint32Array;
  readonly rx: PacketBatch;
  readonly tx: TxBatch;
  /** Per slot, the address of its frame as the two 32-bit words of a pointer (low, high). */
  readonly rxFrameAddresses: Uint32Array;
  readonly txFrameAddresses: Uint32Array;
  /** Per slot, its frame as a kept pointer (the rings' memcpy). */
  readonly rxSlotPointers: readonly NativePointer[];
  readonly txSlotPointers: readonly NativePointer[];
  readonly txIovecs: number;
  readonly rxMessages: number;
  readonly txMessages: number;
  /** The rx mmsghdrs, as passed to recvmmsg. */
  readonly rxMessagesPointer: NativePointer;
  /** Per slot, its tx mmsghdr and those after it, as passed to sendmmsg (after a partial send, from the first unsent). */
  readonly txMessagePointers: readonly NativePointer[];
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
  const pointer = native.addressOf(bytes);
  const batch = (frames: number): PacketBatch => ({
    slotCount: batchSize,
    slotSize,
    bytes: new Uint8Array(buffer, frames, batchSize * slotSize),
    offsets: slotsInARow(batchSize, slotSize),
    lengths: new Uint32Array(batchSize),
    flags: new Uint8Array(batchSize),
    pktTypes: new Uint8Array(batchSize),
    count: 0,
  });
  // Pointer-sized fields are written as two 32-bit words (little-endian on x86-64 and arm64).
  const pointerWords = (address: number): [number, number] => [address % 0x1_0000_0000, Math.floor(address / 0x1_0000_0000)];
  const setPointer = (offset: number, address: number) => {
    [words[offset >> 2], words[(offset >> 2) + 1]] = pointerWords(address);
  };
  const frameAddresses = (frames: number) => {
    const addresses = new Uint32Array(batchSize * 2);
    for (let slot = 0; slot < batchSize; slot++) addresses.set(pointerWords(pointer + frames + slot * slotSize), slot * 2);
    return addresses;
  };
  const kept = (start: number, stride: number) => Array.from({ length: batchSize }, (_, slot) => native.pointer(pointer + start + slot * stride));
  for (let slot = 0; slot < batchSize; slot++) {
    const rxIovec = layout.rxIovecs + slot * IOVEC.size;
    setPointer(rxIovec + IOVEC.base, pointer + layout.rxFrames + slot * slotSize);
    words[(rxIovec + IOVEC.len) >> 2] = slotSize;
    // A tx iovec's address is written at each send: the frame may be in the tx or the rx slots.
    const txIovec = layout.txIovecs + slot * IOVEC.size;

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
    tx: { ...batch(layout.txFrames), rxSlots: new Int16Array(batchSize).fill(-1) },
    rxFrameAddresses: frameAddresses(layout.rxFrames),
    txFrameAddresses: frameAddresses(layout.txFrames),
    rxSlotPointers: kept(layout.rxFrames, slotSize),
    txSlotPointers: kept(layout.txFrames, slotSize),
    txIovecs: layout.txIovecs,
    rxMessages: layout.rxMessages,
    txMessages: layout.txMessages,
    rxMessagesPointer: native.pointer(pointer + layout.rxMessages),
    txMessagePointers: kept(layout.txMessages, MMSGHDR.size),
    rxAddresses: layout.rxAddresses,
    rxControls: layout.rxControls,
  };
}
