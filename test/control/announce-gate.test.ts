// `set announce` at start-up: a starting node holds its VIPs back until its view of the targets
// has settled (every first verdict in, every up target's MAC learned), so that its Maglev table
// is its peers' before the router sends it flows; then the VIP follows its usable targets.
import { afterAll, describe, expect, test } from "bun:test";
import type { TargetDef } from "../../src/config/model.ts";
import { StartupAnnounceGate, startupDeadlineMs, targetsSettled } from "../../src/control/announce-gate.ts";
import { VIP_ANSWERS } from "../../src/dataplane/table-layout.ts";
import type { HealthState } from "../../src/health/state.ts";
import { ip } from "../fixtures/frames.ts";
import { DaemonHarness, runCli, SEED_FAST_CHECKS_TEXT, VIP } from "./harness.ts";

function target(id: number, checks: { tcpopenTimeoutsS?: number[]; pingTimeoutS?: number } = {}): TargetDef {
  return {
    id,
    tcpopen: (checks.tcpopenTimeoutsS ?? []).map((timeoutS) => ({ port: 80, intervalS: 1, timeoutS })),
    dsrcheck: [],
    ...(checks.pingTimeoutS === undefined ? {} : { ping: { intervalS: 1, timeoutS: checks.pingTimeoutS } }),
  } as unknown as TargetDef;
}

describe("the start-up gate", () => {
  const targets = [target(1), target(2)];
  const view = (states: Record<number, HealthState | undefined>, macs: number[]) => targetsSettled(targets, (id) => states[id], (id) => macs.includes(id));

  test("settled: every target up (with its MAC), down or disabled; not while one is pending, unchecked, or up without a MAC", () => {
    expect(view({ 1: "up", 2: "down" }, [1])).toBe(true);
    expect(view({ 1: "disabled", 2: "up" }, [2])).toBe(true);
    expect(view({ 1: "up", 2: "pending" }, [1, 2])).toBe(false);
    expect(view({ 1: "up", 2: undefined }, [1, 2])).toBe(false);
    expect(view({ 1: "up", 2: "up" }, [1])).toBe(false);
    expect(targetsSettled([], () => undefined, () => false)).toBe(true);
  });

  test("the deadline: the longest check timeout of any target, and three ARP rounds, after the start", () => {
    expect(startupDeadlineMs(1000, [target(1, { tcpopenTimeoutsS: [10, 4] }), target(2, { pingTimeoutS: 12 })])).toBe(1000 + 12_000 + 3000);
    expect(startupDeadlineMs(1000, [target(1)])).toBe(1000 + 3000);
  });

  test("opens once settled or at the deadline, and stays open", () => {
    const gate = new StartupAnnounceGate(5000);
    let asked = 0;
    const unsettled = () => (asked++, false);
    expect(gate.open(100, unsettled)).toBe(false);
    expect(gate.open(4999, unsettled)).toBe(false);
    expect(gate.open(5000, unsettled)).toBe(true);
    expect(gate.isOpen).toBe(true);
    const asks = asked;
    expect(gate.open(6000, unsettled)).toBe(true);
    expect(asked).toBe(asks);
    expect(new StartupAnnounceGate(5000).open(0, () => true)).toBe(true);
  });
});

describe("a starting bng with set announce", () => {
  const harness = new DaemonHarness();
  afterAll(() => harness.stop());

  test("announces its VIP only once both targets are up and their MACs learned; withdraws it when both go down, announces it when one is back", async () => {
    harness.healthy.add("172.16.1.100").add("172.16.1.101");
    await harness.start(`set announce 100\n${SEED_FAST_CHECKS_TEXT}`);
    const states = () => [1, 2].map((id) => harness.daemon.healthMonitor.state(id));
    harness.answerArp([1]);
    await harness.waitFor(() => states().every((state) => state === "up") && harness.daemon.targetMac(1) !== undefined, "both targets up, target 1's MAC learned");
    // Target 1 alone could serve, but a peer's Maglev table has target 2 too: not yet.
    await Bun.sleep(300);
    expect(harness.announcedVips).toEqual([]);
    // Nor does it forward for the VIP meanwhile: frames a stale route brings stall instead.
    const answersVip = () => {
      const table = harness.daemon.publishedTable()!;
      return table.vipField(table.findVip(ip(VIP)), VIP_ANSWERS);
    };
    expect(answersVip()).toBe(0);
    const routesLine = async () => (await runCli(["status", "--socket", harness.socket])).stdout.split("\n").find((line) => line.startsWith("routes"));
    expect(await routesLine()).toBe(`routes (set announce, table 100): ${VIP} not announced`);
    harness.answerArp([2]);
    await harness.waitFor(() => harness.announcedVips.length > 0, "the VIP announced");
    expect(harness.announcedVips).toEqual([ip(VIP)]);
    expect(answersVip()).toBe(1);
    expect(await routesLine()).toBe(`routes (set announce, table 100): ${VIP} announced`);

    harness.healthy.clear();
    await harness.waitFor(() => harness.announcedVips.length === 0, "the VIP withdrawn with both targets down", 5000);
    harness.healthy.add("172.16.1.101");
    await harness.waitFor(() => harness.announcedVips.length > 0, "the VIP announced again with target 2 up", 5000);
    expect(harness.announcedVips).toEqual([ip(VIP)]);
  }, 15_000);
});
