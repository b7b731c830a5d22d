// The XDP program of `set io xdp` on bng's interface (src/bpf/xdp.ts): its two maps, the
// program loaded through bpf(2), and the link that attaches it in the driver. The link is the
// attachment's lifetime: the kernel detaches the program when the link's last descriptor
// closes, so every exit of bng (a crash and SIGKILL too) takes it away; bng's descriptors are
// close-on-exec, so no child inherits one. The host-state file still records the link's id, and
// the next start detaches a link of bng's left on the interface (`detachLeftXdpLink`), should one
// have outlived its bng all the same (pinned by hand, or held by a process that got its
// descriptor).
import { readdirSync } from "node:fs";
import { attachXdpLink, createMap, deleteMapElement, detachLink, linkById, linkInfo, loadProgram, updateMapElement } from "../../ffi/bpf.ts";
import { assertInterfaceName } from "../../ffi/interface.ts";
import { BPF_LINK_TYPE_XDP, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_XSKMAP, BPF_PROG_TYPE_XDP, BPF_XDP } from "../../ffi/layout.ts";
import { libc } from "../../ffi/libc.ts";
import { XDP_PROGRAM_NAME, xdpRedirectProgram } from "../bpf/xdp.ts";
import { ID_LIMIT } from "../dataplane/table-layout.ts";

export interface XdpRedirect {
  /** The socket map (BPF_MAP_TYPE_XSKMAP): each worker puts its AF_XDP socket at its queue's index. */
  readonly socketMap: number;
  /** The link's id (`bpftool link`), recorded in the host-state file. */
  readonly linkId: number;
  /** Makes the program redirect exactly the frames of `vips` (and the ARP requests for them). */
  setVips(vips: readonly number[]): void;
  /** Detaches the program and frees the maps; a second call does nothing. */
  close(): void;
}

/** The receive queues of `ifname` (its `rx-N` entries in sysfs): one AF_XDP socket each at most. */
export function receiveQueueCount(ifname: string, sysfs = "/sys/class/net"): number {
  assertInterfaceName(ifname);
  return readdirSync(`${sysfs}/${ifname}/queues`).filter((name) => /^rx-\d+$/.test(name)).length;
}

/** A VIP as its map key: the address in network byte order, as the frame carries it. */
function vipKey(vip: number): Uint8Array {
  return Uint8Array.of(vip >>> 24, (vip >>> 16) & 255, (vip >>> 8) & 255, vip & 255);
}

/**
 * Loads bng's XDP program with a socket map of one entry per worker and attaches it to `ifname`
 * (`ifindex`) in the driver. An AF_XDP socket takes the frames of one receive queue, so there
 * must be a worker for each queue the interface has: an Error says so otherwise. Throws
 * SyscallError where the kernel refuses (no AF_XDP maps, no privilege, a driver without native
 * XDP, another program attached), having freed what it took.
 */
export function attachXdpRedirect(ifname: string, ifindex: number, workers: number): XdpRedirect {
  const queues = receiveQueueCount(ifname);
  if (queues !== workers) {
    throw new Error(
      `set io xdp runs one worker per receive queue, and ${ifname} has ${queues} while set workers is ${workers}: ` +
        `set workers ${queues}, or give ${ifname} ${workers} queues (ethtool -L ${ifname} combined ${workers}, or rx ${workers} tx ${workers})`,
    );
  }
  const descriptors: number[] = [];
  try {
    const vipMap = createMap(BPF_MAP_TYPE_HASH, 4, 1, ID_LIMIT, "bng_vips");
    descriptors.push(vipMap);
    const socketMap = createMap(BPF_MAP_TYPE_XSKMAP, 4, 4, queues, "bng_sockets");
    descriptors.push(socketMap);
    const program = loadProgram(BPF_PROG_TYPE_XDP, xdpRedirectProgram({ vips: vipMap, sockets: socketMap }), XDP_PROGRAM_NAME, BPF_XDP);
    descriptors.push(program);
    const link = attachXdpLink(program, ifindex, ifname);
    descriptors.push(link);
    const linkId = linkInfo(link).id;
    const present = new Set<number>();
    const member = Uint8Array.of(1);
    let closed = false;
    return {
      socketMap,
      linkId,
      setVips(vips: readonly number[]): void {
        const wanted = new Set(vips);
        // New ones first: a VIP moving in is redirected before an old one stops being.
        for (const vip of wanted) {
          if (present.has(vip)) continue;
          updateMapElement(vipMap, vipKey(vip), member, "bng_vips");
          present.add(vip);
        }
        for (const vip of present) {
          if (wanted.has(vip)) continue;
          deleteMapElement(vipMap, vipKey(vip), "bng_vips");
          present.delete(vip);
        }
      },
      close(): void {
        if (closed) return;
        closed = true;
        // The link first: from then on every frame goes to the kernel.
        for (const fd of descriptors.reverse()) libc.close(fd);
      },
    };
  } catch (error) {
    for (const fd of descriptors.reverse()) libc.close(fd);
    throw error;
  }
}

/**
 * Detaches link `linkId` if it is still bng's XDP program on interface `ifindex` (a bng that was
 * killed recorded it); true when it did, false when the link is gone (the kernel detached it when
 * that bng's descriptors closed) or is something else now.
 */
export function detachLeftXdpLink(linkId: number, ifindex: number): boolean {
  const fd = linkById(linkId);
  if (fd === undefined) return false;
  try {
    const info = linkInfo(fd);
    if (info.type !== BPF_LINK_TYPE_XDP || info.ifindex !== ifindex || info.programName !== XDP_PROGRAM_NAME) return false;
    detachLink(fd, `link ${linkId}`);
    return true;
  } finally {
    libc.close(fd);
  }
}
