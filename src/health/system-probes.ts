// The real health probes: FFI sockets bound to the `real` address, polled without blocking,
// and the scripts' child processes. The composition root (src/main/) hands them to the health
// monitor; tests hand it fakes.
import { startAgentQuery } from "./agent.ts";
import { ArpProber } from "./arp-probe.ts";
import { DsrProber } from "./dsr-probe.ts";
import { HttpProber } from "./http.ts";
import { PingProber } from "./ping.ts";
import type { ProbeAttempt, ProbeDone, Probes } from "./probe.ts";
import { ReadinessPoller } from "./readiness.ts";
import { ScriptRunner } from "./script.ts";
import { startTcpOpen } from "./tcpopen.ts";

export function createSystemProbes(): Probes {
  const poller = new ReadinessPoller();
  const pings = new PingProber(poller);
  const https = new HttpProber(poller);
  const arps = new ArpProber(poller);
  const dsrs = new DsrProber(poller);
  const scripts = new ScriptRunner();
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
      pendingCause: () => attempt.pendingCause?.() ?? "timeout",
    };
  };
  return {
    tcpopen: (source, destination, port, done) => track((finish) => startTcpOpen(poller, source, destination, port, finish), done),
    ping: (source, destination, done) => track((finish) => pings.start(source, destination, finish), done),
    arp: (source, destination, done) => track((finish) => arps.start(source, destination, finish), done),
    agent: (source, destination, port, done) => track((finish) => startAgentQuery(poller, source, destination, port, finish), done),
    script: (path, destination, port, done) => track((finish) => scripts.start(path, destination, port, finish), done),
    http: (source, destination, port, path, done) => track((finish) => https.start(source, destination, port, path, finish), done),
    dsrcheck: (source, path, port, done) => track((finish) => dsrs.start(source, path, port, finish), done),
    close() {
      for (const attempt of attempts) attempt.cancel();
      attempts.clear();
      pings.close();
      arps.close();
      dsrs.close();
      scripts.close();
      poller.stop();
    },
  };
}
