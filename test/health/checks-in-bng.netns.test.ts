// `bng run` with the http, agent, arp and script checks on the seed's network (test/e2e/lab.ts):
// the daemon accepts them, runs them from its real address and acts on them. Target 1 has
// `http` and `agent` (a bng agent on it reports the load a file says), target 2 `arp` and a
// `script` that fetches its page with curl. I = 1 s, T = 3 s.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, readFileSync } from "node:fs";
import { BngInLab, Scratch, SEED_CONFIG_PATH } from "../e2e/bng.ts";
import { createLab, type Lab } from "../e2e/lab.ts";
import { describeWith, ROOT } from "../fixtures/requirements.ts";

const T = 3;
let lab: Lab;
let scratch: Scratch;
let bng: BngInLab;
let script: string;

const target = (id: number) => async () => (await bng.status()).targets.find((candidate) => candidate.id === id)!;

describeWith([ROOT], "the other checks in bng run", () => {
  beforeAll(async () => {
    scratch = new Scratch();
    lab = await createLab({ prefix: "bngj", clients: 2 });
    const loadFile = scratch.write("load", "0.5\n");
    const loadScript = scratch.write("load.sh", `#!/bin/sh\ncat ${loadFile}\n`);
    script = scratch.write("fetch.sh", `#!/bin/sh\nexec curl -sf -o /dev/null --max-time 1 "http://$1:$2/"\n`);
    for (const path of [loadScript, script]) chmodSync(path, 0o755);
    await lab.spawnIn(lab.targetNs(1), [process.execPath, "test/health/agent-runner.ts", "439", "--script", loadScript]).waitForOutput(/agent-listening/, 10_000);
    const config = readFileSync(SEED_CONFIG_PATH, "utf8")
      .replace("tcpopen 80,3,10", 'http "/",80,1,3\nagent 439,1,3')
      .replace("tcpopen 80,3,10", `arp 1,3\nscript "${script}",1,3`);
    bng = await BngInLab.start(lab, scratch.write("bng.conf", config), `${scratch.dir}/bng.sock`);
    await bng.waitForTargets([1, 2], "up", 10_000);
  }, 40_000);

  afterAll(async () => {
    await bng?.stop().catch(() => undefined);
    await lab?.destroy();
    scratch?.remove();
  }, 30_000);

  test("both targets are up by their checks, and clients reach both through the VIP", async () => {
    const [one, two] = [await target(1)(), await target(2)()];
    expect(one.checks.map((check) => [check.type, check.port, check.last_result])).toEqual([
      ["agent", 439, "ok"],
      ["http", 80, "ok"],
    ]);
    expect(two.checks.map((check) => [check.type, check.last_result])).toEqual([
      ["arp", "ok"],
      ["script", "ok"],
    ]);
    const results = await lab.requests({ count: 20, concurrency: 2 });
    expect(results.every((result) => result.ok)).toBe(true);
    expect(new Set(results.map((result) => result.target))).toEqual(new Set(["target1", "target2"]));
  }, 20_000);

  test("target 1's web server stopped: down by its http check; started: up again", async () => {
    await lab.stopTargetServer(1);
    await bng.waitForTargets([1], "down", (T + 3) * 1000);
    expect((await target(1)()).reason).toBe(`http 80 / refused for ${T} s`);
    expect((await target(2)()).state).toBe("up");
    await lab.startTargetServer(1);
    await bng.waitForTargets([1], "up", 4000);
  }, 20_000);

  test("target 2's web server stopped: down by its script (curl's exit status); started: up again", async () => {
    await lab.stopTargetServer(2);
    await bng.waitForTargets([2], "down", (T + 3) * 1000);
    expect((await target(2)()).reason).toBe(`script ${script} exit 7 for ${T} s`);
    await lab.startTargetServer(2);
    await bng.waitForTargets([2], "up", 4000);
  }, 20_000);
});
