// A VRRP pair of bng boxes in the seed's lab, for the high-availability tests: box A (the lab's
// bng box, 172.16.1.252) and box B (addBngBox, 172.16.1.253), their configurations, the
// long-lived client, and who answers ARP for the VIP.
import type { RunningProcess } from "../fixtures/process.ts";
import { join } from "node:path";
import { sendControlRequest } from "../../src/control/socket-client.ts";
import type { StatusReport } from "../../src/control/status.ts";
import { BngInLab, type Scratch } from "./bng.ts";
import { ROUTER_ADDRESS, SECOND_BNG_REAL_ADDRESS, VIP, type Lab } from "./lab.ts";

const SEED_REAL = "real 172.16.1.252";
const LONG_LIVED_CLIENT = join(import.meta.dir, "long-lived-client.mjs");

export interface NodeOptions {
  priority: number;
  /** The peer's real address, to sync sessions with; none: no sync. */
  syncPeer?: string;
  key?: string;
  preempt?: boolean;
  method?: string;
  vrid?: number;
}

/** The seed's configuration for box A (`real` 172.16.1.252) or B (172.16.1.253), with a vrrp block. */
export function pairConfig(seed: string, box: "A" | "B", options: NodeOptions): string {
  const real = box === "A" ? seed : seed.replace(SEED_REAL, `real ${SECOND_BNG_REAL_ADDRESS}`);
  const method = options.method ? real.replace("targets 1,2\n}", `targets 1,2\nmethod ${options.method}\n}`) : real;
  const block = [
    "vrrp {",
    `vrid ${options.vrid ?? 51}`,
    `priority ${options.priority}`,
    "network 1",
    "interval 1",
    `preempt ${options.preempt === false ? "disable" : "enable"}`,
    ...(options.syncPeer ? [`sync ${options.syncPeer}`] : []),
    ...(options.key ? [`key "${options.key}"`] : []),
    "}",
  ].join("\n");
  return method.replace("// end of configuration", `${block}\n// end of configuration`);
}

/** Starts bng on `config` in box `ns` with a socket of its own in the scratch directory. */
export function startNode(lab: Lab, scratch: Scratch, name: string, config: string, ns: string): Promise<BngInLab> {
  return BngInLab.start(lab, scratch.writeConfig(`${name}.conf`, config), join(scratch.dir, `${name}.sock`), ns);
}

/** A node's status straight from its control socket (no CLI process: cheap enough to poll). */
export async function statusOf(node: BngInLab): Promise<StatusReport | undefined> {
  const reply = await sendControlRequest(node.socket, { cmd: "status" }).catch(() => undefined);
  return reply?.ok ? (reply.result as StatusReport) : undefined;
}

/** When a node logged `event` (its log line's own time), in epoch milliseconds; undefined before it did. */
export function loggedAt(node: BngInLab, event: string): number | undefined {
  for (const line of node.process.stderr.split("\n")) {
    const fields = /^(\S+) \S+ +(\S+)/.exec(line);
    if (fields?.[2] === event) return Date.parse(fields[1]!);
  }
  return undefined;
}

/** Polls a node's status until `ready(report)`; returns the milliseconds it took. */
export async function waitForStatus(node: BngInLab, ready: (report: StatusReport) => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  for (;;) {
    const report = await statusOf(node);
    if (report && ready(report)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not within ${timeoutMs} ms: ${JSON.stringify(report?.vrrp)}`);
    await Bun.sleep(50);
  }
}

export interface LongLivedConnection {
  client: string;
  targets: string[];
  answers: number;
  /** The longest wait between two answers (at the end, the wait since the last one counts too). */
  maxGapMs: number;
  broken: boolean;
  error?: string;
}

/** Long-lived connections from the client namespace (test/e2e/long-lived-client.mjs), one per client address. */
export class LongLivedClients {
  private constructor(private readonly process: RunningProcess) {}

  /** `lab`: the seed's lab, or another with a client namespace (the scale-out lab). */
  static async open(lab: { readonly ns: { readonly client: string }; spawnIn(ns: string, argv: string[]): RunningProcess }, clients: readonly string[], durationMs: number): Promise<LongLivedClients> {
    // A takeover stalls a connection for a few seconds; TCP retransmits through it. Only a reset, a
    // close or a stall far longer than any takeover counts as broken.
    const job = { host: VIP, port: 80, clients, intervalMs: 100, timeoutMs: 15_000, durationMs };
    const process = lab.spawnIn(lab.ns.client, ["node", LONG_LIVED_CLIENT, JSON.stringify(job)]);
    await process.waitForOutput(/\{"ready":true\}/, 10_000);
    return new LongLivedClients(process);
  }

  /** Ends them and returns each connection's story. */
  async close(): Promise<LongLivedConnection[]> {
    await this.process.stop(5000, "SIGTERM");
    const line = this.process.stdout.split("\n").find((text) => text.startsWith('{"connections"'));
    if (!line) throw new Error(`long-lived client printed no summary: ${this.process.stderr}`);
    return (JSON.parse(line) as { connections: LongLivedConnection[] }).connections;
  }
}

/**
 * Which boxes answer the router's ARP for the VIP now: the router forgets the VIP, pings it,
 * and the switch ports of both boxes are captured meanwhile.
 */
export async function vipArpAnswerers(lab: Lab, boxes: { port: string; name: string }[]): Promise<string[]> {
  const captures = await Promise.all(boxes.map(({ port }) => lab.capture(lab.ns.switch, port, "arp")));
  await lab.exec(lab.ns.router, ["ip", "neigh", "flush", "to", VIP]);
  await lab.exec(lab.ns.router, ["ping", "-c", "1", "-W", "1", "-I", ROUTER_ADDRESS, VIP], { allowFailure: true });
  await Bun.sleep(200);
  const frames = await Promise.all(captures.map((capture) => capture.stop()));
  return boxes.filter((_, i) => frames[i]!.some((frame) => frame.arp?.op === "reply" && frame.arp.senderIp === VIP)).map((box) => box.name);
}
