// bng doctor on the wire: its own packet sockets on the configuration's interface, so it works
// before `bng run` and beside a running bng alike (packet sockets coexist; each sees every frame
// its filter accepts, and none sees another's output on this box).
//
// - Every ARP frame is read for the whole run: replies to the doctor's requests (target and
//   gateway MACs), and any frame whose sender address is a VIP (a host that answers ARP for it,
//   or announces it in its own requests).
// - A `real` address that no interface holds (bng adds it when it starts) is answered for here:
//   a target must resolve it to send its SYN-ACK back. The doctor adds nothing to the box, so it
//   can never race `bng run` over that address (bng would take an address it found as the
//   operator's and never remove it; the doctor would remove it under a bng that started meanwhile).
// - The SYN to VIP:port in a frame to the target's MAC is the `dsrcheck` probe itself
//   (src/health/dsr-probe.ts), pointed at this interface.
// - The gateway's ping is an echo request frame, read back through a filtered socket: an ICMP
//   socket cannot send from an address the box does not hold.
import { interfaceWithAddress } from "../../ffi/interface-addresses.ts";
import { arpFilter, encodeProgram, ipv4ProtocolFilter } from "../bpf/classic.ts";
import { ipToString } from "../config/model.ts";
import { writeArpReplyFromRequest, writeArpRequest } from "../dataplane/arp.ts";
import { ARP_OP, ARP_OP_REPLY, ARP_OP_REQUEST, ARP_SPA, ARP_TPA, ETH_HEADER_LEN, ETH_SRC, ETH_TYPE, ETHERTYPE_ARP, formatMac, IPPROTO_ICMP, read16, read32, readMacHigh, readMacLow } from "../dataplane/frame.ts";
import { DsrProber } from "../health/dsr-probe.ts";
import { FrameChannel } from "../health/frame-channel.ts";
import { ReadinessPoller } from "../health/readiness.ts";
import { type Echo, readEchoReply, writeEchoRequest } from "./echo-frame.ts";

/** How a SYN to an address and port in a frame to a MAC was answered. */
export type SynOutcome = { kind: "syn-ack"; ms: number } | { kind: "rst" } | { kind: "silent" } | { kind: "error"; cause: string };

export type PingOutcome = { kind: "reply"; ms: number } | { kind: "silent" } | { kind: "error"; cause: string };

/** An ARP frame seen: who sent it (sender address, Ethernet source), to whom, and whether it was a reply. */
export interface ArpSighting {
  sender: number;
  target: number;
  mac: string;
  macBytes: Uint8Array;
  reply: boolean;
}

const ARP_FRAME_MIN = ETH_HEADER_LEN + ARP_TPA + 4;
/** Sightings kept at most: a segment full of ARP (a flood) must not grow the doctor's memory. */
const MAX_SIGHTINGS = 4096;

export class DoctorLink {
  readonly ownMac: Uint8Array;
  private readonly poller = new ReadinessPoller();
  private readonly arp: FrameChannel;
  private readonly dsr: DsrProber;
  private readonly sightings = new Map<string, ArpSighting>();
  /** The `real` addresses no interface holds: the doctor answers ARP for them. */
  private readonly answered: ReadonlySet<number>;
  private readonly frame = new Uint8Array(64);
  /** Echo reply channels by `real` address, and the pings waiting by identifier. */
  private readonly echoChannels = new Map<number, FrameChannel>();
  private readonly echoWaiters = new Map<number, (echo: Echo) => void>();
  private readonly echo: Echo = { srcIp: 0, dstIp: 0, identifier: 0, sequence: 0 };
  private ipId = Math.floor(Math.random() * 0x10000);

  /** Opens the sockets on `ifname` for frames from the `reals`; throws when the interface cannot be used. */
  constructor(
    readonly ifname: string,
    reals: readonly number[],
  ) {
    this.answered = new Set(reals.filter((real) => interfaceWithAddress(real) === undefined));
    this.arp = new FrameChannel(this.poller, ifname, encodeProgram(arpFilter()), (frame, length) => this.receiveArp(frame, length));
    this.ownMac = this.arp.ownMac;
    this.dsr = new DsrProber(this.poller, () => ifname);
    this.arp.listen();
  }

  /** Whether the doctor answers ARP for `real` (no interface of this box holds it). */
  answersFor(real: number): boolean {
    return this.answered.has(real);
  }

  /** Broadcasts "who has `address`, tell `real`". */
  askArp(real: number, address: number): string | undefined {
    return this.arp.send(this.frame, writeArpRequest(this.frame, 0, this.ownMac, real, address));
  }

  /** Every distinct ARP frame seen since the link opened. */
  arpSightings(): ArpSighting[] {
    return [...this.sightings.values()];
  }

  /** A SYN from `real` to `address:port` in a frame to `mac`; silent when nothing answers within `timeoutMs`. */
  syn(real: number, address: number, port: number, mac: Uint8Array, timeoutMs: number): Promise<SynOutcome> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        attempt.cancel();
        resolve({ kind: "silent" });
      }, timeoutMs);
      const attempt = this.dsr.start(real, { vips: [address], mac }, port, (result) => {
        clearTimeout(timer);
        if (result.ok) resolve({ kind: "syn-ack", ms: result.latencyMs });
        else resolve(result.refused ? { kind: "rst" } : { kind: "error", cause: result.cause });
      });
    });
  }

  /** Echo requests from `real` to `address` in frames to `mac`, one every `spacingMs`, until a reply or `timeoutMs`. */
  ping(real: number, address: number, mac: Uint8Array, spacingMs: number, timeoutMs: number): Promise<PingOutcome> {
    const channel = this.echoChannel(real);
    if (typeof channel === "string") return Promise.resolve({ kind: "error", cause: channel });
    let identifier: number;
    do identifier = Math.floor(Math.random() * 0x10000);
    while (this.echoWaiters.has(identifier));
    const startedAt = performance.now();
    return new Promise<PingOutcome>((resolve) => {
      const finish = (outcome: PingOutcome) => {
        clearInterval(resend);
        clearTimeout(timer);
        this.echoWaiters.delete(identifier);
        channel.stopListening();
        resolve(outcome);
      };
      this.echoWaiters.set(identifier, (echo) => {
        if (echo.srcIp === address && echo.dstIp === real) finish({ kind: "reply", ms: performance.now() - startedAt });
      });
      channel.listen();
      let sequence = 0;
      const send = () => {
        this.ipId = (this.ipId + 1) & 0xffff;
        const length = writeEchoRequest(this.frame, { dstMac: mac, srcMac: this.ownMac, ipId: this.ipId }, { srcIp: real, dstIp: address, identifier, sequence: ++sequence });
        const failure = channel.send(this.frame, length);
        if (failure !== undefined) finish({ kind: "error", cause: `cannot send to ${ipToString(address)}: ${failure}` });
      };
      const resend = setInterval(send, spacingMs);
      const timer = setTimeout(() => finish({ kind: "silent" }), timeoutMs);
      send();
    });
  }

  /** The channel for echo replies to `real`, opened on first use and kept until close(), or why it cannot open. */
  private echoChannel(real: number): FrameChannel | string {
    const open = this.echoChannels.get(real);
    if (open) return open;
    try {
      const channel = new FrameChannel(this.poller, this.ifname, encodeProgram(ipv4ProtocolFilter(IPPROTO_ICMP, real)), (frame, length) => {
        if (readEchoReply(frame, length, this.echo)) this.echoWaiters.get(this.echo.identifier)?.(this.echo);
      });
      this.echoChannels.set(real, channel);
      return channel;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  close(): void {
    for (const channel of this.echoChannels.values()) channel.close();
    this.arp.close();
    this.dsr.close();
    this.poller.stop();
  }

  private receiveArp(frame: Uint8Array, length: number): void {
    if (length < ARP_FRAME_MIN || read16(frame, ETH_TYPE) !== ETHERTYPE_ARP) return;
    const op = read16(frame, ETH_HEADER_LEN + ARP_OP);
    const sender = read32(frame, ETH_HEADER_LEN + ARP_SPA);
    const target = read32(frame, ETH_HEADER_LEN + ARP_TPA);
    if (op === ARP_OP_REQUEST && this.answered.has(target)) {
      const reply = new Uint8Array(64);
      const replyLength = writeArpReplyFromRequest(frame, 0, reply, 0, readMacHigh(this.ownMac, 0), readMacLow(this.ownMac, 0), target);
      this.arp.send(reply, replyLength);
    }
    if (op !== ARP_OP_REQUEST && op !== ARP_OP_REPLY) return;
    const macBytes = frame.slice(ETH_SRC, ETH_SRC + 6);
    const mac = formatMac(macBytes);
    const reply = op === ARP_OP_REPLY;
    const key = `${sender}/${target}/${mac}/${reply}`;
    if (!this.sightings.has(key) && this.sightings.size < MAX_SIGHTINGS) this.sightings.set(key, { sender, target, mac, macBytes, reply });
  }
}
