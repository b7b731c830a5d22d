// The `explain` request (`bng explain CLIENT_IP[:PORT] [--server N]`): for each server (or the
// one named), which target the client's next packet goes to now and why: its session and the
// session's age, or the server's method and what its pick came from (hash, Maglev slot, least
// sessions, or, for rr, wrr, random and wrandom, what the next pick depends on), with the health
// of the candidates. The decision is the data plane's own (selection-preview.ts) on the table the
// workers use now.
import { ipToString, type Config, type ServerDef } from "../config/model.ts";
import { parseDottedAddress } from "../config/values.ts";
import { fnv1aIpv4 } from "../dataplane/select/hash.ts";
import { maglevSlot } from "../dataplane/select/maglev.ts";
import { previewClient, type ClientPreview } from "../dataplane/selection-preview.ts";
import type { SessionTable } from "../dataplane/sessions.ts";
import { NO_LOAD, type TargetMetrics } from "../dataplane/target-metrics.ts";
import type { ForwardingTable } from "../dataplane/table.ts";
import {
  ACTIVE_STRIDE,
  ACTIVE_TARGET,
  S_ACTIVE_AT,
  S_ACTIVE_COUNT,
  S_ENABLED,
  S_ID,
  S_KEY_PORT,
  S_MAGLEV_SIZE,
  S_TIMEOUT_S,
  S_USING_BACKUP,
  T_ID,
  T_MAC_KNOWN,
  T_STATE,
  TARGET_STATES,
  VIP_ANSWERS,
} from "../dataplane/table-layout.ts";
import type { ControlReply, ControlRequest } from "./protocol.ts";

/** What `explain` sees of the daemon. */
export interface ExplainView {
  readonly config: Config;
  readonly shared: { readonly sessions: SessionTable; readonly targetMetrics: TargetMetrics };
  readonly now: () => number;
  /** The table the workers forward by now; undefined before the first is published. */
  publishedTable(): ForwardingTable | undefined;
}

/** How the target was found: a session, the method, or why there is none. */
export type ExplainedBy = "session" | "method" | "round-robin" | "random" | "no-target" | "not-serving" | "needs-port";

export interface CandidateRow {
  id: number;
  ipaddr: string;
  /** As `bng status` says, or "unregistered". */
  state: string;
  mac_known: boolean;
  weight: number;
  backup: boolean;
  /** Among the targets new sessions are chosen from now (up, MAC known, enabled; backups only when no primary is). */
  in_pool: boolean;
  sessions: number;
}

export interface ServerExplanation {
  server: number;
  vip: string;
  port: number;
  protocol: string;
  method: string;
  /** The target the client's next packet goes to, when it is known. */
  target: number | null;
  by: ExplainedBy;
  /** Why, in one or two sentences. */
  why: string;
  session: { target: number; age_s: number; idle_s: number; timeout_s: number; kept: boolean } | null;
  candidates: CandidateRow[];
}

export interface Explanation {
  client: string;
  port: number | null;
  servers: ServerExplanation[];
}

type ExplainRequest = Extract<ControlRequest, { cmd: "explain" }>;

export function explainClient(view: ExplainView, request: ExplainRequest): ControlReply {
  const table = view.publishedTable();
  if (table === undefined) return { ok: false, error: "bng has not started forwarding yet" };
  const parsed = parseDottedAddress(request.client);
  if (!parsed.ok) return { ok: false, error: `client: ${parsed.reason}` };
  const servers = view.config.servers.filter((server) => server.registered && (request.server === undefined || server.id === request.server));
  if (servers.length === 0) {
    return { ok: false, error: request.server === undefined ? "no server is registered" : `no registered server ${request.server}` };
  }
  const nowS = view.shared.sessions.secondsAt(view.now());
  const context: Context = { view, table, clientIp: parsed.value, port: request.port, nowS };
  const result: Explanation = { client: request.client, port: request.port ?? null, servers: servers.map((server) => explainServer(context, server)) };
  return { ok: true, result };
}

interface Context {
  view: ExplainView;
  table: ForwardingTable;
  clientIp: number;
  port: number | undefined;
  nowS: number;
}

function serverIndexOf(table: ForwardingTable, id: number): number {
  for (let index = 0; index < table.serverCount; index++) if (table.field(table.serverAt(index), S_ID) === id) return index;
  return -1;
}

function explainServer(context: Context, server: ServerDef): ServerExplanation {
  const { table, view } = context;
  const index = serverIndexOf(table, server.id);
  const serverAt = table.serverAt(index);
  const candidates = candidateRows(context, server, index);
  const base = { server: server.id, vip: ipToString(server.ipaddr), port: server.port, protocol: server.protocol, method: server.method, candidates };
  const vipAt = table.findVip(server.ipaddr);
  const answered = vipAt >= 0 && table.vipField(vipAt, VIP_ANSWERS) === 1;
  if (index < 0 || table.field(serverAt, S_ENABLED) !== 1 || !answered) {
    const why = !answered && server.enabled ? "this node does not answer for the VIP now (a VRRP backup): its packets do not reach it" : `server ${server.id} is disabled: its packets are dropped`;
    return { ...base, target: null, by: "not-serving", why, session: null };
  }
  const keyedOnPort = table.field(serverAt, S_KEY_PORT) === 1;
  if (keyedOnPort && context.port === undefined) {
    return { ...base, target: null, by: "needs-port", why: `server ${server.id} keeps a session per client address and port (persistence clientport): give CLIENT_IP:PORT`, session: null };
  }
  const keyPort = keyedOnPort ? context.port! : 0;
  const preview = previewClient(table, view.shared.sessions, view.shared.targetMetrics, index, context.clientIp, keyPort, context.nowS);
  const session = sessionOf(context, server.id, keyPort, preview);
  if (session?.kept) {
    // A session's own timeout is shorter than its server's once the client sent FIN or RST (set fintimeout).
    const closing = session.timeout_s < table.field(serverAt, S_TIMEOUT_S) ? " (the client closed its connection)" : "";
    const why = `its session binds it to target ${session.target}: made ${session.age_s} s ago, its last packet ${session.idle_s} s ago, it ends after ${session.timeout_s} s without one${closing}`;
    return { ...base, target: session.target, by: "session", why, session };
  }
  const lost = session ? `its session's target ${session.target} is ${candidates.find((row) => row.id === session.target)?.state ?? "gone"}, so its next packet is balanced anew: ` : "no session yet: ";
  const pick = methodPick(context, server, serverAt, preview);
  const flood = preview.statelessTarget < 0 ? "" : ` New sessions were refused within the last ${table.field(serverAt, S_TIMEOUT_S)} s (flood defence, set newsessions): while that lasts, a packet that opens no TCP connection goes to target ${targetId(table, preview.statelessTarget)} (the consistent-hash pick) without a session.`;
  return { ...base, target: pick.target, by: pick.by, why: `${lost}${pick.why}.${flood}`, session };
}

function targetId(table: ForwardingTable, index: number): number {
  return table.field(table.targetAt(index), T_ID);
}

function sessionOf(context: Context, serverId: number, keyPort: number, preview: ClientPreview): ServerExplanation["session"] {
  if (preview.sessionTargetId < 0) return null;
  const { sessions } = context.view.shared;
  const [info] = sessions.select(context.nowS, (server, _target, clientIp) => server === serverId && clientIp === context.clientIp, Infinity).sessions.filter((found) => found.clientPort === keyPort);
  return {
    target: preview.sessionTargetId,
    age_s: info ? context.nowS - info.createdS : 0,
    idle_s: info ? context.nowS - info.lastSeenS : 0,
    timeout_s: info?.timeoutS ?? 0,
    kept: preview.sessionKept,
  };
}

function poolIds(table: ForwardingTable, serverAt: number): number[] {
  const activeAt = table.field(serverAt, S_ACTIVE_AT);
  return Array.from({ length: table.field(serverAt, S_ACTIVE_COUNT) }, (_, position) => targetId(table, table.words[activeAt + position * ACTIVE_STRIDE + ACTIVE_TARGET] ?? 0));
}

function methodPick(context: Context, server: ServerDef, serverAt: number, preview: ClientPreview): { target: number | null; by: ExplainedBy; why: string } {
  const { table } = context;
  const pool = poolIds(table, serverAt);
  const poolText = `${pool.length === 1 ? "target" : "targets"} ${pool.join(", ")}${table.field(serverAt, S_USING_BACKUP) === 1 ? " (backups: no primary target is usable)" : ""}`;
  if (preview.methodTarget < 0) return { target: null, by: "no-target", why: `no target of server ${server.id} is usable (up, MAC known, enabled): its packets are dropped` };
  const workers = context.view.config.settings.workers;
  const eachWorker = workers > 1 ? `; each of the ${workers} workers turns on its own` : "";
  const measure = server.method === "agent" ? "agent load" : "bandwidth";
  if (preview.dependsOn === "turn" && (server.method === "agent" || server.method === "bandwidth")) {
    return { target: null, by: "round-robin", why: `method ${server.method}: several of ${poolText} share the least ${measure}, and a new session goes to the next of them in turn${eachWorker}` };
  }
  if (preview.dependsOn === "turn") {
    const weighted = server.method === "wrr" ? ", in proportion to their weights" : "";
    return { target: null, by: "round-robin", why: `method ${server.method}: a new session goes to the next of ${poolText} in turn${weighted}, after the last one the receiving worker chose${eachWorker}` };
  }
  if (preview.dependsOn === "random") {
    const weighted = server.method === "wrandom" ? ", weighted" : "";
    return { target: null, by: "random", why: `method ${server.method}: a new session goes to one of ${poolText}, drawn at random${weighted}` };
  }
  const target = targetId(table, preview.methodTarget);
  const chosen = `target ${target}`;
  const hash = fnv1aIpv4(context.clientIp);
  const why: Record<string, string> = {
    hash: `method hash: FNV-1a of ${ipToString(context.clientIp)} is ${hash}, and ${hash} mod ${pool.length} = ${hash % pool.length} is the position of ${chosen} among ${poolText}`,
    maglev: `method maglev: the client falls on slot ${maglevSlot(context.clientIp, table.field(serverAt, S_KEY_PORT) === 1 ? context.port! : 0, table.field(serverAt, S_MAGLEV_SIZE))} of the ${table.field(serverAt, S_MAGLEV_SIZE)}-slot table over ${poolText}, which holds ${chosen}`,
    session: `method session: of ${poolText}, ${chosen} has the fewest sessions (${context.view.shared.sessions.sessionsOfTarget(target)})`,
    first: `method first: the first usable of ${poolText} is ${chosen}`,
    agent: `method agent: of ${poolText}, ${chosen} reports the least load (${context.view.shared.targetMetrics.load(target) === NO_LOAD ? "none reported yet" : context.view.shared.targetMetrics.load(target)})`,
    bandwidth: `method bandwidth: of ${poolText}, ${chosen} carries the least bandwidth (${context.view.shared.targetMetrics.bandwidth(target)} bytes/s)`,
  };
  return { target, by: "method", why: why[server.method] ?? `method ${server.method}: ${chosen}` };
}

function candidateRows(context: Context, server: ServerDef, index: number): CandidateRow[] {
  const { table, view } = context;
  const pool = index < 0 ? [] : poolIds(table, table.serverAt(index));
  const listed = [...server.targets.map((id) => ({ id, backup: false })), ...server.backup.map((id) => ({ id, backup: true }))];
  return listed.map(({ id, backup }) => {
    const def = view.config.targets.find((target) => target.id === id);
    const at = table.targetIndexOfId(id);
    const targetAt = table.targetAt(at);
    return {
      id,
      ipaddr: def ? ipToString(def.ipaddr) : "-",
      state: at < 0 ? "unregistered" : (TARGET_STATES[table.field(targetAt, T_STATE)] ?? "unknown"),
      mac_known: at >= 0 && table.field(targetAt, T_MAC_KNOWN) === 1,
      weight: def?.weight ?? 1,
      backup,
      in_pool: pool.includes(id),
      sessions: view.shared.sessions.sessionsOfTarget(id),
    };
  });
}
