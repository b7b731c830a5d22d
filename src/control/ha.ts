// The `vrrp` block at run time: this node's VRRP role (vrrp-node.ts) and its session sync with
// the peer (session-sync.ts), tied to the daemon. The daemon asks it which MAC to answer with
// and whether to stay silent, and tells it when its health changes; it tells the daemon when
// the role changes.
import { ipToString, isActive, type Config, type VrrpDef } from "../config/model.ts";
import type { SessionTable } from "../dataplane/sessions.ts";
import type { SyncJournal } from "../ha/sync-journal.ts";
import { virtualMac } from "../ha/vrrp-advert.ts";
import type { TransitionReason } from "../ha/vrrp-machine.ts";
import type { ProbeAttempt, Probes } from "../health/probe.ts";
import type { Logger } from "../log/logger.ts";
import type { RunPlan } from "./plan.ts";
import { vrrpVips } from "./reload-plan.ts";
import { SessionSync, type SyncStatus, type SyncTransport } from "./session-sync.ts";
import { VrrpNode, type VrrpLink, type VrrpStatus } from "./vrrp-node.ts";

/** What the daemon's status shows of the pair. */
export interface HaStatus extends VrrpStatus {
  sync: SyncStatus | null;
}

export interface HaOptions {
  vrrp: VrrpDef;
  /** The running configuration (a reload may replace it). */
  config: () => Config;
  plan: RunPlan;
  /** The adverts' link (a filtered socket holding the virtual MAC, and the frame sender). */
  link: VrrpLink;
  /** UDP to the sync peer, when `sync` is set. */
  openSyncTransport(realAddress: number, peerAddress: number): SyncTransport;
  sessions: SessionTable;
  journals: readonly SyncJournal[];
  now: () => number;
  logger: Logger;
  /** The role changed: the daemon publishes a table (answering or silent) and announces the VIPs on becoming master. */
  onRoleChange(master: boolean, reason: TransitionReason): void;
  /** Tracking's inputs: whether the interface's link is up, and whether a target can take traffic (up, MAC known, enabled). */
  linkUp(): boolean;
  usable(targetId: number): boolean;
  /** The health checks' ping, for the `gateway { ping I,T }` tracking. */
  ping: Probes["ping"];
}

/** How often the pair runs and how often it looks whether this node can still serve. */
const TRACKING_MS = 1000;

/** This node's real address on the VRRP network (the config check guarantees the network runs). */
function realAddressOf(plan: RunPlan, networkId: number): number {
  const network = plan.networks.find((candidate) => candidate.network.id === networkId);
  if (!network) throw new Error(`vrrp: network ${networkId} has no real address in the running plan`);
  return network.real;
}

export class HighAvailability {
  readonly node: VrrpNode;
  readonly sync: SessionSync | undefined;
  readonly virtualMac: Uint8Array;
  private master = false;
  /** `gateway { ping }`: when it last answered, and the attempt under way. */
  private gatewayAnsweredMs = 0;
  private gatewayAttempt: ProbeAttempt | undefined;
  /** A one-shot timer at the machine's next deadline when it falls between two ticks. */
  private deadlineTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: HaOptions) {
    const { vrrp, plan, logger, now } = options;
    const realAddress = realAddressOf(plan, vrrp.networkId);
    this.virtualMac = virtualMac(vrrp.vrid);
    this.node = new VrrpNode(
      { vrid: vrrp.vrid, priority: vrrp.priority, intervalS: vrrp.intervalS, preempt: vrrp.preempt, realAddress, vips: vrrpVips(options.config(), vrrp.networkId), syncPeer: vrrp.sync !== undefined },
      options.link,
      {
        becomeMaster: (reason) => this.setRole(true, reason),
        becomeBackup: (reason) => this.setRole(false, reason),
      },
      logger,
      now,
    );
    if (vrrp.sync !== undefined) {
      this.sync = new SessionSync({
        realAddress,
        peerAddress: vrrp.sync,
        key: vrrp.key,
        transport: options.openSyncTransport(realAddress, vrrp.sync),
        sessions: options.sessions,
        journals: options.journals,
        now,
        timeoutOf: (serverId) => this.options.config().servers.find((server) => server.id === serverId)?.sessionTimeoutS,
        isMaster: () => this.master,
        onTableReceived: () => this.node.setSyncReady(true),
        logger,
      });
      logger.info("sync-peer", { peer: ipToString(vrrp.sync), authenticated: vrrp.key !== undefined });
    }
  }

  get isMaster(): boolean {
    return this.master;
  }

  /** Starts advertising; on the control timer: adverts in and out and the sync stream every tick, tracking each second. */
  start(timer: { every(job: string, intervalMs: number, run: () => void): void }, tickMs: number): void {
    this.node.start();
    timer.every("vrrp", tickMs, () => {
      this.node.poll();
      this.sync?.tick();
      this.armDeadline(tickMs);
    });
    timer.every("vrrp-tracking", TRACKING_MS, () => this.track());
    const gateway = this.trackedGateway();
    if (gateway) {
      this.gatewayAnsweredMs = this.options.now();
      timer.every("vrrp-gateway", gateway.intervalS * 1000, () => this.pingGateway(gateway.address, gateway.source));
    }
  }

  /** The gateway tracking pings, from the real address of its network: `gateway { ping I,T }`. */
  private trackedGateway(): { address: number; source: number; intervalS: number; timeoutS: number } | undefined {
    const gateway = this.options.config().gateway;
    if (!gateway?.ping) return undefined;
    const network = this.options.plan.networks.find(({ network }) => ((gateway.ipaddr & network.mask) >>> 0) === network.addr) ?? this.options.plan.networks[0];
    return network && { address: gateway.ipaddr, source: network.real, intervalS: gateway.ping.intervalS, timeoutS: gateway.ping.timeoutS };
  }

  private pingGateway(address: number, source: number): void {
    this.gatewayAttempt?.cancel();
    this.gatewayAttempt = this.options.ping(source, address, (result) => {
      this.gatewayAttempt = undefined;
      if (result.ok) this.gatewayAnsweredMs = this.options.now();
    });
  }

  /**
   * Tracking: a node whose interface is down, or whose VIPs have no usable target on any of
   * their servers, is unhealthy and lets a healthier peer serve.
   */
  private track(): void {
    const { vrrp, linkUp, usable } = this.options;
    if (!linkUp()) return this.node.setHealthy(false, "interface down");
    const gateway = this.trackedGateway();
    if (gateway && this.options.now() - this.gatewayAnsweredMs > gateway.timeoutS * 1000) {
      return this.node.setHealthy(false, `gateway ${ipToString(gateway.address)} answers no ping for ${gateway.timeoutS} s`);
    }
    const config = this.options.config();
    const vips = new Set(vrrpVips(config, vrrp.networkId));
    const serving = config.servers.some((server) => isActive(server) && vips.has(server.ipaddr) && [...server.targets, ...server.backup].some(usable));
    this.node.setHealthy(serving, serving ? "a usable target" : "no usable target");
  }

  status(): HaStatus {
    return { ...this.node.status(), sync: this.sync?.status() ?? null };
  }

  /** The machine's timers fire on time, not up to a tick late: a takeover is that much sooner. */
  private armDeadline(tickMs: number): void {
    const delayMs = this.node.machine.nextDeadlineMs() - this.options.now();
    if (delayMs >= tickMs) return;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => this.node.poll(), Math.max(0, delayMs));
  }

  /** Steps down (a priority-0 advert: the peer takes over at once) and closes the sockets. */
  stop(): void {
    clearTimeout(this.deadlineTimer);
    this.gatewayAttempt?.cancel();
    this.node.stop();
    this.sync?.close();
  }

  private setRole(master: boolean, reason: TransitionReason): void {
    if (this.master === master) return;
    this.master = master;
    this.options.onRoleChange(master, reason);
  }
}
