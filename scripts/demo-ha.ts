// `npm run demo -- --ha`: a VRRP pair of bng boxes, live (docs/ha.md). Builds the seed's lab with
// a second bng box: A (172.16.1.252, priority 200) and B (172.16.1.253, priority 100) stand for
// the VIP together and replicate their sessions. 32 long-lived connections run through the
// master; A is SIGKILLed: B takes over with A's sessions and no connection breaks; A comes back,
// waits for B's session table, and takes over again, still breaking nothing. Then it removes
// everything it made.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { StatusReport } from "../src/control/status.ts";
import { BngInLab, Scratch, SEED_CONFIG_PATH } from "../test/e2e/bng.ts";
import { LongLivedClients, pairConfig, startNode, statusOf, waitForStatus } from "../test/e2e/ha-pair.ts";
import { BNG_REAL_ADDRESS, createLab, SECOND_BNG_REAL_ADDRESS, VIP, type Lab } from "../test/e2e/lab.ts";
import { IS_ROOT } from "../test/fixtures/requirements.ts";

const CLIENTS = 32;
const SEED = readFileSync(SEED_CONFIG_PATH, "utf8").replaceAll("tcpopen 80,3,10", "tcpopen 80,1,3");

function role(report: StatusReport | undefined): string {
  const vrrp = report?.vrrp;
  if (!vrrp) return "down";
  return `${vrrp.state}${vrrp.sync ? `, ${report!.sessions.current} sessions (${vrrp.sync.sessions_installed} installed from the peer)` : ""}`;
}

export async function runHaDemo(): Promise<number> {
  if (!IS_ROOT) {
    console.error("The HA demo builds network namespaces and runs bng on raw sockets: it needs root, e.g. `sudo npm run demo -- --ha`.");
    return 1;
  }
  const deps = spawnSync("bash", [new URL("./install-system-deps.sh", import.meta.url).pathname], { stdio: "inherit" });
  if (deps.status !== 0) return 1;
  const started = Date.now();
  const say = (text: string) => console.log(`\n== ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s ${text}`);
  process.once("SIGINT", () => process.exit(130));
  const scratch = new Scratch();
  let lab: Lab | undefined;
  const nodes: BngInLab[] = [];
  const show = async (a: BngInLab | undefined, b: BngInLab) => console.log(`   A: ${role(a && (await statusOf(a)))}\n   B: ${role(await statusOf(b))}`);
  try {
    say("building the seed's network with a second bng box, and starting the pair (vrid 51, sync with a key)");
    lab = await createLab({ prefix: "bngdemoha", clients: CLIENTS });
    const boxB = await lab.addBngBox();
    const configA = pairConfig(SEED, "A", { priority: 200, syncPeer: SECOND_BNG_REAL_ADDRESS, key: "demo" });
    let a = await startNode(lab, scratch, "a", configA, lab.bngNs);
    const b = await startNode(lab, scratch, "b", pairConfig(SEED, "B", { priority: 100, syncPeer: BNG_REAL_ADDRESS, key: "demo" }), boxB);
    nodes.push(a, b);
    await waitForStatus(a, (report) => report.vrrp?.state === "master", 15_000, "A master");
    await a.waitForTargets([1, 2], "up", 10_000);
    await show(a, b);
    console.log(`   the router's ARP entry for ${VIP}: ${(await lab.exec(lab.ns.router, ["ip", "neigh", "show", VIP])).stdout.trim() || "(none yet)"}`);

    say(`${CLIENTS} long-lived connections to ${VIP}:80 through A, a request every 100 ms each`);
    const streams = await LongLivedClients.open(lab, lab.clientAddresses, 120_000);
    await Bun.sleep(2000);
    await show(a, b);

    say("A is SIGKILLed: B takes over after 3 missed adverts (3 s + skew), with A's sessions");
    const killedAt = Date.now();
    a.process.signal("SIGKILL");
    await a.process.exited;
    await waitForStatus(b, (report) => report.vrrp?.state === "master", 10_000, "B master");
    console.log(`   B is master ${Date.now() - killedAt} ms after the kill`);
    await Bun.sleep(2000);
    await show(undefined, b);

    say("A comes back: it asks B for the session table and preempts only once it has it");
    a = await startNode(lab, scratch, "a2", configA, lab.bngNs);
    nodes.push(a);
    await waitForStatus(a, (report) => report.vrrp?.state === "master", 30_000, "A master again");
    await Bun.sleep(2000);
    await show(a, b);

    const connections = await streams.close();
    const broken = connections.filter((connection) => connection.broken);
    const moved = connections.filter((connection) => connection.targets.length > 1);
    say("the connections");
    console.log(`   ${connections.length - broken.length} of ${connections.length} went on through the takeover and the hand-back; ${moved.length} changed target; ${broken.length} broke`);
    return broken.length === 0 ? 0 : 1;
  } finally {
    for (const node of nodes) await node.stop().catch(() => undefined);
    await lab?.destroy();
    scratch.remove();
    say("removed the lab");
  }
}
