// The neighbour table's protocol between workers (observe) and the control side (probes): a
// first MAC is learned, another is a candidate that only the reply to a probe adopts or refutes.

import { describe, expect, test } from "bun:test";
import { NEIGHBOUR_CANDIDATE, NEIGHBOUR_CONFIRMED, NEIGHBOUR_LEARNED, NEIGHBOUR_REFUTED, NEIGHBOUR_SEEN, NeighbourTable } from "../../src/dataplane/neighbours.ts";
import { ip, mac } from "../fixtures/frames.ts";

const REAL = "10.0.0.252";
const OLD_MAC = "02:00:00:00:cc:01";
const NEW_MAC = "02:00:00:00:cc:02";
const hex = (text: string) => mac(text);

describe("neighbour table", () => {
  test("a probe that gets no answer ends with the candidate dropped; a forgotten target learns anew from the next ARP", () => {
    const table = NeighbourTable.create();
    /** A MAC as the two integers workers pass (frame.ts readMacHigh, readMacLow). */
    const macWords = (text: string): [number, number] => {
      const bytes = mac(text);
      return [(bytes[0]! << 8) | bytes[1]!, ((bytes[2]! << 24) | (bytes[3]! << 16) | (bytes[4]! << 8) | bytes[5]!) >>> 0];
    };
    expect(table.observe(5, ...macWords(OLD_MAC), 0)).toBe(NEIGHBOUR_LEARNED);
    expect(table.observe(5, ...macWords(OLD_MAC), 0)).toBe(NEIGHBOUR_SEEN);
    expect(table.observe(5, ...macWords(NEW_MAC), 0)).toBe(NEIGHBOUR_CANDIDATE);
    table.beginProbe(5, ip(REAL));
    expect(table.endProbe(5)).toBe(true);
    expect(table.readCandidate(5)).toBeUndefined();
    expect(table.read(5)?.mac).toEqual(hex(OLD_MAC));
    // Another host now has the id (a reload): its first ARP is learned as the first one was.
    table.forget(5);
    expect(table.read(5)).toBeUndefined();
    expect(table.observe(5, ...macWords(NEW_MAC), 0)).toBe(NEIGHBOUR_LEARNED);
    expect(table.read(5)).toEqual({ mac: hex(NEW_MAC), sightings: 3 });
    expect(table.observe(5, ...macWords(OLD_MAC), ip(REAL))).toBe(NEIGHBOUR_CANDIDATE);
    table.beginProbe(5, ip(REAL));
    expect(table.observe(5, ...macWords(OLD_MAC), ip(REAL))).toBe(NEIGHBOUR_CONFIRMED);
    table.beginProbe(5, ip(REAL));
    expect(table.observe(5, ...macWords(NEW_MAC), 0)).toBe(NEIGHBOUR_CANDIDATE);
    expect(table.observe(5, ...macWords(OLD_MAC), ip(REAL))).toBe(NEIGHBOUR_REFUTED);
  });

});
