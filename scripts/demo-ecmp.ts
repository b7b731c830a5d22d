// `npm run demo -- --ecmp`: scale-out behind ECMP, live (docs/scale-out.md). Builds the lab of
// test/e2e/ecmp-lab.ts: a router running BIRD with ECMP, three bng nodes each announcing the VIP
// through its own BIRD, two targets, 48 clients. Long-lived connections (a request every 100 ms)
// spread over the nodes; node 3 dies (link dark, bng and BIRD SIGKILLed); the router drops it
// when BFD notices, and its clients go on through the other nodes, to the same targets. Then it
// removes everything it made.
import { spawnSync } from "node:child_process";
import { EcmpLab, type EcmpNode } from "../test/e2e/ecmp-lab.ts";
import { LongLivedClients } from "../test/e2e/ha-pair.ts";
import { targetName, VIP } from "../test/e2e/lab.ts";
import { listNamespaces } from "../test/fixtures/namespaces.ts";
import { IS_ROOT } from "../test/fixtures/requirements.ts";

const PREFIX = "bngecmp";
const CLIENTS = 48;

export async function runEcmpDemo(): Promise<number> {
  if (!IS_ROOT) {
    console.error("The scale-out demo builds network namespaces and runs bng on raw sockets: it needs root, e.g. `sudo npm run demo -- --ecmp`.");
    return 1;
  }
  const deps = spawnSync("bash", [new URL("./install-system-deps.sh", import.meta.url).pathname], { stdio: "inherit" });
  if (deps.status !== 0) return 1;
  for (const tool of ["bird", "nft", "node"]) {
    if (Bun.which(tool) === null) {
      console.error(`The scale-out demo needs ${tool === "bird" ? "BIRD 2 (apt-get install bird2)" : tool === "nft" ? "nftables (apt-get install nftables)" : "Node.js"}.`);
      return 1;
    }
  }
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s`;
  const say = (text: string) => console.log(`\n== ${text}`);
  process.once("SIGINT", () => process.exit(130));

  let lab: EcmpLab | undefined;
  try {
    say("building: router (BIRD, ECMP), nodes 172.16.1.251-.253 (bng with set announce 100 + BIRD), targets .100 and .101, 48 clients");
    lab = await EcmpLab.create({ prefix: PREFIX, clients: CLIENTS });
    const running = lab;
    console.log(`the router's route to the VIP, learned over BGP from every node:\n${(await running.exec(running.ns.router, ["ip", "route", "show", VIP])).stdout}`);
    console.log(`node 1's table 100, kept by bng:\n  ${(await running.nodes[0]!.announcedRoutes()).join("\n  ")}`);
    console.log(`node 1's bng status says: ${(await running.nodes[0]!.cli(["status"])).stdout.split("\n").find((line) => line.startsWith("routes"))}`);

    say(`${CLIENTS} long-lived connections to ${VIP}:80, a request every 100 ms each (each line: one second)`);
    const streams = await LongLivedClients.open(running, running.clientAddresses, 60_000);
    const second = secondPrinter(running, elapsed);
    for (let i = 0; i < 3; i++) await second("spread");
    const victim = running.nodes[2]!;
    const before = await victim.sessions();
    say("node 3 dies: its switch port goes dark, its bng and BIRD are SIGKILLed; the router's BFD notices within 0.5 s");
    await victim.kill();
    for (let i = 0; i < 4; i++) await second("node 3 dead");

    const connections = await streams.close();
    const moved = connections.filter((connection) => before.has(connection.client));
    const kept = moved.filter((connection) => connection.targets.length === 1 && connection.targets[0] === targetName(before.get(connection.client)!));
    const survived = moved.filter((connection) => !connection.broken);
    const stalls = survived.map((connection) => connection.maxGapMs).sort((a, b) => a - b);
    say("the connections");
    console.log(`${moved.length} of ${connections.length} went through node 3; ${survived.length} of them went on through node 1 or 2, after a stall of ${stalls[0] ?? 0}-${stalls.at(-1) ?? 0} ms`);
    console.log(`${kept.length} of those ${moved.length} kept the target node 3 had chosen (the other nodes' Maglev picks the same one)`);
    console.log(`broken: ${connections.filter((connection) => connection.broken).length} of ${connections.length}`);
    return 0;
  } finally {
    say("cleaning up");
    await lab?.destroy();
    const left = listNamespaces().filter((name) => name.startsWith(PREFIX));
    console.log(left.length === 0 ? `no namespace left behind; ${elapsed()} in all` : `namespaces left: ${left.join(" ")}`);
  }
}

/** A function that waits a second and prints what each node forwarded in it, and the router's next hops. */
function secondPrinter(lab: EcmpLab, elapsed: () => string): (phase: string) => Promise<void> {
  const alive = (node: EcmpNode) => node.bng?.exitCode === null;
  const packets = async () => Promise.all(lab.nodes.map(async (node) => (alive(node) ? (await node.status()).totals.packets : undefined)));
  let last = packets();
  return async (phase) => {
    await Bun.sleep(1000);
    const [previous, now, hops] = await Promise.all([last, packets(), lab.nexthops()]);
    last = Promise.resolve(now);
    const nodes = lab.nodes.map((node, i) => {
      const rate = now[i] === undefined || previous[i] === undefined ? "dead" : `${now[i]! - previous[i]!} pkt/s`;
      return `node${node.index} ${rate.padStart(9)}`;
    });
    console.log(`${elapsed()} ${phase.padEnd(11)} ${nodes.join(" | ")} | router next hops: ${hops.map((hop) => hop.replace("172.16.1.", ".")).join(" ") || "none"}`);
  };
}
