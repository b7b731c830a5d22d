// A VRRP pair of bng boxes with session sync (issue 21), in the seed's lab: one master answers
// for the VIP, a SIGKILL of the master hands its clients to the backup with their sessions, the
// killed node comes back without breaking anything, and hostile traffic changes nothing.
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { BUN } from "../fixtures/process.ts";
import { BngInLab, Scratch, SEED_CONFIG_PATH } from "./bng.ts";
import { sendControlRequest } from "../../src/control/socket-client.ts";
import { LongLivedClients, loggedAt, pairConfig, startNode, vipArpAnswerers, waitForStatus } from "./ha-pair.ts";
import { BNG_REAL_ADDRESS, createLab, SECOND_BNG_REAL_ADDRESS, type Lab } from "./lab.ts";

const SEED = readFileSync(SEED_CONFIG_PATH, "utf8").replaceAll("tcpopen 80,3,10", "tcpopen 80,1,3");
const KEY = "the pair's secret";
const CONNECTIONS = 32;
const HOSTILE = new URL("./ha-hostile.ts", import.meta.url).pathname;
/** Master_Down_Interval (3 x 1 s + skew) plus the second of slack the issue allows. */
const TAKEOVER_BOUND_MS = 3 * 1000 + 1000;
const BOXES = [
  { port: "bng", name: "A" },
  { port: "bng2", name: "B" },
];

describeWith([ROOT], "a VRRP pair of bng boxes with session sync", () => {
  let lab: Lab;
  let scratch: Scratch;
  let boxB = "";
  let a: BngInLab | undefined;
  let b: BngInLab | undefined;
  const configA = pairConfig(SEED, "A", { priority: 200, syncPeer: SECOND_BNG_REAL_ADDRESS, key: KEY });
  const configB = pairConfig(SEED, "B", { priority: 100, syncPeer: BNG_REAL_ADDRESS, key: KEY });

  beforeAll(async () => {
    scratch = new Scratch();
    lab = await createLab({ prefix: "bngha", clients: CONNECTIONS });
    boxB = await lab.addBngBox();
    a = await startNode(lab, scratch, "a", configA, lab.bngNs);
    b = await startNode(lab, scratch, "b", configB, boxB);
    await waitForStatus(a, (report) => report.vrrp?.state === "master", 10_000, "A master");
    await waitForStatus(b, (report) => report.vrrp?.state === "backup" && report.vrrp.sync?.full_transfers_received === 1, 10_000, "B backup with the table");
    await a.waitForTargets([1, 2], "up", 10_000);
  }, 60_000);

  afterAll(async () => {
    await a?.stop().catch(() => undefined);
    await b?.stop().catch(() => undefined);
    await lab?.destroy();
    scratch?.remove();
  }, 30_000);

  test("exactly one box answers ARP for the VIP: the master, with the virtual MAC", async () => {
    expect(await vipArpAnswerers(lab, BOXES)).toEqual(["A"]);
    const status = await b!.status();
    expect(status.vrrp).toMatchObject({ state: "backup", vrid: 51, priority: 100, master: BNG_REAL_ADDRESS });
    expect((await a!.status()).vrrp).toMatchObject({ state: "master", master: BNG_REAL_ADDRESS });
    const neighbours = await lab.exec(lab.ns.router, ["ip", "neigh", "show", "172.16.1.10"]);
    expect(neighbours.stdout).toContain("00:00:5e:00:01:33");
  });

  test("SIGKILL of the master: B is master within 3 intervals + 1 s; 32 long-lived connections go on, each on its target; new ones are served", async () => {
    const clients = await LongLivedClients.open(lab, lab.clientAddresses, 60_000);
    // Give the journal stream a moment: the sessions exist on B before A dies.
    await waitForStatus(b!, (report) => (report.vrrp?.sync?.sessions_installed ?? 0) >= CONNECTIONS, 5000, "the 32 sessions on B");
    const killedAt = Date.now();
    a!.process.signal("SIGKILL");
    await a!.process.exited;
    await waitForStatus(b!, (report) => report.vrrp?.state === "master", 10_000, "B master");
    // B's own log says when it became master: the takeover, without the polling's delay.
    const takeoverMs = loggedAt(b!, "vrrp-master")! - killedAt;
    await Bun.sleep(3000);
    const connections = await clients.close();
    const broken = connections.filter((connection) => connection.broken);
    const moved = connections.filter((connection) => connection.targets.length > 1);
    console.log(`takeover ${takeoverMs} ms after the SIGKILL; ${broken.length} of ${connections.length} connections broken, ${moved.length} changed target`);
    expect(takeoverMs).toBeLessThan(TAKEOVER_BOUND_MS);
    expect(broken).toEqual([]);
    expect(moved).toEqual([]);
    const fresh = await lab.requests({ count: 40, concurrency: 8 });
    expect(fresh.filter((result) => !result.ok)).toEqual([]);
    expect(await vipArpAnswerers(lab, BOXES)).toEqual(["B"]);
    a = undefined;
  }, 60_000);

  test("A comes back: it waits for B's session table before it preempts, and no connection breaks at the hand-back", async () => {
    const clients = await LongLivedClients.open(lab, lab.clientAddresses, 60_000);
    a = await startNode(lab, scratch, "a", configA, lab.bngNs);
    await waitForStatus(a, (report) => report.vrrp?.state === "master", 20_000, "A master again");
    const log = a.process.stderr;
    const received = log.indexOf("sync-transfer-received");
    const master = log.indexOf("vrrp-master");
    expect(received).toBeGreaterThan(-1);
    expect(master).toBeGreaterThan(received);
    await Bun.sleep(2000);
    const connections = await clients.close();
    const broken = connections.filter((connection) => connection.broken);
    console.log(`hand-back: ${broken.length} of ${connections.length} connections broken`);
    expect(broken).toEqual([]);
    expect((await b!.status()).vrrp?.state).toBe("backup");
  }, 60_000);

  test("random sync bytes, a wrong key, a replayed epoch, a foreign source and 20,000 forged adverts change nothing and are counted", async () => {
    const before = await b!.status();
    const hostile = (ns: string, args: string[]) => lab.exec(ns, [BUN, HOSTILE, ...args], { timeoutMs: 30_000 });
    await hostile(lab.bngNs, ["sync", SECOND_BNG_REAL_ADDRESS, KEY]);
    await hostile(lab.ns.router, ["sync", SECOND_BNG_REAL_ADDRESS, KEY]);
    await hostile(lab.ns.router, ["adverts", "eth0", "20000"]);
    await Bun.sleep(2500);
    const after = await b!.status();
    const rejected = after.vrrp!.sync!.rejected_by;
    const was = before.vrrp!.sync!.rejected_by;
    const added = (reason: string) => (rejected[reason] ?? 0) - (was[reason] ?? 0);
    console.log(`sync rejected: ${JSON.stringify(rejected)}; adverts: ${JSON.stringify(after.vrrp!.adverts_received)}`);
    expect(added("foreign_source")).toBe(52);
    expect(added("bad_mac")).toBe(1);
    expect(added("replay")).toBe(1);
    expect(after.vrrp!.sync!.rejected - before.vrrp!.sync!.rejected).toBe(104);
    // The session the forged datagrams claim was never installed.
    const claimed = await sendControlRequest(b!.socket, { cmd: "show", what: "sessions", client: "203.0.113.66" });
    expect(claimed).toEqual({ ok: true, result: { total: 0, sessions: [] } });
    // The adverts' socket holds 4 MiB between two reads: the flood is checked and counted (all of
    // it on a quiet machine), and the genuine adverts among it keep B a backup.
    expect((after.vrrp!.adverts_received.bad_checksum ?? 0) - (before.vrrp!.adverts_received.bad_checksum ?? 0)).toBeGreaterThan(10_000);
    expect(after.vrrp).toMatchObject({ state: "backup", transitions: before.vrrp!.transitions, master: BNG_REAL_ADDRESS });
    expect((await a!.status()).vrrp?.state).toBe("master");
  }, 60_000);
});

describeWith([ROOT], "the same pair without session sync", () => {
  let lab: Lab;
  let scratch: Scratch;
  let a: BngInLab | undefined;
  let b: BngInLab | undefined;

  beforeAll(async () => {
    scratch = new Scratch();
    lab = await createLab({ prefix: "bnghb", clients: CONNECTIONS });
    const boxB = await lab.addBngBox();
    a = await startNode(lab, scratch, "a", pairConfig(SEED, "A", { priority: 200 }), lab.bngNs);
    b = await startNode(lab, scratch, "b", pairConfig(SEED, "B", { priority: 100 }), boxB);
    await waitForStatus(a, (report) => report.vrrp?.state === "master", 10_000, "A master");
    await a.waitForTargets([1, 2], "up", 10_000);
    await b.waitForTargets([1, 2], "up", 10_000);
  }, 60_000);

  afterAll(async () => {
    await a?.stop().catch(() => undefined);
    await b?.stop().catch(() => undefined);
    await lab?.destroy();
    scratch?.remove();
  }, 30_000);

  test("with rr and no sync a takeover re-balances every client: connections break (the figure sync removes)", async () => {
    const clients = await LongLivedClients.open(lab, lab.clientAddresses, 60_000);
    a!.process.signal("SIGKILL");
    await a!.process.exited;
    a = undefined;
    await waitForStatus(b!, (report) => report.vrrp?.state === "master", 10_000, "B master");
    await Bun.sleep(3000);
    const connections = await clients.close();
    const broken = connections.filter((connection) => connection.broken);
    console.log(`without sync: ${broken.length} of ${connections.length} connections broken at the takeover (${broken.map((c) => c.error).filter((e, i, all) => all.indexOf(e) === i).join(", ")})`);
    // B re-balances by rr in the order the clients' retransmissions reach it: which clients land on
    // their old target is chance, so the figure varies from run to run (6 and 16 of 32 here).
    expect(broken.length).toBeGreaterThan(0);
  }, 60_000);
});

describeWith([ROOT], "tracking the gateway", () => {
  let lab: Lab;
  let scratch: Scratch;
  let a: BngInLab | undefined;
  let b: BngInLab | undefined;
  const gateway = "gateway {\nipaddr 172.16.1.254\nping 1,3\n}\n";

  beforeAll(async () => {
    scratch = new Scratch();
    lab = await createLab({ prefix: "bnghg", clients: 2 });
    const boxB = await lab.addBngBox();
    a = await startNode(lab, scratch, "a", gateway + pairConfig(SEED, "A", { priority: 200 }), lab.bngNs);
    b = await startNode(lab, scratch, "b", gateway + pairConfig(SEED, "B", { priority: 100 }), boxB);
    await waitForStatus(a, (report) => report.vrrp?.state === "master", 10_000, "A master");
  }, 60_000);

  afterAll(async () => {
    await a?.stop().catch(() => undefined);
    await b?.stop().catch(() => undefined);
    await lab?.destroy();
    scratch?.remove();
  }, 30_000);

  test("a master whose gateway stops answering ping steps down to a healthy backup, and takes over again once it answers", async () => {
    // The router stops answering A's pings only.
    await lab.exec(lab.ns.router, ["nft", "add table inet hatest; add chain inet hatest input { type filter hook input priority 0 ; } ; add rule inet hatest input ip saddr 172.16.1.252 icmp type echo-request drop"]);
    await waitForStatus(b!, (report) => report.vrrp?.state === "master", 10_000, "B master");
    expect(a!.process.stderr).toMatch(/vrrp-unhealthy vrid=51 cause="gateway 172\.16\.1\.254 answers no ping for 3 s"/);
    expect((await b!.status()).vrrp?.last_transition).toBe("priority-zero");
    await lab.exec(lab.ns.router, ["nft", "delete", "table", "inet", "hatest"]);
    await waitForStatus(a!, (report) => report.vrrp?.state === "master", 10_000, "A master again");
    expect(a!.process.stderr).toMatch(/vrrp-healthy vrid=51/);
  }, 40_000);
});
