// The flood-defence state the control side logs: fed once a second with the workers' totals of
// `sessions_refused` and `flood_stateless` (counters.ts `eventTotal`), it says when to log that
// new sessions are being refused (bng serves new clients statelessly: a flood of new sources,
// or more real clients than `set newsessions` a second), once a minute while that lasts, and
// when it has ended. Pure: no clock, no logger, no allocation; the caller logs the fields.

/** step(): nothing to log. */
export const FLOOD_QUIET = 0;
/** step(): new sessions are being refused, after a quiet time. */
export const FLOOD_STARTED = 1;
/** step(): still refusing, a minute after the last line. */
export const FLOOD_ONGOING = 2;
/** step(): no refusal for FLOOD_ENDS_AFTER_MS. */
export const FLOOD_ENDED = 3;

/** While new sessions are refused, a line at most this often. */
export const FLOOD_REPORT_MS = 60_000;
/** A flood has ended once nothing was refused for this long. */
export const FLOOD_ENDS_AFTER_MS = 10_000;

export class FloodWatch {
  /** Whether new sessions are being refused (since FLOOD_STARTED, until FLOOD_ENDED). */
  active = false;
  // The fields of the line step() asks for, valid until the next step().
  /** Sessions refused since the previous line (or, for FLOOD_STARTED, since the previous step). */
  refused = 0;
  /** Frames of those clients forwarded by consistent hashing, over the same time. */
  stateless = 0;
  /** Seconds those counts cover. */
  overS = 0;
  /** Seconds since the flood started. */
  lastedS = 0;
  private startedMs = 0;
  private reportedAtMs = 0;
  private lastStepMs = Number.NEGATIVE_INFINITY;
  private lastRefusalMs = Number.NEGATIVE_INFINITY;
  private lastRefusedTotal = 0;
  private reportedRefused = 0;
  private reportedStateless = 0;

  /** Takes the totals at `nowMs` (milliseconds of any steady clock); returns FLOOD_* (what to log now). */
  step(refusedTotal: number, statelessTotal: number, nowMs: number): number {
    const refusing = refusedTotal > this.lastRefusedTotal;
    this.lastRefusedTotal = refusedTotal;
    if (refusing) this.lastRefusalMs = nowMs;
    let kind = FLOOD_QUIET;
    if (!this.active) {
      if (refusing) {
        this.active = true;
        this.startedMs = Number.isFinite(this.lastStepMs) ? this.lastStepMs : nowMs;
        this.reportedAtMs = this.startedMs;
        kind = FLOOD_STARTED;
      }
    } else if (nowMs - this.lastRefusalMs >= FLOOD_ENDS_AFTER_MS) {
      this.active = false;
      kind = FLOOD_ENDED;
    } else if (nowMs - this.reportedAtMs >= FLOOD_REPORT_MS) {
      kind = FLOOD_ONGOING;
    }
    this.lastStepMs = nowMs;
    if (kind === FLOOD_QUIET) {
      if (!this.active) this.keepBaseline(refusedTotal, statelessTotal);
      return kind;
    }
    this.refused = refusedTotal - this.reportedRefused;
    this.stateless = statelessTotal - this.reportedStateless;
    this.overS = Math.round((nowMs - this.reportedAtMs) / 1000);
    this.lastedS = Math.round((nowMs - this.startedMs) / 1000);
    this.reportedAtMs = nowMs;
    this.keepBaseline(refusedTotal, statelessTotal);
    return kind;
  }

  private keepBaseline(refusedTotal: number, statelessTotal: number): void {
    this.reportedRefused = refusedTotal;
    this.reportedStateless = statelessTotal;
  }
}
