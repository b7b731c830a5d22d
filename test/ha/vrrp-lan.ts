// A simulated LAN of VRRP state machines on a fake clock: adverts one node sends reach every
// other live node `latencyMs` later; timers fire at each machine's nextDeadlineMs(). Tests
// schedule inputs (startup, health, sync readiness, shutdown, a kill) and read what happened.
import { STATE_MASTER, VrrpMachine, type VrrpAction, type VrrpEvent } from "../../src/ha/vrrp-machine.ts";

export interface LanEntry {
  at: number;
  node: number;
  action: VrrpAction;
}

interface Scheduled {
  at: number;
  node: number;
  event: VrrpEvent | "kill";
}

export class Lan {
  now = 0;
  readonly log: LanEntry[] = [];
  private readonly queue: Scheduled[] = [];
  private readonly dead: boolean[];
  /** Called after every step with the time (for invariants checked all along). */
  onStep: ((now: number) => void) | undefined;

  constructor(
    readonly machines: VrrpMachine[],
    readonly addresses: number[],
    readonly latencyMs = 1,
  ) {
    this.dead = machines.map(() => false);
  }

  schedule(at: number, node: number, event: VrrpEvent | "kill"): void {
    this.queue.push({ at, node, event });
  }

  /** Processes everything due up to `untilMs` in time order. */
  run(untilMs: number): void {
    for (;;) {
      let nextAt = Infinity;
      let queued = -1;
      this.queue.forEach((item, index) => {
        if (item.at < nextAt) {
          nextAt = item.at;
          queued = index;
        }
      });
      let timerNode = -1;
      this.machines.forEach((machine, node) => {
        const deadline = machine.nextDeadlineMs();
        if (!this.dead[node] && deadline < nextAt) {
          nextAt = deadline;
          timerNode = node;
        }
      });
      if (nextAt > untilMs) break;
      this.now = nextAt;
      if (timerNode >= 0) {
        this.apply(timerNode, { kind: "tick" });
      } else {
        const [item] = this.queue.splice(queued, 1);
        if (item!.event === "kill") this.dead[item!.node] = true;
        else if (!this.dead[item!.node]) this.apply(item!.node, item!.event);
      }
      this.onStep?.(this.now);
    }
    this.now = untilMs;
  }

  /** Puts a fresh machine (a restarted node) in place of `node`; schedule its startup. */
  revive(node: number, machine: VrrpMachine): void {
    this.machines[node] = machine;
    this.dead[node] = false;
  }

  masters(): number[] {
    return this.machines.flatMap((machine, node) => (!this.dead[node] && machine.state === STATE_MASTER ? [node] : []));
  }

  /** Log entries of `node` (or all) of a kind, after `from`. */
  entries(kind: VrrpAction["kind"], node?: number, from = 0): LanEntry[] {
    return this.log.filter((entry) => entry.action.kind === kind && (node === undefined || entry.node === node) && entry.at >= from);
  }

  private apply(node: number, event: VrrpEvent): void {
    for (const action of this.machines[node]!.step(this.now, event)) {
      this.log.push({ at: this.now, node, action });
      if (action.kind !== "advert") continue;
      this.machines.forEach((_, other) => {
        if (other !== node) {
          this.schedule(this.now + this.latencyMs, other, { kind: "advert", priority: action.priority, sourceIp: this.addresses[node]! });
        }
      });
    }
  }
}
