// The `explain` request on tables and session tables built in memory: it agrees with what a
// worker's selector picks, reports a session with its age, and changes nothing (no session, no
// round-robin turn, no refresh).
import { describe, expect, test } from "bun:test";
import type { Method, Persistence } from "../../src/config/model.ts";
import { explainClient, type Explanation, type ExplainView } from "../../src/control/explain.ts";
import { parseRequest } from "../../src/control/protocol.ts";
import { TargetSelector } from "../../src/dataplane/select/select.ts";
import { TargetMetrics } from "../../src/dataplane/target-metrics.ts";
import { SessionTable } from "../../src/dataplane/sessions.ts";
import { buildForwardingTable, type ForwardingTable, type TargetRuntime } from "../../src/dataplane/table.ts";
import { T_ID } from "../../src/dataplane/table-layout.ts";
import { config } from "../fixtures/config.ts";
import { ip, mac } from "../fixtures/frames.ts";

const EPOCH_MS = 1_000_000;
const TARGETS = [1, 2, 3].map((id) => ({ id, ipaddr: `10.0.1.${id}`, weight: id }));

interface Setup {
  view: ExplainView;
  table: ForwardingTable;
  sessions: SessionTable;
  at(ms: number): void;
}

function setUp(method: Method, options: { down?: number[]; persistence?: Persistence; backup?: number[] } = {}): Setup {
  const cfg = config([{ id: 1, ipaddr: "10.0.0.10", port: 80, targets: [1, 2, 3], method, persistence: options.persistence, ...(options.backup ? { backup: options.backup } : {}) }], [
    ...TARGETS,
    ...(options.backup ?? []).map((id) => ({ id, ipaddr: `10.0.1.${id}` })),
  ]);
  const runtime = new Map<number, TargetRuntime>(cfg.targets.map((t) => [t.id, { mac: mac(`02:00:00:00:0b:0${t.id}`), state: options.down?.includes(t.id) ? "down" : "up" }]));
  const table = buildForwardingTable({ config: cfg, ownMac: mac("02:00:00:00:00:01"), targets: runtime });
  const sessions = SessionTable.create(1024, EPOCH_MS);
  const targetMetrics = TargetMetrics.create();
  let nowMs = EPOCH_MS;
  return { view: { config: cfg, shared: { sessions, targetMetrics }, now: () => nowMs, publishedTable: () => table }, table, sessions, at: (ms) => (nowMs = ms) };
}

function explain(view: ExplainView, client: string, extra: { port?: number; server?: number } = {}): Explanation {
  const reply = explainClient(view, { cmd: "explain", client, ...extra });
  if (!reply.ok) throw new Error(reply.error);
  return reply.result as Explanation;
}

const clientOf = (n: number) => `198.18.${(n >> 8) & 255}.${n & 255}`;

describe("explain agrees with the worker's selector", () => {
  for (const method of ["hash", "maglev", "first", "session"] as const) {
    test(`method ${method}: the same target for 500 clients`, () => {
      const { view, table, sessions } = setUp(method);
      const selector = new TargetSelector(sessions, TargetMetrics.create(), 7);
      for (let n = 0; n < 500; n++) {
        const picked = table.field(table.targetAt(selector.select(table, 0, ip(clientOf(n)), 0)), T_ID);
        const [server] = explain(view, clientOf(n)).servers;
        expect([server!.by, server!.target]).toEqual(["method", picked]);
      }
    });
  }

  test("method agent: the least reported load, as the selector picks it; a tie takes turns", () => {
    const { view, table, sessions } = setUp("agent");
    const metrics = view.shared.targetMetrics;
    metrics.setLoad(1, 40);
    metrics.setLoad(2, 15);
    metrics.setLoad(3, 70);
    const picked = new TargetSelector(sessions, metrics, 7).select(table, 0, ip("198.18.0.10"), 0);
    const [server] = explain(view, "198.18.0.10").servers;
    expect([server!.by, server!.target, table.field(table.targetAt(picked), T_ID)]).toEqual(["method", 2, 2]);
    expect(server!.why).toBe("no session yet: method agent: of targets 1, 2, 3, target 2 reports the least load (15).");
    metrics.setLoad(1, 15);
    const [tied] = explain(view, "198.18.0.10").servers;
    expect([tied!.by, tied!.target]).toEqual(["round-robin", null]);
  });

  test("method hash: the why names the hash and the position; the candidates' health", () => {
    const { view } = setUp("hash", { down: [3] });
    const [server] = explain(view, "198.18.0.10").servers;
    expect(server!.why).toMatch(/^no session yet: method hash: FNV-1a of 198\.18\.0\.10 is [0-9]+, and [0-9]+ mod 2 = [01] is the position of target [12] among targets 1, 2\.$/);
    expect(server!.candidates).toEqual([
      { id: 1, ipaddr: "10.0.1.1", state: "up", mac_known: true, weight: 1, backup: false, in_pool: true, sessions: 0 },
      { id: 2, ipaddr: "10.0.1.2", state: "up", mac_known: true, weight: 2, backup: false, in_pool: true, sessions: 0 },
      { id: 3, ipaddr: "10.0.1.3", state: "down", mac_known: true, weight: 3, backup: false, in_pool: false, sessions: 0 },
    ]);
  });

  test("method maglev: the slot; keyed on the port, the port is part of it and is required", () => {
    const { view } = setUp("maglev", { persistence: "clientport" });
    expect(explain(view, "198.18.0.10").servers[0]).toMatchObject({ by: "needs-port", target: null });
    const [server] = explain(view, "198.18.0.10", { port: 40000 }).servers;
    expect(server!.why).toMatch(/^no session yet: method maglev: the client falls on slot [0-9]+ of the 65537-slot table over targets 1, 2, 3, which holds target [123]\.$/);
  });
});

describe("sessions", () => {
  test("a session: its target, age and idle time; explain refreshes nothing", () => {
    const { view, sessions, at } = setUp("rr");
    const createdS = sessions.secondsAt(EPOCH_MS + 5000);
    sessions.bind(1, ip("198.18.0.10"), 0, createdS, 600, 3, -1);
    at(EPOCH_MS + 47_000);
    const [server] = explain(view, "198.18.0.10").servers;
    expect(server).toMatchObject({ target: 3, by: "session", session: { target: 3, age_s: 42, idle_s: 42, timeout_s: 600, kept: true } });
    expect(server!.why).toBe("its session binds it to target 3: made 42 s ago, its last packet 42 s ago, it ends after 600 s without one");
    at(EPOCH_MS + 50_000);
    expect(explain(view, "198.18.0.10").servers[0]!.session!.idle_s).toBe(45);
  });

  test("a session whose target went down: balanced anew by the method", () => {
    const { view, sessions } = setUp("first", { down: [1] });
    sessions.bind(1, ip("198.18.0.10"), 0, sessions.secondsAt(EPOCH_MS), 600, 1, -1);
    const [server] = explain(view, "198.18.0.10").servers;
    expect(server).toMatchObject({ target: 2, by: "method", session: { target: 1, kept: false } });
    expect(server!.why).toBe("its session's target 1 is down, so its next packet is balanced anew: method first: the first usable of targets 2, 3 is target 2.");
  });
});

describe("stateful methods: what the next pick depends on, and nothing advanced", () => {
  test("rr: no target named, the pool in the why; explain takes no turn and makes no session", () => {
    const { view, table, sessions } = setUp("rr");
    const [server] = explain(view, "198.18.0.10").servers;
    expect(server).toMatchObject({ target: null, by: "round-robin", session: null });
    expect(server!.why).toBe("no session yet: method rr: a new session goes to the next of targets 1, 2, 3 in turn, after the last one the receiving worker chose.");
    expect(sessions.list(sessions.secondsAt(EPOCH_MS))).toEqual([]);
    // A selector that saw the explain calls picks as a fresh one does: the turns are the worker's own.
    const fresh = new TargetSelector(sessions, TargetMetrics.create(), 1);
    expect(fresh.select(table, 0, ip("198.18.0.10"), 0)).toBe(0);
  });

  test("wrandom: a weighted random draw", () => {
    const { view } = setUp("wrandom");
    expect(explain(view, "198.18.0.10").servers[0]).toMatchObject({ by: "random", why: "no session yet: method wrandom: a new session goes to one of targets 1, 2, 3, drawn at random, weighted." });
  });

  test("no primary up: the backups are the pool; none at all: dropped", () => {
    const backups = setUp("first", { down: [1, 2, 3], backup: [4] });
    expect(explain(backups.view, "198.18.0.10").servers[0]).toMatchObject({ target: 4, why: "no session yet: method first: the first usable of target 4 (backups: no primary target is usable) is target 4." });
    const none = setUp("hash", { down: [1, 2, 3] });
    expect(explain(none.view, "198.18.0.10").servers[0]).toMatchObject({ target: null, by: "no-target" });
  });
});

describe("the request", () => {
  test("parsed with its client, port and server; bad ones are refused", () => {
    expect(parseRequest('{"cmd":"explain","client":"198.18.0.10","port":40000,"server":1}')).toMatchObject({ ok: true });
    expect(parseRequest('{"cmd":"explain","client":"198.18.0.300"}')).toMatchObject({ ok: false });
    expect(parseRequest('{"cmd":"explain","client":"198.18.0.1","port":70000}')).toMatchObject({ ok: false });
    const { view } = setUp("hash");
    expect(explainClient(view, { cmd: "explain", client: "198.18.0.1", server: 9 })).toEqual({ ok: false, error: "no registered server 9" });
  });
});
