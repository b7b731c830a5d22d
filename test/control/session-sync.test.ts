// Two nodes' session sync over an in-memory wire: the master streams its journals and its whole
// table, the backup installs them; bad datagrams change nothing and are counted.
import { describe, expect, test } from "bun:test";
import { SessionSync, type SyncTransport } from "../../src/control/session-sync.ts";
import { SessionTable } from "../../src/dataplane/sessions.ts";
import { JOURNAL_CREATED } from "../../src/dataplane/session-journal.ts";
import { SyncJournal } from "../../src/ha/sync-journal.ts";
import { createLogger } from "../../src/log/logger.ts";
import { ip } from "../fixtures/frames.ts";

const A = ip("172.16.1.252");
const B = ip("172.16.1.253");
const TIMEOUT_S = 600;

/** Datagrams in flight between the nodes, delivered when the test says. */
class Wire {
  readonly queue: { to: number; bytes: Uint8Array; from: number }[] = [];
  private readonly handlers = new Map<number, (datagram: Uint8Array, length: number, sourceIp: number) => void>();

  transport(self: number, peer: number): SyncTransport {
    return {
      send: (datagram, length) => void this.queue.push({ to: peer, from: self, bytes: datagram.slice(0, length) }),
      onDatagram: (handler) => void this.handlers.set(self, handler),
      close: () => {},
    };
  }

  inject(to: number, from: number, bytes: Uint8Array): void {
    this.queue.push({ to, from, bytes });
  }

  deliver(): number {
    let delivered = 0;
    while (this.queue.length > 0) {
      const { to, from, bytes } = this.queue.shift()!;
      this.handlers.get(to)?.(bytes, bytes.length, from);
      delivered++;
    }
    return delivered;
  }
}

interface Node {
  sync: SessionSync;
  sessions: SessionTable;
  journal: SyncJournal;
  master: boolean;
  tableReceived: number;
  log: string[];
}

function node(wire: Wire, self: number, peer: number, master: boolean, clock: { ms: number }, key: string | undefined = "secret"): Node {
  const sessions = SessionTable.create(4096, 0);
  const journal = SyncJournal.create(1024);
  const log: string[] = [];
  const state: Node = { sessions, journal, master, tableReceived: 0, log } as Node;
  state.sync = new SessionSync({
    realAddress: self,
    peerAddress: peer,
    key,
    transport: wire.transport(self, peer),
    sessions,
    journals: [journal],
    now: () => clock.ms,
    timeoutOf: (serverId) => (serverId === 1 ? TIMEOUT_S : undefined),
    isMaster: () => state.master,
    onTableReceived: () => state.tableReceived++,
    logger: createLogger((line) => log.push(line)),
  });
  return state;
}

describe("session sync", () => {
  test("the backup asks for the table, gets every session whole, then the journal's new ones", () => {
    const wire = new Wire();
    const clock = { ms: 100_000 };
    const master = node(wire, A, B, true, clock);
    const backup = node(wire, B, A, false, clock);
    const nowS = master.sessions.secondsAt(clock.ms);
    for (let client = 1; client <= 500; client++) master.sessions.bind(1, 0x0a000000 + client, 0, nowS - (client % 7), TIMEOUT_S, (client % 2) + 1, -1);

    // The request, and the master's answer: the start of a transfer.
    backup.sync.tick();
    expect(wire.deliver()).toBe(2);
    for (let tick = 0; tick < 10; tick++) {
      master.sync.tick();
      wire.deliver();
    }
    expect(backup.tableReceived).toBe(1);
    for (let client = 1; client <= 500; client++) {
      expect(backup.sessions.find(1, 0x0a000000 + client, 0, nowS, TIMEOUT_S)).toBe((client % 2) + 1);
    }
    expect(backup.sync.status()).toMatchObject({ full_transfers_received: 1, rejected: 0 });
    expect(master.sync.status().full_transfers_sent).toBe(1);

    // The refresh walk sends every live session again within 30 s of ticks, so the backup's
    // copies live as long as the master's.
    const sentBefore = master.sync.status().sessions_sent;
    for (let tick = 0; tick < 300; tick++) {
      clock.ms += 100;
      master.sync.tick();
      wire.deliver();
    }
    expect(master.sync.status().sessions_sent - sentBefore).toBeGreaterThanOrEqual(500);
    const laterS = master.sessions.secondsAt(clock.ms);
    expect(backup.sessions.select(laterS, () => true, 0).total).toBe(500);

    // A session a worker creates now reaches the backup at the next tick, in a batch.
    master.sessions.bind(1, ip("198.18.7.7"), 0, laterS, TIMEOUT_S, 2, -1);
    master.journal.append(JOURNAL_CREATED, 1, ip("198.18.7.7"), 0, 2, laterS);
    master.sync.tick();
    wire.deliver();
    expect(backup.sessions.find(1, ip("198.18.7.7"), 0, laterS, TIMEOUT_S)).toBe(2);
    // The backup asks no more once it holds the table.
    clock.ms += 10_000;
    backup.sync.tick();
    expect(wire.queue).toHaveLength(0);
  });

  test("a restarted peer (a new epoch) gets the whole table without asking", () => {
    const wire = new Wire();
    const clock = { ms: 50_000 };
    const master = node(wire, A, B, true, clock);
    const nowS = master.sessions.secondsAt(clock.ms);
    master.sessions.bind(1, ip("198.18.0.1"), 0, nowS, TIMEOUT_S, 1, -1);
    const restarted = node(wire, B, A, false, clock);
    restarted.sync.tick();
    wire.deliver();
    master.sync.tick();
    wire.deliver();
    expect(restarted.sessions.find(1, ip("198.18.0.1"), 0, nowS, TIMEOUT_S)).toBe(1);
  });

  test("random bytes, a wrong key, a replayed batch and a foreign source change nothing and are counted", () => {
    const wire = new Wire();
    const clock = { ms: 70_000 };
    const master = node(wire, A, B, true, clock);
    const backup = node(wire, B, A, false, clock);
    const impostor = node(wire, A, B, true, clock, "not the key");
    const nowS = master.sessions.secondsAt(clock.ms);
    master.journal.append(JOURNAL_CREATED, 1, ip("198.18.1.1"), 0, 1, nowS);
    master.sync.tick();
    const genuine = wire.queue[0]!.bytes;
    wire.deliver();
    expect(backup.sessions.find(1, ip("198.18.1.1"), 0, nowS, TIMEOUT_S)).toBe(1);
    backup.sessions.removeTarget(1);

    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) & 0xff);
    for (let i = 0; i < 100; i++) wire.inject(B, A, Uint8Array.from({ length: 20 + (i % 200) }, random));
    impostor.journal.append(JOURNAL_CREATED, 1, ip("198.18.2.2"), 0, 2, nowS);
    impostor.sync.tick();
    wire.inject(B, A, genuine);
    wire.inject(B, ip("172.16.1.99"), genuine);
    wire.deliver();
    expect(backup.sessions.find(1, ip("198.18.1.1"), 0, nowS, TIMEOUT_S)).toBe(-1);
    expect(backup.sessions.find(1, ip("198.18.2.2"), 0, nowS, TIMEOUT_S)).toBe(-1);
    const status = backup.sync.status();
    expect(status.sessions_installed).toBe(1);
    expect(status.rejected).toBe(103);
    expect(status.rejected_by.replay).toBe(1);
    expect(status.rejected_by.foreign_source).toBe(1);
    expect(status.rejected_by.bad_mac).toBe(1);
  });
});
