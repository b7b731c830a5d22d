import { expect, test } from "bun:test";
import { SessionTable } from "../../src/dataplane/sessions.ts";
import type { RaceJob } from "./session-race.worker.ts";

const CLIENTS = 50_000;

/** One race of two workers over the same new clients; returns the table and what each got. */
async function race(): Promise<{ sessions: SessionTable; results: Int32Array[] }> {
  // Room enough that no bucket overflows: an eviction would legitimately let a client rebind.
  const sessions = SessionTable.create(16 * CLIENTS, 0);
  const start = new SharedArrayBuffer(8);
  const results = [new SharedArrayBuffer(CLIENTS * 4), new SharedArrayBuffer(CLIENTS * 4)];
  const workers = [1, 2].map(() => new Worker(new URL("./session-race.worker.ts", import.meta.url).href));
  const done = workers.map((worker) => new Promise((resolve) => (worker.onmessage = resolve)));
  workers.forEach((worker, i) => {
    const job: RaceJob = { sessions: sessions.buffer, start, results: results[i]!, clients: CLIENTS, preferredTarget: i + 1, reverse: i === 1 };
    worker.postMessage(job);
  });
  const startWords = new Int32Array(start);
  while (Atomics.load(startWords, 1) < 2) await Bun.sleep(1);
  Atomics.store(startWords, 0, 1);
  Atomics.notify(startWords, 0);
  await Promise.all(done);
  for (const worker of workers) worker.terminate();
  return { sessions, results: results.map((buffer) => new Int32Array(buffer)) };
}

test("two workers meeting the same new clients at once agree on every client's target", async () => {
  // On a loaded machine one worker can finish before the other starts; race again (each race
  // is checked in full) until one shows both workers winning clients.
  for (let attempt = 1; ; attempt++) {
    const overlapped = checkRace(await race());
    if (overlapped) break;
    if (attempt === 5) throw new Error("in 5 races the workers never ran at the same time");
  }
});

/** Asserts a race's outcome; returns whether both workers won some clients. */
function checkRace({ sessions, results }: { sessions: SessionTable; results: Int32Array[] }): boolean {
  const [first, second] = results as [Int32Array, Int32Array];
  let disagreements = 0;
  for (let client = 0; client < CLIENTS; client++) {
    if (first[client] !== second[client] || sessions.find(1, 0x0a000000 + client, 0, 1, 600) !== first[client]) disagreements++;
  }
  expect(sessions.evictions).toBe(0);
  expect(disagreements).toBe(0);
  expect(sessions.sessionsOfTarget(1) + sessions.sessionsOfTarget(2)).toBe(CLIENTS);
  expect(sessions.sessionsOfServer(1)).toBe(CLIENTS);
  expect(sessions.created).toBe(CLIENTS);
  // Both workers won some races: the race exercised concurrency, not two sequential runs.
  return Math.min(sessions.sessionsOfTarget(1), sessions.sessionsOfTarget(2)) > 0;
}
