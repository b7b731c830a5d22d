// One worker of the two-thread admission test: asks the shared budget for new sessions of one
// second as fast as it can, starting together with the other, and reports how many it got.

import { SessionAdmission } from "../../src/dataplane/admission.ts";
import { SessionTable } from "../../src/dataplane/sessions.ts";

declare const self: Worker;

export interface AdmissionJob {
  sessions: SharedArrayBuffer;
  start: SharedArrayBuffer;
  attempts: number;
  perSecond: number;
}

self.onmessage = (event: MessageEvent<AdmissionJob>) => {
  const job = event.data;
  const admission = new SessionAdmission(new SessionTable(job.sessions).admissionWords);
  const start = new Int32Array(job.start);
  Atomics.add(start, 1, 1);
  Atomics.wait(start, 0, 0);
  let admitted = 0;
  for (let i = 0; i < job.attempts; i++) if (admission.admit(7, job.perSecond)) admitted++;
  self.postMessage(admitted);
};
