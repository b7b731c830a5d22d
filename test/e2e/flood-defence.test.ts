// Flood defence end to end (issue 19): 32 known clients have sessions; a spoofed-source SYN flood
// of more than 100 k new sources a second for 5 s hits the VIP; every known client's request
// during and after the flood is served by the target it had, bng's memory stays bounded, and
// the session counts show the budget holding. The budget (`set newsessions 5000`) and the table
// (`set sessions 16384`) are small so that what bng takes of the flood exceeds both even on a
// busy 2-core machine, where one worker forwards a fraction of it: the admitted sessions alone
// overflow the table, so eviction must choose between them and the known clients. The flood
// comes from the lab's router side of the switch, to bng's MAC and the VIP, with sources in
// 100.64.0.0/10 that no lab host has: it stays inside the lab.
import { beforeAll, expect, test } from "bun:test";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, REPO } from "../fixtures/process.ts";
import { BNG_MAC, VIP, type Lab, type RequestResult } from "./lab.ts";
import { SEED_CONFIG_PATH, type BngInLab } from "./bng.ts";
import { labWithBng } from "./fixture.ts";

const KNOWN_CLIENTS = 32;
const FLOOD_SECONDS = 5;
const FLOOD_RATE = 120_000;
/** Distinct spoofed sources: more than the flood sends, so every frame is a new client's. */
const FLOOD_SOURCES = 1 << 20;
const NEW_SESSIONS_PER_S = 5000;
const SESSIONS = 16_384;
const CONFIG = readFileSync(SEED_CONFIG_PATH, "utf8").replace("interface eth0\n", `interface eth0\nset sessions ${SESSIONS}\nset newsessions ${NEW_SESSIONS_PER_S}\n`);

function residentKiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
}

/** Each client's target; fails the test on a request that failed. */
function targetsByClient(results: RequestResult[]): Map<string, string> {
  expect(results.filter((result) => !result.ok)).toEqual([]);
  return new Map(results.map((result) => [result.client, result.target!]));
}

describeWith([ROOT], "flood defence", () => {
  const fixture = labWithBng({ prefix: "bngd", clients: KNOWN_CLIENTS, config: CONFIG });
  let lab: Lab;
  let bng: BngInLab;
  beforeAll(() => ({ lab, bng } = fixture));

  test("under a 5 s flood of new spoofed sources, known clients stay on their targets and the new-session budget holds", async () => {
    const known = targetsByClient(await lab.requests({ count: KNOWN_CLIENTS, concurrency: 8 }));
    expect(known.size).toBe(KNOWN_CLIENTS);
    expect(new Set(known.values()).size).toBe(2);
    const before = await bng.status();
    const rssBeforeKiB = residentKiB(before.pid);

    const flood = lab.spawnIn(lab.ns.router, [BUN, join(REPO, "test/e2e/flood.ts"), "eth0", BNG_MAC, VIP, "80", String(FLOOD_SECONDS), String(FLOOD_RATE), String(FLOOD_SOURCES), "100.64.0.0"]);
    await Bun.sleep(2500);
    const during = targetsByClient(await lab.requests({ count: KNOWN_CLIENTS, concurrency: 8, timeoutMs: 5000 }));
    const duringStatus = await bng.status();
    expect(await flood.exited).toBe(0);
    const after = targetsByClient(await lab.requests({ count: KNOWN_CLIENTS, concurrency: 8, timeoutMs: 5000 }));
    const afterStatus = await bng.status();
    const rssAfterKiB = residentKiB(before.pid);

    const report = JSON.parse(flood.stdout) as { sent: number; seconds: number };
    const received = afterStatus.io.frames - before.io.frames;
    const created = afterStatus.sessions.created - before.sessions.created;
    console.log(
      `flood: ${report.sent} SYNs from new sources in ${report.seconds} s (${Math.round(report.sent / report.seconds)}/s), ${received} frames received, ` +
        `${afterStatus.io.kernel_drops - before.io.kernel_drops} dropped by the kernel; sessions created ${created}, evicted ${afterStatus.sessions.evicted - before.sessions.evicted}, ` +
        `current ${afterStatus.sessions.current}; bng RSS ${rssBeforeKiB} -> ${rssAfterKiB} KiB (peak during: ${duringStatus.sessions.current} sessions)`,
    );
    expect(report.sent / report.seconds).toBeGreaterThanOrEqual(100_000);
    // bng took far more new sources than the budget lets in, and made no more sessions than it
    // allows (the flood's seconds, the known clients' second and one second of slack at each end).
    expect(received).toBeGreaterThan(3 * NEW_SESSIONS_PER_S * (FLOOD_SECONDS + 2));
    expect(created).toBeLessThanOrEqual(NEW_SESSIONS_PER_S * (FLOOD_SECONDS + 2));
    expect(created).toBeGreaterThan(SESSIONS);
    expect(during).toEqual(known);
    expect(after).toEqual(known);
    // The counters and the log say what happened.
    expect(afterStatus.sessions.refused - before.sessions.refused).toBeGreaterThan(NEW_SESSIONS_PER_S);
    expect(afterStatus.sessions.stateless - before.sessions.stateless).toBeGreaterThan(0);
    expect(bng.process.stderr).toMatch(/ flood-defence-started refused=\d+ stateless=\d+ over_s=\d+ newsessions=5000 /);
    // The session table is allocated up front: the flood adds no memory beyond touching it.
    expect(rssAfterKiB - rssBeforeKiB).toBeLessThan(64 * 1024);
  }, 60_000);
});
