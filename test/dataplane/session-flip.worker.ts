// The writer of the torn-read test: rebinds one slot of a one-bucket table back and forth
// between two clients, each to its own target, as fast as it can, while the test reads.

import { SessionTable } from "../../src/dataplane/sessions.ts";

declare const self: Worker;

export interface FlipJob {
  sessions: SharedArrayBuffer;
  /** Word 0: the writer has started. Word 1: stop; the reader sets it to stop the writer, the writer when it is done. */
  control: SharedArrayBuffer;
  clients: [number, number];
  targets: [number, number];
  /** Rebinds before the writer stops by itself. */
  rebinds: number;
}

self.onmessage = (event: MessageEvent<FlipJob>) => {
  const job = event.data;
  const table = new SessionTable(job.sessions);
  const control = new Int32Array(job.control);
  Atomics.store(control, 0, 1);
  // Each binding lasts one second of session time (timeout 1) and the clock moves on a second
  // per rebind, so the client bound before has expired and its slot is the one reused.
  for (let step = 1; step <= job.rebinds && Atomics.load(control, 1) === 0; step++) {
    const side = step & 1;
    table.bind(1, job.clients[side]!, 0, step, 1, job.targets[side]!, -1);
  }
  Atomics.store(control, 1, 1);
  self.postMessage("done");
};
