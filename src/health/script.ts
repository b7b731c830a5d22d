// `script "PATH",I,T`: PATH runs with the target's address and port as its arguments; exit
// status 0 is a success. The monitor cancels an attempt still running at the next due time,
// I s after it started: that kills the script's process group. At most MAX_RUNNING_SCRIPTS run
// at once (a fork and exec each, on a box whose cores belong to the data plane); further
// attempts wait in order for a slot, and one still waiting when its time is up is a timeout.
import { ipToString } from "../config/model.ts";
import { ConcurrencyLimit, describeExit, lastLine, type RunningChild, startChild } from "./child-process.ts";
import type { ProbeAttempt, ProbeDone } from "./probe.ts";
import type { ProbeResult } from "./state.ts";

export const MAX_RUNNING_SCRIPTS = 16;
/** Output kept per run, for the failure's cause (its last line). */
export const SCRIPT_OUTPUT_LIMIT = 4096;
/** The most of that line a cause holds. */
const CAUSE_OUTPUT_LIMIT = 160;

function causeOf(exit: string, output: string): string {
  const line = lastLine(output, CAUSE_OUTPUT_LIMIT);
  return line === "" ? exit : `${exit}: ${line}`;
}

export class ScriptRunner {
  private readonly slots = new ConcurrencyLimit(MAX_RUNNING_SCRIPTS);
  private readonly running = new Set<RunningChild>();

  start(path: string, destination: number, port: number, done: ProbeDone): ProbeAttempt {
    let child: RunningChild | undefined;
    let finished = false;
    const finish = (result: ProbeResult) => {
      if (finished) return;
      finished = true;
      if (child) this.running.delete(child);
      this.slots.release();
      done(result);
    };
    const run = () => {
      try {
        child = startChild([path, ipToString(destination), String(port)], { outputLimit: SCRIPT_OUTPUT_LIMIT });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        // Never inside the start call: a free slot starts the script synchronously.
        queueMicrotask(() => finish({ ok: false, cause: `cannot run: ${reason}` }));
        return;
      }
      this.running.add(child);
      void child.finished.then((outcome) => {
        if (outcome.exitCode === 0) finish({ ok: true, latencyMs: outcome.durationMs });
        else finish({ ok: false, cause: causeOf(describeExit(outcome), outcome.output) });
      });
    };
    const withdraw = this.slots.enqueue(run);
    return {
      cancel: () => {
        if (finished) return;
        if (withdraw()) {
          finished = true;
          return;
        }
        finished = true;
        if (child) {
          child.kill();
          this.running.delete(child);
        }
        this.slots.release();
      },
      pendingCause: () => (child ? "timeout (killed)" : `timeout (not started: ${this.slots.active} scripts running)`),
    };
  }

  /** Kills every running script (their attempts are cancelled by the caller). */
  close(): void {
    for (const child of this.running) child.kill();
    this.running.clear();
  }
}
