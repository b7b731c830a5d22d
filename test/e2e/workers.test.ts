// Two data-plane workers in one PACKET_FANOUT group share the session table; a target whose MAC
// changes is followed at the next ARP refresh.
import { beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import type { Lab } from "./lab.ts";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { BngInLab, ENGINE, SEED_CONFIG_PATH } from "./bng.ts";
import { labWithBng, withLab } from "./fixture.ts";

const NEW_MAC = "02:00:ac:10:01:a4";
/**
 * Packet sockets a worker binds to its interface: the ring engine's send ring has one of its own
 * (ffi/README.md); an xdp worker's one packet socket is its ARP tap, beside its AF_XDP socket.
 */
const SOCKETS_PER_WORKER: Partial<Record<typeof ENGINE, number>> = { mmsg: 1, ring: 2, xdp: 1 };

describeWith([ROOT], "two workers, ARP refresh", () => {
  const config = readFileSync(SEED_CONFIG_PATH, "utf8").replace("interface eth0\n", "interface eth0\nset workers 2\nset arprefresh 1\n");
  // Two receive queues: an xdp worker takes one queue's frames.
  const fixture = labWithBng({ prefix: "bngw", clients: 32, config, bngQueues: 2 });
  let lab: Lab;
  let bng: BngInLab;
  beforeAll(() => ({ lab, bng } = fixture));

  test("with set workers 2, 320 requests from 32 clients all succeed and every client stays on one target", async () => {
    const status = await bng.status();
    expect(status.workers).toBe(2);
    // The workers' packet sockets bound to eth0 (the ARP sender is unbound).
    const ifindex = (await lab.bngExec(["cat", "/sys/class/net/eth0/ifindex"])).stdout.trim();
    const sockets = (await lab.bngExec(["cat", "/proc/net/packet"])).stdout.split("\n").slice(1).filter((line) => line.trim().split(/\s+/)[4] === ifindex);
    expect(sockets.length).toBe(2 * SOCKETS_PER_WORKER[ENGINE]!);
    const results = await lab.requests({ count: 320, concurrency: 32 });
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const targetsOf = new Map<string, Set<string>>();
    for (const result of results) targetsOf.set(result.client, (targetsOf.get(result.client) ?? new Set()).add(result.target!));
    expect(targetsOf.size).toBe(32);
    for (const targets of targetsOf.values()) expect(targets.size).toBe(1);
    const after = await bng.status();
    expect(after.sessions.current).toBe(32);
    // Each worker keeps its own round-robin position, so two workers split about evenly, not exactly.
    const [first, second] = after.targets.map((t) => t.sessions);
    expect(first! + second!).toBe(32);
    expect(Math.abs(first! - second!)).toBeLessThanOrEqual(8);
  }, 30_000);

  test("set io ring: the PACKET_MMAP receive ring forwards like recvmmsg, without adding latency", async () => {
    const ringConfig = readFileSync(SEED_CONFIG_PATH, "utf8").replace("interface eth0\n", "interface eth0\nset io ring\n");
    await withLab({ prefix: "bngw", clients: 8 }, async (ringLab, scratch) => {
      const ring = await BngInLab.start(ringLab, scratch.write("ring.conf", ringConfig), `${scratch.dir}/bng.sock`);
      expect(ring.process.stderr).toMatch(/ started .* io=ring /);
      await ring.waitForTargets([1, 2], "up", 10_000);
      const results = await ringLab.requests({ count: 80, concurrency: 8 });
      expect(results.filter((r) => !r.ok)).toEqual([]);
      // One request at a time on an idle link: no frame waits for a ring block to fill.
      const single = await ringLab.requests({ count: 20, concurrency: 1 });
      const slowest = Math.max(...single.map((r) => r.ms));
      console.log(`set io ring: 20 sequential requests, slowest ${slowest.toFixed(1)} ms`);
      expect(slowest).toBeLessThan(50);
      expect((await ring.stop()).exitCode).toBe(0);
    });
  }, 30_000);

  test("a target's new MAC is learned at the next ARP refresh and traffic follows it", async () => {
    const ns = lab.targetNs(1);
    await lab.exec(ns, ["ip", "link", "set", "eth0", "address", NEW_MAC]);
    const deadline = Date.now() + 5000;
    let mac: string | null = null;
    while (Date.now() < deadline) {
      mac = (await bng.status()).targets.find((t) => t.id === 1)!.mac;
      if (mac === NEW_MAC) break;
      await Bun.sleep(200);
    }
    expect(mac).toBe(NEW_MAC);
    expect(bng.process.stderr).toMatch(/target-mac-changed target=1 .*mac=02:00:ac:10:01:a4/);
    const results = await lab.requests({ count: 64, concurrency: 16 });
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.some((r) => r.target === "target1")).toBe(true);
  }, 30_000);

  test("SIGHUP reloads the file bng was started with", async () => {
    const file = `${fixture.scratch.dir}/bng.conf`;
    const before = await bng.status();
    expect(before.servers[0]!.method).toBe("rr");
    writeFileSync(file, readFileSync(file, "utf8").replace("targets 1,2\n}", "targets 1,2\nmethod maglev\n}"));
    bng.process.signal("SIGHUP");
    await bng.process.waitForOutput(/ reloaded config=/, 5000);
    expect((await bng.status()).servers[0]!.method).toBe("maglev");
    const results = await lab.requests({ count: 32, concurrency: 8 });
    expect(results.filter((r) => !r.ok)).toEqual([]);
  }, 30_000);

  // Last: it ends the fixture's bng, then starts and stops it four times more. Both worker
  // threads end before bng does (on Bun, awaiting terminate() of a thread that had already
  // ended hung most stops with two workers until SIGKILL).
  test("SIGTERM stops bng and both its workers within a second, exit code 0, start after start", async () => {
    const stops = [await bng.stop()];
    for (let start = 0; start < 4; start++) {
      const again = await BngInLab.start(lab, `${fixture.scratch.dir}/bng.conf`, `${fixture.scratch.dir}/bng.sock`);
      await again.waitForTargets([1, 2], "up", 10_000);
      stops.push(await again.stop());
    }
    expect(stops.map(({ exitCode }) => exitCode)).toEqual([0, 0, 0, 0, 0]);
    expect(Math.max(...stops.map(({ ms }) => ms))).toBeLessThan(1000);
  }, 60_000);
});
