// An AF_XDP socket with its UMEM and its four rings, set up and mapped once (linux/if_xdp.h,
// Documentation/networking/af_xdp.rst): the UMEM is bng's memory, cut into chunks, where the
// kernel writes received frames and from where it sends; the fill ring gives it chunks to
// receive into, the rx ring hands back received frames, the tx ring takes frames to send and the
// completion ring gives their chunks back. A ring is a power-of-two array of entries with a
// producer and a consumer index that run freely (32-bit, wrapping); each side reads the other's
// index with Atomics (acquire) and publishes its own with Atomics (release). xdp.ts drives them.
import { EAFNOSUPPORT, EBUSY, EINVAL, ENOMEM, EPERM, SyscallError } from "../errors.ts";
import {
  AF_XDP,
  MAP_ANONYMOUS,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOCKADDR_XDP,
  SOL_XDP,
  XDP_DESC,
  XDP_MMAP_OFFSETS,
  XDP_MMAP_OFFSETS_STRUCT,
  XDP_OPTIONS,
  XDP_OPTIONS_ZEROCOPY,
  XDP_PGOFF_RX_RING,
  XDP_PGOFF_TX_RING,
  XDP_RING_OFFSET,
  XDP_RX_RING,
  XDP_TX_RING,
  XDP_UMEM_COMPLETION_RING,
  XDP_UMEM_FILL_RING,
  XDP_UMEM_PGOFF_COMPLETION_RING,
  XDP_UMEM_PGOFF_FILL_RING,
  XDP_UMEM_REG,
  XDP_UMEM_REG_STRUCT,
  XDP_USE_NEED_WAKEUP,
} from "../layout.ts";
import { check, lastErrno, libc } from "../libc.ts";
import { native } from "../native.ts";

/** One ring as mapped: its entries as 32-bit words, and where its indexes and flags are. */
export interface XdpRing {
  /** The whole mapping as words: the indexes, the flags and the entries. */
  readonly words: Int32Array;
  readonly producerAt: number;
  readonly consumerAt: number;
  readonly flagsAt: number;
  /** Word index of entry 0. */
  readonly entriesAt: number;
  /** Entries minus one (the size is a power of two). */
  readonly mask: number;
  readonly size: number;
  /** This side's own index (the producer's or the consumer's), kept here between calls. */
  local: number;
}

export interface XdpSocketGeometry {
  /** Bytes per chunk: 2048 or 4096 (aligned mode: a power of two, at most a page). */
  readonly chunkSize: number;
  readonly chunkCount: number;
  readonly fillSize: number;
  readonly rxSize: number;
  readonly txSize: number;
  readonly completionSize: number;
}

export interface XdpSocket {
  readonly fd: number;
  /** The UMEM as bytes: chunk i at i * chunkSize; a descriptor's address is an offset here. */
  readonly umem: Uint8Array;
  readonly fill: XdpRing;
  readonly rx: XdpRing;
  readonly tx: XdpRing;
  readonly completion: XdpRing;
  /** Whether the driver receives into the UMEM itself (zero-copy) rather than the kernel copying. */
  readonly zeroCopy: boolean;
  /** Unmaps everything and closes the socket. */
  close(): void;
}

/** MAP_FAILED arrives as 2^64 - 1 (or 0 from a failed call on some runtimes). */
function mapped(address: number, what: string, advice?: string): number {
  if (address !== 0 && address < 2 ** 63) return address;
  const errno = lastErrno();
  throw new SyscallError(`mmap(${what})`, errno, errno === ENOMEM ? advice : undefined);
}

function setRingSize(fd: number, option: number, entries: number, what: string): void {
  check(libc.setsockopt(fd, SOL_XDP, option, new Int32Array([entries]), 4), `setsockopt(${what}, ${entries} entries)`);
}

/**
 * Opens an AF_XDP socket on queue `queue` of `ifname` (`ifindex`) with a UMEM and rings of
 * `geometry`; the fill ring is empty. Throws SyscallError naming what the kernel refused and
 * what to do (no AF_XDP in the kernel, no privilege, the UMEM over the locked-memory limit, a
 * queue the interface lacks or another socket holds), having freed what it took.
 */
export function openXdpSocket(ifname: string, ifindex: number, queue: number, geometry: XdpSocketGeometry): XdpSocket {
  const umemBytes = geometry.chunkSize * geometry.chunkCount;
  const cleanups: (() => void)[] = [];
  const release = () => {
    for (const cleanup of cleanups.reverse()) cleanup();
  };
  try {
    const umemAddress = mapped(libc.mmap(null, umemBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0), `UMEM, ${umemBytes} bytes`, "out of memory for the UMEM");
    cleanups.push(() => libc.munmap(native.pointer(umemAddress), umemBytes));
    const fd = check(libc.socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0), "socket(AF_XDP)", (errno) =>
      errno === EAFNOSUPPORT
        ? "this kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS, Linux 4.18+); use `set io ring`"
        : errno === EPERM
          ? "bng needs root, or CAP_NET_RAW, for AF_XDP sockets"
          : undefined,
    );
    cleanups.push(() => libc.close(fd));

    const registration = new Uint8Array(XDP_UMEM_REG_STRUCT.size);
    const view = new DataView(registration.buffer);
    view.setBigUint64(XDP_UMEM_REG_STRUCT.addr, BigInt(umemAddress), true);
    view.setBigUint64(XDP_UMEM_REG_STRUCT.len, BigInt(umemBytes), true);
    view.setUint32(XDP_UMEM_REG_STRUCT.chunkSize, geometry.chunkSize, true);
    check(libc.setsockopt(fd, SOL_XDP, XDP_UMEM_REG, registration, XDP_UMEM_REG_STRUCT.size), `setsockopt(XDP_UMEM_REG, ${umemBytes} bytes)`, (errno) =>
      errno === ENOMEM || errno === EPERM
        ? `the UMEM (${umemBytes >> 10} KiB per worker) is locked memory: run bng as root, give it CAP_IPC_LOCK, or raise its RLIMIT_MEMLOCK (LimitMEMLOCK= in the unit)`
        : undefined,
    );
    setRingSize(fd, XDP_UMEM_FILL_RING, geometry.fillSize, "XDP_UMEM_FILL_RING");
    setRingSize(fd, XDP_UMEM_COMPLETION_RING, geometry.completionSize, "XDP_UMEM_COMPLETION_RING");
    setRingSize(fd, XDP_RX_RING, geometry.rxSize, "XDP_RX_RING");
    setRingSize(fd, XDP_TX_RING, geometry.txSize, "XDP_TX_RING");

    const offsets = new Uint8Array(XDP_MMAP_OFFSETS_STRUCT.size);
    const offsetsLength = new Uint32Array([XDP_MMAP_OFFSETS_STRUCT.size]);
    check(libc.getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, offsets, offsetsLength), "getsockopt(XDP_MMAP_OFFSETS)");
    const offsetView = new DataView(offsets.buffer);
    const mapRing = (which: number, entries: number, entrySize: number, pageOffset: number, what: string): XdpRing => {
      const field = (name: keyof typeof XDP_RING_OFFSET) => Number(offsetView.getBigUint64(which + XDP_RING_OFFSET[name], true));
      const descAt = field("desc");
      const length = descAt + entries * entrySize;
      const address = mapped(libc.mmap(null, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, pageOffset), `${what}, ${length} bytes`);
      cleanups.push(() => libc.munmap(native.pointer(address), length));
      return {
        words: new Int32Array(native.memoryAt(address, Math.ceil(length / 4) * 4)),
        producerAt: field("producer") >> 2,
        consumerAt: field("consumer") >> 2,
        flagsAt: field("flags") >> 2,
        entriesAt: descAt >> 2,
        mask: entries - 1,
        size: entries,
        local: 0,
      };
    };
    const fill = mapRing(XDP_MMAP_OFFSETS_STRUCT.fill, geometry.fillSize, 8, XDP_UMEM_PGOFF_FILL_RING, "fill ring");
    const completion = mapRing(XDP_MMAP_OFFSETS_STRUCT.completion, geometry.completionSize, 8, XDP_UMEM_PGOFF_COMPLETION_RING, "completion ring");
    const rx = mapRing(XDP_MMAP_OFFSETS_STRUCT.rx, geometry.rxSize, XDP_DESC.size, XDP_PGOFF_RX_RING, "rx ring");
    const tx = mapRing(XDP_MMAP_OFFSETS_STRUCT.tx, geometry.txSize, XDP_DESC.size, XDP_PGOFF_TX_RING, "tx ring");

    const address = new Uint8Array(SOCKADDR_XDP.size);
    const addressView = new DataView(address.buffer);
    addressView.setUint16(SOCKADDR_XDP.family, AF_XDP, true);
    addressView.setUint16(SOCKADDR_XDP.flags, XDP_USE_NEED_WAKEUP, true);
    addressView.setUint32(SOCKADDR_XDP.ifindex, ifindex, true);
    addressView.setUint32(SOCKADDR_XDP.queueId, queue, true);
    check(libc.bind(fd, address, SOCKADDR_XDP.size), `bind(AF_XDP, ${ifname} queue ${queue})`, (errno) =>
      errno === EINVAL
        ? `${ifname} has no receive queue ${queue}: give it more (ethtool -L) or run fewer workers`
        : errno === EBUSY
          ? `queue ${queue} of ${ifname} is taken by another AF_XDP socket (another program?)`
          : undefined,
    );
    const options = new Uint32Array(1);
    const optionsLength = new Uint32Array([4]);
    check(libc.getsockopt(fd, SOL_XDP, XDP_OPTIONS, options, optionsLength), "getsockopt(XDP_OPTIONS)");
    const umem = new Uint8Array(native.memoryAt(umemAddress, umemBytes));
    let closed = false;
    return {
      fd,
      umem,
      fill,
      rx,
      tx,
      completion,
      zeroCopy: (options[0]! & XDP_OPTIONS_ZEROCOPY) !== 0,
      close(): void {
        if (closed) return;
        closed = true;
        release();
      },
    };
  } catch (error) {
    release();
    throw error;
  }
}
