// The VRRP pair's two figures (issue 21), in the seed's lab with a second bng box:
//   failover: from a SIGKILL of the master to the backup's `vrrp-master` log line (its own
//     clock), over several rounds; the RFC's bound is 3 x interval + skew (3.6 s here);
//   sync: sessions the master creates in a burst (new clients' SYNs at the virtual MAC), how
//     fast they reach the backup's table and how long after the master's.
// Figures only, no targets.
//   bun bench/ha.ts [--rounds N] [--sessions N]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { StatusReport } from "../src/control/status.ts";
import { BUN, REPO } from "../test/fixtures/process.ts";
import { BngInLab, Scratch, SEED_CONFIG_PATH } from "../test/e2e/bng.ts";
import { pairConfig, startNode, statusOf, waitForStatus } from "../test/e2e/ha-pair.ts";
import { BNG_REAL_ADDRESS, createLab, SECOND_BNG_REAL_ADDRESS, VIP } from "../test/e2e/lab.ts";

export interface HaResult {
  /** Milliseconds from each SIGKILL of the master to the backup's takeover. */
  failoverMs: number[];
  sync: {
    sessions: number;
    /** From the burst's start to the master's table holding them all (its last new one), and the backup's. */
    masterMs: number;
    backupMs: number;
    /** Sessions a second the backup installed over its time. */
    perSecond: number;
  };
}

const SEED = readFileSync(SEED_CONFIG_PATH, "utf8").replaceAll("tcpopen 80,3,10", "tcpopen 80,1,3");
const FLOOD = `${REPO}/test/e2e/flood.ts`;
const VIRTUAL_MAC = "00:00:5e:00:01:33";

async function sessionsOf(node: BngInLab): Promise<number> {
  return (await statusOf(node))?.sessions.current ?? 0;
}

export async function haBenchmark(options: { rounds: number; sessions: number; log: (line: string) => void }): Promise<HaResult> {
  const scratch = new Scratch();
  const lab = await createLab({ prefix: "bnghbench", clients: 1 });
  const nodes: (BngInLab | undefined)[] = [];
  try {
    const boxB = await lab.addBngBox();
    // A budget well above the burst, so every new client gets a session to replicate.
    const settings = "set newsessions 1000000\nset sessions 262144\n";
    const configA = settings + pairConfig(SEED, "A", { priority: 200, syncPeer: SECOND_BNG_REAL_ADDRESS, key: "bench" });
    const configB = settings + pairConfig(SEED, "B", { priority: 100, syncPeer: BNG_REAL_ADDRESS, key: "bench" });
    const isMaster = (report: StatusReport) => report.vrrp?.state === "master";
    let a = await startNode(lab, scratch, "a", configA, lab.bngNs);
    const b = await startNode(lab, scratch, "b", configB, boxB);
    nodes.push(a, b);
    await waitForStatus(a, isMaster, 15_000, "A master");
    await waitForStatus(b, (report) => report.vrrp?.sync?.full_transfers_received === 1, 15_000, "B with A's table");
    await a.waitForTargets([1, 2], "up", 10_000);

    // Sync: a burst of new clients at the master (as many as reach it: the generator loses some),
    // then how long until the backup's table holds every one of them.
    const before = await sessionsOf(b);
    const rate = 20_000;
    const started = Date.now();
    await lab.exec(lab.ns.router, [BUN, FLOOD, "eth0", VIRTUAL_MAC, VIP, "80", String(options.sessions / rate), String(rate), String(options.sessions), "198.19.0.0"], { timeoutMs: 60_000 });
    let created = -1;
    let masterMs = -1;
    for (let stable = 0; stable < 5; await Bun.sleep(20)) {
      const now = await sessionsOf(a);
      if (now === created) stable++;
      else [created, stable, masterMs] = [now, 0, Date.now() - started];
    }
    let backupMs = -1;
    while (backupMs < 0 && Date.now() - started < 60_000) {
      if ((await sessionsOf(b)) - before >= created) backupMs = Date.now() - started;
      else await Bun.sleep(10);
    }
    if (backupMs < 0) throw new Error(`the backup did not get the master's ${created} sessions within 60 s (it has ${(await sessionsOf(b)) - before})`);
    options.log(`sync: ${created} sessions; the master held them ${masterMs} ms, the backup ${backupMs} ms after the burst began`);

    // Failover rounds: kill A, B takes over; A comes back and takes its place again.
    const failoverMs: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const killedAt = Date.now();
      a.process.signal("SIGKILL");
      await a.process.exited;
      const takeoverLines = b.process.stderr.split("\n").filter((line) => / vrrp-master /.test(line)).length;
      await waitForStatus(b, isMaster, 15_000, "B master");
      const lines = b.process.stderr.split("\n").filter((line) => / vrrp-master /.test(line));
      // B's own time of the takeover: the last vrrp-master line.
      const at = Date.parse(lines[lines.length - 1]!.split(" ")[0]!);
      failoverMs.push(at - killedAt);
      options.log(`failover ${round + 1}: ${at - killedAt} ms (B's takeovers: ${takeoverLines} -> ${lines.length})`);
      a = await startNode(lab, scratch, `a${round}`, configA, lab.bngNs);
      nodes[0] = a;
      await waitForStatus(a, isMaster, 30_000, "A master again");
      await waitForStatus(b, (report) => report.vrrp?.state === "backup", 10_000, "B backup again");
    }
    return { failoverMs, sync: { sessions: created, masterMs, backupMs, perSecond: Math.round(created / (backupMs / 1000)) } };
  } finally {
    for (const node of nodes) await node?.stop().catch(() => undefined);
    await lab.destroy();
    scratch.remove();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { rounds: { type: "string", default: "5" }, sessions: { type: "string", default: "20000" } } });
  const result = await haBenchmark({ rounds: Number(values.rounds), sessions: Number(values.sessions), log: (line) => console.error(line) });
  console.log(JSON.stringify(result));
}
