// `set announce` at start-up. A starting node's Maglev table lacks every target whose first check
// has not concluded yet, or that is up but whose MAC is not learned yet, while its peers' tables
// have them: a connection the router moves to it (a node joining changes the ECMP next hops, and
// so where flows go) would be sent to another target than the one it has, which resets it. So a
// starting bng announces nothing until its view of the targets has settled, or at the latest
// when every first verdict must be in (the longest check timeout) and a few ARP rounds later.
// Until then it also forwards nothing for the VIPs (the daemon publishes a standby table): frames
// that still reach it by a route a killed bng left stall instead of reaching another target.
import type { TargetDef } from "../config/model.ts";
import { checkSpecsOf } from "../health/monitor.ts";
import type { HealthState } from "../health/state.ts";
import { UNRESOLVED_ARP_INTERVAL_MS } from "./target-resolution.ts";

/** ARP rounds granted after the last first verdict for an up target's MAC. */
const MAC_ROUNDS = 3;

/** Every target has a verdict (up, down or disabled), and every up one a MAC. */
export function targetsSettled(targets: readonly TargetDef[], state: (id: number) => HealthState | undefined, hasMac: (id: number) => boolean): boolean {
  return targets.every((target) => {
    const health = state(target.id) ?? "pending";
    return health !== "pending" && (health !== "up" || hasMac(target.id));
  });
}

/** When a starting bng announces whatever its view: the longest check timeout, and a few ARP rounds, after its start. */
export function startupDeadlineMs(startedAtMs: number, targets: readonly TargetDef[]): number {
  const longestS = Math.max(0, ...targets.flatMap((target) => checkSpecsOf(target).map((check) => check.timeoutS)));
  return startedAtMs + longestS * 1000 + MAC_ROUNDS * UNRESOLVED_ARP_INTERVAL_MS;
}

/** Closed at start; opens for good once the view has settled or at the deadline. */
export class StartupAnnounceGate {
  #open = false;

  constructor(private readonly deadlineMs: number) {}

  get isOpen(): boolean {
    return this.#open;
  }

  /** Whether the VIPs may be announced at `nowMs`; `settled` is asked only while closed. */
  open(nowMs: number, settled: () => boolean): boolean {
    if (!this.#open && (nowMs >= this.deadlineMs || settled())) this.#open = true;
    return this.#open;
  }
}

/** `set announce` from the daemon's side: the servable VIPs of the last table, behind the start-up gate. */
export class VipAnnouncement {
  private servable: readonly number[] = [];
  private readonly gate: StartupAnnounceGate;

  /** `opened` is called once, when the gate opens (the daemon then publishes a serving table). */
  constructor(
    private readonly options: { announce(vips: readonly number[]): void; now(): number; settled(): boolean; deadlineMs: number; opened(): void },
  ) {
    this.gate = new StartupAnnounceGate(options.deadlineMs);
  }

  /** Whether the start-up gate has opened: before, the node serves none of its VIPs. */
  get isOpen(): boolean {
    return this.gate.isOpen;
  }

  /** After each publish: the VIPs the new table can serve. */
  update(servable: readonly number[]): void {
    this.servable = servable;
    this.apply();
  }

  /** On the control timer: opens the gate at its deadline when nothing else publishes then. */
  tick(): void {
    if (!this.gate.isOpen) this.apply();
  }

  private apply(): void {
    const wasOpen = this.gate.isOpen;
    const open = this.gate.open(this.options.now(), this.options.settled);
    this.options.announce(open ? this.servable : []);
    if (open && !wasOpen) this.options.opened();
  }
}
