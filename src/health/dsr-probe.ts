// `dsrcheck P,I,T`: the DSR path itself. Per attempt, for each VIP the target serves, a TCP
// SYN from the `real` address to VIP:P inside a frame addressed to the target's MAC, exactly
// as bng forwards a client's first packet. Only a target with the VIP on an interface (its
// loopback) and a service listening on it answers with a SYN-ACK from the VIP: a success.
// A RST from the VIP (nothing listens there) fails the attempt at once; silence (the VIP is
// not on the target, which drops the frame) fails it at its timeout. Each SYN-ACK is answered
// with a RST in a frame to the target's MAC, so the target drops the half-open connection at
// once. (The box's kernel, which owns the `real` address and has no socket for the port, would
// answer with a RST too, but it sends it towards the VIP, that is to bng, not to the target.)
//
// Source ports come from SOURCE_PORT_LOW-SOURCE_PORT_HIGH, above Linux's default ephemeral
// range (32768-60999) and never used by bng's own sockets towards a VIP, one per SYN in flight;
// the filter queues only TCP segments to those ports, and an answer must acknowledge the SYN's
// random sequence number.
import { ipToString } from "../config/model.ts";
import { encodeProgram, tcpPortRangeFilter } from "../bpf/classic.ts";
import { type FrameChannel, FrameChannels, type InterfaceLocator } from "./frame-channel.ts";
import { type DsrPath, failLater, type ProbeAttempt, type ProbeDone } from "./probe.ts";
import type { ReadinessPoller } from "./readiness.ts";
import type { ProbeResult } from "./state.ts";
import { readTcpFrame, TCP_ACK, TCP_RST, TCP_SYN, type TcpSegment, writeTcpFrame } from "./tcp-frame.ts";

export const SOURCE_PORT_LOW = 61000;
export const SOURCE_PORT_HIGH = 65535;
const PORT_COUNT = SOURCE_PORT_HIGH - SOURCE_PORT_LOW + 1;

interface SentSyn {
  attempt: DsrAttempt;
  vip: number;
  srcPort: number;
  seq: number;
  answered: boolean;
}

class DsrAttempt implements ProbeAttempt {
  readonly startedAt = performance.now();
  readonly syns: SentSyn[] = [];
  answered = 0;
  finished = false;

  constructor(
    readonly prober: DsrProber,
    readonly channel: FrameChannel,
    readonly source: number,
    readonly targetMac: Uint8Array,
    readonly port: number,
    readonly done: ProbeDone,
  ) {}

  cancel(): void {
    this.prober.release(this);
  }

  pendingCause(): string {
    const silent = this.syns.find((syn) => !syn.answered);
    return silent ? `no SYN-ACK from ${ipToString(silent.vip)}:${this.port}` : "timeout";
  }
}

export class DsrProber {
  /** SYNs in flight by their source port. */
  private readonly inFlight = new Map<number, SentSyn>();
  private readonly channels: FrameChannels;
  private readonly frame = new Uint8Array(64);
  private readonly answer: TcpSegment = { srcIp: 0, dstIp: 0, srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0 };
  private nextPort = SOURCE_PORT_LOW + Math.floor(Math.random() * PORT_COUNT);
  private ipId = Math.floor(Math.random() * 0x10000);

  /** `locate`: the interface of a source address (FrameChannels; by default the one holding it). */
  constructor(poller: ReadinessPoller, locate?: InterfaceLocator) {
    this.channels = new FrameChannels(poller, encodeProgram(tcpPortRangeFilter(SOURCE_PORT_LOW, SOURCE_PORT_HIGH)), (frame, length) => this.receive(frame, length), locate);
  }

  start(source: number, path: DsrPath, port: number, done: ProbeDone): ProbeAttempt {
    if (path.mac === undefined) return failLater("target MAC not resolved", done);
    if (path.vips.length === 0) return failLater("no enabled server lists the target", done);
    if (this.inFlight.size + path.vips.length > PORT_COUNT) return failLater("no free source port", done);
    const channel = this.channels.channelFor(source);
    if (typeof channel === "string") return failLater(channel, done);
    const attempt = new DsrAttempt(this, channel, source, path.mac, port, done);
    channel.listen();
    for (const vip of path.vips) {
      const syn: SentSyn = { attempt, vip, srcPort: this.freePort(), seq: Math.floor(Math.random() * 0x1_0000_0000), answered: false };
      attempt.syns.push(syn);
      this.inFlight.set(syn.srcPort, syn);
      const failure = this.send(attempt, { srcIp: source, dstIp: vip, srcPort: syn.srcPort, dstPort: port, seq: syn.seq, ack: 0, flags: TCP_SYN });
      if (failure !== undefined) {
        this.release(attempt);
        return failLater(failure, done);
      }
    }
    return attempt;
  }

  /** Forgets the attempt's SYNs and stops listening for it; once. */
  release(attempt: DsrAttempt): void {
    if (attempt.finished) return;
    attempt.finished = true;
    for (const syn of attempt.syns) this.inFlight.delete(syn.srcPort);
    attempt.channel.stopListening();
  }

  close(): void {
    this.inFlight.clear();
    this.channels.close();
  }

  private freePort(): number {
    while (this.inFlight.has(this.nextPort)) this.advancePort();
    const port = this.nextPort;
    this.advancePort();
    return port;
  }

  private advancePort(): void {
    this.nextPort = this.nextPort === SOURCE_PORT_HIGH ? SOURCE_PORT_LOW : this.nextPort + 1;
  }

  private send(attempt: DsrAttempt, segment: TcpSegment): string | undefined {
    this.ipId = (this.ipId + 1) & 0xffff;
    return attempt.channel.send(this.frame, writeTcpFrame(this.frame, attempt.targetMac, attempt.channel.ownMac, segment, this.ipId));
  }

  private receive(frame: Uint8Array, length: number): void {
    const answer = this.answer;
    if (!readTcpFrame(frame, length, answer)) return;
    const syn = this.inFlight.get(answer.dstPort);
    if (!syn || syn.vip !== answer.srcIp || syn.attempt.source !== answer.dstIp || syn.attempt.port !== answer.srcPort) return;
    const acknowledged = (answer.flags & TCP_ACK) !== 0 && answer.ack === ((syn.seq + 1) >>> 0);
    if (!acknowledged) return;
    const attempt = syn.attempt;
    if ((answer.flags & TCP_RST) !== 0) return this.finish(attempt, { ok: false, cause: `refused by ${ipToString(syn.vip)}:${attempt.port}`, refused: true });
    if ((answer.flags & TCP_SYN) === 0) return;
    // RFC 9293 3.10.7.3: a reset for a segment that carries ACK takes its sequence number from that ACK.
    this.send(attempt, { srcIp: attempt.source, dstIp: syn.vip, srcPort: syn.srcPort, dstPort: attempt.port, seq: answer.ack, ack: 0, flags: TCP_RST });
    this.inFlight.delete(syn.srcPort);
    syn.answered = true;
    attempt.answered++;
    if (attempt.answered === attempt.syns.length) this.finish(attempt, { ok: true, latencyMs: performance.now() - attempt.startedAt });
  }

  private finish(attempt: DsrAttempt, result: ProbeResult): void {
    this.release(attempt);
    attempt.done(result);
  }
}
