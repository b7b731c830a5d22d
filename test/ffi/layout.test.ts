// Every hand-written struct offset and constant in ffi/layout.ts, checked against the C compiler
// and the system headers (skipped where no C compiler is installed).
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { arenaLayout } from "../../ffi/packet-io/socket.ts";
import * as layout from "../../ffi/layout.ts";
import { run } from "../fixtures/process.ts";

const compiler = Bun.which("cc") ?? Bun.which("gcc");

// name in layout.ts -> C expression
const C_VALUES: Record<string, string> = {
  "IOVEC.size": "sizeof(struct iovec)",
  "IOVEC.base": "offsetof(struct iovec, iov_base)",
  "IOVEC.len": "offsetof(struct iovec, iov_len)",
  "MMSGHDR.size": "sizeof(struct mmsghdr)",
  "MMSGHDR.name": "offsetof(struct mmsghdr, msg_hdr.msg_name)",
  "MMSGHDR.namelen": "offsetof(struct mmsghdr, msg_hdr.msg_namelen)",
  "MMSGHDR.iov": "offsetof(struct mmsghdr, msg_hdr.msg_iov)",
  "MMSGHDR.iovlen": "offsetof(struct mmsghdr, msg_hdr.msg_iovlen)",
  "MMSGHDR.control": "offsetof(struct mmsghdr, msg_hdr.msg_control)",
  "MMSGHDR.controllen": "offsetof(struct mmsghdr, msg_hdr.msg_controllen)",
  "MMSGHDR.flags": "offsetof(struct mmsghdr, msg_hdr.msg_flags)",
  "MMSGHDR.len": "offsetof(struct mmsghdr, msg_len)",
  "SOCKADDR_LL.size": "sizeof(struct sockaddr_ll)",
  "SOCKADDR_LL.family": "offsetof(struct sockaddr_ll, sll_family)",
  "SOCKADDR_LL.protocol": "offsetof(struct sockaddr_ll, sll_protocol)",
  "SOCKADDR_LL.ifindex": "offsetof(struct sockaddr_ll, sll_ifindex)",
  "SOCKADDR_LL.hatype": "offsetof(struct sockaddr_ll, sll_hatype)",
  "SOCKADDR_LL.pkttype": "offsetof(struct sockaddr_ll, sll_pkttype)",
  "SOCKADDR_LL.halen": "offsetof(struct sockaddr_ll, sll_halen)",
  "SOCKADDR_LL.addr": "offsetof(struct sockaddr_ll, sll_addr)",
  "CMSGHDR.size": "sizeof(struct cmsghdr)",
  "CMSGHDR.len": "offsetof(struct cmsghdr, cmsg_len)",
  "CMSGHDR.level": "offsetof(struct cmsghdr, cmsg_level)",
  "CMSGHDR.type": "offsetof(struct cmsghdr, cmsg_type)",
  "CMSGHDR.data": "CMSG_LEN(0)",
  "TPACKET_AUXDATA.size": "sizeof(struct tpacket_auxdata)",
  "TPACKET_AUXDATA.status": "offsetof(struct tpacket_auxdata, tp_status)",
  "TPACKET_AUXDATA.len": "offsetof(struct tpacket_auxdata, tp_len)",
  "TPACKET_AUXDATA.snaplen": "offsetof(struct tpacket_auxdata, tp_snaplen)",
  "TPACKET_AUXDATA.mac": "offsetof(struct tpacket_auxdata, tp_mac)",
  "TPACKET_AUXDATA.net": "offsetof(struct tpacket_auxdata, tp_net)",
  "TPACKET_AUXDATA.vlanTci": "offsetof(struct tpacket_auxdata, tp_vlan_tci)",
  "TPACKET_AUXDATA.vlanTpid": "offsetof(struct tpacket_auxdata, tp_vlan_tpid)",
  AUXDATA_CONTROL_SPACE: "CMSG_SPACE(sizeof(struct tpacket_auxdata))",
  "TIMEVAL.size": "sizeof(struct timeval)",
  "TIMEVAL.sec": "offsetof(struct timeval, tv_sec)",
  "TIMEVAL.usec": "offsetof(struct timeval, tv_usec)",
  "IFREQ.size": "sizeof(struct ifreq)",
  "IFREQ.name": "offsetof(struct ifreq, ifr_name)",
  "IFREQ.union": "offsetof(struct ifreq, ifr_mtu)",
  "IFREQ.hwaddrData": "offsetof(struct ifreq, ifr_hwaddr.sa_data)",
  IFNAMSIZ: "IFNAMSIZ",
  "SOCKADDR_UN.size": "sizeof(struct sockaddr_un)",
  "SOCKADDR_UN.family": "offsetof(struct sockaddr_un, sun_family)",
  "SOCKADDR_UN.path": "offsetof(struct sockaddr_un, sun_path)",
  AF_UNIX: "AF_UNIX",
  AF_INET: "AF_INET",
  AF_PACKET: "AF_PACKET",
  SOCK_DGRAM: "SOCK_DGRAM",
  SOCK_RAW: "SOCK_RAW",
  SOCK_CLOEXEC: "SOCK_CLOEXEC",
  SOL_SOCKET: "SOL_SOCKET",
  SO_ERROR: "SO_ERROR",
  SO_SNDBUF: "SO_SNDBUF",
  SO_RCVBUF: "SO_RCVBUF",
  SO_RCVTIMEO: "SO_RCVTIMEO",
  SO_SNDTIMEO: "SO_SNDTIMEO",
  SO_RCVBUFFORCE: "SO_RCVBUFFORCE",
  SO_SNDBUFFORCE: "SO_SNDBUFFORCE",
  SOL_PACKET: "SOL_PACKET",
  PACKET_AUXDATA: "PACKET_AUXDATA",
  PACKET_FANOUT: "PACKET_FANOUT",
  PACKET_QDISC_BYPASS: "PACKET_QDISC_BYPASS",
  PACKET_IGNORE_OUTGOING: "PACKET_IGNORE_OUTGOING",
  PACKET_STATISTICS: "PACKET_STATISTICS",
  "TPACKET_STATS.size": "sizeof(struct tpacket_stats)",
  "TPACKET_STATS.packets": "offsetof(struct tpacket_stats, tp_packets)",
  "TPACKET_STATS.drops": "offsetof(struct tpacket_stats, tp_drops)",
  PACKET_FANOUT_HASH: "PACKET_FANOUT_HASH",
  TP_STATUS_CSUMNOTREADY: "TP_STATUS_CSUMNOTREADY",
  TP_STATUS_VLAN_VALID: "TP_STATUS_VLAN_VALID",
  TP_STATUS_KERNEL: "TP_STATUS_KERNEL",
  TP_STATUS_USER: "TP_STATUS_USER",
  PACKET_RX_RING: "PACKET_RX_RING",
  PACKET_TX_RING: "PACKET_TX_RING",
  PACKET_LOSS: "PACKET_LOSS",
  PACKET_VNET_HDR: "PACKET_VNET_HDR",
  PACKET_TX_HAS_OFF: "PACKET_TX_HAS_OFF",
  TP_STATUS_AVAILABLE: "TP_STATUS_AVAILABLE",
  TP_STATUS_SEND_REQUEST: "TP_STATUS_SEND_REQUEST",
  TP_STATUS_SENDING: "TP_STATUS_SENDING",
  TP_STATUS_WRONG_FORMAT: "TP_STATUS_WRONG_FORMAT",
  "VIRTIO_NET_HDR.size": "sizeof(struct virtio_net_hdr)",
  "VIRTIO_NET_HDR.flags": "offsetof(struct virtio_net_hdr, flags)",
  "VIRTIO_NET_HDR.gsoType": "offsetof(struct virtio_net_hdr, gso_type)",
  "VIRTIO_NET_HDR.hdrLen": "offsetof(struct virtio_net_hdr, hdr_len)",
  "VIRTIO_NET_HDR.gsoSize": "offsetof(struct virtio_net_hdr, gso_size)",
  "VIRTIO_NET_HDR.csumStart": "offsetof(struct virtio_net_hdr, csum_start)",
  "VIRTIO_NET_HDR.csumOffset": "offsetof(struct virtio_net_hdr, csum_offset)",
  PACKET_VERSION: "PACKET_VERSION",
  PACKET_RESERVE: "PACKET_RESERVE",
  TPACKET_V2: "TPACKET_V2",
  "TPACKET_REQ.size": "sizeof(struct tpacket_req)",
  "TPACKET_REQ.blockSize": "offsetof(struct tpacket_req, tp_block_size)",
  "TPACKET_REQ.blockNr": "offsetof(struct tpacket_req, tp_block_nr)",
  "TPACKET_REQ.frameSize": "offsetof(struct tpacket_req, tp_frame_size)",
  "TPACKET_REQ.frameNr": "offsetof(struct tpacket_req, tp_frame_nr)",
  "TPACKET2_HDR.size": "sizeof(struct tpacket2_hdr)",
  "TPACKET2_HDR.status": "offsetof(struct tpacket2_hdr, tp_status)",
  "TPACKET2_HDR.len": "offsetof(struct tpacket2_hdr, tp_len)",
  "TPACKET2_HDR.snaplen": "offsetof(struct tpacket2_hdr, tp_snaplen)",
  "TPACKET2_HDR.mac": "offsetof(struct tpacket2_hdr, tp_mac)",
  "TPACKET2_HDR.net": "offsetof(struct tpacket2_hdr, tp_net)",
  "TPACKET2_HDR.address": "TPACKET_ALIGN(sizeof(struct tpacket2_hdr))",
  SOCK_STREAM: "SOCK_STREAM",
  SOCK_NONBLOCK: "SOCK_NONBLOCK",
  IPPROTO_IP: "IPPROTO_IP",
  IPPROTO_ICMP: "IPPROTO_ICMP",
  IP_BIND_ADDRESS_NO_PORT: "IP_BIND_ADDRESS_NO_PORT",
  SOL_RAW: "SOL_RAW",
  ICMP_FILTER: "ICMP_FILTER",
  SO_LINGER: "SO_LINGER",
  "SOCKADDR_IN.size": "sizeof(struct sockaddr_in)",
  "SOCKADDR_IN.family": "offsetof(struct sockaddr_in, sin_family)",
  "SOCKADDR_IN.port": "offsetof(struct sockaddr_in, sin_port)",
  "SOCKADDR_IN.addr": "offsetof(struct sockaddr_in, sin_addr)",
  SO_ATTACH_FILTER: "SO_ATTACH_FILTER",
  "SOCK_FPROG.size": "sizeof(struct sock_fprog)",
  "SOCK_FPROG.len": "offsetof(struct sock_fprog, len)",
  "SOCK_FPROG.filter": "offsetof(struct sock_fprog, filter)",
  PACKET_ADD_MEMBERSHIP: "PACKET_ADD_MEMBERSHIP",
  "PACKET_MREQ.size": "sizeof(struct packet_mreq)",
  "PACKET_MREQ.ifindex": "offsetof(struct packet_mreq, mr_ifindex)",
  "PACKET_MREQ.type": "offsetof(struct packet_mreq, mr_type)",
  "PACKET_MREQ.alen": "offsetof(struct packet_mreq, mr_alen)",
  "PACKET_MREQ.address": "offsetof(struct packet_mreq, mr_address)",
  PACKET_MR_MULTICAST: "PACKET_MR_MULTICAST",
  PACKET_MR_UNICAST: "PACKET_MR_UNICAST",
  PROT_READ: "PROT_READ",
  PROT_WRITE: "PROT_WRITE",
  MAP_SHARED: "MAP_SHARED",
  POLLIN: "POLLIN",
  POLLOUT: "POLLOUT",
  POLLERR: "POLLERR",
  POLLHUP: "POLLHUP",
  "POLLFD.size": "sizeof(struct pollfd)",
  "POLLFD.fd": "offsetof(struct pollfd, fd)",
  "POLLFD.events": "offsetof(struct pollfd, events)",
  "POLLFD.revents": "offsetof(struct pollfd, revents)",
  ETH_P_ALL: "ETH_P_ALL",
  ETH_P_ALL_NETWORK_ORDER: "htons(ETH_P_ALL)",
  MSG_DONTWAIT: "MSG_DONTWAIT",
  MSG_TRUNC: "MSG_TRUNC",
  MSG_CTRUNC: "MSG_CTRUNC",
  MSG_WAITFORONE: "MSG_WAITFORONE",
  SIOCGIFMTU: "SIOCGIFMTU",
  SIOCGIFHWADDR: "SIOCGIFHWADDR",
  PACKET_HOST: "PACKET_HOST",
  PACKET_BROADCAST: "PACKET_BROADCAST",
  PACKET_MULTICAST: "PACKET_MULTICAST",
  PACKET_OTHERHOST: "PACKET_OTHERHOST",
  PACKET_OUTGOING: "PACKET_OUTGOING",
  AF_XDP: "AF_XDP",
  SOL_XDP: "SOL_XDP",
  XDP_MMAP_OFFSETS: "XDP_MMAP_OFFSETS",
  XDP_RX_RING: "XDP_RX_RING",
  XDP_TX_RING: "XDP_TX_RING",
  XDP_UMEM_REG: "XDP_UMEM_REG",
  XDP_UMEM_FILL_RING: "XDP_UMEM_FILL_RING",
  XDP_UMEM_COMPLETION_RING: "XDP_UMEM_COMPLETION_RING",
  XDP_STATISTICS: "XDP_STATISTICS",
  XDP_OPTIONS: "XDP_OPTIONS",
  XDP_USE_NEED_WAKEUP: "XDP_USE_NEED_WAKEUP",
  XDP_OPTIONS_ZEROCOPY: "XDP_OPTIONS_ZEROCOPY",
  XDP_RING_NEED_WAKEUP: "XDP_RING_NEED_WAKEUP",
  XDP_PGOFF_RX_RING: "XDP_PGOFF_RX_RING",
  XDP_PGOFF_TX_RING: "XDP_PGOFF_TX_RING",
  XDP_UMEM_PGOFF_FILL_RING: "XDP_UMEM_PGOFF_FILL_RING",
  XDP_UMEM_PGOFF_COMPLETION_RING: "XDP_UMEM_PGOFF_COMPLETION_RING",
  XDP_PACKET_HEADROOM: "XDP_PACKET_HEADROOM",
  "SOCKADDR_XDP.size": "sizeof(struct sockaddr_xdp)",
  "SOCKADDR_XDP.family": "offsetof(struct sockaddr_xdp, sxdp_family)",
  "SOCKADDR_XDP.flags": "offsetof(struct sockaddr_xdp, sxdp_flags)",
  "SOCKADDR_XDP.ifindex": "offsetof(struct sockaddr_xdp, sxdp_ifindex)",
  "SOCKADDR_XDP.queueId": "offsetof(struct sockaddr_xdp, sxdp_queue_id)",
  "SOCKADDR_XDP.sharedUmemFd": "offsetof(struct sockaddr_xdp, sxdp_shared_umem_fd)",
  "XDP_UMEM_REG_STRUCT.size": "sizeof(struct xdp_umem_reg)",
  "XDP_UMEM_REG_STRUCT.addr": "offsetof(struct xdp_umem_reg, addr)",
  "XDP_UMEM_REG_STRUCT.len": "offsetof(struct xdp_umem_reg, len)",
  "XDP_UMEM_REG_STRUCT.chunkSize": "offsetof(struct xdp_umem_reg, chunk_size)",
  "XDP_UMEM_REG_STRUCT.headroom": "offsetof(struct xdp_umem_reg, headroom)",
  "XDP_UMEM_REG_STRUCT.flags": "offsetof(struct xdp_umem_reg, flags)",
  "XDP_RING_OFFSET.size": "sizeof(struct xdp_ring_offset)",
  "XDP_RING_OFFSET.producer": "offsetof(struct xdp_ring_offset, producer)",
  "XDP_RING_OFFSET.consumer": "offsetof(struct xdp_ring_offset, consumer)",
  "XDP_RING_OFFSET.desc": "offsetof(struct xdp_ring_offset, desc)",
  "XDP_RING_OFFSET.flags": "offsetof(struct xdp_ring_offset, flags)",
  "XDP_MMAP_OFFSETS_STRUCT.size": "sizeof(struct xdp_mmap_offsets)",
  "XDP_MMAP_OFFSETS_STRUCT.rx": "offsetof(struct xdp_mmap_offsets, rx)",
  "XDP_MMAP_OFFSETS_STRUCT.tx": "offsetof(struct xdp_mmap_offsets, tx)",
  "XDP_MMAP_OFFSETS_STRUCT.fill": "offsetof(struct xdp_mmap_offsets, fr)",
  "XDP_MMAP_OFFSETS_STRUCT.completion": "offsetof(struct xdp_mmap_offsets, cr)",
  "XDP_DESC.size": "sizeof(struct xdp_desc)",
  "XDP_DESC.addr": "offsetof(struct xdp_desc, addr)",
  "XDP_DESC.len": "offsetof(struct xdp_desc, len)",
  "XDP_DESC.options": "offsetof(struct xdp_desc, options)",
  "XDP_STATISTICS_STRUCT.size": "sizeof(struct xdp_statistics)",
  "XDP_STATISTICS_STRUCT.rxDropped": "offsetof(struct xdp_statistics, rx_dropped)",
  "XDP_STATISTICS_STRUCT.rxInvalidDescs": "offsetof(struct xdp_statistics, rx_invalid_descs)",
  "XDP_STATISTICS_STRUCT.txInvalidDescs": "offsetof(struct xdp_statistics, tx_invalid_descs)",
  "XDP_STATISTICS_STRUCT.rxRingFull": "offsetof(struct xdp_statistics, rx_ring_full)",
  "XDP_STATISTICS_STRUCT.rxFillRingEmptyDescs": "offsetof(struct xdp_statistics, rx_fill_ring_empty_descs)",
  "XDP_STATISTICS_STRUCT.txRingEmptyDescs": "offsetof(struct xdp_statistics, tx_ring_empty_descs)",
  MAP_PRIVATE: "MAP_PRIVATE",
  MAP_ANONYMOUS: "MAP_ANONYMOUS",
  MAP_POPULATE: "MAP_POPULATE",
  BPF_MAP_CREATE: "BPF_MAP_CREATE",
  BPF_MAP_UPDATE_ELEM: "BPF_MAP_UPDATE_ELEM",
  BPF_MAP_DELETE_ELEM: "BPF_MAP_DELETE_ELEM",
  BPF_PROG_LOAD: "BPF_PROG_LOAD",
  BPF_PROG_GET_FD_BY_ID: "BPF_PROG_GET_FD_BY_ID",
  BPF_OBJ_GET_INFO_BY_FD: "BPF_OBJ_GET_INFO_BY_FD",
  BPF_LINK_CREATE: "BPF_LINK_CREATE",
  BPF_LINK_GET_FD_BY_ID: "BPF_LINK_GET_FD_BY_ID",
  BPF_LINK_DETACH: "BPF_LINK_DETACH",
  BPF_MAP_TYPE_HASH: "BPF_MAP_TYPE_HASH",
  BPF_MAP_TYPE_XSKMAP: "BPF_MAP_TYPE_XSKMAP",
  BPF_PROG_TYPE_XDP: "BPF_PROG_TYPE_XDP",
  BPF_XDP: "BPF_XDP",
  BPF_LINK_TYPE_XDP: "BPF_LINK_TYPE_XDP",
  BPF_OBJ_NAME_LEN: "BPF_OBJ_NAME_LEN",
  XDP_FLAGS_DRV_MODE: "XDP_FLAGS_DRV_MODE",
  "BPF_MAP_CREATE_ATTR.mapType": "offsetof(union bpf_attr, map_type)",
  "BPF_MAP_CREATE_ATTR.keySize": "offsetof(union bpf_attr, key_size)",
  "BPF_MAP_CREATE_ATTR.valueSize": "offsetof(union bpf_attr, value_size)",
  "BPF_MAP_CREATE_ATTR.maxEntries": "offsetof(union bpf_attr, max_entries)",
  "BPF_MAP_CREATE_ATTR.mapFlags": "offsetof(union bpf_attr, map_flags)",
  "BPF_MAP_CREATE_ATTR.mapName": "offsetof(union bpf_attr, map_name)",
  "BPF_MAP_ELEM_ATTR.mapFd": "offsetof(union bpf_attr, map_fd)",
  "BPF_MAP_ELEM_ATTR.key": "offsetof(union bpf_attr, key)",
  "BPF_MAP_ELEM_ATTR.value": "offsetof(union bpf_attr, value)",
  "BPF_MAP_ELEM_ATTR.flags": "offsetof(union bpf_attr, flags)",
  "BPF_PROG_LOAD_ATTR.progType": "offsetof(union bpf_attr, prog_type)",
  "BPF_PROG_LOAD_ATTR.insnCnt": "offsetof(union bpf_attr, insn_cnt)",
  "BPF_PROG_LOAD_ATTR.insns": "offsetof(union bpf_attr, insns)",
  "BPF_PROG_LOAD_ATTR.license": "offsetof(union bpf_attr, license)",
  "BPF_PROG_LOAD_ATTR.logLevel": "offsetof(union bpf_attr, log_level)",
  "BPF_PROG_LOAD_ATTR.logSize": "offsetof(union bpf_attr, log_size)",
  "BPF_PROG_LOAD_ATTR.logBuf": "offsetof(union bpf_attr, log_buf)",
  "BPF_PROG_LOAD_ATTR.progName": "offsetof(union bpf_attr, prog_name)",
  "BPF_PROG_LOAD_ATTR.expectedAttachType": "offsetof(union bpf_attr, expected_attach_type)",
  "BPF_LINK_CREATE_ATTR.progFd": "offsetof(union bpf_attr, link_create.prog_fd)",
  "BPF_LINK_CREATE_ATTR.targetIfindex": "offsetof(union bpf_attr, link_create.target_ifindex)",
  "BPF_LINK_CREATE_ATTR.attachType": "offsetof(union bpf_attr, link_create.attach_type)",
  "BPF_LINK_CREATE_ATTR.flags": "offsetof(union bpf_attr, link_create.flags)",
  "BPF_INFO_ATTR.bpfFd": "offsetof(union bpf_attr, info.bpf_fd)",
  "BPF_INFO_ATTR.infoLen": "offsetof(union bpf_attr, info.info_len)",
  "BPF_INFO_ATTR.info": "offsetof(union bpf_attr, info.info)",
  "BPF_LINK_INFO.type": "offsetof(struct bpf_link_info, type)",
  "BPF_LINK_INFO.id": "offsetof(struct bpf_link_info, id)",
  "BPF_LINK_INFO.progId": "offsetof(struct bpf_link_info, prog_id)",
  "BPF_LINK_INFO.xdpIfindex": "offsetof(struct bpf_link_info, xdp.ifindex)",
  "BPF_PROG_INFO.type": "offsetof(struct bpf_prog_info, type)",
  "BPF_PROG_INFO.id": "offsetof(struct bpf_prog_info, id)",
  "BPF_PROG_INFO.name": "offsetof(struct bpf_prog_info, name)",
};
// Info structs grow with the kernel; bng's sizes need only cover the fields it reads.
const AT_LEAST: Record<string, string> = {
  "BPF_LINK_INFO.size": "sizeof(struct bpf_link_info)",
  "BPF_PROG_INFO.size": "sizeof(struct bpf_prog_info)",
};

function ourValue(name: string): unknown {
  const [outer = "", inner] = name.split(".");
  const value = (layout as Record<string, unknown>)[outer];
  return inner === undefined ? value : (value as Record<string, unknown>)[inner];
}

function compilerValues(): Record<string, number> {
  const directory = mkdtempSync(join(tmpdir(), "bng-layout-"));
  try {
    const source = `#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <linux/filter.h>
#include <linux/icmp.h>
#include <netinet/in.h>
#include <linux/if_xdp.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
int main(void) {
${Object.entries({ ...C_VALUES, ...AT_LEAST })
  .map(([name, expression]) => `  printf("%s=%ld\\n", "${name}", (long)(${expression}));`)
  .join("\n")}
  return 0;
}
`;
    writeFileSync(join(directory, "layout.c"), source);
    run([compiler!, "-o", join(directory, "layout"), join(directory, "layout.c")]);
    const output = run([join(directory, "layout")]);
    return Object.fromEntries(
      output
        .trim()
        .split("\n")
        .map((line) => {
          const [name = "", value = ""] = line.split("=");
          return [name, Number(value)];
        }),
    );
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

describe.skipIf(compiler === null)("struct layouts and constants match the C headers", () => {
  test("every value", () => {
    const expected = compilerValues();
    const ours = Object.fromEntries(Object.keys(C_VALUES).map((name) => [name, ourValue(name)]));
    expect(ours).toEqual(Object.fromEntries(Object.keys(C_VALUES).map((name) => [name, expected[name]])));
    for (const name of Object.keys(AT_LEAST)) expect(`${name} ${ourValue(name)}`).toBe(`${name} ${Math.max(ourValue(name) as number, expected[name]!)}`);
  });
});

describe("arena layout", () => {
  test("regions follow each other without overlap, 8-byte aligned where C structs live", () => {
    const regions = arenaLayout(64, 2048);
    expect(regions.rxFrames).toBe(0);
    expect(regions.txFrames).toBe(64 * 2048);
    expect(regions.rxIovecs).toBe(2 * 64 * 2048);
    expect(regions.txIovecs - regions.rxIovecs).toBe(64 * layout.IOVEC.size);
    expect(regions.rxMessages - regions.txIovecs).toBe(64 * layout.IOVEC.size);
    expect(regions.txMessages - regions.rxMessages).toBe(64 * layout.MMSGHDR.size);
    expect(regions.rxControls - regions.txMessages).toBe(64 * layout.MMSGHDR.size);
    expect(regions.rxAddresses - regions.rxControls).toBe(64 * layout.AUXDATA_CONTROL_SPACE);
    expect(regions.size).toBe(regions.rxAddresses + 64 * layout.SOCKADDR_LL.size);
  });

  test("an odd slot size still leaves the structs 8-byte aligned", () => {
    const regions = arenaLayout(3, 1001);
    for (const offset of [regions.txFrames, regions.rxIovecs, regions.rxMessages, regions.txMessages, regions.rxControls]) {
      expect(offset % 8).toBe(0);
    }
    expect(regions.txFrames).toBeGreaterThanOrEqual(3 * 1001);
    expect(regions.rxIovecs).toBeGreaterThanOrEqual(regions.txFrames + 3 * 1001);
  });
});
