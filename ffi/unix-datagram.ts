// A connected unix datagram socket for the syslog output (/dev/log): node, Bun and Deno have
// no AF_UNIX SOCK_DGRAM sockets, so this is socket(2), connect(2) and send through libc.
import { SyscallError } from "./errors.ts";
import { errnoName } from "../src/errno.ts";
import { AF_UNIX, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_DGRAM, SOCKADDR_UN } from "./layout.ts";
import { lastErrno, libc } from "./libc.ts";

/** sun_path holds 108 bytes with its terminating NUL. */
const MAX_PATH_BYTES = SOCKADDR_UN.size - SOCKADDR_UN.path - 1;

export interface UnixDatagramSocket {
  readonly path: string;
  /** Sends one datagram without waiting; undefined when sent, else the errno's name ("EAGAIN", "ECONNREFUSED"). */
  send(datagram: Uint8Array): string | undefined;
  close(): void;
}

/** Connects to the datagram socket at `path`; throws a SyscallError naming it when it cannot (ENOENT: nothing listens there). */
export function connectUnixDatagram(path: string): UnixDatagramSocket {
  const pathBytes = new TextEncoder().encode(path);
  if (pathBytes.length === 0 || pathBytes.length > MAX_PATH_BYTES || pathBytes.includes(0)) {
    throw new Error(`'${path}' cannot name a unix socket (1 to ${MAX_PATH_BYTES} bytes, no NUL)`);
  }
  const address = new Uint8Array(SOCKADDR_UN.size);
  new DataView(address.buffer).setUint16(SOCKADDR_UN.family, AF_UNIX, true);
  address.set(pathBytes, SOCKADDR_UN.path);
  const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new SyscallError("socket(AF_UNIX, SOCK_DGRAM)", lastErrno());
  if (libc.connect(fd, address, SOCKADDR_UN.path + pathBytes.length + 1) < 0) {
    const errno = lastErrno();
    libc.close(fd);
    throw new SyscallError(`connect(${path})`, errno);
  }
  let closed = false;
  return {
    path,
    send(datagram: Uint8Array): string | undefined {
      if (closed) return "EBADF";
      // MSG_DONTWAIT: a syslog daemon that stops reading must not stall bng's control thread.
      const sent = libc.sendto(fd, datagram, datagram.length, MSG_DONTWAIT, null, 0);
      return Number(sent) < 0 ? errnoName(lastErrno()) : undefined;
    },
    close(): void {
      if (closed) return;
      closed = true;
      libc.close(fd);
    },
  };
}
