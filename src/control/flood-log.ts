// Says in the log when the flood defence (set newsessions) refuses new sessions: when it starts,
// once a minute while it lasts, and when it has ended (src/dataplane/flood-watch.ts decides
// when; this logs). Runs once a second and allocates nothing while no session is refused.
import { EVENT, eventTotal } from "../dataplane/counters.ts";
import { FLOOD_ENDED, FLOOD_ONGOING, FLOOD_STARTED, FloodWatch } from "../dataplane/flood-watch.ts";
import type { Logger } from "../log/logger.ts";

export class FloodLog {
  private readonly watch = new FloodWatch();

  constructor(
    private readonly counterRegions: readonly Float64Array[],
    private readonly logger: Logger,
    private readonly now: () => number,
    /** `set newsessions` of the running configuration. */
    private readonly limit: () => number,
  ) {}

  check(): void {
    const watch = this.watch;
    const kind = watch.step(eventTotal(this.counterRegions, EVENT.sessions_refused), eventTotal(this.counterRegions, EVENT.flood_stateless), this.now());
    if (kind === FLOOD_STARTED) {
      this.logger.warn("flood-defence-started", { refused: watch.refused, stateless: watch.stateless, over_s: watch.overS, newsessions: this.limit(), effect: "new clients are served by consistent hashing without a session; known clients keep theirs" });
    } else if (kind === FLOOD_ONGOING) {
      this.logger.warn("flood-defence", { refused: watch.refused, stateless: watch.stateless, over_s: watch.overS, lasted_s: watch.lastedS });
    } else if (kind === FLOOD_ENDED) {
      this.logger.info("flood-defence-ended", { refused: watch.refused, stateless: watch.stateless, lasted_s: watch.lastedS });
    }
  }
}
