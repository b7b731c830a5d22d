// bng's XDP program: it runs in the driver on every frame the interface receives, before the
// kernel makes a socket buffer of it, and hands the frames bng serves to the AF_XDP socket of the
// frame's receive queue (the socket map); every other frame goes on to the kernel (XDP_PASS).
// What bng serves: IPv4 frames to a VIP (any protocol), and ARP requests for a VIP (only bng
// answers those; the kernel would ignore them). Other ARP passes: the kernel needs replies to its
// own requests (the health checks' connections), and bng reads its copy of those through a packet
// socket filtered to ARP (ffi/packet-io/xdp.ts).
//
// The VIPs are keys of a hash map (4-byte keys, the address in network byte order, as it is in
// the frame) that bng updates on every reload, so the program never changes while it runs.
import { ARP_OP, ARP_TPA, ETH_HEADER_LEN, ETH_TYPE, IPV4_DST } from "../dataplane/frame.ts";
import {
  addImmediate,
  assemble,
  call,
  exit,
  FRAME_POINTER,
  jump,
  jumpIfAbove,
  jumpIfEqual,
  jumpIfNotEqual,
  label,
  load,
  loadMap,
  movImmediate,
  movRegister,
  store,
} from "./ebpf.ts";

/** XDP actions (enum xdp_action). */
export const XDP_PASS = 2;
export const XDP_REDIRECT = 4;

/** The program's name as the kernel shows it (`bpftool prog`, `ip link`): 15 characters at most. */
export const XDP_PROGRAM_NAME = "bng_vips";

// struct xdp_md: what the program reads of its context.
const XDP_MD_DATA = 0;
const XDP_MD_DATA_END = 4;
const XDP_MD_RX_QUEUE_INDEX = 16;
// Helper function numbers (enum bpf_func_id).
const BPF_FUNC_MAP_LOOKUP_ELEM = 1;
const BPF_FUNC_REDIRECT_MAP = 51;

// 16-bit fields loaded from the frame as they lie in memory, read little-endian.
const ETHERTYPE_IPV4_LOADED = 0x0008;
const ETHERTYPE_ARP_LOADED = 0x0608;
const ARP_REQUEST_LOADED = 0x0100;
/** Bytes an IPv4 frame needs for its destination address; an ARP frame for its target's. */
const IPV4_NEEDS = ETH_HEADER_LEN + IPV4_DST + 4;
const ARP_NEEDS = ETH_HEADER_LEN + ARP_TPA + 4;

export interface XdpMaps {
  /** BPF_MAP_TYPE_HASH: 4-byte VIP (network byte order) -> 1-byte value (unused). */
  vips: number;
  /** BPF_MAP_TYPE_XSKMAP: receive queue index -> AF_XDP socket. */
  sockets: number;
}

/** The program as struct bpf_insn[], the maps' file descriptors in it (the kernel takes them at load). */
export function xdpRedirectProgram(maps: XdpMaps): Uint8Array {
  return assemble([
    movRegister(6, 1),
    load("u32", 2, 6, XDP_MD_DATA),
    load("u32", 3, 6, XDP_MD_DATA_END),
    movRegister(4, 2),
    addImmediate(4, IPV4_NEEDS),
    jumpIfAbove(4, 3, "pass"),
    load("u16", 5, 2, ETH_TYPE),
    jumpIfEqual(5, ETHERTYPE_IPV4_LOADED, "ipv4"),
    jumpIfNotEqual(5, ETHERTYPE_ARP_LOADED, "pass"),
    movRegister(4, 2),
    addImmediate(4, ARP_NEEDS),
    jumpIfAbove(4, 3, "pass"),
    load("u16", 5, 2, ETH_HEADER_LEN + ARP_OP),
    jumpIfNotEqual(5, ARP_REQUEST_LOADED, "pass"),
    load("u32", 5, 2, ETH_HEADER_LEN + ARP_TPA),
    jump("lookup"),
    label("ipv4"),
    load("u32", 5, 2, ETH_HEADER_LEN + IPV4_DST),
    label("lookup"),
    // The address as the key, on the stack.
    store("u32", FRAME_POINTER, -4, 5),
    movRegister(2, FRAME_POINTER),
    addImmediate(2, -4),
    loadMap(1, maps.vips),
    call(BPF_FUNC_MAP_LOOKUP_ELEM),
    jumpIfEqual(0, 0, "pass"),
    // To the socket of the frame's queue; to the kernel if that queue has none.
    load("u32", 2, 6, XDP_MD_RX_QUEUE_INDEX),
    loadMap(1, maps.sockets),
    movImmediate(3, XDP_PASS),
    call(BPF_FUNC_REDIRECT_MAP),
    exit(),
    label("pass"),
    movImmediate(0, XDP_PASS),
    exit(),
  ]);
}
