// `npm run demo`: the seed's DSR example, live. Builds the seed's network in network namespaces
// (router, switch, the bng box, two web servers with the VIP on loopback), starts bng on
// config/dsr-example.conf unchanged, sends real HTTP requests from 16 client addresses and shows
// what happens each second: the spread over the targets, a failover when target 1's web server
// stops, the recovery when it starts again. Then it removes everything it made; with --hold it
// first leaves the lab and bng running until Enter, for trying bng's commands by hand.
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { formatDiagnostic, loadConfigFile, summarizeConfig } from "../src/config/index.ts";
import { BngInLab, bngCommand, Scratch, SEED_CONFIG_PATH } from "../test/e2e/bng.ts";
import { createLab, VIP, type Lab, type RequestResult } from "../test/e2e/lab.ts";
import { listNamespaces } from "../test/fixtures/namespaces.ts";
import { REPO } from "../test/fixtures/process.ts";

// `--ecmp`: the scale-out demo instead (scripts/demo-ecmp.ts); `--ha`: the VRRP pair (scripts/demo-ha.ts).
if (process.argv.includes("--ecmp")) process.exit(await (await import("./demo-ecmp.ts")).runEcmpDemo());
if (process.argv.includes("--ha")) process.exit(await (await import("./demo-ha.ts")).runHaDemo());

const { values: options } = parseArgs({ options: { hold: { type: "boolean", default: false } } });

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s`;
const say = (text: string) => console.log(`\n== ${text}`);

const loaded = loadConfigFile(SEED_CONFIG_PATH);
if (!loaded.ok) {
  for (const error of loaded.errors) console.error(formatDiagnostic(error, loaded.source));
  process.exit(1);
}
console.log(`config/dsr-example.conf (the seed's file, unchanged): ${summarizeConfig(loaded.config)}`);
if (process.getuid?.() !== 0) {
  console.error("\nThe live demo builds network namespaces and runs bng on a raw socket: it needs root.\nRun it as root, e.g. `sudo npm run demo`.");
  process.exit(1);
}
const deps = spawnSync("bash", [new URL("./install-system-deps.sh", import.meta.url).pathname], { stdio: "inherit" });
if (deps.status !== 0) process.exit(1);

/** bng's log lines not shown yet, printed under the second they happened in. */
let logShown = 0;
function newLogLines(bng: BngInLab): string[] {
  const lines = bng.process.stderr.split("\n").filter((line) => line !== "");
  const fresh = lines.slice(logShown);
  logShown = lines.length;
  return fresh;
}

async function second(lab: Lab, bng: BngInLab, phase: string, clients = FIRST_CLIENTS): Promise<RequestResult[]> {
  const results = await lab.steadyStream({ durationMs: 1000, concurrency: 8, timeoutMs: 500, clients });
  const status = await bng.status();
  const served = (name: string) => results.filter((r) => r.target === name).length;
  const failed = results.filter((r) => !r.ok).length;
  const targets = status.targets
    .map((t) => `target${t.id} ${t.state.padEnd(4)} ${String(served(`target${t.id}`)).padStart(4)} ok, ${String(t.sessions).padStart(2)} sessions`)
    .join(" | ");
  console.log(`${elapsed()} ${phase.padEnd(9)} ${targets} | failed ${failed}`);
  for (const line of newLogLines(bng)) console.log(`      bng: ${line.slice(25)}`);
  return results;
}

/** The first 16 client addresses send all along; 8 more join after the recovery. */
const FIRST_CLIENTS = 16;
const ALL_CLIENTS = 24;

const scratch = new Scratch();
let lab: Lab | undefined;
let bng: BngInLab | undefined;
try {
  say("building the seed's network: router 172.16.1.254, switch, bng box (eth0), targets .100 and .101, 16 clients");
  lab = await createLab({ prefix: "bngdemo", clients: ALL_CLIENTS });
  say("starting bng run config/dsr-example.conf in the bng box");
  bng = await BngInLab.start(lab, SEED_CONFIG_PATH, `${scratch.dir}/bng.sock`);
  await bng.waitForTargets([1, 2], "up", 10_000);
  for (const line of newLogLines(bng)) console.log(`   bng: ${line}`);

  say("HTTP from 16 client addresses to the VIP 172.16.1.10:80 (each line: one second)");
  for (let i = 0; i < 4; i++) await second(lab, bng, "balanced");
  console.log(`\n${(await bng.cli(["status"])).stdout}`);

  say("stopping target 1's web server: bng's tcpopen 80,3,10 check marks it down within 10 s, its clients move to target 2");
  console.log("   until then, requests of the clients bound to target 1 are refused by target 1 itself (it is up, port 80 is closed)");
  await lab.stopTargetServer(1);
  for (let i = 0; i < 14; i++) {
    const results = await second(lab, bng, "failover");
    const report = await bng.status();
    if (report.targets[0]?.state === "down" && results.every((r) => r.ok)) break;
  }

  say("starting target 1's web server again: up at its next check (every 3 s)");
  await lab.startTargetServer(1);
  for (let i = 0; i < 5; i++) {
    await second(lab, bng, "recovery");
    if ((await bng.status()).targets[0]?.state === "up") break;
  }
  say(`8 new client addresses join: clients that moved to target 2 stay there (their sessions), new ones are balanced over both`);
  for (let i = 0; i < 2; i++) await second(lab, bng, "new", ALL_CLIENTS);
  console.log(`\n${(await bng.cli(["status"])).stdout}`);
  if (options.hold) await holdForOperator(lab, bng);
} finally {
  say("cleaning up");
  if (bng) {
    const { exitCode, ms } = await bng.stop();
    console.log(`bng stopped (SIGTERM) in ${ms} ms, exit code ${exitCode}`);
  }
  if (lab) await lab.destroy();
  scratch.remove();
  const left = listNamespaces().filter((name) => name.startsWith("bngdemo"));
  console.log(left.length === 0 ? `no namespace left behind; ${elapsed()} in all` : `namespaces left: ${left.join(" ")}`);
}

/** Prints commands to try on the running lab, then waits for Enter (or Ctrl-C: the lab is removed either way). */
async function holdForOperator(running: Lab, balancer: BngInLab): Promise<void> {
  const bngCli = `${bngCommand().map((part) => part.replace(`${REPO}/`, "")).join(" ")} --socket ${balancer.socket}`;
  say("the lab and bng keep running; from this directory, in another terminal (as root), try:");
  for (const line of [
    `${bngCli} status`,
    `${bngCli} show sessions`,
    `${bngCli} disable target 1      # then: enable target 1`,
    `${bngCli} reload               # SIGHUP does the same: kill -HUP ${balancer.process.pid}`,
    `ip netns exec ${running.ns.client} curl -s --interface ${running.clientAddresses[0]} http://${VIP}/`,
    `ip netns exec ${running.bngNs} tcpdump -eni eth0 -c 6 tcp port 80`,
    `ip netns exec ${running.targetNs(1)} ss -tn`,
  ]) console.log(`   ${line}`);
  console.log("\npress Enter to stop bng and remove the lab; bng's log follows as it happens:");
  const follow = setInterval(() => {
    for (const line of newLogLines(balancer)) console.log(`   bng: ${line}`);
  }, 250);
  await new Promise<void>((resolve) => {
    process.stdin.once("data", () => resolve());
    process.stdin.once("end", () => resolve());
  });
  clearInterval(follow);
  process.stdin.pause();
}
