// errno numbers and an error that tells the operator what to do about a failed call. The
// numbers are Linux's generic ones (identical on x86-64 and arm64, the two targets bng's struct
// layouts support); their names are in src/errno.ts.
import { errnoName } from "../src/errno.ts";


export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const ENXIO = 6;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const EMSGSIZE = 90;
export const ENOPROTOOPT = 92;
export const EOPNOTSUPP = 95;
export const EAFNOSUPPORT = 97;
export const EADDRINUSE = 98;
export const EADDRNOTAVAIL = 99;
export const ENETDOWN = 100;
export const ENETUNREACH = 101;
export const ECONNRESET = 104;
export const ENOBUFS = 105;
export const ETIMEDOUT = 110;
export const ECONNREFUSED = 111;
export const EHOSTUNREACH = 113;
export const EINPROGRESS = 115;


// What an operator can do when a call fails with this errno and the call site has nothing
// more specific to say.
const GENERIC_ADVICE: Readonly<Record<number, string>> = {
  1: "operation not permitted; bng needs root or CAP_NET_RAW and CAP_NET_ADMIN",
  13: "permission denied; bng needs root or CAP_NET_RAW and CAP_NET_ADMIN",
  4: "interrupted by a signal; retry",
  6: "no such device or address; check the interface name with `ip link`",
  9: "the socket is already closed (internal error)",
  11: "temporarily unavailable (queue full or timeout); retry",
  12: "out of kernel memory",
  19: "no such interface; see `ip link`",
  22: "the kernel rejected an argument (an older kernel without this option?)",
  23: "the system is out of file descriptors",
  24: "bng is out of file descriptors; raise `ulimit -n`",
  90: "frame longer than the interface MTU allows",
  92: "this kernel does not support the socket option (PACKET_IGNORE_OUTGOING needs Linux 4.20+)",
  95: "operation not supported on this interface or kernel",
  97: "the kernel lacks AF_PACKET support (CONFIG_PACKET); try `modprobe af_packet`",
  98: "already in use",
  100: "the interface is down; bring it up with `ip link set IFNAME up`",
  105: "the kernel ran out of buffer space (transmit queue full or memory short)",
};

export function genericAdvice(errno: number): string {
  return GENERIC_ADVICE[errno] ?? "unexpected error from the kernel";
}

/**
 * A failed system call, named with its arguments, the errno name and what the operator can
 * do, e.g. `socket(AF_PACKET) failed: EPERM — bng needs root or CAP_NET_RAW`.
 */
export class SyscallError extends Error {
  override readonly name = "SyscallError";
  /** The errno name, e.g. "ENODEV" (same convention as Node's `err.code`). */
  readonly code: string;

  constructor(
    /** The call as the operator should read it, e.g. `bind(AF_PACKET, eth0)`. */
    readonly call: string,
    readonly errno: number,
    readonly advice: string = genericAdvice(errno),
  ) {
    const code = errnoName(errno);
    super(`${call} failed: ${code} — ${advice}`);
    this.code = code;
  }
}
