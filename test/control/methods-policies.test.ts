// Methods agent and bandwidth and `downpolicy` on a running daemon (the in-memory box of
// daemon-harness.ts): the daemon feeds the agents' loads and the measured bandwidths to the data
// plane, and keeps the sessions of a down target for servers that hold or reset them.
import { afterEach, describe, expect, test } from "bun:test";
import * as v from "valibot";
import type { StatusReport } from "../../src/control/status.ts";
import { TCP_ACK, TCP_PSH, TCP_RST, TCP_SYN, tcpFrame } from "../fixtures/frames.ts";
import { CLIENT_MAC, DaemonHarness, OWN_MAC, SEED_FAST_CHECKS_TEXT, VIP } from "./daemon-harness.ts";

const TARGET_1 = "172.16.1.100";
const TARGET_2 = "172.16.1.101";

let harness: DaemonHarness | undefined;
afterEach(() => harness?.stop());

/** The seed's file (tcpopen 80,1,2) with `serverLines` added to server 1 and `targetLines` to both targets. */
function configWith(serverLines: string[], targetLines: string[] = []): string {
  return SEED_FAST_CHECKS_TEXT.replace("targets 1,2\n}", ["targets 1,2", ...serverLines, "}"].join("\n")).replaceAll("tcpopen 80,1,2", ["tcpopen 80,1,2", ...targetLines].join("\n"));
}

async function status(daemon: DaemonHarness): Promise<StatusReport> {
  const reply = await daemon.daemon.handle({ cmd: "status" });
  if (!reply.ok) throw new Error(reply.error);
  return reply.result as StatusReport;
}

async function started(configText: string, loads?: [number, number]): Promise<DaemonHarness> {
  const daemon = new DaemonHarness();
  harness = daemon;
  daemon.healthy.add(TARGET_1).add(TARGET_2);
  if (loads) [TARGET_1, TARGET_2].forEach((address, i) => daemon.agentLoads.set(address, loads[i]!));
  await daemon.start(configText);
  daemon.answerArp([1, 2]);
  await daemon.waitFor(async () => (await status(daemon)).targets.every((t) => t.state === "up"), "both targets up with their MACs");
  return daemon;
}

const client = (i: number) => `198.51.100.${i + 1}`;
const newClients = (daemon: DaemonHarness, from: number, count: number) => Array.from({ length: count }, (_, i) => DaemonHarness.targetOf(daemon.clientFrame(client(from + i))));

describe("method agent", () => {
  test("new clients go to the target whose agent reports the least load, and follow each report", async () => {
    const daemon = await started(configWith(["method agent"], ["agent 439,1,3"]), [4, 0.5]);
    await daemon.waitFor(async () => (await status(daemon)).targets.map((t) => t.load).join() === "4,0.5", "both loads reported");
    expect(newClients(daemon, 0, 10)).toEqual(new Array(10).fill(2));
    daemon.agentLoads.set(TARGET_1, 0.25);
    await daemon.waitFor(async () => (await status(daemon)).targets[0]!.load === 0.25, "target 1's new load", 3000);
    expect(newClients(daemon, 10, 10)).toEqual(new Array(10).fill(1));
    // Existing clients keep their targets whatever the loads say.
    expect(newClients(daemon, 0, 1)).toEqual([2]);
    expect((await daemon.daemon.handle({ cmd: "metrics" })).ok).toBe(true);
  }, 15_000);

  test("a reload that restarts a target's checks forgets its load until its agent answers again", async () => {
    const daemon = await started(configWith(["method agent"], ["agent 439,1,3"]), [1, 2]);
    await daemon.waitFor(async () => (await status(daemon)).targets.map((t) => t.load).join() === "1,2", "both loads reported");
    // Target 1's agent now answers more slowly: its checks restart; its old load no longer counts.
    const file = daemon.writeConfig("slower.conf", configWith(["method agent"], ["agent 439,1,3"]).replace("ipaddr 172.16.1.100\nport 80\nprotocol tcp\ntcpopen 80,1,2\nagent 439,1,3", "ipaddr 172.16.1.100\nport 80\nprotocol tcp\ntcpopen 80,1,2\nagent 439,2,4"));
    const reply = await daemon.daemon.handle({ cmd: "reload", file });
    expect(reply.ok).toBe(true);
    expect((await status(daemon)).targets[0]!.load).toBeNull();
    expect(newClients(daemon, 0, 4)).toEqual([2, 2, 2, 2]);
  }, 15_000);
});

describe("method bandwidth", () => {
  test("new clients go to the target that was sent the fewest bytes a second", async () => {
    const daemon = await started(configWith(["method bandwidth"]));
    // Idle targets take turns.
    expect(newClients(daemon, 0, 2).sort()).toEqual([1, 2]);
    const heavy = [0, 1].find((i) => DaemonHarness.targetOf(daemon.clientFrame(client(i), 80, TCP_ACK)) === 1)!;
    const payload = new Uint8Array(1400);
    for (let i = 0; i < 200; i++) daemon.io.inject(tcpFrame({ src: CLIENT_MAC, dst: OWN_MAC, srcIp: client(heavy), dstIp: VIP, srcPort: 40000, dstPort: 80, flags: TCP_ACK | TCP_PSH, payload }));
    daemon.pump();
    const rates = async () => (await status(daemon)).targets.map((t) => t.bytes_per_s);
    await daemon.waitFor(async () => (await rates())[0]! > 10_000, "target 1's bandwidth measured", 3000);
    const [toOne, toTwo] = await rates();
    expect(toOne).toBeGreaterThan(toTwo! * 10);
    expect(newClients(daemon, 10, 10)).toEqual(new Array(10).fill(2));
  }, 15_000);
});

describe("downpolicy on a running daemon", () => {
  /** A client bound to target 1, whose checks then fail until it is down. */
  async function clientOfDownTarget(daemon: DaemonHarness): Promise<string> {
    const bound = [0, 1, 2, 3].map(client).find((address) => DaemonHarness.targetOf(daemon.clientFrame(address)) === 1)!;
    daemon.healthy.delete(TARGET_1);
    await daemon.waitFor(async () => (await status(daemon)).targets[0]!.state === "down", "target 1 down", 6000);
    return bound;
  }

  test("reschedule (the default): the sessions of a down target end with it", async () => {
    const daemon = await started(SEED_FAST_CHECKS_TEXT);
    const bound = await clientOfDownTarget(daemon);
    expect((await status(daemon)).targets[0]!.sessions).toBe(0);
    expect(DaemonHarness.targetOf(daemon.clientFrame(bound, 80, TCP_ACK))).toBe(2);
  }, 15_000);

  test("hold: the sessions stay, their packets are dropped as target_down, and flow again when it is up", async () => {
    const daemon = await started(configWith(["downpolicy hold"]));
    const bound = await clientOfDownTarget(daemon);
    expect((await status(daemon)).targets[0]!.sessions).toBeGreaterThan(0);
    expect(daemon.clientFrame(bound, 80, TCP_ACK)).toBeUndefined();
    expect((await status(daemon)).drops.target_down).toBe(1);
    daemon.healthy.add(TARGET_1);
    await daemon.waitFor(async () => (await status(daemon)).targets[0]!.state === "up", "target 1 up again", 3000);
    expect(DaemonHarness.targetOf(daemon.clientFrame(bound, 80, TCP_ACK))).toBe(1);
  }, 15_000);

  test("reset: the client's next segment is answered with a RST from the VIP; its new connection goes to target 2", async () => {
    const daemon = await started(configWith(["downpolicy reset"]));
    const bound = await clientOfDownTarget(daemon);
    const answer = daemon.clientFrame(bound, 80, TCP_ACK);
    expect(answer).toBeDefined();
    const ip = (at: number) => Array.from(answer!.subarray(at, at + 4)).join(".");
    expect({ from: ip(26), to: ip(30), flags: answer![47]! }).toEqual({ from: VIP, to: bound, flags: TCP_RST });
    const report = v.parse(v.object({ totals: v.object({ resets_sent: v.number() }) }), await status(daemon));
    expect(report.totals.resets_sent).toBe(1);
    expect(DaemonHarness.targetOf(daemon.clientFrame(bound, 80, TCP_SYN, 40001))).toBe(2);
  }, 15_000);
});
