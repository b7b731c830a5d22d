// The Prometheus text exposition format (version 0.0.4): every family has one HELP and one
// TYPE line, each series one sample, label values escaped.
import { readBatchStats, BATCH_BUCKETS } from "../dataplane/batch-stats.ts";
import { readCounters } from "../dataplane/counters.ts";
import { VERSION } from "../version.ts";
import { LATENCY_BUCKETS_S, type Histogram, type LatencyHistograms } from "./latency.ts";
import type { HaStatus } from "./ha.ts";
import { buildStatus, type DaemonView } from "./status-report.ts";

export interface MetricsView extends DaemonView {
  readonly latency: LatencyHistograms;
}

type Labels = Record<string, string | number>;

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([name, value]) => `${name}="${escapeLabelValue(String(value))}"`).join(",")}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: "counter" | "gauge" | "histogram", help: string, samples: [Labels, number][]): void {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) this.lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
  }

  histogram(name: string, help: string, series: [Labels, number[], number[], number, number][]): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    for (const [labels, bounds, counts, count, sum] of series) {
      let cumulative = 0;
      bounds.forEach((bound, i) => {
        cumulative += counts[i] ?? 0;
        this.lines.push(`${name}_bucket${formatLabels({ ...labels, le: String(bound) })} ${cumulative}`);
      });
      this.lines.push(`${name}_bucket${formatLabels({ ...labels, le: "+Inf" })} ${count}`);
      this.lines.push(`${name}_sum${formatLabels(labels)} ${formatValue(sum)}`);
      this.lines.push(`${name}_count${formatLabels(labels)} ${count}`);
    }
  }

  text(): string {
    return this.lines.join("\n") + "\n";
  }
}

export function renderMetrics(view: MetricsView): string {
  // Counters since start, whatever `clear counters` did: a Prometheus counter never goes back.
  const counters = readCounters(view.shared.countersBuffer);
  const status = buildStatus(view, counters);
  const out = new Exposition();
  const server = (s: (typeof status.servers)[number]) => ({ server: s.id, vip: `${s.ipaddr}:${s.port}/${s.protocol}` });
  const target = (t: (typeof status.targets)[number]) => ({ target: t.id, address: `${t.ipaddr}:${t.port}` });
  out.family("bng_info", "gauge", "bng version (always 1)", [[{ version: VERSION }, 1]]);
  out.family("bng_uptime_seconds", "gauge", "Seconds since bng started", [[{}, status.uptime_s]]);
  out.family("bng_server_packets_total", "counter", "Client frames forwarded for a virtual server", status.servers.map((s) => [server(s), s.packets]));
  out.family("bng_server_bytes_total", "counter", "Client bytes forwarded for a virtual server", status.servers.map((s) => [server(s), s.bytes]));
  out.family("bng_server_sessions", "gauge", "Sessions of a virtual server in the table", status.servers.map((s) => [server(s), s.sessions]));
  out.family("bng_target_packets_total", "counter", "Client frames forwarded to a target", status.targets.map((t) => [target(t), t.packets]));
  out.family("bng_target_bytes_total", "counter", "Client bytes forwarded to a target", status.targets.map((t) => [target(t), t.bytes]));
  out.family("bng_target_sessions", "gauge", "Sessions bound to a target", status.targets.map((t) => [target(t), t.sessions]));
  out.family("bng_target_load", "gauge", "The load the target's agent check last reported (method agent)", status.targets.flatMap((t): [Labels, number][] => (t.load === null ? [] : [[target(t), t.load]])));
  out.family("bng_target_bandwidth_bytes_per_second", "gauge", "Bytes a second forwarded to the target over the last 5 s (method bandwidth)", status.targets.map((t) => [target(t), t.bytes_per_s]));
  out.family("bng_target_up", "gauge", "1 when the target takes traffic, else 0", status.targets.map((t) => [target(t), t.state === "up" ? 1 : 0]));
  out.family("bng_target_enabled", "gauge", "1 when the target is enabled (by the operator or the file), else 0", status.targets.map((t) => [target(t), t.enabled ? 1 : 0]));
  out.family(
    "bng_target_state",
    "gauge",
    "1 for the target's current state (up, down or disabled), 0 for the others",
    status.targets.flatMap((t) => (["up", "down", "disabled"] as const).map((state): [Labels, number] => [{ ...target(t), state }, t.state === state ? 1 : 0])),
  );
  out.family("bng_sessions", "gauge", "Sessions in the table", [[{}, status.sessions.current]]);
  out.family("bng_sessions_capacity", "gauge", "Capacity of the session table", [[{}, status.sessions.capacity]]);
  out.family("bng_sessions_created_total", "counter", "Sessions created", [[{}, status.sessions.created]]);
  out.family("bng_sessions_expired_total", "counter", "Sessions removed after their idle timeout", [[{}, status.sessions.expired]]);
  out.family("bng_sessions_refused_total", "counter", "New clients not given a session (beyond set newsessions a second)", [[{}, counters.events.sessions_refused]]);
  out.family("bng_flood_stateless_total", "counter", "Frames of clients without a session forwarded by consistent hashing", [[{}, counters.events.flood_stateless]]);
  out.family("bng_sessions_closed_total", "counter", "Sessions shortened to set fintimeout by the client's FIN or RST", [[{}, counters.events.sessions_closed]]);
  out.family("bng_icmp_errors_forwarded_total", "counter", "ICMP errors about a client's session forwarded to its target", [[{}, counters.events.icmp_errors_forwarded]]);
  out.family("bng_sessions_evicted_total", "counter", "Live sessions replaced because both of a new client's buckets were full", [[{}, status.sessions.evicted]]);
  out.family("bng_drops_total", "counter", "Frames dropped, by reason", Object.entries(counters.drops).map(([reason, count]) => [{ reason }, count]));
  out.family("bng_passed_total", "counter", "Frames left to the kernel, by reason", Object.entries(counters.passes).map(([reason, count]) => [{ reason }, count]));
  out.family("bng_frames_total", "counter", "Frames the workers received", [[{}, counters.events.frames]]);
  out.family("bng_arp_replies_total", "counter", "ARP replies sent for VIPs", [[{}, counters.events.arp_replies]]);
  out.family("bng_icmp_replies_total", "counter", "ICMP echo replies sent for VIPs", [[{}, counters.events.icmp_replies]]);
  out.family("bng_resets_sent_total", "counter", "TCP RSTs sent from a VIP to clients of a down target (downpolicy reset)", [[{}, counters.events.resets_sent]]);
  out.family("bng_kernel_drops_total", "counter", "Frames the kernel dropped before a worker read them (its socket's queue or receive ring was full)", [[{}, status.io.kernel_drops]]);
  out.family("bng_send_refused_total", "counter", "Frames the kernel refused to send (queue full, link down, frame too long)", [[{}, status.io.send_refused]]);
  out.family("bng_receive_errors_total", "counter", "Receives that failed (interrupted, or the link went down)", [[{}, status.io.receive_errors]]);
  out.family("bng_checksums_completed_total", "counter", "Partial TCP/UDP checksums completed before forwarding", [[{}, counters.events.checksums_completed]]);
  out.family("bng_control_timer_lag_worst_seconds", "gauge", "Worst lateness of the control thread's 100 ms timer in the last 5 s", [[{}, status.timer_lag_ms.recent_worst_ms / 1000]]);
  const checks = [...view.latency.byCheck.entries()].sort(([a], [b]) => a.localeCompare(b));
  out.histogram(
    "bng_health_check_latency_seconds",
    "Latency of successful health-check attempts",
    checks.map(([check, histogram]: [string, Histogram]) => {
      const [kind, destination] = check.split(" ");
      return [{ check: kind ?? check, destination: destination ?? "" }, [...LATENCY_BUCKETS_S], histogram.buckets, histogram.count, histogram.sumS];
    }),
  );
  const batches = readBatchStats(view.shared.batchStatsBuffer);
  out.histogram("bng_worker_batch_frames", "Frames per received batch (all workers)", [[{}, [...BATCH_BUCKETS], batches.buckets, batches.count, batches.sum]]);
  if (status.vrrp) pairFamilies(out, status.vrrp);
  if (status.announce) {
    const announced = new Set(status.announce.announced);
    const vips = [...new Set(status.servers.map((s) => s.ipaddr))].sort();
    out.family("bng_vip_announced", "gauge", "1 while the VIP's /32 route is in bng's announce table (set announce), else 0", vips.map((vip) => [{ vip, table: status.announce!.table }, announced.has(vip) ? 1 : 0]));
  }
  return out.text();
}

/** The VRRP pair and its session sync (`vrrp`). */
function pairFamilies(out: Exposition, vrrp: HaStatus): void {
  const vrid = { vrid: vrrp.vrid };
  out.family("bng_vrrp_state", "gauge", "1 for this node's VRRP state (init, backup or master), 0 for the others", (["init", "backup", "master"] as const).map((state) => [{ ...vrid, state }, vrrp.state === state ? 1 : 0]));
  out.family("bng_vrrp_priority", "gauge", "The priority this node advertises (1 while unhealthy)", [[vrid, vrrp.effective_priority]]);
  out.family("bng_vrrp_transitions_total", "counter", "VRRP state changes", [[vrid, vrrp.transitions]]);
  out.family("bng_vrrp_adverts_sent_total", "counter", "VRRP adverts sent", [[vrid, vrrp.adverts_sent]]);
  out.family("bng_vrrp_adverts_received_total", "counter", "VRRP frames received, by check result", Object.entries(vrrp.adverts_received).map(([result, count]) => [{ ...vrid, result }, count]));
  const sync = vrrp.sync;
  if (!sync) return;
  const peer = { peer: sync.peer };
  out.family("bng_sync_datagrams_sent_total", "counter", "Session sync datagrams sent to the peer", [[peer, sync.sent]]);
  out.family("bng_sync_datagrams_received_total", "counter", "Session sync datagrams accepted from the peer", [[peer, sync.received]]);
  out.family("bng_sync_datagrams_rejected_total", "counter", "Session sync datagrams rejected, by reason", Object.entries(sync.rejected_by).map(([reason, count]) => [{ ...peer, reason }, count]));
  out.family("bng_sync_sessions_sent_total", "counter", "Session records sent to the peer", [[peer, sync.sessions_sent]]);
  out.family("bng_sync_sessions_installed_total", "counter", "Session records received and installed", [[peer, sync.sessions_installed]]);
  out.family("bng_sync_last_received_seconds", "gauge", "Seconds since the last accepted sync datagram (-1 before the first)", [[peer, sync.last_s ?? -1]]);
}
