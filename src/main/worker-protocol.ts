// What the control thread and a data-plane worker thread say to each other at start and stop:
// the shared structures the worker maps, and a stop word it polls between batches.
import type { MessagePort } from "node:worker_threads";
import type { PacketEngine } from "../config/model.ts";

export interface WorkerStart {
  index: number;
  ifname: string;
  batchSize: number;
  /** `set io`: the packet I/O engine. */
  io: PacketEngine;
  /** PACKET_FANOUT group id when several workers share the interface. */
  fanoutGroup: number | undefined;
  /** The socket filter (encoded classic BPF) the engine's packet socket starts with. */
  socketFilter: Uint8Array;
  /** `set io xdp`: the XDP program's socket map; the worker's socket joins it at its index. */
  xdpSocketMap: number | undefined;
  exchange: SharedArrayBuffer;
  table: SharedArrayBuffer;
  sessions: SharedArrayBuffer;
  neighbours: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  /** Agent loads and bandwidths by target id (target-metrics.ts), for methods agent and bandwidth. */
  targetMetrics: SharedArrayBuffer;
  batchStats: SharedArrayBuffer;
  /** This worker's journal of sessions created (streamed to a VRRP peer). */
  journal: SharedArrayBuffer;
  /** Whether to record sessions in it: only with a `vrrp` sync peer. */
  journalSessions: boolean;
  /** Int32 word 0: set to 1 to stop. */
  control: SharedArrayBuffer;
  /** Where tables (their buffers) and new socket filters arrive. */
  tables: MessagePort;
}

/** A new socket filter for the engine, posted beside the table whose VIPs it follows. */
export interface SocketFilterMessage {
  socketFilter: Uint8Array;
}

export type TablesMessage = SharedArrayBuffer | SocketFilterMessage;

export type WorkerReport = { type: "ready" } | { type: "error"; message: string } | { type: "stopped" };

const STOP = 0;

export function createWorkerControl(): SharedArrayBuffer {
  return new SharedArrayBuffer(4);
}

export function requestStop(control: SharedArrayBuffer): void {
  Atomics.store(new Int32Array(control), STOP, 1);
}

export function stopRequested(control: Int32Array): boolean {
  return Atomics.load(control, STOP) !== 0;
}
