// Struct layouts and constants of LP64 Linux (x86-64, arm64) that the packet path writes into
// its arena by hand. test/ffi/layout.test.ts checks every offset against the C compiler.

/** struct iovec { void *iov_base; size_t iov_len; } */
export const IOVEC = { size: 16, base: 0, len: 8 } as const;

/**
 * struct mmsghdr { struct msghdr msg_hdr; unsigned msg_len; } — msghdr is 56 bytes, msg_len
 * follows, and the struct is padded to 64 for the 8-byte alignment of its pointers.
 */
export const MMSGHDR = {
  size: 64,
  name: 0,
  namelen: 8,
  iov: 16,
  iovlen: 24,
  control: 32,
  controllen: 40,
  flags: 48,
  len: 56,
} as const;

/** struct sockaddr_ll */
export const SOCKADDR_LL = {
  size: 20,
  family: 0,
  protocol: 2,
  ifindex: 4,
  hatype: 8,
  pkttype: 10,
  halen: 11,
  addr: 12,
} as const;

/** struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } followed by data. */
export const CMSGHDR = { size: 16, len: 0, level: 8, type: 12, data: 16 } as const;

/** struct tpacket_auxdata, delivered as the PACKET_AUXDATA control message. */
export const TPACKET_AUXDATA = {
  size: 20,
  status: 0,
  len: 4,
  snaplen: 8,
  mac: 12,
  net: 14,
  vlanTci: 16,
  vlanTpid: 18,
} as const;

/** CMSG_SPACE(sizeof(struct tpacket_auxdata)): header plus data rounded up to 8. */
export const AUXDATA_CONTROL_SPACE = CMSGHDR.size + 24;

/** struct timeval { time_t tv_sec; suseconds_t tv_usec; } */
export const TIMEVAL = { size: 16, sec: 0, usec: 8 } as const;

/** struct sockaddr_un { sa_family_t sun_family; char sun_path[108]; } */
export const SOCKADDR_UN = { size: 110, family: 0, path: 2 } as const;

/** struct ifreq: a 16-byte name and a 24-byte union (ifr_hwaddr, ifr_mtu, ...). */
export const IFREQ = { size: 40, name: 0, union: 16, hwaddrData: 18 } as const;
export const IFNAMSIZ = 16;

export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_PACKET = 17;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;

export const IPPROTO_IP = 0;
export const IPPROTO_ICMP = 1;
/** IP_BIND_ADDRESS_NO_PORT (SOL_IP): the source port is picked at connect time. */
export const IP_BIND_ADDRESS_NO_PORT = 24;
/** SOL_RAW's ICMP_FILTER: a bit set per ICMP type blocks that type on a raw socket. */
export const SOL_RAW = 255;
export const ICMP_FILTER = 1;

/** struct sockaddr_in { sa_family_t sin_family; in_port_t sin_port; struct in_addr sin_addr; char zero[8]; } */
export const SOCKADDR_IN = { size: 16, family: 0, port: 2, addr: 4 } as const;

export const SOL_SOCKET = 1;
export const SO_ERROR = 4;
export const SO_LINGER = 13;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_RCVTIMEO = 20;
export const SO_SNDTIMEO = 21;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;

export const SOL_PACKET = 263;
export const PACKET_AUXDATA = 8;
export const PACKET_FANOUT = 18;
export const PACKET_QDISC_BYPASS = 20;
export const PACKET_IGNORE_OUTGOING = 23;
/** getsockopt: frames counted and dropped since the last read (the kernel resets both on read). */
export const PACKET_STATISTICS = 6;
/** struct tpacket_stats (non-ring sockets and TPACKET_V1/V2 rings): tp_packets includes tp_drops. */
export const TPACKET_STATS = { size: 8, packets: 0, drops: 4 } as const;
export const PACKET_FANOUT_HASH = 0;

/** tpacket_auxdata.tp_status bit: the transport checksum is partial (offload). */
export const TP_STATUS_CSUMNOTREADY = 1 << 3;
/** tp_status bit: the frame had a VLAN tag, stripped by the NIC (its TCI is in the metadata). */
export const TP_STATUS_VLAN_VALID = 1 << 4;

export const ETH_P_ALL = 0x0003;
/** htons(ETH_P_ALL) as the kernel reads the 16-bit field. */
export const ETH_P_ALL_NETWORK_ORDER = 0x0300;

export const MSG_DONTWAIT = 0x40;
export const MSG_TRUNC = 0x20;
export const MSG_CTRUNC = 0x08;
export const MSG_WAITFORONE = 0x10000;

export const SIOCGIFMTU = 0x8921;
export const SIOCGIFHWADDR = 0x8927;

/** sockaddr_ll.sll_pkttype values. */
export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;
export const PACKET_OUTGOING = 4;

/** PACKET_MMAP, TPACKET_V2: one status word per frame, so no block timeout delays a frame. */
export const PACKET_RX_RING = 5;
export const PACKET_VERSION = 10;
export const PACKET_RESERVE = 12;
export const TPACKET_V2 = 1;
/** struct tpacket_req { unsigned tp_block_size, tp_block_nr, tp_frame_size, tp_frame_nr; } */
export const TPACKET_REQ = { size: 16, blockSize: 0, blockNr: 4, frameSize: 8, frameNr: 12 } as const;
/** struct tpacket2_hdr, followed (at TPACKET_ALIGN(32)) by the frame's struct sockaddr_ll. */
export const TPACKET2_HDR = { size: 32, status: 0, len: 4, snaplen: 8, mac: 12, net: 14, address: 32 } as const;
export const TP_STATUS_KERNEL = 0;
export const TP_STATUS_USER = 1;
/** PACKET_TX_RING: frames user space fills and hands over with one send(). */
export const PACKET_TX_RING = 13;
/** A frame the kernel cannot send is skipped (status back to available) instead of stopping the ring. */
export const PACKET_LOSS = 14;
/** Each sent frame is preceded by a struct virtio_net_hdr. */
export const PACKET_VNET_HDR = 15;
/** Where a send ring frame's data starts is read from its tp_mac, not fixed. */
export const PACKET_TX_HAS_OFF = 19;
/** tp_status of a send ring frame: free for user space. */
export const TP_STATUS_AVAILABLE = 0;
/** tp_status: filled by user space, to be sent at the next send(). */
export const TP_STATUS_SEND_REQUEST = 1;
/** tp_status: the kernel holds it until the driver is done with it. */
export const TP_STATUS_SENDING = 2;
/** tp_status: the kernel refused the frame (without PACKET_LOSS it then stops at it). */
export const TP_STATUS_WRONG_FORMAT = 4;
/** struct virtio_net_hdr { u8 flags, gso_type; u16 hdr_len, gso_size, csum_start, csum_offset; } */
export const VIRTIO_NET_HDR = { size: 10, flags: 0, gsoType: 1, hdrLen: 2, gsoSize: 4, csumStart: 6, csumOffset: 8 } as const;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;
export const POLLIN = 1;
export const POLLOUT = 4;
/** poll revents: an error is pending on the socket (ENETDOWN when the link goes down). */
export const POLLERR = 8;
export const POLLHUP = 16;
/** struct pollfd { int fd; short events; short revents; } */
export const POLLFD = { size: 8, fd: 0, events: 4, revents: 6 } as const;

/** setsockopt(SOL_SOCKET): attach a classic BPF program (replacing any before it, atomically). */
export const SO_ATTACH_FILTER = 26;
/** struct sock_fprog { unsigned short len; struct sock_filter *filter; } */
export const SOCK_FPROG = { size: 16, len: 0, filter: 8 } as const;
/** setsockopt(SOL_PACKET): make the interface accept frames to an address while the socket is open. */
export const PACKET_ADD_MEMBERSHIP = 1;
/** struct packet_mreq { int mr_ifindex; unsigned short mr_type, mr_alen; unsigned char mr_address[8]; } */
export const PACKET_MREQ = { size: 16, ifindex: 0, type: 4, alen: 6, address: 8 } as const;
export const PACKET_MR_MULTICAST = 0;
export const PACKET_MR_UNICAST = 3;

// AF_XDP (linux/if_xdp.h): the XDP engine's socket, its UMEM and its four rings.
export const AF_XDP = 44;
export const SOL_XDP = 283;
export const XDP_MMAP_OFFSETS = 1;
export const XDP_RX_RING = 2;
export const XDP_TX_RING = 3;
export const XDP_UMEM_REG = 4;
export const XDP_UMEM_FILL_RING = 5;
export const XDP_UMEM_COMPLETION_RING = 6;
export const XDP_STATISTICS = 7;
export const XDP_OPTIONS = 8;
/** sockaddr_xdp.sxdp_flags: the kernel sets a ring's need-wakeup flag when it waits for a system call. */
export const XDP_USE_NEED_WAKEUP = 1 << 3;
/** xdp_options.flags: the socket runs in zero-copy mode (the driver DMAs into the UMEM). */
export const XDP_OPTIONS_ZEROCOPY = 1;
/** A ring's flags word: the kernel waits for a system call to go on (XDP_USE_NEED_WAKEUP). */
export const XDP_RING_NEED_WAKEUP = 1;
/** mmap offsets of the rings. */
export const XDP_PGOFF_RX_RING = 0;
export const XDP_PGOFF_TX_RING = 0x80000000;
export const XDP_UMEM_PGOFF_FILL_RING = 0x100000000;
export const XDP_UMEM_PGOFF_COMPLETION_RING = 0x180000000;
/** Room the kernel keeps before a received frame in its UMEM chunk (linux/bpf.h). */
export const XDP_PACKET_HEADROOM = 256;
/** struct sockaddr_xdp { u16 family, flags; u32 ifindex, queue_id, shared_umem_fd; } */
export const SOCKADDR_XDP = { size: 16, family: 0, flags: 2, ifindex: 4, queueId: 8, sharedUmemFd: 12 } as const;
/** struct xdp_umem_reg { u64 addr, len; u32 chunk_size, headroom, flags; } (padded to 32; newer kernels add tx_metadata_len at 28). */
export const XDP_UMEM_REG_STRUCT = { size: 32, addr: 0, len: 8, chunkSize: 16, headroom: 20, flags: 24 } as const;
/** struct xdp_ring_offset { u64 producer, consumer, desc, flags; } */
export const XDP_RING_OFFSET = { size: 32, producer: 0, consumer: 8, desc: 16, flags: 24 } as const;
/** struct xdp_mmap_offsets { struct xdp_ring_offset rx, tx, fr, cr; } */
export const XDP_MMAP_OFFSETS_STRUCT = { size: 128, rx: 0, tx: 32, fill: 64, completion: 96 } as const;
/** struct xdp_desc { u64 addr; u32 len, options; } */
export const XDP_DESC = { size: 16, addr: 0, len: 8, options: 12 } as const;
/** struct xdp_statistics: six u64 counts since the socket opened. */
export const XDP_STATISTICS_STRUCT = { size: 48, rxDropped: 0, rxInvalidDescs: 8, txInvalidDescs: 16, rxRingFull: 24, rxFillRingEmptyDescs: 32, txRingEmptyDescs: 40 } as const;
export const MAP_PRIVATE = 2;
export const MAP_ANONYMOUS = 0x20;
export const MAP_POPULATE = 0x8000;

// bpf(2) (linux/bpf.h): the XDP program, its maps and the link that attaches it.
export const BPF_MAP_CREATE = 0;
export const BPF_MAP_UPDATE_ELEM = 2;
export const BPF_MAP_DELETE_ELEM = 3;
export const BPF_PROG_LOAD = 5;
export const BPF_PROG_GET_FD_BY_ID = 13;
export const BPF_OBJ_GET_INFO_BY_FD = 15;
export const BPF_LINK_CREATE = 28;
export const BPF_LINK_GET_FD_BY_ID = 30;
export const BPF_LINK_DETACH = 34;
export const BPF_MAP_TYPE_HASH = 1;
export const BPF_MAP_TYPE_XSKMAP = 17;
export const BPF_PROG_TYPE_XDP = 6;
/** enum bpf_attach_type: an XDP program on an interface, through a link. */
export const BPF_XDP = 37;
export const BPF_LINK_TYPE_XDP = 6;
export const BPF_OBJ_NAME_LEN = 16;
/** XDP attach flags (linux/if_link.h): in the driver (native), not on socket buffers (generic). */
export const XDP_FLAGS_DRV_MODE = 1 << 2;
/** union bpf_attr for BPF_MAP_CREATE. */
export const BPF_MAP_CREATE_ATTR = { mapType: 0, keySize: 4, valueSize: 8, maxEntries: 12, mapFlags: 16, mapName: 28 } as const;
/** union bpf_attr for BPF_MAP_*_ELEM. */
export const BPF_MAP_ELEM_ATTR = { mapFd: 0, key: 8, value: 16, flags: 24 } as const;
/** union bpf_attr for BPF_PROG_LOAD. */
export const BPF_PROG_LOAD_ATTR = { progType: 0, insnCnt: 4, insns: 8, license: 16, logLevel: 24, logSize: 28, logBuf: 32, progName: 48, expectedAttachType: 68 } as const;
/** union bpf_attr for BPF_LINK_CREATE. */
export const BPF_LINK_CREATE_ATTR = { progFd: 0, targetIfindex: 4, attachType: 8, flags: 12 } as const;
/** union bpf_attr for BPF_OBJ_GET_INFO_BY_FD. */
export const BPF_INFO_ATTR = { bpfFd: 0, infoLen: 4, info: 8 } as const;
/** struct bpf_link_info: type, id, prog_id, and for an XDP link its interface. */
export const BPF_LINK_INFO = { size: 64, type: 0, id: 4, progId: 8, xdpIfindex: 16 } as const;
/** struct bpf_prog_info, up to its name. */
export const BPF_PROG_INFO = { size: 232, type: 0, id: 4, name: 64 } as const;
