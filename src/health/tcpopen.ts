// `tcpopen PORT,I,T`: one non-blocking TCP connect from the `real` address per attempt.
// Success is a completed handshake; the socket is then reset at once (see ffi/tcp-connect.ts).
import { abortConnection, CONNECT_DONE_EVENTS, connectOutcome, startConnect } from "../../ffi/tcp-connect.ts";
import type { ProbeAttempt, ProbeDone } from "./probe.ts";
import type { ReadinessPoller } from "./readiness.ts";

export function startTcpOpen(poller: ReadinessPoller, source: number, destination: number, port: number, done: ProbeDone): ProbeAttempt {
  const startedAt = performance.now();
  const start = startConnect(source, destination, port);
  let finished = false;
  const finishLater = (result: Parameters<ProbeDone>[0]) => {
    queueMicrotask(() => {
      if (!finished) {
        finished = true;
        done(result);
      }
    });
  };

  if (start.status === "failed") {
    finishLater({ ok: false, cause: start.cause });
  } else if (start.status === "connected") {
    const latencyMs = performance.now() - startedAt;
    abortConnection(start.fd);
    finishLater({ ok: true, latencyMs });
  } else {
    const fd = start.fd;
    poller.watch(fd, CONNECT_DONE_EVENTS, () => {
      const latencyMs = performance.now() - startedAt;
      poller.unwatch(fd);
      const failure = connectOutcome(fd);
      abortConnection(fd);
      finished = true;
      done(failure === undefined ? { ok: true, latencyMs } : { ok: false, cause: failure });
    });
    return {
      cancel() {
        if (finished) return;
        finished = true;
        poller.unwatch(fd);
        abortConnection(fd);
      },
    };
  }
  return {
    cancel() {
      finished = true;
    },
  };
}
