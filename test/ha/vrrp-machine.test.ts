import { describe, expect, test } from "bun:test";
import { checkVrrpAdvert, createAdvertFields, createVrrpRouter, writeVrrpAdvert, ADVERT_ACCEPTED } from "../../src/ha/vrrp-advert.ts";
import { STATE_BACKUP, STATE_INIT, STATE_MASTER, UNHEALTHY_PRIORITY, VrrpMachine, type VrrpMachineConfig } from "../../src/ha/vrrp-machine.ts";
import { ip } from "../fixtures/frames.ts";
import { Lan } from "./vrrp-lan.ts";

const A = ip("10.0.0.1");
const B = ip("10.0.0.2");

function machine(config: Partial<VrrpMachineConfig> = {}): VrrpMachine {
  return new VrrpMachine({ priority: 100, intervalS: 1, preempt: true, realAddress: A, syncPeer: false, ...config });
}

/** Master_Down_Interval of a priority at interval 1 s, per RFC 3768: 3 s + (256 - p)/256 s. */
function masterDown(priority: number): number {
  return 3000 + ((256 - priority) * 1000) / 256;
}

/** A machine started at 0 and left to become master at its Master_Down_Interval. */
function master(config: Partial<VrrpMachineConfig> = {}): VrrpMachine {
  const m = machine(config);
  m.step(0, { kind: "startup" });
  m.step(m.nextDeadlineMs(), { kind: "tick" });
  expect(m.state).toBe(STATE_MASTER);
  return m;
}

describe("the configuration", () => {
  test("priority 1-254 (bng never owns the address) and a whole-second interval", () => {
    expect(() => machine({ priority: 0 })).toThrow(RangeError);
    expect(() => machine({ priority: 255 })).toThrow(RangeError);
    expect(() => machine({ intervalS: 0 })).toThrow(RangeError);
    expect(() => machine({ intervalS: 1.5 })).toThrow(RangeError);
    expect(() => machine({ syncWaitIntervals: 0 })).toThrow(RangeError);
  });

  test("Skew_Time and Master_Down_Interval follow the effective priority", () => {
    const m = machine({ priority: 200, intervalS: 2 });
    expect(m.skewTimeMs()).toBe(218.75);
    expect(m.masterDownIntervalMs()).toBe(6218.75);
    m.step(0, { kind: "health", healthy: false });
    expect(m.effectivePriority).toBe(UNHEALTHY_PRIORITY);
    expect(m.masterDownIntervalMs()).toBe(6000 + (255 * 1000) / 256);
  });
});

describe("RFC 3768 6.4.1 Initialize", () => {
  test("Startup: Master_Down_Timer set to Master_Down_Interval, to Backup", () => {
    const m = machine();
    expect(m.state).toBe(STATE_INIT);
    expect(m.nextDeadlineMs()).toBe(Infinity);
    expect(m.step(500, { kind: "startup" })).toEqual([{ kind: "backup", reason: "startup" }]);
    expect(m.stateName).toBe("backup");
    expect(m.nextDeadlineMs()).toBe(500 + masterDown(100));
  });

  test("adverts, ticks and a shutdown change nothing before startup", () => {
    const m = machine();
    expect(m.step(0, { kind: "advert", priority: 200, sourceIp: B })).toEqual([]);
    expect(m.step(10_000, { kind: "tick" })).toEqual([]);
    expect(m.step(10_000, { kind: "shutdown" })).toEqual([]);
    expect(m.state).toBe(STATE_INIT);
    expect(m.transitions).toBe(0);
  });
});

describe("RFC 3768 6.4.2 Backup", () => {
  test("Master_Down_Timer fires: send an advert, become master (gratuitous ARPs), set Adver_Timer", () => {
    const m = machine();
    m.step(0, { kind: "startup" });
    expect(m.step(masterDown(100) - 0.001, { kind: "tick" })).toEqual([]);
    expect(m.step(masterDown(100), { kind: "tick" })).toEqual([
      { kind: "advert", priority: 100 },
      { kind: "master", reason: "master-down" },
    ]);
    expect(m.nextDeadlineMs()).toBe(masterDown(100) + 1000);
    expect(m.masterAddress).toBe(A);
    expect(m.lastTransitionAtMs).toBe(masterDown(100));
  });

  test("Shutdown: cancel the timer, to Initialize without an advert", () => {
    const m = machine();
    m.step(0, { kind: "startup" });
    expect(m.step(1000, { kind: "shutdown" })).toEqual([{ kind: "init", reason: "shutdown" }]);
    expect(m.nextDeadlineMs()).toBe(Infinity);
    expect(m.step(1000, { kind: "startup" })).toEqual([{ kind: "backup", reason: "startup" }]);
  });

  test("a priority 0 advert sets Master_Down_Timer to Skew_Time", () => {
    const m = machine();
    m.step(0, { kind: "startup" });
    m.step(1000, { kind: "advert", priority: 150, sourceIp: B });
    expect(m.masterAddress).toBe(B);
    expect(m.step(1500, { kind: "advert", priority: 0, sourceIp: B })).toEqual([]);
    expect(m.nextDeadlineMs()).toBe(1500 + m.skewTimeMs());
    expect(m.masterAddress).toBe(0);
    expect(m.step(1500 + m.skewTimeMs(), { kind: "tick" })).toEqual([
      { kind: "advert", priority: 100 },
      { kind: "master", reason: "priority-zero" },
    ]);
  });

  test.each([150, 100])("an advert of priority %i (>= ours) resets Master_Down_Timer", (priority) => {
    const m = machine();
    m.step(0, { kind: "startup" });
    for (let t = 1000; t <= 30_000; t += 1000) {
      expect(m.step(t, { kind: "advert", priority, sourceIp: B })).toEqual([]);
      expect(m.nextDeadlineMs()).toBe(t + masterDown(100));
    }
    expect(m.state).toBe(STATE_BACKUP);
    expect(m.masterAddress).toBe(B);
    expect(m.masterPriority).toBe(priority);
  });

  test("preempt enabled: a lower priority advert is discarded, so the timer runs out and we preempt", () => {
    const m = machine({ priority: 200 });
    m.step(0, { kind: "startup" });
    for (let t = 1000; t < masterDown(200); t += 1000) {
      expect(m.step(t, { kind: "advert", priority: 100, sourceIp: B })).toEqual([]);
    }
    expect(m.nextDeadlineMs()).toBe(masterDown(200));
    expect(m.step(masterDown(200), { kind: "tick" })).toEqual([
      { kind: "advert", priority: 200 },
      { kind: "master", reason: "preempt" },
    ]);
  });

  test("preempt disabled: a lower priority advert resets the timer", () => {
    const m = machine({ priority: 200, preempt: false });
    m.step(0, { kind: "startup" });
    for (let t = 1000; t <= 60_000; t += 1000) m.step(t, { kind: "advert", priority: 100, sourceIp: B });
    expect(m.state).toBe(STATE_BACKUP);
    expect(m.nextDeadlineMs()).toBe(60_000 + masterDown(200));
  });

  test("a late event first fires the timer that was due", () => {
    const m = machine();
    m.step(0, { kind: "startup" });
    expect(m.step(5000, { kind: "advert", priority: 150, sourceIp: B })).toEqual([
      { kind: "advert", priority: 100 },
      { kind: "master", reason: "master-down" },
      { kind: "backup", reason: "higher-priority" },
    ]);
    expect(m.nextDeadlineMs()).toBe(5000 + masterDown(100));
  });
});

describe("RFC 3768 6.4.3 Master", () => {
  test("Adver_Timer fires: an advert every interval, on cadence even when ticked late", () => {
    const m = master();
    const start = m.lastTransitionAtMs;
    const adverts: number[] = [];
    for (let t = start; t <= start + 10_000; t += 250) {
      for (const action of m.step(t + (t % 1000 === 0 ? 7 : 0), { kind: "tick" })) if (action.kind === "advert") adverts.push(t);
    }
    expect(adverts.length).toBe(10);
    expect(m.nextDeadlineMs()).toBe(start + 11_000);
    // Ticked more than an interval late: one advert, then an interval from now.
    expect(m.step(start + 20_000, { kind: "tick" })).toEqual([{ kind: "advert", priority: 100 }]);
    expect(m.nextDeadlineMs()).toBe(start + 21_000);
  });

  test("Shutdown: an advert of priority 0, then Initialize", () => {
    const m = master();
    expect(m.step(4000, { kind: "shutdown" })).toEqual([
      { kind: "advert", priority: 0 },
      { kind: "init", reason: "shutdown" },
    ]);
    expect(m.nextDeadlineMs()).toBe(Infinity);
  });

  test("a priority 0 advert: send an advert at once and reset Adver_Timer", () => {
    const m = master();
    expect(m.step(4000, { kind: "advert", priority: 0, sourceIp: B })).toEqual([{ kind: "advert", priority: 100 }]);
    expect(m.nextDeadlineMs()).toBe(5000);
    expect(m.state).toBe(STATE_MASTER);
  });

  test("a higher priority advert: cancel Adver_Timer, Master_Down_Timer, to Backup", () => {
    const m = master();
    expect(m.step(4000, { kind: "advert", priority: 101, sourceIp: B })).toEqual([{ kind: "backup", reason: "higher-priority" }]);
    expect(m.nextDeadlineMs()).toBe(4000 + masterDown(100));
    expect(m.masterAddress).toBe(B);
    expect(m.masterPriority).toBe(101);
  });

  test("an equal priority: the higher primary address wins", () => {
    const low = master({ realAddress: A });
    expect(low.step(4000, { kind: "advert", priority: 100, sourceIp: B })).toEqual([{ kind: "backup", reason: "higher-priority" }]);
    const high = master({ realAddress: B });
    expect(high.step(4000, { kind: "advert", priority: 100, sourceIp: A })).toEqual([]);
    expect(high.state).toBe(STATE_MASTER);
  });

  test("a lower priority advert is discarded", () => {
    const m = master();
    expect(m.step(4000, { kind: "advert", priority: 99, sourceIp: B })).toEqual([]);
    expect(m.state).toBe(STATE_MASTER);
    expect(m.masterAddress).toBe(A);
  });

  test("a flood of adverts with a bad checksum changes no state", () => {
    const m = master();
    const before = { state: m.state, deadline: m.nextDeadlineMs(), transitions: m.transitions };
    const peer = createVrrpRouter({ vrid: 1, intervalS: 1, realAddress: B, addresses: [ip("10.0.0.10")] });
    const ours = createVrrpRouter({ vrid: 1, intervalS: 1, realAddress: A, addresses: [ip("10.0.0.10")] });
    const frame = new Uint8Array(64);
    const fields = createAdvertFields();
    let accepted = 0;
    for (let i = 0; i < 10_000; i++) {
      const length = writeVrrpAdvert(frame, 0, peer, 254, i);
      frame[40]! ^= 1 + (i % 255); // the VRRP checksum
      if (checkVrrpAdvert(frame, 0, length, ours, fields) !== ADVERT_ACCEPTED) continue;
      accepted++;
      m.step(3700, { kind: "advert", priority: fields.priority, sourceIp: fields.sourceIp });
    }
    expect(accepted).toBe(0);
    expect({ state: m.state, deadline: m.nextDeadlineMs(), transitions: m.transitions }).toEqual(before);
    // The same advert with its checksum intact takes effect.
    const length = writeVrrpAdvert(frame, 0, peer, 254, 0);
    expect(checkVrrpAdvert(frame, 0, length, ours, fields)).toBe(ADVERT_ACCEPTED);
    m.step(3700, { kind: "advert", priority: fields.priority, sourceIp: fields.sourceIp });
    expect(m.state).toBe(STATE_BACKUP);
  });
});

describe("two nodes on a LAN", () => {
  function pair(a: Partial<VrrpMachineConfig>, b: Partial<VrrpMachineConfig>): Lan {
    const lan = new Lan([machine({ realAddress: A, ...a }), machine({ realAddress: B, ...b })], [A, B]);
    // Outside takeovers there is never more than one master for longer than an advert's trip.
    let bothSince = -1;
    lan.onStep = (now) => {
      if (lan.masters().length < 2) bothSince = -1;
      else if (bothSince < 0) bothSince = now;
      else expect(now - bothSince).toBeLessThanOrEqual(lan.latencyMs);
    };
    return lan;
  }

  test("started together, the higher priority is master and the other stays backup and silent", () => {
    const lan = pair({ priority: 200 }, { priority: 100 });
    lan.schedule(0, 0, { kind: "startup" });
    lan.schedule(0, 1, { kind: "startup" });
    lan.run(60_000);
    expect(lan.masters()).toEqual([0]);
    expect(lan.entries("advert", 1)).toEqual([]);
    expect(lan.machines[1]!.masterAddress).toBe(A);
  });

  test("equal priorities: the higher real address ends up master", () => {
    const lan = pair({ priority: 100 }, { priority: 100 });
    lan.schedule(0, 0, { kind: "startup" });
    lan.schedule(0, 1, { kind: "startup" });
    lan.run(30_000);
    expect(lan.masters()).toEqual([1]);
  });

  test("the master is killed: the backup takes over within Master_Down_Interval", () => {
    const lan = pair({ priority: 200 }, { priority: 100 });
    lan.schedule(0, 0, { kind: "startup" });
    lan.schedule(0, 1, { kind: "startup" });
    lan.schedule(20_000, 0, "kill");
    lan.run(40_000);
    expect(lan.masters()).toEqual([1]);
    const [takeover] = lan.entries("master", 1);
    expect(takeover!.action).toEqual({ kind: "master", reason: "master-down" });
    // The last advert of node 0 came before 20 s; the takeover comes Master_Down_Interval after it.
    const lastAdvert = lan.entries("advert", 0).at(-1)!.at;
    expect(takeover!.at).toBe(lastAdvert + lan.latencyMs + masterDown(100));
    expect(takeover!.at - 20_000).toBeLessThanOrEqual(3 * 1000 + 1000);
  });

  test("a master that shuts down hands over after the backup's Skew_Time", () => {
    const lan = pair({ priority: 200 }, { priority: 100 });
    lan.schedule(0, 0, { kind: "startup" });
    lan.schedule(0, 1, { kind: "startup" });
    lan.schedule(20_000, 0, { kind: "shutdown" });
    lan.run(30_000);
    expect(lan.masters()).toEqual([1]);
    expect(lan.entries("master", 1)[0]).toEqual({ at: 20_000 + 1 + (156 * 1000) / 256, node: 1, action: { kind: "master", reason: "priority-zero" } });
  });

  test("tracking: an unhealthy master steps down at once, the healthy peer takes over, and it comes back when healthy", () => {
    const lan = pair({ priority: 200 }, { priority: 100 });
    lan.schedule(0, 0, { kind: "startup" });
    lan.schedule(0, 1, { kind: "startup" });
    lan.schedule(20_000, 0, { kind: "health", healthy: false });
    lan.schedule(40_000, 0, { kind: "health", healthy: true });
    lan.run(39_999);
    expect(lan.entries("advert", 0, 20_000)[0]).toEqual({ at: 20_000, node: 0, action: { kind: "advert", priority: 0 } });
    expect(lan.entries("backup", 0, 20_000)).toEqual([{ at: 20_000, node: 0, action: { kind: "backup", reason: "tracking" } }]);
    expect(lan.entries("master", 1)).toEqual([{ at: 20_000 + 1 + (156 * 1000) / 256, node: 1, action: { kind: "master", reason: "priority-zero" } }]);
    expect(lan.masters()).toEqual([1]);
    // Unhealthy, node 0 does not preempt node 1's lower configured priority.
    expect(lan.machines[0]!.effectivePriority).toBe(1);
    lan.run(60_000);
    expect(lan.masters()).toEqual([0]);
    const [back] = lan.entries("master", 0, 40_000);
    expect(back!.action).toEqual({ kind: "master", reason: "preempt" });
    expect(back!.at).toBeLessThanOrEqual(40_000 + masterDown(200) + 1000);
  });

  test("tracking: both unhealthy, one of them stays master at priority 1, with no flapping", () => {
    const lan = pair({ priority: 200 }, { priority: 100 });
    lan.schedule(0, 0, { kind: "startup" });
    lan.schedule(0, 1, { kind: "startup" });
    lan.schedule(10_000, 1, { kind: "health", healthy: false });
    lan.schedule(20_000, 0, { kind: "health", healthy: false });
    lan.run(30_000);
    expect(lan.masters()).toEqual([1]);
    const transitions = lan.machines.map((m) => m.transitions);
    lan.run(120_000);
    expect(lan.masters()).toEqual([1]);
    expect(lan.machines.map((m) => m.transitions)).toEqual(transitions);
    expect(lan.entries("advert", 1, 30_000).every((entry) => entry.action.kind === "advert" && entry.action.priority === 1)).toBe(true);
  });

  test("tracking: with preempt disabled, a healthy backup still takes over from a master at priority 1, not from a healthy one", () => {
    const lan = pair({ priority: 200, preempt: false }, { priority: 100 });
    lan.schedule(0, 1, { kind: "startup" });
    lan.schedule(0, 1, { kind: "health", healthy: false });
    lan.schedule(10_000, 0, { kind: "startup" });
    lan.run(30_000);
    expect(lan.masters()).toEqual([0]);
    expect(lan.entries("master", 0)[0]!.action).toEqual({ kind: "master", reason: "preempt" });

    const healthy = pair({ priority: 200, preempt: false }, { priority: 100 });
    healthy.schedule(0, 1, { kind: "startup" });
    healthy.schedule(10_000, 0, { kind: "startup" });
    healthy.run(60_000);
    expect(healthy.masters()).toEqual([1]);
  });

  test("tracking: a lone master that turns unhealthy steps down and is master again after its longest Master_Down_Interval", () => {
    const m = master({ priority: 200 });
    const actions = m.step(4000, { kind: "health", healthy: false });
    expect(actions).toEqual([
      { kind: "advert", priority: 0 },
      { kind: "backup", reason: "tracking" },
    ]);
    const again = 4000 + masterDown(1);
    expect(m.nextDeadlineMs()).toBe(again);
    expect(m.step(again, { kind: "tick" })).toEqual([
      { kind: "advert", priority: 1 },
      { kind: "master", reason: "master-down" },
    ]);
    // Healthy again: an advert with the configured priority at once.
    expect(m.step(again + 500, { kind: "health", healthy: true })).toEqual([{ kind: "advert", priority: 200 }]);
    expect(m.nextDeadlineMs()).toBe(again + 1500);
    expect(m.masterPriority).toBe(200);
  });

  test("tracking: health changes of a backup send nothing", () => {
    const m = machine();
    m.step(0, { kind: "startup" });
    expect(m.step(100, { kind: "health", healthy: false })).toEqual([]);
    expect(m.step(200, { kind: "health", healthy: true })).toEqual([]);
    expect(m.step(300, { kind: "health", healthy: true })).toEqual([]);
  });
});

describe("preemption waits for the session table", () => {
  /** Node 1 (priority 100) is master; node 0 (priority 200, a sync peer configured) restarts at 20 s. */
  function restart(config: Partial<VrrpMachineConfig>): Lan {
    const lan = new Lan([machine({ realAddress: A, priority: 200, syncPeer: true, ...config }), machine({ realAddress: B, priority: 100 })], [A, B]);
    lan.schedule(0, 1, { kind: "startup" });
    lan.schedule(20_000, 0, { kind: "startup" });
    return lan;
  }

  test("a restarted node holds back until the table has arrived, then preempts", () => {
    const lan = restart({});
    lan.run(40_000);
    expect(lan.masters()).toEqual([1]);
    const waits = lan.entries("waiting-for-sync", 0);
    expect(waits.length).toBe(1);
    expect(waits[0]!.action).toEqual({ kind: "waiting-for-sync", boundMs: 10 * masterDown(200) });
    expect(lan.machines[0]!.waitingForSync).toBe(true);
    lan.schedule(40_000, 0, { kind: "sync", ready: true });
    lan.run(60_000);
    expect(lan.masters()).toEqual([0]);
    const [takeover] = lan.entries("master", 0);
    expect(takeover!.action).toEqual({ kind: "master", reason: "preempt" });
    // The timer was last reset by the advert before 40 s; it runs out Master_Down_Interval later.
    expect(takeover!.at).toBeGreaterThan(40_000);
    expect(takeover!.at).toBeLessThanOrEqual(40_000 + masterDown(200));
    expect(lan.machines[0]!.waitingForSync).toBe(false);
  });

  test("a dead sync link delays preemption by the bound only, and the takeover says so", () => {
    const lan = restart({ syncWaitIntervals: 3 });
    lan.run(120_000);
    expect(lan.masters()).toEqual([0]);
    const [wait] = lan.entries("waiting-for-sync", 0);
    const [takeover] = lan.entries("master", 0);
    expect(takeover!.action).toEqual({ kind: "master", reason: "preempt-without-sync" });
    const bound = 3 * masterDown(200);
    expect(takeover!.at).toBeGreaterThanOrEqual(wait!.at + bound);
    expect(takeover!.at).toBeLessThanOrEqual(wait!.at + bound + 1000 + masterDown(200));
  });

  test("waiting for the table never delays a takeover from a master that went silent", () => {
    const lan = restart({});
    lan.schedule(30_000, 1, "kill");
    lan.run(40_000);
    expect(lan.masters()).toEqual([0]);
    const [takeover] = lan.entries("master", 0);
    expect(takeover!.action).toEqual({ kind: "master", reason: "master-down" });
    expect(takeover!.at).toBeLessThanOrEqual(30_000 + masterDown(200));
  });

  test("without a sync peer there is nothing to wait for", () => {
    const lan = restart({ syncPeer: false });
    lan.run(40_000);
    expect(lan.masters()).toEqual([0]);
    expect(lan.entries("waiting-for-sync")).toEqual([]);
    expect(lan.entries("master", 0)[0]!.at).toBeLessThanOrEqual(20_000 + masterDown(200));
  });

  test("sync readiness may come before the peer is even heard: no hold at all", () => {
    const lan = restart({});
    lan.schedule(20_000, 0, { kind: "sync", ready: true });
    lan.run(40_000);
    expect(lan.masters()).toEqual([0]);
    expect(lan.entries("waiting-for-sync")).toEqual([]);
    expect(lan.machines[0]!.syncReady).toBe(true);
  });
});
