// A non-blocking TCP connect from a chosen source address, through libc.
//
// Why FFI: Bun 1.3.3's node:net `connect({ localAddress })` and `Bun.connect` ignore the local
// address (checked: the peer sees the default source), and a health check must come from the
// network's `real` address so the target answers bng's own address. Upstream added the option
// later (oven-sh/bun#23464); until the pinned Bun has it, this is the way.
//
// The socket is bound before connect with IP_BIND_ADDRESS_NO_PORT, so the kernel picks the
// source port at connect time per destination and hundreds of checks never exhaust ports.
// A finished check is closed with SO_LINGER {on, 0}: the kernel sends RST and keeps no
// TIME_WAIT entry, so a check every second per target leaves nothing behind on either side.
import { EINPROGRESS } from "./errors.ts";
import { describeErrno, pollNow, sockaddrIn } from "./inet-socket.ts";
import {
  AF_INET,
  IP_BIND_ADDRESS_NO_PORT,
  IPPROTO_IP,
  POLLERR,
  POLLHUP,
  POLLOUT,
  SO_ERROR,
  SO_LINGER,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOCKADDR_IN,
  SOL_SOCKET,
} from "./layout.ts";
import { lastErrno, libc } from "./libc.ts";


/** What a connect attempt knows right after it was started. */
export type ConnectStart =
  | { status: "connected"; fd: number }
  | { status: "in-progress"; fd: number }
  | { status: "failed"; cause: string };

/** poll(2) events that mean a pending connect has finished, one way or the other. */
export const CONNECT_DONE_EVENTS = POLLOUT | POLLERR | POLLHUP;

const noPortOption = new Int32Array([1]);
const lingerAbort = new Int32Array([1, 0]);
const socketError = new Int32Array(1);
const socketErrorLength = new Uint32Array(1);

/** Starts a non-blocking connect from `source` (port chosen by the kernel) to `destination:port`. */
export function startConnect(source: number, destination: number, port: number): ConnectStart {
  const fd = libc.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return { status: "failed", cause: `socket: ${describeErrno(lastErrno())}` };
  libc.setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, noPortOption, 4);
  if (libc.bind(fd, sockaddrIn(source, 0), SOCKADDR_IN.size) !== 0) {
    const cause = describeErrno(lastErrno());
    libc.close(fd);
    return { status: "failed", cause };
  }
  if (libc.connect(fd, sockaddrIn(destination, port), SOCKADDR_IN.size) === 0) return { status: "connected", fd };
  const errno = lastErrno();
  if (errno === EINPROGRESS) {
    // On loopback and veth the handshake often completes inside connect(2) itself.
    const ready = pollNow(fd, CONNECT_DONE_EVENTS);
    if (ready === 0) return { status: "in-progress", fd };
    const outcome = connectOutcome(fd);
    if (outcome === undefined) return { status: "connected", fd };
    abortConnection(fd);
    return { status: "failed", cause: outcome };
  }
  libc.close(fd);
  return { status: "failed", cause: describeErrno(errno) };
}

/** After poll reported the socket done: undefined when connected, else the failure cause. */
export function connectOutcome(fd: number): string | undefined {
  socketError[0] = 0;
  socketErrorLength[0] = 4;
  if (libc.getsockopt(fd, SOL_SOCKET, SO_ERROR, socketError, socketErrorLength) !== 0) {
    return `getsockopt: ${describeErrno(lastErrno())}`;
  }
  return socketError[0] === 0 ? undefined : describeErrno(socketError[0]!);
}

/** Closes with RST (no FIN handshake, no TIME_WAIT); also cancels a connect still in progress. */
export function abortConnection(fd: number): void {
  libc.setsockopt(fd, SOL_SOCKET, SO_LINGER, lingerAbort, 8);
  libc.close(fd);
}
