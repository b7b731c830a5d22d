// The memory the control thread shares with the data-plane workers, made once at start from
// the start settings: the session table, the neighbour table, the per-worker counters, batch
// statistics, sync journals and what methods agent and bandwidth choose by.
import type { Config, Settings } from "../config/model.ts";
import { createBatchStats } from "../dataplane/batch-stats.ts";
import { createCounters, workerRegions } from "../dataplane/counters.ts";
import { NeighbourTable } from "../dataplane/neighbours.ts";
import { SessionTable } from "../dataplane/sessions.ts";
import { TargetMetrics } from "../dataplane/target-metrics.ts";
import { SyncJournal } from "../ha/sync-journal.ts";
import type { Logger } from "../log/logger.ts";
import type { SharedStructures } from "./dependencies.ts";
import { MethodInputs } from "./method-inputs.ts";
import type { ReloadChanges } from "./reload-plan.ts";

/** Session records a worker's sync journal holds until the control thread drains it (ten times a second). */
const JOURNAL_CAPACITY = 65_536;

export class SharedState {
  readonly sessions: SessionTable;
  readonly neighbours: NeighbourTable;
  readonly countersBuffer: SharedArrayBuffer;
  readonly counterRegions: Float64Array[];
  readonly batchStatsBuffer: SharedArrayBuffer;
  readonly journals: SyncJournal[];
  readonly targetMetrics = TargetMetrics.create();
  /** Writes targetMetrics: agent loads and bandwidths. */
  readonly methodInputs: MethodInputs;

  constructor(settings: Pick<Settings, "sessionCapacity" | "workers">, epochMs: number) {
    this.sessions = SessionTable.create(settings.sessionCapacity, epochMs);
    this.neighbours = NeighbourTable.create();
    this.countersBuffer = createCounters(settings.workers);
    this.counterRegions = workerRegions(this.countersBuffer);
    this.batchStatsBuffer = createBatchStats(settings.workers);
    this.journals = Array.from({ length: settings.workers }, () => SyncJournal.create(JOURNAL_CAPACITY));
    this.methodInputs = new MethodInputs(this.targetMetrics, this.counterRegions, epochMs);
  }

  /** What the workers are handed. */
  structures(): SharedStructures {
    return {
      sessions: this.sessions.buffer,
      neighbours: this.neighbours.buffer,
      counters: this.countersBuffer,
      targetMetrics: this.targetMetrics.buffer,
      batchStats: this.batchStatsBuffer,
      journals: this.journals.map((journal) => journal.buffer),
    };
  }

  /**
   * A target went down: its sessions end, but those of servers whose `downpolicy` is hold or
   * reset, which the data plane keeps deciding (docs/dataplane.md, Down policies).
   */
  removeSessionsOfDownTarget(targetId: number, config: Config, logger: Logger): void {
    const keeping = new Set(config.servers.filter((server) => server.downPolicy !== "reschedule").map((server) => server.id));
    const sessions = keeping.size === 0 ? this.sessions.removeTarget(targetId) : this.sessions.removeWhere((serverId, target) => target === targetId && !keeping.has(serverId));
    if (sessions > 0) logger.info("sessions-removed", { target: targetId, sessions, why: "down" });
  }

  /**
   * A reload's end for the sessions, once its table is published (a worker still on the old table
   * could bind them again before): those of renewed targets, of servers gone, and of targets no
   * longer listed by their server go, so the counts and `show sessions` stay true.
   */
  removeSessionsAfterReload(changes: ReloadChanges, logger: Logger): void {
    // The fields in the order the other sessions-removed lines have them.
    for (const target of changes.renewedTargets) {
      const sessions = this.sessions.removeTarget(target);
      if (sessions > 0) logger.info("sessions-removed", { target, sessions, why: "reload" });
    }
    const { members } = changes;
    const removed = (sessions: number, why: string) => {
      if (sessions > 0) logger.info("sessions-removed", { sessions, why });
    };
    removed(this.sessions.removeWhere((serverId) => !members.has(serverId)), "server removed by reload");
    removed(this.sessions.removeWhere((serverId, targetId) => members.get(serverId)?.has(targetId) === false), "target no longer listed by its server");
  }
}
