// The seam between the scheduler and the network: a probe starts one check attempt and
// reports its result once. The monitor owns time (the attempt timeout is the check interval),
// so a probe never times out by itself; the monitor cancels attempts that ran out of time.
import type { ProbeResult } from "./state.ts";

export interface ProbeAttempt {
  /** Abandons the attempt and releases its socket; `done` is not called afterwards. */
  cancel(): void;
}

/** `done` is always called asynchronously (never inside the start call), at most once. */
export type ProbeDone = (result: ProbeResult) => void;

export interface Probes {
  /** A TCP connect from `source` to `destination:port` (addresses as uint32). */
  tcpopen(source: number, destination: number, port: number, done: ProbeDone): ProbeAttempt;
  /** An ICMP echo from `source` to `destination`. */
  ping(source: number, destination: number, done: ProbeDone): ProbeAttempt;
  /** Cancels whatever is in flight and closes every socket. */
  close(): void;
}
