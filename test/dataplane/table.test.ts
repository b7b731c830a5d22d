import { describe, expect, test } from "bun:test";
import { MessageChannel, receiveMessageOnPort } from "node:worker_threads";
import { ForwardingTable, buildForwardingTable, type TargetRuntime } from "../../src/dataplane/table.ts";
import { TablePublisher, TableSubscriber, createTableExchange } from "../../src/dataplane/table-exchange.ts";
import { consistentTarget } from "../../src/dataplane/select/select.ts";
import { ID_LIMIT, STATELESS_MAGLEV_SIZE, S_ACTIVE_COUNT, S_MAGLEV_AT, S_MAGLEV_SIZE, S_USING_BACKUP, TARGET_DOWN, T_ID, T_NEXT_SAME_IP, T_STATE } from "../../src/dataplane/table-layout.ts";
import { config } from "../fixtures/config.ts";
import { ip, mac } from "../fixtures/frames.ts";

const cfg = config(
  [{ id: 1, ipaddr: "10.0.0.10", port: 80, targets: [1, 2], backup: [3] }],
  [
    { id: 1, ipaddr: "10.0.0.101" },
    { id: 2, ipaddr: "10.0.0.101", port: 8080 },
    { id: 3, ipaddr: "10.0.0.103" },
  ],
);

function build(states: Record<number, TargetRuntime["state"]>) {
  const targets = new Map(Object.entries(states).map(([id, state]) => [Number(id), { mac: mac("02:00:00:00:0b:01"), state }]));
  return buildForwardingTable({ config: cfg, ownMac: mac("02:00:00:00:00:01"), targets });
}

describe("forwarding table", () => {
  test("VIPs, targets by id and by address, and active lists are readable from the buffer alone", () => {
    const table = build({ 1: "up", 2: "down", 3: "up" });
    expect(table.findVip(ip("10.0.0.10"))).toBeGreaterThanOrEqual(0);
    expect(table.findVip(ip("10.0.0.11"))).toBe(-1);
    const first = table.firstTargetWithIp(ip("10.0.0.101"));
    expect(first).toBe(table.targetIndexOfId(1));
    expect(table.field(table.targetAt(first), T_NEXT_SAME_IP)).toBe(table.targetIndexOfId(2));
    expect(table.field(table.targetAt(table.targetIndexOfId(2)), T_STATE)).toBe(TARGET_DOWN);
    expect(table.field(table.serverAt(0), S_ACTIVE_COUNT)).toBe(1);
    expect(table.field(table.serverAt(0), S_USING_BACKUP)).toBe(0);
    expect(table.targetIndexOfId(ID_LIMIT)).toBe(-1);
    expect(build({ 3: "up" }).field(build({ 3: "up" }).serverAt(0), S_USING_BACKUP)).toBe(1);
  });

  test("vips() lists every address findVip finds, disabled servers' too, once each and ascending", () => {
    const several = config(
      [
        { id: 1, ipaddr: "10.0.0.20", port: 80, targets: [1] },
        { id: 2, ipaddr: "10.0.0.10", port: 80, targets: [1] },
        { id: 3, ipaddr: "10.0.0.20", port: 53, protocol: "udp", targets: [1] },
        { id: 4, ipaddr: "200.0.0.1", port: 80, targets: [1], enabled: false },
      ],
      [{ id: 1, ipaddr: "10.0.0.101" }],
    );
    const table = buildForwardingTable({ config: several, ownMac: mac("02:00:00:00:00:01"), targets: new Map() });
    expect(table.vips()).toEqual([ip("10.0.0.10"), ip("10.0.0.20"), ip("200.0.0.1")]);
    expect(table.vips().every((vip) => table.findVip(vip) >= 0)).toBe(true);
  });

  test("a session is kept only with a target its server still lists (targets or backup), up or draining", () => {
    // 40 targets, so the members of a server span more than one 32-bit word.
    const many = config(
      [
        { id: 1, ipaddr: "10.0.0.10", port: 80, targets: [1, 35], backup: [3] },
        { id: 2, ipaddr: "10.0.0.11", port: 80, targets: [3, 40] },
      ],
      Array.from({ length: 40 }, (_, i) => ({ id: i + 1, ipaddr: `10.0.1.${i + 1}` })),
    );
    const states = new Map<number, TargetRuntime>(Array.from({ length: 40 }, (_, i) => [i + 1, { mac: mac("02:00:00:00:0b:01"), state: i + 1 === 40 ? "down" : "up" }]));
    const table = buildForwardingTable({ config: many, ownMac: mac("02:00:00:00:00:01"), targets: states });
    const keeps = (server: number, id: number) => table.keepsSession(server, table.targetIndexOfId(id));
    expect([1, 35, 3, 2, 40].map((id) => keeps(0, id))).toEqual([true, true, true, false, false]);
    expect([3, 40, 1, 35].map((id) => keeps(1, id))).toEqual([true, false, false, false]);
  });

  test("a target disabled in the configuration drains while it is up, pending or unknown, but not once it is down", () => {
    const disabled = config([{ id: 1, ipaddr: "10.0.0.10", port: 80, targets: [1] }], [{ id: 1, ipaddr: "10.0.0.101", enabled: false }]);
    const keepsWhen = (state: TargetRuntime["state"]) => {
      const table = buildForwardingTable({ config: disabled, ownMac: mac("02:00:00:00:00:01"), targets: new Map([[1, { mac: mac("02:00:00:00:0b:01"), state }]]) });
      return table.keepsSession(0, table.targetIndexOfId(1));
    };
    expect((["up", "pending", "disabled", "down"] as const).map(keepsWhen)).toEqual([true, true, true, false]);
  });

  test("ids outside the id space and bad weights are refused", () => {
    const bad = config([{ id: ID_LIMIT, ipaddr: "10.0.0.10", port: 80, targets: [1] }], [{ id: 1, ipaddr: "10.0.0.101" }]);
    expect(() => buildForwardingTable({ config: bad, ownMac: mac("02:00:00:00:00:01"), targets: new Map() })).toThrow(/server id/);
    const weightless = config([], [{ id: 1, ipaddr: "10.0.0.101", weight: 0 }]);
    expect(() => buildForwardingTable({ config: weightless, ownMac: mac("02:00:00:00:00:01"), targets: new Map() })).toThrow(/weight/);
  });

  test("a published table reaches a subscriber through a port and the generation flip", () => {
    const exchange = createTableExchange(2);
    const publisher = new TablePublisher(exchange);
    const initial = build({ 1: "up", 2: "up" });
    publisher.publish(initial);
    const { port1, port2 } = new MessageChannel();
    const subscriber = new TableSubscriber(exchange, 0, new ForwardingTable(initial.buffer));
    expect(subscriber.hasNewer()).toBe(false);
    expect(publisher.allWorkersOn(1)).toBe(false); // worker 1 never started

    const next = build({ 1: "down", 2: "up" });
    const generation = publisher.publish(next);
    port1.postMessage(next.buffer);
    expect(subscriber.hasNewer()).toBe(true);
    for (let message = receiveMessageOnPort(port2); message; message = receiveMessageOnPort(port2)) {
      subscriber.adopt(message.message as SharedArrayBuffer);
    }
    expect(subscriber.hasNewer()).toBe(false);
    expect(subscriber.table.generation).toBe(generation);
    expect(subscriber.table.keepsSession(0, subscriber.table.targetIndexOfId(1))).toBe(false);
    subscriber.adopt(initial.buffer); // a stale buffer arriving late changes nothing
    expect(subscriber.table.generation).toBe(generation);
    new TableSubscriber(exchange, 1, subscriber.table);
    expect(publisher.allWorkersOn(generation)).toBe(true);
    port1.close();
  });

  test("every server with an active target has a consistent-hash table (maglev's size for maglev, a small one for the rest)", () => {
    const both = config(
      [
        { id: 1, ipaddr: "10.0.0.10", port: 80, targets: [1, 2], method: "rr" },
        { id: 2, ipaddr: "10.0.0.10", port: 81, targets: [1, 2], method: "maglev" },
        { id: 3, ipaddr: "10.0.0.10", port: 82, targets: [3] },
      ],
      [{ id: 1, ipaddr: "10.0.0.101" }, { id: 2, ipaddr: "10.0.0.102" }, { id: 3, ipaddr: "10.0.0.103" }],
      1009,
    );
    const up = new Map([1, 2].map((id) => [id, { mac: mac(`02:00:00:00:0b:0${id}`), state: "up" as const }]));
    const table = buildForwardingTable({ config: both, ownMac: mac("02:00:00:00:00:01"), targets: up });
    expect([0, 1, 2].map((server) => table.field(table.serverAt(server), S_MAGLEV_SIZE))).toEqual([STATELESS_MAGLEV_SIZE, 1009, 0]);
    expect(table.field(table.serverAt(2), S_MAGLEV_AT)).toBe(-1);
    expect(consistentTarget(table, 2, ip("192.0.2.7"), 0)).toBe(-1);
    // Both targets get a share of the rr server's clients, and a client's pick is stable.
    const picks = Array.from({ length: 200 }, (_, i) => table.field(table.targetAt(consistentTarget(table, 0, ip("192.0.2.0") + i, 0)), T_ID));
    expect(new Set(picks)).toEqual(new Set([1, 2]));
    expect(consistentTarget(table, 0, ip("192.0.2.9"), 0)).toBe(consistentTarget(table, 0, ip("192.0.2.9"), 0));
    expect(table.newSessionsPerS).toBe(50000);
    expect(table.finTimeoutS).toBe(10);
  });

  test("a target is found by its known MAC; unknown MACs find none", () => {
    const table = build({ 1: "up", 2: "up", 3: "down" });
    // Targets 1-3 share one MAC here: the first of them is found.
    expect(table.targetWithMac(0x0200, 0x00000b01)).toBe(table.targetIndexOfId(1));
    expect(table.targetWithMac(0x0200, 0x00000b02)).toBe(-1);
    expect(buildForwardingTable({ config: cfg, ownMac: mac("02:00:00:00:00:01"), targets: new Map() }).targetWithMac(0x0200, 0x00000b01)).toBe(-1);
  });
});
