// Programs bng runs for health (`script` checks, `alert` programs, `bng agent --script`),
// bounded in every way: each runs in a process group of its own, so a kill reaches whatever
// it started too; its output (stdout and stderr together) is kept up to a limit and the rest
// read and dropped; it is killed at its timeout; and when it exits, what it left behind in its
// group is killed with it. A program that means to leave work running must leave the group
// itself (setsid). `ConcurrencyLimit` caps how many run at once.

export interface ChildOutcome {
  /** The exit status, or null when a signal ended it. */
  exitCode: number | null;
  /** The signal that ended it ("SIGKILL"), or null. */
  signal: string | null;
  /** True when it was killed at its timeout or by kill(). */
  killed: boolean;
  /** The first `outputLimit` bytes it wrote, decoded. */
  output: string;
  durationMs: number;
}

export interface RunningChild {
  readonly pid: number;
  /** Kills the process group now (SIGKILL). */
  kill(): void;
  readonly finished: Promise<ChildOutcome>;
}

/** After the exit, how long output still in the pipes may take to arrive. */
const OUTPUT_GRACE_MS = 200;

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // ESRCH: the whole group is gone already.
  }
}

/** Reads `stream` to its end or until `stop` resolves, keeping at most `limit` bytes in `kept` overall. */
async function collect(stream: ReadableStream<Uint8Array>, kept: { chunks: Uint8Array[]; bytes: number }, limit: number, stop: Promise<void>): Promise<void> {
  const reader = stream.getReader();
  const stopped = stop.then(() => undefined);
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), stopped]);
      if (next === undefined || next.done) return;
      const room = limit - kept.bytes;
      if (room <= 0) continue;
      const chunk = next.value.length > room ? next.value.subarray(0, room) : next.value;
      kept.chunks.push(chunk);
      kept.bytes += chunk.length;
    }
  } finally {
    void reader.cancel().catch(() => {});
  }
}

/**
 * Starts `argv` (argv[0] a path) with stdin from /dev/null. Throws when it cannot be started
 * (no such file, not executable); the message says why.
 */
export function startChild(argv: string[], options: { outputLimit: number; timeoutMs?: number }): RunningChild {
  const startedAt = performance.now();
  const child = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", detached: true });
  let killed = false;
  const kill = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    killed = true;
    killGroup(child.pid);
  };
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(kill, options.timeoutMs);
  const kept = { chunks: [] as Uint8Array[], bytes: 0 };
  let endOutput!: () => void;
  const outputEnded = new Promise<void>((resolve) => (endOutput = resolve));
  const reading = Promise.all([collect(child.stdout, kept, options.outputLimit, outputEnded), collect(child.stderr, kept, options.outputLimit, outputEnded)]);
  const finished = child.exited.then(async () => {
    const durationMs = performance.now() - startedAt;
    if (timer !== undefined) clearTimeout(timer);
    killGroup(child.pid);
    await Promise.race([reading, Bun.sleep(OUTPUT_GRACE_MS)]);
    endOutput();
    await reading;
    return {
      exitCode: child.signalCode === null ? child.exitCode : null,
      signal: child.signalCode,
      killed,
      output: new TextDecoder().decode(Buffer.concat(kept.chunks)),
      durationMs,
    };
  });
  return { pid: child.pid, kill, finished };
}

/** How an outcome ended: "exit 1", "killed by SIGSEGV". */
export function describeExit(outcome: ChildOutcome): string {
  return outcome.exitCode !== null ? `exit ${outcome.exitCode}` : `killed by ${outcome.signal ?? "a signal"}`;
}

/** The last non-empty line of `output`, at most `limit` characters (its end), for a cause or a log line. */
export function lastLine(output: string, limit = 200): string {
  const lines = output.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (line !== "") return line.length > limit ? `...${line.slice(line.length - limit)}` : line;
  }
  return "";
}

/** At most `limit` jobs at once; the others wait in order. */
export class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  get active(): number {
    return this.running;
  }

  /**
   * Calls `start` now when a slot is free, else when one frees up; each start must be matched
   * by one release(). Returns a withdrawal: true when `start` had not run yet (and now never will).
   */
  enqueue(start: () => void): () => boolean {
    if (this.running < this.limit) {
      this.running++;
      start();
      return () => false;
    }
    this.waiting.push(start);
    return () => {
      const index = this.waiting.indexOf(start);
      if (index < 0) return false;
      this.waiting.splice(index, 1);
      return true;
    };
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
