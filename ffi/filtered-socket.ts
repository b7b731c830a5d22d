// A packet socket of the control thread for the few frames it reads itself (VRRP adverts): a
// classic BPF filter makes the kernel queue only those, and a receive never waits, so the
// control thread reads it from its timers. Memberships make the interface accept frames to
// addresses that are not its own (a multicast group, the VRRP virtual MAC) for as long as the
// socket is open, without promiscuous mode.
import { EAGAIN, SyscallError } from "./errors.ts";
import { interfaceIndex } from "./interface.ts";
import {
  ETH_P_ALL_NETWORK_ORDER,
  MSG_DONTWAIT,
  PACKET_ADD_MEMBERSHIP,
  PACKET_IGNORE_OUTGOING,
  PACKET_MREQ,
  SOCKADDR_LL,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SOL_PACKET,
} from "./layout.ts";
import { check, lastErrno, libc } from "./libc.ts";
import { attachSocketFilter, openUnboundPacketSocket, setBufferSize, setIntOption, sockaddrLl } from "./packet-io/socket.ts";

export interface FilteredSocket {
  readonly ifname: string;
  /** Copies the next waiting frame into `buffer` and returns its length, or 0 when none waits. Never blocks. */
  receive(buffer: Uint8Array): number;
  /** Replaces the filter (the kernel swaps it atomically). */
  setFilter(program: Uint8Array): void;
  close(): void;
}

/** A membership of the interface's address filters: PACKET_MR_MULTICAST or PACKET_MR_UNICAST, and a MAC. */
export interface Membership {
  readonly type: number;
  readonly mac: Uint8Array;
}

function addMembership(fd: number, ifindex: number, membership: Membership, ifname: string): void {
  const request = new Uint8Array(PACKET_MREQ.size);
  const view = new DataView(request.buffer);
  view.setInt32(PACKET_MREQ.ifindex, ifindex, true);
  view.setUint16(PACKET_MREQ.type, membership.type, true);
  view.setUint16(PACKET_MREQ.alen, 6, true);
  request.set(membership.mac.subarray(0, 6), PACKET_MREQ.address);
  check(libc.setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, request, PACKET_MREQ.size), `setsockopt(PACKET_ADD_MEMBERSHIP, ${ifname})`);
}

/**
 * The socket's receive buffer: what waits between two reads. The control thread reads every
 * 100 ms, and a flood of frames the filter accepts (forged adverts) must not push the genuine
 * ones out meanwhile: about 5,000 frames' worth.
 */
const RECEIVE_BUFFER_BYTES = 4 << 20;

/**
 * Opens a packet socket on `ifname` that queues only the frames `program` accepts (a classic BPF
 * program, struct sock_filter[]), never its own host's output, with `memberships` held.
 */
export function openFilteredSocket(ifname: string, program: Uint8Array, memberships: readonly Membership[] = []): FilteredSocket {
  const ifindex = interfaceIndex(ifname);
  const fd = openUnboundPacketSocket();
  try {
    // The filter before the bind: no frame is queued unfiltered in between.
    attachSocketFilter(fd, program, ifname);
    setIntOption(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, "setsockopt(PACKET_IGNORE_OUTGOING)");
    setBufferSize(fd, SO_RCVBUFFORCE, SO_RCVBUF, "SO_RCVBUF", RECEIVE_BUFFER_BYTES);
    check(libc.bind(fd, sockaddrLl(ifindex, ETH_P_ALL_NETWORK_ORDER), SOCKADDR_LL.size), `bind(AF_PACKET, ${ifname})`);
    for (const membership of memberships) addMembership(fd, ifindex, membership, ifname);
  } catch (error) {
    libc.close(fd);
    throw error;
  }
  let closed = false;
  return {
    ifname,
    receive(buffer: Uint8Array): number {
      if (closed) throw new Error(`filtered socket on ${ifname} is closed`);
      const received = Number(libc.recvfrom(fd, buffer, buffer.length, MSG_DONTWAIT, null, null));
      if (received >= 0) return received;
      const errno = lastErrno();
      if (errno === EAGAIN) return 0;
      throw new SyscallError(`recvfrom(AF_PACKET, ${ifname})`, errno);
    },
    setFilter(next: Uint8Array): void {
      attachSocketFilter(fd, next, ifname);
    },
    close(): void {
      if (closed) return;
      closed = true;
      libc.close(fd);
    },
  };
}
