// `arp I,T`: an ARP request for the target's address from the `real` address, out of the
// interface that holds it; an ARP reply from the target's address to the `real` address is a
// success. It proves the host is on the segment and its kernel answers, whatever its services.
//
// Why its own filtered socket rather than the workers' ARP sightings (src/dataplane/neighbours.ts):
// a sighting counts any ARP frame from the address (its own requests, gratuitous ARPs, replies
// to the resolver's refreshes), so it cannot tell a reply to this check from older traffic; it
// exists only while a data plane runs on an engine that sees ARP; and the check would depend on
// the workers' schedule. The socket's classic BPF filter queues only ARP replies, a few frames a
// second on any segment, and is read only while an attempt waits.
import { writeArpRequest } from "../dataplane/arp.ts";
import { ARP_OP, ARP_OP_REPLY, ARP_SPA, ARP_TPA, ETH_HEADER_LEN, ETH_TYPE, ETHERTYPE_ARP, read16, read32 } from "../dataplane/frame.ts";
import { arpReplyFilter, encodeProgram } from "../bpf/classic.ts";
import { type FrameChannel, FrameChannels } from "./frame-channel.ts";
import { failLater, type ProbeAttempt, type ProbeDone } from "./probe.ts";
import type { ReadinessPoller } from "./readiness.ts";

interface PendingArp {
  source: number;
  channel: FrameChannel;
  startedAt: number;
  done: ProbeDone;
}

const ARP_REPLY_LEN = ETH_HEADER_LEN + ARP_TPA + 4;

export class ArpProber {
  /** Attempts waiting for a reply, by the address asked for. */
  private readonly pending = new Map<number, PendingArp[]>();
  private readonly channels: FrameChannels;
  private readonly request = new Uint8Array(64);

  constructor(poller: ReadinessPoller) {
    this.channels = new FrameChannels(poller, encodeProgram(arpReplyFilter()), (frame, length) => this.receive(frame, length));
  }

  start(source: number, destination: number, done: ProbeDone): ProbeAttempt {
    const channel = this.channels.channelFor(source);
    if (typeof channel === "string") return failLater(channel, done);
    const entry: PendingArp = { source, channel, startedAt: performance.now(), done };
    const waiting = this.pending.get(destination);
    if (waiting) waiting.push(entry);
    else this.pending.set(destination, [entry]);
    channel.listen();
    const failure = channel.send(this.request, writeArpRequest(this.request, 0, channel.ownMac, source, destination));
    if (failure !== undefined) {
      this.remove(destination, entry);
      return failLater(failure, done);
    }
    return { cancel: () => this.remove(destination, entry), pendingCause: () => "no reply" };
  }

  close(): void {
    this.pending.clear();
    this.channels.close();
  }

  private receive(frame: Uint8Array, length: number): void {
    if (length < ARP_REPLY_LEN || read16(frame, ETH_TYPE) !== ETHERTYPE_ARP || read16(frame, ETH_HEADER_LEN + ARP_OP) !== ARP_OP_REPLY) return;
    const from = read32(frame, ETH_HEADER_LEN + ARP_SPA);
    const waiting = this.pending.get(from);
    if (!waiting) return;
    const to = read32(frame, ETH_HEADER_LEN + ARP_TPA);
    const now = performance.now();
    for (const entry of [...waiting]) {
      if (entry.source !== to) continue;
      this.remove(from, entry);
      entry.done({ ok: true, latencyMs: now - entry.startedAt });
    }
  }

  private remove(destination: number, entry: PendingArp): void {
    const waiting = this.pending.get(destination);
    const index = waiting?.indexOf(entry) ?? -1;
    if (index < 0) return;
    waiting!.splice(index, 1);
    if (waiting!.length === 0) this.pending.delete(destination);
    entry.channel.stopListening();
  }
}
