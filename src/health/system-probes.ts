// The real health probes: FFI sockets bound to the `real` address, polled without blocking.
// The composition root (src/main/) hands them to the health monitor; tests hand it fakes.
import { PingProber } from "./ping.ts";
import type { ProbeAttempt, ProbeDone, Probes } from "./probe.ts";
import { ReadinessPoller } from "./readiness.ts";
import { startTcpOpen } from "./tcpopen.ts";

export function createSystemProbes(): Probes {
  const poller = new ReadinessPoller();
  const pings = new PingProber(poller);
  const attempts = new Set<ProbeAttempt>();
  const track = (start: (done: ProbeDone) => ProbeAttempt, done: ProbeDone): ProbeAttempt => {
    const attempt: ProbeAttempt = start((result) => {
      attempts.delete(attempt);
      done(result);
    });
    attempts.add(attempt);
    return {
      cancel() {
        attempts.delete(attempt);
        attempt.cancel();
      },
    };
  };
  return {
    tcpopen: (source, destination, port, done) => track((finish) => startTcpOpen(poller, source, destination, port, finish), done),
    ping: (source, destination, done) => track((finish) => pings.start(source, destination, finish), done),
    close() {
      for (const attempt of attempts) attempt.cancel();
      attempts.clear();
      pings.close();
      poller.stop();
    },
  };
}
