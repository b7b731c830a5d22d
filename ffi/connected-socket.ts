// Bytes over a connected socket without ever waiting, for the health checks that talk to the
// target (`http` over a connection from ffi/tcp-connect.ts, `agent` over UDP): send(2) and
// recv(2) as sendto/recvfrom without an address, and a UDP socket bound to the `real` address
// and connected to the agent, so the kernel delivers only the agent's datagrams to it and
// reports its ICMP port unreachable as ECONNREFUSED.
import { describeErrno, sockaddrIn } from "./inet-socket.ts";
import { AF_INET, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOCKADDR_IN } from "./layout.ts";
import { lastErrno, libc } from "./libc.ts";

/** MSG_NOSIGNAL (Linux): a send to a connection the peer reset returns EPIPE instead of raising SIGPIPE. */
const MSG_NOSIGNAL = 0x4000;

/** Sends the first `length` bytes of `bytes`; returns how many the kernel took, or -errno (-EAGAIN: its buffer is full). */
export function sendOnSocket(fd: number, bytes: Uint8Array, length: number): number {
  const sent = Number(libc.sendto(fd, bytes, length, MSG_DONTWAIT | MSG_NOSIGNAL, null, 0));
  return sent >= 0 ? sent : -lastErrno();
}

/** Receives into `buffer`; returns the byte count (0: the peer closed the stream), or -errno (-EAGAIN: nothing yet). */
export function receiveOnSocket(fd: number, buffer: Uint8Array): number {
  const received = Number(libc.recvfrom(fd, buffer, buffer.length, MSG_DONTWAIT, null, null));
  return received >= 0 ? received : -lastErrno();
}

/** A non-blocking UDP socket bound to `source` (port chosen by the kernel) and connected to `destination:port`, or why not. */
export function connectDatagram(source: number, destination: number, port: number): { fd: number } | { cause: string } {
  const fd = libc.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return { cause: `socket: ${describeErrno(lastErrno())}` };
  if (libc.bind(fd, sockaddrIn(source, 0), SOCKADDR_IN.size) !== 0 || libc.connect(fd, sockaddrIn(destination, port), SOCKADDR_IN.size) !== 0) {
    const cause = describeErrno(lastErrno());
    libc.close(fd);
    return { cause };
  }
  return { fd };
}

export function closeSocket(fd: number): void {
  libc.close(fd);
}
