// The seam between the scheduler and the network: a probe starts one check attempt and
// reports its result once. The monitor owns time (the attempt timeout is the check interval),
// so a probe never times out by itself; the monitor cancels attempts that ran out of time.
import type { ProbeResult } from "./state.ts";

export interface ProbeAttempt {
  /** Abandons the attempt and releases its socket or process; `done` is not called afterwards. */
  cancel(): void;
  /**
   * Why the attempt has not finished, as the cause of its timeout ("no response" from an HTTP
   * server that accepted the connection); "timeout" when absent. Asked just before cancel().
   */
  pendingCause?(): string;
}

/** `done` is always called asynchronously (never inside the start call), at most once. */
export type ProbeDone = (result: ProbeResult) => void;

/**
 * What the DSR-path check needs besides addresses: the frame goes to the target's MAC (from the
 * daemon's ARP resolution; undefined while unknown), and to each VIP it serves.
 */
export interface DsrPath {
  vips: readonly number[];
  mac: Uint8Array | undefined;
}

/** An attempt that failed before it began: `done` follows in a microtask unless it is cancelled first. */
export function failLater(cause: string, done: ProbeDone): ProbeAttempt {
  let cancelled = false;
  queueMicrotask(() => cancelled || done({ ok: false, cause }));
  return {
    cancel() {
      cancelled = true;
    },
  };
}

/** Addresses are IPv4 uint32s; `source` is the `real` address of the target's network. */
export interface Probes {
  /** A TCP connect from `source` to `destination:port`. */
  tcpopen(source: number, destination: number, port: number, done: ProbeDone): ProbeAttempt;
  /** An ICMP echo from `source` to `destination`. */
  ping(source: number, destination: number, done: ProbeDone): ProbeAttempt;
  /** An ARP request for `destination` from `source` (out of the interface holding `source`). */
  arp(source: number, destination: number, done: ProbeDone): ProbeAttempt;
  /** A UDP query to the agent at `destination:port`; a success carries the load it reported. */
  agent(source: number, destination: number, port: number, done: ProbeDone): ProbeAttempt;
  /** Runs `path` with the target's address and port as its arguments. */
  script(path: string, destination: number, port: number, done: ProbeDone): ProbeAttempt;
  /** `GET path` to `destination:port` from `source`; a success carries the status. */
  http(source: number, destination: number, port: number, path: string, done: ProbeDone): ProbeAttempt;
  /** A TCP SYN to each VIP's `port`, in frames to the target's MAC, from `source`. */
  dsrcheck(source: number, path: DsrPath, port: number, done: ProbeDone): ProbeAttempt;
  /** Cancels whatever is in flight and closes every socket. */
  close(): void;
}
