// The mmsg engine (`set io mmsg`, the default): frames are copied out of the AF_PACKET socket's
// queue in batches with recvmmsg and sent back with sendmmsg. Every message header, iovec,
// address and control buffer is in the arena (socket.ts), laid out once: a receive or a send
// allocates nothing and makes one system call in the common case.
import { FRAME_TRUNCATED, type PacketIOStats } from "../../src/dataplane/packet-io.ts";
import { EAGAIN, EINTR, ENETDOWN, ENOBUFS, SyscallError } from "../errors.ts";
import { AUXDATA_CONTROL_SPACE, CMSGHDR, IOVEC, MMSGHDR, MSG_TRUNC, MSG_WAITFORONE, PACKET_AUXDATA, SOCKADDR_LL, SOL_PACKET, TPACKET_AUXDATA } from "../layout.ts";
import { lastErrno, libc } from "../libc.ts";
import { openPacketSocketIO, statusFlags, type AfPacketIO, type Arena, type AttachedBackend, type PacketIOOptions, type PacketSocket } from "./socket.ts";

// A signal storm must not keep a send loop spinning.
const MAX_SEND_INTERRUPTS = 8;

/** A PacketIO on `options.ifname` that receives with recvmmsg and sends with sendmmsg. */
export function openMmsgIO(options: PacketIOOptions): AfPacketIO {
  return openPacketSocketIO(options, { usesReceiveBuffer: true, attach: attachMessages });
}

function attachMessages(socket: PacketSocket): AttachedBackend {
  return {
    receive: receiveWithMessages(socket),
    sender: { name: "sendmmsg", send: sendWithMessages(socket.fd, socket.arena, socket.stats) },
    // Nothing but the socket, which openPacketSocketIO closes.
    release(): void {},
  };
}

/** recvmmsg into the arena's rx slots, one mmsghdr with a sockaddr_ll and an auxdata buffer each. */
function receiveWithMessages(socket: PacketSocket): () => number {
  const { fd, ifname, arena, stats } = socket;
  const { rx, words, bytes } = arena;
  const batchSize = rx.slotCount;
  const rxMessages = arena.rxMessagesPointer;
  return function receive(): number {
    // MSG_WAITFORONE: wait (up to SO_RCVTIMEO) for the first frame only, then take what is queued.
    const received = libc.recvmmsg(fd, rxMessages, batchSize, MSG_WAITFORONE, null);
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
  };
}

/** The sendmmsg send path: the tx batch's frames, each from its own slot or the rx slot it names. */
function sendWithMessages(fd: number, arena: Arena, stats: PacketIOStats): () => number {
  const { tx, words, rxFrameAddresses, txFrameAddresses } = arena;
  const rxSlots = tx.rxSlots;
  const txMessages = arena.txMessagePointers;
  return function send(): number {
    const total = tx.count;
    for (let slot = 0; slot < total; slot++) {
      const iovec = arena.txIovecs + slot * IOVEC.size;
      const rxSlot = rxSlots[slot]!;
      const addresses = rxSlot >= 0 ? rxFrameAddresses : txFrameAddresses;
      const address = (rxSlot >= 0 ? rxSlot : slot) * 2;
      words[(iovec + IOVEC.base) >> 2] = addresses[address]!;
      words[((iovec + IOVEC.base) >> 2) + 1] = addresses[address + 1]!;
      words[(iovec + IOVEC.len) >> 2] = tx.lengths[slot]!;
    }
    let next = 0;
    let accepted = 0;
    let interrupts = 0;
    while (next < total) {
      const sent = libc.sendmmsg(fd, txMessages[next]!, total - next, 0);
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
  };
}
