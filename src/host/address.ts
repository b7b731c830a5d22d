// The network's `real` address: bng's own address on the interface, owned by the kernel so
// health checks are ordinary sockets bound to it. `bng run` adds it when the interface lacks
// it and removes it again on exit. Which addresses bng added is recorded in its host-state
// file (host-state.ts), so that the next start after a crash takes over or removes them, while
// an address the operator put there is never touched.
//
// Dependency: iproute2's `ip` command (`ip -j addr show`, `ip addr add`, `ip addr del`).
// It is on every distribution bng targets, its errors are the kernel's own wording, and an
// operator can run the very command an error message names.
import { ipToString } from "../config/model.ts";
import { runIp as runIpCommand, type IpResult } from "./ip-command.ts";

export class AddressError extends Error {}

export interface EnsuredAddress {
  /** "172.16.1.252/24" */
  readonly cidr: string;
  readonly ifname: string;
  /**
   * "added" by this call; "adopted": already there, added by an earlier bng that was killed
   * before it could remove it (its host-state file says so); "present": already there and not
   * bng's (the operator's).
   */
  readonly origin: "added" | "adopted" | "present";
  /**
   * Removes the address (if still there) when bng owns it (added or adopted); a no-op for a
   * present one, and when called twice. Throws an AddressError naming the command to run when
   * removal fails.
   */
  undo(): void;
}

function runIp(args: string[]): IpResult {
  return runIpCommand(args, (message) => new AddressError(message));
}

interface IpAddrShow {
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}

/** Whether `ifname` holds `ip` (with any prefix length); undefined with the reason when it can't be read. */
function interfaceHas(ifname: string, ip: string): { has: boolean } | { failure: string } {
  const shown = runIp(["-j", "-4", "addr", "show", "dev", ifname]);
  if (!shown.ok) return { failure: shown.error };
  const links = JSON.parse(shown.stdout || "[]") as IpAddrShow[];
  return { has: links.some((link) => (link.addr_info ?? []).some((info) => info.local === ip)) };
}

function advice(error: string): string {
  if (/not permitted|permission denied/i.test(error)) return "run as root (CAP_NET_ADMIN) or";
  if (/does not exist|cannot find device/i.test(error)) return "check the interface name, then";
  return "fix the cause, or";
}

/**
 * Adds `ip/prefixLen` to `ifname` unless it is there already. An address already there is
 * bng's to remove at exit only when `leftByBng` (a killed bng added it); see EnsuredAddress.
 * `beforeAdding` runs just before the address is added, so bng can record that it is about to.
 */
export function ensureAddress(ifname: string, ip: number, prefixLen: number, leftByBng: boolean, beforeAdding: () => void): EnsuredAddress {
  const address = ipToString(ip);
  const cidr = `${address}/${prefixLen}`;
  const addCommand = `ip addr add ${cidr} dev ${ifname}`;
  const present = interfaceHas(ifname, address);
  if ("failure" in present) {
    throw new AddressError(`cannot add ${cidr} to ${ifname}: ${present.failure} — ${advice(present.failure)} run: ${addCommand}`);
  }
  if (present.has && !leftByBng) return { cidr, ifname, origin: "present", undo() {} };
  if (!present.has) {
    beforeAdding();
    const added = runIp(["addr", "add", cidr, "dev", ifname]);
    if (!added.ok) throw new AddressError(`cannot add ${cidr} to ${ifname}: ${added.error} — ${advice(added.error)} run: ${addCommand}`);
  }
  let undone = false;
  return {
    cidr,
    ifname,
    origin: present.has ? "adopted" : "added",
    undo() {
      if (undone) return;
      removeAddress(ifname, cidr);
      undone = true;
    },
  };
}

/** Removes `cidr` from `ifname` if it is there; throws an AddressError naming the command to run when it cannot. */
export function removeAddress(ifname: string, cidr: string): void {
  const still = interfaceHas(ifname, cidr.split("/")[0]!);
  // Someone removed the address or the interface already: nothing is left to remove.
  if ("failure" in still || !still.has) return;
  const removed = runIp(["addr", "del", cidr, "dev", ifname]);
  if (!removed.ok) {
    throw new AddressError(`cannot remove ${cidr} from ${ifname}: ${removed.error} — ${advice(removed.error)} run: ip addr del ${cidr} dev ${ifname}`);
  }
}
