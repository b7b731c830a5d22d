// Whether a UDP port is taken, for `bng agent`: Bun's UDP sockets bind with address reuse, so a
// second agent on the same port would bind without complaint and share the queries with the
// first. A bind of a socket without reuse to every address fails when any socket has the port.
import { EADDRINUSE } from "./errors.ts";
import { sockaddrIn } from "./inet-socket.ts";
import { AF_INET, SOCK_CLOEXEC, SOCK_DGRAM, SOCKADDR_IN } from "./layout.ts";
import { check, lastErrno, libc } from "./libc.ts";

/** True when some socket of this network namespace is bound to UDP `port` already. */
export function udpPortTaken(port: number): boolean {
  const fd = check(libc.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket(AF_INET, SOCK_DGRAM)");
  const bound = libc.bind(fd, sockaddrIn(0, port), SOCKADDR_IN.size) === 0;
  const errno = bound ? 0 : lastErrno();
  libc.close(fd);
  return errno === EADDRINUSE;
}
