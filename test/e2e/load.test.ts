// While a worker forwards at full rate, the control thread stays on time and SIGTERM still
// stops bng within a second (issue "data plane"). The flood comes from the lab's router side
// of the switch, addressed to bng's MAC and the VIP: it stays inside the lab.
import { beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BNG_MAC, VIP, type Lab } from "./lab.ts";
import { BUN, REPO } from "../fixtures/process.ts";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { SEED_CONFIG_PATH, type BngInLab } from "./bng.ts";
import { labWithBng } from "./fixture.ts";

const FLOOD_SECONDS = 7;
// Offered load in frames/s: more than one worker can forward here (it peaks near 500k/s on
// the 2-core box with the generator beside it), so the worker runs flat out.
const FLOOD_RATE = 1_000_000;

describeWith([ROOT], "bng under a full-rate flood", () => {
  const fixture = labWithBng({ prefix: "bngf", clients: 2, config: readFileSync(SEED_CONFIG_PATH, "utf8") });
  let lab: Lab;
  let bng: BngInLab;
  beforeAll(() => ({ lab, bng } = fixture));

  test("the control thread's 100 ms timer stays on time and SIGTERM stops bng within a second", async () => {
    const before = await bng.status();
    const logMark = bng.process.stderr.length;
    const flood = lab.spawnIn(lab.ns.router, [BUN, join(REPO, "test/e2e/flood.ts"), "eth0", BNG_MAC, VIP, "80", String(FLOOD_SECONDS), String(FLOOD_RATE)]);
    // Past the 5 s lag window: every sample in it was taken under the flood.
    await Bun.sleep(5500);
    const during = await bng.status();
    const forwarded = during.totals.packets - before.totals.packets;
    const rate = forwarded / 5.5;
    console.log(
      `under flood: ~${Math.round(rate)} frames/s forwarded, control timer worst lag ${during.timer_lag_ms.recent_worst_ms} ms in the last 5 s (mean ${during.timer_lag_ms.mean_ms} ms since start), drops ${JSON.stringify(
        Object.fromEntries(Object.entries(during.drops).filter(([, count]) => count > 0)),
      )}`,
    );
    expect(rate).toBeGreaterThan(100_000);
    // A control thread that waits behind the data plane misses its 100 ms timer by whole seconds.
    // One that only shares the two cores with the worker and the generator is late by tens of ms
    // (11 to 96 ms seen on this box): the bound is above that noise, under two missed ticks.
    expect(during.timer_lag_ms.recent_worst_ms).toBeLessThan(200);
    // More arrives than the worker can take (the generator offers more than it forwards, checked
    // below): the kernel drops the rest at its socket, and bng counts and logs those losses (the
    // worker reads them from the socket once a second).
    console.log(`under flood: ${during.io.frames - before.io.frames} frames received, ${during.io.kernel_drops - before.io.kernel_drops} dropped by the kernel (queue full)`);
    expect(during.io.kernel_drops).toBeGreaterThan(before.io.kernel_drops);
    expect(during.io.frames).toBeGreaterThan(before.io.frames);
    expect(bng.process.stderr.slice(logMark)).toMatch(/ warn  frames-lost kernel_drops=[1-9]\d* send_refused=0 over_s=\d+ /);
    const { exitCode, ms } = await bng.stop();
    console.log(`SIGTERM under flood: exited in ${ms} ms`);
    expect(exitCode).toBe(0);
    expect(ms).toBeLessThan(1000);
    // The generator ends by itself after FLOOD_SECONDS; stop() then only waits until its output is read.
    expect(await flood.exited).toBe(0);
    await flood.stop();
    const report = JSON.parse(flood.stdout) as { sent: number; seconds: number };
    console.log(`flood generator sent ${report.sent} frames in ${report.seconds} s (~${Math.round(report.sent / report.seconds)}/s offered)`);
    // More was offered than bng forwarded: the worker ran flat out, as this test means it to.
    expect(report.sent / report.seconds).toBeGreaterThan(rate);
  }, 30_000);
});
