// Which interface holds an IPv4 address: the health checks that send their own frames (`arp`,
// `dsrcheck`) go out of the interface of the `real` address they come from. SIOCGIFCONF lists
// every IPv4 address of the calling process's network namespace with its interface.
import { AF_INET, IFNAMSIZ, IFREQ, SOCK_CLOEXEC, SOCK_DGRAM, SOCKADDR_IN } from "./layout.ts";
import { check, libc } from "./libc.ts";
import { native } from "./native.ts";

/** SIOCGIFCONF (linux/sockios.h). */
const SIOCGIFCONF = 0x8912;
/** struct ifconf on LP64: int ifc_len @0, 4 bytes of padding, char *ifc_buf @8. */
const IFCONF = { size: 16, len: 0, buffer: 8 } as const;
const FIRST_CAPACITY = 64;
const MOST_ENTRIES = 65536;

function readInterfaceAddresses(capacity: number): { entries: Uint8Array; count: number } {
  // An explicit ArrayBuffer: its pointer is written into ifconf and must stay where it is.
  const entries = new Uint8Array(new ArrayBuffer(capacity * IFREQ.size));
  const ifconf = new Uint8Array(new ArrayBuffer(IFCONF.size));
  const view = new DataView(ifconf.buffer);
  view.setInt32(IFCONF.len, entries.length, true);
  view.setBigUint64(IFCONF.buffer, BigInt(native.addressOf(entries)), true);
  const fd = check(libc.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket(AF_INET, SOCK_DGRAM)");
  try {
    check(libc.ioctl(fd, SIOCGIFCONF, ifconf), "ioctl(SIOCGIFCONF)");
  } finally {
    libc.close(fd);
  }
  return { entries, count: view.getInt32(IFCONF.len, true) / IFREQ.size };
}

/** The name of the interface that holds `address` (a uint32), or undefined when none does. */
export function interfaceWithAddress(address: number): string | undefined {
  let capacity = FIRST_CAPACITY;
  let listed = readInterfaceAddresses(capacity);
  // A full buffer may have been too small: the kernel fills what fits and says nothing more.
  while (listed.count === capacity && capacity < MOST_ENTRIES) {
    capacity *= 4;
    listed = readInterfaceAddresses(capacity);
  }
  const { entries, count } = listed;
  const view = new DataView(entries.buffer);
  for (let index = 0; index < count; index++) {
    const at = index * IFREQ.size;
    if (view.getUint16(at + IFREQ.union + SOCKADDR_IN.family, true) !== AF_INET) continue;
    if (view.getUint32(at + IFREQ.union + SOCKADDR_IN.addr, false) !== address >>> 0) continue;
    const nameBytes = entries.subarray(at + IFREQ.name, at + IFREQ.name + IFNAMSIZ);
    const end = nameBytes.indexOf(0);
    const label = new TextDecoder().decode(nameBytes.subarray(0, end < 0 ? IFNAMSIZ : end));
    // An address with a label ("eth0:1") belongs to the interface before the colon.
    return label.split(":", 1)[0];
  }
  return undefined;
}
