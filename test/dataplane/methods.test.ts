import { describe, expect, test } from "bun:test";
import type { Method } from "../../src/config/model.ts";
import { hashPair } from "../../src/dataplane/select/hash.ts";
import { fillMaglevTable, maglevSlot } from "../../src/dataplane/select/maglev.ts";
import { TargetSelector } from "../../src/dataplane/select/select.ts";
import { SessionTable } from "../../src/dataplane/sessions.ts";
import { TargetMetrics } from "../../src/dataplane/target-metrics.ts";
import { buildForwardingTable, type ForwardingTable, type TargetRuntime } from "../../src/dataplane/table.ts";
import { S_MAGLEV_AT, S_MAGLEV_SIZE, T_ID } from "../../src/dataplane/table-layout.ts";
import { config, type TargetSpec } from "../fixtures/config.ts";
import { mac } from "../fixtures/frames.ts";

const CLIENTS = 100_000;
const WEIGHTS = [1, 2, 3, 4];

function targets(weights: number[]): TargetSpec[] {
  return weights.map((weight, i) => ({ id: i + 1, ipaddr: `10.0.1.${i + 1}`, weight }));
}

function runtime(ids: number[], down: number[] = []): Map<number, TargetRuntime> {
  return new Map(ids.map((id) => [id, { mac: mac(`02:00:00:00:0b:${id.toString(16).padStart(2, "0")}`), state: down.includes(id) ? "down" : "up" }]));
}

function tableFor(method: Method, specs: TargetSpec[], down: number[] = [], maglevSize = 65537): ForwardingTable {
  const ids = specs.map((t) => t.id);
  return buildForwardingTable({
    config: config([{ id: 1, ipaddr: "10.0.0.10", port: 80, targets: ids, method }], specs, maglevSize),
    ownMac: mac("02:00:00:00:00:01"),
    targets: runtime(ids, down),
  });
}

/** Synthetic client n: spread over the address space like real clients, all distinct. */
function client(n: number): number {
  return (0x0b000000 + Math.imul(n, 2654435761)) >>> 0;
}

/** Target id chosen for each of CLIENTS new clients. */
function assignments(table: ForwardingTable, selector = new TargetSelector(SessionTable.create(8, 0), TargetMetrics.create(), 42)): Int32Array {
  const chosen = new Int32Array(CLIENTS);
  for (let n = 0; n < CLIENTS; n++) chosen[n] = table.field(table.targetAt(selector.select(table, 0, client(n), 0)), T_ID);
  return chosen;
}

function shares(chosen: Int32Array, targetCount: number): number[] {
  const counts = new Array<number>(targetCount).fill(0);
  for (const id of chosen) counts[id - 1]!++;
  return counts.map((c) => c / chosen.length);
}

function expectWithin(actual: number[], expected: number[], tolerance: number): void {
  actual.forEach((share, i) => expect(Math.abs(share - expected[i]!)).toBeLessThanOrEqual(tolerance));
}

const weightShares = WEIGHTS.map((w) => w / WEIGHTS.reduce((a, b) => a + b, 0));
const equalShares = WEIGHTS.map(() => 1 / WEIGHTS.length);

describe("selection methods over 100,000 new clients land within ±2 % of the weights", () => {
  const cases: [Method, number[]][] = [
    ["rr", equalShares],
    ["random", equalShares],
    ["hash", equalShares],
    ["wrr", weightShares],
    ["wrandom", weightShares],
    ["maglev", weightShares],
  ];
  for (const [method, expected] of cases) {
    test(method, () => expectWithin(shares(assignments(tableFor(method, targets(WEIGHTS))), WEIGHTS.length), expected, 0.02));
  }

  test("rr and wrr are exact over whole cycles", () => {
    expect(shares(assignments(tableFor("rr", targets(WEIGHTS))), 4)).toEqual(equalShares);
    expect(shares(assignments(tableFor("wrr", targets(WEIGHTS))), 4)).toEqual(weightShares);
  });

  test("wrr interleaves targets instead of sending each one's weight in a row", () => {
    const chosen = assignments(tableFor("wrr", targets([5, 5])));
    let longestRun = 1;
    for (let n = 1, run = 1; n < 100; n++) longestRun = Math.max(longestRun, (run = chosen[n] === chosen[n - 1] ? run + 1 : 1));
    expect(longestRun).toBeLessThan(5);
  });
});

describe("other methods", () => {
  test("hash is stable per client and skips targets that are not up", () => {
    const table = tableFor("hash", targets([1, 1, 1]));
    const again = assignments(table);
    expect(assignments(tableFor("hash", targets([1, 1, 1])))).toEqual(again);
    const withoutTwo = assignments(tableFor("hash", targets([1, 1, 1]), [2]));
    expect(withoutTwo.includes(2)).toBe(false);
  });

  test("first picks the first operational target in list order", () => {
    expect(new Set(assignments(tableFor("first", targets([1, 1, 1]))))).toEqual(new Set([1]));
    expect(new Set(assignments(tableFor("first", targets([1, 1, 1]), [1])))).toEqual(new Set([2]));
  });

  test("session (least sessions) picks the target with the fewest sessions, first on a tie", () => {
    const sessions = SessionTable.create(1024, 0);
    const table = tableFor("session", targets([1, 1, 1]));
    const selector = new TargetSelector(sessions, TargetMetrics.create(), 1);
    const pick = (clientIp: number): number => table.field(table.targetAt(selector.select(table, 0, clientIp, 0)), T_ID);
    for (let n = 1; n <= 5; n++) sessions.bind(1, n, 0, 0, 600, 1, -1);
    sessions.bind(1, 6, 0, 0, 600, 2, -1);
    expect(pick(100)).toBe(3);
    sessions.bind(1, 7, 0, 0, 600, 3, -1);
    expect(pick(101)).toBe(2);
    for (let n = 0; n < 30; n++) {
      const chosen = pick(200 + n);
      sessions.bind(1, 200 + n, 0, 0, 600, chosen, -1);
    }
    // 7 sessions before, 30 placed by the method: levelled out, ties broken towards the first.
    expect([1, 2, 3].map((id) => sessions.sessionsOfTarget(id))).toEqual([13, 12, 12]);
  });
});

describe("agent and bandwidth: the least measured target, read from the shared metrics", () => {
  function picker(method: "agent" | "bandwidth", down: number[] = []) {
    const metrics = TargetMetrics.create();
    const table = tableFor(method, targets([1, 1, 1, 1]), down);
    const selector = new TargetSelector(SessionTable.create(8, 0), metrics, 1);
    const pick = (): number => table.field(table.targetAt(selector.select(table, 0, 1, 0)), T_ID);
    return { metrics, pick, picks: (n: number) => Array.from({ length: n }, pick) };
  }

  test("agent: the least reported load wins, and follows each new report", () => {
    const { metrics, pick, picks } = picker("agent");
    [0.9, 0.25, 3.5, 1].forEach((load, i) => metrics.setLoad(i + 1, load));
    expect(new Set(picks(20))).toEqual(new Set([2]));
    metrics.setLoad(4, 0.1);
    expect(pick()).toBe(4);
  });

  test("agent: a target without a load counts as the highest; equal loads take turns", () => {
    const { metrics, picks } = picker("agent");
    // No load anywhere yet: all equal, so they take turns instead of the first taking all.
    expect(new Set(picks(8))).toEqual(new Set([1, 2, 3, 4]));
    metrics.setLoad(3, 1_000_000);
    expect(new Set(picks(8))).toEqual(new Set([3]));
    metrics.setLoad(1, 2);
    metrics.setLoad(2, 2);
    expect(picks(8).sort()).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
    // A replaced target forgets its load.
    metrics.setLoad(1, undefined);
    expect(new Set(picks(8))).toEqual(new Set([2]));
  });

  test("agent: only active targets count, however low a down target's load", () => {
    const { metrics, picks } = picker("agent", [2]);
    [5, 0, 4, 6].forEach((load, i) => metrics.setLoad(i + 1, load));
    expect(new Set(picks(8))).toEqual(new Set([3]));
  });

  test("bandwidth: the fewest bytes a second wins; idle targets take turns", () => {
    const { metrics, pick, picks } = picker("bandwidth");
    expect(new Set(picks(8))).toEqual(new Set([1, 2, 3, 4]));
    [5e6, 2e6, 1e3, 7e5].forEach((rate, i) => metrics.setBandwidth(i + 1, rate));
    expect(new Set(picks(8))).toEqual(new Set([3]));
    metrics.setBandwidth(3, 9e6);
    expect(pick()).toBe(4);
  });
});

describe("maglev", () => {
  function maglevEntries(table: ForwardingTable): Uint16Array {
    const serverAt = table.serverAt(0);
    const at = table.field(serverAt, S_MAGLEV_AT);
    return table.maglev.slice(at, at + table.field(serverAt, S_MAGLEV_SIZE));
  }

  test("removing 1 of 10 targets moves at most 12 % of clients", () => {
    const ten = targets(new Array(10).fill(1));
    const before = assignments(tableFor("maglev", ten));
    const after = assignments(tableFor("maglev", ten, [4]));
    let moved = 0;
    let movedFromOthers = 0;
    for (let n = 0; n < CLIENTS; n++) {
      if (before[n] === after[n]) continue;
      moved++;
      if (before[n] !== 4) movedFromOthers++;
    }
    expect(moved / CLIENTS).toBeLessThanOrEqual(0.12);
    expect(moved / CLIENTS).toBeGreaterThanOrEqual(0.09); // at least the removed target's share
    expect(movedFromOthers / CLIENTS).toBeLessThan(0.02);
  });

  test("two independent builds from the same config give identical tables", () => {
    const first = maglevEntries(tableFor("maglev", targets(WEIGHTS)));
    const second = maglevEntries(tableFor("maglev", targets(WEIGHTS)));
    expect(first.length).toBe(65537);
    expect(Buffer.from(first.buffer).equals(Buffer.from(second.buffer))).toBe(true);
  });

  test("target numbering and list order do not change where clients go", () => {
    const specs = targets([1, 1, 2, 3, 5]);
    const renumbered = specs.map((t, i) => ({ ...t, id: 50 - i })).reverse();
    const original = assignments(tableFor("maglev", specs));
    const other = assignments(tableFor("maglev", renumbered));
    const byAddress = (table: TargetSpec[], id: number) => table.find((t) => t.id === id)!.ipaddr;
    let differences = 0;
    for (let n = 0; n < CLIENTS; n++) if (byAddress(specs, original[n]!) !== byAddress(renumbered, other[n]!)) differences++;
    expect(differences).toBe(0);
  });

  test("each backend owns its weight's share of slots to within one slot per weight unit", () => {
    const entries = new Uint16Array(65537);
    fillMaglevTable(WEIGHTS.map((weight, i) => ({ ip: 0x0a000100 + i, port: 80, weight })), entries);
    const slots = [0, 0, 0, 0];
    for (const e of entries) slots[e]!++;
    slots.forEach((count, i) => expect(Math.abs(count - (65537 * WEIGHTS[i]!) / 10)).toBeLessThanOrEqual(WEIGHTS[i]!));
  });

  test("equal weights match a plain reference implementation of the paper's populate loop", () => {
    const size = 1009;
    const backends = [0, 1, 2, 3, 4, 5, 6].map((i) => ({ ip: 0x0a000200 + i * 3, port: 8000 + i, weight: 1 }));
    const fast = new Uint16Array(size);
    fillMaglevTable(backends, fast);
    // Eisenbud et al., Pseudocode 1, with the same offset/skip hashes.
    const offset = backends.map((b) => hashPair(b.ip, b.port, 0x6d61676c) % size);
    const skip = backends.map((b) => (hashPair(b.ip, b.port, 0x65763031) % (size - 1)) + 1);
    const next = backends.map(() => 0);
    const entry = new Array<number>(size).fill(-1);
    let n = 0;
    for (;;) {
      for (let i = 0; i < backends.length; i++) {
        let c = (offset[i]! + next[i]! * skip[i]!) % size;
        while (entry[c]! >= 0) {
          next[i]!++;
          c = (offset[i]! + next[i]! * skip[i]!) % size;
        }
        entry[c] = i;
        next[i]!++;
        if (++n === size) break;
      }
      if (n === size) break;
    }
    expect([...fast]).toEqual(entry);
  });

  test("a non-prime size is refused", () => {
    expect(() => tableFor("maglev", targets([1, 1]), [], 65536)).toThrow(/not prime/);
  });

  test("a client's slot is the same on every node", () => {
    expect(maglevSlot(0xc0000207, 0, 65537)).toBe(maglevSlot(0xc0000207, 0, 65537));
    expect(maglevSlot(0xc0000207, 0, 65537)).not.toBe(maglevSlot(0xc0000208, 0, 65537));
  });
});
