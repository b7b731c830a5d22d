// Everything `bng run` changes on the box, in one place (like Seesaw's single component that
// touches the kernel's network configuration): the `real` addresses, receive coalescing, the
// nftables table that drops the kernel's copy of VIP frames, the frame sender for ARP. Each
// change is logged and undone at exit.
import { ensureAddress, type EnsuredAddress } from "./address.ts";
import { openFrameSender } from "../../ffi/frame-sender.ts";
import { vipIngressFilter } from "./ingress-filter.ts";
import { interfaceIndex, interfaceIndexLookup, interfaceMac } from "../../ffi/interface.ts";
import { formatMac } from "../dataplane/frame.ts";
import { claimInterface } from "../../ffi/interface-claim.ts";
import { disableReceiveCoalescing, type CoalescingChange } from "./offload.ts";
import { forwardingWarning, readIpv4Forwarding } from "./sysctl.ts";
import { ipToString } from "../config/model.ts";
import type { Logger } from "../log/logger.ts";

/** The box as the daemon uses it; tests substitute an in-memory one. */
export interface HostNetwork {
  readonly ifname: string;
  readonly ownMac: Uint8Array;
  /** Sends one whole Ethernet frame out of the interface (ARP requests, gratuitous ARP). */
  sendFrame(frame: Uint8Array, length: number): void;
  /** False once the interface bng runs on is gone (deleted, or renamed and replaced). */
  stillPresent(): boolean;
  /**
   * Has the kernel drop its own copy of IPv4 frames to `vips` as they arrive (bng's tap still
   * sees them). Best effort: where it cannot, the reason is logged and nothing else changes.
   */
  dropKernelCopies(vips: readonly number[]): void;
  /** Puts back what open changed. */
  close(): void;
}

/** What bng runs on: the interface, and its own (`real`) address on each network there. */
export interface HostSetup {
  readonly ifname: string;
  readonly networks: readonly { readonly real: number; readonly prefixLength: number }[];
}

/** `socketPath`: bng's control socket, after which the addresses it adds are marked as its own. */
export function openHostNetwork(plan: HostSetup, logger: Logger, socketPath: string): HostNetwork {
  const { ifname } = plan;
  // Before anything changes: a second bng on the interface must not touch the first one's setup.
  const claim = claimInterface(ifname);
  let ownMac: Uint8Array;
  let ifindex: number;
  let currentIndex: () => number;
  try {
    ownMac = interfaceMac(ifname);
    ifindex = interfaceIndex(ifname);
    currentIndex = interfaceIndexLookup(ifname);
  } catch (error) {
    claim.release();
    throw error;
  }
  const addresses: EnsuredAddress[] = [];
  let coalescing: CoalescingChange | undefined;
  let sender: ReturnType<typeof openFrameSender> | undefined;
  const filter = vipIngressFilter(ifname);
  let filterFailure: string | undefined;
  // Only a concern while the kernel gets VIP frames, i.e. when the ingress filter is unavailable.
  let forwarding: string | undefined;
  const close = () => {
    sender?.close();
    try {
      filter.remove();
    } catch (error) {
      logger.error("vip-filter-remove-failed", { interface: ifname, error: (error as Error).message });
    }
    if (coalescing) {
      try {
        const restored = coalescing.restore();
        if (restored.length > 0) logger.info("offload-restored", { interface: ifname, features: restored.join(",") });
      } catch (error) {
        logger.error("offload-restore-failed", { interface: ifname, error: (error as Error).message });
      }
    }
    for (const address of addresses.reverse()) {
      try {
        address.undo();
        if (address.origin !== "present") logger.info("address-removed", { interface: ifname, address: address.cidr });
      } catch (error) {
        logger.error("address-remove-failed", { interface: ifname, address: address.cidr, error: (error as Error).message });
      }
    }
    // Last: a successor may start only once everything above is undone.
    claim.release();
  };
  try {
    for (const { real, prefixLength } of plan.networks) {
      const address = ensureAddress(ifname, real, prefixLength, socketPath);
      addresses.push(address);
      logger.info(`address-${address.origin}`, { interface: ifname, address: address.cidr });
      if (address.markFailure !== undefined) {
        logger.warn("address-mark-failed", { interface: ifname, address: address.cidr, error: address.markFailure, effect: "a bng started after this one is killed leaves the address in place" });
      }
    }
    coalescing = disableReceiveCoalescing(ifname);
    if (coalescing.turnedOff.length > 0) logger.info("offload-disabled", { interface: ifname, features: coalescing.turnedOff.join(",") });
    if (coalescing.stillOn.length > 0) {
      logger.warn("offload-still-on", { interface: ifname, features: coalescing.stillOn.join(","), effect: "coalesced frames longer than a slot are dropped" });
    }
    forwarding = forwardingWarning(ifname, readIpv4Forwarding(ifname));
    sender = openFrameSender(ifname);
  } catch (error) {
    close();
    throw error;
  }
  logger.info("interface", { interface: ifname, mac: formatMac(ownMac) });
  const openSender = sender;
  const stillPresent = () => currentIndex() === ifindex;
  const dropKernelCopies = (vips: readonly number[]) => {
    try {
      filter.apply(vips);
      filterFailure = undefined;
      logger.info("vip-filter", { interface: ifname, table: `netdev ${filter.table}`, vips: vips.map(ipToString).join(",") || "none" });
    } catch (error) {
      const message = (error as Error).message;
      // Said once, not at every reload that meets the same cause.
      if (message !== filterFailure) {
        logger.warn("vip-filter-unavailable", { interface: ifname, error: message, effect: "the kernel also receives every VIP frame and drops it itself" });
        if (forwarding) logger.warn("ip-forwarding-on", { interface: ifname, message: forwarding });
      }
      filterFailure = message;
    }
  };
  return { ifname, ownMac, sendFrame: (frame, length) => openSender.send(frame, length), stillPresent, dropKernelCopies, close };
}
