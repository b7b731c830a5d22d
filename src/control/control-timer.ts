// The control thread's one periodic timer. Every 100 ms it measures how late it fired (the lag
// report: the data plane runs in workers, so this stays near zero however hard they forward;
// status shows it so an operator, and the tests, can see that it does) and then runs the
// periodic jobs whose turn it is (polling what the workers learned, ARP, the check that the
// interface still exists, the session sweep).
//
// One timer for every job, not one each: in Bun each further wake of the event loop costs about
// 85 µs of CPU whatever the callback does (a bare 100 ms interval costs 1.5 ms a second, a 1 s
// one 0.7 ms, on the benchmark's 2-core VM), and under the packet-rate benchmark's taskset the
// control thread shares the worker's core (bench README, "The control thread's timers").
//
// Not 10 ms either: every wake is a context switch on a core a worker may be using. The price
// is coarser detection: a stall of L ms shows as a lateness between L - 100 and L.
//
// The jobs must not allocate in their common case: in Bun 1.3 a heap that grew gets a collection
// within 16 ms, so a job allocating a few bytes once a second costs the thread three more
// collections and 1.7 ms more CPU a second than one that allocates nothing.

/** The timer's interval; job periods are multiples of it. */
export const TICK_MS = 100;
/** `recent_worst_ms` covers this many whole seconds (plus the current one). */
const RECENT_WINDOW_S = 5;
/** A job that keeps failing is reported again after this long (with the count), not on every turn. */
const FAILURE_REPORT_MS = 60_000;

export interface LagReport {
  interval_ms: number;
  /** Worst lateness since start. */
  worst_ms: number;
  /** Worst lateness in the last RECENT_WINDOW_S seconds. */
  recent_worst_ms: number;
  mean_ms: number;
  samples: number;
}

interface Job {
  readonly name: string;
  readonly everyTicks: number;
  readonly run: () => void;
  /** Turns in a row that threw (0: the last one ran). */
  failures: number;
  /** When the current run of failures was last reported. */
  reportedAtMs: number;
}

export interface ControlTimerOptions {
  /**
   * A job threw: called on its first failure in a row and then at most once a minute while it
   * keeps failing, with the failures in a row so far; the other jobs and later turns still run.
   */
  onJobError: (job: string, error: unknown, failuresInARow: number) => void;
  /** A job that had failed ran again, after `failures` failures in a row. */
  onJobRecovered: (job: string, failures: number) => void;
  /** Milliseconds of a monotonic clock (default `performance.now`; tests pass a fake). */
  now?: () => number;
  /** Starts calling `tick` every TICK_MS and returns what `stop` needs (default setInterval). */
  start?: (tick: () => void) => { stop(): void };
}

export class ControlTimer {
  private worstMs = 0;
  private totalMs = 0;
  private samples = 0;
  /** Worst lateness per second, a ring indexed by whole seconds since start. */
  private readonly perSecond = new Float64Array(RECENT_WINDOW_S + 1);
  private currentSecond = 0;
  private readonly jobs: Job[] = [];
  private readonly now: () => number;
  private readonly onJobError: ControlTimerOptions["onJobError"];
  private readonly onJobRecovered: ControlTimerOptions["onJobRecovered"];
  private readonly started: number;
  private last: number;
  private readonly running: { stop(): void };

  constructor(options: ControlTimerOptions) {
    this.onJobError = options.onJobError;
    this.onJobRecovered = options.onJobRecovered;
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
    this.last = this.started;
    const start =
      options.start ??
      ((tick: () => void) => {
        const interval = setInterval(tick, TICK_MS);
        return { stop: () => clearInterval(interval) };
      });
    this.running = start(() => this.tick());
  }

  /** Runs `run` on every tick whose number is a multiple of `periodMs` / TICK_MS. */
  every(name: string, periodMs: number, run: () => void): void {
    const everyTicks = periodMs / TICK_MS;
    if (!Number.isInteger(everyTicks) || everyTicks < 1) {
      throw new RangeError(`job ${name}: its period (${periodMs} ms) must be a whole multiple of ${TICK_MS} ms`);
    }
    this.jobs.push({ name, everyTicks, run, failures: 0, reportedAtMs: 0 });
  }

  private tick(): void {
    const now = this.now();
    const lateMs = Math.max(0, now - this.last - TICK_MS);
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
    // An index loop: a for-of could allocate an iterator on every tick before it is optimised.
    for (let i = 0; i < this.jobs.length; i++) {
      const job = this.jobs[i]!;
      if (this.samples % job.everyTicks === 0) this.runJob(job, now);
    }
  }

  private runJob(job: Job, now: number): void {
    try {
      job.run();
    } catch (error) {
      job.failures++;
      if (job.failures === 1 || now - job.reportedAtMs >= FAILURE_REPORT_MS) {
        job.reportedAtMs = now;
        this.onJobError(job.name, error, job.failures);
      }
      return;
    }
    if (job.failures > 0) {
      this.onJobRecovered(job.name, job.failures);
      job.failures = 0;
    }
  }

  /** How late the ticks fired. */
  lag(): LagReport {
    const round = (ms: number) => Math.round(ms * 100) / 100;
    return {
      interval_ms: TICK_MS,
      worst_ms: round(this.worstMs),
      recent_worst_ms: round(Math.max(...this.perSecond)),
      mean_ms: round(this.samples ? this.totalMs / this.samples : 0),
      samples: this.samples,
    };
  }

  /** Stops the ticks, and with them every job. */
  stop(): void {
    this.running.stop();
  }
}
