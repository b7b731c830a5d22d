// The memory the control thread shares with the data-plane workers, made once at start from
// the start settings: the session table, the neighbour table, the per-worker counters, batch
// statistics and sync journals.
import type { Settings } from "../config/model.ts";
import { createBatchStats } from "../dataplane/batch-stats.ts";
import { createCounters, workerRegions } from "../dataplane/counters.ts";
import { NeighbourTable } from "../dataplane/neighbours.ts";
import { SessionTable } from "../dataplane/sessions.ts";
import { SyncJournal } from "../ha/sync-journal.ts";
import type { SharedStructures } from "./dependencies.ts";

/** Session records a worker's sync journal holds until the control thread drains it (ten times a second). */
const JOURNAL_CAPACITY = 65_536;

export class SharedState {
  readonly sessions: SessionTable;
  readonly neighbours: NeighbourTable;
  readonly countersBuffer: SharedArrayBuffer;
  readonly counterRegions: Float64Array[];
  readonly batchStatsBuffer: SharedArrayBuffer;
  readonly journals: SyncJournal[];

  constructor(settings: Pick<Settings, "sessionCapacity" | "workers">, epochMs: number) {
    this.sessions = SessionTable.create(settings.sessionCapacity, epochMs);
    this.neighbours = NeighbourTable.create();
    this.countersBuffer = createCounters(settings.workers);
    this.counterRegions = workerRegions(this.countersBuffer);
    this.batchStatsBuffer = createBatchStats(settings.workers);
    this.journals = Array.from({ length: settings.workers }, () => SyncJournal.create(JOURNAL_CAPACITY));
  }

  /** What the workers are handed. */
  structures(): SharedStructures {
    return {
      sessions: this.sessions.buffer,
      neighbours: this.neighbours.buffer,
      counters: this.countersBuffer,
      batchStats: this.batchStatsBuffer,
      journals: this.journals.map((journal) => journal.buffer),
    };
  }
}
