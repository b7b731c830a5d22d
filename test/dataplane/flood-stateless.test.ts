// Clients served without a session while new sessions are refused (issue 19): the server's
// consistent-hash pick, the same for every worker and every packet, and kept by the session the
// client gets after the flood.

import { describe, expect, test } from "bun:test";
import { consistentTarget } from "../../src/dataplane/select/select.ts";
import { T_ID } from "../../src/dataplane/table-layout.ts";
import { Lab } from "../fixtures/dataplane.ts";
import { TCP_ACK, TCP_SYN } from "../fixtures/frames.ts";
import { NEW_SESSIONS_PER_S, SERVER_TIMEOUT_S, at, floodConfig, ipNumber, segment, send, spoofed } from "./flood-lab.ts";

describe("served without a session", () => {
  test("beyond the budget a new client goes to the consistent-hash target, and keeps it when it gets a session after the flood", () => {
    const lab = new Lab(floodConfig(), 4096);
    /** Target by client, of the clients served without a session (each second's budget goes to its first 100). */
    const stateless = new Map<string, number>();
    let source = 0;
    for (let second = 1; second <= 2; second++) {
      at(lab, second);
      const flood = Array.from({ length: 1000 }, () => spoofed(source++));
      const targets = send(lab, flood.map((client) => segment(client, TCP_SYN)));
      flood.forEach((client, i) => i >= NEW_SESSIONS_PER_S && stateless.set(client, targets[i]!));
    }
    // Their retransmitted SYNs, still refused, go where the first ones went.
    const again = [...stateless.keys()].slice(-200);
    expect(send(lab, again.map((client) => segment(client, TCP_SYN)))).toEqual(again.map((client) => stateless.get(client)!));
    at(lab, 6);
    // A client served without a session stays on that target: stateless picks are the server's
    // consistent hash, and its next packet (no SYN: mid-connection) binds it there.
    const table = lab.processor.currentTable;
    const refusedClients = [...stateless.keys()].slice(-60);
    const consistent = refusedClients.map((client) => table.field(table.targetAt(consistentTarget(table, 0, ipNumber(client), 0)), T_ID));
    expect(refusedClients.map((client) => stateless.get(client))).toEqual(consistent);
    // (Round robin would have rotated: the hash does not.)
    expect(consistent.some((target, i) => i >= 3 && target !== consistent[i - 3])).toBe(true);
    expect(send(lab, refusedClients.map((client) => segment(client, TCP_ACK)))).toEqual(consistent);
    expect(refusedClients.every((client) => lab.sessions.find(1, ipNumber(client), 0, 6, SERVER_TIMEOUT_S) >= 0)).toBe(true);
  });


});
