// Everything `bng run` changes on the box, in one place (like Seesaw's single component that
// touches the kernel's network configuration): the `real` addresses, receive coalescing, the
// nftables table that drops the kernel's copy of VIP frames, the XDP program of `set io xdp`,
// the frame sender for ARP. Each
// change is recorded in the host-state file before it is made (host-state.ts), logged, and
// undone at exit; what a killed bng left is undone at the next start.
import { ensureAddress, removeAddress, type EnsuredAddress } from "./address.ts";
import { openHostStateRecord, readLeftChanges, type HostChanges, type HostStateRecord } from "./host-state.ts";
import { openFrameSender } from "../../ffi/frame-sender.ts";
import { deleteFilterTable, vipIngressFilter } from "./ingress-filter.ts";
import { interfaceIndex, interfaceIndexLookup, interfaceMac } from "../../ffi/interface.ts";
import { formatMac } from "../dataplane/frame.ts";
import { claimInterface } from "../../ffi/interface-claim.ts";
import { disableReceiveCoalescing, turnCoalescingOn, type CoalescingChange } from "./offload.ts";
import { routeAnnouncer, withdrawRoute } from "./route-announce.ts";
import { attachXdpRedirect, detachLeftXdpLink, type XdpRedirect } from "./xdp-redirect.ts";
import { XDP_PROGRAM_NAME } from "../bpf/xdp.ts";
import { forwardingWarning, linkOperational, readIpv4Forwarding } from "./sysctl.ts";
import { ipToString } from "../config/model.ts";
import { dottedAddress } from "../config/values.ts";
import type { LogFields, Logger } from "../log/logger.ts";

/** The box as the daemon uses it; tests substitute an in-memory one. */
export interface HostNetwork {
  readonly ifname: string;
  readonly ownMac: Uint8Array;
  /** Sends one whole Ethernet frame out of the interface (ARP requests, gratuitous ARP). */
  sendFrame(frame: Uint8Array, length: number): void;
  /** False once the interface bng runs on is gone (deleted, or renamed and replaced). */
  stillPresent(): boolean;
  /** Whether the interface's link is up (its operational state), for VRRP tracking. */
  linkUp(): boolean;
  /**
   * Has the kernel drop its own copy of IPv4 frames to `vips` as they arrive (bng's tap still
   * sees them). Best effort: where it cannot, the reason is logged and nothing else changes.
   */
  dropKernelCopies(vips: readonly number[]): void;
  /**
   * `set announce`: makes bng's routing table hold a /32 route for exactly `vips` (those whose
   * server has a usable target). A no-op without `set announce`. Failures are logged once per cause.
   */
  announce(vips: readonly number[]): void;
  /** The VIPs announced now (empty without `set announce`). */
  announced(): readonly number[];
  /**
   * `set io xdp`: attaches bng's XDP program for `workers` workers (one per receive queue),
   * recorded in the host-state file; `close()` of the result, or of this, detaches it. Throws
   * where XDP cannot run (kernel, driver, privileges, a queue count other than `workers`).
   */
  redirectToXdp(workers: number): XdpRedirect;
  /** Puts back what open changed. */
  close(): void;
}

/** What bng runs on: the interface, and its own (`real`) address on each network there. */
export interface HostSetup {
  readonly ifname: string;
  readonly networks: readonly { readonly real: number; readonly prefixLength: number }[];
  /** `set announce TABLE`: the routing table bng keeps the VIPs' routes in, if any. */
  readonly announceTable?: number | undefined;
}

/**
 * Claims the interface, repairs what a killed bng left on it (its host-state file under
 * `runDir`), then makes bng's changes, recording each in that file before it is made.
 */
export function openHostNetwork(plan: HostSetup, logger: Logger, runDir: string): HostNetwork {
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
  const state = openState(runDir, ifname, logger);
  const adoptable = state ? repairLeftChanges(state, plan, ifindex, logger) : new Set<string>();
  // Records a change before it is made; a record that cannot be written is said once and the change still made.
  let stateFailure: string | undefined;
  const note = (change: (changes: HostChanges) => void) => {
    if (!state) return;
    try {
      state.record(change);
    } catch (error) {
      const message = (error as Error).message;
      if (message !== stateFailure) logger.warn("host-state-failed", { path: state.path, error: message, effect: "if bng is killed, the next start cannot undo this change" });
      stateFailure = message;
    }
  };
  note((changes) => changes.addressesAdded.push(...adoptable));
  const addresses: EnsuredAddress[] = [];
  let coalescing: CoalescingChange | undefined;
  let sender: ReturnType<typeof openFrameSender> | undefined;
  const filter = vipIngressFilter(ifname);
  let filterFailure: string | undefined;
  const announcer = plan.announceTable === undefined ? undefined : routeAnnouncer(ifname, plan.announceTable);
  let announceFailure: string | undefined;
  // Only a concern while the kernel gets VIP frames, i.e. when the ingress filter is unavailable.
  let forwarding: string | undefined;
  let xdp: XdpRedirect | undefined;
  const detachXdp = () => {
    const attached = xdp;
    if (!attached) return;
    xdp = undefined;
    attached.close();
    logger.info("xdp-detached", { interface: ifname, link: attached.linkId });
  };
  const close = () => {
    let complete = true;
    // Every undo is tried; one that fails is logged and leaves the record in place for the next start.
    const attempt = (undo: () => void, onFailure: (message: string) => void) => {
      try {
        undo();
      } catch (error) {
        complete = false;
        onFailure((error as Error).message);
      }
    };
    sender?.close();
    detachXdp();
    if (announcer) {
      const routes = announcer;
      attempt(
        () => {
          const withdrawn = [...routes.announced].map(ipToString);
          routes.set([], () => {});
          if (withdrawn.length > 0) logger.info("routes-withdrawn", { table: routes.table, vips: withdrawn.join(",") });
        },
        (message) => logger.error("route-withdraw-failed", { table: routes.table, error: message }),
      );
    }
    attempt(
      () => filter.remove(),
      (message) => logger.error("vip-filter-remove-failed", { interface: ifname, error: message }),
    );
    const change = coalescing;
    if (change) {
      attempt(
        () => {
          const restored = change.restore();
          if (restored.length > 0) logger.info("offload-restored", { interface: ifname, features: restored.join(",") });
        },
        (message) => logger.error("offload-restore-failed", { interface: ifname, error: message }),
      );
    }
    for (const address of addresses.reverse()) {
      attempt(
        () => {
          address.undo();
          if (address.origin !== "present") logger.info("address-removed", { interface: ifname, address: address.cidr });
        },
        (message) => logger.error("address-remove-failed", { interface: ifname, address: address.cidr, error: message }),
      );
    }
    if (complete && state) {
      attempt(
        () => state.remove(),
        (message) => logger.error("host-state-remove-failed", { path: state.path, error: message }),
      );
    }
    // Last: a successor may start only once everything above is undone.
    claim.release();
  };
  try {
    for (const { real, prefixLength } of plan.networks) {
      const cidr = `${ipToString(real)}/${prefixLength}`;
      const address = ensureAddress(ifname, real, prefixLength, adoptable.has(cidr), () => note((changes) => void (changes.addressesAdded.includes(cidr) || changes.addressesAdded.push(cidr))));
      addresses.push(address);
      logger.info(`address-${address.origin}`, { interface: ifname, address: address.cidr });
    }
    coalescing = disableReceiveCoalescing(ifname, (features) => note((changes) => changes.offloadTurnedOff.push(...features)));
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
      if (!state?.changes.filterTable) note((changes) => (changes.filterTable = true));
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
  const announce = (vips: readonly number[]) => {
    if (!announcer) return;
    const before = new Set(announcer.announced);
    try {
      announcer.set(vips, (cidr) => note((changes) => void changes.routes.push({ table: announcer.table, cidr })));
      announceFailure = undefined;
    } catch (error) {
      const message = (error as Error).message;
      if (message !== announceFailure) logger.error("route-announce-failed", { table: announcer.table, error: message, effect: "the router is not told which VIPs this node serves" });
      announceFailure = message;
    }
    const after = announcer.announced;
    const added = [...after].filter((vip) => !before.has(vip));
    const removed = [...before].filter((vip) => !after.has(vip));
    if (added.length > 0) logger.info("routes-announced", { table: announcer.table, vips: added.map(ipToString).join(",") });
    if (removed.length > 0) logger.info("routes-withdrawn", { table: announcer.table, vips: removed.map(ipToString).join(",") });
    // What is no longer announced need not be repaired after a crash.
    if (removed.length > 0) note((changes) => void (changes.routes = changes.routes.filter((route) => after.has(dottedAddress(route.cidr.split("/")[0]!) ?? -1))));
  };
  return {
    ifname,
    ownMac,
    sendFrame: (frame, length) => openSender.send(frame, length),
    stillPresent,
    linkUp: () => linkOperational(ifname),
    dropKernelCopies,
    announce,
    announced: () => (announcer ? [...announcer.announced] : []),
    redirectToXdp(workers: number): XdpRedirect {
      if (xdp) throw new Error(`bng's XDP program is already attached to ${ifname}`);
      const attached = attachXdpRedirect(ifname, ifindex, workers);
      xdp = attached;
      note((changes) => void (changes.xdpLinks = [...(changes.xdpLinks ?? []), attached.linkId]));
      logger.info("xdp-attached", { interface: ifname, link: attached.linkId, program: XDP_PROGRAM_NAME, queues: workers });
      return { socketMap: attached.socketMap, linkId: attached.linkId, setVips: (vips) => attached.setVips(vips), close: detachXdp };
    },
    close,
  };
}

/** The record of this bng's changes, or undefined (said in the log) when the run directory cannot hold it. */
function openState(runDir: string, ifname: string, logger: Logger): HostStateRecord | undefined {
  try {
    return openHostStateRecord(runDir, ifname);
  } catch (error) {
    logger.warn("host-state-unavailable", { directory: runDir, error: (error as Error).message, effect: "if bng is killed, the next start cannot undo its changes to the box" });
    return undefined;
  }
}

/**
 * Undoes what a killed bng recorded in the state file: receive coalescing back on, its nftables
 * table deleted, its addresses removed, but for those this start needs as well, which it takes
 * over (returned). Each failure is logged and the rest goes on.
 */
function repairLeftChanges(state: HostStateRecord, plan: HostSetup, ifindex: number, logger: Logger): Set<string> {
  const adoptable = new Set<string>();
  let left;
  try {
    left = readLeftChanges(state.path);
  } catch (error) {
    logger.error("host-state-unreadable", { path: state.path, error: (error as Error).message });
    return adoptable;
  }
  if (left === undefined) return adoptable;
  const { ifname } = plan;
  const { changes } = left;
  const needed = new Set(plan.networks.map(({ real, prefixLength }) => `${ipToString(real)}/${prefixLength}`));
  const repaired: LogFields = { interface: ifname, pid: left.pid };
  const attempt = (what: string, repair: () => void) => {
    try {
      repair();
    } catch (error) {
      logger.error("host-repair-failed", { interface: ifname, what, error: (error as Error).message });
    }
  };
  // The kernel detached each when that bng's descriptors closed; one that outlived them is detached here.
  const links: string[] = [];
  for (const link of changes.xdpLinks ?? []) attempt(`XDP link ${link}`, () => links.push(`${link}:${detachLeftXdpLink(link, ifindex) ? "detached" : "gone"}`));
  if (links.length > 0) repaired.xdp_links = links.join(",");
  if (changes.offloadTurnedOff.length > 0) attempt("offload", () => (repaired.offload_restored = turnCoalescingOn(ifname, changes.offloadTurnedOff).join(",")));
  if (changes.filterTable) attempt("vip filter", () => (deleteFilterTable(ifname), (repaired.filter_table = "deleted")));
  const withdrawn: string[] = [];
  for (const route of changes.routes) attempt(`route ${route.cidr} in table ${route.table}`, () => (withdrawRoute(route.table, route.cidr, ifname), withdrawn.push(route.cidr)));
  if (withdrawn.length > 0) repaired.routes_withdrawn = withdrawn.join(",");
  const removed: string[] = [];
  for (const cidr of changes.addressesAdded) {
    if (needed.has(cidr)) adoptable.add(cidr);
    else attempt(`address ${cidr}`, () => (removeAddress(ifname, cidr), removed.push(cidr)));
  }
  if (removed.length > 0) repaired.addresses_removed = removed.join(",");
  if (adoptable.size > 0) repaired.addresses_kept = [...adoptable].join(",");
  logger.info("host-repaired", repaired);
  return adoptable;
}
