/**
 * The scale-out lab (docs/scale-out.md): three bng nodes behind a router that spreads the VIP over
 * them by ECMP, routes learned by BGP from BIRD 2 on every node, for the end-to-end tests
 * (ecmp-scale-out.test.ts) and `npm run demo -- --ecmp`. Needs root, iproute2, nftables, bird2, Node.js and Bun.
 *
 *   client ns                 router ns (BIRD)                  switch ns (bridge br0)
 *   eth0 198.18.0.10…  ───  eth1 198.18.0.1                     ├── "rt" ── router eth0 172.16.1.254
 *   (one address per          eth0 172.16.1.254 ─────────────────├── "n1" ── node1 eth0 172.16.1.251 (bng + BIRD)
 *    client)                  VIP/32: ECMP, one next hop          ├── "n2" ── node2 eth0 172.16.1.252 (bng + BIRD)
 *                             per node that announces it          ├── "n3" ── node3 eth0 172.16.1.253 (bng + BIRD)
 *                             fib_multipath_hash_policy=1         ├── "t1" ── target1 172.16.1.100, VIP on lo
 *                                                                 └── "t2" ── target2 172.16.1.101, VIP on lo
 *
 * Each node runs `bng run` (its configuration and BIRD's: ecmp-config.ts), its `real` the node's
 * address (configured beforehand, as on a real box, so BIRD can peer before bng starts). BIRD's
 * configuration and control sockets, and bng's sockets and run directories, live in the lab's
 * scratch directory. The namespaces are a NamespaceFamily (test/fixtures/namespaces.ts), removed
 * with every process in them by destroy(), at exit, or by the next run after a killed one.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ControlRequest } from "../../src/control/protocol.ts";
import { sendControlRequest } from "../../src/control/socket-client.ts";
import type { StatusReport } from "../../src/control/status.ts";
import { NamespaceFamily } from "../fixtures/namespaces.ts";
import { runCommand, type CommandResult, type RunningProcess, type StartOptions } from "../fixtures/process.ts";
import { bngCommand, Scratch } from "./bng.ts";
import { BNG_TABLE, birdNodeConfig, birdRouterConfig, nodeAddress, nodeBngConfig, parseRouteNexthops, TARGETS } from "./ecmp-config.ts";
import {
  BRIDGE_WITHOUT_NETFILTER,
  clientAddress,
  ROUTER_ADDRESS,
  ROUTER_INTERNET_ADDRESS,
  ROUTER_MAC,
  SWITCH_PREFIX_LENGTH,
  targetAddress,
  targetMac,
  targetName,
  VIP,
} from "./lab.ts";

export const NODES = 3;
const SERVER_START_TIMEOUT_MS = 5000;
const HTTP_TARGET_SCRIPT = join(import.meta.dir, "http-target.ts");

function nodeMac(i: number): string {
  return `02:00:ac:10:01:${(250 + i).toString(16)}`;
}

export class EcmpNode {
  bng: RunningProcess | undefined;
  bird: RunningProcess | undefined;

  constructor(
    readonly lab: EcmpLab,
    readonly index: number,
    readonly ns: string,
    readonly dir: string,
  ) {}

  get address(): string {
    return nodeAddress(this.index);
  }

  get socket(): string {
    return join(this.dir, "bng.sock");
  }

  get birdSocket(): string {
    return join(this.dir, "bird.ctl");
  }

  /** Starts `bng run` and resolves at its `ready` line. */
  async startBng(): Promise<void> {
    if (this.bng?.exitCode === null) throw new Error(`node ${this.index}'s bng is running`);
    const config = this.lab.scratch.writeConfig(`node${this.index}.conf`, nodeBngConfig(this.index));
    this.bng = this.lab.spawnIn(this.ns, [...bngCommand(), "run", config, "--socket", this.socket], { env: { BNG_RUN_DIR: join(this.dir, "run") } });
    await this.bng.waitForOutput(/ ready /, 15_000);
  }

  /** Starts BIRD in the foreground with config/bird-node.conf; resolves once it runs. */
  async startBird(): Promise<void> {
    if (this.bird?.exitCode === null) throw new Error(`node ${this.index}'s BIRD is running`);
    const config = this.lab.scratch.write(`bird-node${this.index}.conf`, birdNodeConfig(this.index));
    this.bird = this.lab.spawnIn(this.ns, ["bird", "-f", "-c", config, "-s", this.birdSocket, "-P", join(this.dir, "bird.pid")]);
    await this.bird.waitForOutput(/Started/, 10_000);
  }

  cli(args: string[]): Promise<CommandResult> {
    return runCommand([...bngCommand(), ...args, "--socket", this.socket], { allowFailure: true, timeoutMs: 30_000 });
  }

  /** A control request's result (what `--json` prints), straight over the socket: no CLI process to start. */
  async ask(request: ControlRequest): Promise<unknown> {
    const reply = await sendControlRequest(this.socket, request);
    if (!reply.ok) throw new Error(`node ${this.index}: ${JSON.stringify(request)} failed: ${reply.error}`);
    return reply.result;
  }

  async status(): Promise<StatusReport> {
    return (await this.ask({ cmd: "status" })) as StatusReport;
  }

  /** The live sessions: client address → target id. */
  async sessions(): Promise<Map<string, number>> {
    const { sessions } = (await this.ask({ cmd: "show", what: "sessions", limit: 100_000 })) as { sessions: { client: string; target: number }[] };
    return new Map(sessions.map((session) => [session.client, session.target]));
  }

  /** The routes in bng's table on this node, as `ip route` prints them. */
  async announcedRoutes(): Promise<string[]> {
    const { stdout } = await this.lab.exec(this.ns, ["ip", "route", "show", "table", String(BNG_TABLE)]);
    return stdout.split("\n").filter((line) => line !== "");
  }

  /** The box dies: its link goes dark first (no goodbye on the wire), then bng and BIRD are SIGKILLed. */
  async kill(): Promise<void> {
    await this.lab.exec(this.lab.ns.switch, ["ip", "link", "set", `n${this.index}`, "down"]);
    for (const child of [this.bng, this.bird]) child?.signal("SIGKILL");
    await Promise.all([this.bng?.exited, this.bird?.exited]);
  }

  /** bng stops as `systemctl stop` has it (SIGTERM): it withdraws its routes and exits. */
  async stopBng(): Promise<number> {
    return this.bng!.stop(5000);
  }

  /** Only BIRD dies (SIGKILL); bng and its routes stay. */
  async killBird(): Promise<void> {
    this.bird?.signal("SIGKILL");
    await this.bird?.exited;
  }

  /** Only bng dies (SIGKILL); BIRD, the link and bng's routes stay. */
  async killBng(): Promise<void> {
    this.bng?.signal("SIGKILL");
    await this.bng?.exited;
  }

  /** The node's health checks to the targets are refused (as if every target's port 80 were closed to it). */
  async refuseChecks(refused: boolean): Promise<void> {
    const targets = Array.from({ length: TARGETS }, (_, t) => targetAddress(t + 1)).join(", ");
    const script = refused
      ? `add table inet ecmp_lab\nadd chain inet ecmp_lab out { type filter hook output priority 0; }\nadd rule inet ecmp_lab out ip daddr { ${targets} } tcp dport 80 reject with tcp reset\n`
      : "delete table inet ecmp_lab\n";
    const file = this.lab.scratch.write(`nft-node${this.index}`, script);
    await this.lab.exec(this.ns, ["nft", "-f", file]);
  }
}

export class EcmpLab {
  readonly ns: { readonly switch: string; readonly router: string; readonly client: string };
  readonly nodes: EcmpNode[];
  readonly clientAddresses: readonly string[];
  readonly scratch = new Scratch();
  routerBird: RunningProcess | undefined;

  private constructor(
    readonly family: NamespaceFamily,
    clients: number,
  ) {
    this.ns = { switch: family.name("sw"), router: family.name("rt"), client: family.name("cl") };
    this.nodes = Array.from({ length: NODES }, (_, i) => {
      const dir = join(this.scratch.dir, `node${i + 1}`);
      mkdirSync(join(dir, "run"), { recursive: true, mode: 0o700 });
      return new EcmpNode(this, i + 1, family.name(`n${i + 1}`), dir);
    });
    this.clientAddresses = Array.from({ length: clients }, (_, i) => clientAddress(i));
  }

  /**
   * Builds the network, starts the targets' web servers, the router's BIRD and every node's bng
   * and BIRD, and waits until the router has a next hop for each node. Removes what it made on failure.
   */
  static async create(options: { prefix: string; clients: number }): Promise<EcmpLab> {
    const lab = new EcmpLab(new NamespaceFamily(options.prefix), options.clients);
    try {
      await lab.#build();
      await lab.startRouterBird();
      await Promise.all(lab.nodes.map(async (node) => Promise.all([node.startBng(), node.startBird()])));
      await lab.waitForNexthops(lab.nodes.map((node) => node.address), 20_000);
    } catch (error) {
      const logs = lab.logs();
      await lab.destroy();
      throw new Error(`${(error as Error).message}\n${logs}`);
    }
    return lab;
  }

  /** The last lines each BIRD and bng wrote, to explain a failure. */
  logs(lines = 15): string {
    const tail = (name: string, child: RunningProcess | undefined) => (child ? `--- ${name}\n${child.stderr.trim().split("\n").slice(-lines).join("\n")}` : "");
    return [tail("router BIRD", this.routerBird), ...this.nodes.flatMap((node) => [tail(`node${node.index} BIRD`, node.bird), tail(`node${node.index} bng`, node.bng)])].filter(Boolean).join("\n");
  }

  get id(): string {
    return this.family.id;
  }

  targetNs(n: number): string {
    return this.family.name(`t${n}`);
  }

  async #build(): Promise<void> {
    for (const short of ["sw", "rt", "cl", ...this.nodes.map((node) => `n${node.index}`), ...Array.from({ length: TARGETS }, (_, t) => `t${t + 1}`)]) this.family.add(short);
    const { switch: sw, router, client } = this.ns;
    await this.#configure(sw, [`sysctl -qew ${BRIDGE_WITHOUT_NETFILTER}`, "ip link add br0 type bridge", "ip link set br0 up"]);
    await this.#attachToSwitch("rt", router, ROUTER_MAC);
    for (const node of this.nodes) await this.#attachToSwitch(`n${node.index}`, node.ns, nodeMac(node.index));
    for (let t = 1; t <= TARGETS; t++) await this.#attachToSwitch(`t${t}`, this.targetNs(t), targetMac(t));
    await this.exec(router, ["ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth0", "netns", client]);
    await Promise.all([
      this.#configure(router, [
        // The kernel's L4 hash: a client's connections spread over the nodes, each flow stays on one.
        "sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1",
        `ip addr add ${ROUTER_ADDRESS}/${SWITCH_PREFIX_LENGTH} dev eth0`,
        "ip link set eth0 up",
        `ip addr add ${ROUTER_INTERNET_ADDRESS}/24 dev eth1`,
        "ip link set eth1 up",
      ]),
      this.#configure(client, [
        // A veth hands the router the hash of the client's socket, which it takes as the flow's L4
        // hash; TCP picks a new one at each retransmission timeout, so a flow would leave a dead
        // node by itself. A real router hashes the headers: keep the hash fixed, as they are.
        "sysctl -qw net.core.txrehash=0",
        ...this.clientAddresses.map((address) => `ip addr add ${address}/24 dev eth0`),
        "ip link set eth0 up",
        `ip route add default via ${ROUTER_INTERNET_ADDRESS}`,
      ]),
      ...this.nodes.map((node) => this.#configure(node.ns, [`ip addr add ${node.address}/${SWITCH_PREFIX_LENGTH} dev eth0`, "ip link set eth0 up"])),
      ...Array.from({ length: TARGETS }, (_, t) =>
        this.#configure(this.targetNs(t + 1), [
          // The seed's target: the VIP on lo, ARP for it silenced.
          "sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2",
          `ip addr add ${VIP}/32 dev lo`,
          `ip addr add ${targetAddress(t + 1)}/${SWITCH_PREFIX_LENGTH} dev eth0`,
          "ip link set eth0 up",
          `ip route add default via ${ROUTER_ADDRESS}`,
        ]),
      ),
    ]);
    await Promise.all(
      Array.from({ length: TARGETS }, async (_, t) => {
        const server = this.spawnIn(this.targetNs(t + 1), [process.execPath, HTTP_TARGET_SCRIPT, targetName(t + 1)]);
        await server.waitForOutput(/^listening /m, SERVER_START_TIMEOUT_MS);
      }),
    );
  }

  async startRouterBird(): Promise<void> {
    const config = this.scratch.write("bird-router.conf", birdRouterConfig());
    this.routerBird = this.spawnIn(this.ns.router, ["bird", "-f", "-c", config, "-s", join(this.scratch.dir, "bird-router.ctl"), "-P", join(this.scratch.dir, "bird-router.pid")]);
    await this.routerBird.waitForOutput(/Started/, 10_000);
  }

  /** The next hops of the router's route to the VIP, sorted. */
  async nexthops(): Promise<string[]> {
    const { stdout } = await this.exec(this.ns.router, ["ip", "-j", "route", "show", `${VIP}/32`]);
    return parseRouteNexthops(stdout);
  }

  /**
   * Watches the router's next hops for the VIP (every 25 ms) until stop(), which resolves with
   * each change: when (epoch ms) and the next hops from then on.
   */
  watchNexthops(): { stop(): Promise<{ at: number; hops: string[] }[]> } {
    const changes: { at: number; hops: string[] }[] = [];
    let watching = true;
    const done = (async () => {
      while (watching) {
        const hops = await this.nexthops();
        if (changes.at(-1)?.hops.join(",") !== hops.join(",")) changes.push({ at: Date.now(), hops });
        await Bun.sleep(25);
      }
    })();
    return {
      stop: async () => {
        watching = false;
        await done;
        return changes;
      },
    };
  }

  /** Polls the router's route to the VIP until its next hops are `expected`; resolves with the milliseconds it took. */
  async waitForNexthops(expected: string[], timeoutMs: number): Promise<number> {
    const started = Date.now();
    const wanted = [...expected].sort().join(",");
    for (;;) {
      const now = await this.nexthops();
      if (now.join(",") === wanted) return Date.now() - started;
      if (Date.now() - started > timeoutMs) throw new Error(`the router's next hops for ${VIP} are [${now.join(", ")}], not [${wanted}] after ${timeoutMs} ms`);
      await Bun.sleep(20);
    }
  }

  async #attachToSwitch(port: string, hostNs: string, hostMac: string): Promise<void> {
    await this.exec(this.ns.switch, ["ip", "link", "add", port, "type", "veth", "peer", "name", "eth0", "address", hostMac, "netns", hostNs]);
    await this.exec(this.ns.switch, ["ip", "link", "set", port, "master", "br0", "up"]);
  }

  async #configure(ns: string, commands: string[]): Promise<void> {
    await this.exec(ns, ["sh", "-ec", commands.join("\n")]);
  }

  /** Runs `argv` in `ns` to completion; rejects with its stderr when it fails. */
  exec(ns: string, argv: string[], timeoutMs = 10_000): Promise<CommandResult> {
    return this.family.exec(ns, argv, { timeoutMs });
  }

  /** A long-running process in `ns`, stopped by destroy(). */
  spawnIn(ns: string, argv: string[], options?: StartOptions): RunningProcess {
    return this.family.spawn(ns, argv, options);
  }

  /** Stops bng and BIRD gracefully (bng withdraws its routes), then removes every namespace and the scratch directory. */
  async destroy(): Promise<void> {
    await this.family.destroy(2000);
    this.scratch.remove();
  }
}
