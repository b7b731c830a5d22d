import { describe, expect, test } from "bun:test";
import { VERDICT_DROP, VERDICT_FORWARD } from "../../src/dataplane/process.ts";
import { SessionTable } from "../../src/dataplane/sessions.ts";
import { config, type ServerSpec } from "../fixtures/config.ts";
import { CLIENT_MAC, EPOCH_MS, Lab, OWN_MAC, targetMac } from "../fixtures/dataplane.ts";
import { TCP_ACK, TCP_SYN, ip, tcpFrame, withMacs } from "../fixtures/frames.ts";

const VIP = "10.0.0.10";

function lab(server: Partial<ServerSpec> = {}, capacity = 1024): Lab {
  return new Lab(
    config(
      [{ id: 1, ipaddr: VIP, port: 80, targets: [1, 2], ...server }],
      [1, 2, 3, 4].map((id) => ({ id, ipaddr: `10.0.0.${100 + id}` })),
    ),
    capacity,
  );
}

function packet(client: string, srcPort = 40000, flags = TCP_SYN): Uint8Array {
  return tcpFrame({ src: CLIENT_MAC, dst: OWN_MAC, srcIp: client, dstIp: VIP, srcPort, dstPort: 80, flags });
}

/** The target id a frame went to, or undefined when it was not forwarded. */
function targetOf(l: Lab, frame: Uint8Array): number | undefined {
  const result = l.run(frame);
  if (result.verdict !== VERDICT_FORWARD) return undefined;
  const out = result.sent[0]!;
  for (const id of [1, 2, 3, 4]) if (out.slice(0, 12).toString() === withMacs(frame, targetMac(id), OWN_MAC).slice(0, 12).toString()) return id;
  throw new Error("forwarded to an unknown MAC");
}

describe("sessions", () => {
  test("a client keeps its target across packets and ports (client persistence)", () => {
    const l = lab();
    expect(targetOf(l, packet("192.0.2.1"))).toBe(1);
    expect(targetOf(l, packet("192.0.2.2"))).toBe(2);
    for (let port = 40001; port < 40010; port++) expect(targetOf(l, packet("192.0.2.1", port, TCP_ACK))).toBe(1);
    expect(l.sessions.sessionsOfTarget(1)).toBe(1);
    expect(l.sessions.sessionsOfServer(1)).toBe(2);
  });

  test("with clientport persistence each client port is its own session", () => {
    const l = lab({ persistence: "clientport" });
    expect(targetOf(l, packet("192.0.2.1", 1000))).toBe(1);
    expect(targetOf(l, packet("192.0.2.1", 1001))).toBe(2);
    expect(targetOf(l, packet("192.0.2.1", 1000))).toBe(1);
    expect(l.sessions.list(0).map((s) => [s.clientPort, s.targetId])).toEqual(
      expect.arrayContaining([
        [1000, 1],
        [1001, 2],
      ]),
    );
  });

  test("an idle session expires after the server's timeout; traffic keeps it alive", () => {
    const l = lab({ timeoutS: 10 });
    expect(targetOf(l, packet("192.0.2.1"))).toBe(1);
    l.nowMs += 9_000;
    expect(targetOf(l, packet("192.0.2.1"))).toBe(1);
    l.nowMs += 9_000; // 9 s after the refresh: still alive
    expect(targetOf(l, packet("192.0.2.1"))).toBe(1);
    l.nowMs += 10_000; // idle for the whole timeout: gone, rr picks the next target
    expect(targetOf(l, packet("192.0.2.1"))).toBe(2);
    expect(l.sessions.sessionsOfTarget(1)).toBe(0);
    expect(l.sessions.sessionsOfTarget(2)).toBe(1);
  });

  test("a reload that changes a server's timeout applies to its existing sessions", () => {
    const l = lab({ timeoutS: 10 });
    expect(targetOf(l, packet("192.0.2.1"))).toBe(1);
    l.reconfigure(config([{ id: 1, ipaddr: VIP, port: 80, targets: [1, 2], timeoutS: 100 }], [1, 2].map((id) => ({ id, ipaddr: `10.0.0.${100 + id}` }))));
    l.nowMs += 50_000; // idle beyond the old timeout, within the new one
    expect(targetOf(l, packet("192.0.2.1", 40000, TCP_ACK))).toBe(1);
    l.reconfigure(config([{ id: 1, ipaddr: VIP, port: 80, targets: [1, 2], timeoutS: 5 }], [1, 2].map((id) => ({ id, ipaddr: `10.0.0.${100 + id}` }))));
    l.nowMs += 6_000; // idle beyond the shortened timeout: a new pick
    expect(targetOf(l, packet("192.0.2.1", 40000, TCP_ACK))).toBe(2);
  });

  test("a reload that takes a target out of a server's lists moves its clients on their next packet, even with their sessions still stored", () => {
    const l = lab();
    expect(targetOf(l, packet("192.0.2.1"))).toBe(1);
    expect(targetOf(l, packet("192.0.2.2"))).toBe(2);
    l.reconfigure(config([{ id: 1, ipaddr: VIP, port: 80, targets: [1] }], [1, 2].map((id) => ({ id, ipaddr: `10.0.0.${100 + id}` }))));
    expect(l.sessions.sessionsOfTarget(2)).toBe(1);
    expect(targetOf(l, packet("192.0.2.2", 40000, TCP_ACK))).toBe(1);
    expect(targetOf(l, packet("192.0.2.1", 40000, TCP_ACK))).toBe(1);
    // A backup is listed too: a session with it stays, even while a primary is up.
    l.reconfigure(config([{ id: 1, ipaddr: VIP, port: 80, targets: [3], backup: [1] }], [1, 3].map((id) => ({ id, ipaddr: `10.0.0.${100 + id}` }))));
    expect(targetOf(l, packet("192.0.2.1", 40000, TCP_ACK))).toBe(1);
  });

  test("retimeServer gives the stored sessions of one server a new timeout (sweep and show follow)", () => {
    const table = SessionTable.create(64, EPOCH_MS);
    table.bind(1, ip("192.0.2.1"), 0, 100, 10, 1, -1);
    table.bind(2, ip("192.0.2.1"), 0, 100, 10, 1, -1);
    table.retimeServer(1, 600);
    expect(table.list(100).map((s) => [s.serverId, s.timeoutS]).sort()).toEqual([
      [1, 600],
      [2, 10],
    ]);
    expect(table.sweep(150)).toBe(1); // server 2's session only
    expect(table.find(1, ip("192.0.2.1"), 0, 150, 600)).toBe(1);
    expect(table.find(2, ip("192.0.2.1"), 0, 150, 10)).toBe(-1);
  });

  test("touch reads the buckets lookups of the same keys read, and changes nothing", () => {
    const table = SessionTable.create(64, EPOCH_MS);
    const client = ip("192.0.2.7");
    const buckets = Int32Array.of(table.bucketOf(1, client, 0), -1);
    expect(table.touch(buckets, 2)).toBe(0); // an empty bucket: its first word is 0
    table.bind(1, client, 0, 100, 600, 3, -1);
    // Bound in the first way of its (otherwise empty) bucket: the touched word now carries the target.
    expect(table.touch(buckets, 2)).not.toBe(0);
    expect(table.bucketOf(1, client, 0)).toBe(buckets[0]!);
    expect(table.find(1, client, 0, 100, 600)).toBe(3);
    expect(table.list(100)).toHaveLength(1);
  });

  test("sweep removes expired sessions and their counts", () => {
    const l = lab({ timeoutS: 5 });
    targetOf(l, packet("192.0.2.1"));
    targetOf(l, packet("192.0.2.2"));
    const now = l.sessions.secondsAt(l.nowMs);
    expect(l.sessions.sweep(now + 4)).toBe(0);
    expect(l.sessions.list(now + 4).length).toBe(2);
    expect(l.sessions.sweep(now + 5)).toBe(2);
    expect(l.sessions.sessionsOfServer(1)).toBe(0);
    expect(l.sessions.list(now).length).toBe(0);
  });

  /** A table of 128 buckets with 300 clients of server 1 on target 1, last seen at 100 s, timeout 10 s. */
  function filledTable(): SessionTable {
    const table = SessionTable.create(1024, EPOCH_MS);
    for (let client = 0; client < 300; client++) table.bind(1, ip("198.18.0.0") + client * 7919, 0, 100, 10, 1, -1);
    return table;
  }

  test("sweepBuckets sweeps a share of the buckets, wrapping past the last one, as sweep() does all of them", () => {
    const table = filledTable();
    expect(table.bucketCount).toBe(128);
    expect(table.sessionsOfTarget(1)).toBe(300);
    expect(table.sweepBuckets(109, 0, 128)).toBe(0); // nothing has expired yet
    const shares = [40, 40, 40, 8].map((count, i) => table.sweepBuckets(110, 100 + i * 40, count));
    expect(shares.every((removed) => removed > 0)).toBe(true);
    expect(shares.reduce((sum, removed) => sum + removed, 0)).toBe(300);
    expect(table.sessionsOfTarget(1)).toBe(0);
    expect(table.sweep(110)).toBe(0);

    // Buckets 120..127 and 0..7 in one call are those two ranges in two.
    const wrapped = filledTable();
    const split = filledTable();
    expect(wrapped.sweepBuckets(110, 120, 16)).toBe(split.sweepBuckets(110, 120, 8) + split.sweepBuckets(110, 0, 8));
    expect(wrapped.sessionsOfTarget(1)).toBe(split.sessionsOfTarget(1));
  });

  test("sweepTurn covers the whole table in the given number of turns, whatever its size, and starts over", () => {
    for (const capacity of [8, 16, 512, 1024, 1 << 20]) {
      const table = SessionTable.create(capacity, EPOCH_MS);
      const clients = Math.min(3000, capacity / 2);
      const bindAll = (seenS: number) => {
        for (let client = 0; client < clients; client++) table.bind(1, ip("198.18.0.0") + client * 7919, 0, seenS, 10, 1, -1);
        return table.sessionsOfTarget(1); // a few may have replaced others in full buckets
      };
      const present = bindAll(100);
      expect(present).toBeGreaterThan(clients * 0.9);
      let removed = 0;
      for (let turn = 0; turn < 25; turn++) removed += table.sweepTurn(110, 50);
      if (table.bucketCount >= 100) expect(removed).toBeLessThan(present); // half the turns, about half the table
      for (let turn = 25; turn < 50; turn++) removed += table.sweepTurn(110, 50);
      expect(removed).toBe(present);
      expect(table.sessionsOfTarget(1)).toBe(0);
      const again = bindAll(200);
      removed = 0;
      for (let turn = 0; turn < 50; turn++) removed += table.sweepTurn(210, 50);
      expect(removed).toBe(again);
    }
  });

  test("sweepBuckets leaves live sessions and waits on no lock of a bucket where nothing expired", async () => {
    const table = SessionTable.create(8, EPOCH_MS); // one bucket
    table.bind(1, ip("192.0.2.1"), 0, 100, 10, 1, -1);
    // The bucket's lock word (after the 8 header words), held as a worker's bind would hold it:
    // a sweep that took the lock here would spin until the lock is given back.
    const words = new Int32Array(table.buffer);
    expect(words[8]).toBe(0);
    Atomics.store(words, 8, 1);
    const worker = new Worker(new URL("./session-sweep.worker.ts", import.meta.url).href);
    try {
      const removed = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the sweep waited on the bucket's lock")), 3000);
        worker.onmessage = (event: MessageEvent<number>) => {
          clearTimeout(timer);
          resolve(event.data);
        };
        worker.onerror = (event) => reject(new Error(event.message));
        worker.postMessage({ buffer: table.buffer, nowS: 109, start: 0, count: 1 });
      });
      expect(removed).toBe(0);
    } finally {
      worker.terminate();
      Atomics.store(words, 8, 0);
    }
    expect(table.find(1, ip("192.0.2.1"), 0, 109, 10)).toBe(1); // seen at 109 s: live until 119 s
    expect(table.sweepBuckets(118, 0, 1)).toBe(0);
    expect(table.sweepBuckets(119, 0, 1)).toBe(1);
    expect(table.sessionsOfTarget(1)).toBe(0);
  });

  test("a full bucket replaces its least recently used session and counts the eviction", () => {
    const table = SessionTable.create(8, EPOCH_MS); // one bucket of 8 ways: every key shares it
    expect(table.slotCount).toBe(8);
    for (let client = 0; client < 8; client++) {
      expect(table.bind(1, ip("192.0.2.1") + client, 0, client, 600, 1, -1)).toBe(1);
    }
    expect(table.find(1, ip("192.0.2.1"), 0, 20, 600)).toBe(1); // client 0 is now the most recent
    expect(table.bind(1, ip("192.0.2.100"), 0, 21, 600, 2, -1)).toBe(2);
    expect(table.evictions).toBe(1);
    expect(table.find(1, ip("192.0.2.1") + 1, 0, 22, 600)).toBe(-1); // client 1 was the oldest
    expect(table.find(1, ip("192.0.2.1"), 0, 22, 600)).toBe(1);
    expect(table.find(1, ip("192.0.2.100"), 0, 22, 600)).toBe(2);
    expect(table.sessionsOfTarget(1)).toBe(7);
  });

  test("eviction replaces sessions that never saw a second packet before any that did (closing or not), whatever their age", () => {
    // Two buckets of 8: 8 sessions that saw a second packet (one of them closing since: its
    // client closed a connection, and may open the next), then 500 single-packet ones, each
    // newer than all before it.
    const table = SessionTable.create(16, 0);
    const confirmed = Array.from({ length: 8 }, (_, i) => 0x0a000000 + i);
    for (const client of confirmed) {
      table.bind(1, client, 0, 1, 600, 1, -1);
      expect(table.find(1, client, 0, 1, 600)).toBe(1);
    }
    expect(table.close(1, confirmed[7]!, 0, 1, 600)).toBe(true);
    for (let n = 0; n < 500; n++) table.bind(1, 0x0b000000 + n, 0, 2 + n, 600, 2, -1);
    for (const client of confirmed) expect(table.find(1, client, 0, 501, 600)).toBe(1);
    expect(table.keptEvictions).toBe(0);
    expect(table.evictions).toBeGreaterThan(400);
  });

  test("replacements of live sessions by fill level, as docs/config.md gives them (two buckets of 8 per key, not whole-table LRU)", () => {
    const capacity = 262_144;
    const replacedShare = (fill: number): number => {
      const table = SessionTable.create(capacity, EPOCH_MS);
      const clients = Math.floor(capacity * fill);
      for (let client = 0; client < clients; client++) table.bind(1, (0x0a000000 + client) | 0, 0, 1, 600, 1 + (client % 2), -1);
      return table.evictions / clients;
    };
    const shares = [0.25, 0.5, 0.75, 1].map(replacedShare);
    expect(shares[0]).toBe(0);
    expect(shares[1]).toBeLessThan(0.001);
    expect(shares[2]).toBeGreaterThan(0.006);
    expect(shares[2]).toBeLessThan(0.014);
    expect(shares[3]).toBeGreaterThan(0.06);
    expect(shares[3]).toBeLessThan(0.09);
  });

  test("a key whose bucket is full goes to its second bucket and is found there, also after its first bucket frees a slot", () => {
    const table = SessionTable.create(64, EPOCH_MS); // 8 buckets of 8
    const clients = Array.from({ length: 48 }, (_, i) => i + 1);
    for (const client of clients) expect(table.bind(1, client, 0, 100, 600, 1 + (client % 3), -1)).toBe(1 + (client % 3));
    const perFirstBucket = new Map<number, number>();
    for (const client of clients) perFirstBucket.set(table.bucketOf(1, client, 0), (perFirstBucket.get(table.bucketOf(1, client, 0)) ?? 0) + 1);
    // What first buckets alone could hold: 8 each.
    const firstBucketsHold = [...perFirstBucket.values()].reduce((sum, count) => sum + Math.min(count, 8), 0);
    expect(firstBucketsHold).toBeLessThan(clients.length);
    const kept = clients.filter((client) => table.find(1, client, 0, 101, 600) !== -1);
    expect(kept.length).toBe(clients.length - table.evictions);
    expect(kept.length).toBeGreaterThan(firstBucketsHold);
    for (const client of kept) expect(table.find(1, client, 0, 102, 600)).toBe(1 + (client % 3));
    // Emptying slots anywhere does not hide a session that sits in its second bucket.
    table.removeWhere((_server, target) => target === 1);
    for (const client of kept) expect(table.find(1, client, 0, 103, 600)).toBe(client % 3 === 0 ? -1 : 1 + (client % 3));
    // A bind of a key already present (in either bucket) returns its target, never a second copy.
    for (const client of kept) if (client % 3 !== 0) expect(table.bind(1, client, 0, 104, 600, 9, -1)).toBe(1 + (client % 3));
    expect(table.list(104).length).toBe(kept.filter((client) => client % 3 !== 0).length);
  });

  test("an expired slot is reused before a live one is evicted", () => {
    const table = SessionTable.create(8, EPOCH_MS);
    for (let client = 0; client < 8; client++) table.bind(1, client + 1, 0, 100, client === 5 ? 10 : 600, 1, -1);
    table.bind(1, 99, 0, 200, 600, 1, -1);
    expect(table.evictions).toBe(0);
    expect(table.list(200).length).toBe(8);
    expect(table.find(1, 6, 0, 200, 600)).toBe(-1);
  });

  test("a target that goes down loses its sessions: the client is re-balanced on its next packet", () => {
    const l = lab();
    expect(targetOf(l, packet("192.0.2.1"))).toBe(1);
    l.setTarget(1, "down");
    expect(targetOf(l, packet("192.0.2.1", 40000, TCP_ACK))).toBe(2);
    expect(l.sessions.sessionsOfTarget(1)).toBe(0);
    l.setTarget(1, "up");
    expect(targetOf(l, packet("192.0.2.1", 40000, TCP_ACK))).toBe(2); // the new session stays
  });

  test("removeTarget drops every session of a target at once", () => {
    const l = lab();
    for (let i = 1; i <= 6; i++) targetOf(l, packet(`192.0.2.${i}`));
    expect(l.sessions.sessionsOfTarget(1)).toBe(3);
    expect(l.sessions.removeTarget(1)).toBe(3);
    expect(l.sessions.sessionsOfTarget(1)).toBe(0);
    expect(l.sessions.list(l.sessions.secondsAt(l.nowMs)).every((s) => s.targetId === 2)).toBe(true);
  });

  test("a disabled target drains: its sessions stay, new clients go elsewhere", () => {
    const l = lab();
    expect(targetOf(l, packet("192.0.2.1"))).toBe(1);
    l.setTarget(1, "disabled");
    for (let i = 2; i < 8; i++) expect(targetOf(l, packet(`192.0.2.${i}`))).toBe(2);
    expect(targetOf(l, packet("192.0.2.1", 40000, TCP_ACK))).toBe(1);
    l.nowMs += 601_000;
    expect(targetOf(l, packet("192.0.2.1", 40000, TCP_ACK))).toBe(2); // expired: no new session on 1
  });

  test("a target disabled in the config drains like one disabled at run time", () => {
    const l = lab();
    expect(targetOf(l, packet("192.0.2.1"))).toBe(1);
    l.reconfigure(
      config(
        [{ id: 1, ipaddr: VIP, port: 80, targets: [1, 2] }],
        [
          { id: 1, ipaddr: "10.0.0.101", enabled: false },
          { id: 2, ipaddr: "10.0.0.102" },
        ],
      ),
    );
    expect(targetOf(l, packet("192.0.2.1", 40000, TCP_ACK))).toBe(1);
    expect(targetOf(l, packet("192.0.2.9"))).toBe(2);
  });

  test("a target whose MAC is unknown receives nothing", () => {
    const l = lab();
    l.setTarget(1, "up", false);
    for (let i = 1; i < 5; i++) expect(targetOf(l, packet(`192.0.2.${i}`))).toBe(2);
  });

  test("backup targets are used only when no primary target is up", () => {
    const l = lab({ targets: [1, 2], backup: [3, 4] });
    for (let i = 1; i < 9; i++) expect([1, 2]).toContain(targetOf(l, packet(`192.0.2.${i}`))!);
    l.setTarget(1, "down");
    expect(targetOf(l, packet("192.0.2.20"))).toBe(2);
    l.setTarget(2, "pending");
    const onBackups = [targetOf(l, packet("192.0.2.21")), targetOf(l, packet("192.0.2.22"))];
    expect(onBackups.sort()).toEqual([3, 4]);
    expect([3, 4]).toContain(targetOf(l, packet("192.0.2.1", 40000, TCP_ACK))!); // re-balanced onto a backup
    l.setTarget(2, "up");
    expect(targetOf(l, packet("192.0.2.23"))).toBe(2);
    l.setTarget(2, "down");
    l.setTarget(3, "down");
    l.setTarget(4, "down");
    expect(l.run(packet("192.0.2.24")).verdict).toBe(VERDICT_DROP);
    expect(l.counters().drops.no_target).toBe(1);
  });

  test("session times are whole seconds from the epoch, listed for show sessions", () => {
    const l = lab({ timeoutS: 30 });
    l.nowMs = EPOCH_MS + 12_500;
    targetOf(l, packet("192.0.2.1"));
    expect(l.sessions.list(12)).toEqual([
      { serverId: 1, clientIp: ip("192.0.2.1"), clientPort: 0, targetId: 1, createdS: 12, lastSeenS: 12, timeoutS: 30 },
    ]);
    expect(l.sessions.created).toBe(1);
  });
});
