// Session-table benchmark: RSS of a SessionTable made for 1,000,000 sessions and filled with
// 1,000,000 distinct clients through its API, and operations per second: creation of new
// sessions (bind into the empty table), lookups of existing ones (find), lookups of absent keys,
// and churn (bind of new clients into the full table, each replacing a bucket's oldest session).
//
// RSS is read in a fresh process (this module run as a child) so nothing else in it grows.
// Run alone: node_modules/.bin/bun bench/sessions.ts        (prints JSON)
import { SessionTable } from "../src/dataplane/sessions.ts";
import { BUN, formatBytes, formatCount, round, run, textTable, type Table } from "./lib.ts";

export const SESSIONS = 1_000_000;
const SERVER_ID = 1;
const TIMEOUT_S = 600;
const TARGETS = 8;
// A stride coprime with SESSIONS, so `i * STRIDE % SESSIONS` visits every client once in scrambled order.
const STRIDE = 7919;
const CLIENT_BASE = 0x0a000000; // 10.0.0.0: 1,000,000 distinct addresses from here on

export interface SessionsResult {
  sessions: number;
  /** Slots the table really has (capacity rounded up to whole 8-way buckets, a power of two). */
  slots: number;
  tableBytes: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  rssDeltaBytes: number;
  bytesPerSession: number;
  /** Sessions live after the inserts (the rest were evicted from full buckets). */
  liveAfterInsert: number;
  evictions: number;
  insertsPerSecond: number;
  lookupsPerSecond: number;
  lookupHitRatio: number;
  missesPerSecond: number;
  churnPerSecond: number;
}

function rss(): number {
  return process.memoryUsage().rss;
}

function measureInProcess(): SessionsResult {
  Bun.gc(true);
  const rssBefore = rss();
  const epochMs = Date.now();
  const nowS = 1;
  const table = SessionTable.create(SESSIONS, epochMs);

  let started = performance.now();
  for (let i = 0; i < SESSIONS; i++) {
    const client = (i * STRIDE) % SESSIONS;
    table.bind(SERVER_ID, (CLIENT_BASE + client) | 0, 0, nowS, TIMEOUT_S, 1 + (client % TARGETS), -1);
  }
  const insertSeconds = (performance.now() - started) / 1000;
  Bun.gc(true);
  const rssAfter = rss();
  const evictions = table.evictions;

  // Lookups of every client in another scrambled order: hits are the sessions still present.
  let hits = 0;
  started = performance.now();
  for (let i = 0; i < SESSIONS; i++) {
    const client = (i * 104729) % SESSIONS;
    if (table.find(SERVER_ID, (CLIENT_BASE + client) | 0, 0, nowS, TIMEOUT_S) >= 0) hits++;
  }
  const lookupSeconds = (performance.now() - started) / 1000;

  // Lookups of clients that were never inserted.
  let stray = 0;
  started = performance.now();
  for (let i = 0; i < SESSIONS; i++) {
    if (table.find(SERVER_ID, (0x0b000000 + ((i * STRIDE) % SESSIONS)) | 0, 0, nowS, TIMEOUT_S) >= 0) stray++;
  }
  const missSeconds = (performance.now() - started) / 1000;
  if (stray !== 0) throw new Error(`${stray} lookups of absent clients found a session`);

  // Churn: new clients into the full table, every bind replacing a live session.
  started = performance.now();
  for (let i = 0; i < SESSIONS; i++) {
    const client = (i * STRIDE) % SESSIONS;
    table.bind(SERVER_ID, (0x0c000000 + client) | 0, 0, nowS, TIMEOUT_S, 1 + (client % TARGETS), -1);
  }
  const churnSeconds = (performance.now() - started) / 1000;

  return {
    sessions: SESSIONS,
    slots: table.slotCount,
    tableBytes: table.buffer.byteLength,
    rssBeforeBytes: rssBefore,
    rssAfterBytes: rssAfter,
    rssDeltaBytes: rssAfter - rssBefore,
    bytesPerSession: (rssAfter - rssBefore) / SESSIONS,
    liveAfterInsert: SESSIONS - evictions,
    evictions,
    insertsPerSecond: SESSIONS / insertSeconds,
    lookupsPerSecond: SESSIONS / lookupSeconds,
    lookupHitRatio: hits / SESSIONS,
    missesPerSecond: SESSIONS / missSeconds,
    churnPerSecond: SESSIONS / churnSeconds,
  };
}

/** Runs the measurement in a fresh bun process and returns its result. */
export async function sessionsBenchmark(): Promise<SessionsResult> {
  const { stdout } = await run([BUN, import.meta.path, "--json"], { timeoutMs: 120_000 });
  return JSON.parse(stdout) as SessionsResult;
}

export function sessionsRows(result: SessionsResult): Table {
  return {
    header: ["measure", "value"],
    rows: [
      ["RSS growth for the table with 1,000,000 inserted", `${formatBytes(result.rssDeltaBytes)} (${round(result.bytesPerSession, 1)} B per session; the buffer is ${formatBytes(result.tableBytes)} for ${result.slots} slots)`],
      ["sessions still live after 1,000,000 inserts", `${result.liveAfterInsert} (${result.evictions} evicted from full 8-way buckets)`],
      ["creation of new sessions", `${formatCount(result.insertsPerSecond)}/s`],
      ["lookups of existing sessions", `${formatCount(result.lookupsPerSecond)}/s (${round(result.lookupHitRatio * 100, 1)} % hits)`],
      ["lookups of absent keys", `${formatCount(result.missesPerSecond)}/s`],
      ["new sessions into the full table (each evicts)", `${formatCount(result.churnPerSecond)}/s`],
    ],
  };
}

if (import.meta.main) {
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify(measureInProcess()));
  } else {
    const result = await sessionsBenchmark();
    console.log(textTable(sessionsRows(result)));
  }
}
