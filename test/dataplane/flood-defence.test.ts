// Flood defence (issue 19): at most `set newsessions` new sessions a second, shared by the
// workers; beyond it new clients are served by the server's consistent-hash table without a
// session, known clients keep theirs, and eviction replaces sessions that never saw a second
// packet first. Before this, a 200 k/s spoofed-source flood evicted nearly every idle client.

import { describe, expect, test } from "bun:test";
import { Lab } from "../fixtures/dataplane.ts";
import { TCP_ACK, TCP_SYN } from "../fixtures/frames.ts";
import { NEW_SESSIONS_PER_S, SERVER_TIMEOUT_S, TARGETS, at, floodConfig, knownClient, segment, send, spoofed } from "./flood-lab.ts";

const KNOWN = 32;

describe("flood defence", () => {
  test("a spoofed-source flood gets at most newsessions sessions a second; known clients keep their targets during and after it", () => {
    // 256 slots: the 500 flood sessions admitted overflow it, so eviction must choose.
    const lab = new Lab(floodConfig(), 256);
    const known = Array.from({ length: KNOWN }, (_, i) => knownClient(i));
    const original = send(lab, known.map((client) => segment(client, TCP_SYN)));
    expect(send(lab, known.map((client) => segment(client, TCP_ACK)))).toEqual(original);
    expect(new Set(original)).toEqual(new Set(TARGETS));
    const createdBefore = lab.sessions.created;

    let source = 0;
    for (let second = 1; second <= 5; second++) {
      at(lab, second);
      const flood = Array.from({ length: 1000 }, () => spoofed(source++));
      const targets = send(lab, flood.map((client) => segment(client, TCP_SYN)));
      expect(targets.every((target) => target > 0)).toBe(true);
      if (second === 3) expect(send(lab, known.map((client) => segment(client, TCP_SYN, 41000)))).toEqual(original);
    }
    expect(lab.sessions.created - createdBefore).toBe(5 * NEW_SESSIONS_PER_S);
    const events = lab.counters().events;
    expect(events.sessions_refused).toBe(5 * (1000 - NEW_SESSIONS_PER_S));
    expect(events.flood_stateless).toBe(events.sessions_refused);
    expect(lab.sessions.evictions).toBeGreaterThan(0);
    expect(lab.sessions.keptEvictions).toBe(0);

    // After the flood: every known client is still where it was, on an open connection (ACK).
    at(lab, 6);
    expect(send(lab, known.map((client) => segment(client, TCP_ACK)))).toEqual(original);
  });

  test("a server timeout after the last refusal, clients without a session get the server's method again", () => {
    const lab = new Lab(floodConfig(), 4096);
    at(lab, 1);
    send(lab, Array.from({ length: 300 }, (_, n) => segment(spoofed(n), TCP_SYN)));
    at(lab, 1 + SERVER_TIMEOUT_S);
    // Round robin: consecutive new clients rotate over the three targets, whatever their hash.
    const picks = send(lab, Array.from({ length: 12 }, (_, n) => segment(spoofed(1000 + n), TCP_ACK)));
    for (let i = 3; i < picks.length; i++) expect(picks[i]).toBe(picks[i - 3]!);
    expect(new Set(picks).size).toBe(3);
  });

});
