// The namespace lab itself, before bng is inserted: the seed's "What should be working"
// baseline, the targets' ARP silence for the VIP, the load generator, captures, and cleanup
// that leaves nothing behind, even when the run that made a lab dies.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { claimNamespaceFamily, cleanupStaleFamilies, listNamespaces, removeNamespaceFamily } from "../fixtures/namespaces.ts";
import { runCommandSync, startProcess, type RunningProcess } from "../fixtures/process.ts";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { BNG_MAC, createLab, ROUTER_ADDRESS, ROUTER_MAC, targetAddress, targetMac, VIP, type Lab } from "./lab.ts";


/** Every pid inside the given namespaces, as root sees them. */
function pidsIn(namespaces: readonly string[]): number[] {
  return namespaces.flatMap((ns) =>
    runCommandSync(["ip", "netns", "pids", ns], { allowFailure: true })
      .stdout.split("\n")
      .filter((line) => line !== "")
      .map(Number),
  );
}

/** True when the process no longer runs (gone, or a zombie awaiting its parent). */
function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] === "Z";
  } catch {
    return true;
  }
}

interface FixtureLab {
  id: string;
  namespaces: string[];
}

/** Starts lab-owner-fixture.ts, a separate process holding a lab of the `prefix` family. */
async function startOwnerFixture(prefix: string): Promise<{ owner: RunningProcess; lab: FixtureLab }> {
  const owner = startProcess([process.execPath, join(import.meta.dir, "lab-owner-fixture.ts"), prefix]);
  const { line } = await owner.waitFor(() => true, 10_000);
  return { owner, lab: JSON.parse(line) as FixtureLab };
}

describeWith([ROOT], "namespace lab", () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await createLab();
  }, 10_000);

  afterAll(async () => {
    await lab?.destroy();
  }, 10_000);

  test("has the seed's hosts: router, bng box with a bare eth0, two targets with the VIP on lo", async () => {
    expect(lab.targetNumbers()).toEqual([1, 2]);
    const bngLinks = (await lab.bngExec(["ip", "-o", "link", "show"])).stdout;
    expect(bngLinks.match(/^\d+: (\S+?)[:@]/gm)?.map((entry) => entry.replace(/^\d+: /, "").slice(0, -1))).toEqual(["lo", "eth0"]);
    expect(bngLinks).toContain(BNG_MAC);
    expect((await lab.bngExec(["ip", "-4", "-o", "addr", "show", "dev", "eth0"])).stdout).toBe("");
    for (const n of lab.targetNumbers()) {
      const ns = lab.targetNs(n);
      expect((await lab.exec(ns, ["ip", "-4", "-o", "addr", "show", "dev", "lo"])).stdout).toContain(`inet ${VIP}/32`);
      expect((await lab.exec(ns, ["ip", "-4", "-o", "addr", "show", "dev", "eth0"])).stdout).toContain(`inet ${targetAddress(n)}/24`);
      expect((await lab.exec(ns, ["ip", "route", "show", "default"])).stdout).toContain(`default via ${ROUTER_ADDRESS} dev eth0`);
      const arpSettings = await lab.exec(ns, ["sysctl", "-n", "net.ipv4.conf.all.arp_ignore", "net.ipv4.conf.all.arp_announce"]);
      expect(arpSettings.stdout.split("\n").slice(0, 2)).toEqual(["1", "2"]);
    }
  }, 10_000);

  test("forwards only in the router and keeps the kernel's default offloads", async () => {
    for (const ns of lab.namespaces()) {
      const forwarding = (await lab.exec(ns, ["sysctl", "-n", "net.ipv4.ip_forward"])).stdout.trim();
      expect(`${ns}=${forwarding}`).toBe(`${ns}=${ns === lab.ns.router ? 1 : 0}`);
    }
    // veth's defaults: checksums left to the receiver (partial checksums reach bng), TSO on.
    for (const ns of [lab.bngNs, lab.ns.router, lab.targetNs(1)]) {
      const features = (await lab.exec(ns, ["ethtool", "-k", "eth0"])).stdout;
      expect(features).toMatch(/^\ttx-checksum-ip-generic: on/m);
      expect(features).toMatch(/^tcp-segmentation-offload: on/m);
    }
  }, 10_000);

  test("baseline: every target pings the router 172.16.1.254", async () => {
    await Promise.all(
      lab.targetNumbers().map(async (n) => {
        const ping = await lab.exec(lab.targetNs(n), ["ping", "-c1", "-W2", ROUTER_ADDRESS], { allowFailure: true });
        expect(`target${n}: ${ping.exitCode}`).toBe(`target${n}: 0`);
      }),
    );
  }, 10_000);

  test("the load generator sends from 16 distinct client addresses and each target answers its name", async () => {
    for (const n of lab.targetNumbers()) {
      const results = await lab.requests({ count: 32, concurrency: 8, url: `http://${targetAddress(n)}/` });
      expect(results).toHaveLength(32);
      expect(results.filter((result) => !result.ok)).toEqual([]);
      expect(new Set(results.map((result) => result.target))).toEqual(new Set([`target${n}`]));
      expect(new Set(results.map((result) => result.client)).size).toBe(16);
      // The server saw each request from the address it was sent from.
      expect(results.filter((result) => result.peer !== result.client)).toEqual([]);
    }
  }, 10_000);

  test("DSR targets stay silent for ARP on the VIP but answer for their own address", async () => {
    // Earlier requests left target 1 in the router's cache; forget it so the router must ask.
    await lab.exec(lab.ns.router, ["ip", "neigh", "flush", "to", targetAddress(1)]);
    const capture = await lab.capture(lab.ns.router, "eth0", "arp");
    const vipPing = await lab.exec(lab.ns.router, ["ping", "-c1", "-W1", VIP], { allowFailure: true });
    const targetPing = await lab.exec(lab.ns.router, ["ping", "-c1", "-W1", targetAddress(1)], { allowFailure: true });
    const neighbour = (await lab.exec(lab.ns.router, ["ip", "neigh", "show", VIP])).stdout;
    const frames = await capture.stop();

    expect(vipPing.exitCode).not.toBe(0);
    expect(neighbour).toMatch(/INCOMPLETE|FAILED/);
    expect(frames.some((frame) => frame.arp?.op === "request" && frame.arp.targetIp === VIP && frame.srcMac === ROUTER_MAC)).toBe(true);
    expect(frames.filter((frame) => frame.arp?.op === "reply" && frame.arp.senderIp === VIP)).toEqual([]);
    // The control: the same path works for an address a target owns.
    expect(targetPing.exitCode).toBe(0);
    expect(frames).toContainEqual(expect.objectContaining({ srcMac: targetMac(1), arp: { op: "reply", senderIp: targetAddress(1), senderMac: targetMac(1) } }));
  }, 10_000);

  test("the seed's initial network: with 172.16.1.10 owned by the web server, clients get target1", async () => {
    await lab.setTargetVip(1, "owned");
    try {
      const results = await lab.requests({ count: 16, timeoutMs: 3000 });
      expect(results.filter((result) => !result.ok)).toEqual([]);
      expect(new Set(results.map((result) => result.target))).toEqual(new Set(["target1"]));
    } finally {
      await lab.setTargetVip(1, "dsr");
    }
    // Back to DSR and without bng, nobody answers for the VIP any more.
    const unanswered = await lab.requests({ count: 2, timeoutMs: 500 });
    expect(unanswered.map((result) => result.error)).toEqual(["timeout", "timeout"]);
  }, 10_000);

  test("a capture on a target sees the client's SYN arrive from the router's MAC", async () => {
    const capture = await lab.capture(lab.targetNs(2), "eth0", "tcp port 80");
    const [result] = await lab.requests({ count: 1, url: `http://${targetAddress(2)}/` });
    const frames = await capture.stop();
    expect(result?.ok).toBe(true);
    const syn = frames.find((frame) => frame.ip?.tcpFlags === "S");
    expect(syn).toMatchObject({ srcMac: ROUTER_MAC, dstMac: targetMac(2), ethertype: "IPv4", ip: { protocol: "tcp", src: result?.client, dst: targetAddress(2), dstPort: 80 } });
    expect(frames.some((frame) => frame.ip?.tcpFlags === "S." && frame.srcMac === targetMac(2) && frame.ip.srcPort === 80)).toBe(true);
  }, 10_000);

  test("stopTargetServer makes port 80 refuse, startTargetServer brings it back", async () => {
    const url = `http://${targetAddress(1)}/`;
    await lab.stopTargetServer(1);
    const refused = await lab.requests({ count: 2, url, timeoutMs: 1000 });
    expect(refused.map((result) => result.error)).toEqual(["ECONNREFUSED", "ECONNREFUSED"]);
    await lab.startTargetServer(1);
    const served = await lab.requests({ count: 2, url });
    expect(served.map((result) => result.target)).toEqual(["target1", "target1"]);
  }, 10_000);

  test("steadyStream records a timeline that shows a server outage and its recovery", async () => {
    const stream = lab.steadyStream({ durationMs: 1500, url: `http://${targetAddress(2)}/`, concurrency: 2, pauseMs: 10 });
    await Bun.sleep(400);
    const stoppedAt = Date.now();
    await lab.stopTargetServer(2);
    await Bun.sleep(400);
    await lab.startTargetServer(2);
    const restartedAt = Date.now();
    const timeline = await stream;

    expect(timeline.map((result) => result.startedAt)).toEqual(timeline.map((result) => result.startedAt).sort((a, b) => a - b));
    expect(timeline.filter((result) => result.startedAt < stoppedAt - 50).every((result) => result.target === "target2")).toBe(true);
    expect(timeline.some((result) => result.startedAt > stoppedAt && result.startedAt < restartedAt && result.error === "ECONNREFUSED")).toBe(true);
    const afterRestart = timeline.filter((result) => result.startedAt > restartedAt + 50);
    expect(afterRestart.length).toBeGreaterThan(0);
    expect(afterRestart.every((result) => result.target === "target2")).toBe(true);
    expect(new Set(timeline.map((result) => result.client)).size).toBe(16);
  }, 10_000);

  test("addTarget(3) brings 172.16.1.102 up the seed's way, serving target3", async () => {
    await lab.addTarget(3);
    expect(lab.targetNumbers()).toEqual([1, 2, 3]);
    expect((await lab.exec(lab.targetNs(3), ["ip", "-4", "-o", "addr", "show", "dev", "lo"])).stdout).toContain(`inet ${VIP}/32`);
    expect((await lab.exec(lab.targetNs(3), ["ping", "-c1", "-W2", ROUTER_ADDRESS], { allowFailure: true })).exitCode).toBe(0);
    const results = await lab.requests({ count: 4, url: `http://${targetAddress(3)}/` });
    expect(results.map((result) => result.target)).toEqual(["target3", "target3", "target3", "target3"]);
    await expect(lab.addTarget(3)).rejects.toThrow("already has target 3");
  }, 10_000);

  test("refuses to run commands in namespaces it does not own", async () => {
    await expect(lab.exec("bngforeign", ["true"])).rejects.toThrow("not a namespace of lab");
    expect(() => lab.spawnIn("bngforeign", ["true"])).toThrow("not a namespace of lab");
  });
});

describeWith([ROOT], "lab cleanup", () => {
  test("destroy removes every namespace and ends every process, tracked or not", async () => {
    const lab = await createLab({ clients: 2, targets: 1 });
    const namespaces = lab.namespaces();
    const tracked = lab.spawnIn(lab.bngNs, ["sleep", "300"]);
    // A detached grandchild the lab never saw: destroy must still find it.
    await lab.execIn(lab.ns.client, "setsid sleep 300 >/dev/null 2>&1 < /dev/null &");
    const pids = pidsIn(namespaces);
    expect(pids).toContain(tracked.pid);
    expect(pids.length).toBeGreaterThanOrEqual(3); // sleep, detached sleep, target1's server

    const started = performance.now();
    await lab.destroy();
    expect(performance.now() - started).toBeLessThan(3000);

    const remaining = new Set(listNamespaces());
    expect(namespaces.filter((ns) => remaining.has(ns))).toEqual([]);
    expect(pids.filter((pid) => !processGone(pid))).toEqual([]);
    expect(existsSync(`/run/bng-lab/${lab.id}.json`)).toBe(false);
    await expect(lab.exec(lab.bngNs, ["true"])).rejects.toThrow("destroyed");
  }, 10_000);

  test("cleanupStaleLabs removes the lab of a killed run and leaves live labs alone", async () => {
    const { owner, lab } = await startOwnerFixture("bnglz");
    try {
      const pids = pidsIn(lab.namespaces);
      expect(pids.length).toBeGreaterThanOrEqual(2); // target1's server, the sleep

      expect(cleanupStaleFamilies("bnglz")).toEqual([]); // its owner is alive
      expect(listNamespaces()).toEqual(expect.arrayContaining(lab.namespaces));

      owner.signal("SIGKILL");
      await owner.exited;
      // SIGKILL runs no hooks: everything is still there until someone cleans up.
      expect(listNamespaces()).toEqual(expect.arrayContaining(lab.namespaces));
      expect(pids.filter((pid) => processGone(pid))).toEqual([]);

      expect(cleanupStaleFamilies("bnglz")).toEqual([lab.id]);
      const remaining = new Set(listNamespaces());
      expect(lab.namespaces.filter((ns) => remaining.has(ns))).toEqual([]);
      expect(pids.filter((pid) => !processGone(pid))).toEqual([]);
    } finally {
      owner.signal("SIGKILL");
      cleanupStaleFamilies("bnglz");
    }
  }, 10_000);

  test("a benchmark's namespace family: SIGKILL leaves it, the next benchmark's family removes it (not a running one's); SIGTERM removes it at once", async () => {
    const killed = await startOwnerFixture("bench");
    const terminated = await startOwnerFixture("bench");
    const alive = await startOwnerFixture("bench");
    try {
      expect(killed.lab.id).toMatch(/^bngb[a-z0-9]{4}$/);
      const killedPids = pidsIn(killed.lab.namespaces);
      expect(killedPids).toHaveLength(1); // the sleep
      killed.owner.signal("SIGKILL");
      await killed.owner.exited;
      expect(listNamespaces()).toEqual(expect.arrayContaining(killed.lab.namespaces));

      const terminatedPids = pidsIn(terminated.lab.namespaces);
      terminated.owner.signal("SIGTERM");
      expect(await terminated.owner.exited).toBe(143);
      expect(listNamespaces().filter((ns) => terminated.lab.namespaces.includes(ns))).toEqual([]);
      expect(terminatedPids.filter((pid) => !processGone(pid))).toEqual([]);

      // A new family (the next benchmark) sweeps the killed run's; a running one's stays.
      const next = claimNamespaceFamily("bngb");
      removeNamespaceFamily(next);
      expect(listNamespaces().filter((ns) => killed.lab.namespaces.includes(ns))).toEqual([]);
      expect(killedPids.filter((pid) => !processGone(pid))).toEqual([]);
      expect(existsSync(`/run/bng-lab/${killed.lab.id}.json`)).toBe(false);
      expect(listNamespaces()).toEqual(expect.arrayContaining(alive.lab.namespaces));
      expect(pidsIn(alive.lab.namespaces).filter((pid) => processGone(pid))).toEqual([]);
    } finally {
      for (const fixture of [killed, terminated, alive]) fixture.owner.signal("SIGKILL");
      await alive.owner.exited;
      cleanupStaleFamilies("bngb");
    }
  }, 10_000);

  test("SIGTERM to the run that owns a lab removes the lab before it exits", async () => {
    const { owner, lab } = await startOwnerFixture("bngly");
    try {
      const pids = pidsIn(lab.namespaces);
      owner.signal("SIGTERM");
      expect(await owner.exited).toBe(143);
      const remaining = new Set(listNamespaces());
      expect(lab.namespaces.filter((ns) => remaining.has(ns))).toEqual([]);
      expect(pids.filter((pid) => !processGone(pid))).toEqual([]);
    } finally {
      owner.signal("SIGKILL");
      cleanupStaleFamilies("bngly");
    }
  }, 10_000);
});
