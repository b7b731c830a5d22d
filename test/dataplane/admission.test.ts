// The new-session budget (`set newsessions`, admission.ts): per second, for all workers together.

import { describe, expect, test } from "bun:test";
import { SessionAdmission } from "../../src/dataplane/admission.ts";
import { SessionTable } from "../../src/dataplane/sessions.ts";
import type { AdmissionJob } from "./admission.worker.ts";

describe("new-session admission", () => {
  test("the budget is per second for all workers together: two workers' admissions add up to it exactly", () => {
    const table = SessionTable.create(1024, 0);
    const workers = [new SessionAdmission(table.admissionWords), new SessionAdmission(table.admissionWords)];
    for (const second of [4, 5]) {
      let admitted = 0;
      for (let i = 0; i < 1000; i++) if (workers[i % 2]!.admit(second, 150)) admitted++;
      expect(admitted).toBe(150);
    }
    // A worker whose batch began in the previous second spends from the current one.
    expect(workers[0]!.admit(6, 150)).toBe(true);
    expect(workers[1]!.admit(5, 150)).toBe(true);
    // The last refusal was in second 5.
    expect(workers[1]!.refusedWithin(5, 1)).toBe(true);
    expect(workers[1]!.refusedWithin(6, 1)).toBe(false);
    expect(workers[0]!.refusedWithin(6, 2)).toBe(true);
  });

  test("two threads spending one second's budget at once get exactly the budget between them", async () => {
    const sessions = SessionTable.create(1024, 0);
    const start = new SharedArrayBuffer(8);
    const perSecond = 100_000;
    const threads = [1, 2].map(() => new Worker(new URL("./admission.worker.ts", import.meta.url).href, { type: "module" }));
    const counts = threads.map((worker) => new Promise<number>((resolve) => (worker.onmessage = (event: MessageEvent<number>) => resolve(event.data))));
    for (const worker of threads) worker.postMessage({ sessions: sessions.buffer, start, attempts: 200_000, perSecond } satisfies AdmissionJob);
    const startWords = new Int32Array(start);
    while (Atomics.load(startWords, 1) < 2) await new Promise((resolve) => setTimeout(resolve, 1));
    Atomics.store(startWords, 0, 1);
    Atomics.notify(startWords, 0);
    const [first, second] = await Promise.all(counts);
    for (const worker of threads) worker.terminate();
    expect(first! + second!).toBe(perSecond);
  });
});
