// Warns when the kernel dropped frames the workers did not read in time (bng is not keeping up)
// or refused frames they sent: at the first loss, then at most once a minute while losses go on,
// and once more at stop for what was not reported yet. Each line has the losses not reported
// before and the seconds they happened in. Runs once a second and allocates nothing while no
// frame is lost.
import { EVENT, eventTotal, lastSendErrno } from "../dataplane/counters.ts";
import type { Logger } from "../log/logger.ts";
import { sendError } from "./status-report.ts";

/** While frames keep being lost, `frames-lost` is logged at most this often. */
const FRAMES_LOST_LOG_MS = 60_000;

export class IoLossWatch {
  /** The totals the last `frames-lost` line reported and when it was logged. */
  private reportedKernelDrops = 0;
  private reportedSendRefused = 0;
  private reportedAtMs = -Infinity;
  /** Since when the losses not yet reported can have happened: the last look that found none. */
  private sinceMs: number;

  constructor(
    private readonly counterRegions: readonly Float64Array[],
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {
    this.sinceMs = now();
  }

  /** Looks at the workers' totals; `final` (at stop) reports what is left even within the minute. */
  check(final = false): void {
    const kernelDrops = eventTotal(this.counterRegions, EVENT.kernel_drops);
    const sendRefused = eventTotal(this.counterRegions, EVENT.send_refused);
    const nowMs = this.now();
    if (kernelDrops === this.reportedKernelDrops && sendRefused === this.reportedSendRefused) {
      this.sinceMs = nowMs;
      return;
    }
    if (!final && nowMs - this.reportedAtMs < FRAMES_LOST_LOG_MS) return;
    this.logger.warn("frames-lost", {
      kernel_drops: kernelDrops - this.reportedKernelDrops,
      send_refused: sendRefused - this.reportedSendRefused,
      over_s: Math.round((nowMs - this.sinceMs) / 1000),
      kernel_drops_total: kernelDrops,
      send_refused_total: sendRefused,
      last_send_error: sendError(lastSendErrno(this.counterRegions)) ?? "none",
    });
    this.reportedKernelDrops = kernelDrops;
    this.reportedSendRefused = sendRefused;
    this.reportedAtMs = nowMs;
    this.sinceMs = nowMs;
  }
}
