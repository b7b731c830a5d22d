// The data-plane side of the two-thread journal test: appends `records` records as fast as it
// can (each one's fields derived from its number, so a torn or misplaced record shows), either
// waiting for room when the ring is full (lossless) or dropping (counted as overflows).

import { JOURNAL_CREATED } from "../../src/dataplane/session-journal.ts";
import { SyncJournal } from "../../src/ha/sync-journal.ts";

declare const self: Worker;

export interface ProducerJob {
  journal: SharedArrayBuffer;
  /** Word 0: set by the worker when it is attached; word 1: set when it has appended everything. */
  control: SharedArrayBuffer;
  records: number;
  waitForRoom: boolean;
}

/** The fields of record `n`, as both threads compute them. */
export function recordFields(n: number): { serverId: number; clientIp: number; clientPort: number; targetId: number; timeS: number } {
  return { serverId: 1 + (n % 4095), clientIp: (Math.imul(n, 2654435761) ^ n) >>> 0, clientPort: n & 0xffff, targetId: 1 + ((n * 7) % 4095), timeS: n };
}

self.onmessage = (event: MessageEvent<ProducerJob>) => {
  const job = event.data;
  const journal = new SyncJournal(job.journal);
  const control = new Int32Array(job.control);
  Atomics.store(control, 0, 1);
  let dropped = 0;
  for (let n = 0; n < job.records; n++) {
    const { serverId, clientIp, clientPort, targetId, timeS } = recordFields(n);
    while (!journal.append(JOURNAL_CREATED, serverId, clientIp, clientPort, targetId, timeS)) {
      if (!job.waitForRoom) {
        dropped++;
        break;
      }
    }
  }
  Atomics.store(control, 1, 1);
  self.postMessage({ dropped });
};
