// The VRRPv2 state machine of RFC 3768 section 6.4 (Initialize, Backup, Master), with its timers
// as explicit times: `step(nowMs, event)` returns what to do, `nextDeadlineMs()` says when to call
// `step(now, { kind: "tick" })` next. No clock, no timer, no I/O: the daemon feeds it validated
// adverts (vrrp-advert.ts) and carries out the actions; tests drive it with a fake clock.
//
// bng never owns the virtual addresses (priority 1-254), so the owner's shortcuts (255 goes
// straight to Master, never preempted) are left out. Beyond the RFC, two inputs:
//
// - health: a node with no usable target, its interface down or its gateway check failing is
//   unhealthy. Its effective priority drops to UNHEALTHY_PRIORITY (1); a master that turns
//   unhealthy sends a priority-0 advert and steps down, so a healthy backup takes over after its
//   skew time instead of 3 intervals. If no healthier node answers, the unhealthy node still
//   becomes master again after its own (longest) Master_Down_Interval: an unhealthy master beats
//   none. A master advertising priority 1 is taken over by a healthy backup of higher priority
//   even with preempt disabled: preempt disable keeps a working master, not a broken one.
// - sync readiness: with a sync peer configured, a node that has not yet received the session
//   table (a restarted node) holds back preemption: it treats a lower-priority master's adverts
//   as if preempt were disabled, so the master keeps serving while it streams the table. A dead
//   sync link must not block forever: after `syncWaitIntervals` x Master_Down_Interval of holding,
//   it preempts anyway and says so in the transition reason ("preempt-without-sync").
//   Holding never delays a takeover from a master that went silent or sent priority 0.

export const STATE_INIT = 0;
export const STATE_BACKUP = 1;
export const STATE_MASTER = 2;
export const VRRP_STATE_NAMES = ["init", "backup", "master"] as const;
export type VrrpStateName = (typeof VRRP_STATE_NAMES)[number];

/** The effective priority of an unhealthy node: it loses to every healthy one. */
export const UNHEALTHY_PRIORITY = 1;
/** Default bound on holding preemption for the session table, in Master_Down_Intervals. */
export const DEFAULT_SYNC_WAIT_INTERVALS = 10;

export type TransitionReason =
  /** Init -> Backup. */
  | "startup"
  /** Backup -> Master: no advert for Master_Down_Interval. */
  | "master-down"
  /** Backup -> Master: the master sent priority 0 and the skew time passed. */
  | "priority-zero"
  /** Backup -> Master: adverts of a lower priority were discarded (preemption). */
  | "preempt"
  /** Backup -> Master: the same, after holding for the session table longer than the bound. */
  | "preempt-without-sync"
  /** Master -> Backup: an advert of higher priority, or equal priority from a higher address. */
  | "higher-priority"
  /** Master -> Backup: this node turned unhealthy (priority-0 advert sent). */
  | "tracking"
  /** Master/Backup -> Init. */
  | "shutdown";

export type VrrpEvent =
  | { kind: "startup" }
  | { kind: "shutdown" }
  /** Fire the timers that are due (call at nextDeadlineMs()). */
  | { kind: "tick" }
  /** An advert for our VRID that passed checkVrrpAdvert. */
  | { kind: "advert"; priority: number; sourceIp: number }
  | { kind: "health"; healthy: boolean }
  /** Whether this node holds the peer's session table (full transfer received). */
  | { kind: "sync"; ready: boolean };

export type VrrpAction =
  /** Send an advert with this priority (0 when stepping down). */
  | { kind: "advert"; priority: number }
  /** Become master: answer ARP for the VIPs with the virtual MAC, send gratuitous ARPs, forward. */
  | { kind: "master"; reason: TransitionReason }
  /** Become backup: silent for the VIPs (no ARP, ICMP or forwarding); keep health checks running. */
  | { kind: "backup"; reason: TransitionReason }
  | { kind: "init"; reason: TransitionReason }
  /** Preemption is held until the session table has arrived (log once per hold). */
  | { kind: "waiting-for-sync"; boundMs: number };

export interface VrrpMachineConfig {
  /** Configured priority, 1-254. */
  priority: number;
  /** Advertisement interval, whole seconds. */
  intervalS: number;
  preempt: boolean;
  /** This node's real address: the tie-break between equal priorities. */
  realAddress: number;
  /** A sync peer is configured: preemption waits for the session table. */
  syncPeer: boolean;
  syncWaitIntervals?: number;
}

export class VrrpMachine {
  private stateValue = STATE_INIT;
  private healthyValue = true;
  private syncReadyValue = false;
  private masterDownAtMs = Infinity;
  private adverAtMs = Infinity;
  /** Why the Master_Down_Timer will fire if nothing resets it. */
  private downReason: TransitionReason = "master-down";
  /** When holding preemption for the session table began; -1 when not holding. */
  private syncHoldSinceMs = -1;
  private masterAddressValue = 0;
  private masterPriorityValue = 0;
  private transitionsValue = 0;
  private lastReasonValue: TransitionReason | undefined;
  private lastTransitionAtValue = -1;
  private readonly priority: number;
  private readonly intervalMs: number;
  private readonly preempt: boolean;
  private readonly realAddress: number;
  private readonly syncPeer: boolean;
  private readonly syncWaitIntervals: number;

  constructor(config: VrrpMachineConfig) {
    const { priority, intervalS } = config;
    if (!Number.isInteger(priority) || priority < 1 || priority > 254) throw new RangeError(`VRRP priority ${priority}: expected 1-254`);
    if (!Number.isInteger(intervalS) || intervalS < 1 || intervalS > 255) throw new RangeError(`VRRP interval ${intervalS}: expected 1-255 s`);
    const syncWaitIntervals = config.syncWaitIntervals ?? DEFAULT_SYNC_WAIT_INTERVALS;
    if (!(syncWaitIntervals >= 1)) throw new RangeError(`VRRP sync wait ${syncWaitIntervals}: expected at least 1 interval`);
    this.priority = priority;
    this.intervalMs = intervalS * 1000;
    this.preempt = config.preempt;
    this.realAddress = config.realAddress >>> 0;
    this.syncPeer = config.syncPeer;
    this.syncWaitIntervals = syncWaitIntervals;
  }

  get state(): number {
    return this.stateValue;
  }

  get stateName(): VrrpStateName {
    return VRRP_STATE_NAMES[this.stateValue]!;
  }

  get healthy(): boolean {
    return this.healthyValue;
  }

  get syncReady(): boolean {
    return this.syncReadyValue;
  }

  /** The priority this node advertises and compares with: its own, or 1 while unhealthy. */
  get effectivePriority(): number {
    return this.healthyValue ? this.priority : UNHEALTHY_PRIORITY;
  }

  /** The current master's real address (ours when master), 0 when unknown. */
  get masterAddress(): number {
    return this.masterAddressValue;
  }

  get masterPriority(): number {
    return this.masterPriorityValue;
  }

  get transitions(): number {
    return this.transitionsValue;
  }

  get lastTransitionReason(): TransitionReason | undefined {
    return this.lastReasonValue;
  }

  /** Time of the last transition, -1 before the first. */
  get lastTransitionAtMs(): number {
    return this.lastTransitionAtValue;
  }

  /** Preemption is being held back for the session table. */
  get waitingForSync(): boolean {
    return this.syncHoldSinceMs >= 0;
  }

  /** Skew_Time = (256 - Priority) / 256 s, of the effective priority. */
  skewTimeMs(): number {
    return ((256 - this.effectivePriority) * 1000) / 256;
  }

  /** Master_Down_Interval = 3 x Advertisement_Interval + Skew_Time. */
  masterDownIntervalMs(): number {
    return 3 * this.intervalMs + this.skewTimeMs();
  }

  /** When `step(now, { kind: "tick" })` has work: the running timer's expiry, Infinity if none. */
  nextDeadlineMs(): number {
    if (this.stateValue === STATE_BACKUP) return this.masterDownAtMs;
    if (this.stateValue === STATE_MASTER) return this.adverAtMs;
    return Infinity;
  }

  /** Fires the timers due at `nowMs`, then handles `event`; returns the actions in order. */
  step(nowMs: number, event: VrrpEvent): VrrpAction[] {
    const actions: VrrpAction[] = [];
    this.fireTimers(nowMs, actions);
    switch (event.kind) {
      case "tick":
        break;
      case "startup":
        if (this.stateValue === STATE_INIT) this.enterBackup(nowMs, "startup", actions);
        break;
      case "shutdown":
        this.shutdown(nowMs, actions);
        break;
      case "advert":
        if (this.stateValue === STATE_BACKUP) this.backupAdvert(nowMs, event.priority, event.sourceIp >>> 0, actions);
        else if (this.stateValue === STATE_MASTER) this.masterAdvert(nowMs, event.priority, event.sourceIp >>> 0, actions);
        break;
      case "health":
        this.setHealth(nowMs, event.healthy, actions);
        break;
      case "sync":
        this.syncReadyValue = event.ready;
        if (event.ready) this.syncHoldSinceMs = -1;
        break;
    }
    return actions;
  }

  private fireTimers(nowMs: number, actions: VrrpAction[]): void {
    if (this.stateValue === STATE_BACKUP && nowMs >= this.masterDownAtMs) {
      this.enterMaster(nowMs, this.downReason, actions);
    } else if (this.stateValue === STATE_MASTER && nowMs >= this.adverAtMs) {
      actions.push({ kind: "advert", priority: this.effectivePriority });
      // Keep the cadence unless the caller is more than an interval late.
      const next = this.adverAtMs + this.intervalMs;
      this.adverAtMs = next > nowMs ? next : nowMs + this.intervalMs;
    }
  }

  private backupAdvert(nowMs: number, priority: number, sourceIp: number, actions: VrrpAction[]): void {
    if (priority === 0) {
      // The master is leaving: take over after Skew_Time, the higher priority first.
      this.masterDownAtMs = nowMs + this.skewTimeMs();
      this.downReason = "priority-zero";
      this.masterAddressValue = 0;
      this.masterPriorityValue = 0;
      return;
    }
    this.masterAddressValue = sourceIp;
    this.masterPriorityValue = priority;
    const local = this.effectivePriority;
    const mayPreempt = this.preempt || (priority === UNHEALTHY_PRIORITY && local > UNHEALTHY_PRIORITY);
    if (priority >= local || !mayPreempt) {
      this.resetMasterDown(nowMs);
      return;
    }
    if (this.syncPeer && !this.syncReadyValue) {
      if (this.syncHoldSinceMs < 0) {
        this.syncHoldSinceMs = nowMs;
        actions.push({ kind: "waiting-for-sync", boundMs: this.syncWaitBoundMs() });
      }
      if (nowMs - this.syncHoldSinceMs < this.syncWaitBoundMs()) {
        this.masterDownAtMs = nowMs + this.masterDownIntervalMs();
        this.downReason = "master-down";
        return;
      }
      // Discard, as the RFC's preemption does; the Master_Down_Timer runs out.
      this.downReason = "preempt-without-sync";
      return;
    }
    this.downReason = "preempt";
  }

  private masterAdvert(nowMs: number, priority: number, sourceIp: number, actions: VrrpAction[]): void {
    const local = this.effectivePriority;
    if (priority === 0) {
      // Another master stepping down: show ourselves at once so backups reset their timers.
      actions.push({ kind: "advert", priority: local });
      this.adverAtMs = nowMs + this.intervalMs;
      return;
    }
    if (priority > local || (priority === local && sourceIp > this.realAddress)) {
      this.enterBackup(nowMs, "higher-priority", actions);
      this.masterAddressValue = sourceIp;
      this.masterPriorityValue = priority;
    }
  }

  private setHealth(nowMs: number, healthy: boolean, actions: VrrpAction[]): void {
    if (healthy === this.healthyValue) return;
    this.healthyValue = healthy;
    if (this.stateValue !== STATE_MASTER) return;
    if (healthy) {
      // Tell the backups our priority is back rather than letting them preempt a priority 1.
      actions.push({ kind: "advert", priority: this.effectivePriority });
      this.adverAtMs = nowMs + this.intervalMs;
      this.masterPriorityValue = this.effectivePriority;
    } else {
      actions.push({ kind: "advert", priority: 0 });
      this.enterBackup(nowMs, "tracking", actions);
    }
  }

  private shutdown(nowMs: number, actions: VrrpAction[]): void {
    if (this.stateValue === STATE_INIT) return;
    if (this.stateValue === STATE_MASTER) actions.push({ kind: "advert", priority: 0 });
    this.transition(nowMs, STATE_INIT, "shutdown", actions);
    this.masterDownAtMs = Infinity;
    this.adverAtMs = Infinity;
    this.masterAddressValue = 0;
    this.masterPriorityValue = 0;
  }

  private enterBackup(nowMs: number, reason: TransitionReason, actions: VrrpAction[]): void {
    this.transition(nowMs, STATE_BACKUP, reason, actions);
    this.adverAtMs = Infinity;
    this.masterAddressValue = 0;
    this.masterPriorityValue = 0;
    this.resetMasterDown(nowMs);
  }

  private enterMaster(nowMs: number, reason: TransitionReason, actions: VrrpAction[]): void {
    actions.push({ kind: "advert", priority: this.effectivePriority });
    this.transition(nowMs, STATE_MASTER, reason, actions);
    this.masterDownAtMs = Infinity;
    this.adverAtMs = nowMs + this.intervalMs;
    this.syncHoldSinceMs = -1;
    this.masterAddressValue = this.realAddress;
    this.masterPriorityValue = this.effectivePriority;
  }

  private resetMasterDown(nowMs: number): void {
    this.masterDownAtMs = nowMs + this.masterDownIntervalMs();
    this.downReason = "master-down";
    this.syncHoldSinceMs = -1;
  }

  private syncWaitBoundMs(): number {
    return this.syncWaitIntervals * this.masterDownIntervalMs();
  }

  private transition(nowMs: number, state: number, reason: TransitionReason, actions: VrrpAction[]): void {
    this.stateValue = state;
    this.transitionsValue++;
    this.lastReasonValue = reason;
    this.lastTransitionAtValue = nowMs;
    const kind = state === STATE_MASTER ? "master" : state === STATE_BACKUP ? "backup" : "init";
    actions.push({ kind, reason });
  }
}
