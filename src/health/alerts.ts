// `alert "PATH"`: PATH runs on every change of its target's state with the arguments
// TARGET_ID ADDRESS NEW_STATE CAUSE. A target's alerts run one after the other, in the order of
// its changes (a pager sees down before up); at most MAX_RUNNING_ALERTS run at once over all
// targets. Each is killed at its timeout; a failure, a timeout or an alert dropped from a full
// queue is logged, and bng goes on.
import type { Logger } from "../log/logger.ts";
import { ConcurrencyLimit, describeExit, lastLine, type RunningChild, startChild } from "./child-process.ts";
import type { AlertSink } from "./monitor.ts";
import type { HealthEvent } from "./state.ts";

export const ALERT_TIMEOUT_MS = 10_000;
export const MAX_RUNNING_ALERTS = 4;
/** Alerts of one target waiting behind its running one; a flapping target drops its oldest. */
export const MAX_WAITING_ALERTS = 16;
const ALERT_OUTPUT_LIMIT = 4096;

interface AlertJob {
  path: string;
  event: HealthEvent;
}

interface TargetQueue {
  jobs: AlertJob[];
  /** The job at jobs[0] is running (or waits for a slot). */
  busy: boolean;
  /** The program of jobs[0] while it runs. */
  child: RunningChild | undefined;
}

export function createAlertRunner(options: { logger: Logger; timeoutMs?: number }): AlertSink {
  const { logger } = options;
  const timeoutMs = options.timeoutMs ?? ALERT_TIMEOUT_MS;
  const slots = new ConcurrencyLimit(MAX_RUNNING_ALERTS);
  const queues = new Map<number, TargetQueue>();
  let closed = false;

  const fieldsOf = (job: AlertJob) => ({ target: job.event.targetId, alert: job.path, state: job.event.to });

  function runHead(queue: TargetQueue): void {
    const job = queue.jobs[0]!;
    let child: RunningChild;
    try {
      child = startChild([job.path, String(job.event.targetId), job.event.ipaddr, job.event.to, job.event.cause], { outputLimit: ALERT_OUTPUT_LIMIT, timeoutMs });
    } catch (error) {
      logger.warn("alert-failed", { ...fieldsOf(job), status: `cannot run: ${error instanceof Error ? error.message : String(error)}` });
      next(queue);
      return;
    }
    queue.child = child;
    void child.finished.then((outcome) => {
      queue.child = undefined;
      const output = lastLine(outcome.output) || undefined;
      if (closed) logger.warn("alert-failed", { ...fieldsOf(job), status: "killed: bng is stopping", output });
      else if (outcome.killed) logger.warn("alert-timeout", { ...fieldsOf(job), timeout_s: timeoutMs / 1000, output });
      else if (outcome.exitCode !== 0) logger.warn("alert-failed", { ...fieldsOf(job), status: describeExit(outcome), output });
      if (!closed) next(queue);
    });
  }

  /** The head is done: its slot goes to the next alert waiting anywhere, this target's next one queues for a slot. */
  function next(queue: TargetQueue): void {
    queue.jobs.shift();
    slots.release();
    if (queue.jobs.length > 0) slots.enqueue(() => runHead(queue));
    else queue.busy = false;
  }

  return {
    alert(path, event) {
      if (closed) return;
      const targetId = event.targetId;
      let queue = queues.get(targetId);
      if (!queue) {
        queue = { jobs: [], busy: false, child: undefined };
        queues.set(targetId, queue);
      }
      queue.jobs.push({ path, event });
      // jobs[0] runs or waits for its slot; the ones behind it are the waiting ones.
      if (queue.jobs.length - 1 > MAX_WAITING_ALERTS) {
        const [dropped] = queue.jobs.splice(1, 1);
        logger.warn("alert-dropped", { ...fieldsOf(dropped!), reason: `${MAX_WAITING_ALERTS} later alerts of target ${targetId} wait` });
      }
      if (!queue.busy) {
        queue.busy = true;
        const started = queue;
        slots.enqueue(() => runHead(started));
      }
    },
    close() {
      if (closed) return;
      closed = true;
      for (const queue of queues.values()) {
        queue.child?.kill();
        for (const job of queue.jobs.slice(queue.child ? 1 : 0)) logger.warn("alert-dropped", { ...fieldsOf(job), reason: "bng is stopping" });
      }
      queues.clear();
    },
  };
}
