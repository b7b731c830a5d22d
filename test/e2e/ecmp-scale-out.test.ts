// Scale-out behind ECMP, end to end (issue 24, docs/scale-out.md): three bng nodes announce the
// VIP through BIRD 2 to a router that spreads it over them (ecmp-lab.ts). Each test uses client
// addresses of its own, so a node's sessions tell which of them it carried. The figures measured
// (spread, withdrawal times, stalls, broken connections) are printed. Needs root, bird2, nftables
// and Node.js; skipped otherwise.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../src/config/index.ts";
import { planRun } from "../../src/control/plan.ts";
import { REPO } from "../fixtures/process.ts";
import { describeWith, program, ROOT, testWith } from "../fixtures/requirements.ts";
import { Scratch } from "./bng.ts";
import { birdNodeConfig, birdRouterConfig, nodeAddress, nodeBngConfig, parseRouteNexthops, shippedBirdConfig } from "./ecmp-config.ts";
import { EcmpLab, type EcmpNode } from "./ecmp-lab.ts";
import { requests, seconds } from "./ecmp-traffic.ts";
import { LongLivedClients, type LongLivedConnection } from "./ha-pair.ts";
import { targetName, VIP } from "./lab.ts";

const BIRD = program("bird");
const ALL_NODES = [1, 2, 3].map(nodeAddress);
/** Long-lived connections end when a test closes them; this only bounds a run whose test died. */
const STREAMS_MAX_MS = 60_000;
/** How long connections go on after the router has every node again: those moved back must survive too. */
const AFTER_RECOVERY_MS = 1500;
/** The unit's RestartSec (config/bng.service): how long a crashed bng stays dead under systemd. */
const RESTART_SEC_MS = 1000;

function report(line: string): void {
  console.log(`  [scale-out] ${line}`);
}

/** The clients whose session is on `node`, of `clients`. */
async function carriedBy(node: EcmpNode, clients: readonly string[]): Promise<Map<string, number>> {
  const sessions = await node.sessions();
  return new Map(clients.flatMap((client) => (sessions.has(client) ? [[client, sessions.get(client)!] as const] : [])));
}

/** Every connection had an answer after `sinceMs`: none is still stalled (its wait then would be longer than that). */
function expectAnsweredSince(connections: LongLivedConnection[], sinceMs: number): void {
  const longest = Date.now() - sinceMs;
  expect(connections.filter((connection) => connection.maxGapMs >= longest)).toEqual([]);
}

function describeStalls(connections: LongLivedConnection[]): string {
  const gaps = connections.map((connection) => connection.maxGapMs).sort((a, b) => a - b);
  if (gaps.length === 0) return "none";
  return `median ${seconds(gaps[Math.floor(gaps.length / 2)]!)}, worst ${seconds(gaps.at(-1)!)}`;
}

describe("the lab's configurations", () => {
  test("each node's bng configuration runs (set announce, maglev), differing only in its real address", () => {
    for (const i of [1, 2, 3]) {
      const parsed = parseConfig(nodeBngConfig(i), `node${i}.conf`);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
      const planned = planRun(parsed.config);
      expect(planned.ok && planned.plan.announceTable).toBe(100);
      expect(parsed.config.servers.map((server) => server.method)).toEqual(["maglev"]);
    }
    expect(nodeBngConfig(1).replace("172.16.1.251", "172.16.1.252")).toBe(nodeBngConfig(2));
  });

  testWith([BIRD], "config/bird-*.conf parse with BIRD as shipped and as the lab writes them", () => {
    const scratch = new Scratch();
    try {
      for (const [name, text] of [
        ["bird-node.conf", readFileSync(join(REPO, "config/bird-node.conf"), "utf8")],
        ["bird-router.conf", readFileSync(join(REPO, "config/bird-router.conf"), "utf8")],
        ["lab-node.conf", birdNodeConfig(2)],
        ["lab-router.conf", birdRouterConfig()],
      ] as const) {
        const parsed = Bun.spawnSync(["bird", "-p", "-c", scratch.write(name, text)], { stderr: "pipe" });
        expect({ name, exitCode: parsed.exitCode, stderr: parsed.stderr.toString() }).toEqual({ name, exitCode: 0, stderr: "" });
      }
      expect(birdNodeConfig(2)).toContain("define NODE_ADDRESS = 172.16.1.252;");
      expect(() => shippedBirdConfig("bird-node.conf", { NO_SUCH_NAME: 1 })).toThrow("config/bird-node.conf has no define NO_SUCH_NAME");
    } finally {
      scratch.remove();
    }
  });

  test("the router's next hops, from ip -j route: several, one, none", () => {
    const multipath = '[{"dst":"172.16.1.10","protocol":"bird","metric":32,"flags":[],"nexthops":[{"gateway":"172.16.1.253","dev":"eth0","weight":1,"flags":[]},{"gateway":"172.16.1.251","dev":"eth0","weight":1,"flags":[]}]}]';
    expect(parseRouteNexthops(multipath)).toEqual(["172.16.1.251", "172.16.1.253"]);
    expect(parseRouteNexthops('[{"dst":"172.16.1.10","gateway":"172.16.1.252","dev":"eth0","protocol":"bird","metric":32,"flags":[]}]')).toEqual(["172.16.1.252"]);
    expect(parseRouteNexthops("[]")).toEqual([]);
  });
});

describeWith([ROOT, BIRD, program("nft"), program("node")], "scale-out: three bng nodes behind an ECMP router, announced by BIRD", () => {
  let lab: EcmpLab;
  /** Disjoint client groups, one per test. */
  let groups: { spread: string[]; bngCrash: string[]; bngCrashFlushed: string[]; nodeKill: string[] };

  beforeAll(async () => {
    const started = Date.now();
    lab = await EcmpLab.create({ prefix: "bngsx", clients: 224 });
    report(`lab up (three nodes announcing) in ${seconds(Date.now() - started)}`);
    const take = (from: number, count: number) => lab.clientAddresses.slice(from, from + count);
    groups = { spread: take(0, 64), bngCrash: take(64, 48), bngCrashFlushed: take(112, 48), nodeKill: take(160, 64) };
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
  }, 30_000);

  test("64 clients' connections spread over the three nodes; each client reaches one target whichever node carries it", async () => {
    const before = await Promise.all(lab.nodes.map(async (node) => (await node.status()).totals.packets));
    const results = await requests(lab, { clients: groups.spread, count: 4 * groups.spread.length, concurrency: 16, timeoutMs: 3000 });
    expect(results.filter((result) => !result.ok)).toEqual([]);
    const forwarded = await Promise.all(lab.nodes.map(async (node, i) => (await node.status()).totals.packets - before[i]!));
    report(`256 connections of 64 clients: packets forwarded per node ${forwarded.join(" / ")}`);
    for (const packets of forwarded) expect(packets).toBeGreaterThan(0);

    const targetOf = new Map<string, Set<string>>();
    for (const result of results) targetOf.set(result.client, (targetOf.get(result.client) ?? new Set()).add(result.target!));
    expect([...targetOf.values()].filter((targets) => targets.size > 1)).toEqual([]);
    expect(new Set(results.map((result) => result.target))).toEqual(new Set([targetName(1), targetName(2)]));
    // Every node that carried a client chose the target the client saw: maglev, no shared state.
    const carried = await Promise.all(lab.nodes.map((node) => carriedBy(node, groups.spread)));
    let onSeveralNodes = 0;
    for (const client of groups.spread) {
      const chosen = carried.flatMap((sessions) => (sessions.has(client) ? [targetName(sessions.get(client)!)] : []));
      expect(chosen.length).toBeGreaterThan(0);
      expect(new Set([...chosen, ...targetOf.get(client)!]).size).toBe(1);
      if (chosen.length > 1) onSeveralNodes += 1;
    }
    report(`clients carried by more than one node: ${onSeveralNodes} of 64, each kept its target`);
    expect(onSeveralNodes).toBeGreaterThan(0);

    for (const node of lab.nodes) {
      expect((await node.status()).announce).toEqual({ table: 100, announced: [VIP] });
      expect((await node.cli(["status"])).stdout).toContain(`routes (set announce, table 100): ${VIP} announced`);
    }
  }, 30_000);

  test("a node whose targets are all down withdraws the VIP, and announces it again when they recover", async () => {
    const node = lab.nodes[2]!;
    await node.refuseChecks(true);
    const withdrawnMs = await lab.waitForNexthops(ALL_NODES.slice(0, 2), 10_000);
    expect((await node.status()).announce).toEqual({ table: 100, announced: [] });
    expect(await node.announcedRoutes()).toEqual([]);
    expect((await node.cli(["status"])).stdout).toContain(`routes (set announce, table 100): ${VIP} not announced`);
    // Its share goes to the other nodes: nothing reaches it, every request is served.
    const packets = (await node.status()).totals.packets;
    const results = await requests(lab, { clients: groups.spread, count: groups.spread.length, concurrency: 16, timeoutMs: 3000 });
    expect(results.filter((result) => !result.ok)).toEqual([]);
    expect((await node.status()).totals.packets).toBe(packets);

    await node.refuseChecks(false);
    const returnedMs = await lab.waitForNexthops(ALL_NODES, 10_000);
    expect((await node.status()).announce).toEqual({ table: 100, announced: [VIP] });
    expect(node.bng!.stderr).toMatch(/routes-withdrawn table=100 vips=172\.16\.1\.10\n[^]*routes-announced table=100 vips=172\.16\.1\.10/);
    report(`targets down on node 3 (checks every 1 s, down after 2 s): off the router in ${seconds(withdrawnMs)}; back ${seconds(returnedMs)} after they recover`);
  }, 30_000);

  /**
   * Long-lived connections from `clients` while `node`'s bng is SIGKILLed (BIRD keeps running)
   * and, after the unit's RestartSec, started again; `afterKill` runs right after the kill. Says
   * when (ms after the kill) the router dropped the node and when it had all three again.
   */
  async function bngCrash(node: EcmpNode, clients: string[], afterKill: () => Promise<void>) {
    const streams = await LongLivedClients.open(lab, clients, STREAMS_MAX_MS);
    await Bun.sleep(500);
    const onNode = await carriedBy(node, clients);
    const watch = lab.watchNexthops();
    const killedAt = Date.now();
    await node.killBng();
    await afterKill();
    await Bun.sleep(Math.max(0, killedAt + RESTART_SEC_MS - Date.now()));
    await node.startBng();
    await lab.waitForNexthops(ALL_NODES, 15_000);
    const changes = await watch.stop();
    await Bun.sleep(AFTER_RECOVERY_MS);
    const connections = await streams.close();
    expectAnsweredSince(connections, killedAt);
    const droppedAt = changes.find((change) => !change.hops.includes(node.address))?.at;
    expect(droppedAt).toBeDefined();
    return {
      connections,
      moved: connections.filter((connection) => onNode.has(connection.client)),
      droppedMs: droppedAt! - killedAt,
      backMs: changes.at(-1)!.at - killedAt,
    };
  }

  test("bng alone killed, its BIRD running: its route stays until bng restarts and repairs it; the connections stall, none breaks", async () => {
    const node = lab.nodes[0]!;
    const { connections, moved, droppedMs, backMs } = await bngCrash(node, groups.bngCrash, async () => {
      // The table still holds bng's route and BIRD still announces it: nothing tells the router.
      expect(await node.announcedRoutes()).toHaveLength(1);
    });
    expect(moved.length).toBeGreaterThan(0);
    expect(droppedMs).toBeGreaterThan(RESTART_SEC_MS);
    // The next start withdraws the dead bng's route first (host-repaired), then announces again once its checks pass.
    expect(node.bng!.stderr).toMatch(/host-repaired interface=eth0 pid=\d+ .*routes_withdrawn=172\.16\.1\.10\/32[^]*routes-announced table=100 vips=172\.16\.1\.10/);
    expect(connections.filter((connection) => connection.broken)).toEqual([]);
    for (const connection of connections) expect(connection.targets).toHaveLength(1);
    report(
      `bng killed on node 1, restarted after ${seconds(RESTART_SEC_MS)}: the router kept the node ${seconds(droppedMs)} (until the repair), all three again at ${seconds(backMs)}; ` +
        `${moved.length} of ${connections.length} connections were on it, they stalled ${describeStalls(moved)}; broken 0`,
    );
  }, 40_000);

  test("bng killed, its route flushed at once (ExecStopPost in docs/scale-out.md): the router drops the node at once, its connections move on", async () => {
    const node = lab.nodes[1]!;
    const { connections, moved, droppedMs } = await bngCrash(node, groups.bngCrashFlushed, async () => {
      await lab.exec(node.ns, ["ip", "route", "flush", "table", "100", "proto", "static"]);
    });
    expect(moved.length).toBeGreaterThan(0);
    expect(droppedMs).toBeLessThan(RESTART_SEC_MS);
    expect(connections.filter((connection) => connection.broken)).toEqual([]);
    for (const connection of connections) expect(connection.targets).toHaveLength(1);
    report(`bng killed on node 2, route flushed: the router dropped the node after ${seconds(droppedMs)}; its ${moved.length} connections stalled ${describeStalls(moved)}; broken 0`);
  }, 40_000);

  test("a node drained (disable server), a bng stopped, a BIRD killed: the router drops the node at once; each comes back", async () => {
    const [first, second] = lab.nodes as [EcmpNode, EcmpNode];
    const without = (node: EcmpNode) => ALL_NODES.filter((address) => address !== node.address);
    /** Runs `action`, then resolves with how long until the router's next hops were `expected`. */
    const timed = async (action: () => Promise<unknown>, expected: string[]) => {
      const started = Date.now();
      await action();
      await lab.waitForNexthops(expected, 5000);
      return Date.now() - started;
    };
    const drainedMs = await timed(() => first.ask({ cmd: "disable", kind: "server", id: 1 }), without(first));
    expect((await first.status()).announce).toEqual({ table: 100, announced: [] });
    const enabledMs = await timed(() => first.ask({ cmd: "enable", kind: "server", id: 1 }), ALL_NODES);
    const stoppedMs = await timed(async () => expect(await first.stopBng()).toBe(0), without(first));
    expect(await first.announcedRoutes()).toEqual([]);
    expect(first.bng!.stderr).toMatch(/routes-withdrawn table=100 vips=172\.16\.1\.10/);
    await first.startBng();
    await lab.waitForNexthops(ALL_NODES, 10_000);
    const birdKilledMs = await timed(() => second.killBird(), without(second));
    // bng's route stays in the table for the next BIRD to learn.
    expect(await second.announcedRoutes()).toHaveLength(1);
    const birdBackMs = await timed(() => second.startBird(), ALL_NODES);
    report(
      `off the router after: disable server ${seconds(drainedMs)} (back ${seconds(enabledMs)} after enable), bng SIGTERM ${seconds(stoppedMs)}, ` +
        `BIRD SIGKILL ${seconds(birdKilledMs)}; a restarted BIRD announces again after ${seconds(birdBackMs)}`,
    );
  }, 40_000);

  test("a node dies (link dark, bng and BIRD SIGKILLed): BFD withdraws it, its connections go on through the others to the same targets", async () => {
    const node = lab.nodes[2]!;
    const clients = groups.nodeKill;
    const streams = await LongLivedClients.open(lab, clients, STREAMS_MAX_MS);
    await Bun.sleep(500);
    const onNode = await carriedBy(node, clients);
    expect(onNode.size).toBeGreaterThan(0);
    const killedAt = Date.now();
    await node.kill();
    await lab.waitForNexthops(ALL_NODES.slice(0, 2), 10_000);
    const withdrawnMs = Date.now() - killedAt;
    await Bun.sleep(AFTER_RECOVERY_MS);
    const connections = await streams.close();
    expectAnsweredSince(connections, killedAt);

    const broken = connections.filter((connection) => connection.broken);
    const moved = connections.filter((connection) => onNode.has(connection.client));
    report(
      `node 3 killed: off the router in ${seconds(withdrawnMs)} (BFD, 5 x 100 ms); ${moved.length} of ${connections.length} connections were on it, ` +
        `they stalled ${describeStalls(moved)}; connections broken: ${broken.length}`,
    );
    expect(broken).toEqual([]);
    expect(withdrawnMs).toBeLessThan(3000);
    // Each moved client is now carried by another node, which chose the target node 3 had chosen.
    const carried = await Promise.all(lab.nodes.slice(0, 2).map((other) => carriedBy(other, clients)));
    for (const connection of moved) {
      expect(connection.targets).toEqual([targetName(onNode.get(connection.client)!)]);
      const now = carried.flatMap((sessions) => (sessions.has(connection.client) ? [sessions.get(connection.client)!] : []));
      expect(now.length).toBeGreaterThan(0);
      for (const target of now) expect(target).toBe(onNode.get(connection.client)!);
    }
    for (const connection of connections) expect(connection.targets).toHaveLength(1);
  }, 30_000);
});
