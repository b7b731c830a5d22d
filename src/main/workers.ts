// Starts the data-plane worker threads (worker.ts), hands them the shared structures once,
// publishes forwarding tables to them, and stops them. What the kernel hands the workers follows
// the tables' VIP set (vip-follower.ts): a new socket filter goes to the workers beside the first
// table whose VIPs differ, or the XDP program's VIP map changes.
import { MessageChannel, type MessagePort } from "node:worker_threads";
import type { PacketEngine } from "../config/model.ts";
import type { Dataplane, SharedStructures } from "../control/dependencies.ts";
import type { XdpRedirect } from "../host/xdp-redirect.ts";
import type { Logger } from "../log/logger.ts";
import type { ForwardingTable } from "../dataplane/table.ts";
import { createTableExchange, TablePublisher } from "../dataplane/table-exchange.ts";
import { followWithSocketFilters, followWithXdp } from "./vip-follower.ts";
import { DataplaneThread, type EarlyThread } from "./dataplane-thread.ts";
import { createWorkerControl, requestStop, type TablesMessage, type WorkerStart } from "./worker-protocol.ts";

export interface WorkerOptions {
  ifname: string;
  workers: number;
  batchSize: number;
  io: PacketEngine;
  /** `set io xdp`: the attached XDP program, whose socket map the workers' sockets join. */
  xdp?: Pick<XdpRedirect, "socketMap" | "setVips">;
  table: ForwardingTable;
  shared: SharedStructures;
  /** Record the sessions each worker creates in its journal (a `vrrp` sync peer streams them). */
  journalSessions: boolean;
  /** Called when a worker dies after it started (its socket failed): the daemon must stop. */
  onFailure(message: string): void;
  logger: Logger;
  /** A thread created before the configuration was read: the first worker takes it. */
  earlyThread?: EarlyThread;
}

/** How long stop() waits for the workers' stop reports, then for their threads to end. */
const STOP_REPORT_MS = 800;
const EXIT_MS = 1000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startWorkers(options: WorkerOptions): Promise<Dataplane> {
  const exchange = createTableExchange(options.workers);
  const control = createWorkerControl();
  const publisher = new TablePublisher(exchange);
  publisher.publish(options.table);
  const vips = options.xdp ? followWithXdp(options.table, options.xdp, options.logger) : followWithSocketFilters(options.table, options.logger);
  const fanoutGroup = options.workers > 1 ? process.pid & 0xffff : undefined;
  const running: { thread: DataplaneThread; tables: MessagePort }[] = [];
  let stopping = false;
  const started = Array.from({ length: options.workers }, (_, index) => {
    const thread = (index === 0 ? options.earlyThread?.take() : undefined) ?? new DataplaneThread();
    const channel = new MessageChannel();
    running.push({ thread, tables: channel.port1 });
    const start: WorkerStart = {
      index,
      ifname: options.ifname,
      batchSize: options.batchSize,
      io: options.io,
      fanoutGroup,
      socketFilter: vips.socketFilter,
      xdpSocketMap: options.xdp?.socketMap,
      exchange,
      table: options.table.buffer,
      sessions: options.shared.sessions,
      neighbours: options.shared.neighbours,
      counters: options.shared.counters,
      targetMetrics: options.shared.targetMetrics,
      batchStats: options.shared.batchStats,
      journal: options.shared.journals[index]!,
      journalSessions: options.journalSessions,
      control,
      tables: channel.port2,
    };
    thread.start(start, ({ how, message }) => {
      if (!stopping) options.onFailure(`data-plane worker ${index} ${how}: ${message}`);
    });
    return thread.ready;
  });
  const stop = async () => {
    stopping = true;
    requestStop(control);
    // A worker notices the flag within one receive timeout and its thread then ends by itself;
    // terminate is the backstop for a thread still running after that, never called on one that
    // ended: on Bun its promise then never settles (bng with two workers hung in stop), and
    // calling it there crashed Bun (a segfault after dozens of workers in one process).
    await Promise.race([Promise.all(running.map((entry) => entry.thread.stopped)), delay(STOP_REPORT_MS)]);
    const allExited = () => Promise.race([Promise.all(running.map((entry) => entry.thread.exited)), delay(EXIT_MS)]);
    await allExited();
    for (const entry of running) if (!entry.thread.hasExited) entry.thread.terminate();
    await allExited();
    for (const entry of running) entry.tables.close();
  };
  try {
    await Promise.all(started);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    engine: options.io,
    publish(table: ForwardingTable): void {
      const changed = vips.follow(table);
      publisher.publish(table);
      const messages: TablesMessage[] = changed === undefined ? [table.buffer] : [{ socketFilter: changed }, table.buffer];
      for (const entry of running) for (const message of messages) entry.tables.postMessage(message);
    },
    stop,
  };
}
