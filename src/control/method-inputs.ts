// What methods `agent` and `bandwidth` choose by, measured on the control thread and written to
// the workers' shared TargetMetrics (dataplane/target-metrics.ts): each agent reply's load as it
// comes in, and once a second each target's forwarded bytes a second over the last
// BANDWIDTH_WINDOW_S seconds, from the workers' counters.
import { TARGET_BYTES_AT } from "../dataplane/counters.ts";
import { ID_LIMIT } from "../dataplane/table-layout.ts";
import type { TargetMetrics } from "../dataplane/target-metrics.ts";

/** The seconds a target's bandwidth is averaged over. */
export const BANDWIDTH_WINDOW_S = 5;
/** The control timer measures the bandwidths once a second (the daemon's watch job). */

export class MethodInputs {
  /** The last BANDWIDTH_WINDOW_S + 1 samples of every target's byte total, oldest overwritten first. */
  private readonly totals = Array.from({ length: BANDWIDTH_WINDOW_S + 1 }, () => new Float64Array(ID_LIMIT));
  private readonly sampledAtMs = new Float64Array(BANDWIDTH_WINDOW_S + 1);
  private samples = 1;

  /**
   * `counterRegions`: every worker's counters (counters.ts `workerRegions`), all zero at
   * `startedAtMs`: the first sample.
   */
  constructor(
    private readonly metrics: TargetMetrics,
    private readonly counterRegions: readonly Float64Array[],
    startedAtMs: number,
  ) {
    this.sampledAtMs[0] = startedAtMs;
  }

  /** An agent check's reply: the load its target reported. */
  agentLoad(targetId: number, load: number): void {
    this.metrics.setLoad(targetId, load);
  }

  /**
   * After a reload: each target's load is what its health monitor has, so a target whose checks
   * restarted (or that is new under an old id) has none until its agent answers again.
   */
  followLoads(targetIds: readonly number[], loadOf: (targetId: number) => number | undefined): void {
    for (const id of targetIds) this.metrics.setLoad(id, loadOf(id));
  }

  /**
   * Samples every target's byte total (summed over the workers) at `nowMs` and writes the rate
   * since the oldest sample kept. The counters only grow (`clear counters` keeps a baseline), so
   * a rate is a difference.
   */
  measureBandwidth(nowMs: number): void {
    const slots = this.totals.length;
    const newest = this.samples % slots;
    const sample = this.totals[newest]!;
    sample.fill(0);
    for (const region of this.counterRegions) {
      for (let id = 0; id < ID_LIMIT; id++) sample[id] = (sample[id] ?? 0) + (region[TARGET_BYTES_AT + id] ?? 0);
    }
    this.sampledAtMs[newest] = nowMs;
    this.samples++;
    const oldest = this.samples > slots ? this.samples % slots : 0;
    const seconds = (nowMs - (this.sampledAtMs[oldest] ?? nowMs)) / 1000;
    const before = this.totals[oldest]!;
    for (let id = 0; id < ID_LIMIT; id++) {
      this.metrics.setBandwidth(id, seconds > 0 ? Math.max(0, (sample[id] ?? 0) - (before[id] ?? 0)) / seconds : 0);
    }
  }
}
