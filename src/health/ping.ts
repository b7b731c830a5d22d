// `ping I,T`: ICMP echo from the `real` address. One socket per source address serves every
// target; requests carry a per-socket sequence number, and a reply counts only when its
// sequence is in flight and it comes from the address the request went to.
import { IcmpEchoSocket, IcmpSocketError } from "../../ffi/icmp.ts";
import { describeErrno } from "../../ffi/inet-socket.ts";
import { POLLIN } from "../../ffi/layout.ts";
import { failLater, type ProbeAttempt, type ProbeDone } from "./probe.ts";
import type { ReadinessPoller } from "./readiness.ts";

interface PendingEcho {
  destination: number;
  startedAt: number;
  done: ProbeDone;
}

class EchoChannel {
  readonly pending = new Map<number, PendingEcho>();
  private nextSequence = 0;

  constructor(
    readonly socket: IcmpEchoSocket,
    private readonly poller: ReadinessPoller,
  ) {}

  send(destination: number, done: ProbeDone): ProbeAttempt {
    const sequence = this.freeSequence();
    const startedAt = performance.now();
    const errno = this.socket.send(destination, sequence);
    if (errno !== 0) return failLater(describeErrno(errno), done);
    this.pending.set(sequence, { destination, startedAt, done });
    this.poller.watch(this.socket.fd, POLLIN, () => this.receive());
    // Across loopback or a veth the reply is often queued before sendto(2) even returns.
    queueMicrotask(() => this.receive());
    return {
      cancel: () => {
        this.pending.delete(sequence);
        if (this.pending.size === 0) this.poller.unwatch(this.socket.fd);
      },
    };
  }

  private receive(): void {
    const now = performance.now();
    for (const message of this.socket.drain()) {
      const echo = this.pending.get(message.sequence);
      const about = message.kind === "reply" ? message.from : message.about;
      if (!echo || about !== echo.destination) continue;
      this.pending.delete(message.sequence);
      echo.done(message.kind === "reply" ? { ok: true, latencyMs: now - echo.startedAt } : { ok: false, cause: message.cause });
    }
    if (this.pending.size === 0) this.poller.unwatch(this.socket.fd);
  }

  private freeSequence(): number {
    do this.nextSequence = (this.nextSequence + 1) & 0xffff;
    while (this.pending.has(this.nextSequence));
    return this.nextSequence;
  }
}

export class PingProber {
  private readonly channels = new Map<number, EchoChannel>();

  constructor(private readonly poller: ReadinessPoller) {}

  start(source: number, destination: number, done: ProbeDone): ProbeAttempt {
    let channel = this.channels.get(source);
    if (!channel) {
      try {
        channel = new EchoChannel(IcmpEchoSocket.open(source), this.poller);
      } catch (error) {
        if (!(error instanceof IcmpSocketError)) throw error;
        return failLater(error.message, done);
      }
      this.channels.set(source, channel);
    }
    return channel.send(destination, done);
  }

  close(): void {
    for (const channel of this.channels.values()) {
      this.poller.unwatch(channel.socket.fd);
      channel.pending.clear();
      channel.socket.close();
    }
    this.channels.clear();
  }
}
