// Interoperation with a real keepalived 2.x (Debian's `keepalived`, vrrp_version 2): keepalived
// runs in one network namespace, a node built of bng's VRRP core (vrrp-node-helper.ts: the
// advert writer and checks, the state machine, AF_PACKET sockets) in the other, joined by a veth
// pair (test/ffi/netns-lab.ts; names bngk + random suffix). Both namespaces, keepalived and the
// helper are removed afterwards, also on failure. Needs root and keepalived; skipped otherwise.
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVrrpRouter, writeVrrpAdvert } from "../../src/ha/vrrp-advert.ts";
import { ip } from "../fixtures/frames.ts";
import type { RunningProcess } from "../fixtures/process.ts";
import { describeWith, program, ROOT } from "../fixtures/requirements.ts";
import { vethLab } from "../ffi/netns-lab.ts";

const keepalivedBinary = Bun.which("keepalived");
const HELPER = new URL("./vrrp-node-helper.ts", import.meta.url).pathname;
const VRID = 51;
const VIPS = ["192.0.2.10", "192.0.2.11"];

/** Master_Down_Interval at interval 1 s (RFC 3768): 3 s + (256 - priority)/256 s. */
function masterDownMs(priority: number): number {
  return 3000 + ((256 - priority) * 1000) / 256;
}

interface HelperLine {
  kind?: string;
  ready?: boolean;
  result?: string;
  vrid?: number;
  priority?: number;
  intervalS?: number;
  source?: string;
  count?: number;
  state?: string;
  reason?: string;
  atMs?: number;
  hex?: string;
  counts?: Record<string, number>;
}

describeWith([ROOT, program("keepalived")], "VRRP interoperation with keepalived", () => {
  const lab = vethLab("bngk");
  let directory = "";
  const processes: RunningProcess[] = [];

  beforeAll(() => {
    lab.create();
    directory = mkdtempSync(join(tmpdir(), "bng-keepalived-"));
  });

  afterEach(async () => {
    await Promise.all(processes.splice(0).map((child) => child.stop()));
  });

  afterAll(() => {
    lab.remove();
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  /** keepalived in namespace A at `priority`; its log (stderr with -l) as lines. */
  function startKeepalived(priority: number): { log: RunningProcess; vrrpPidFile: string } {
    const name = `k${priority}`;
    const config = join(directory, `${name}.conf`);
    writeFileSync(
      config,
      `global_defs {
  router_id bng-test
  vrrp_version 2
}
vrrp_instance VI {
  state BACKUP
  interface ${lab.linkA}
  virtual_router_id ${VRID}
  priority ${priority}
  advert_int 1
  virtual_ipaddress {
${VIPS.map((vip) => `    ${vip}/32`).join("\n")}
  }
}
`,
    );
    const vrrpPidFile = join(directory, `${name}.vrrp.pid`);
    // -n foreground, -l log to the console, -D detailed log, -R no respawn: killing the VRRP
    // child ends keepalived silently, like a crashed router.
    const log = lab.spawn(lab.namespaceA, [keepalivedBinary!, "-n", "-l", "-D", "-R", "-f", config, "-p", join(directory, `${name}.pid`), "-r", vrrpPidFile], { lines: "stderr" });
    processes.push(log);
    return { log, vrrpPidFile };
  }

  /** bng's VRRP node in namespace B at `priority`, once its sockets are open. */
  async function startNode(priority: number): Promise<{ node: RunningProcess; lines: () => HelperLine[] }> {
    const node = lab.spawn(lab.namespaceB, [process.execPath, HELPER, lab.linkB, String(VRID), String(priority), lab.addressB, VIPS.join(",")]);
    processes.push(node);
    await node.waitFor((line) => line.includes('"ready":true'), 10_000);
    return { node, lines: () => node.lines.map((line) => JSON.parse(line) as HelperLine) };
  }

  function lineMatching(predicate: (line: HelperLine) => boolean): (text: string) => boolean {
    return (text) => predicate(JSON.parse(text) as HelperLine);
  }

  test("bng below a keepalived of higher priority: accepts its adverts, byte for byte ours, stays silent, takes over when it dies", async () => {
    const { log, vrrpPidFile } = startKeepalived(150);
    await log.waitFor(/\(VI\) Entering MASTER STATE/, 10_000);
    const { node, lines } = await startNode(100);
    // Six adverts of keepalived's: longer than bng's Master_Down_Interval (3.6 s).
    for (let seen = 0, from = 0; seen < 6; seen++) {
      from = (await node.waitFor(lineMatching((line) => line.kind === "frame"), 5000, from)).index + 1;
    }

    const frames = lines().filter((line) => line.kind === "frame");
    for (const frame of frames) {
      expect(frame).toMatchObject({ result: "accepted", vrid: VRID, priority: 150, intervalS: 1, source: lab.addressA, count: VIPS.length });
    }
    // Silent: no advert and no transition beyond startup while keepalived is master.
    expect(lines().filter((line) => line.kind === "advert")).toEqual([]);
    expect(lines().filter((line) => line.kind === "transition").map((line) => line.state)).toEqual(["backup"]);
    expect(log.lines.filter((line) => line.includes("192.0.2.2"))).toEqual([]);

    // keepalived's frame is the one bng writes for the same router, priority and IP id, but for
    // the source MAC: keepalived (without use_vmac) sends from its interface's MAC.
    const captured = Buffer.from(frames[0]!.hex!, "hex");
    const ipId = captured.readUInt16BE(18);
    const ours = new Uint8Array(captured.length);
    const keepalivedRouter = createVrrpRouter({ vrid: VRID, intervalS: 1, realAddress: ip(lab.addressA), addresses: VIPS.map(ip) });
    expect(writeVrrpAdvert(ours, 0, keepalivedRouter, 150, ipId)).toBe(captured.length);
    expect(Buffer.from(captured.subarray(0, 6)).toString("hex")).toBe(Buffer.from(ours.subarray(0, 6)).toString("hex"));
    expect(Buffer.from(captured.subarray(6, 12)).toString("hex")).toBe(lab.macA.replaceAll(":", ""));
    expect(Buffer.from(captured.subarray(12)).toString("hex")).toBe(Buffer.from(ours.subarray(12)).toString("hex"));

    // Kill keepalived's VRRP process: no priority-0 advert, its adverts just stop.
    while (!existsSync(vrrpPidFile)) await Bun.sleep(10);
    const killedAt = Date.now();
    process.kill(Number(readFileSync(vrrpPidFile, "utf8").trim()), "SIGKILL");
    await log.waitFor(/VRRP child process\(\d+\) died/, 5000);
    const { line } = await node.waitFor(lineMatching((l) => l.kind === "transition" && l.state === "master"), 10_000);
    const takeover = JSON.parse(line) as HelperLine;
    expect(takeover.reason).toBe("master-down");
    const lastAdvert = lines().filter((l) => l.kind === "frame").at(-1)!;
    const silence = takeover.atMs! - lastAdvert.atMs!;
    expect(silence).toBeGreaterThanOrEqual(masterDownMs(100) - 50);
    expect(silence).toBeLessThanOrEqual(masterDownMs(100) + 500);
    // The issue's bound: master within 3 x interval + 1 s of the kill.
    expect(takeover.atMs! - killedAt).toBeLessThanOrEqual(4000);
    await node.waitFor(lineMatching((l) => l.kind === "advert" && l.priority === 100), 2000);
    console.log(`bng took over ${silence} ms after keepalived's last advert (Master_Down_Interval ${masterDownMs(100)} ms), ${takeover.atMs! - killedAt} ms after the kill`);
  }, 60_000);

  test("keepalived accepts bng's adverts: BACKUP under bng's higher priority, MASTER again on bng's priority-0 advert", async () => {
    const { log } = startKeepalived(100);
    const { index: masterAt } = await log.waitFor(/\(VI\) Entering MASTER STATE/, 10_000);
    const { node, lines } = await startNode(200);
    // bng preempts the lower priority after its Master_Down_Interval.
    const { line } = await node.waitFor(lineMatching((l) => l.kind === "transition" && l.state === "master"), 10_000);
    expect((JSON.parse(line) as HelperLine).reason).toBe("preempt");
    const higher = await log.waitFor(/\(VI\) Master received advert from 192\.0\.2\.2 with higher priority 200, ours 100/, 5000, masterAt);
    const backup = await log.waitFor(/\(VI\) Entering BACKUP STATE/, 5000, higher.index);
    console.log(`keepalived: ${higher.line}\nkeepalived: ${backup.line}`);

    // Three more seconds: keepalived stays backup (silent), bng stays master.
    await Bun.sleep(3000);
    expect(log.lines.slice(backup.index).filter((l) => /Entering MASTER STATE/.test(l))).toEqual([]);
    const keepalivedFramesAfter = lines().filter((l) => l.kind === "frame" && l.atMs! > Date.now() - 2000);
    expect(keepalivedFramesAfter).toEqual([]);
    expect(lines().filter((l) => l.kind === "transition").map((l) => l.state)).toEqual(["backup", "master"]);

    // bng shuts down: its priority-0 advert makes keepalived master after its skew time (0.61 s).
    const stoppedAt = Date.now();
    node.signal("SIGTERM");
    await node.waitFor(lineMatching((l) => l.kind === "advert" && l.priority === 0), 5000);
    const zero = await log.waitFor(/\(VI\) Backup received priority 0 advertisement/, 5000, backup.index);
    const master = await log.waitFor(/\(VI\) Entering MASTER STATE/, 3000, zero.index);
    expect(Date.now() - stoppedAt).toBeLessThan(3000);
    console.log(`keepalived: ${zero.line}\nkeepalived: ${master.line}`);
    const { line: stopped } = await node.waitFor(lineMatching((l) => l.kind === "stopped"), 5000);
    expect((JSON.parse(stopped) as HelperLine).counts!.accepted).toBeGreaterThanOrEqual(3);
  }, 60_000);
});
