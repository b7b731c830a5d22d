// The link-layer side of the checks that send their own frames (`arp`, `dsrcheck`): on the
// interface that holds the `real` address, a packet socket whose classic BPF filter lets the
// kernel queue only the answers the check can use, and a frame sender. The socket is read on
// the readiness poller's ticks while an attempt waits; what queued while none waited is
// dropped when the next one starts, so an old answer never passes for a new one.
import { SyscallError } from "../../ffi/errors.ts";
import { openFilteredSocket, type FilteredSocket } from "../../ffi/filtered-socket.ts";
import { openFrameSender, type FrameSender } from "../../ffi/frame-sender.ts";
import { describeErrno } from "../../ffi/inet-socket.ts";
import { interfaceWithAddress } from "../../ffi/interface-addresses.ts";
import { interfaceMac } from "../../ffi/interface.ts";
import { ipToString } from "../config/model.ts";
import type { ReadinessPoller } from "./readiness.ts";

/** Room for any answer the filters let through (ARP, a TCP header); longer frames are cut. */
const FRAME_BUFFER = 256;

export type FrameHandler = (frame: Uint8Array, length: number) => void;

export class FrameChannel {
  /** The interface's MAC when the channel opened: the source of what it sends. */
  readonly ownMac: Uint8Array;
  /** Set when receiving failed (interface gone or down): the next attempt opens a new channel. */
  broken = false;
  private readonly socket: FilteredSocket;
  private readonly sender: FrameSender;
  private readonly buffer = new Uint8Array(FRAME_BUFFER);
  private listeners = 0;
  private readonly drain = () => this.receiveAll();

  constructor(
    private readonly poller: ReadinessPoller,
    readonly ifname: string,
    filter: Uint8Array,
    private readonly onFrame: FrameHandler,
  ) {
    this.ownMac = interfaceMac(ifname);
    this.socket = openFilteredSocket(ifname, filter);
    try {
      this.sender = openFrameSender(ifname);
    } catch (error) {
      this.socket.close();
      throw error;
    }
  }

  /** An attempt starts waiting for answers (call before sending); until stopListening, frames are read on every tick. */
  listen(): void {
    if (this.listeners++ > 0) return;
    this.receiveAll(true);
    this.poller.drainEachTick(this.drain);
  }

  stopListening(): void {
    if (--this.listeners > 0) return;
    this.listeners = 0;
    this.poller.stopDraining(this.drain);
  }

  /** Sends a whole Ethernet frame; returns why not when the kernel refused it. */
  send(frame: Uint8Array, length: number): string | undefined {
    try {
      this.sender.send(frame, length);
      return undefined;
    } catch (error) {
      if (error instanceof SyscallError) return describeErrno(error.errno);
      throw error;
    }
  }

  close(): void {
    this.poller.stopDraining(this.drain);
    this.socket.close();
    this.sender.close();
  }

  private receiveAll(discard = false): void {
    if (this.broken) return;
    try {
      for (let length = this.socket.receive(this.buffer); length > 0; length = this.socket.receive(this.buffer)) {
        if (!discard) this.onFrame(this.buffer, Math.min(length, FRAME_BUFFER));
      }
    } catch (error) {
      if (!(error instanceof SyscallError)) throw error;
      this.broken = true;
    }
  }
}

/** Which interface frames from a source address go out of; undefined when none. */
export type InterfaceLocator = (source: number) => string | undefined;

/** One channel per `real` address (so per interface and purpose), opened on first use. */
export class FrameChannels {
  private readonly channels = new Map<number, FrameChannel>();

  /**
   * `locate` finds a source's interface: by default the one that holds the address (the
   * daemon's case); `bng doctor` names the configuration's interface, as the address may be on
   * none before `bng run` adds it.
   */
  constructor(
    private readonly poller: ReadinessPoller,
    private readonly filter: Uint8Array,
    private readonly onFrame: FrameHandler,
    private readonly locate: InterfaceLocator = interfaceWithAddress,
  ) {}

  /** The channel for frames from `source`, or why there is none (the message becomes the attempt's cause). */
  channelFor(source: number): FrameChannel | string {
    const open = this.channels.get(source);
    if (open && !open.broken) return open;
    if (open) {
      open.close();
      this.channels.delete(source);
    }
    const ifname = this.locate(source);
    if (ifname === undefined) return `no interface holds ${ipToString(source)}`;
    try {
      const channel = new FrameChannel(this.poller, ifname, this.filter, this.onFrame);
      this.channels.set(source, channel);
      return channel;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  close(): void {
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
  }
}
