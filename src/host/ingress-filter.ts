// The kernel's copy of VIP frames, dropped where it enters the stack. bng reads VIP frames
// through a packet tap, and the kernel receives each one too: with no address for the VIP it
// looks up a route, allocates an unreachable route entry, drops the frame and frees the entry
// later (a few hundred nanoseconds a frame on the box's CPUs), and with IPv4 forwarding on it
// would route a second copy to the target. A netdev-family nftables table drops IPv4 frames
// to the VIPs at the interface's ingress hook, which the kernel runs after the packet taps:
// bng's socket still gets every frame, the IP stack gets none of them.
//
// Dependency: the `nft` command (nftables) and a kernel with nf_tables' netdev family. Both are
// optional: without them bng works the same and the kernel keeps doing the useless work.
import { ipToString } from "../config/model.ts";
import { runCommand } from "./command.ts";

export class IngressFilterError extends Error {}

/** The nftables table bng owns for `ifname` (netdev family). */
export function filterTableName(ifname: string): string {
  return `bng_${ifname.replace(/[^A-Za-z0-9_]/g, "_")}`;
}

/**
 * An nft script that makes the table exactly "drop IPv4 frames to `vips` arriving on `ifname`",
 * whatever was there before (a table left by a bng that was killed), in one transaction.
 */
export function vipFilterScript(ifname: string, vips: readonly number[]): string {
  const table = `netdev ${filterTableName(ifname)}`;
  const rule = vips.length > 0 ? `\t\tip daddr { ${[...new Set(vips)].map(ipToString).join(", ")} } counter drop\n` : "";
  return (
    `table ${table}\n` +
    `delete table ${table}\n` +
    `table ${table} {\n` +
    `\tchain vip_ingress {\n` +
    `\t\ttype filter hook ingress device "${ifname}" priority filter; policy accept;\n` +
    rule +
    `\t}\n` +
    `}\n`
  );
}

function runNft(script: string): void {
  let result;
  try {
    result = runCommand(["nft", "-f", "-"], script);
  } catch (error) {
    throw new IngressFilterError(`${(error as Error).message}: install nftables`);
  }
  if (result.exitCode !== 0) {
    const message = result.stderr.trim().split("\n")[0] || `nft exited with ${result.exitCode}`;
    throw new IngressFilterError(message.replace(/^Error: /, ""));
  }
}

export interface VipIngressFilter {
  readonly table: string;
  /** Makes the table drop exactly `vips`; throws IngressFilterError with nft's reason. */
  apply(vips: readonly number[]): void;
  /** Deletes the table if bng made it; throws IngressFilterError naming the command to run. */
  remove(): void;
}

export function vipIngressFilter(ifname: string): VipIngressFilter {
  const table = filterTableName(ifname);
  let applied = false;
  return {
    table,
    apply(vips) {
      runNft(vipFilterScript(ifname, vips));
      applied = true;
    },
    remove() {
      if (!applied) return;
      deleteFilterTable(ifname);
      applied = false;
    },
  };
}

/** Deletes bng's table for `ifname` if there is one (also a killed bng's); throws IngressFilterError naming the command to run. */
export function deleteFilterTable(ifname: string): void {
  const table = filterTableName(ifname);
  try {
    // "table" first: deleting a table someone already removed is then not an error.
    runNft(`table netdev ${table}\ndelete table netdev ${table}\n`);
  } catch (error) {
    throw new IngressFilterError(`${(error as Error).message}; run: nft delete table netdev ${table}`);
  }
}
