// This node's side of a VRRP pair: the state machine of src/ha/vrrp-machine.ts driven by the
// control thread's timer, fed the adverts its link reads and sending the adverts it asks for.
// Becoming master or backup is handed to the daemon (answer the VIPs or stay silent); every
// transition is logged with its reason, and every received advert counted by its check result.
import { ipToString } from "../config/model.ts";
import { ADVERT_RESULTS, ADVERT_ACCEPTED_OWNER_ADDRESS_MISMATCH, ADVERT_ADDRESS_MISMATCH, advertAccepted, advertFrameLength, checkVrrpAdvert, createAdvertFields, createVrrpRouter, MAX_ADVERT_FRAME_LEN, writeVrrpAdvert, type VrrpRouter } from "../ha/vrrp-advert.ts";
import { STATE_MASTER, VrrpMachine, type TransitionReason, type VrrpAction, type VrrpStateName } from "../ha/vrrp-machine.ts";
import type { Logger } from "../log/logger.ts";

/** How this node takes part: the `vrrp` block and the addresses it stands for. */
export interface VrrpSettings {
  vrid: number;
  priority: number;
  intervalS: number;
  preempt: boolean;
  /** This node's `real` address on the VRRP network: the adverts' source and the tie-break. */
  realAddress: number;
  /** The VIPs of the servers on the VRRP network. */
  vips: readonly number[];
  /** Whether a sync peer is configured: preemption then waits for the session table. */
  syncPeer: boolean;
}

/** Where adverts come from and go to: the control thread's filtered socket and frame sender. */
export interface VrrpLink {
  /** The next waiting frame into `buffer`; its length, or 0 when none waits. Never blocks. */
  receive(buffer: Uint8Array): number;
  send(frame: Uint8Array, length: number): void;
  close(): void;
}

/** What the daemon does when this node's role changes. */
export interface VrrpRoles {
  becomeMaster(reason: TransitionReason): void;
  becomeBackup(reason: TransitionReason): void;
}

/**
 * Frames read per poll at most (about a millisecond of checks): a poll drains what a flood put in
 * the socket's buffer since the last one, so the genuine adverts behind it are read in time, and
 * still never runs for long.
 */
const MAX_ADVERTS_PER_POLL = 4096;

export interface VrrpStatus {
  state: VrrpStateName;
  vrid: number;
  priority: number;
  effective_priority: number;
  /** The current master's real address (this node's when master), null before one is known. */
  master: string | null;
  transitions: number;
  last_transition: TransitionReason | null;
  last_transition_s_ago: number | null;
  adverts_sent: number;
  /** Received adverts by check result (ADVERT_RESULTS), those with a count only. */
  adverts_received: Record<string, number>;
}

export class VrrpNode {
  readonly machine: VrrpMachine;
  private readonly router: VrrpRouter;
  private readonly fields = createAdvertFields();
  private readonly received = new Float64Array(ADVERT_RESULTS.length);
  private readonly frame = new Uint8Array(Math.max(MAX_ADVERT_FRAME_LEN, 2048));
  private readonly outgoing: Uint8Array;
  private ipId = 0;
  private sent = 0;
  private running = false;
  private mismatchLoggedAtMs = -Infinity;

  constructor(
    private readonly settings: VrrpSettings,
    private readonly link: VrrpLink,
    private readonly roles: VrrpRoles,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {
    this.router = createVrrpRouter({ vrid: settings.vrid, intervalS: settings.intervalS, realAddress: settings.realAddress, addresses: settings.vips });
    this.machine = new VrrpMachine({ priority: settings.priority, intervalS: settings.intervalS, preempt: settings.preempt, realAddress: settings.realAddress, syncPeer: settings.syncPeer });
    this.outgoing = new Uint8Array(advertFrameLength(settings.vips.length));
  }

  get isMaster(): boolean {
    return this.machine.state === STATE_MASTER;
  }

  start(): void {
    this.running = true;
    this.logger.info("vrrp-started", { vrid: this.settings.vrid, priority: this.settings.priority, interval_s: this.settings.intervalS, preempt: this.settings.preempt, vips: this.settings.vips.map(ipToString).join(",") });
    this.apply(this.machine.step(this.now(), { kind: "startup" }));
  }

  /**
   * Reads the adverts waiting, feeds the accepted ones to the machine and fires its timers when
   * due. Called from the control thread's timer; allocates nothing unless something happens.
   */
  poll(): void {
    if (!this.running) return;
    for (let read = 0; read < MAX_ADVERTS_PER_POLL; read++) {
      const length = this.link.receive(this.frame);
      if (length === 0) break;
      const result = checkVrrpAdvert(this.frame, 0, length, this.router, this.fields);
      this.received[result] = (this.received[result] ?? 0) + 1;
      if (result === ADVERT_ADDRESS_MISMATCH || result === ADVERT_ACCEPTED_OWNER_ADDRESS_MISMATCH) this.logMismatch();
      if (advertAccepted(result)) this.apply(this.machine.step(this.now(), { kind: "advert", priority: this.fields.priority, sourceIp: this.fields.sourceIp }));
    }
    const nowMs = this.now();
    if (nowMs >= this.machine.nextDeadlineMs()) this.apply(this.machine.step(nowMs, { kind: "tick" }));
  }

  /** Tracking: a node with no usable target, its interface down or its gateway failing is unhealthy. */
  setHealthy(healthy: boolean, cause: string): void {
    if (!this.running || this.machine.healthy === healthy) return;
    this.logger.log(healthy ? "info" : "warn", healthy ? "vrrp-healthy" : "vrrp-unhealthy", { vrid: this.settings.vrid, cause });
    this.apply(this.machine.step(this.now(), { kind: "health", healthy }));
  }

  /** Whether this node holds the peer's session table (a full transfer arrived). */
  setSyncReady(ready: boolean): void {
    if (!this.running || this.machine.syncReady === ready) return;
    this.apply(this.machine.step(this.now(), { kind: "sync", ready }));
  }

  /** Steps down with a priority-0 advert, so the peer takes over after its skew time, and closes the link. */
  stop(): void {
    if (!this.running) return;
    this.apply(this.machine.step(this.now(), { kind: "shutdown" }));
    this.running = false;
    this.link.close();
  }

  status(): VrrpStatus {
    const machine = this.machine;
    const received: Record<string, number> = {};
    ADVERT_RESULTS.forEach((name, index) => {
      if ((this.received[index] ?? 0) > 0) received[name] = this.received[index]!;
    });
    const master = machine.state === STATE_MASTER ? this.settings.realAddress : machine.masterAddress;
    return {
      state: machine.stateName,
      vrid: this.settings.vrid,
      priority: this.settings.priority,
      effective_priority: machine.effectivePriority,
      master: master === 0 ? null : ipToString(master),
      transitions: machine.transitions,
      last_transition: machine.lastTransitionReason ?? null,
      last_transition_s_ago: machine.lastTransitionAtMs < 0 ? null : Math.round((this.now() - machine.lastTransitionAtMs) / 100) / 10,
      adverts_sent: this.sent,
      adverts_received: received,
    };
  }

  /** Received adverts by result index, for metrics. */
  receivedCounts(): Float64Array {
    return this.received;
  }

  private apply(actions: readonly VrrpAction[]): void {
    for (const action of actions) {
      switch (action.kind) {
        case "advert":
          this.sendAdvert(action.priority);
          break;
        case "master":
          this.logger.info("vrrp-master", { vrid: this.settings.vrid, reason: action.reason, priority: this.machine.effectivePriority });
          this.roles.becomeMaster(action.reason);
          break;
        case "backup":
          this.logger.info("vrrp-backup", { vrid: this.settings.vrid, reason: action.reason, master: ipToString(this.machine.masterAddress) });
          this.roles.becomeBackup(action.reason);
          break;
        case "init":
          this.logger.info("vrrp-init", { vrid: this.settings.vrid, reason: action.reason });
          this.roles.becomeBackup(action.reason);
          break;
        case "waiting-for-sync":
          this.logger.info("vrrp-waiting-for-sync", { vrid: this.settings.vrid, bound_s: Math.round(action.boundMs / 1000) });
          break;
      }
    }
  }

  private sendAdvert(priority: number): void {
    this.ipId = (this.ipId + 1) & 0xffff;
    const length = writeVrrpAdvert(this.outgoing, 0, this.router, priority, this.ipId);
    try {
      this.link.send(this.outgoing, length);
      this.sent++;
    } catch (error) {
      this.logger.warn("send-failed", { what: `vrrp advert vrid ${this.settings.vrid}`, error: (error as Error).message });
    }
  }

  /** A peer advertising other VIPs is a misconfiguration: said at most once a minute. */
  private logMismatch(): void {
    const nowMs = this.now();
    if (nowMs - this.mismatchLoggedAtMs < 60_000) return;
    this.mismatchLoggedAtMs = nowMs;
    this.logger.warn("vrrp-address-mismatch", { vrid: this.settings.vrid, from: ipToString(this.fields.sourceIp), ours: this.settings.vips.map(ipToString).join(","), effect: "its adverts are ignored: configure the same servers on both nodes" });
  }
}
