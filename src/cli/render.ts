// Human renderings of control replies: aligned tables with readable units, like `ipvsadm -Ln`.
import type { ParameterRow } from "../control/console-requests.ts";
import type { ServerStatus, StatusReport, TargetStatus } from "../control/status.ts";
import type { HaStatus } from "../control/ha.ts";
import type { Explanation, ServerExplanation } from "../control/explain.ts";

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

export function humanCount(value: number): string {
  if (value < 10_000) return String(value);
  const units = ["K", "M", "G", "T"];
  let scaled = value;
  let unit = -1;
  while (scaled >= 1000 && unit < units.length - 1) {
    scaled /= 1000;
    unit++;
  }
  return `${scaled.toFixed(scaled < 10 ? 2 : scaled < 100 ? 1 : 0)}${units[unit]}`;
}

export function humanBytes(value: number): string {
  if (value < 1024) return `${value} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let scaled = value / 1024;
  let unit = 0;
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit++;
  }
  return `${scaled.toFixed(scaled < 10 ? 1 : 0)} ${units[unit]}`;
}

export function humanDuration(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, "0")}h`;
}

function endpoint(ipaddr: string, port: number): string {
  return `${ipaddr}:${port === 0 ? "*" : port}`;
}

export function renderServers(servers: ServerStatus[]): string {
  return table(
    ["SERVER", "NAME", "VIRTUAL", "PROTO", "METHOD", "STATE", "TARGETS", "BACKUP", "SESSIONS", "PACKETS", "BYTES"],
    servers.map((server) => [
      String(server.id),
      server.name ?? "-",
      endpoint(server.ipaddr, server.port),
      server.protocol,
      server.method,
      server.enabled ? "enabled" : "disabled",
      server.targets.join(",") || "-",
      server.backup.join(",") || "-",
      humanCount(server.sessions),
      humanCount(server.packets),
      humanBytes(server.bytes),
    ]),
  );
}

function checkSummary(target: TargetStatus): string {
  if (target.checks.length === 0) return "none";
  return target.checks
    .map((check) => {
      const name = check.port === undefined ? check.type : `${check.type} ${check.port}`;
      const latency = check.latency_ms === null ? "" : ` ${check.latency_ms.toFixed(1)}ms`;
      const result = check.last_result === "fail" ? `fail (${check.cause ?? "?"})` : check.last_result;
      const load = check.type === "agent" && check.last_result === "ok" && target.load !== null ? ` load ${target.load}` : "";
      return `${name} ${result}${check.last_result === "ok" ? latency : ""}${load}`;
    })
    .join("; ");
}

/** `up`, `down (pending)`, and `down, disabled` for a disabled target whose checks fail. */
function targetState(target: TargetStatus): string {
  const state = target.state === target.health ? target.state : `${target.state} (${target.health})`;
  return !target.enabled && target.state !== "disabled" ? `${state}, disabled` : state;
}

export function renderTargets(targets: TargetStatus[]): string {
  return table(
    ["TARGET", "NAME", "ADDRESS", "STATE", "MAC", "SESSIONS", "PACKETS", "BYTES", "CHECKS"],
    targets.map((target) => [
      String(target.id),
      target.name ?? "-",
      endpoint(target.ipaddr, target.port),
      targetState(target),
      target.mac ?? "unresolved",
      humanCount(target.sessions),
      humanCount(target.packets),
      humanBytes(target.bytes),
      checkSummary(target),
    ]),
  );
}

/** `set announce`: whether each VIP's route is in bng's routing table (and so announced to the router). */
function announceLines(report: StatusReport): string[] {
  if (!report.announce) return [];
  const { table, announced } = report.announce;
  const vips = [...new Set(report.servers.map((server) => server.ipaddr))];
  return [`routes (set announce, table ${table}): ${vips.map((vip) => `${vip} ${announced.includes(vip) ? "announced" : "not announced"}`).join(", ")}`];
}

export function renderStatus(report: StatusReport): string {
  const dropTotal = Object.values(report.drops).reduce((sum, count) => sum + count, 0);
  const drops = Object.entries(report.drops)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${reason}=${count}`)
    .join(" ");
  return [
    `bng ${report.version}, pid ${report.pid}, up ${humanDuration(report.uptime_s)}, config ${report.config}, interface ${report.interface}, ${report.workers} worker${report.workers === 1 ? "" : "s"}`,
    "",
    renderServers(report.servers),
    "",
    renderTargets(report.targets),
    "",
    ...announceLines(report),
    `sessions: ${report.sessions.current} of ${report.sessions.capacity} (created ${report.sessions.created}, expired ${report.sessions.expired}, evicted ${report.sessions.evicted})`,
    `forwarded: ${humanCount(report.totals.packets)} packets, ${humanBytes(report.totals.bytes)}; arp replies ${report.totals.arp_replies}, icmp replies ${report.totals.icmp_replies}, resets sent ${report.totals.resets_sent}, left to kernel ${humanCount(report.totals.passed)}`,
    `drops: ${dropTotal}${drops ? ` (${drops})` : ""}`,
    `packet i/o (${report.io.backend}): ${humanCount(report.io.frames)} frames received; lost in the kernel (queue or ring full) ${humanCount(report.io.kernel_drops)}, refused on send ${humanCount(report.io.send_refused)}${report.io.last_send_error ? ` (last ${report.io.last_send_error})` : ""}, receive errors ${report.io.receive_errors}`,
    `control thread timer lag: worst ${report.timer_lag_ms.recent_worst_ms} ms in the last 5 s, ${report.timer_lag_ms.worst_ms} ms since start`,
  ].join("\n");
}

/** `show hc`: one line per health check of each target, with its last result and timing. */
export function renderHealthChecks(targets: TargetStatus[]): string {
  const rows = targets.flatMap((target) => {
    const checks = target.checks.length === 0 ? [undefined] : target.checks;
    return checks.map((check) => [
      String(target.id),
      endpoint(target.ipaddr, target.port),
      targetState(target),
      check === undefined ? "none" : check.port === undefined ? check.type : `${check.type} ${check.port}`,
      check === undefined ? "-" : `${check.interval_s}s/${check.timeout_s}s`,
      check === undefined ? "-" : check.last_result === "fail" ? `fail (${check.cause ?? "?"})` : check.last_result,
      check?.latency_ms == null ? "-" : `${check.latency_ms.toFixed(1)}ms`,
      check?.last_success_s_ago == null ? "never" : `${check.last_success_s_ago}s ago`,
      target.reason,
    ]);
  });
  return table(["TARGET", "ADDRESS", "STATE", "CHECK", "EVERY/DOWN", "LAST", "LATENCY", "LAST OK", "REASON"], rows);
}

/** `show arp`: the MAC bng learnt by ARP for each target's address. */
export function renderArp(targets: TargetStatus[], ifname: string): string {
  return table(
    ["ADDRESS", "MAC", "INTERFACE", "TARGET"],
    targets.map((target) => [target.ipaddr, target.mac ?? "unresolved", ifname, String(target.id)]),
  );
}

/** `show parameters`: every `set` name, its value in force, and whether the file sets it. */
export function renderParameters(rows: ParameterRow[]): string {
  return table(["PARAMETER", "VALUE", "FROM"], rows.map((row) => [row.name, row.value ?? "-", row.explicit ? "file" : "default"]));
}

/** `show vrrp`: this node's VRRP state, or that it runs none. */
export function renderVrrp(vrrp: HaStatus | null): string {
  if (vrrp === null) return "vrrp: not configured (no vrrp block in the running configuration)";
  const received = Object.entries(vrrp.adverts_received).map(([result, count]) => `${result}=${count}`).join(" ") || "none";
  const last = vrrp.last_transition === null ? "none" : `${vrrp.last_transition} ${vrrp.last_transition_s_ago ?? "?"}s ago`;
  return [
    `vrrp ${vrrp.vrid}: ${vrrp.state}, priority ${vrrp.priority} (advertised ${vrrp.effective_priority}), master ${vrrp.master ?? "unknown"}`,
    `transitions: ${vrrp.transitions}, last: ${last}`,
    `adverts: sent ${vrrp.adverts_sent}, received ${received}`,
    vrrp.sync === null
      ? "session sync: off (no sync peer)"
      : `session sync with ${vrrp.sync.peer}: sent ${vrrp.sync.sent}, received ${vrrp.sync.received}, rejected ${vrrp.sync.rejected}, last ${vrrp.sync.last_s === null ? "never" : `${vrrp.sync.last_s}s ago`}`,
  ].join("\n");
}

/** Where the client goes, in a few words: the target, or why there is none. */
function destination(server: ServerExplanation): string {
  if (server.target !== null) return `target ${server.target}${server.by === "session" ? " (its session)" : ""}`;
  if (server.by === "round-robin" || server.by === "random") return `one of the pool, by ${server.by === "random" ? "a random draw" : "the next round-robin turn"}`;
  if (server.by === "needs-port") return "? (give CLIENT_IP:PORT)";
  return server.by === "no-target" ? "nowhere: dropped, no usable target" : "nowhere: not served by this node";
}

/** `bng explain`: per server, where the client goes and why, and the candidates' health. */
export function renderExplanation(explanation: Explanation): string {
  const client = explanation.port === null ? explanation.client : `${explanation.client}:${explanation.port}`;
  return explanation.servers
    .map((server) => {
      const rows = server.candidates.map((row) => [
        `${row.id}${row.backup ? " (backup)" : ""}`,
        row.ipaddr,
        row.state,
        row.mac_known ? "yes" : "no",
        String(row.weight),
        row.in_pool ? "yes" : "no",
        String(row.sessions),
      ]);
      const candidates = table(["TARGET", "ADDRESS", "STATE", "MAC", "WEIGHT", "POOL", "SESSIONS"], rows).replace(/^/gm, "  ");
      return [`server ${server.server}  ${server.vip}:${server.port} ${server.protocol}  method ${server.method}`, `  ${client} -> ${destination(server)}`, `  why: ${server.why}`, candidates].join("\n");
    })
    .join("\n\n");
}
