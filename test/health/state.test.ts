// The target state machine driven by hand-set times.
import { describe, expect, test } from "bun:test";
import { type CheckSpec, type HealthEvent, TargetHealth } from "../../src/health/state.ts";

const TARGET = { id: 1, ipaddr: 0xac100164, port: 80 }; // 172.16.1.100
const TCP80: CheckSpec = { kind: "tcpopen", port: 80, intervalS: 2, timeoutS: 10 };
const PING: CheckSpec = { kind: "ping", intervalS: 3, timeoutS: 8 };
const s = (seconds: number) => seconds * 1000;

describe("a single tcpopen check", () => {
  test("a checked target is pending, not up, until its first success, which marks it up at once", () => {
    const health = new TargetHealth(TARGET, [TCP80], true, 0);
    expect(health.current).toBe("pending");
    expect(health.record(0, { ok: false, cause: "refused" }, s(2))).toBeUndefined();
    expect(health.current).toBe("pending");
    const event = health.record(0, { ok: true, latencyMs: 0.42 }, s(4));
    expect(event).toMatchObject({ from: "pending", to: "up", cause: "tcpopen 80 connected in 0.4 ms", atMs: s(4) });
    expect(event?.message).toBe("target 1 172.16.1.100:80 up: tcpopen 80 connected in 0.4 ms");
  });

  test("down exactly T seconds after the last success, not a millisecond earlier", () => {
    const health = new TargetHealth(TARGET, [TCP80], true, 0);
    health.record(0, { ok: true, latencyMs: 1 }, s(1));
    health.record(0, { ok: false, cause: "refused" }, s(3));
    expect(health.nextDeadlineMs()).toBe(s(11));
    expect(health.expire(s(11) - 1)).toBeUndefined();
    expect(health.current).toBe("up");
    const event = health.expire(s(11));
    expect(event).toMatchObject({ from: "up", to: "down", cause: "tcpopen 80 refused for 10 s" });
    expect(event?.message).toBe("target 1 172.16.1.100:80 down: tcpopen 80 refused for 10 s");
    expect(health.expire(s(30))).toBeUndefined();
    expect(health.nextDeadlineMs()).toBeUndefined();
  });

  test("every success pushes the deadline: failures in between never mark it down", () => {
    const health = new TargetHealth(TARGET, [TCP80], true, 0);
    for (let t = 0; t <= 60; t += 8) {
      health.record(0, { ok: true, latencyMs: 1 }, s(t));
      health.record(0, { ok: false, cause: "timeout" }, s(t + 4));
      expect(health.expire(s(t + 10) - 1)).toBeUndefined();
    }
    expect(health.current).toBe("up");
  });

  test("a target that never succeeds goes from pending to down T seconds after monitoring began", () => {
    const health = new TargetHealth(TARGET, [TCP80], true, s(5));
    health.record(0, { ok: false, cause: "host unreachable" }, s(7));
    expect(health.expire(s(15) - 1)).toBeUndefined();
    expect(health.expire(s(15))).toMatchObject({ from: "pending", to: "down", cause: "tcpopen 80 host unreachable for 10 s" });
  });

  test("the first success after down marks it up at once, and the cycle repeats with one event per change", () => {
    const health = new TargetHealth(TARGET, [TCP80], true, 0);
    const events: HealthEvent[] = [];
    const keep = (event: HealthEvent | undefined) => event && events.push(event);
    keep(health.record(0, { ok: true, latencyMs: 2 }, s(0)));
    keep(health.record(0, { ok: false, cause: "timeout" }, s(2)));
    keep(health.expire(s(10)));
    keep(health.record(0, { ok: false, cause: "timeout" }, s(12)));
    keep(health.record(0, { ok: true, latencyMs: 12.6 }, s(14)));
    keep(health.record(0, { ok: true, latencyMs: 1 }, s(16)));
    keep(health.record(0, { ok: false, cause: "refused" }, s(18)));
    keep(health.expire(s(25)));
    keep(health.expire(s(26)));
    expect(events.map((event) => `${event.from}->${event.to}: ${event.cause}`)).toEqual([
      "pending->up: tcpopen 80 connected in 2.0 ms",
      "up->down: tcpopen 80 timeout for 10 s",
      "down->up: tcpopen 80 connected in 13 ms",
      "up->down: tcpopen 80 refused for 10 s",
    ]);
  });

  test("a check with no finished attempt at its deadline says so", () => {
    const health = new TargetHealth(TARGET, [{ kind: "tcpopen", port: 443, intervalS: 20, timeoutS: 5 }], true, 0);
    expect(health.expire(s(5))?.cause).toBe("tcpopen 443 no answer for 5 s");
  });
});

describe("several checks", () => {
  test("up only when every check is up; one check down takes the target down", () => {
    const health = new TargetHealth(TARGET, [TCP80, { ...TCP80, port: 443 }, PING], true, 0);
    expect(health.record(0, { ok: true, latencyMs: 1 }, s(0))).toBeUndefined();
    expect(health.record(2, { ok: true, latencyMs: 0.3 }, s(0.5))).toBeUndefined();
    expect(health.current).toBe("pending");
    expect(health.record(1, { ok: true, latencyMs: 0.8 }, s(1))).toMatchObject({ to: "up", cause: "tcpopen 443 connected in 0.8 ms" });
    expect(health.snapshot().reason).toBe("tcpopen 443 connected in 0.8 ms");
    // Only ping stops answering: its 8 s run out first.
    health.record(0, { ok: true, latencyMs: 1 }, s(6));
    health.record(1, { ok: true, latencyMs: 1 }, s(6));
    expect(health.nextDeadlineMs()).toBe(s(8.5));
    expect(health.expire(s(8.5))).toMatchObject({ from: "up", to: "down", cause: "ping no answer for 8 s" });
    // The tcpopen checks keep succeeding: still down until ping answers again.
    expect(health.record(0, { ok: true, latencyMs: 1 }, s(9))).toBeUndefined();
    expect(health.current).toBe("down");
    expect(health.record(2, { ok: true, latencyMs: 0.25 }, s(10))).toMatchObject({ from: "down", to: "up", cause: "ping reply in 0.3 ms" });
  });

  test("a down check and a pending one make the target down", () => {
    const health = new TargetHealth(TARGET, [TCP80, PING], true, 0);
    health.record(0, { ok: true, latencyMs: 1 }, s(0));
    expect(health.expire(s(8))).toMatchObject({ from: "pending", to: "down", cause: "ping no answer for 8 s" });
  });
});

describe("operator disable and targets without checks", () => {
  test("disable wins over up and pending, one event each way; the checks keep running meanwhile", () => {
    const health = new TargetHealth(TARGET, [TCP80, PING], true, 0);
    health.record(0, { ok: true, latencyMs: 1 }, s(0));
    health.record(1, { ok: true, latencyMs: 1 }, s(0));
    expect(health.setEnabled(false, s(1), "operator")).toMatchObject({ from: "up", to: "disabled", cause: "disabled by operator" });
    expect(health.setEnabled(false, s(1), "operator")).toBeUndefined();
    expect(health.record(0, { ok: true, latencyMs: 1 }, s(2))).toBeUndefined();
    expect(health.record(0, { ok: false, cause: "refused" }, s(4))).toBeUndefined();
    expect(health.current).toBe("disabled");
    expect(health.snapshot().reason).toBe("disabled by operator");
    // The checks kept running while disabled, so enabling knows the truth at once.
    expect(health.setEnabled(true, s(5), "operator")).toMatchObject({ from: "disabled", to: "up", cause: "enabled by operator, tcpopen 80 connected in 1.0 ms, ping reply in 1.0 ms" });
  });

  test("a disabled (draining) target whose checks go down is down, so its sessions end; it drains again once they recover", () => {
    const health = new TargetHealth(TARGET, [TCP80], true, 0);
    health.record(0, { ok: true, latencyMs: 1 }, s(0));
    expect(health.setEnabled(false, s(1), "operator")).toMatchObject({ to: "disabled" });
    health.record(0, { ok: false, cause: "refused" }, s(4));
    expect(health.expire(s(20))).toMatchObject({ from: "disabled", to: "down", cause: "tcpopen 80 refused for 10 s" });
    expect(health.current).toBe("down");
    // Enabling a dead target changes nothing visible: it stays down until a check succeeds.
    expect(health.setEnabled(true, s(21), "operator")).toBeUndefined();
    expect(health.setEnabled(false, s(22), "operator")).toBeUndefined();
    expect(health.record(0, { ok: true, latencyMs: 1 }, s(23))).toMatchObject({ from: "down", to: "disabled", cause: "tcpopen 80 connected in 1.0 ms; disabled by operator" });
    expect(health.setEnabled(true, s(24), "operator")).toMatchObject({ from: "disabled", to: "up" });
  });

  test("the configuration's enable/disable is told apart from the operator's, and restating a flag changes nothing", () => {
    const health = new TargetHealth(TARGET, [TCP80], false, 0);
    expect(health.snapshot().reason).toBe("disabled in the configuration");
    expect(health.record(0, { ok: true, latencyMs: 1 }, s(1))).toBeUndefined();
    expect(health.setEnabled(true, s(2), "configuration")).toMatchObject({ to: "up", cause: "enabled by the configuration, tcpopen 80 connected in 1.0 ms" });
    expect(health.setEnabled(false, s(3), "operator")).toMatchObject({ to: "disabled", cause: "disabled by operator" });
    // A reload whose file disables it too: the operator's word stays the reason.
    expect(health.setEnabled(false, s(4), "configuration")).toBeUndefined();
    expect(health.snapshot().reason).toBe("disabled by operator");
    expect(health.setEnabled(true, s(5), "configuration")).toMatchObject({ from: "disabled", to: "up", cause: "enabled by the configuration, tcpopen 80 connected in 1.0 ms" });
  });

  test("a disabled target stays disabled through a success", () => {
    const health = new TargetHealth(TARGET, [TCP80], false, 0);
    expect(health.current).toBe("disabled");
    expect(health.record(0, { ok: true, latencyMs: 1 }, s(1))).toBeUndefined();
    expect(health.setEnabled(true, s(2), "operator")).toMatchObject({ to: "up", cause: "enabled by operator, tcpopen 80 connected in 1.0 ms" });
  });

  test("a target without checks is up when enabled and never expires", () => {
    const health = new TargetHealth(TARGET, [], true, 0);
    expect(health.current).toBe("up");
    expect(health.snapshot().reason).toBe("no health checks configured");
    expect(health.nextDeadlineMs()).toBeUndefined();
    expect(health.expire(s(1e6))).toBeUndefined();
    expect(health.setEnabled(false, s(1), "operator")?.to).toBe("disabled");
    expect(health.setEnabled(true, s(2), "operator")?.to).toBe("up");
  });
});

test("the snapshot keeps per check the last result, cause, latency and last success", () => {
  const health = new TargetHealth(TARGET, [TCP80, PING], true, 0);
  health.record(0, { ok: true, latencyMs: 0.7 }, s(1));
  health.record(0, { ok: false, cause: "refused" }, s(3));
  const snapshot = health.snapshot();
  expect(snapshot).toMatchObject({ id: 1, ipaddr: "172.16.1.100", port: 80, enabled: true, state: "pending" });
  expect(snapshot.reason).toBe("ping no success yet");
  expect(snapshot.checks).toEqual([
    {
      kind: "tcpopen",
      port: 80,
      path: undefined,
      load: undefined,
      intervalS: 2,
      timeoutS: 10,
      state: "up",
      lastResult: "fail",
      failureCause: "refused",
      latencyMs: 0.7,
      lastSuccessMs: s(1),
      lastAttemptMs: s(3),
    },
    {
      kind: "ping",
      port: undefined,
      path: undefined,
      load: undefined,
      intervalS: 3,
      timeoutS: 8,
      state: "pending",
      lastResult: "pending",
      failureCause: undefined,
      latencyMs: undefined,
      lastSuccessMs: undefined,
      lastAttemptMs: undefined,
    },
  ]);
});
