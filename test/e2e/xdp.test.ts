// `set io xdp` and `set io auto` as bng runs them in the seed's lab: auto falls back (and says
// why) where xdp cannot start, xdp named outright refuses to start instead; a killed bng's XDP
// program goes with it, and one that outlived it (a process held its link) is detached by the
// next start from the host-state file. Not a black-box suite: it names its engines itself.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, REPO } from "../fixtures/process.ts";
import { describeWith, ROOT } from "../fixtures/requirements.ts";
import { BngInLab, bngCommand, SEED_CONFIG_PATH } from "./bng.ts";
import { withLab } from "./fixture.ts";
import type { Lab } from "./lab.ts";

const SEED = readFileSync(SEED_CONFIG_PATH, "utf8");
const withSettings = (...settings: string[]) => SEED.replace("interface eth0\n", `interface eth0\n${settings.map((line) => `${line}\n`).join("")}`);

async function xdpProgramOn(lab: Lab): Promise<string | undefined> {
  const { stdout } = await lab.bngExec(["ip", "link", "show", "eth0"]);
  return /prog\/xdp id \d+ name (\S+)/.exec(stdout)?.[1];
}

describeWith([ROOT], "set io xdp and set io auto", () => {
  test("auto runs xdp where it can, and falls back to ring, saying why, where it cannot; xdp named outright refuses to start", async () => {
    await withLab({ prefix: "bngx", clients: 4 }, async (lab, scratch) => {
      const auto = await BngInLab.start(lab, scratch.write("auto.conf", withSettings("set io auto")), `${scratch.dir}/bng.sock`);
      await auto.waitForTargets([1, 2], "up", 10_000);
      expect((await auto.status()).io.backend).toBe("xdp");
      expect(auto.process.stderr).toMatch(/ started .* io=xdp /);
      expect(await xdpProgramOn(lab)).toBe("bng_vips");
      expect((await lab.requests({ count: 8 })).filter((r) => !r.ok)).toEqual([]);
      expect((await auto.stop()).exitCode).toBe(0);
      expect(await xdpProgramOn(lab)).toBeUndefined();

      // Two workers, one receive queue: xdp cannot run one worker per queue.
      const fallback = await BngInLab.start(lab, scratch.write("fallback.conf", withSettings("set io auto", "set workers 2")), `${scratch.dir}/bng.sock`);
      await fallback.waitForTargets([1, 2], "up", 10_000);
      expect(fallback.process.stderr).toMatch(/ warn  io-fallback engine=xdp error="set io xdp runs one worker per receive queue, and eth0 has 1 while set workers is 2: .*" next=ring/);
      expect((await fallback.status()).io.backend).toBe("ring");
      expect(await xdpProgramOn(lab)).toBeUndefined();
      expect((await lab.requests({ count: 8 })).filter((r) => !r.ok)).toEqual([]);
      expect((await fallback.stop()).exitCode).toBe(0);

      const named = lab.spawnIn(lab.bngNs, [...bngCommand(), "run", scratch.write("xdp.conf", withSettings("set io xdp", "set workers 2")), "--socket", `${scratch.dir}/bng.sock`]);
      expect(await named.exited).toBe(1);
      expect(named.stderr).toMatch(/ error start-failed reason="set io xdp runs one worker per receive queue, and eth0 has 1 while set workers is 2: set workers 1, or give eth0 2 queues/);
      expect(named.stderr).not.toContain("io-fallback");
      expect(await xdpProgramOn(lab)).toBeUndefined();
    });
  }, 60_000);

  test("a killed bng's program goes with it; one a process kept attached is detached by the next start", async () => {
    await withLab({ prefix: "bngx", clients: 4 }, async (lab, scratch) => {
      const config = scratch.write("xdp.conf", withSettings("set io xdp"));
      const socket = `${scratch.dir}/bng.sock`;
      const linkOf = (bng: BngInLab) => Number(/ xdp-attached interface=eth0 link=(\d+) /.exec(bng.process.stderr)?.[1]);

      const first = await BngInLab.start(lab, config, socket);
      const firstLink = linkOf(first);
      first.process.signal("SIGKILL");
      await first.process.exited;
      // The kernel detached it when the link's last descriptor closed with the process.
      expect(await xdpProgramOn(lab)).toBeUndefined();
      const second = await BngInLab.start(lab, config, socket);
      expect(second.process.stderr).toMatch(new RegExp(` info  host-repaired interface=eth0 pid=\\d+ xdp_links=${firstLink}:gone `));
      await second.waitForTargets([1, 2], "up", 10_000);
      expect((await lab.requests({ count: 8 })).filter((r) => !r.ok)).toEqual([]);

      // A process holding the link keeps the program attached after bng is gone.
      const secondLink = linkOf(second);
      const holder = lab.spawnIn(lab.bngNs, [BUN, join(REPO, "test/e2e/xdp-link-holder.ts"), String(secondLink)]);
      await holder.waitForOutput(/"held"/, 10_000);
      second.process.signal("SIGKILL");
      await second.process.exited;
      expect(await xdpProgramOn(lab)).toBe("bng_vips");
      const third = await BngInLab.start(lab, config, socket);
      expect(third.process.stderr).toMatch(new RegExp(` info  host-repaired interface=eth0 pid=\\d+ xdp_links=${secondLink}:detached `));
      expect(linkOf(third)).not.toBe(secondLink);
      await third.waitForTargets([1, 2], "up", 10_000);
      expect((await lab.requests({ count: 8 })).filter((r) => !r.ok)).toEqual([]);
      await holder.stop(2000);
      expect((await third.stop()).exitCode).toBe(0);
      expect(await xdpProgramOn(lab)).toBeUndefined();
    });
  }, 60_000);
});
