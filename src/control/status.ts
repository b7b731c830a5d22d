// The status model: what `bng status --json` prints. The field names of the spec are a public
// interface that scripts depend on; add fields, never rename or remove them.
import type { PacketEngine } from "../config/model.ts";
import type { LagReport } from "./control-timer.ts";
import type { HaStatus } from "./ha.ts";

export type TargetState = "up" | "down" | "disabled";

export interface CheckStatus {
  type: "tcpopen" | "ping" | "arp" | "agent" | "script" | "http" | "dsrcheck";
  /** The port of tcpopen, agent, http and dsrcheck; absent for the others. */
  port?: number;
  interval_s: number;
  timeout_s: number;
  /** "pending" until the first attempt completes. */
  last_result: "pending" | "ok" | "fail";
  /** Why the last attempt failed ("refused", "timeout", ...); absent after a success. */
  cause?: string;
  latency_ms: number | null;
  /** Seconds since the last success; null when there never was one. */
  last_success_s_ago: number | null;
}

export interface TargetStatus {
  id: number;
  name: string | null;
  ipaddr: string;
  port: number;
  state: TargetState;
  /** The operator's or the file's enable flag; a disabled target whose checks fail shows state "down". */
  enabled: boolean;
  /** Finer than state: "pending" (no check result yet) and "no-mac" (ARP unresolved) are down. */
  health: "up" | "down" | "pending" | "no-mac" | "disabled";
  /** Why the target is in its state, e.g. "tcpopen 80 refused for 10 s". */
  reason: string;
  mac: string | null;
  sessions: number;
  packets: number;
  bytes: number;
  /** The load the target's `agent` check last brought back (method agent); null before its first reply or without one. */
  load: number | null;
  /** Bytes a second forwarded to the target over the last 5 seconds (method bandwidth). */
  bytes_per_s: number;
  checks: CheckStatus[];
}

export interface ServerStatus {
  id: number;
  name: string | null;
  ipaddr: string;
  port: number;
  protocol: "tcp" | "udp";
  method: string;
  enabled: boolean;
  sessions: number;
  packets: number;
  bytes: number;
  targets: number[];
  backup: number[];
}

export interface StatusReport {
  version: string;
  pid: number;
  uptime_s: number;
  config: string;
  interface: string;
  workers: number;
  servers: ServerStatus[];
  targets: TargetStatus[];
  /**
   * `icmp_errors_forwarded`: ICMP errors about a client's session sent on to its target (path
   * MTU discovery); `resets_sent`: RSTs sent from a VIP to clients of a down target (`downpolicy reset`).
   */
  totals: { packets: number; bytes: number; sessions: number; arp_replies: number; icmp_replies: number; icmp_errors_forwarded: number; resets_sent: number; passed: number };
  /**
   * The session table; `refused`: new clients not given a session (beyond `set newsessions` a
   * second), `stateless`: their frames forwarded by consistent hashing, `closed`: sessions
   * shortened to `set fintimeout` by the client's FIN or RST.
   */
  sessions: { current: number; capacity: number; created: number; expired: number; evicted: number; refused: number; stateless: number; closed: number };
  drops: Record<string, number>;
  /**
   * The workers' packet I/O (`set io`): frames received, frames the kernel dropped before bng
   * could read them (the socket's queue or receive ring was full: bng is not keeping up), frames
   * the kernel refused to send (queue full, link down, frame too long) with the errno of the last
   * one ("ENOBUFS"; null when none was refused), and failed receives. The workers bring all but
   * `frames` up to date once a second.
   */
  io: { backend: PacketEngine; frames: number; kernel_drops: number; send_refused: number; receive_errors: number; last_send_error: string | null };
  /** How late the control thread's 100 ms timer fires (the data plane must never stall it). */
  timer_lag_ms: LagReport;
  /** `vrrp`: this node's role in the pair, its adverts, and the session sync with the peer. */
  vrrp?: HaStatus;
  /** `set announce TABLE`: the routing table and the VIPs announced in it now. */
  announce?: { table: number; announced: string[] };
}
