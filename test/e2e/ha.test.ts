// A VRRP pair of bng boxes with session sync (issue 21), in the seed's lab: one master answers
// for the VIP, a SIGKILL of the master hands its clients to the backup with their sessions, the
// killed node comes back without breaking anything, and hostile traffic changes nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { BngInLab, isRoot, Scratch, SEED_CONFIG_PATH } from "./bng.ts";
import { LongLivedClients, pairConfig, startNode, vipArpAnswerers, waitForStatus } from "./ha-pair.ts";
import { BNG_REAL_ADDRESS, createLab, SECOND_BNG_REAL_ADDRESS, type Lab } from "./lab.ts";

const SEED = readFileSync(SEED_CONFIG_PATH, "utf8").replaceAll("tcpopen 80,3,10", "tcpopen 80,1,3");
const KEY = "the pair's secret";
const CONNECTIONS = 32;
/** Master_Down_Interval (3 x 1 s + skew) plus the second of slack the issue allows. */
const TAKEOVER_BOUND_MS = 3 * 1000 + 1000;
const BOXES = [
  { port: "bng", name: "A" },
  { port: "bng2", name: "B" },
];

describe.skipIf(!isRoot())("a VRRP pair of bng boxes with session sync", () => {
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
    const takeoverMs = await waitForStatus(b!, (report) => report.vrrp?.state === "master", 10_000, "B master");
    await Bun.sleep(3000);
    const connections = await clients.close();
    const broken = connections.filter((connection) => connection.broken);
    const moved = connections.filter((connection) => connection.targets.length > 1);
    console.log(`takeover ${Date.now() - killedAt - 3000} ms after the SIGKILL (status poll ${takeoverMs} ms); ${broken.length} of ${connections.length} connections broken, ${moved.length} changed target`);
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
});
