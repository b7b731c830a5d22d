/**
 * The seed's network (shared/seeds/dsr-single-legged-example.txt) rebuilt from Linux network
 * namespaces, for the end-to-end tests and `npm run demo`. Needs root, iproute2, tcpdump,
 * Node.js (the load generator, see load-client.mjs for why) and Bun (the target web servers).
 *
 *   client ns                router ns                      switch ns (bridge br0)
 *   eth0 198.18.0.10…  ───  eth1 198.18.0.1                  ├── port "bng" ── bng ns eth0 (no address; bng adds 172.16.1.252)
 *   (one address per         eth0 172.16.1.254 ── port "rt" ─┤
 *    client, default         ip_forward=1                    ├── port "t1" ── target1 ns eth0 172.16.1.100, lo 172.16.1.10/32
 *    via 198.18.0.1)                                         └── port "t2" ── target2 ns eth0 172.16.1.101, lo 172.16.1.10/32
 *
 * 198.18.0.0/15 is the benchmark range, so nothing here can ever be a real address. Every link
 * is a veth pair created directly between two lab namespaces: nothing is added to the host's
 * namespace. IPv6 is off in the lab (no ND/MLD noise in captures; bng is IPv4 only). Offloads
 * keep the kernel's defaults on purpose: veth hands out partial checksums, as VMs do, and bng
 * must cope. Targets follow the seed: VIP as a /32 on lo, arp_ignore=1, arp_announce=2,
 * default route via the router, and an HTTP server on :80 answering its name ("target1").
 *
 * API
 *   createLab(options?: { prefix?: string; clients?: number; targets?: number }): Promise<Lab>
 *       prefix: namespace family (default "bngl", test/fixtures/namespaces.ts); a lab's id is
 *       prefix + 4 random [a-z0-9], its namespaces are `<id>-sw`, `-rt`, `-cl`, `-bng`, `-t1`….
 *       clients: client addresses (default 16). targets: web servers (default 2). Removes stale
 *       labs of the family first.
 *   class Lab
 *     id, ns: { switch, router, client, bng }, bngNs, clientAddresses: string[]
 *     namespaces(): string[]   targetNumbers(): number[]   targetNs(n): string
 *     exec(ns, argv, options?: { allowFailure?, timeoutMs? }): Promise<CommandResult>
 *         CommandResult = { exitCode, stdout, stderr }; rejects with CommandError on a non-zero
 *         exit (unless allowFailure) or timeout (default 10 s), and for foreign namespaces
 *     execIn(ns, shellCommand, options?)        the same through `sh -c`
 *     bngExec(argv, options?)                   exec in the bng box
 *     spawnIn(ns, argv, options?): RunningProcess   long-running, killed by destroy()
 *         (test/fixtures/process.ts: pid, exited, stdout, stderr, exitCode, waitForOutput(regexp,
 *         timeoutMs), signal(sig), stop(graceMs, sig))
 *     stopTargetServer(n) / startTargetServer(n, { address? }): Promise<void>
 *         address: where the web server listens (default every address; e.g. the target's own
 *         address only, which DSR cannot use)
 *     addTarget(n): Promise<void>               e.g. 3 → 172.16.1.102, server "target3"
 *     addBngBox(): Promise<string>              a second bng box (`<id>-bng2`, port "bng2"), for a VRRP pair
 *     setTargetVip(n, "dsr" | "owned")          "owned": the seed's initial network, the target
 *                                               holds 172.16.1.10/24 on eth0 and answers ARP
 *     capture(ns, ifname, filter?): Promise<Capture>   capture.stop(): Promise<CapturedFrame[]>
 *         CapturedFrame: time, srcMac, dstMac, ethertype, length, summary, and parsed
 *         arp { op, targetIp | senderIp, senderMac } / ip { src, dst, protocol, ports, tcpFlags }
 *     requests({ count, concurrency?, clients?, timeoutMs?, url? }): Promise<RequestResult[]>
 *         one fresh TCP connection per request, client addresses round-robin, url default
 *         http://172.16.1.10/; RequestResult = { client, ok, target?, peer?, error?, ms, startedAt }
 *     steadyStream({ durationMs, concurrency?, clients?, timeoutMs?, pauseMs?, url? }): Promise<RequestResult[]>
 *         requests in loops for durationMs; the timeline ordered by startedAt (epoch ms)
 *     destroy(): Promise<void>                  graceful stop, then destroyNow()
 *     destroyNow(): void                        synchronous hard teardown (exit hooks use it)
 *   Constants: VIP, ROUTER_ADDRESS, BNG_REAL_ADDRESS, ROUTER_MAC, BNG_MAC, targetAddress(n),
 *   targetMac(n), targetName(n), clientAddress(i).
 *   Live labs are also destroyed on process exit, on SIGINT/SIGTERM/SIGHUP when nobody else
 *   handles the signal, and by the next lab of the family when their run was killed.
 */
import { join } from "node:path";
import { NamespaceFamily, validatePrefix } from "../fixtures/namespaces.ts";
import type { CommandOptions, CommandResult, RunningProcess, StartOptions } from "../fixtures/process.ts";
import { parseTcpdumpLine, type CapturedFrame } from "./tcpdump.ts";

export const VIP = "172.16.1.10";
export const SWITCH_PREFIX_LENGTH = 24;
export const ROUTER_ADDRESS = "172.16.1.254";
export const ROUTER_INTERNET_ADDRESS = "198.18.0.1";
export const BNG_REAL_ADDRESS = "172.16.1.252";
export const DEFAULT_PREFIX = "bngl";
export const MAX_TARGETS = 20;
export const MAX_CLIENTS = 200;
/**
 * sysctl settings for the namespace whose bridge stands in for a hardware switch: bridge
 * netfilter, on by default in every namespace of a kernel built with it, would pass each IPv4
 * frame the bridge forwards through the IP firewall hooks, a cost no switch has (8 % of the
 * balancer core's time in the packet-rate profile). `sysctl -e` skips them on kernels without it.
 */
export const BRIDGE_WITHOUT_NETFILTER =
  "net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0";

/** Target n (1-based) is 172.16.1.100, .101, … as in the seed. */
export function targetAddress(n: number): string {
  return `172.16.1.${99 + n}`;
}

/** Client i (0-based) is 198.18.0.10, .11, …. */
export function clientAddress(i: number): string {
  return `198.18.0.${10 + i}`;
}

export function targetName(n: number): string {
  return `target${n}`;
}

// Fixed, locally administered MACs whose last byte is the host's last address byte, so
// captures read at a glance and tests can assert who sent a frame.
function switchSideMac(lastAddressByte: number): string {
  return `02:00:ac:10:01:${lastAddressByte.toString(16).padStart(2, "0")}`;
}
export const ROUTER_MAC = switchSideMac(254);
export const BNG_MAC = switchSideMac(252);
/** The second bng box of a VRRP pair (addBngBox): its `real` address and MAC. */
export const SECOND_BNG_REAL_ADDRESS = "172.16.1.253";
export const SECOND_BNG_MAC = switchSideMac(253);
export function targetMac(n: number): string {
  return switchSideMac(99 + n);
}
const ROUTER_INTERNET_MAC = "02:00:c6:12:00:01";
const CLIENT_MAC = "02:00:c6:12:00:0a";

const HTTP_TARGET_SCRIPT = join(import.meta.dir, "http-target.ts");
const LOAD_CLIENT_SCRIPT = join(import.meta.dir, "load-client.mjs");
const SERVER_START_TIMEOUT_MS = 5000;
const CAPTURE_START_TIMEOUT_MS = 5000;

export interface LabOptions {
  prefix?: string;
  clients?: number;
  targets?: number;
  /** Receive (and transmit) queues of the bng box's eth0, default 1: `set io xdp` runs one worker per queue. */
  bngQueues?: number;
}

export interface RequestOptions {
  count: number;
  /** Requests in flight at once; default min(count, 8). */
  concurrency?: number;
  /** Use only the first k client addresses; default all. */
  clients?: number;
  /** Per request; default 2000. */
  timeoutMs?: number;
  /** Default http://172.16.1.10/. */
  url?: string;
}

export interface StreamOptions {
  durationMs: number;
  /** Parallel request loops; default 2. */
  concurrency?: number;
  clients?: number;
  /** Per request; default 1000. */
  timeoutMs?: number;
  /** Pause of each loop between its requests; default 10. */
  pauseMs?: number;
  url?: string;
}

export interface RequestResult {
  /** Source address the request was sent from. */
  client: string;
  ok: boolean;
  /** Body of a 200 answer: the serving target's name, e.g. "target1". */
  target?: string;
  /** The client address the serving target saw (x-client-address). */
  peer?: string;
  /** "timeout", an errno code such as "ECONNREFUSED", or "HTTP <status>". */
  error?: string;
  ms: number;
  /** Epoch milliseconds when the request started. */
  startedAt: number;
}

export interface Capture {
  readonly process: RunningProcess;
  /** Stops tcpdump and returns every Ethernet frame it printed. */
  stop(): Promise<CapturedFrame[]>;
}

function validateCount(what: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${what} must be an integer in ${min}..${max}, got ${value}`);
  return value;
}

let nodeBinary: string | null | undefined;
function requireNode(): string {
  nodeBinary ??= Bun.which("node");
  if (nodeBinary === null) throw new Error("the lab's load generator needs Node.js (`node` on PATH); Bun 1.3.3 cannot bind a client address");
  return nodeBinary;
}

// ---------------------------------------------------------------------------------------------

export async function createLab(options: LabOptions = {}): Promise<Lab> {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  validatePrefix(prefix);
  const clients = validateCount("clients", options.clients ?? 16, 1, MAX_CLIENTS);
  const targets = validateCount("targets", options.targets ?? 2, 1, MAX_TARGETS);
  const bngQueues = validateCount("bngQueues", options.bngQueues ?? 1, 1, 16);
  const lab = new Lab(new NamespaceFamily(prefix), clients);
  try {
    await lab.build(targets, bngQueues);
  } catch (error) {
    await lab.destroy();
    throw error;
  }
  return lab;
}

export class Lab {
  readonly ns: { readonly switch: string; readonly router: string; readonly client: string; readonly bng: string };
  readonly clientAddresses: readonly string[];
  readonly #targetNamespaces = new Map<number, string>();
  readonly #targetServers = new Map<number, RunningProcess>();

  constructor(
    readonly family: NamespaceFamily,
    clients: number,
  ) {
    this.ns = { switch: family.name("sw"), router: family.name("rt"), client: family.name("cl"), bng: family.name("bng") };
    this.clientAddresses = Array.from({ length: clients }, (_, i) => clientAddress(i));
  }

  get id(): string {
    return this.family.id;
  }

  /** The bng box: one interface `eth0` on the switch, no address (bng adds its `real`). */
  get bngNs(): string {
    return this.ns.bng;
  }

  targetNumbers(): number[] {
    return [...this.#targetNamespaces.keys()].sort((a, b) => a - b);
  }

  targetNs(n: number): string {
    const ns = this.#targetNamespaces.get(n);
    if (ns === undefined) throw new Error(`lab ${this.id} has no target ${n}`);
    return ns;
  }

  /** Every namespace of this lab. */
  namespaces(): string[] {
    return this.family.namespaces();
  }

  /** Builds the network; called once by createLab. */
  async build(targets: number, bngQueues: number): Promise<void> {
    const { switch: sw, router, client, bng } = this.ns;
    for (const short of ["sw", "rt", "cl", "bng"]) this.family.add(short);
    await this.#configure(sw, [`sysctl -qew ${BRIDGE_WITHOUT_NETFILTER}`, "ip link add br0 type bridge", "ip link set br0 up"]);
    await this.#attachToSwitch("rt", router, ROUTER_MAC);
    await this.#attachToSwitch("bng", bng, BNG_MAC, bngQueues);
    await this.exec(router, ["ip", "link", "add", "eth1", "address", ROUTER_INTERNET_MAC, "type", "veth", "peer", "name", "eth0", "address", CLIENT_MAC, "netns", client]);
    await Promise.all([
      this.#configure(router, [
        "sysctl -qw net.ipv4.ip_forward=1",
        `ip addr add ${ROUTER_ADDRESS}/${SWITCH_PREFIX_LENGTH} dev eth0`,
        "ip link set eth0 up",
        `ip addr add ${ROUTER_INTERNET_ADDRESS}/24 dev eth1`,
        "ip link set eth1 up",
      ]),
      this.#configure(client, [
        ...this.clientAddresses.map((address) => `ip addr add ${address}/24 dev eth0`),
        "ip link set eth0 up",
        `ip route add default via ${ROUTER_INTERNET_ADDRESS}`,
      ]),
      this.#configure(bng, ["ip link set eth0 up"]),
      ...Array.from({ length: targets }, (_, i) => this.addTarget(i + 1)),
    ]);
  }

  /**
   * A veth from switch port `port` to `eth0` of `hostNs`, the host side with a fixed MAC; with
   * `queues` on both ends (the switch side's transmit queue of a frame, picked by flow, is the
   * host side's receive queue).
   */
  async #attachToSwitch(port: string, hostNs: string, hostMac: string, queues = 1): Promise<void> {
    const queueCounts = ["numtxqueues", String(queues), "numrxqueues", String(queues)];
    await this.exec(this.ns.switch, ["ip", "link", "add", port, ...queueCounts, "type", "veth", "peer", "name", "eth0", ...queueCounts, "address", hostMac, "netns", hostNs]);
    await this.exec(this.ns.switch, ["ip", "link", "set", port, "master", "br0", "up"]);
  }

  async #configure(ns: string, commands: string[]): Promise<void> {
    await this.exec(ns, ["sh", "-ec", commands.join("\n")]);
  }

  exec(ns: string, argv: string[], options?: CommandOptions): Promise<CommandResult> {
    return this.family.exec(ns, argv, options);
  }

  execIn(ns: string, shellCommand: string, options?: CommandOptions): Promise<CommandResult> {
    return this.exec(ns, ["sh", "-c", shellCommand], options);
  }

  bngExec(argv: string[], options?: CommandOptions): Promise<CommandResult> {
    return this.exec(this.ns.bng, argv, options);
  }

  spawnIn(ns: string, argv: string[], options?: StartOptions): RunningProcess {
    return this.family.spawn(ns, argv, options);
  }

  /**
   * A second bng box on the switch (switch port "bng2", its eth0 with SECOND_BNG_MAC and no
   * address: bng adds its `real`, SECOND_BNG_REAL_ADDRESS): the peer of a VRRP pair, or a
   * keepalived router beside bng. Returns its namespace.
   */
  async addBngBox(): Promise<string> {
    if (this.family.namespaces().includes(this.family.name("bng2"))) throw new Error(`lab ${this.id} already has a second bng box`);
    const ns = this.family.add("bng2");
    await this.#attachToSwitch("bng2", ns, SECOND_BNG_MAC);
    await this.#configure(ns, ["ip link set eth0 up"]);
    return ns;
  }

  /** Adds target n (172.16.1.(99+n)) configured as the seed says, with its web server running. */
  async addTarget(n: number): Promise<void> {
    validateCount("target number", n, 1, MAX_TARGETS);
    if (this.#targetNamespaces.has(n)) throw new Error(`lab ${this.id} already has target ${n}`);
    const ns = this.family.add(`t${n}`);
    this.#targetNamespaces.set(n, ns);
    await this.#attachToSwitch(`t${n}`, ns, targetMac(n));
    await this.#configure(ns, [
      // The seed's ARP settings: answer ARP only for addresses on the asking interface, and
      // never use the VIP as the source of our own ARP requests.
      "sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2",
      `ip addr add ${VIP}/32 dev lo`,
      `ip addr add ${targetAddress(n)}/${SWITCH_PREFIX_LENGTH} dev eth0`,
      "ip link set eth0 up",
      `ip route add default via ${ROUTER_ADDRESS}`,
    ]);
    await this.startTargetServer(n);
  }

  async startTargetServer(n: number, options: { address?: string } = {}): Promise<void> {
    if (this.#targetServers.has(n)) throw new Error(`target ${n}'s server is already running`);
    const server = this.spawnIn(this.targetNs(n), [process.execPath, HTTP_TARGET_SCRIPT, targetName(n), "80", ...(options.address ? [options.address] : [])]);
    this.#targetServers.set(n, server);
    try {
      await server.waitForOutput(/^listening /m, SERVER_START_TIMEOUT_MS);
    } catch (error) {
      this.#targetServers.delete(n);
      await server.stop(2000);
      throw error;
    }
  }

  /** Stops target n's web server: the target stays on the network, but port 80 refuses. */
  async stopTargetServer(n: number): Promise<void> {
    const server = this.#targetServers.get(n);
    if (server === undefined) throw new Error(`target ${n}'s server is not running`);
    this.#targetServers.delete(n);
    await server.stop(2000);
  }

  /**
   * "owned": the seed's initial network, where the web server has 172.16.1.10 as an ordinary
   * address on eth0 (and so answers ARP for it). "dsr": back to the VIP on lo, ARP-silent.
   * The router forgets its ARP entry for the VIP either way so the next packet asks again.
   */
  async setTargetVip(n: number, mode: "dsr" | "owned"): Promise<void> {
    const ns = this.targetNs(n);
    const [from, to] = mode === "owned" ? [`${VIP}/32 dev lo`, `${VIP}/${SWITCH_PREFIX_LENGTH} dev eth0`] : [`${VIP}/${SWITCH_PREFIX_LENGTH} dev eth0`, `${VIP}/32 dev lo`];
    await this.#configure(ns, [`ip addr del ${from}`, `ip addr add ${to}`]);
    await this.exec(this.ns.router, ["ip", "neigh", "flush", "to", VIP]);
  }

  /** Starts tcpdump on `ifname` in `ns`; resolves once it is capturing. */
  async capture(ns: string, ifname: string, filter = ""): Promise<Capture> {
    const tcpdump = this.spawnIn(ns, ["tcpdump", "-tt", "-nn", "-e", "-l", "--immediate-mode", "-i", ifname, ...(filter ? [filter] : [])]);
    try {
      await tcpdump.waitForOutput(/^listening on /m, CAPTURE_START_TIMEOUT_MS);
    } catch (error) {
      await tcpdump.stop(2000);
      throw error;
    }
    return {
      process: tcpdump,
      async stop() {
        // SIGINT makes tcpdump flush what it has before exiting.
        await tcpdump.stop(2000, "SIGINT");
        return tcpdump.stdout.split("\n").flatMap((line) => {
          const frame = parseTcpdumpLine(line);
          return frame ? [frame] : [];
        });
      },
    };
  }

  /** `count` requests from the client namespace, client addresses taken round-robin. */
  async requests(options: RequestOptions): Promise<RequestResult[]> {
    const count = validateCount("count", options.count, 0, 1_000_000);
    const concurrency = validateCount("concurrency", options.concurrency ?? Math.max(1, Math.min(count, 8)), 1, 1000);
    const timeoutMs = options.timeoutMs ?? 2000;
    const job = { mode: "count", url: options.url ?? `http://${VIP}/`, clients: this.#clientSubset(options.clients), count, concurrency, timeoutMs };
    return this.#runLoadClient(job, Math.ceil(count / concurrency) * timeoutMs + 5000);
  }

  /**
   * Requests without pause for `durationMs` (each loop waits `pauseMs` between requests):
   * the timeline, ordered by start, for failover tests.
   */
  async steadyStream(options: StreamOptions): Promise<RequestResult[]> {
    const durationMs = validateCount("durationMs", options.durationMs, 0, 600_000);
    const timeoutMs = options.timeoutMs ?? 1000;
    const job = {
      mode: "stream",
      url: options.url ?? `http://${VIP}/`,
      clients: this.#clientSubset(options.clients),
      durationMs,
      concurrency: validateCount("concurrency", options.concurrency ?? 2, 1, 1000),
      timeoutMs,
      pauseMs: options.pauseMs ?? 10,
    };
    return this.#runLoadClient(job, durationMs + timeoutMs + 5000);
  }

  #clientSubset(clients: number | undefined): string[] {
    const k = validateCount("clients", clients ?? this.clientAddresses.length, 1, this.clientAddresses.length);
    return this.clientAddresses.slice(0, k);
  }

  async #runLoadClient(job: object, budgetMs: number): Promise<RequestResult[]> {
    const { stdout } = await this.exec(this.ns.client, [requireNode(), LOAD_CLIENT_SCRIPT, JSON.stringify(job)], { timeoutMs: budgetMs });
    return (JSON.parse(stdout) as { results: RequestResult[] }).results;
  }

  /** Stops the lab's processes gracefully, then removes every namespace (and so every link). */
  destroy(): Promise<void> {
    return this.family.destroy(1000);
  }

  /** Synchronous hard teardown: SIGKILL everything in the lab's namespaces, delete them. */
  destroyNow(): void {
    this.family.destroyNow();
  }
}
