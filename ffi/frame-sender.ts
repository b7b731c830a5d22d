// A send-only AF_PACKET socket for the control thread's own frames (ARP requests, gratuitous
// ARP): never bound, so it receives nothing and costs nothing to keep open.
import { SyscallError } from "./errors.ts";
import { interfaceIndex } from "./interface.ts";
import { MSG_DONTWAIT, SOCKADDR_LL } from "./layout.ts";
import { lastErrno, libc } from "./libc.ts";
import { assertIntegerIn, openUnboundPacketSocket, sockaddrLl } from "./packet-io/socket.ts";

export interface FrameSender {
  readonly ifname: string;
  /** Sends the first `length` bytes of `frame` (a whole Ethernet frame) out of the interface. */
  send(frame: Uint8Array, length: number): void;
  close(): void;
}

export function openFrameSender(ifname: string): FrameSender {
  const ifindex = interfaceIndex(ifname);
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
