// Builds the status model (status.ts) and the `show` listings from a running daemon's state.
import { ipToString, type Config, type PacketEngine, type ServerDef } from "../config/model.ts";
import { dottedAddress } from "../config/values.ts";
import { lastSendErrno, workerRegions, type CountersSnapshot } from "../dataplane/counters.ts";
import { formatMac } from "../dataplane/frame.ts";
import type { SharedState } from "./shared-state.ts";
import type { HealthMonitor } from "../health/monitor.ts";
import type { CheckSnapshot, HealthState, TargetHealthSnapshot } from "../health/state.ts";
import { errnoName } from "../errno.ts";
import { VERSION } from "../version.ts";
import { countersSinceCleared } from "./console-requests.ts";
import type { ControlTimer } from "./control-timer.ts";
import type { HaStatus } from "./ha.ts";
import type { RunPlan } from "./plan.ts";
import type { ControlRequest } from "./protocol.ts";
import type { CheckStatus, ServerStatus, StatusReport, TargetState, TargetStatus } from "./status.ts";

/** What the status needs to see of a daemon. */
export interface DaemonView {
  readonly config: Config;
  /** Worker threads running (`set workers` of the file bng started with: a reload cannot change it). */
  readonly startSettings: { readonly workers: number };
  /** The packet I/O engine the workers run (`set io`, or the one `set io auto` started). */
  ioEngine(): PacketEngine;
  readonly configPath: string;
  readonly plan: RunPlan;
  readonly startedAtMs: number;
  readonly shared: Pick<SharedState, "sessions" | "countersBuffer" | "batchStatsBuffer" | "targetMetrics">;
  readonly healthMonitor: HealthMonitor;
  readonly expiredSessions: number;
  readonly timer: Pick<ControlTimer, "lag">;
  /** The daemon's clock of session times: monotonic milliseconds. */
  readonly now: () => number;
  targetMac(id: number): Uint8Array | undefined;
  /** The VRRP pair's status, when the configuration has a `vrrp` block. */
  haStatus(): HaStatus | undefined;
  /** The VIPs announced by `set announce` now. */
  announcedVips(): readonly number[];
}

/** Sessions `show sessions` lists when no --limit is given; the reply always has the total. */
const DEFAULT_SESSION_LIMIT = 1000;

/** An errno of a refused send as its name ("ENOBUFS"), null for 0 (none). */
export function sendError(errno: number): string | null {
  return errno === 0 ? null : errnoName(errno);
}

function serverStatus(view: DaemonView, server: ServerDef, counters: CountersSnapshot): ServerStatus {
  const traffic = counters.servers.get(server.id);
  return {
    id: server.id,
    name: server.name ?? null,
    ipaddr: ipToString(server.ipaddr),
    port: server.port,
    protocol: server.protocol,
    method: server.method,
    enabled: server.enabled,
    sessions: view.shared.sessions.sessionsOfServer(server.id),
    packets: traffic?.packets ?? 0,
    bytes: traffic?.bytes ?? 0,
    targets: server.targets,
    backup: server.backup,
  };
}

function targetStatuses(view: DaemonView, counters: CountersSnapshot): TargetStatus[] {
  const monitor = view.healthMonitor;
  const nowMs = monitor.nowMs();
  const snapshots = new Map(monitor.snapshot().map((snapshot) => [snapshot.id, snapshot]));
  const statuses: TargetStatus[] = [];
  for (const target of view.config.targets) {
    const snapshot = snapshots.get(target.id);
    if (!target.registered || !snapshot) continue;
    const health = targetHealthStatus(snapshot, nowMs);
    const mac = view.targetMac(target.id);
    const traffic = counters.targets.get(target.id);
    const unresolved = mac === undefined && health.health === "up";
    statuses.push({
      id: target.id,
      name: target.name ?? null,
      ipaddr: ipToString(target.ipaddr),
      port: target.port,
      state: unresolved ? "down" : health.state,
      enabled: target.enabled,
      health: unresolved ? "no-mac" : health.health,
      reason: unresolved ? `no ARP reply from ${ipToString(target.ipaddr)} yet` : health.reason,
      mac: mac ? formatMac(mac) : null,
      sessions: view.shared.sessions.sessionsOfTarget(target.id),
      packets: traffic?.packets ?? 0,
      bytes: traffic?.bytes ?? 0,
      load: monitor.agentLoad(target.id) ?? null,
      bytes_per_s: Math.round(view.shared.targetMetrics.bandwidth(target.id)),
      checks: health.checks,
    });
  }
  return statuses;
}

/** `counters` defaults to those since the last `clear counters`; the metrics pass all of them. */
export function buildStatus(view: DaemonView, counters: CountersSnapshot = countersSinceCleared(view.shared.countersBuffer)): StatusReport {
  const servers = view.config.servers.filter((server) => server.registered).map((server) => serverStatus(view, server, counters));
  const current = servers.reduce((sum, server) => sum + server.sessions, 0);
  return {
    version: VERSION,
    pid: process.pid,
    uptime_s: Math.floor((view.now() - view.startedAtMs) / 1000),
    config: view.configPath,
    interface: view.plan.ifname,
    workers: view.startSettings.workers,
    servers,
    targets: targetStatuses(view, counters),
    totals: {
      packets: counters.events.forwarded,
      bytes: counters.events.forwarded_bytes,
      sessions: current,
      arp_replies: counters.events.arp_replies,
      icmp_replies: counters.events.icmp_replies,
      icmp_errors_forwarded: counters.events.icmp_errors_forwarded,
      resets_sent: counters.events.resets_sent,
      passed: Object.values(counters.passes).reduce((sum, count) => sum + count, 0),
    },
    sessions: {
      current,
      capacity: view.shared.sessions.slotCount,
      created: view.shared.sessions.created,
      expired: view.expiredSessions,
      evicted: view.shared.sessions.evictions,
      refused: counters.events.sessions_refused,
      stateless: counters.events.flood_stateless,
      closed: counters.events.sessions_closed,
    },
    drops: { ...counters.drops },
    io: {
      backend: view.ioEngine(),
      frames: counters.events.frames,
      kernel_drops: counters.events.kernel_drops,
      send_refused: counters.events.send_refused,
      receive_errors: counters.events.receive_errors,
      last_send_error: sendError(lastSendErrno(workerRegions(view.shared.countersBuffer))),
    },
    timer_lag_ms: view.timer.lag(),
    ...vrrpAndAnnounce(view),
  };
}

/** The status fields only some configurations have: `vrrp` and `announce`. */
function vrrpAndAnnounce(view: DaemonView): Pick<StatusReport, "vrrp" | "announce"> {
  const ha = view.haStatus();
  const table = view.config.settings.announceTable;
  return {
    ...(ha ? { vrrp: ha } : {}),
    ...(table !== undefined ? { announce: { table, announced: view.announcedVips().map(ipToString).sort() } } : {}),
  };
}

export function listNetworks(view: DaemonView) {
  return view.config.networks.map((network) => ({
    id: network.id,
    name: network.name ?? null,
    addr: ipToString(network.addr),
    mask: ipToString(network.mask),
    real: network.real === undefined ? null : ipToString(network.real),
    interface: network.interfaceRef ?? view.plan.ifname,
  }));
}

export function listSessions(view: DaemonView, request: Extract<ControlRequest, { cmd: "show" }>) {
  const nowS = view.shared.sessions.secondsAt(view.now());
  const client = request.client === undefined ? undefined : dottedAddress(request.client);
  const { server, target } = request;
  const { total, sessions } = view.shared.sessions.select(
    nowS,
    (serverId, targetId, clientIp) => (server === undefined || serverId === server) && (target === undefined || targetId === target) && (client === undefined || clientIp === client),
    request.limit ?? DEFAULT_SESSION_LIMIT,
  );
  return {
    total,
    sessions: sessions.map((session) => ({
      server: session.serverId,
      client: ipToString(session.clientIp),
      client_port: session.clientPort === 0 ? null : session.clientPort,
      target: session.targetId,
      age_s: nowS - session.createdS,
      idle_s: nowS - session.lastSeenS,
    })),
  };
}

/** `bng status` view of a health state: pending counts as down for the public `state` field. */
export function publicState(state: HealthState): TargetState {
  return state === "pending" ? "down" : state;
}

export function checkStatusOf(check: CheckSnapshot, nowMs: number): CheckStatus {
  const status: CheckStatus = {
    type: check.kind,
    interval_s: check.intervalS,
    timeout_s: check.timeoutS,
    last_result: check.lastResult,
    latency_ms: check.latencyMs === undefined ? null : Math.round(check.latencyMs * 1000) / 1000,
    last_success_s_ago: check.lastSuccessMs === undefined ? null : Math.round((nowMs - check.lastSuccessMs) / 100) / 10,
  };
  if (check.port !== undefined) status.port = check.port;
  if (check.failureCause !== undefined) status.cause = check.failureCause;
  return status;
}

/** The health part of a `bng status` target entry (the rest, MAC and counters, is the data plane's). */
export function targetHealthStatus(
  snapshot: TargetHealthSnapshot,
  nowMs: number,
): Pick<TargetStatus, "state" | "reason" | "checks"> & { health: Exclude<TargetStatus["health"], "no-mac"> } {
  return {
    state: publicState(snapshot.state),
    health: snapshot.state,
    reason: snapshot.reason,
    checks: snapshot.checks.map((check) => checkStatusOf(check, nowMs)),
  };
}
