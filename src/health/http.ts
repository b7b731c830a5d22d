// `http "PATH",P,I,T`: per attempt a non-blocking TCP connect from the `real` address (as
// tcpopen: ffi/tcp-connect.ts), `GET PATH`, and the head of the response: at most
// RESPONSE_LIMIT bytes, up to the end of the headers. A 2xx or 3xx status is a success. The
// connection is then reset (SO_LINGER 0), like tcpopen's: no TIME_WAIT on either side, however
// often it runs; the server sees a client that went away after the headers.
//
// One RESPONSE_LIMIT buffer per attempt in flight, from a free list, holds the request and then
// the response.
import { EAGAIN } from "../../ffi/errors.ts";
import { receiveOnSocket, sendOnSocket } from "../../ffi/connected-socket.ts";
import { describeErrno } from "../../ffi/inet-socket.ts";
import { POLLIN, POLLOUT } from "../../ffi/layout.ts";
import { abortConnection, CONNECT_DONE_EVENTS, connectOutcome, startConnect } from "../../ffi/tcp-connect.ts";
import { headersComplete, readHttpStatus, writeHttpRequest } from "./http-message.ts";
import type { ProbeAttempt, ProbeDone } from "./probe.ts";
import type { ReadinessPoller } from "./readiness.ts";
import type { ProbeResult } from "./state.ts";

/** The most of a response the check reads: the status line and headers of any sane server. */
export const RESPONSE_LIMIT = 4096;

type Phase = "connecting" | "sending" | "receiving" | "finished";

class HttpAttempt implements ProbeAttempt {
  private phase: Phase = "connecting";
  private fd = -1;
  private sent = 0;
  private received = 0;
  private readonly startedAt = performance.now();
  /** While the constructor runs, results wait for a microtask: `done` is never called inside the start call. */
  private starting = true;

  constructor(
    private readonly poller: ReadinessPoller,
    private readonly buffers: Uint8Array[],
    private readonly buffer: Uint8Array,
    private readonly requestLength: number,
    source: number,
    destination: number,
    port: number,
    private readonly done: ProbeDone,
  ) {
    if (requestLength === 0) {
      this.finish({ ok: false, cause: `request longer than ${RESPONSE_LIMIT} bytes` });
    } else {
      const start = startConnect(source, destination, port);
      if (start.status === "failed") {
        this.finish({ ok: false, cause: start.cause });
      } else {
        this.fd = start.fd;
        if (start.status === "connected") this.send();
        else poller.watch(this.fd, CONNECT_DONE_EVENTS, () => this.connected());
      }
    }
    this.starting = false;
  }

  cancel(): void {
    this.release();
  }

  pendingCause(): string {
    if (this.phase === "connecting") return "timeout";
    if (this.phase === "sending") return "request not taken";
    return this.received === 0 ? "no response" : "response incomplete";
  }

  private connected(): void {
    const failure = connectOutcome(this.fd);
    if (failure !== undefined) this.finish({ ok: false, cause: failure });
    else this.send();
  }

  private send(): void {
    this.phase = "sending";
    const sent = sendOnSocket(this.fd, this.buffer.subarray(this.sent), this.requestLength - this.sent);
    if (sent < 0 && sent !== -EAGAIN) return this.finish({ ok: false, cause: describeErrno(-sent) });
    if (sent > 0) this.sent += sent;
    if (this.sent < this.requestLength) return this.poller.watch(this.fd, POLLOUT, () => this.send());
    this.phase = "receiving";
    this.poller.watch(this.fd, POLLIN, () => this.receive());
  }

  private receive(): void {
    for (;;) {
      const before = this.received;
      const count = receiveOnSocket(this.fd, this.buffer.subarray(before));
      if (count === -EAGAIN) return;
      // A reset after the status line still leaves a status to judge.
      if (count < 0) return before > 0 ? this.conclude() : this.finish({ ok: false, cause: describeErrno(-count) });
      if (count === 0) return before > 0 ? this.conclude() : this.finish({ ok: false, cause: "closed without a response" });
      this.received += count;
      if (this.received === RESPONSE_LIMIT || headersComplete(this.buffer, before, this.received)) return this.conclude();
    }
  }

  private conclude(): void {
    const latencyMs = performance.now() - this.startedAt;
    const status = readHttpStatus(this.buffer, this.received);
    if (status === undefined) this.finish({ ok: false, cause: "malformed response" });
    else if (status >= 200 && status < 400) this.finish({ ok: true, latencyMs, status });
    else this.finish({ ok: false, cause: `status ${status}` });
  }

  private finish(result: ProbeResult): void {
    if (!this.release()) return;
    if (this.starting) queueMicrotask(() => this.done(result));
    else this.done(result);
  }

  /** Closes the connection and returns the buffer once; false when that already happened. */
  private release(): boolean {
    if (this.phase === "finished") return false;
    this.phase = "finished";
    if (this.fd >= 0) {
      this.poller.unwatch(this.fd);
      abortConnection(this.fd);
      this.fd = -1;
    }
    this.buffers.push(this.buffer);
    return true;
  }
}

export class HttpProber {
  private readonly buffers: Uint8Array[] = [];

  constructor(private readonly poller: ReadinessPoller) {}

  start(source: number, destination: number, port: number, path: string, done: ProbeDone): ProbeAttempt {
    const buffer = this.buffers.pop() ?? new Uint8Array(RESPONSE_LIMIT);
    const requestLength = writeHttpRequest(buffer, path, destination, port);
    return new HttpAttempt(this.poller, this.buffers, buffer, requestLength, source, destination, port, done);
  }
}
