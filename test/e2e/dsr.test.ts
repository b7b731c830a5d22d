// bng on the seed's network, end to end: real AF_PACKET in network namespaces, real TCP.
// Each test states the acceptance point it proves (issues "data plane" and "the seed's network").
import { beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { hostStatePath, namespaceId } from "../../src/host/host-state.ts";
import { internetChecksum } from "../fixtures/frames.ts";
import { BNG_MAC, targetMac, VIP, type Lab, type RequestResult } from "./lab.ts";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { bngCommand, BngInLab, ENGINE, Scratch, SEED_CONFIG_PATH, withThirdTarget } from "./bng.ts";
import { labWithBng, withLab } from "./fixture.ts";
import { readPcap } from "./pcap.ts";


// The seed's checks run every 3 s and declare a target down after 10 s; the failover tests use
// the same file with 1 s and 3 s so the suite stays short. Everything else is the seed's file.
const FAST_CHECKS = readFileSync(SEED_CONFIG_PATH, "utf8")
  .replaceAll("tcpopen 80,3,10", "tcpopen 80,1,3")
  .replace("interface eth0\n", "interface eth0\nset metrics 127.0.0.1:9100\n");
const FAST_INTERVAL_S = 1;
const FAST_TIMEOUT_S = 3;


function byClient(results: RequestResult[]): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>();
  for (const result of results) {
    if (!result.ok || !result.target) continue;
    const targets = map.get(result.client) ?? new Set<string>();
    targets.add(result.target);
    map.set(result.client, targets);
  }
  return map;
}

describeWith([ROOT], "DSR on the seed's network", () => {
  const fixture = labWithBng({ prefix: "bnge", clients: 16, config: FAST_CHECKS });
  let lab: Lab;
  let scratch: Scratch;
  let bng: BngInLab;
  beforeAll(() => ({ lab, scratch, bng } = fixture));

  test("a. the seed's baseline: every target pings the router, clients reach the VIP on port 80", async () => {
    for (const n of lab.targetNumbers()) {
      const ping = await lab.exec(lab.targetNs(n), ["ping", "-c", "1", "-W", "2", "172.16.1.254"], { allowFailure: true });
      expect(ping.exitCode).toBe(0);
    }
    const results = await lab.requests({ count: 8, concurrency: 4 });
    expect(results.filter((r) => r.ok).length).toBe(8);
  }, 20_000);

  test("the router's ARP for the VIP is answered with bng's MAC", async () => {
    await lab.exec(lab.ns.router, ["ip", "neigh", "flush", "to", VIP]);
    const results = await lab.requests({ count: 1 });
    expect(results[0]?.ok).toBe(true);
    const neigh = await lab.exec(lab.ns.router, ["ip", "neigh", "show", "to", VIP]);
    expect(neigh.stdout).toContain(`lladdr ${BNG_MAC}`);
  }, 10_000);

  test("an idle worker decides the frame that wakes it by the table published meanwhile: the first ARP after `disable server 1` is not answered", async () => {
    const before = await bng.status();
    expect((await bng.cli(["disable", "server", "1"])).exitCode).toBe(0);
    // At once, in one spawn: within the worker's 100-ms receive timeout, so the router's ARP
    // request is what wakes it, before it has looked for a new table. (The router's cache is no
    // witness: bng's gratuitous ARPs from the start may still be arriving.)
    await lab.exec(lab.ns.router, ["sh", "-c", `ip neigh flush to ${VIP}; ping -c 1 -W 1 ${VIP}`], { allowFailure: true });
    const after = await bng.status();
    expect((await bng.cli(["enable", "server", "1"])).exitCode).toBe(0);
    expect(after.totals.arp_replies).toBe(before.totals.arp_replies);
  }, 10_000);

  test("the VIP answers ping: bng replies to ICMP echo for it", async () => {
    const ping = await lab.exec(lab.ns.client, ["ping", "-c", "3", "-i", "0.2", "-W", "1", VIP], { allowFailure: true });
    expect(ping.stdout).toMatch(/3 packets transmitted, 3 received/);
    expect((await bng.status()).totals.icmp_replies).toBeGreaterThanOrEqual(3);
  }, 10_000);

  test("a SYN to the VIP reaches the target with its MAC, a valid TCP checksum and the IP header unchanged", async () => {
    const atRouter = `${scratch.dir}/router.pcap`;
    const atTarget = `${scratch.dir}/target.pcap`;
    const filter = `tcp[tcpflags] & tcp-syn != 0 and dst host ${VIP}`;
    const captures = [
      lab.spawnIn(lab.ns.router, ["tcpdump", "-Z", "root", "-U", "--immediate-mode", "-i", "eth0", "-w", atRouter, filter]),
      ...lab.targetNumbers().map((n) => lab.spawnIn(lab.targetNs(n), ["tcpdump", "-Z", "root", "-U", "--immediate-mode", "-i", "eth0", "-w", `${atTarget}.${n}`, filter])),
    ];
    await Promise.all(captures.map((capture) => capture.waitForOutput(/listening on/, 5000)));
    const results = await lab.requests({ count: 4, concurrency: 1 });
    expect(results.every((r) => r.ok)).toBe(true);
    await Bun.sleep(200);
    await Promise.all(captures.map((capture) => capture.stop(2000, "SIGINT")));
    const sent = readPcap(atRouter);
    expect(sent.length).toBe(4);
    let matched = 0;
    for (const n of lab.targetNumbers()) {
      for (const frame of readPcap(`${atTarget}.${n}`)) {
        // Ethernet: destination is this target, source is bng.
        expect(Array.from(frame.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join(":")).toBe(targetMac(n));
        expect(Array.from(frame.subarray(6, 12), (b) => b.toString(16).padStart(2, "0")).join(":")).toBe(BNG_MAC);
        // IP header byte for byte as the router sent it.
        const ipHeader = frame.subarray(14, 34);
        const original = sent.find((s) => Buffer.compare(s.subarray(14, 34), ipHeader) === 0);
        expect(original).toBeDefined();
        // The TCP checksum over the pseudo-header verifies (bng completed the partial one).
        const totalLength = (frame[16]! << 8) | frame[17]!;
        const segment = frame.subarray(34, 14 + totalLength);
        const pseudo = new Uint8Array(12 + segment.length);
        pseudo.set(frame.subarray(26, 34), 0);
        pseudo[9] = 6;
        pseudo[10] = segment.length >> 8;
        pseudo[11] = segment.length & 255;
        pseudo.set(segment, 12);
        expect(internetChecksum(pseudo)).toBe(0);
        matched++;
      }
    }
    expect(matched).toBe(4);
  }, 20_000);

  test("b. 200 requests from 16 client addresses: all succeed, both targets serve, each client stays on one target", async () => {
    const results = await lab.requests({ count: 200, concurrency: 16 });
    const failed = results.filter((r) => !r.ok);
    expect(failed).toEqual([]);
    const clients = byClient(results);
    expect(clients.size).toBe(16);
    for (const targets of clients.values()) expect(targets.size).toBe(1);
    const served = new Set(results.map((r) => r.target));
    expect(served).toEqual(new Set(["target1", "target2"]));
    // DSR keeps the client's address: the target saw the real client.
    for (const result of results) expect(result.peer).toBe(result.client);
  }, 30_000);

  // On xdp the VIPs' frames never reach the kernel's taps: the XDP program hands them to bng first.
  test("c. replies bypass bng: its eth0 sees requests (unless XDP took them before the taps), never a frame from the VIP", async () => {
    const capture = await lab.capture(lab.bngNs, "eth0", "ip");
    const results = await lab.requests({ count: 40, concurrency: 8 });
    expect(results.every((r) => r.ok)).toBe(true);
    const frames = await capture.stop();
    const toVip = frames.filter((frame) => frame.ip?.dst === VIP && frame.ip.dstPort === 80);
    const fromVip = frames.filter((frame) => frame.ip?.src === VIP);
    if (ENGINE === "xdp") expect(toVip).toEqual([]);
    else expect(toVip.length).toBeGreaterThanOrEqual(40 * 3);
    expect(fromVip).toEqual([]);
  }, 20_000);

  test("the bng box's kernel never handles a VIP frame: its ingress table drops the copy bng's tap has already seen (xdp: none reaches it)", async () => {
    const packetsDropped = async () => {
      const { stdout } = await lab.bngExec(["nft", "list", "table", "netdev", "bng_eth0"]);
      expect(stdout).toContain('hook ingress device "eth0"');
      return Number(/ip daddr 172\.16\.1\.10 counter packets (\d+)/.exec(stdout)?.[1]);
    };
    // InAddrErrors counts the frames the IP stack received for an address it neither owns nor routes.
    const addressErrors = async () => {
      const snmp = (await lab.bngExec(["cat", "/proc/net/snmp"])).stdout.split("\n").filter((line) => line.startsWith("Ip:"));
      const [names, values] = snmp.map((line) => line.split(/\s+/)) as [string[], string[]];
      return Number(values[names.indexOf("InAddrErrors")]);
    };
    const [droppedBefore, errorsBefore] = [await packetsDropped(), await addressErrors()];
    const results = await lab.requests({ count: 40, concurrency: 8 });
    expect(results.every((r) => r.ok)).toBe(true);
    if (ENGINE === "xdp") expect((await packetsDropped()) - droppedBefore).toBe(0);
    else expect((await packetsDropped()) - droppedBefore).toBeGreaterThanOrEqual(40 * 3);
    expect(await addressErrors()).toBe(errorsBefore);
  }, 20_000);

  test("g. status --json agrees with what the clients saw", async () => {
    const before = await bng.status();
    const results = await lab.requests({ count: 160, concurrency: 16 });
    expect(results.every((r) => r.ok)).toBe(true);
    const after = await bng.status();
    const sessions = JSON.parse((await bng.cli(["show", "sessions", "--json", "--limit", "1000"])).stdout) as {
      sessions: { client: string; target: number }[];
    };
    // Every client's session names the target that answered it.
    const seen = byClient(results);
    for (const session of sessions.sessions) {
      const target = seen.get(session.client);
      if (target) expect([...target]).toEqual([`target${session.target}`]);
    }
    expect(sessions.sessions.filter((s) => seen.has(s.client)).length).toBe(seen.size);
    // Forwarded frames per target are in proportion to the requests it served.
    const perRequest = [1, 2].map((id) => {
      const served = results.filter((r) => r.target === `target${id}`).length;
      const delta = after.targets.find((t) => t.id === id)!.packets - before.targets.find((t) => t.id === id)!.packets;
      expect(served).toBeGreaterThan(0);
      return delta / served;
    });
    console.log(`frames forwarded per request: target1 ${perRequest[0]!.toFixed(2)}, target2 ${perRequest[1]!.toFixed(2)}`);
    expect(perRequest[0]!).toBeGreaterThanOrEqual(3);
    expect(Math.abs(perRequest[0]! - perRequest[1]!) / perRequest[0]!).toBeLessThan(0.25);
    expect(after.servers[0]!.packets - before.servers[0]!.packets).toBe(
      after.targets.reduce((sum, t) => sum + t.packets, 0) - before.targets.reduce((sum, t) => sum + t.packets, 0),
    );
  }, 30_000);

  test("set metrics serves Prometheus /metrics over HTTP inside the bng box", async () => {
    const scrape = await lab.bngExec(["curl", "-sS", "-D", "-", "http://127.0.0.1:9100/metrics"]);
    expect(scrape.stdout).toMatch(/^content-type: text\/plain; version=0\.0\.4/im);
    expect(scrape.stdout).toMatch(/^# TYPE bng_target_packets_total counter$/m);
    expect(scrape.stdout).toMatch(/^bng_target_up\{target="1",address="172\.16\.1\.100:80"\} 1$/m);
    expect(scrape.stdout).toMatch(/^bng_health_check_latency_seconds_count\{check="tcpopen",destination="172\.16\.1\.100:80"\} [1-9]/m);
    const other = await lab.bngExec(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:9100/"]);
    expect(other.stdout).toBe("404");
  }, 10_000);

  test("d. failover: target 1's web server stops under a steady stream; after interval+timeout nothing fails; recovery within one interval", async () => {
    const stream = lab.steadyStream({ durationMs: 9000, concurrency: 4, timeoutMs: 1000 });
    await Bun.sleep(1000);
    const stoppedAt = Date.now();
    await lab.stopTargetServer(1);
    const detectionMs = await bng.waitForTargets([1], "down", (FAST_TIMEOUT_S + FAST_INTERVAL_S + 2) * 1000);
    const timeline = await stream;
    // The detection window: a target is down at the latest one interval plus the timeout after its server stopped.
    const settled = stoppedAt + (FAST_INTERVAL_S + FAST_TIMEOUT_S) * 1000;
    const duringDetection = timeline.filter((r) => r.startedAt >= stoppedAt && r.startedAt < settled);
    const afterSettled = timeline.filter((r) => r.startedAt >= settled);
    console.log(
      `failover: detected down ${detectionMs} ms after the stop; ${duringDetection.filter((r) => !r.ok).length} of ${duringDetection.length} requests failed during detection, ${afterSettled.filter((r) => !r.ok).length} of ${afterSettled.length} after`,
    );
    // The stop was felt: target 1's clients failed until it was declared down.
    expect(duringDetection.filter((r) => !r.ok).length).toBeGreaterThan(0);
    // The stream ran on well past the window (about 4 s of it), so "nothing fails after it" is about real requests.
    expect(afterSettled.length).toBeGreaterThanOrEqual(20);
    expect(afterSettled.filter((r) => !r.ok)).toEqual([]);
    expect(afterSettled.every((r) => r.target === "target2")).toBe(true);
    const restartedAt = Date.now();
    await lab.startTargetServer(1);
    const recoveryMs = await bng.waitForTargets([1], "up", (FAST_INTERVAL_S + 2) * 1000);
    console.log(`recovery: target 1 up ${Date.now() - restartedAt} ms after its server restarted (poll ${recoveryMs} ms)`);
    expect(Date.now() - restartedAt).toBeLessThanOrEqual(FAST_INTERVAL_S * 1000 + 500);
  }, 30_000);

  test("e. reload under load: a third target added to the file, zero failed requests", async () => {
    await lab.addTarget(3);
    const file = scratch.writeConfig("three.conf", withThirdTarget(FAST_CHECKS));
    const stream = lab.steadyStream({ durationMs: 4000, concurrency: 4, timeoutMs: 1000 });
    await Bun.sleep(1000);
    const reload = await bng.cli(["reload", file]);
    expect(reload.exitCode).toBe(0);
    expect(reload.stdout).toContain("reloaded");
    const timeline = await stream;
    console.log(`reload under load: ${timeline.length} requests, ${timeline.filter((r) => !r.ok).length} failed`);
    expect(timeline.filter((r) => !r.ok)).toEqual([]);
    await bng.waitForTargets([3], "up", 5000);
  }, 30_000);

  test("f. bng killed with SIGKILL and started again under load: service resumes within 2 s", async () => {
    const config = `${scratch.dir}/three.conf`;
    const stream = lab.steadyStream({ durationMs: 7000, concurrency: 4, timeoutMs: 500 });
    await Bun.sleep(1000);
    bng.process.signal("SIGKILL");
    await bng.process.exited;
    await Bun.sleep(500);
    const restartedAt = Date.now();
    bng = fixture.bng = await BngInLab.start(lab, config, `${scratch.dir}/bng.sock`);
    const timeline = await stream;
    const firstOk = timeline.find((r) => r.ok && r.startedAt >= restartedAt);
    expect(firstOk).toBeDefined();
    const resumeMs = firstOk!.startedAt + firstOk!.ms - restartedAt;
    const failed = timeline.filter((r) => !r.ok).length;
    const lastFailure = Math.max(...timeline.filter((r) => !r.ok).map((r) => r.startedAt + r.ms));
    console.log(`restart after SIGKILL: first success ${resumeMs} ms after the restart, ${failed} of ${timeline.length} requests failed, last failure ${lastFailure - restartedAt} ms after the restart`);
    expect(resumeMs).toBeLessThan(2000);
    expect(timeline.filter((r) => !r.ok && r.startedAt > restartedAt + 2000)).toEqual([]);
  }, 30_000);

  test("SIGTERM stops bng within a second with exit code 0; the real address a SIGKILLed bng left is adopted by its successor and removed", async () => {
    // The killed bng could not remove the address it had added; its successor finds it in the
    // killed one's host-state file, takes it over and removes it.
    expect(bng.process.stderr).toMatch(/address-adopted interface=eth0 address=172\.16\.1\.252\/24/);
    const { exitCode, ms } = await bng.stop();
    console.log(`SIGTERM to exit: ${ms} ms`);
    expect(exitCode).toBe(0);
    expect(ms).toBeLessThan(1000);
    expect(bng.process.stderr).toMatch(/ stopped /);
    expect(bng.process.stderr).toMatch(/address-removed interface=eth0 address=172\.16\.1\.252\/24/);
    const addresses = await lab.bngExec(["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
    expect(addresses.stdout).not.toContain("172.16.1.252/24");
    const namespace = namespaceId((await lab.bngExec(["readlink", "/proc/self/ns/net"])).stdout);
    expect(existsSync(hostStatePath("/run/bng", namespace, "eth0"))).toBe(false);
  }, 10_000);
});

describeWith([ROOT], "bng's changes to the box", () => {
  const SEED_CONFIG = readFileSync(SEED_CONFIG_PATH, "utf8");

  test("the real address bng added is removed again on SIGTERM, GRO is restored and its nftables table deleted; the VIP is no longer answered", async () => {
    await withLab({ prefix: "bnge", clients: 1 }, async (ownLab, ownScratch) => {
      /** The router asks for the VIP afresh: whether a ping was answered, and the MAC its ARP learned (if any). */
      const routerReachesVip = async () => {
        await ownLab.exec(ownLab.ns.router, ["ip", "neigh", "flush", "to", VIP], { allowFailure: true });
        const ping = await ownLab.exec(ownLab.ns.router, ["ping", "-c", "1", "-W", "1", VIP], { allowFailure: true, timeoutMs: 5000 });
        const neighbour = (await ownLab.exec(ownLab.ns.router, ["ip", "neigh", "show", VIP])).stdout;
        return { answered: ping.exitCode === 0, mac: /lladdr (\S+)/.exec(neighbour)?.[1] ?? null };
      };
      await ownLab.bngExec(["ethtool", "-K", "eth0", "gro", "on"]);
      const running = await BngInLab.start(ownLab, ownScratch.writeConfig("bng.conf", SEED_CONFIG), `${ownScratch.dir}/bng.sock`);
      expect(await routerReachesVip()).toEqual({ answered: true, mac: BNG_MAC });
      const during = await ownLab.bngExec(["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
      expect(during.stdout).toContain("172.16.1.252/24");
      expect((await ownLab.bngExec(["nft", "list", "tables", "netdev"])).stdout).toContain("table netdev bng_eth0");
      expect((await ownLab.bngExec(["ethtool", "-k", "eth0"])).stdout).toMatch(/generic-receive-offload: off/);
      const { exitCode } = await running.stop();
      expect(exitCode).toBe(0);
      expect(running.process.stderr).toMatch(/address-added .*172\.16\.1\.252\/24/);
      expect(running.process.stderr).toMatch(/address-removed .*172\.16\.1\.252\/24/);
      const after = await ownLab.bngExec(["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
      expect(after.stdout).not.toContain("172.16.1.252");
      expect(running.process.stderr).toMatch(/vip-filter interface=eth0 table="netdev bng_eth0" vips=172\.16\.1\.10/);
      expect((await ownLab.bngExec(["nft", "list", "tables", "netdev"])).stdout).not.toContain("bng_eth0");
      expect((await ownLab.bngExec(["ethtool", "-k", "eth0"])).stdout).toMatch(/generic-receive-offload: on/);
      // Stopped, bng answers neither ARP nor ping for the VIP (the targets keep it on lo, silenced).
      expect(await routerReachesVip()).toEqual({ answered: false, mac: null });
    });
  }, 30_000);

  test("SIGTERM while bng is still starting: it finishes starting, then stops cleanly and undoes its changes", async () => {
    await withLab({ prefix: "bnge", clients: 1 }, async (ownLab, ownScratch) => {
      const process = ownLab.spawnIn(ownLab.bngNs, [...bngCommand(), "run", ownScratch.writeConfig("bng.conf", SEED_CONFIG), "--socket", `${ownScratch.dir}/bng.sock`]);
      await process.waitForOutput(/address-added/, 10_000);
      process.signal("SIGTERM");
      const exitCode = await process.exited;
      expect(exitCode).toBe(0);
      expect(process.stderr).toMatch(/stopping reason="SIGTERM received while starting"/);
      expect(process.stderr).not.toMatch(/ ready /);
      expect(process.stderr).toMatch(/address-removed/);
      const after = await ownLab.bngExec(["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
      expect(after.stdout).not.toContain("172.16.1.252");
      expect((await ownLab.bngExec(["nft", "list", "tables", "netdev"])).stdout).not.toContain("bng_eth0");
    });
  }, 30_000);

  test("its interface deleted under it: bng stops by itself with exit code 1 and says why", async () => {
    await withLab({ prefix: "bnge", clients: 1 }, async (ownLab, ownScratch) => {
      const running = await BngInLab.start(ownLab, ownScratch.writeConfig("bng.conf", SEED_CONFIG), `${ownScratch.dir}/bng.sock`);
      await ownLab.bngExec(["ip", "link", "del", "eth0"]);
      const exitCode = await Promise.race([running.process.exited, Bun.sleep(5000).then(() => "still running")]);
      expect(exitCode).toBe(1);
      expect(running.process.stderr).toMatch(/error interface-gone interface=eth0/);
      expect(running.process.stderr).toMatch(/ stopped /);
    });
  }, 30_000);
});
