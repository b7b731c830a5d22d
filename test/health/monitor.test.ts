// The monitor's scheduling, timeouts, operator actions and reloads, with a fake clock and
// fake probes: every attempt is visible and the test decides its outcome.
import { describe, expect, test } from "bun:test";
import type { TargetDef } from "../../src/config/model.ts";
import { type AlertSink, type Clock, createHealthMonitor, type HealthMonitorOptions } from "../../src/health/monitor.ts";
import { targetHealthStatus } from "../../src/control/status-report.ts";
import type { DsrPath, ProbeDone, Probes } from "../../src/health/probe.ts";
import type { CheckSpec, HealthEvent } from "../../src/health/state.ts";

class FakeClock implements Clock {
  now = 0;
  private nextId = 0;
  private readonly timers = new Map<number, { atMs: number; callback: () => void }>();

  nowMs(): number {
    return this.now;
  }
  setTimer(callback: () => void, delayMs: number): unknown {
    this.timers.set(++this.nextId, { atMs: this.now + delayMs, callback });
    return this.nextId;
  }
  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  get pendingTimers(): number {
    return this.timers.size;
  }
  /** Runs every timer due by `ms` from now, each at its own time. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, timer]) => timer.atMs <= end).sort((a, b) => a[1].atMs - b[1].atMs)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = Math.max(this.now, due[1].atMs);
      due[1].callback();
    }
    this.now = end;
  }
  /** The thread was busy for `ms`: time jumps, and only then do the timers run, late. */
  stall(ms: number): void {
    this.now += ms;
    this.advance(0);
  }
}

interface FakeAttempt {
  kind: CheckSpec["kind"];
  source: number;
  destination: number;
  port: number | undefined;
  path?: string;
  dsrPath?: DsrPath;
  pendingCause?: string;
  startedMs: number;
  cancelled: boolean;
  answered: boolean;
  done: ProbeDone;
}

class FakeProbes implements Probes {
  readonly attempts: FakeAttempt[] = [];
  closed = false;
  constructor(private readonly clock: FakeClock) {}

  tcpopen(source: number, destination: number, port: number, done: ProbeDone) {
    return this.start({ kind: "tcpopen", source, destination, port, done });
  }
  ping(source: number, destination: number, done: ProbeDone) {
    return this.start({ kind: "ping", source, destination, port: undefined, done });
  }
  arp(source: number, destination: number, done: ProbeDone) {
    return this.start({ kind: "arp", source, destination, port: undefined, done });
  }
  agent(source: number, destination: number, port: number, done: ProbeDone) {
    return this.start({ kind: "agent", source, destination, port, done });
  }
  script(path: string, destination: number, port: number, done: ProbeDone) {
    return this.start({ kind: "script", source: 0, destination, port, path, done });
  }
  http(source: number, destination: number, port: number, path: string, done: ProbeDone) {
    return this.start({ kind: "http", source, destination, port, path, done });
  }
  dsrcheck(source: number, dsrPath: DsrPath, port: number, done: ProbeDone) {
    return this.start({ kind: "dsrcheck", source, destination: dsrPath.vips[0] ?? 0, port, dsrPath, done });
  }
  close(): void {
    this.closed = true;
    for (const attempt of this.attempts) attempt.cancelled = true;
  }
  open(): FakeAttempt[] {
    return this.attempts.filter((attempt) => !attempt.cancelled && !attempt.answered);
  }
  /** Completes every attempt still open with the same result. */
  answerAll(result: Parameters<ProbeDone>[0]): void {
    for (const attempt of this.open()) {
      attempt.answered = true;
      attempt.done(result);
    }
  }
  private start(partial: Omit<FakeAttempt, "startedMs" | "cancelled" | "answered">) {
    const attempt: FakeAttempt = { ...partial, startedMs: this.clock.now, cancelled: false, answered: false };
    this.attempts.push(attempt);
    return {
      cancel() {
        attempt.cancelled = true;
      },
      pendingCause: () => attempt.pendingCause ?? "timeout",
    };
  }
}

const pos = { file: "test.conf", line: 1, column: 1 };
const REAL = 0xac1001fc; // 172.16.1.252

function target(id: number, overrides: Partial<TargetDef> = {}): TargetDef {
  return {
    id,
    name: undefined,
    ipaddr: 0xac100100 + id,
    port: 80,
    protocol: "tcp",
    tcpopen: [{ port: 80, intervalS: 2, timeoutS: 5, pos }],
    ping: undefined,
    arp: undefined, agent: undefined, script: undefined, http: undefined, dsrcheck: [], alert: undefined, unimplemented: [],
    dsr: true,
    weight: 1,
    registered: true,
    enabled: true,
    pos,
    ...overrides,
  };
}

function setup(targets: TargetDef[], realAddressFor: (def: TargetDef) => number | undefined = () => REAL, more: Partial<HealthMonitorOptions> = {}) {
  const clock = new FakeClock();
  const probes = new FakeProbes(clock);
  const events: HealthEvent[] = [];
  const monitor = createHealthMonitor({ targets, realAddressFor, clock, probes, onChange: (event) => events.push(event), ...more });
  return { clock, probes, events, monitor };
}

describe("schedule", () => {
  test("first attempts spread over the first second, then every interval without drift", () => {
    const targets = Array.from({ length: 50 }, (_, index) => target(index + 1));
    const { clock, probes, monitor } = setup(targets);
    clock.advance(999);
    const first = probes.attempts.map((attempt) => attempt.startedMs);
    expect(first).toHaveLength(50);
    expect(new Set(first).size).toBe(50);
    // Evenly spread: no 100 ms window holds more than a fair share plus one.
    for (let window = 0; window < 1000; window += 100) {
      expect(first.filter((at) => at >= window && at < window + 100).length).toBeLessThanOrEqual(6);
    }
    probes.answerAll({ ok: true, latencyMs: 1 });
    clock.advance(20_001);
    const ofTarget7 = probes.attempts.filter((attempt) => attempt.destination === 0xac100107).map((attempt) => attempt.startedMs);
    expect(ofTarget7).toHaveLength(11);
    ofTarget7.forEach((at, index) => expect(at).toBeCloseTo(ofTarget7[0]! + index * 2000, 6));
    expect(monitor.scheduleStats()).toMatchObject({ attempts: 550, missedIntervals: 0, worstLagMs: 0 });
    monitor.stop();
  });

  test("every attempt goes from the real address to the target's own address and check port", () => {
    const { clock, probes, monitor } = setup([target(3, { ping: { intervalS: 1, timeoutS: 3, pos } })]);
    clock.advance(1000);
    expect(probes.attempts.map(({ kind, source, destination, port }) => ({ kind, source, destination, port }))).toEqual([
      { kind: "tcpopen", source: REAL, destination: 0xac100103, port: 80 },
      { kind: "ping", source: REAL, destination: 0xac100103, port: undefined },
    ]);
    monitor.stop();
  });

  test("an attempt still open when the next is due is cancelled as a timeout; T s without success -> down", () => {
    const { clock, probes, events, monitor } = setup([target(1)]);
    clock.advance(1000);
    probes.answerAll({ ok: true, latencyMs: 0.4 });
    const upAt = clock.now;
    expect(events.map((event) => event.message)).toEqual(["target 1 172.16.1.1:80 up: tcpopen 80 connected in 0.4 ms"]);
    const lastSuccessMs = monitor.snapshot()[0]!.checks[0]!.lastSuccessMs!;
    clock.advance(4000);
    const stale = probes.attempts.filter((attempt) => attempt.cancelled);
    expect(stale.length).toBeGreaterThanOrEqual(1);
    expect(monitor.snapshot()[0]!.checks[0]).toMatchObject({ lastResult: "fail", failureCause: "timeout" });
    expect(monitor.state(1)).toBe("up");
    clock.advance(lastSuccessMs + 5000 - clock.now - 1);
    expect(monitor.state(1)).toBe("up");
    clock.advance(1);
    expect(monitor.state(1)).toBe("down");
    expect(events[1]).toMatchObject({ to: "down", cause: "tcpopen 80 timeout for 5 s", atMs: lastSuccessMs + 5000 });
    expect(upAt).toBeLessThan(lastSuccessMs + 1);
    monitor.stop();
  });

  test("a stalled thread counts whole missed intervals and does not fire them in a burst", () => {
    const { clock, probes, monitor } = setup([target(1)]);
    clock.advance(1000);
    probes.answerAll({ ok: true, latencyMs: 1 });
    const before = probes.attempts.length;
    clock.stall(7000);
    expect(probes.attempts.length).toBe(before + 1);
    const stats = monitor.scheduleStats();
    expect(stats.missedIntervals).toBe(3);
    expect(stats.worstLagMs).toBeGreaterThanOrEqual(6000);
    monitor.stop();
  });

  test("a target whose network has no real address fails its checks with that cause", () => {
    const { clock, probes, events, monitor } = setup([target(1)], () => undefined);
    clock.advance(5000);
    expect(probes.attempts).toHaveLength(0);
    expect(events[0]?.cause).toBe("tcpopen 80 no real address on the target's network for 5 s");
    monitor.stop();
  });
});

describe("operator and reload", () => {
  test("setEnabled: disabled wins, one event each way; unknown targets are refused", () => {
    const { clock, probes, events, monitor } = setup([target(1), target(2, { tcpopen: [] })]);
    expect(monitor.state(2)).toBe("up");
    clock.advance(1000);
    probes.answerAll({ ok: true, latencyMs: 1 });
    expect(monitor.setEnabled(1, false)).toBe(true);
    expect(monitor.setEnabled(1, false)).toBe(true);
    expect(monitor.setEnabled(99, false)).toBe(false);
    clock.advance(2000);
    probes.answerAll({ ok: true, latencyMs: 1 });
    expect(monitor.state(1)).toBe("disabled");
    monitor.setEnabled(1, true);
    expect(events.map((event) => `${event.targetId} ${event.from}->${event.to}`)).toEqual(["1 pending->up", "1 up->disabled", "1 disabled->up"]);
    monitor.stop();
  });

  test("replaceTargets keeps unchanged targets' state, restarts changed ones, stops removed ones", () => {
    const { clock, probes, events, monitor } = setup([target(1), target(2), target(3), target(5)]);
    clock.advance(1000);
    probes.answerAll({ ok: true, latencyMs: 1 });
    expect(monitor.snapshot().map((snapshot) => snapshot.state)).toEqual(["up", "up", "up", "up"]);
    events.length = 0;
    const target1Before = probes.attempts.filter((attempt) => attempt.destination === 0xac100101).length;
    monitor.replaceTargets([
      target(1, { weight: 5 }),
      // The same host with another check: up as before until the new check reports.
      target(2, { tcpopen: [{ port: 8080, intervalS: 2, timeoutS: 5, pos }] }),
      // Another host under the same id: a new target, pending.
      target(5, { ipaddr: 0xac100109 }),
      target(4),
    ]);
    expect(monitor.snapshot().map((snapshot) => [snapshot.id, snapshot.state])).toEqual([
      [1, "up"],
      [2, "up"],
      [4, "pending"],
      [5, "pending"],
    ]);
    expect(monitor.snapshot()[1]!.reason).toBe("up as before a reload changed its checks, until the new checks decide");
    expect(events.map((event) => event.message)).toEqual(["target 5 172.16.1.9:80 pending: configuration changed, tcpopen 80 no success yet"]);
    clock.advance(2000);
    const after = probes.attempts.slice(-3);
    expect(after.some((attempt) => attempt.destination === 0xac100103)).toBe(false);
    expect(probes.attempts.filter((attempt) => attempt.destination === 0xac100101).length).toBe(target1Before + 1);
    expect(probes.attempts.some((attempt) => attempt.port === 8080)).toBe(true);
    monitor.stop();
  });

  test("a target whose checks a reload changed keeps its state until the new checks decide", () => {
    const { clock, probes, events, monitor } = setup([target(1), target(2)]);
    clock.advance(1000);
    probes.answerAll({ ok: true, latencyMs: 1 });
    clock.advance(1000);
    monitor.replaceTargets([target(1, { tcpopen: [{ port: 8080, intervalS: 2, timeoutS: 5, pos }] }), target(2, { tcpopen: [{ port: 8080, intervalS: 2, timeoutS: 5, pos }] })]);
    expect(monitor.snapshot().map((snapshot) => snapshot.state)).toEqual(["up", "up"]);
    events.length = 0;
    // Target 1's new check never answers: down once its timeout has passed since the old checks'
    // last success (1 s), not counted afresh from the reload.
    clock.advance(3000);
    for (const attempt of probes.open().filter((open) => open.destination === 0xac100102)) {
      attempt.answered = true;
      attempt.done({ ok: true, latencyMs: 1 });
    }
    expect(events.map((event) => [event.targetId, event.to])).toEqual([]);
    expect(monitor.state(1)).toBe("up");
    clock.advance(1100);
    expect(events.map((event) => [event.targetId, event.to])).toEqual([[1, "down"]]);
    expect(monitor.state(2)).toBe("up");
    monitor.stop();
  });

  test("an inherited up lasts only as long as the old checks' last success allows; the reason follows the new checks", () => {
    const { clock, probes, events, monitor } = setup([target(1), target(2)]);
    clock.advance(1000);
    probes.answerAll({ ok: true, latencyMs: 1 }); // the last success of both: t = 1 s
    clock.advance(3000);
    // Target 1's host died after 1 s; a reload at 4 s gives both a new check (same timeout, 5 s).
    const faster = { tcpopen: [{ port: 8080, intervalS: 1, timeoutS: 5, pos }] };
    monitor.replaceTargets([target(1, faster), target(2, faster)]);
    expect(monitor.snapshot().map((snapshot) => snapshot.reason)).toEqual([
      "up as before a reload changed its checks, until the new checks decide",
      "up as before a reload changed its checks, until the new checks decide",
    ]);
    events.length = 0;
    clock.advance(1000);
    const target2Open = probes.open().filter((open) => open.destination === 0xac100102);
    expect(target2Open.length).toBeGreaterThan(0);
    for (const attempt of target2Open) {
      attempt.answered = true;
      attempt.done({ ok: true, latencyMs: 2 });
    }
    // Target 2's new check confirmed it: no event (it was up), and its reason is the check's now.
    expect(events).toEqual([]);
    expect(monitor.snapshot()[1]!.reason).toBe("tcpopen 8080 connected in 2.0 ms");
    // Target 1 goes down 5 s after its last success (t = 6 s), not 5 s after the reload (t = 9 s).
    clock.advance(1100);
    expect(events.map((event) => [event.targetId, event.to, event.atMs])).toEqual([[1, "down", 6000]]);
    monitor.stop();
  });

  test("replaceTargets applies the new definition's enabled flag to an unchanged target", () => {
    const { clock, probes, events, monitor } = setup([target(1)]);
    clock.advance(1000);
    probes.answerAll({ ok: true, latencyMs: 1 });
    monitor.replaceTargets([target(1, { enabled: false })]);
    expect(events.at(-1)).toMatchObject({ from: "up", to: "disabled" });
    monitor.stop();
  });

  test("stop cancels every timer and open attempt and closes the probes", () => {
    const { clock, probes, monitor } = setup([target(1), target(2, { ping: { intervalS: 1, timeoutS: 2, pos } })]);
    clock.advance(1000);
    expect(probes.open().length).toBe(3);
    monitor.stop();
    expect(clock.pendingTimers).toBe(0);
    expect(probes.closed).toBe(true);
    expect(probes.open()).toHaveLength(0);
    const count = probes.attempts.length;
    clock.advance(10_000);
    expect(probes.attempts.length).toBe(count);
  });
});

test("status view: pending is down publicly, with per-check result, cause, latency and age", () => {
  const { clock, probes, monitor } = setup([target(1)]);
  clock.advance(1000);
  const pending = targetHealthStatus(monitor.snapshot()[0]!, monitor.nowMs());
  expect(pending).toMatchObject({ state: "down", health: "pending", checks: [{ type: "tcpopen", port: 80, last_result: "pending", latency_ms: null }] });
  probes.answerAll({ ok: true, latencyMs: 0.4321 });
  clock.advance(1500);
  probes.answerAll({ ok: false, cause: "refused" });
  const status = targetHealthStatus(monitor.snapshot()[0]!, monitor.nowMs());
  expect(status).toEqual({
    state: "up",
    health: "up",
    reason: "tcpopen 80 connected in 0.4 ms",
    checks: [{ type: "tcpopen", port: 80, interval_s: 2, timeout_s: 5, last_result: "fail", cause: "refused", latency_ms: 0.432, last_success_s_ago: 1.5 }],
  });
  monitor.stop();
});

describe("the other checks", () => {
  const every = { intervalS: 1, timeoutS: 3, pos };
  const VIP = 0xac10010a;
  const TARGET_MAC = new Uint8Array([2, 0, 0, 0, 0, 7]);

  test("each kind goes to its probe with what the configuration and the daemon give it", () => {
    const def = target(7, {
      port: 8443,
      tcpopen: [],
      arp: every,
      agent: { port: 439, ...every },
      script: { path: "/usr/local/bin/check-db", ...every },
      http: { path: "/health", port: 8080, ...every },
      dsrcheck: [{ port: 443, ...every }],
    });
    const dsrPaths: TargetDef[] = [];
    const { clock, probes, monitor } = setup([def], () => REAL, {
      dsrPathFor: (asked) => {
        dsrPaths.push(asked);
        return { vips: [VIP], mac: TARGET_MAC };
      },
    });
    clock.advance(999);
    // In the order of their phases, not of the configuration.
    const attempts = probes.attempts.map(({ kind, source, destination, port, path, dsrPath }) => ({ kind, source, destination, port, path, dsrPath }));
    expect(attempts.sort((a, b) => a.kind.localeCompare(b.kind))).toEqual([
      { kind: "agent", source: REAL, destination: 0xac100107, port: 439, path: undefined, dsrPath: undefined },
      { kind: "arp", source: REAL, destination: 0xac100107, port: undefined, path: undefined, dsrPath: undefined },
      { kind: "dsrcheck", source: REAL, destination: VIP, port: 443, path: undefined, dsrPath: { vips: [VIP], mac: TARGET_MAC } },
      { kind: "http", source: REAL, destination: 0xac100107, port: 8080, path: "/health", dsrPath: undefined },
      { kind: "script", source: 0, destination: 0xac100107, port: 8443, path: "/usr/local/bin/check-db", dsrPath: undefined },
    ]);
    expect(dsrPaths).toEqual([def]);
    expect(monitor.snapshot()[0]!.checks.map((check) => [check.kind, check.port, check.path])).toEqual([
      ["arp", undefined, undefined],
      ["agent", 439, undefined],
      ["script", undefined, "/usr/local/bin/check-db"],
      ["http", 8080, "/health"],
      ["dsrcheck", 443, undefined],
    ]);
    monitor.stop();
  });

  test("without the daemon's DSR path a dsrcheck is asked with no VIP and no MAC", () => {
    const { clock, probes, monitor } = setup([target(1, { tcpopen: [], dsrcheck: [{ port: 80, ...every }] })]);
    clock.advance(1000);
    expect(probes.attempts[0]?.dsrPath).toEqual({ vips: [], mac: undefined });
    monitor.stop();
  });

  test("an attempt still open at the next due time fails with the probe's own cause when it gives one", () => {
    const { clock, probes, events, monitor } = setup([target(1, { tcpopen: [], http: { path: "/", port: 80, ...every } })]);
    clock.advance(1000);
    probes.open()[0]!.pendingCause = "no response";
    clock.advance(1000);
    expect(monitor.snapshot()[0]!.checks[0]).toMatchObject({ lastResult: "fail", failureCause: "no response" });
    clock.advance(2000);
    expect(events.at(-1)).toMatchObject({ to: "down", cause: "http 80 / no response for 3 s" });
    monitor.stop();
  });

  test("successes carry the HTTP status and the agent's load into the reason; each load is passed on and kept", () => {
    const loads: [number, number][] = [];
    const { clock, probes, events, monitor } = setup(
      [target(1, { tcpopen: [], http: { path: "/ok", port: 80, ...every } }), target(2, { tcpopen: [], agent: { port: 439, ...every } })],
      () => REAL,
      { onAgentLoad: (targetId, load) => loads.push([targetId, load]) },
    );
    expect(monitor.agentLoad(2)).toBeUndefined();
    clock.advance(1000);
    for (const attempt of probes.open()) {
      attempt.answered = true;
      attempt.done(attempt.kind === "http" ? { ok: true, latencyMs: 1.5, status: 204 } : { ok: true, latencyMs: 0.3, load: 0.75 });
    }
    expect(events.map((event) => event.cause).sort()).toEqual(["agent 439 load 0.75 in 0.3 ms", "http 80 /ok status 204 in 1.5 ms"]);
    clock.advance(1000);
    probes.open().find((attempt) => attempt.kind === "agent")!.done({ ok: true, latencyMs: 0.3, load: 2 });
    expect(loads).toEqual([
      [2, 0.75],
      [2, 2],
    ]);
    expect(monitor.agentLoad(2)).toBe(2);
    expect(monitor.agentLoad(1)).toBeUndefined();
    expect(monitor.snapshot()[1]!.checks[0]!.load).toBe(2);
    monitor.stop();
  });

  test("every change of a target with an alert goes to the alert sink with its path; stop closes the sink", () => {
    const alerted: [string, HealthEvent][] = [];
    let closed = false;
    const alerts: AlertSink = {
      alert: (path, event) => alerted.push([path, event]),
      close: () => void (closed = true),
    };
    const { clock, probes, events, monitor } = setup([target(1, { alert: "/etc/bng/page.sh" }), target(2)], () => REAL, { alerts });
    clock.advance(1000);
    probes.answerAll({ ok: true, latencyMs: 1 });
    monitor.setEnabled(1, false);
    monitor.setEnabled(2, false);
    expect(events.map((event) => `${event.targetId} ${event.to}`)).toEqual(["1 up", "2 up", "1 disabled", "2 disabled"]);
    expect(alerted.map(([path, event]) => `${path} ${event.targetId} ${event.to}`)).toEqual(["/etc/bng/page.sh 1 up", "/etc/bng/page.sh 1 disabled"]);
    monitor.replaceTargets([target(1, { alert: "/etc/bng/other.sh" })]);
    monitor.setEnabled(1, true);
    expect(alerted.at(-1)?.[0]).toBe("/etc/bng/other.sh");
    monitor.stop();
    expect(closed).toBe(true);
  });
});
