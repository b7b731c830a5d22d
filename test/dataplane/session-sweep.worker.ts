// Worker side of sessions.test.ts: sweeps buckets of a table another thread holds a lock of.
import { SessionTable } from "../../src/dataplane/sessions.ts";

declare const self: Worker;

export interface SweepRequest {
  buffer: SharedArrayBuffer;
  nowS: number;
  start: number;
  count: number;
}

self.onmessage = (event: MessageEvent<SweepRequest>) => {
  const { buffer, nowS, start, count } = event.data;
  self.postMessage(new SessionTable(buffer).sweepBuckets(nowS, start, count));
};
