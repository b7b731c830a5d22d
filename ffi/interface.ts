// What bng needs to know about its interface: index (to bind), MAC (source of forwarded
// frames, ARP answers) and MTU (slot size). Read in the namespace of the calling process.
import { ENODEV, ENXIO, SyscallError } from "./errors.ts";
import { AF_INET, IFNAMSIZ, IFREQ, SIOCGIFHWADDR, SIOCGIFMTU, SOCK_CLOEXEC, SOCK_DGRAM } from "./layout.ts";
import { check, cString, lastErrno, libc } from "./libc.ts";

const ARPHRD_ETHER = 1;

/** Throws unless `ifname` is a name the kernel could hold (1 to 15 bytes, no '/' or space). */
export function assertInterfaceName(ifname: string): void {
  const length = new TextEncoder().encode(ifname).length;
  if (length === 0 || length >= IFNAMSIZ || /[\s/:\0]/.test(ifname)) {
    throw new Error(`invalid interface name ${JSON.stringify(ifname)}: 1 to ${IFNAMSIZ - 1} bytes, no '/', ':' or spaces`);
  }
}

function noSuchInterface(ifname: string) {
  return (errno: number) =>
    errno === ENODEV || errno === ENXIO ? `no such interface ${ifname}; see \`ip link\`` : undefined;
}

export function interfaceIndex(ifname: string): number {
  const index = interfaceIndexLookup(ifname)();
  if (index === 0) {
    const errno = lastErrno();
    throw new SyscallError(`if_nametoindex(${ifname})`, errno, noSuchInterface(ifname)(errno));
  }
  return index;
}

/**
 * The index of `ifname` now, or 0 when there is no such interface, for a caller that asks again
 * and again (bng's check that its interface still exists): the name is encoded once, so a call
 * allocates nothing.
 */
export function interfaceIndexLookup(ifname: string): () => number {
  assertInterfaceName(ifname);
  const name = cString(ifname);
  return () => libc.if_nametoindex(name);
}

function withIfreq<T>(ifname: string, read: (fd: number, ifreq: Uint8Array) => T): T {
  assertInterfaceName(ifname);
  const fd = check(libc.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket(AF_INET, SOCK_DGRAM)");
  try {
    const ifreq = new Uint8Array(IFREQ.size);
    ifreq.set(new TextEncoder().encode(ifname), IFREQ.name);
    return read(fd, ifreq);
  } finally {
    libc.close(fd);
  }
}

export function interfaceMac(ifname: string): Uint8Array {
  return withIfreq(ifname, (fd, ifreq) => {
    check(libc.ioctl(fd, SIOCGIFHWADDR, ifreq), `ioctl(${ifname}, SIOCGIFHWADDR)`, noSuchInterface(ifname));
    const family = ifreq[IFREQ.union]! | (ifreq[IFREQ.union + 1]! << 8);
    if (family !== ARPHRD_ETHER) {
      throw new Error(`interface ${ifname} is not Ethernet (hardware type ${family}); bng balances Ethernet frames`);
    }
    return ifreq.slice(IFREQ.hwaddrData, IFREQ.hwaddrData + 6);
  });
}

export function interfaceMtu(ifname: string): number {
  return withIfreq(ifname, (fd, ifreq) => {
    check(libc.ioctl(fd, SIOCGIFMTU, ifreq), `ioctl(${ifname}, SIOCGIFMTU)`, noSuchInterface(ifname));
    return new DataView(ifreq.buffer).getInt32(IFREQ.union, true);
  });
}

