// One data-plane worker thread (worker.ts) from its creation to its exit. A thread spends tens
// of milliseconds loading its modules (the data plane's whole graph, in an isolate of its own)
// before it can take its start message, so bng creates the first one before it reads its
// configuration and sets up the host, and the two overlap. What happens to the thread from its
// creation on is kept, so that a thread started early loses nothing that happened before its
// start.
import { Worker } from "node:worker_threads";
import { workerModule } from "../runtime/self.ts";
import type { WorkerReport, WorkerStart } from "./worker-protocol.ts";

/** A failure the worker reported (its socket, its engine) or a crash of its thread. */
export interface ThreadFailure {
  how: "failed" | "crashed";
  message: string;
}

export class DataplaneThread {
  private readonly worker = new Worker(workerModule(new URL("./worker.ts", import.meta.url), "./main/worker.ts"));
  /** Settles when the worker reports its socket open, or rejects with why it could not. */
  readonly ready: Promise<void>;
  /** Settles when the worker reports it stopped, failed or its thread ended. */
  readonly stopped: Promise<void>;
  /** Settles on the thread's exit event. */
  readonly exited: Promise<void>;
  hasExited = false;
  private started = false;
  private failure: ThreadFailure | undefined;
  private onFailure: ((failure: ThreadFailure) => void) | undefined;

  constructor() {
    let resolveReady!: () => void;
    let rejectReady!: (error: Error) => void;
    let resolveStopped!: () => void;
    this.ready = new Promise<void>((resolve, reject) => ((resolveReady = resolve), (rejectReady = reject)));
    // Rejected for a thread that fails before anyone waits on it (one created early and let go).
    this.ready.catch(() => {});
    this.stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
    this.exited = new Promise<void>((resolve) => this.worker.once("exit", () => ((this.hasExited = true), resolve())));
    const fail = (failure: ThreadFailure, error: Error) => {
      rejectReady(error);
      resolveStopped();
      this.failure ??= failure;
      this.onFailure?.(failure);
    };
    this.worker.on("message", (report: WorkerReport) => {
      if (report.type === "ready") resolveReady();
      else if (report.type === "stopped") resolveStopped();
      else fail({ how: "failed", message: report.message }, new Error(report.message));
    });
    this.worker.on("error", (error: Error) => fail({ how: "crashed", message: error.message }, error));
    this.worker.on("exit", () => resolveStopped());
  }

  /** Hands the thread its start message; `onFailure` hears of a failure, also one before now. */
  start(start: WorkerStart, onFailure: (failure: ThreadFailure) => void): void {
    this.started = true;
    this.onFailure = onFailure;
    if (this.failure !== undefined) onFailure(this.failure);
    this.worker.postMessage(start, [start.tables]);
  }

  /** Lets a thread that was never started end by itself (its entry returns on `null`). */
  release(): void {
    if (!this.started && !this.hasExited) this.worker.postMessage(null);
    this.started = true;
  }

  /** The backstop for a thread still running after it was asked to stop. */
  terminate(): void {
    void this.worker.terminate();
  }
}

/**
 * The thread created before the configuration is read, taken by the first data plane that
 * starts; every later one (and every further worker) creates its own.
 */
export class EarlyThread {
  private thread: DataplaneThread | undefined = new DataplaneThread();

  take(): DataplaneThread | undefined {
    const thread = this.thread;
    this.thread = undefined;
    return thread;
  }

  /** Lets the thread end if no data plane took it (bng stopped or failed before its start). */
  release(): void {
    this.take()?.release();
  }
}
