// Readiness of health-check sockets without ever blocking the thread: poll(2) with timeout 0
// from a timer, over every socket that has an attempt in flight.
//
// The timer runs only while something is watched, and its step grows with the age of the
// newest attempt: 1 ms just after a connect or echo was sent (answers on a LAN take well
// under a millisecond to a few), up to 10 ms for attempts that are still waiting. So a
// latency is measured to ~1 ms when the answer is quick, and a dead target costs at most
// 100 cheap poll calls a second for all of them together.
//
// Packet sockets whose frames are read by receiving until nothing waits (the ARP and DSR-path
// checks' filtered sockets) are drained on the same ticks instead of polled.
import { pollAll } from "../../ffi/inet-socket.ts";
import { POLLFD } from "../../ffi/layout.ts";

const MIN_STEP_MS = 1;
const MAX_STEP_MS = 10;

type ReadyHandler = (revents: number) => void;
interface Watch {
  fd: number;
  events: number;
  onReady: ReadyHandler;
}

export class ReadinessPoller {
  private readonly watches = new Map<number, Watch>();
  private readonly drains = new Set<() => void>();
  private pollFds = new Uint8Array(64 * POLLFD.size);
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastWorkMs = 0;

  /** Calls `onReady(revents)` on every tick where `fd` reports any of `events`, until unwatched. */
  watch(fd: number, events: number, onReady: ReadyHandler): void {
    this.watches.set(fd, { fd, events, onReady });
    this.lastWorkMs = performance.now();
    this.arm(MIN_STEP_MS);
  }

  unwatch(fd: number): void {
    this.watches.delete(fd);
  }

  /** Calls `drain()` on every tick, from the fast rate on, until stopDraining(drain). */
  drainEachTick(drain: () => void): void {
    this.drains.add(drain);
    this.lastWorkMs = performance.now();
    this.arm(MIN_STEP_MS);
  }

  stopDraining(drain: () => void): void {
    this.drains.delete(drain);
  }

  /** New work on an already watched socket: poll at the fast rate again. */
  poke(): void {
    this.lastWorkMs = performance.now();
    if (this.watches.size > 0 || this.drains.size > 0) this.arm(MIN_STEP_MS);
  }

  stop(): void {
    this.watches.clear();
    this.drains.clear();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(delayMs: number): void {
    if (this.timer !== undefined) {
      if (delayMs > MIN_STEP_MS) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => this.tick(), delayMs);
  }

  private tick(): void {
    this.timer = undefined;
    this.pollWatched();
    for (const drain of this.drains) drain();
    if (this.watches.size === 0 && this.drains.size === 0) return;
    const age = performance.now() - this.lastWorkMs;
    this.arm(Math.min(MAX_STEP_MS, Math.max(MIN_STEP_MS, Math.round(age / 4))));
  }

  private pollWatched(): void {
    const count = this.watches.size;
    if (count === 0) return;
    if (this.pollFds.length < count * POLLFD.size) this.pollFds = new Uint8Array(count * 2 * POLLFD.size);
    const view = new DataView(this.pollFds.buffer);
    const polled = [...this.watches.values()];
    polled.forEach((watch, index) => {
      const offset = index * POLLFD.size;
      view.setInt32(offset + POLLFD.fd, watch.fd, true);
      view.setInt16(offset + POLLFD.events, watch.events, true);
      view.setInt16(offset + POLLFD.revents, 0, true);
    });
    if (pollAll(this.pollFds, count) > 0) {
      polled.forEach((watch, index) => {
        const revents = view.getInt16(index * POLLFD.size + POLLFD.revents, true);
        // A handler may unwatch and close other descriptors, whose numbers a new watch can
        // reuse at once: only the very watch that was polled gets these revents.
        if (revents !== 0 && this.watches.get(watch.fd) === watch) watch.onReady(revents);
      });
    }
  }
}
