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
 *       prefix: namespace family (default "bngl"); a lab's id is prefix + 4 random [a-z0-9],
 *       its namespaces are `<id>-sw`, `-rt`, `-cl`, `-bng`, `-t1`…. clients: client addresses
 *       (default 16). targets: web servers (default 2). Removes stale labs of the family first.
 *   cleanupStaleLabs(prefix?: string): string[]
 *       Removes labs of the family whose creating process is gone (killed runs); returns their ids.
 *       Only labs with an ownership record in /run/bng-lab are touched, never foreign namespaces.
 *   claimNamespaceFamily(prefix): string   addNamespace(ns): Promise<void>   removeNamespaceFamily(id): void
 *       The same records for other families of namespaces `<id>-<name>` (the benchmarks'):
 *       claim sweeps the prefix's stale families, then records a new id owned by this process;
 *       add makes one namespace the lab's way; remove kills every process in the family's
 *       namespaces and deletes them and the record.
 *   class Lab
 *     id, ns: { switch, router, client, bng }, bngNs, clientAddresses: string[]
 *     namespaces(): string[]   targetNumbers(): number[]   targetNs(n): string
 *     exec(ns, argv, options?: { allowFailure?, timeoutMs? }): Promise<ExecResult>
 *         ExecResult = { exitCode, stdout, stderr }; rejects with LabCommandError on a non-zero
 *         exit (unless allowFailure) or timeout (default 10 s), and for foreign namespaces
 *     execIn(ns, shellCommand, options?)        the same through `sh -c`
 *     bngExec(argv, options?)                   exec in the bng box
 *     spawnIn(ns, argv, options?: { env?, cwd? }): LabProcess   long-running, killed by destroy()
 *         LabProcess: pid, exited: Promise<code>, stdout, stderr (text so far), exitCode,
 *         waitForOutput(regexp, timeoutMs), signal(sig), stop(graceMs = 2000, sig = "SIGTERM")
 *     stopTargetServer(n) / startTargetServer(n): Promise<void>
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
 *   targetMac(n), targetName(n), clientAddress(i); listNamespaces(); parseTcpdumpLine(line).
 *   Live labs are also destroyed on process exit, and on SIGINT/SIGTERM/SIGHUP when nobody
 *   else handles the signal.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

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

const STATE_DIRECTORY = "/run/bng-lab";
const HTTP_TARGET_SCRIPT = join(import.meta.dir, "http-target.ts");
const LOAD_CLIENT_SCRIPT = join(import.meta.dir, "load-client.mjs");
const SERVER_START_TIMEOUT_MS = 5000;
const CAPTURE_START_TIMEOUT_MS = 5000;

export interface LabOptions {
  prefix?: string;
  clients?: number;
  targets?: number;
}

export interface ExecOptions {
  /** Return a failed result instead of throwing. */
  allowFailure?: boolean;
  /** Killed (SIGKILL) and reported as failure after this long; default 10 s. */
  timeoutMs?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
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

export type ArpSummary =
  | { op: "request"; targetIp: string; senderIp: string }
  | { op: "reply"; senderIp: string; senderMac: string };

export interface IpSummary {
  src: string;
  dst: string;
  protocol: "tcp" | "udp" | "icmp" | "other";
  srcPort?: number;
  dstPort?: number;
  /** tcpdump's flag letters, e.g. "S", "S.", "P.", "R". */
  tcpFlags?: string;
}

export interface CapturedFrame {
  /** Seconds since the epoch. */
  time: number;
  srcMac: string;
  dstMac: string;
  /** tcpdump's ethertype name: "IPv4", "ARP", …. */
  ethertype: string;
  length: number;
  /** tcpdump's text after the link-layer header. */
  summary: string;
  arp?: ArpSummary;
  ip?: IpSummary;
}

export interface Capture {
  readonly process: LabProcess;
  /** Stops tcpdump and returns every Ethernet frame it printed. */
  stop(): Promise<CapturedFrame[]>;
}

export class LabCommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: ExecResult,
    reason: string,
  ) {
    super(`${argv.join(" ")}: ${reason}${result.stderr.trim() ? `: ${result.stderr.trim()}` : ""}`);
    this.name = "LabCommandError";
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function runCommand(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const subprocess = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let timedOut = false;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const timer = setTimeout(() => {
    timedOut = true;
    subprocess.kill("SIGKILL");
  }, timeoutMs);
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(subprocess.stdout).text(),
    new Response(subprocess.stderr).text(),
    subprocess.exited,
  ]);
  clearTimeout(timer);
  const result = { exitCode, stdout, stderr };
  if (timedOut) throw new LabCommandError(argv, result, `timed out after ${timeoutMs} ms`);
  if (exitCode !== 0 && !options.allowFailure) throw new LabCommandError(argv, result, `exit code ${exitCode}`);
  return result;
}

function runCommandSync(argv: string[]): ExecResult {
  const result = Bun.spawnSync(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

/** Collects a pipe's text in the background so the child never blocks on a full pipe. */
class OutputCollector {
  text = "";
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) this.text += decoder.decode(chunk, { stream: true });
      this.text += decoder.decode();
    })();
  }
}

/** A long-running process inside a lab namespace; the lab kills it on destroy. */
export class LabProcess {
  readonly pid: number;
  readonly exited: Promise<number>;
  readonly #stdout: OutputCollector;
  readonly #stderr: OutputCollector;
  #exitCode: number | null = null;

  constructor(
    readonly ns: string,
    readonly argv: readonly string[],
    private readonly subprocess: Subprocess<"ignore", "pipe", "pipe">,
  ) {
    this.pid = subprocess.pid;
    this.exited = subprocess.exited.then((code) => (this.#exitCode = code));
    this.#stdout = new OutputCollector(subprocess.stdout);
    this.#stderr = new OutputCollector(subprocess.stderr);
  }

  get stdout(): string {
    return this.#stdout.text;
  }

  get stderr(): string {
    return this.#stderr.text;
  }

  /** Exit code, 128 + signal number when killed, null while running. */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.exitCode === null) this.subprocess.kill(signal);
  }

  /** Resolves with the first match of `pattern` in stdout or stderr; rejects on exit or timeout. */
  async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.stdout.match(pattern) ?? this.stderr.match(pattern);
      if (match) return match;
      const exited = this.exitCode !== null;
      if (exited || Date.now() >= deadline) {
        const why = exited ? `exited with ${this.exitCode}` : `no ${pattern} within ${timeoutMs} ms`;
        throw new Error(`${this.argv.join(" ")} in ${this.ns}: ${why}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      }
      await sleep(20);
    }
  }

  /** `signal`, SIGKILL after `graceMs`; resolves with the exit code once output is drained. */
  async stop(graceMs = 2000, signal: NodeJS.Signals = "SIGTERM"): Promise<number> {
    this.signal(signal);
    const killer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    const code = await this.exited;
    clearTimeout(killer);
    await Promise.all([this.#stdout.done, this.#stderr.done]);
    return code;
  }
}

// ---------------------------------------------------------------------------------------------
// Ownership records and teardown shared by destroy(), the exit hooks, cleanupStaleLabs() and the
// benchmarks' namespace families (bench/lib.ts).

interface OwnershipRecord {
  id: string;
  ownerPid: number;
  /** Start time of the owner (field 22 of /proc/PID/stat), so a reused pid is not mistaken for it. */
  ownerStartTime: string;
}

function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name start at field 3.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

function ownershipPath(id: string): string {
  return join(STATE_DIRECTORY, `${id}.json`);
}

function writeOwnership(id: string): void {
  mkdirSync(STATE_DIRECTORY, { recursive: true, mode: 0o700 });
  const record: OwnershipRecord = { id, ownerPid: process.pid, ownerStartTime: processStartTime(process.pid) ?? "" };
  writeFileSync(ownershipPath(id), JSON.stringify(record));
}

function ownerIsAlive(record: OwnershipRecord): boolean {
  return processStartTime(record.ownerPid) === record.ownerStartTime;
}

/** Names from `ip netns list` (lines look like "name (id: 3)"). */
export function listNamespaces(): string[] {
  return runCommandSync(["ip", "netns", "list"])
    .stdout.split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name !== "");
}

function isGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // A zombie is dead; only its parent's reaping is missing.
    return stat[stat.lastIndexOf(")") + 2] === "Z";
  } catch {
    return true;
  }
}

/**
 * Kills every process inside the family's namespaces, then deletes the namespaces (and with them
 * every link) and, once none is left, its record; a namespace that would not go keeps the record,
 * so a later sweep tries again.
 */
export function removeNamespaceFamily(id: string): void {
  const ofFamily = (name: string) => name.startsWith(`${id}-`);
  const namespaces = listNamespaces().filter(ofFamily);
  const victims: number[] = [];
  for (const ns of namespaces) {
    for (const field of runCommandSync(["ip", "netns", "pids", ns]).stdout.split("\n")) {
      const pid = Number(field);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) victims.push(pid);
    }
  }
  for (const pid of victims) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone between listing and killing.
    }
  }
  const deadline = Date.now() + 2000;
  while (victims.some((pid) => !isGone(pid)) && Date.now() < deadline) Bun.sleepSync(10);
  for (const ns of namespaces) runCommandSync(["ip", "netns", "del", ns]);
  if (!listNamespaces().some(ofFamily)) rmSync(ownershipPath(id), { force: true });
}

/**
 * A new family id (`prefix` + 4 random [a-z0-9]) recorded as this process's, after removing the
 * prefix's families whose owners are gone.
 */
export function claimNamespaceFamily(prefix: string): string {
  cleanupStaleLabs(prefix);
  let id = prefix + randomSuffix();
  while (existsSync(ownershipPath(id))) id = prefix + randomSuffix();
  writeOwnership(id);
  return id;
}

/**
 * Creates namespace `ns` of a family, with IPv6 off before any link exists, forwarding off
 * (unless a host turns it on: the router) and `lo` up. `ip netns add` runs synchronously, so an
 * exit hook (a signal) cannot run while `ip` is still creating it and miss it.
 */
export async function addNamespace(ns: string): Promise<void> {
  const added = runCommandSync(["ip", "netns", "add", ns]);
  if (added.exitCode !== 0) throw new Error(`ip netns add ${ns}: ${added.stderr.trim()}`);
  await runCommand(["ip", "netns", "exec", ns, "sh", "-ec", "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 net.ipv4.ip_forward=0\nip link set lo up"]);
}

function validatePrefix(prefix: string): void {
  if (!/^[a-z][a-z0-9]{1,9}$/.test(prefix)) throw new Error(`lab prefix must be 2-10 of [a-z0-9], starting with a letter: ${JSON.stringify(prefix)}`);
}

/**
 * Removes labs of the `prefix` family whose creating process has gone (a run killed before its
 * cleanup). Labs of live processes and namespaces without an ownership record are left alone.
 */
export function cleanupStaleLabs(prefix = DEFAULT_PREFIX): string[] {
  validatePrefix(prefix);
  if (!existsSync(STATE_DIRECTORY)) return [];
  const idPattern = new RegExp(`^${prefix}[a-z0-9]{4}$`);
  const removed: string[] = [];
  for (const file of readdirSync(STATE_DIRECTORY)) {
    const id = file.replace(/\.json$/, "");
    if (!file.endsWith(".json") || !idPattern.test(id)) continue;
    let record: OwnershipRecord;
    try {
      record = JSON.parse(readFileSync(ownershipPath(id), "utf8")) as OwnershipRecord;
    } catch {
      continue; // Being written by a lab starting right now, or removed meanwhile.
    }
    if (ownerIsAlive(record)) continue;
    removeNamespaceFamily(id);
    removed.push(id);
  }
  return removed;
}

const liveLabs = new Set<Lab>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on("exit", () => {
    for (const lab of liveLabs) lab.destroyNow();
  });
  const signalExitCodes: [NodeJS.Signals, number][] = [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]];
  for (const [signal, exitCode] of signalExitCodes) {
    const onSignal = () => {
      // If the program handles the signal itself, let it; the exit hook cleans up when it exits.
      if (process.listenerCount(signal) > 1) return;
      process.exit(exitCode);
    };
    process.on(signal, onSignal);
  }
}

function randomSuffix(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(crypto.getRandomValues(new Uint8Array(4)), (byte) => alphabet[byte % alphabet.length]).join("");
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
  const lab = new Lab(claimNamespaceFamily(prefix), clients);
  liveLabs.add(lab);
  installExitHooks();
  try {
    await lab.build(targets);
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
  /** The second bng box, once addBngBox made it. */
  #secondBngNs: string | undefined;
  readonly #targetServers = new Map<number, LabProcess>();
  readonly #processes = new Set<LabProcess>();
  #destroyed = false;

  constructor(
    readonly id: string,
    clients: number,
  ) {
    this.ns = { switch: `${id}-sw`, router: `${id}-rt`, client: `${id}-cl`, bng: `${id}-bng` };
    this.clientAddresses = Array.from({ length: clients }, (_, i) => clientAddress(i));
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
    return [this.ns.switch, this.ns.router, this.ns.client, this.ns.bng, ...(this.#secondBngNs ? [this.#secondBngNs] : []), ...this.#targetNamespaces.values()];
  }

  /** Builds the network; called once by createLab. */
  async build(targets: number): Promise<void> {
    const { switch: sw, router, client, bng } = this.ns;
    for (const ns of [sw, router, client, bng]) await addNamespace(ns);
    await this.#configure(sw, [`sysctl -qew ${BRIDGE_WITHOUT_NETFILTER}`, "ip link add br0 type bridge", "ip link set br0 up"]);
    await this.#attachToSwitch("rt", router, ROUTER_MAC);
    await this.#attachToSwitch("bng", bng, BNG_MAC);
    await runCommand(["ip", "-n", router, "link", "add", "eth1", "address", ROUTER_INTERNET_MAC, "type", "veth", "peer", "name", "eth0", "address", CLIENT_MAC, "netns", client]);
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

  /** A veth from switch port `port` to `eth0` of `hostNs`, the host side with a fixed MAC. */
  async #attachToSwitch(port: string, hostNs: string, hostMac: string): Promise<void> {
    await runCommand(["ip", "-n", this.ns.switch, "link", "add", port, "type", "veth", "peer", "name", "eth0", "address", hostMac, "netns", hostNs]);
    await runCommand(["ip", "-n", this.ns.switch, "link", "set", port, "master", "br0", "up"]);
  }

  async #configure(ns: string, commands: string[]): Promise<void> {
    await runCommand(["ip", "netns", "exec", ns, "sh", "-ec", commands.join("\n")]);
  }

  #assertUsable(ns?: string): void {
    if (this.#destroyed) throw new Error(`lab ${this.id} is destroyed`);
    if (ns !== undefined && !this.namespaces().includes(ns)) throw new Error(`${ns} is not a namespace of lab ${this.id}`);
  }

  async exec(ns: string, argv: string[], options?: ExecOptions): Promise<ExecResult> {
    this.#assertUsable(ns);
    return runCommand(["ip", "netns", "exec", ns, ...argv], options);
  }

  execIn(ns: string, shellCommand: string, options?: ExecOptions): Promise<ExecResult> {
    return this.exec(ns, ["sh", "-c", shellCommand], options);
  }

  bngExec(argv: string[], options?: ExecOptions): Promise<ExecResult> {
    return this.exec(this.ns.bng, argv, options);
  }

  spawnIn(ns: string, argv: string[], options: { env?: Record<string, string>; cwd?: string } = {}): LabProcess {
    this.#assertUsable(ns);
    const fullArgv = ["ip", "netns", "exec", ns, ...argv];
    const subprocess = Bun.spawn(fullArgv, {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ...options.env },
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    const labProcess = new LabProcess(ns, argv, subprocess);
    this.#processes.add(labProcess);
    void labProcess.exited.then(() => this.#processes.delete(labProcess));
    return labProcess;
  }

  /**
   * A second bng box on the switch (switch port "bng2", its eth0 with SECOND_BNG_MAC and no
   * address: bng adds its `real`, SECOND_BNG_REAL_ADDRESS): the peer of a VRRP pair, or a
   * keepalived router beside bng. Returns its namespace.
   */
  async addBngBox(): Promise<string> {
    this.#assertUsable();
    if (this.#secondBngNs) throw new Error(`lab ${this.id} already has a second bng box`);
    const ns = `${this.id}-bng2`;
    await addNamespace(ns);
    this.#secondBngNs = ns;
    await this.#attachToSwitch("bng2", ns, SECOND_BNG_MAC);
    await this.#configure(ns, ["ip link set eth0 up"]);
    return ns;
  }

  /** Adds target n (172.16.1.(99+n)) configured as the seed says, with its web server running. */
  async addTarget(n: number): Promise<void> {
    this.#assertUsable();
    validateCount("target number", n, 1, MAX_TARGETS);
    if (this.#targetNamespaces.has(n)) throw new Error(`lab ${this.id} already has target ${n}`);
    const ns = `${this.id}-t${n}`;
    await addNamespace(ns);
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

  async startTargetServer(n: number): Promise<void> {
    this.#assertUsable(this.targetNs(n));
    if (this.#targetServers.has(n)) throw new Error(`target ${n}'s server is already running`);
    const server = this.spawnIn(this.targetNs(n), [process.execPath, HTTP_TARGET_SCRIPT, targetName(n)]);
    this.#targetServers.set(n, server);
    try {
      await server.waitForOutput(/^listening /m, SERVER_START_TIMEOUT_MS);
    } catch (error) {
      this.#targetServers.delete(n);
      await server.stop();
      throw error;
    }
  }

  /** Stops target n's web server: the target stays on the network, but port 80 refuses. */
  async stopTargetServer(n: number): Promise<void> {
    const server = this.#targetServers.get(n);
    if (server === undefined) throw new Error(`target ${n}'s server is not running`);
    this.#targetServers.delete(n);
    await server.stop();
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
      await tcpdump.stop();
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
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    await Promise.all([...this.#processes].map((labProcess) => labProcess.stop(1000)));
    this.destroyNow();
  }

  /** Synchronous hard teardown: SIGKILL everything in the lab's namespaces, delete them. */
  destroyNow(): void {
    this.#destroyed = true;
    liveLabs.delete(this);
    removeNamespaceFamily(this.id);
  }
}

const FRAME_LINE = /^(\d+\.\d+) ([0-9a-f:]{17}) > ([0-9a-f:]{17}), ethertype (\S+) \(0x[0-9a-f]{4}\), length (\d+): (.*)$/;
const ARP_REQUEST = /^Request who-has (\S+)(?: \([^)]*\))? tell (\S+),/;
const ARP_REPLY = /^Reply (\S+) is-at ([0-9a-f:]{17}),/;
const IPV4_ENDPOINTS = /^(\d+\.\d+\.\d+\.\d+)(?:\.(\d+))? > (\d+\.\d+\.\d+\.\d+)(?:\.(\d+))?: (.*)$/;

/** One line of `tcpdump -tt -nn -e`; null for lines that are not an Ethernet frame. */
export function parseTcpdumpLine(line: string): CapturedFrame | null {
  const frame = FRAME_LINE.exec(line);
  if (!frame) return null;
  const [, time = "", srcMac = "", dstMac = "", ethertype = "", length = "", summary = ""] = frame;
  const parsed: CapturedFrame = { time: Number(time), srcMac, dstMac, ethertype, length: Number(length), summary };
  if (ethertype === "ARP") {
    const request = ARP_REQUEST.exec(summary);
    const reply = ARP_REPLY.exec(summary);
    if (request) parsed.arp = { op: "request", targetIp: request[1] ?? "", senderIp: request[2] ?? "" };
    else if (reply) parsed.arp = { op: "reply", senderIp: reply[1] ?? "", senderMac: reply[2] ?? "" };
  } else if (ethertype === "IPv4") {
    const endpoints = IPV4_ENDPOINTS.exec(summary);
    if (endpoints) {
      const [, src = "", srcPort, dst = "", dstPort, rest = ""] = endpoints;
      const tcpFlags = /^Flags \[([^\]]*)\]/.exec(rest)?.[1];
      const protocol = tcpFlags !== undefined ? "tcp" : srcPort !== undefined ? "udp" : rest.startsWith("ICMP") ? "icmp" : "other";
      parsed.ip = { src, dst, protocol };
      if (srcPort !== undefined) parsed.ip.srcPort = Number(srcPort);
      if (dstPort !== undefined) parsed.ip.dstPort = Number(dstPort);
      if (tcpFlags !== undefined) parsed.ip.tcpFlags = tcpFlags;
    }
  }
  return parsed;
}
