// One side of the two-thread session test: binds every client to its own preferred target as
// fast as it can, starting together with the other worker, and records what it got.

import { SessionTable } from "../../src/dataplane/sessions.ts";

declare const self: Worker;

export interface RaceJob {
  sessions: SharedArrayBuffer;
  start: SharedArrayBuffer;
  results: SharedArrayBuffer;
  clients: number;
  preferredTarget: number;
  /** Walk the clients from the last to the first, so two workers meet in the middle. */
  reverse: boolean;
}

self.onmessage = (event: MessageEvent<RaceJob>) => {
  const job = event.data;
  const table = new SessionTable(job.sessions);
  const results = new Int32Array(job.results);
  const start = new Int32Array(job.start);
  Atomics.add(start, 1, 1);
  Atomics.wait(start, 0, 0);
  for (let i = 0; i < job.clients; i++) {
    const client = job.reverse ? job.clients - 1 - i : i;
    const found = table.find(1, 0x0a000000 + client, 0, 1, 600);
    results[client] = found >= 0 ? found : table.bind(1, 0x0a000000 + client, 0, 1, 600, job.preferredTarget, -1);
  }
  self.postMessage("done");
};
