// What the health checks' IPv4 sockets share (icmp.ts, tcp-connect.ts): the address structure,
// a poll that never waits, and a short cause for a socket error.
import { EACCES, EADDRNOTAVAIL, ECONNREFUSED, ECONNRESET, EHOSTUNREACH, ENETUNREACH, EPERM, ETIMEDOUT } from "./errors.ts";
import { AF_INET, POLLFD, SOCKADDR_IN } from "./layout.ts";
import { libc } from "./libc.ts";

const SHORT_CAUSES: ReadonlyMap<number, string> = new Map([
  [ECONNREFUSED, "refused"],
  [ETIMEDOUT, "timeout"],
  [EHOSTUNREACH, "host unreachable"],
  [ENETUNREACH, "network unreachable"],
  [EADDRNOTAVAIL, "source address not local"],
  [ECONNRESET, "reset"],
  [EPERM, "blocked by a local firewall"],
  [EACCES, "permission denied"],
]);

/** A short operator-facing cause for a socket error ("refused", "host unreachable", ...). */
export function describeErrno(errno: number): string {
  return SHORT_CAUSES.get(errno) ?? String(libc.strerror(errno)).toLowerCase();
}

/** struct sockaddr_in for an IPv4 address held as a uint32 (host order) and a port. */
export function sockaddrIn(address: number, port: number): Uint8Array {
  const bytes = new Uint8Array(SOCKADDR_IN.size);
  const view = new DataView(bytes.buffer);
  view.setUint16(SOCKADDR_IN.family, AF_INET, true);
  view.setUint16(SOCKADDR_IN.port, port, false);
  view.setUint32(SOCKADDR_IN.addr, address >>> 0, false);
  return bytes;
}

const pollFd = new Uint8Array(POLLFD.size);
const pollFdView = new DataView(pollFd.buffer);

/** poll(2) one descriptor without waiting; returns revents (0 when not ready). */
export function pollNow(fd: number, events: number): number {
  pollFdView.setInt32(POLLFD.fd, fd, true);
  pollFdView.setInt16(POLLFD.events, events, true);
  pollFdView.setInt16(POLLFD.revents, 0, true);
  return libc.poll(pollFd, 1, 0) > 0 ? pollFdView.getInt16(POLLFD.revents, true) : 0;
}

/** poll(2) `count` descriptors of a struct pollfd array without waiting; returns how many are ready. */
export function pollAll(pollFds: Uint8Array, count: number): number {
  return libc.poll(pollFds, count, 0);
}
