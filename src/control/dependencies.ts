// What the daemon needs from the world, as interfaces: the composition root (src/main/) passes
// the real ones (worker threads, the host's network, FFI probes, CLOCK_MONOTONIC), the tests
// in-memory ones.
import type { Config, PacketEngine } from "../config/model.ts";
import type { ForwardingTable } from "../dataplane/table.ts";
import type { Clock } from "../health/monitor.ts";
import type { Probes } from "../health/probe.ts";
import type { HostNetwork } from "../host/host-network.ts";
import type { Logger } from "../log/logger.ts";
import type { RunPlan } from "./plan.ts";
import type { SyncTransport } from "./session-sync.ts";
import type { VrrpLink } from "./vrrp-node.ts";

/** A running data plane, whatever runs it. */
export interface Dataplane {
  /** The packet I/O engine the workers run: `set io`'s, or the one `set io auto` started. */
  readonly engine: PacketEngine;
  publish(table: ForwardingTable): void;
  stop(): Promise<void>;
}

/** The shared memory the control side creates once and every worker maps. */
export interface SharedStructures {
  sessions: SharedArrayBuffer;
  neighbours: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  /** Agent loads and bandwidths by target id, written by the control thread (methods agent and bandwidth). */
  targetMetrics: SharedArrayBuffer;
  batchStats: SharedArrayBuffer;
  /** Per worker: its journal of sessions created, which the VRRP master streams to its peer. */
  journals: SharedArrayBuffer[];
}

export interface DaemonDependencies {
  logger: Logger;
  openNetwork(plan: RunPlan): HostNetwork;
  startDataplane(options: { plan: RunPlan; config: Config; table: ForwardingTable; shared: SharedStructures; onFailure(message: string): void }): Promise<Dataplane>;
  /**
   * Milliseconds of the clock of session times, the ARP schedule and the uptime: it must be
   * the one the data-plane workers stamp sessions with (CLOCK_MONOTONIC in bng).
   */
  now: () => number;
  /** The health checks' probes (src/health/system-probes.ts in bng). */
  probes: Probes;
  /** `vrrp`: where adverts are read (holding the virtual MAC in the interface's filter) and sent. */
  openVrrpLink(ifname: string, virtualMac: Uint8Array): VrrpLink;
  /** `vrrp { sync }`: UDP between this node's real address and the peer's. */
  openSyncTransport(realAddress: number, peerAddress: number): SyncTransport;
  healthClock?: Clock;
}
