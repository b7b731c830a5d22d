// A worker records in its journal each session it creates, once, and nothing for the frames of
// a known session: what a VRRP master streams to its peer.
import { describe, expect, test } from "bun:test";
import { workerCounters, createCounters } from "../../src/dataplane/counters.ts";
import { NeighbourTable } from "../../src/dataplane/neighbours.ts";
import { Processor } from "../../src/dataplane/process.ts";
import { JOURNAL_CREATED } from "../../src/dataplane/session-journal.ts";
import { TargetMetrics } from "../../src/dataplane/target-metrics.ts";
import { SessionTable } from "../../src/dataplane/sessions.ts";
import { buildForwardingTable } from "../../src/dataplane/table.ts";
import { SyncJournal } from "../../src/ha/sync-journal.ts";
import { config } from "../fixtures/config.ts";
import { CLIENT_MAC, EPOCH_MS, OWN_MAC, targetMac } from "../fixtures/dataplane.ts";
import { TCP_ACK, TCP_SYN, ip, mac, tcpFrame } from "../fixtures/frames.ts";
import { MemoryPacketIO } from "../fixtures/memory-io.ts";

const VIP = "10.0.0.10";

describe("the session journal", () => {
  test("a created session is journaled once, with its server, client, target and time", () => {
    const cfg = config([{ id: 1, ipaddr: VIP, port: 80, targets: [1, 2] }], [1, 2].map((id) => ({ id, ipaddr: `10.0.0.${100 + id}` })));
    const io = new MemoryPacketIO(64, 2048);
    const sessions = SessionTable.create(1024, EPOCH_MS);
    const journal = SyncJournal.create(64);
    const processor = new Processor({
      rx: io.rx,
      tx: io.tx,
      table: buildForwardingTable({ config: cfg, ownMac: mac(OWN_MAC), targets: new Map([1, 2].map((id) => [id, { mac: mac(targetMac(id)), state: "up" as const }])) }),
      sessions,
      neighbours: NeighbourTable.create(),
      counters: workerCounters(createCounters(1), 0),
      metrics: TargetMetrics.create(),
      clock: () => EPOCH_MS + 5000,
      randomSeed: 1,
      journal,
    });
    const frame = (client: string, flags: number) => tcpFrame({ src: CLIENT_MAC, dst: OWN_MAC, srcIp: client, dstIp: VIP, srcPort: 40000, dstPort: 80, flags });
    io.inject(frame("192.0.2.1", TCP_SYN));
    io.inject(frame("192.0.2.1", TCP_ACK));
    io.inject(frame("192.0.2.2", TCP_SYN));
    io.receive();
    processor.processBatch();
    const records: number[][] = [];
    journal.drain(100, (...record) => records.push(record));
    expect(records).toEqual([
      [JOURNAL_CREATED, 1, ip("192.0.2.1"), 0, 1, 5],
      [JOURNAL_CREATED, 1, ip("192.0.2.2"), 0, 2, 5],
    ]);
  });
});
