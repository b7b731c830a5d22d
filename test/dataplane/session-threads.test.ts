import { expect, test } from "bun:test";
import { setTimeout as sleep } from "node:timers/promises";
import { SessionTable } from "../../src/dataplane/sessions.ts";
import type { FlipJob } from "./session-flip.worker.ts";
import type { RaceJob } from "./session-race.worker.ts";

const CLIENTS = 50_000;

/** One race of two workers over the same new clients; returns the table and what each got. */
async function race(): Promise<{ sessions: SessionTable; results: Int32Array[] }> {
  // Room enough that no bucket overflows: an eviction would legitimately let a client rebind.
  const sessions = SessionTable.create(16 * CLIENTS, 0);
  const start = new SharedArrayBuffer(8);
  const results = [new SharedArrayBuffer(CLIENTS * 4), new SharedArrayBuffer(CLIENTS * 4)];
  const workers = [1, 2].map(() => new Worker(new URL("./session-race.worker.ts", import.meta.url).href, { type: "module" }));
  const done = workers.map((worker) => new Promise((resolve) => (worker.onmessage = resolve)));
  workers.forEach((worker, i) => {
    const job: RaceJob = { sessions: sessions.buffer, start, results: results[i]!, clients: CLIENTS, preferredTarget: i + 1, reverse: i === 1 };
    worker.postMessage(job);
  });
  const startWords = new Int32Array(start);
  while (Atomics.load(startWords, 1) < 2) await sleep(1);
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

test("a lookup racing a writer that rebinds its slot to another client never returns the other client's target", async () => {
  // Every flip is checked; a flip race in which the reader saw the slot change hands fewer
  // than FLIPS_SEEN times (the two threads took turns on one core instead of running at once)
  // is raced again.
  for (let attempt = 1; ; attempt++) {
    const { wrong, flipsSeen } = await flipRace();
    expect(wrong).toBe(0);
    if (flipsSeen >= FLIPS_SEEN) break;
    if (attempt === 5) throw new Error(`in 5 races the reader saw the slot change hands at most ${flipsSeen} times`);
  }
}, 60_000);

const FLIPS_SEEN = 10_000;

/**
 * One bucket: seven long-lived sessions fill seven of its eight slots, and a writer turns the
 * eighth from client A (target 1) to client B (target 2) and back while this thread looks both
 * up. A and B differ only in their address, so a lookup that read A's address before a rebind
 * and the target after it would give A target 2; the sequence number must make it miss instead.
 * Returns how many lookups got the other client's target, and how often the reader saw the slot
 * change from one client to the other.
 */
async function flipRace(): Promise<{ wrong: number; flipsSeen: number }> {
  const sessions = SessionTable.create(8, 0);
  for (let filler = 0; filler < 7; filler++) sessions.bind(1, 0x0b000000 + filler, 0, 0, 1 << 30, 3, -1);
  const clientA = 0x0a000001;
  const clientB = 0x0a000002;
  const control = new SharedArrayBuffer(8);
  const controlWords = new Int32Array(control);
  const worker = new Worker(new URL("./session-flip.worker.ts", import.meta.url).href, { type: "module" });
  const done = new Promise((resolve, reject) => {
    worker.onmessage = resolve;
    worker.onerror = (event) => reject(new Error(`flip writer failed: ${event.message}`));
  });
  let wrong = 0;
  let flipsSeen = 0;
  try {
    const job: FlipJob = { sessions: sessions.buffer, control, clients: [clientA, clientB], targets: [1, 2], rebinds: 4_000_000 };
    worker.postMessage(job);
    while (Atomics.load(controlWords, 0) === 0) await Promise.race([sleep(1), done]);
    // At session time 0 with an endless timeout: the lookups only read, never refresh last-seen.
    let lastHolder = 0;
    for (let lookups = 0; Atomics.load(controlWords, 1) === 0 && lookups < 8_000_000; lookups += 2) {
      const a = sessions.find(1, clientA, 0, 0, 1 << 30);
      const b = sessions.find(1, clientB, 0, 0, 1 << 30);
      if (a !== 1 && a !== -1) wrong++;
      if (b !== 2 && b !== -1) wrong++;
      const holder = a === 1 ? 1 : b === 2 ? 2 : 0;
      if (holder !== 0 && holder !== lastHolder) {
        if (lastHolder !== 0) flipsSeen++;
        lastHolder = holder;
      }
    }
    Atomics.store(controlWords, 1, 1);
    await done;
  } finally {
    Atomics.store(controlWords, 1, 1);
    worker.terminate();
  }
  expect(sessions.sessionsOfTarget(3)).toBe(7);
  return { wrong, flipsSeen };
}
