// Only the VIPs' frames and ARP reach bng's engine (issue 25): the kernel refuses every other
// frame before it is queued for bng (the socket filter of mmsg and ring, the XDP program of xdp),
// so a flood to another address costs bng nothing, while VIP traffic and ARP go on as usual; a
// reload that makes that address a VIP lets its frames through at once. The floods come from the
// lab's router, addressed to bng's MAC, and stay inside the lab.
import { beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, REPO } from "../fixtures/process.ts";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { ENGINE, SEED_CONFIG_PATH, type BngInLab } from "./bng.ts";
import { labWithBng, type LabWithBng } from "./fixture.ts";
import { BNG_MAC, VIP, type Lab } from "./lab.ts";

/** An address of the lab's network that is no VIP, until the reload below makes it one. */
const OTHER = "172.16.1.77";
const SEED = readFileSync(SEED_CONFIG_PATH, "utf8");

/** The seed with a second server on OTHER, to the same targets. */
const WITH_OTHER_VIP = SEED.replace(
  "register server 1\n",
  `register server 1\nserver 2 {\n  ipaddr ${OTHER}\n  port 80\n  protocol tcp\n  targets 1,2\n}\nregister server 2\nenable server 2\n`,
);

async function flood(lab: Lab, destination: string, seconds: number, rate: number): Promise<number> {
  const generator = lab.spawnIn(lab.ns.router, [BUN, join(REPO, "test/e2e/flood.ts"), "eth0", BNG_MAC, destination, "80", String(seconds), String(rate)]);
  expect(await generator.exited).toBe(0);
  await generator.stop();
  return (JSON.parse(generator.stdout) as { sent: number }).sent;
}

/** bng's status once the workers have reported their I/O totals (once a second). */
async function settledStatus(bng: BngInLab) {
  await Bun.sleep(1500);
  return bng.status();
}

describeWith([ROOT], `the kernel's filter before the ${ENGINE} engine`, () => {
  const fixture: LabWithBng = labWithBng({ prefix: "bngk", clients: 4, config: SEED });
  let lab: Lab;
  beforeAll(() => ({ lab } = fixture));

  test("a flood to another address never reaches bng's socket; VIP traffic and ARP work meanwhile", async () => {
    const { bng } = fixture;
    const before = await settledStatus(bng);
    const flooding = flood(lab, OTHER, 3, 150_000);
    await Bun.sleep(500);
    // The router asks for the VIP's MAC again during the flood: bng must still answer.
    await lab.exec(lab.ns.router, ["ip", "neigh", "flush", "to", VIP]);
    const results = await lab.requests({ count: 40 });
    const sent = await flooding;
    const after = await settledStatus(bng);
    const frames = after.io.frames - before.io.frames;
    console.log(`${ENGINE}: ${sent} flood frames sent to ${OTHER}; bng received ${frames} frames meanwhile, answered ${after.totals.arp_replies - before.totals.arp_replies} ARP requests`);
    expect(sent).toBeGreaterThan(200_000);
    expect(results.filter((result) => !result.ok)).toEqual([]);
    expect(after.totals.arp_replies).toBeGreaterThan(before.totals.arp_replies);
    // 40 HTTP exchanges and a few ARP frames, none of the flood.
    expect(frames).toBeLessThan(2000);
    expect(after.io.kernel_drops).toBe(before.io.kernel_drops);
  }, 30_000);

  test("a reload that makes the address a VIP lets its frames through", async () => {
    const { bng, scratch } = fixture;
    const reload = await bng.cli(["reload", scratch.writeConfig("with-other.conf", WITH_OTHER_VIP)]);
    expect(reload.stdout).toContain("reloaded");
    const before = await settledStatus(bng);
    const sent = await flood(lab, OTHER, 1, 50_000);
    const after = await settledStatus(bng);
    const frames = after.io.frames - before.io.frames;
    console.log(`${ENGINE}: after the reload, ${frames} of ${sent} frames to ${OTHER} reached bng`);
    expect(frames).toBeGreaterThanOrEqual(sent * 0.99);
    expect(after.totals.packets - before.totals.packets).toBeGreaterThanOrEqual(sent * 0.99);
  }, 30_000);
});
