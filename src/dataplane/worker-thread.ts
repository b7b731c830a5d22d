// A data-plane worker thread: one AF_PACKET socket, the hot loop, nothing else. It never waits
// on anything but the socket (whose receive timeout lets it notice a new table or the stop
// flag); tables arrive over a MessagePort it drains synchronously between batches.
import { parentPort, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { openPacketIO } from "../../ffi/af-packet.ts";
import { monotonicMs } from "../../ffi/clock.ts";
import type { Settings } from "../config/model.ts";
import { recordBatch, workerBatchStats } from "./batch-stats.ts";
import { recordIoTotals, workerCounters } from "./counters.ts";
import { NeighbourTable } from "./neighbours.ts";
import { Processor } from "./process.ts";
import { SessionTable } from "./sessions.ts";
import { ForwardingTable } from "./table.ts";
import { TableSubscriber } from "./table-exchange.ts";

export interface WorkerStart {
  index: number;
  ifname: string;
  batchSize: number;
  /** `set io`: recvmmsg/sendmmsg batches or the PACKET_MMAP receive and send rings. */
  io: Settings["io"];
  /** PACKET_FANOUT group id when several workers share the interface. */
  fanoutGroup: number | undefined;
  exchange: SharedArrayBuffer;
  table: SharedArrayBuffer;
  sessions: SharedArrayBuffer;
  neighbours: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  batchStats: SharedArrayBuffer;
  /** Int32 word 0: set to 1 to stop. */
  control: SharedArrayBuffer;
  tables: MessagePort;
}

export type WorkerReport = { type: "ready" } | { type: "error"; message: string } | { type: "stopped" };

const STOP = 0;

export function createWorkerControl(): SharedArrayBuffer {
  return new SharedArrayBuffer(4);
}

export function requestStop(control: SharedArrayBuffer): void {
  Atomics.store(new Int32Array(control), STOP, 1);
}

function runWorker(start: WorkerStart): void {
  const control = new Int32Array(start.control);
  const io = openPacketIO({ ifname: start.ifname, batchSize: start.batchSize, fanoutGroup: start.fanoutGroup, io: start.io });
  const subscriber = new TableSubscriber(start.exchange, start.index, new ForwardingTable(start.table));
  const counters = workerCounters(start.counters, start.index);
  const processor = new Processor({
    rx: io.rx,
    tx: io.tx,
    table: subscriber.table,
    sessions: new SessionTable(start.sessions),
    neighbours: new NeighbourTable(start.neighbours),
    counters,
    clock: monotonicMs,
    randomSeed: (Date.now() ^ (start.index * 0x9e3779b1)) >>> 0,
  });
  const batchStats = workerBatchStats(start.batchStats, start.index);
  // The I/O's totals for the control side: one getsockopt for the kernel's drops, then copies.
  const reportIo = (): void => {
    io.collectKernelDrops();
    recordIoTotals(counters, io.stats);
  };
  parentPort!.postMessage({ type: "ready" } satisfies WorkerReport);
  let ioReportedAtS = -1;
  while (Atomics.load(control, STOP) === 0) {
    const received = io.receive();
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
    if (subscriber.hasNewer()) {
      for (let message = receiveMessageOnPort(start.tables); message; message = receiveMessageOnPort(start.tables)) {
        processor.setTable(subscriber.adopt(message.message as SharedArrayBuffer));
      }
    }
  }
  // The last second's losses too: the daemon reports what is left unreported when it stops.
  reportIo();
  io.close();
  parentPort!.postMessage({ type: "stopped" } satisfies WorkerReport);
}

if (parentPort) {
  parentPort.once("message", (start: WorkerStart) => {
    try {
      runWorker(start);
    } catch (error) {
      parentPort!.postMessage({ type: "error", message: error instanceof Error ? error.message : String(error) } satisfies WorkerReport);
    }
  });
}
