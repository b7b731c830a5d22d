// What the kernel hands the workers follows the VIPs of the tables published: on the AF_PACKET
// engines each worker's socket filter (src/bpf/classic.ts), on xdp the XDP program's VIP map
// (the workers' packet sockets are then their ARP taps, which take ARP only).
import { encodeProgram, MAX_FILTER_VIPS, vipFrameFilter } from "../bpf/classic.ts";
import type { ForwardingTable } from "../dataplane/table.ts";
import type { XdpRedirect } from "../host/xdp-redirect.ts";
import type { Logger } from "../log/logger.ts";

export interface VipFollower {
  /** The socket filter the workers' packet sockets start with. */
  readonly socketFilter: Uint8Array;
  /** Follows `table`'s VIPs: a new socket filter for the workers, or undefined when they keep theirs. */
  follow(table: ForwardingTable): Uint8Array | undefined;
}

/** `table`'s VIPs when they differ from those of the table before (`last`), else undefined. */
function changedVips(table: ForwardingTable, last: { key: string }): number[] | undefined {
  const vips = table.vips();
  const key = vips.join(",");
  if (key === last.key) return undefined;
  last.key = key;
  return vips;
}

function vipSocketFilter(vips: readonly number[], logger: Logger): Uint8Array {
  if (vips.length > MAX_FILTER_VIPS) {
    logger.warn("socket-filter-every-ipv4", { vips: vips.length, limit: MAX_FILTER_VIPS, effect: "the kernel hands bng every IPv4 frame, not only the VIPs'" });
  }
  return encodeProgram(vipFrameFilter(vips));
}

/** The AF_PACKET engines: the workers' socket filter is `first`'s VIPs', and a new one goes out when they change. */
export function followWithSocketFilters(first: ForwardingTable, logger: Logger): VipFollower {
  const last = { key: "" };
  return {
    socketFilter: vipSocketFilter(changedVips(first, last)!, logger),
    follow: (table) => {
      const vips = changedVips(table, last);
      return vips === undefined ? undefined : vipSocketFilter(vips, logger);
    },
  };
}

/** xdp: the program's VIP map holds `first`'s VIPs, then each table's; the ARP taps keep their filter. */
export function followWithXdp(first: ForwardingTable, redirect: Pick<XdpRedirect, "setVips">, logger: Logger): VipFollower {
  const last = { key: "" };
  redirect.setVips(changedVips(first, last)!);
  return {
    socketFilter: encodeProgram(vipFrameFilter([])),
    follow: (table) => {
      const vips = changedVips(table, last);
      if (vips === undefined) return undefined;
      try {
        redirect.setVips(vips);
      } catch (error) {
        logger.error("xdp-vips-failed", { error: (error as Error).message, effect: "the XDP program keeps redirecting the VIPs it had" });
        last.key = "";
      }
      return undefined;
    },
  };
}
