// The network's `real` address: bng's own address on the interface, owned by the kernel so
// health checks are ordinary sockets bound to it. `bng run` adds it when the interface lacks
// it and removes it again on exit.
//
// An address bng added is marked by a file named after bng's control socket, which only one
// running bng can hold. A bng that was killed (SIGKILL, a crash) leaves address and marker
// behind; the next one on that socket finds both, takes the address over and removes it at its
// exit, while an address the operator (or another bng) put there, with no marker, is left alone.
//
// Dependency: iproute2's `ip` command (`ip -j addr show`, `ip addr add`, `ip addr del`).
// It is on every distribution bng targets, its errors are the kernel's own wording, and an
// operator can run the very command an error message names.
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { ipToString } from "../config/model.ts";
import { runCommand } from "./command.ts";

export class AddressError extends Error {}

export interface EnsuredAddress {
  /** "172.16.1.252/24" */
  readonly cidr: string;
  readonly ifname: string;
  /**
   * "added" by this call; "adopted": already there, and marked as added by an earlier bng that
   * did not get to remove it; "present": already there and not bng's (the operator's).
   */
  readonly origin: "added" | "adopted" | "present";
  /** Why the address could not be marked as bng's (it is still used, and removed at exit). */
  readonly markFailure?: string;
  /**
   * Removes the address (if still there) and its marker when bng owns it (added or adopted);
   * a no-op for a present one, and when called twice. Throws an AddressError naming the
   * command to run when removal fails.
   */
  undo(): void;
}

/** The marker file of an address the bng with control socket `socketPath` added. */
export function addressMarkerPath(socketPath: string, ifname: string, cidr: string): string {
  return `${socketPath}.address-${ifname}-${cidr.replace("/", "_")}`;
}

interface CommandResult {
  ok: boolean;
  stdout: string;
  /** The kernel's complaint without iproute2's prefixes, e.g. "Operation not permitted". */
  error: string;
}

function runIp(args: string[]): CommandResult {
  let result;
  try {
    result = runCommand(["ip", ...args]);
  } catch (error) {
    throw new AddressError(`${(error as Error).message} — bng needs iproute2 installed and "ip" in PATH`);
  }
  const stderr = result.stderr.trim();
  const error = stderr
    .split("\n")
    .map((line) => line.replace(/^(RTNETLINK answers|Error): /, "").trim())
    .filter((line) => line !== "")
    .join("; ");
  return { ok: result.exitCode === 0, stdout: result.stdout, error: error || `ip exited with ${result.exitCode}` };
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
 * Adds `ip/prefixLen` to `ifname` unless it is there already, marking it as added by the bng
 * whose control socket is `socketPath`; see EnsuredAddress.
 */
export function ensureAddress(ifname: string, ip: number, prefixLen: number, socketPath: string): EnsuredAddress {
  const address = ipToString(ip);
  const cidr = `${address}/${prefixLen}`;
  const marker = addressMarkerPath(socketPath, ifname, cidr);
  const addCommand = `ip addr add ${cidr} dev ${ifname}`;
  const present = interfaceHas(ifname, address);
  if ("failure" in present) {
    throw new AddressError(`cannot add ${cidr} to ${ifname}: ${present.failure} — ${advice(present.failure)} run: ${addCommand}`);
  }
  if (present.has && !existsSync(marker)) return { cidr, ifname, origin: "present", undo() {} };

  let markFailure: string | undefined;
  if (!present.has) {
    const added = runIp(["addr", "add", cidr, "dev", ifname]);
    if (!added.ok) throw new AddressError(`cannot add ${cidr} to ${ifname}: ${added.error} — ${advice(added.error)} run: ${addCommand}`);
    try {
      mkdirSync(dirname(marker), { recursive: true });
      writeFileSync(marker, `${cidr} on ${ifname}, added by bng (pid ${process.pid})\n`);
    } catch (error) {
      markFailure = (error as Error).message;
    }
  }

  let undone = false;
  return {
    cidr,
    ifname,
    origin: present.has ? "adopted" : "added",
    ...(markFailure === undefined ? {} : { markFailure }),
    undo() {
      if (undone) return;
      const still = interfaceHas(ifname, address);
      // Someone removed the address or the interface already: nothing of ours is left.
      if ("failure" in still || !still.has) {
        rmSync(marker, { force: true });
        undone = true;
        return;
      }
      const removed = runIp(["addr", "del", cidr, "dev", ifname]);
      if (!removed.ok) {
        throw new AddressError(
          `cannot remove ${cidr} from ${ifname}: ${removed.error} — ${advice(removed.error)} run: ip addr del ${cidr} dev ${ifname}`,
        );
      }
      rmSync(marker, { force: true });
      undone = true;
    },
  };
}
