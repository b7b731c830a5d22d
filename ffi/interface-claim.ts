// One bng per interface: two would both answer ARP for the VIPs and forward on the segment, and
// the first to stop would take the other's nftables table and addresses with it. The claim is
// an abstract unix socket named after the interface, bound for bng's lifetime. Abstract names
// belong to the network namespace (so eth0 in another namespace is another interface) and
// vanish with the process, also on SIGKILL, so a crashed bng never blocks its successor.
import { EADDRINUSE, SyscallError } from "./errors.ts";
import { assertInterfaceName } from "./interface.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM, SOCKADDR_UN } from "./layout.ts";
import { check, lastErrno, libc } from "./libc.ts";

export class InterfaceInUseError extends Error {}

export interface InterfaceClaim {
  release(): void;
}

/** Claims `ifname` for this process; throws, naming the interface, when another bng holds it. */
export function claimInterface(ifname: string): InterfaceClaim {
  assertInterfaceName(ifname);
  // `ss -xl` shows it as @bng-interface:eth0.
  const name = `bng-interface:${ifname}`;
  const path = new TextEncoder().encode(name);
  // sun_path starts with a NUL byte (abstract); the name's length, not a terminator, ends it.
  const address = new Uint8Array(SOCKADDR_UN.size);
  new DataView(address.buffer).setUint16(SOCKADDR_UN.family, AF_UNIX, true);
  address.set(path, SOCKADDR_UN.path + 1);
  const fd = check(libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket(AF_UNIX) for the interface claim");
  if (libc.bind(fd, address, SOCKADDR_UN.path + 1 + path.length) < 0) {
    const errno = lastErrno();
    libc.close(fd);
    if (errno === EADDRINUSE) throw new InterfaceInUseError(`another bng is already running on ${ifname} in this network namespace; stop it first (two would both answer for its VIPs)`);
    throw new SyscallError(`bind(@${name})`, errno);
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      libc.close(fd);
    },
  };
}
