// The console's views and `clear counters` over the real control socket of a real Daemon (the
// in-memory box of DaemonHarness), by the command line in this process: what they print is
// checked against the configuration and the traffic the test pushed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sendControlRequest } from "../../src/control/socket-client.ts";
import { DaemonHarness, runCli, sampleValue, SEED_FAST_CHECKS_TEXT } from "../control/harness.ts";

const harness = new DaemonHarness();
const cli = (...args: string[]) => runCli([...args, "--socket", harness.socket]);

beforeAll(async () => {
  await harness.start(`set sessions 4096\n${SEED_FAST_CHECKS_TEXT}`);
  harness.healthy.add("172.16.1.100");
  harness.answerArp([1]);
  await harness.waitFor(() => harness.daemon.healthMonitor.state(1) === "up" && harness.daemon.targetMac(1) !== undefined, "target 1 up with its MAC", 10_000);
  for (let client = 1; client <= 4; client++) harness.clientFrame(`198.51.100.${client}`);
});
afterAll(() => harness.stop());

describe("show views", () => {
  test("show parameters: every set name, the file's values and the defaults", async () => {
    const human = await cli("show", "parameters");
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^PARAMETER +VALUE +FROM$/m);
    expect(human.stdout).toMatch(/^sessions +4096 +file$/m);
    expect(human.stdout).toMatch(/^workers +1 +default$/m);
    expect(human.stdout).toMatch(/^metrics +- +default$/m);
    expect(human.stdout).toMatch(/^syslog +disable +default$/m);
    const json = JSON.parse((await cli("show", "parameters", "--json")).stdout) as { name: string; value: string | null; explicit: boolean }[];
    expect(json.find((row) => row.name === "sessions")).toEqual({ name: "sessions", value: "4096", explicit: true });
    expect(json.find((row) => row.name === "io")).toEqual({ name: "io", value: "mmsg", explicit: false });
  });

  test("show config: the running configuration in BalanceNG syntax, operator changes included", async () => {
    expect((await cli("disable", "target", "2")).code).toBe(0);
    const shown = await cli("show", "config");
    expect(shown.code).toBe(0);
    expect(shown.stdout).toStartWith("// configuration taken ");
    expect(shown.stdout).toContain("set sessions 4096\n");
    // Target 2 is registered but no longer enabled.
    expect(shown.stdout).toMatch(/^register targets 1,2\nenable target 1$/m);
    expect(shown.stdout).toContain("// end of configuration");
    expect((await cli("enable", "target", "2")).code).toBe(0);
  });

  test("show arp: each target's address and MAC (or unresolved) on bng's interface", async () => {
    const shown = await cli("show", "arp");
    expect(shown.stdout).toMatch(/^ADDRESS +MAC +INTERFACE +TARGET$/m);
    expect(shown.stdout).toMatch(/^172\.16\.1\.100 +02:00:00:00:0b:01 +eth0 +1$/m);
    expect(shown.stdout).toMatch(/^172\.16\.1\.101 +unresolved +eth0 +2$/m);
    expect(JSON.parse((await cli("show", "arp", "--json")).stdout)).toEqual([
      { address: "172.16.1.100", mac: "02:00:00:00:0b:01", interface: "eth0", target: 1 },
      { address: "172.16.1.101", mac: null, interface: "eth0", target: 2 },
    ]);
  });

  test("show hc: each check with its result; --json the targets' checks", async () => {
    const shown = await cli("show", "hc");
    expect(shown.stdout).toMatch(/^1 +172\.16\.1\.100:80 +up +tcpopen 80 +1s\/2s +ok +0\.3ms +\S+s ago +/m);
    expect(shown.stdout).toMatch(/^2 +172\.16\.1\.101:80 +down \(\w+\) +tcpopen 80 +1s\/2s +(fail \(refused\)|pending) +- +never +/m);
    const json = JSON.parse((await cli("show", "hc", "--json")).stdout) as { id: number; checks: { type: string; port: number }[] }[];
    expect(json.map((row) => [row.id, row.checks[0]!.type, row.checks[0]!.port])).toEqual([[1, "tcpopen", 80], [2, "tcpopen", 80]]);
  });

  test("show vrrp without a vrrp block says so; --json is null", async () => {
    expect((await cli("show", "vrrp")).stdout.trim()).toBe("vrrp: not configured (no vrrp block in the running configuration)");
    expect((await cli("show", "vrrp", "--json")).stdout.trim()).toBe("null");
  });
});

describe("clear counters", () => {
  test("status counts from zero again; the metrics keep counting; new traffic counts on", async () => {
    const before = await sendControlRequest(harness.socket, { cmd: "status" });
    const target1 = (result: unknown) => (result as { targets: { id: number; packets: number }[] }).targets.find((target) => target.id === 1)!.packets;
    expect(before.ok && target1(before.result)).toBe(4);
    const cleared = await cli("clear", "counters");
    expect(cleared.code).toBe(0);
    expect(cleared.stdout).toContain("counters cleared");
    const after = await sendControlRequest(harness.socket, { cmd: "status" });
    expect(after.ok && target1(after.result)).toBe(0);
    harness.clientFrame("198.51.100.1");
    const later = await sendControlRequest(harness.socket, { cmd: "status" });
    expect(later.ok && target1(later.result)).toBe(1);
    const metrics = await cli("metrics");
    expect(sampleValue(metrics.stdout, 'bng_target_packets_total{target="1",address="172.16.1.100:80"}')).toBe(5);
  });

  test("clear needs 'counters'", async () => {
    expect((await cli("clear")).code).toBe(2);
    expect((await cli("clear", "sessions")).stderr).toContain("clear needs 'counters'");
  });
});
