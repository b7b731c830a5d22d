// `agent P,I,T`: one UDP query per attempt, from the `real` address to the target's agent
// (`bng agent`) on port P, over a socket connected to it: only its reply is delivered, and an
// ICMP port unreachable (no agent listening) ends the attempt at once as "refused". The reply
// is the target's load, which the success carries to the monitor (`method agent`).
import { EAGAIN } from "../../ffi/errors.ts";
import { closeSocket, connectDatagram, receiveOnSocket, sendOnSocket } from "../../ffi/connected-socket.ts";
import { describeErrno } from "../../ffi/inet-socket.ts";
import { POLLIN } from "../../ffi/layout.ts";
import { AGENT_QUERY, parseAgentReply } from "./agent-protocol.ts";
import { failLater, type ProbeAttempt, type ProbeDone } from "./probe.ts";
import type { ReadinessPoller } from "./readiness.ts";
import type { ProbeResult } from "./state.ts";

/** Room for a reply one byte longer than any valid one, so a longer datagram is seen as too long. */
const replyBuffer = new Uint8Array(AGENT_QUERY.length + 1);

export function startAgentQuery(poller: ReadinessPoller, source: number, destination: number, port: number, done: ProbeDone): ProbeAttempt {
  const startedAt = performance.now();
  const connected = connectDatagram(source, destination, port);
  if ("cause" in connected) return failLater(connected.cause, done);
  const fd = connected.fd;
  const sent = sendOnSocket(fd, AGENT_QUERY, AGENT_QUERY.length);
  if (sent < 0) {
    closeSocket(fd);
    return failLater(describeErrno(-sent), done);
  }
  let finished = false;
  const release = () => {
    finished = true;
    poller.unwatch(fd);
    closeSocket(fd);
  };
  poller.watch(fd, POLLIN, () => {
    const count = receiveOnSocket(fd, replyBuffer);
    if (count === -EAGAIN) return;
    let result: ProbeResult;
    if (count < 0) result = { ok: false, cause: describeErrno(-count) };
    else {
      const load = parseAgentReply(replyBuffer, count);
      result = load === undefined ? { ok: false, cause: "malformed reply" } : { ok: true, latencyMs: performance.now() - startedAt, load };
    }
    release();
    done(result);
  });
  return {
    cancel: () => {
      if (!finished) release();
    },
    pendingCause: () => "no reply",
  };
}
