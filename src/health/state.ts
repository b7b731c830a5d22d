// The target health state machine. Pure: every method takes the current time, so tests drive
// it with a fake clock and the monitor with a real one.
//
// Per check:  pending --success--> up --T s without success--> down --success--> up
//             pending --T s without success since monitoring began--> down
// Per target: down when any check is down (enabled or not: a draining target that dies must
// lose its sessions); else disabled when the operator or the file disabled it; else up when it
// has no checks or every check is up, else pending. Pending is not up: a target receives
// traffic only after its first successful check (a reload that changes its checks hands the
// old verdict over until the new checks decide).
import { ipToString } from "../config/model.ts";

export type CheckSpec =
  | { kind: "tcpopen"; port: number; intervalS: number; timeoutS: number }
  | { kind: "ping"; intervalS: number; timeoutS: number }
  | { kind: "arp"; intervalS: number; timeoutS: number }
  | { kind: "agent"; port: number; intervalS: number; timeoutS: number }
  | { kind: "script"; path: string; intervalS: number; timeoutS: number }
  | { kind: "http"; path: string; port: number; intervalS: number; timeoutS: number }
  | { kind: "dsrcheck"; port: number; intervalS: number; timeoutS: number };

/**
 * The outcome of one check attempt. A success may carry what it learned: the HTTP status
 * (`http`) or the load the target's agent reported (`agent`). A failure with `refused` is one the
 * peer answered with a reset (`dsrcheck`), as opposed to silence or a local error.
 */
export type ProbeResult = { ok: true; latencyMs: number; status?: number; load?: number } | { ok: false; cause: string; refused?: true };

export type CheckState = "pending" | "up" | "down";
export type HealthState = "pending" | "up" | "down" | "disabled";

/** One change of a target's state; `message` is the log line's text. */
export interface HealthEvent {
  targetId: number;
  ipaddr: string;
  port: number;
  from: HealthState;
  to: HealthState;
  cause: string;
  atMs: number;
  message: string;
}

export interface CheckSnapshot {
  kind: CheckSpec["kind"];
  /** tcpopen, agent, http and dsrcheck. */
  port: number | undefined;
  /** script (the program) and http (the request path). */
  path: string | undefined;
  /** agent: the load of its last reply. */
  load: number | undefined;
  intervalS: number;
  timeoutS: number;
  state: CheckState;
  lastResult: "pending" | "ok" | "fail";
  /** Why the last attempt failed; undefined after a success. */
  failureCause: string | undefined;
  /** Latency of the last successful attempt. */
  latencyMs: number | undefined;
  lastSuccessMs: number | undefined;
  lastAttemptMs: number | undefined;
}

export interface TargetHealthSnapshot {
  id: number;
  ipaddr: string;
  port: number;
  enabled: boolean;
  state: HealthState;
  /** Why the target is in its state, e.g. "tcpopen 80 refused for 10 s". */
  reason: string;
  /** When the target entered its state. */
  sinceMs: number;
  checks: CheckSnapshot[];
}

/** How events and reasons name a check: "tcpopen 80", "http 80 /health", "script /usr/local/bin/check". */
export function checkLabel(spec: CheckSpec): string {
  switch (spec.kind) {
    case "ping":
    case "arp":
      return spec.kind;
    case "script":
      return `script ${spec.path}`;
    case "http":
      return `http ${spec.port} ${spec.path}`;
    default:
      return `${spec.kind} ${spec.port}`;
  }
}

/** What a success of each kind is called in the reason: "tcpopen 80 connected in 0.4 ms". */
function successVerb(spec: CheckSpec, status: number | undefined, load: number | undefined): string {
  switch (spec.kind) {
    case "tcpopen":
      return "connected";
    case "ping":
    case "arp":
      return "reply";
    case "agent":
      return `load ${load}`;
    case "script":
      return "exited 0";
    case "http":
      return `status ${status}`;
    case "dsrcheck":
      return "SYN-ACK from the VIP";
  }
}

function formatLatency(latencyMs: number): string {
  return latencyMs < 10 ? latencyMs.toFixed(1) : String(Math.round(latencyMs));
}

class CheckHealth {
  state: CheckState = "pending";
  lastResult: "pending" | "ok" | "fail" = "pending";
  failureCause: string | undefined;
  latencyMs: number | undefined;
  lastSuccessMs: number | undefined;
  lastAttemptMs: number | undefined;
  /** The HTTP status of the last success (http). */
  status: number | undefined;
  /** The load of the last success (agent). */
  load: number | undefined;
  /** Why the check is up or down, kept from the moment it changed. */
  stateCause = "no result yet";

  constructor(
    readonly spec: CheckSpec,
    /** When monitoring of this check began: a check that never succeeds goes down T s later. */
    private readonly startedMs: number,
  ) {}

  record(result: ProbeResult, atMs: number): void {
    this.lastAttemptMs = atMs;
    if (result.ok) {
      this.lastResult = "ok";
      this.failureCause = undefined;
      this.latencyMs = result.latencyMs;
      this.lastSuccessMs = atMs;
      this.status = result.status;
      if (result.load !== undefined) this.load = result.load;
      if (this.state !== "up") {
        this.state = "up";
        this.stateCause = this.successText();
      }
    } else {
      this.lastResult = "fail";
      this.failureCause = result.cause;
    }
  }

  /** Moves the check down once T s passed without a success; true when it changed. */
  expire(nowMs: number): boolean {
    const deadline = this.downDeadlineMs();
    if (deadline === undefined || nowMs < deadline) return false;
    this.state = "down";
    this.stateCause = `${checkLabel(this.spec)} ${this.failureCause ?? "no answer"} for ${this.spec.timeoutS} s`;
    return true;
  }

  /** When the check goes down unless a success arrives first; undefined when already down. */
  downDeadlineMs(): number | undefined {
    if (this.state === "down") return undefined;
    return (this.lastSuccessMs ?? this.startedMs) + this.spec.timeoutS * 1000;
  }

  successText(): string {
    return `${checkLabel(this.spec)} ${successVerb(this.spec, this.status, this.load)} in ${formatLatency(this.latencyMs ?? 0)} ms`;
  }

  snapshot(): CheckSnapshot {
    return {
      kind: this.spec.kind,
      port: "port" in this.spec ? this.spec.port : undefined,
      path: "path" in this.spec ? this.spec.path : undefined,
      load: this.load,
      intervalS: this.spec.intervalS,
      timeoutS: this.spec.timeoutS,
      state: this.state,
      lastResult: this.lastResult,
      failureCause: this.failureCause,
      latencyMs: this.latencyMs,
      lastSuccessMs: this.lastSuccessMs,
      lastAttemptMs: this.lastAttemptMs,
    };
  }
}

export interface TargetIdentity {
  id: number;
  /** IPv4 address as a uint32. */
  ipaddr: number;
  port: number;
}

/** Who set a target's enabled flag last: `bng enable|disable`, or the file (at start or reload). */
export type EnabledBy = "operator" | "configuration";

/** What a target's old checks said when a reload replaced them (see the TargetHealth constructor). */
export interface InheritedVerdict {
  verdict: "up" | "down";
  lastGoodMs: number | undefined;
}

export class TargetHealth {
  private readonly checks: CheckHealth[];
  private state: HealthState;
  private reason: string;
  private sinceMs: number;
  private enabledBy: EnabledBy = "configuration";

  /**
   * `inherited`: for a target whose checks a reload changed (same address and port), what its
   * old checks said. It stands while the new checks have no verdict, so a change of interval or
   * port does not make an up target pending and cost it its sessions. An inherited "up" lasts
   * no longer than the old checks' last success allows: the new checks count their timeout
   * from `lastGoodMs`, so a host that died just before the reload still goes down in time.
   */
  constructor(
    readonly target: TargetIdentity,
    specs: readonly CheckSpec[],
    private enabled: boolean,
    startedMs: number,
    private readonly inherited?: InheritedVerdict,
  ) {
    const checksFromMs = inherited?.verdict === "up" ? Math.min(startedMs, inherited.lastGoodMs ?? startedMs) : startedMs;
    this.checks = specs.map((spec) => new CheckHealth(spec, checksFromMs));
    this.state = this.computeState();
    this.reason = this.describe(this.state);
    this.sinceMs = startedMs;
  }

  /** What the checks say, enabled or not: down, up, or pending (the inherited verdict while that stands). */
  checksVerdict(): "up" | "down" | "pending" {
    if (this.checks.some((check) => check.state === "down")) return "down";
    if (this.checks.every((check) => check.state === "up")) return "up";
    return this.inherited?.verdict ?? "pending";
  }

  /**
   * The oldest of the checks' last successes: since when an "up" verdict has gone unconfirmed
   * (the inherited one's while a check has none yet, so two reloads in a row do not extend it).
   */
  lastGoodMs(): number | undefined {
    let oldest: number | undefined;
    for (const check of this.checks) {
      if (check.lastSuccessMs === undefined) return this.inherited?.lastGoodMs;
      if (oldest === undefined || check.lastSuccessMs < oldest) oldest = check.lastSuccessMs;
    }
    return oldest;
  }

  /** Whether the verdict is still the inherited one: no new check is down, and not all are up yet. */
  private inheriting(): boolean {
    return this.inherited !== undefined && this.checks.some((check) => check.state === "pending") && !this.checks.some((check) => check.state === "down");
  }

  get current(): HealthState {
    return this.state;
  }

  /** Records an attempt of check `index`; returns the event when the target's state changed. */
  record(index: number, result: ProbeResult, atMs: number): HealthEvent | undefined {
    const check = this.checks[index];
    if (!check) throw new RangeError(`target ${this.target.id} has no check ${index}`);
    const wasInheriting = this.inheriting();
    check.record(result, atMs);
    const next = this.computeState();
    this.endInheritance(wasInheriting, next);
    // A disabled target that comes back from down says what brought it back, and that it stays disabled.
    const cause = next === "up" ? check.stateCause : next === "disabled" && this.state === "down" ? `${check.stateCause}; ${this.describe(next)}` : this.describe(next);
    return this.transition(next, atMs, cause);
  }

  /** When the new checks' verdict confirms the inherited state, the reason says so now (no event follows). */
  private endInheritance(wasInheriting: boolean, next: HealthState): void {
    if (wasInheriting && !this.inheriting() && next === this.state) this.reason = this.describe(next);
  }

  /** Applies every timeout that ran out by `nowMs`; returns the event when the state changed. */
  expire(nowMs: number): HealthEvent | undefined {
    const wasInheriting = this.inheriting();
    let changed = false;
    for (const check of this.checks) changed = check.expire(nowMs) || changed;
    if (!changed) return undefined;
    const next = this.computeState();
    this.endInheritance(wasInheriting, next);
    return this.transition(next, nowMs, this.describe(next));
  }

  /** The operator's enable/disable, or a reloaded file's; returns the event when the state changed. */
  setEnabled(enabled: boolean, nowMs: number, by: EnabledBy): HealthEvent | undefined {
    // A reload restating the flag does not take the credit from the operator who set it.
    if (enabled === this.enabled && by === "configuration") return undefined;
    this.enabled = enabled;
    this.enabledBy = by;
    const next = this.computeState();
    const cause = enabled ? `enabled ${by === "operator" ? "by operator" : "by the configuration"}, ${this.describe(next)}` : this.describe(next);
    return this.transition(next, nowMs, cause);
  }

  /**
   * For a target whose definition a reload replaced: this fresh state machine reports the
   * change from the old one's state, so observers see one event, not a silent jump.
   */
  restartedEvent(previous: HealthState, atMs: number): HealthEvent | undefined {
    const current = this.state;
    if (previous === current) return undefined;
    this.state = previous;
    return this.transition(current, atMs, `configuration changed, ${this.describe(current)}`);
  }

  /** The load the `agent` check last brought back. */
  agentLoad(): number | undefined {
    for (const check of this.checks) if (check.spec.kind === "agent") return check.load;
    return undefined;
  }

  /** The earliest time a check would go down without a success; undefined when none can. */
  nextDeadlineMs(): number | undefined {
    let earliest: number | undefined;
    for (const check of this.checks) {
      const deadline = check.downDeadlineMs();
      if (deadline !== undefined && (earliest === undefined || deadline < earliest)) earliest = deadline;
    }
    return earliest;
  }

  snapshot(): TargetHealthSnapshot {
    return {
      id: this.target.id,
      ipaddr: ipToString(this.target.ipaddr),
      port: this.target.port,
      enabled: this.enabled,
      state: this.state,
      reason: this.state === "up" || this.state === "down" ? this.reason : this.describe(this.state),
      sinceMs: this.sinceMs,
      checks: this.checks.map((check) => check.snapshot()),
    };
  }

  private computeState(): HealthState {
    const verdict = this.checksVerdict();
    // Down wins even over disabled: a draining target that dies must lose its sessions, or its
    // clients would keep being sent to a dead host until they went idle.
    if (verdict === "down") return "down";
    if (!this.enabled) return "disabled";
    return verdict;
  }

  private describe(state: HealthState): string {
    if ((state === "up" || state === "down") && this.inheriting()) return `${state} as before a reload changed its checks, until the new checks decide`;
    switch (state) {
      case "disabled":
        return this.enabledBy === "operator" ? "disabled by operator" : "disabled in the configuration";
      case "down":
        return this.checks.find((check) => check.state === "down")?.stateCause ?? "down";
      case "up":
        return this.checks.length === 0 ? "no health checks configured" : this.checks.map((check) => check.stateCause).join(", ");
      case "pending": {
        const waiting = this.checks.filter((check) => check.state === "pending");
        return waiting
          .map((check) => `${checkLabel(check.spec)} ${check.failureCause ? `${check.failureCause}, ` : ""}no success yet`)
          .join(", ");
      }
    }
  }

  private transition(next: HealthState, atMs: number, cause: string): HealthEvent | undefined {
    if (next === this.state) return undefined;
    const from = this.state;
    this.state = next;
    this.reason = cause;
    this.sinceMs = atMs;
    const ipaddr = ipToString(this.target.ipaddr);
    return {
      targetId: this.target.id,
      ipaddr,
      port: this.target.port,
      from,
      to: next,
      cause,
      atMs,
      message: `target ${this.target.id} ${ipaddr}:${this.target.port} ${next}: ${cause}`,
    };
  }
}
