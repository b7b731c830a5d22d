// IPv4 forwarding as the kernel sees it. bng receives VIP frames through a packet tap, so the
// kernel gets a copy of each too: with forwarding on for the receiving interface it would route
// that copy as well, and the target would see every packet twice. bng's ingress filter
// (ingress-filter.ts) takes those copies away; where it cannot be installed, bng warns.
import { readFileSync } from "node:fs";
import { assertInterfaceName } from "../../ffi/interface.ts";

export interface Ipv4Forwarding {
  /** net.ipv4.ip_forward */
  readonly global: boolean;
  /** net.ipv4.conf.IFNAME.forwarding — what decides for frames received on IFNAME. */
  readonly onInterface: boolean;
}

function readFlag(path: string): boolean {
  const text = readFileSync(path, "utf8").trim();
  if (text !== "0" && text !== "1") throw new Error(`unexpected content ${JSON.stringify(text)} in ${path}`);
  return text === "1";
}

export function readIpv4Forwarding(ifname: string, procSys = "/proc/sys"): Ipv4Forwarding {
  assertInterfaceName(ifname);
  return {
    global: readFlag(`${procSys}/net/ipv4/ip_forward`),
    onInterface: readFlag(`${procSys}/net/ipv4/conf/${ifname}/forwarding`),
  };
}

/** An operator-facing warning when the kernel would route VIP frames too, else undefined. */
export function forwardingWarning(ifname: string, forwarding: Ipv4Forwarding): string | undefined {
  if (!forwarding.onInterface) return undefined;
  return `IPv4 forwarding is on for ${ifname}: the kernel will route a second copy of every VIP frame; turn it off with \`sysctl -w net.ipv4.conf.${ifname}.forwarding=0\``;
}

/**
 * Whether `ifname`'s link is up as the kernel reports it (/sys/class/net/IFNAME/operstate):
 * "up", or "unknown" for drivers that do not report one (dummy, some tunnels). "down" and
 * "lowerlayerdown" (a veth whose peer is down) are not; an interface gone is not either.
 */
export function linkOperational(ifname: string, sysClassNet = "/sys/class/net"): boolean {
  assertInterfaceName(ifname);
  try {
    const state = readFileSync(`${sysClassNet}/${ifname}/operstate`, "utf8").trim();
    return state === "up" || state === "unknown";
  } catch {
    return false;
  }
}
