// A data-plane worker thread's entry (a composition root): it opens the packet I/O engine and
// runs the hot loop over it, nothing else. It never waits on anything but the socket (whose
// receive timeout lets it notice a new table or the stop word); tables arrive over a
// MessagePort it drains synchronously after each receive, before the frames are decided.
import { parentPort, receiveMessageOnPort } from "node:worker_threads";
import { openPacketIO } from "../../ffi/packet-io/open.ts";
import { monotonicMs } from "../../ffi/clock.ts";
import { recordBatch, workerBatchStats } from "../dataplane/batch-stats.ts";
import { recordIoTotals, workerCounters } from "../dataplane/counters.ts";
import { NeighbourTable } from "../dataplane/neighbours.ts";
import { Processor } from "../dataplane/process.ts";
import { SessionTable } from "../dataplane/sessions.ts";
import { ForwardingTable } from "../dataplane/table.ts";
import { TableSubscriber } from "../dataplane/table-exchange.ts";
import { TargetMetrics } from "../dataplane/target-metrics.ts";
import { SyncJournal } from "../ha/sync-journal.ts";
import { stopRequested, type TablesMessage, type WorkerReport, type WorkerStart } from "./worker-protocol.ts";

function runWorker(start: WorkerStart): void {
  const control = new Int32Array(start.control);
  const io = openPacketIO(start.io, {
    ifname: start.ifname,
    batchSize: start.batchSize,
    fanoutGroup: start.fanoutGroup,
    socketFilter: start.socketFilter,
    ...(start.xdpSocketMap === undefined ? {} : { xdp: { socketMap: start.xdpSocketMap, queue: start.index } }),
  });
  const subscriber = new TableSubscriber(start.exchange, start.index, new ForwardingTable(start.table));
  const counters = workerCounters(start.counters, start.index);
  const processor = new Processor({
    rx: io.rx,
    tx: io.tx,
    table: subscriber.table,
    sessions: new SessionTable(start.sessions),
    neighbours: new NeighbourTable(start.neighbours),
    counters,
    metrics: new TargetMetrics(start.targetMetrics),
    clock: monotonicMs,
    randomSeed: (Date.now() ^ (start.index * 0x9e3779b1)) >>> 0,
    ...(start.journalSessions ? { journal: new SyncJournal(start.journal) } : {}),
  });
  const batchStats = workerBatchStats(start.batchStats, start.index);
  // The I/O's totals for the control side: one getsockopt for the kernel's drops, then copies.
  const reportIo = (): void => {
    io.collectKernelDrops();
    recordIoTotals(counters, io.stats);
  };
  /** Takes what the control thread posted: new socket filters and tables, in order. */
  const adoptNewer = (): void => {
    for (let message = receiveMessageOnPort(start.tables); message; message = receiveMessageOnPort(start.tables)) {
      const posted = message.message as TablesMessage;
      if (posted instanceof SharedArrayBuffer) processor.setTable(subscriber.adopt(posted));
      else io.setSocketFilter(posted.socketFilter);
    }
  };
  parentPort!.postMessage({ type: "ready" } satisfies WorkerReport);
  let ioReportedAtS = -1;
  while (!stopRequested(control)) {
    const received = io.receive();
    // Between the receive and the decisions: the frames that woke an idle worker are decided by
    // the table published while it waited (a VRRP master's first ARP reply, a disabled server).
    if (subscriber.hasNewer()) adoptNewer();
    if (received > 0) {
      recordBatch(batchStats, received);
      processor.processBatch();
      if (io.tx.count > 0) io.send();
    }
    // Once a second while frames flow and on each idle receive timeout, never per batch.
    if (received === 0 || processor.batchSecond !== ioReportedAtS) {
      ioReportedAtS = processor.batchSecond;
      reportIo();
    }
  }
  // The last second's losses too: the daemon reports what is left unreported when it stops.
  reportIo();
  io.close();
  // Nothing else keeps the thread: it ends by itself, and the control side waits for that.
  start.tables.close();
  parentPort!.postMessage({ type: "stopped" } satisfies WorkerReport);
}

if (parentPort) {
  // `null`: a thread started ahead of need and not needed after all (dataplane-thread.ts) ends.
  parentPort.once("message", (start: WorkerStart | null) => {
    if (start === null) return;
    try {
      runWorker(start);
    } catch (error) {
      parentPort!.postMessage({ type: "error", message: error instanceof Error ? error.message : String(error) } satisfies WorkerReport);
    }
  });
}
