// Runs every target's checks on its schedule and feeds the results to the state machine.
//
// Scheduling: one timer for the earliest due entry of a min-heap, not one timer per check, so
// hundreds of targets cost one wake-up per due moment. Each check has a fixed phase: its first
// attempt runs within the first min(I, 1 s) after start (phases spread evenly by a golden-ratio
// sequence, so hundreds of targets never fire together), then every I s after that, without
// drift. An attempt still in flight when the next one is due has had its I seconds: it is
// cancelled and fails as a "timeout", or with the probe's own word for what it was still
// waiting for ("no response", "timeout (killed)"). If the thread was stalled for whole intervals, the
// missed attempts are counted and skipped, never fired in a burst.
//
// Every change of a target's state goes to `onChange`, and to the target's `alert` program
// through `alerts` (alerts.ts) when the target names one.
import type { TargetDef } from "../config/model.ts";
import type { DsrPath, ProbeAttempt, ProbeDone, Probes } from "./probe.ts";
import {
  type CheckSpec,
  type HealthEvent,
  type HealthState,
  type InheritedVerdict,
  type ProbeResult,
  TargetHealth,
  type TargetHealthSnapshot,
} from "./state.ts";
import { type HeapEntry, TimerHeap } from "./timer-heap.ts";

/** Monotonic milliseconds and one-shot timers; injectable so tests control time. */
export interface Clock {
  nowMs(): number;
  setTimer(callback: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: Clock = {
  nowMs: () => performance.now(),
  setTimer: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface ScheduleStats {
  /** Attempts started since the monitor began. */
  attempts: number;
  /** Attempts that could not run because the thread was late by a whole interval or more. */
  missedIntervals: number;
  /** Worst delay between an attempt's due time and its start. */
  worstLagMs: number;
  meanLagMs: number;
}

export interface HealthMonitorOptions {
  targets: readonly TargetDef[];
  /** The `real` address (uint32) of the target's network; undefined fails its checks with a cause. */
  realAddressFor(target: TargetDef): number | undefined;
  onChange(event: HealthEvent): void;
  clock?: Clock;
  probes: Probes;
  /** For `dsrcheck`: the target's MAC and the VIPs it serves, asked at every attempt. Without it the check fails ("target MAC not resolved"). */
  dsrPathFor?(target: TargetDef): DsrPath;
  /** Runs targets' `alert` programs on their changes of state. */
  alerts?: AlertSink;
  /** Every load an `agent` check brings back, for `method agent`. */
  onAgentLoad?(targetId: number, load: number): void;
}

/** Where the monitor sends a target's change of state when the target has an `alert` program. */
export interface AlertSink {
  alert(path: string, event: HealthEvent): void;
  /** Ends what still runs (bng stops). */
  close(): void;
}

export interface HealthMonitor {
  /** Per target, by id: state, reason, and per check last result, latency, last success. */
  snapshot(): TargetHealthSnapshot[];
  state(targetId: number): HealthState | undefined;
  /** The load the target's `agent` check last brought back; undefined before its first reply or without one. */
  agentLoad(targetId: number): number | undefined;
  /** The operator's enable/disable; false when no such target is monitored. */
  setEnabled(targetId: number, enabled: boolean): boolean;
  /**
   * Reload: targets whose address, port, checks and `real` address are unchanged keep their
   * state and schedule (their `enabled` is taken from the new definition); changed ones
   * restart as pending, with an event when that changes their state; removed ones stop.
   */
  replaceTargets(targets: readonly TargetDef[]): void;
  scheduleStats(): ScheduleStats;
  /** The monitor clock's now, for turning snapshot times into ages. */
  nowMs(): number;
  /** Cancels every timer and attempt, closes every socket and ends running alerts. */
  stop(): void;
}

export function checkSpecsOf(target: TargetDef): CheckSpec[] {
  const every = (check: { intervalS: number; timeoutS: number }) => ({ intervalS: check.intervalS, timeoutS: check.timeoutS });
  const specs: CheckSpec[] = target.tcpopen.map((check) => ({ kind: "tcpopen", port: check.port, ...every(check) }));
  if (target.ping) specs.push({ kind: "ping", ...every(target.ping) });
  if (target.arp) specs.push({ kind: "arp", ...every(target.arp) });
  if (target.agent) specs.push({ kind: "agent", port: target.agent.port, ...every(target.agent) });
  if (target.script) specs.push({ kind: "script", path: target.script.path, ...every(target.script) });
  if (target.http) specs.push({ kind: "http", path: target.http.path, port: target.http.port, ...every(target.http) });
  for (const check of target.dsrcheck) specs.push({ kind: "dsrcheck", port: check.port, ...every(check) });
  return specs;
}

/** Golden-ratio phases: any number of checks spread evenly, each new one into the largest gap. */
const GOLDEN_FRACTION = 0.6180339887498949;
const MAX_START_SPREAD_MS = 1000;
const NO_DSR_PATH: DsrPath = { vips: [], mac: undefined };

interface MonitoredTarget {
  def: TargetDef;
  source: number | undefined;
  health: TargetHealth;
  checks: CheckRunner[];
  deadline: HeapEntry | undefined;
}

interface CheckRunner {
  index: number;
  spec: CheckSpec;
  due: HeapEntry | undefined;
  inFlight: ProbeAttempt | undefined;
}

function sameChecks(a: readonly CheckSpec[], b: readonly CheckSpec[]): boolean {
  return a.length === b.length && a.every((spec, index) => JSON.stringify(spec) === JSON.stringify(b[index]));
}

export function createHealthMonitor(options: HealthMonitorOptions): HealthMonitor {
  const clock = options.clock ?? systemClock;
  const probes = options.probes;
  const heap = new TimerHeap();
  const targets = new Map<number, MonitoredTarget>();
  let timer: unknown;
  let timerAtMs = Infinity;
  let phaseCounter = 0;
  let stopped = false;
  const stats = { attempts: 0, missedIntervals: 0, worstLagMs: 0, totalLagMs: 0 };

  const emit = (event: HealthEvent | undefined) => {
    if (!event) return;
    options.onChange(event);
    const alert = targets.get(event.targetId)?.def.alert;
    if (alert !== undefined) options.alerts?.alert(alert, event);
  };

  function armTimer(): void {
    let next = heap.peek();
    while (next?.cancelled) {
      heap.pop();
      next = heap.peek();
    }
    if (!next || stopped) return;
    if (timer !== undefined && timerAtMs <= next.atMs) return;
    if (timer !== undefined) clock.clearTimer(timer);
    timerAtMs = next.atMs;
    timer = clock.setTimer(runDue, Math.max(0, next.atMs - clock.nowMs()));
  }

  function runDue(): void {
    timer = undefined;
    timerAtMs = Infinity;
    // Each entry gets its own now: when hundreds are due together, the last ones really do
    // start later, and their lag must say so.
    for (let entry = heap.peek(); entry && entry.atMs <= clock.nowMs(); entry = heap.peek()) {
      heap.pop();
      if (!entry.cancelled) entry.run(clock.nowMs());
      if (stopped) return;
    }
    armTimer();
  }

  function schedule(atMs: number, run: (nowMs: number) => void): HeapEntry {
    const entry = heap.push(atMs, run);
    armTimer();
    return entry;
  }

  /** Keeps one deadline entry per target, at or before its earliest possible down time. */
  function armDeadline(target: MonitoredTarget): void {
    const deadline = target.health.nextDeadlineMs();
    if (deadline === undefined) return;
    if (target.deadline && !target.deadline.cancelled && target.deadline.atMs <= deadline) return;
    if (target.deadline) target.deadline.cancelled = true;
    target.deadline = schedule(deadline, (nowMs) => {
      target.deadline = undefined;
      emit(target.health.expire(nowMs));
      armDeadline(target);
    });
  }

  function record(target: MonitoredTarget, runner: CheckRunner, result: ProbeResult): void {
    emit(target.health.record(runner.index, result, clock.nowMs()));
    armDeadline(target);
  }

  function startAttempt(target: MonitoredTarget, runner: CheckRunner): void {
    if (target.source === undefined) {
      record(target, runner, { ok: false, cause: "no real address on the target's network" });
      return;
    }
    const done = (result: ProbeResult) => {
      if (runner.inFlight !== attempt) return;
      runner.inFlight = undefined;
      if (result.ok && result.load !== undefined) options.onAgentLoad?.(target.def.id, result.load);
      record(target, runner, result);
    };
    const attempt = startProbe(runner.spec, target.source, target.def, done);
    runner.inFlight = attempt;
  }

  function startProbe(spec: CheckSpec, source: number, def: TargetDef, done: ProbeDone): ProbeAttempt {
    switch (spec.kind) {
      case "tcpopen":
        return probes.tcpopen(source, def.ipaddr, spec.port, done);
      case "ping":
        return probes.ping(source, def.ipaddr, done);
      case "arp":
        return probes.arp(source, def.ipaddr, done);
      case "agent":
        return probes.agent(source, def.ipaddr, spec.port, done);
      case "script":
        return probes.script(spec.path, def.ipaddr, def.port, done);
      case "http":
        return probes.http(source, def.ipaddr, spec.port, spec.path, done);
      case "dsrcheck":
        return probes.dsrcheck(source, options.dsrPathFor?.(def) ?? NO_DSR_PATH, spec.port, done);
    }
  }

  function scheduleCheck(target: MonitoredTarget, runner: CheckRunner, dueMs: number): void {
    const intervalMs = runner.spec.intervalS * 1000;
    runner.due = schedule(dueMs, (nowMs) => {
      const lagMs = nowMs - dueMs;
      const missed = Math.floor(lagMs / intervalMs);
      stats.attempts++;
      stats.missedIntervals += missed;
      stats.worstLagMs = Math.max(stats.worstLagMs, lagMs);
      stats.totalLagMs += lagMs;
      const late = runner.inFlight;
      if (late) {
        const cause = late.pendingCause?.() ?? "timeout";
        late.cancel();
        runner.inFlight = undefined;
        record(target, runner, { ok: false, cause });
      }
      startAttempt(target, runner);
      scheduleCheck(target, runner, dueMs + (missed + 1) * intervalMs);
    });
  }

  function monitor(def: TargetDef, startMs: number, inherited?: InheritedVerdict): MonitoredTarget {
    const specs = checkSpecsOf(def);
    const target: MonitoredTarget = {
      def,
      source: options.realAddressFor(def),
      health: new TargetHealth({ id: def.id, ipaddr: def.ipaddr, port: def.port }, specs, def.enabled, startMs, inherited),
      checks: specs.map((spec, index) => ({ index, spec, due: undefined, inFlight: undefined })),
      deadline: undefined,
    };
    for (const runner of target.checks) {
      const spreadMs = Math.min(runner.spec.intervalS * 1000, MAX_START_SPREAD_MS);
      const phase = (phaseCounter++ * GOLDEN_FRACTION) % 1;
      scheduleCheck(target, runner, startMs + phase * spreadMs);
    }
    armDeadline(target);
    return target;
  }

  function unmonitor(target: MonitoredTarget): void {
    for (const runner of target.checks) {
      if (runner.due) runner.due.cancelled = true;
      runner.inFlight?.cancel();
      runner.inFlight = undefined;
    }
    if (target.deadline) target.deadline.cancelled = true;
  }

  const startMs = clock.nowMs();
  for (const def of options.targets) targets.set(def.id, monitor(def, startMs));

  return {
    snapshot: () => [...targets.values()].map((target) => target.health.snapshot()).sort((a, b) => a.id - b.id),
    state: (targetId) => targets.get(targetId)?.health.current,
    agentLoad: (targetId) => targets.get(targetId)?.health.agentLoad(),
    setEnabled(targetId, enabled) {
      const target = targets.get(targetId);
      if (!target) return false;
      emit(target.health.setEnabled(enabled, clock.nowMs(), "operator"));
      return true;
    },
    replaceTargets(defs) {
      const now = clock.nowMs();
      const wanted = new Set(defs.map((def) => def.id));
      for (const [id, target] of targets) {
        if (!wanted.has(id)) {
          unmonitor(target);
          targets.delete(id);
        }
      }
      for (const def of defs) {
        const existing = targets.get(def.id);
        const sameHost = existing !== undefined && existing.def.ipaddr === def.ipaddr && existing.def.port === def.port && existing.source === options.realAddressFor(def);
        if (existing && sameHost && sameChecks(checkSpecsOf(existing.def), checkSpecsOf(def))) {
          existing.def = def;
          emit(existing.health.setEnabled(def.enabled, now, "configuration"));
          continue;
        }
        if (existing) unmonitor(existing);
        // The same host with other checks keeps what its old checks said until the new ones report.
        const verdict = sameHost ? existing.health.checksVerdict() : "pending";
        const fresh = monitor(def, now, verdict === "pending" ? undefined : { verdict, lastGoodMs: existing?.health.lastGoodMs() });
        targets.set(def.id, fresh);
        if (existing) emit(fresh.health.restartedEvent(existing.health.current, now));
      }
    },
    scheduleStats: () => ({
      attempts: stats.attempts,
      missedIntervals: stats.missedIntervals,
      worstLagMs: stats.worstLagMs,
      meanLagMs: stats.attempts === 0 ? 0 : stats.totalLagMs / stats.attempts,
    }),
    nowMs: () => clock.nowMs(),
    stop() {
      if (stopped) return;
      stopped = true;
      for (const target of targets.values()) unmonitor(target);
      heap.clear();
      if (timer !== undefined) clock.clearTimer(timer);
      timer = undefined;
      probes.close();
      options.alerts?.close();
    },
  };
}
