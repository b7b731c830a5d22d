// How late the control thread's timers fire: a 100 ms interval that measures its own drift.
// The data plane runs in workers so this stays near zero however hard they forward; status
// shows it so an operator (and the tests) can see that it does.
//
// Not 10 ms: every wake of the control thread is a context switch on a core a worker may be
// using. In the packet-rate benchmark's profiles the control thread took 0.51-0.93 % of bng's
// samples at 10 ms and 0.47-0.56 % at 100 ms (bench README, "The control thread's timers").
// The price is coarser detection: a stall of L ms shows as a lateness between L - 100 and L.

const LAG_INTERVAL_MS = 100;
/** `recent_worst_ms` covers this many whole seconds (plus the current one). */
const RECENT_WINDOW_S = 5;

export interface LagReport {
  interval_ms: number;
  /** Worst lateness since start. */
  worst_ms: number;
  /** Worst lateness in the last RECENT_WINDOW_S seconds. */
  recent_worst_ms: number;
  mean_ms: number;
  samples: number;
}

export class LagMonitor {
  private worstMs = 0;
  private totalMs = 0;
  private samples = 0;
  /** Worst lateness per second, a ring indexed by whole seconds since start. */
  private readonly perSecond = new Float64Array(RECENT_WINDOW_S + 1);
  private currentSecond = 0;
  private readonly started = performance.now();
  private last = this.started;
  private readonly timer = setInterval(() => this.tick(), LAG_INTERVAL_MS);

  private tick(): void {
    const now = performance.now();
    const lateMs = Math.max(0, now - this.last - LAG_INTERVAL_MS);
    this.last = now;
    this.samples++;
    this.totalMs += lateMs;
    if (lateMs > this.worstMs) this.worstMs = lateMs;
    const second = Math.floor((now - this.started) / 1000);
    for (let s = this.currentSecond + 1; s <= second && s <= this.currentSecond + this.perSecond.length; s++) {
      this.perSecond[s % this.perSecond.length] = 0;
    }
    this.currentSecond = second;
    const slot = second % this.perSecond.length;
    if (lateMs > this.perSecond[slot]!) this.perSecond[slot] = lateMs;
  }

  report(): LagReport {
    const round = (ms: number) => Math.round(ms * 100) / 100;
    return {
      interval_ms: LAG_INTERVAL_MS,
      worst_ms: round(this.worstMs),
      recent_worst_ms: round(Math.max(...this.perSecond)),
      mean_ms: round(this.samples ? this.totalMs / this.samples : 0),
      samples: this.samples,
    };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
