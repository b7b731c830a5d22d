// PacketIO over an AF_PACKET socket receiving with recvmmsg (`set io mmsg`, the default), and
// the front door that picks the receive backend: `openPacketIO({ io: "ring" })` is openRingIO
// (ffi/ring.ts). Socket setup, the arena and sendmmsg are shared (ffi/packet-socket.ts).
import { type Pointer } from "bun:ffi";
import { FRAME_TRUNCATED } from "../src/dataplane/packet-io.ts";
import { EAGAIN, EINTR, ENETDOWN, SyscallError } from "./errors.ts";
import { interfaceIndex } from "./interface.ts";
import { AUXDATA_CONTROL_SPACE, CMSGHDR, MMSGHDR, MSG_DONTWAIT, MSG_TRUNC, MSG_WAITFORONE, PACKET_AUXDATA, SOCKADDR_LL, SOL_PACKET, TPACKET_AUXDATA } from "./layout.ts";
import { lastErrno, libc } from "./libc.ts";
import {
  assertIntegerIn,
  openPacketSocketIO,
  openUnboundPacketSocket,
  sockaddrLl,
  statusFlags,
  type AfPacketIO,
  type PacketIOOptions,
  type PacketSocket,
  type AttachedBackend,
} from "./packet-socket.ts";
import { openRingIO } from "./ring.ts";

export type { AfPacketIO, AfPacketStats, PacketIOOptions } from "./packet-socket.ts";

/** A PacketIO on `options.ifname`, receiving as `options.io` says (recvmmsg unless "ring"). */
export function openPacketIO(options: PacketIOOptions): AfPacketIO {
  return options.io === "ring" ? openRingIO(options) : openPacketSocketIO(options, { usesReceiveBuffer: true, attach: attachMessages });
}

/** recvmmsg into the arena's rx slots, one mmsghdr with a sockaddr_ll and an auxdata buffer each. */
function attachMessages(socket: PacketSocket): AttachedBackend {
  const { fd, ifname, arena, stats } = socket;
  const { rx, words, bytes } = arena;
  const batchSize = rx.slotCount;
  const rxMessages = arena.pointer + arena.rxMessages;
  return {
    receive(): number {
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
    },
    // Nothing but the socket, which openPacketSocketIO closes.
    release(): void {},
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
