// The pass protocol's answers, from a status report the test writes: exact lines, OID order,
// GETNEXT across columns and tables, the end of the subtree, and bad requests.
import { describe, expect, test } from "bun:test";
import type { ServerStatus, StatusReport, TargetStatus } from "../../src/control/status.ts";
import { bngObjects } from "../../src/snmp/mib.ts";
import { compareOids, formatOid, parseOid } from "../../src/snmp/oid.ts";
import { passReply } from "../../src/snmp/pass.ts";

const server: ServerStatus = { id: 1, name: "web", ipaddr: "172.16.1.10", port: 80, protocol: "tcp", method: "rr", enabled: true, sessions: 3, packets: 2 ** 40, bytes: 5_000_000_000, targets: [1, 2], backup: [] };
const target = (id: number, state: TargetStatus["state"], name: string | null): TargetStatus => ({
  id,
  name,
  ipaddr: `172.16.1.${99 + id}`,
  port: 80,
  state,
  enabled: state !== "disabled",
  health: state === "disabled" ? "disabled" : state,
  reason: `reason ${id}\nsecond line`,
  mac: state === "up" ? "02:00:00:00:0b:01" : null,
  sessions: id,
  packets: 10 * id,
  bytes: 1000 * id,
  load: null,
  bytes_per_s: 0,
  checks: [],
});
const report = {
  version: "0.1.0",
  uptime_s: 5_000_000,
  servers: [server],
  // Out of order on purpose: the rows are sorted by id.
  targets: [target(12, "disabled", null), target(2, "down", "b"), target(1, "up", "a")],
} as unknown as StatusReport;

const oid = (text: string) => parseOid(text)!;
const reply = (request: "get" | "next", text: string) => passReply(request, oid(text), report, "lb1");

describe("OIDs", () => {
  test("parse Net-SNMP's dotted form and refuse anything else", () => {
    expect(parseOid(".1.3.6.1.4.1.2771")).toEqual([1, 3, 6, 1, 4, 1, 2771]);
    expect(parseOid("1.3.6")).toEqual([1, 3, 6]);
    for (const bad of ["", ".", "1..3", "1.3.", "1.a", "-1", "1.4294967296", Array(129).fill("1").join(".")]) expect(parseOid(bad)).toBeUndefined();
    expect(parseOid("1.4294967295")).toEqual([1, 4294967295]);
  });

  test("sort lexicographically, a prefix first", () => {
    expect(compareOids([1, 3], [1, 3, 0])).toBeLessThan(0);
    expect(compareOids([1, 10], [1, 9, 5])).toBeGreaterThan(0);
    expect(compareOids([1, 2, 3], [1, 2, 3])).toBe(0);
  });
});

describe("pass answers", () => {
  test("GET of each type is three lines: OID, type, value", () => {
    expect(reply("get", ".1.3.6.1.4.1.2771.1.5.0")).toBe(".1.3.6.1.4.1.2771.1.5.0\nstring\nlb1\n");
    expect(reply("get", ".1.3.6.1.4.1.2771.1.1.0")).toBe(".1.3.6.1.4.1.2771.1.1.0\nstring\n0.1.0\n");
    // 5,000,000 s in hundredths wraps at 2^32.
    expect(reply("get", ".1.3.6.1.4.1.2771.1.2.0")).toBe(`.1.3.6.1.4.1.2771.1.2.0\ntimeticks\n${500_000_000 % 2 ** 32}\n`);
    expect(reply("get", ".1.3.6.1.4.1.2771.1.60.2.1")).toBe(".1.3.6.1.4.1.2771.1.60.2.1\nipaddress\n172.16.1.10\n");
    expect(reply("get", ".1.3.6.1.4.1.2771.1.60.5.1")).toBe(".1.3.6.1.4.1.2771.1.60.5.1\ninteger\n6\n");
    expect(reply("get", ".1.3.6.1.4.1.2771.1.60.15.1")).toBe(`.1.3.6.1.4.1.2771.1.60.15.1\ncounter64\n${2 ** 40}\n`);
    expect(reply("get", ".1.3.6.1.4.1.2771.1.60.16.1")).toBe(".1.3.6.1.4.1.2771.1.60.16.1\ncounter64\n5000000000\n");
    expect(reply("get", ".1.3.6.1.4.1.2771.1.70.5.1")).toBe(".1.3.6.1.4.1.2771.1.70.5.1\ninteger\n1\n");
    expect(reply("get", ".1.3.6.1.4.1.2771.1.70.5.2")).toBe(".1.3.6.1.4.1.2771.1.70.5.2\ninteger\n2\n");
    expect(reply("get", ".1.3.6.1.4.1.2771.1.70.5.12")).toBe(".1.3.6.1.4.1.2771.1.70.5.12\ninteger\n3\n");
    expect(reply("get", ".1.3.6.1.4.1.2771.1.70.6.2")).toBe(".1.3.6.1.4.1.2771.1.70.6.2\ngauge\n2\n");
  });

  test("a value never spans lines, and a missing name or MAC is empty", () => {
    expect(reply("get", ".1.3.6.1.4.1.2771.1.70.7.1")).toBe(".1.3.6.1.4.1.2771.1.70.7.1\nstring\nreason 1 second line\n");
    expect(reply("get", ".1.3.6.1.4.1.2771.1.70.3.12")).toBe(".1.3.6.1.4.1.2771.1.70.3.12\nstring\n\n");
    expect(reply("get", ".1.3.6.1.4.1.2771.1.70.8.2")).toBe(".1.3.6.1.4.1.2771.1.70.8.2\nstring\n\n");
  });

  test("GET of anything but an instance is nothing", () => {
    for (const text of [".1.3.6.1.4.1.2771", ".1.3.6.1.4.1.2771.1.5", ".1.3.6.1.4.1.2771.1.60.2", ".1.3.6.1.4.1.2771.1.60.2.7", ".1.3.6.1.4.1.2771.1.70.99.1", ".1.3.6.1.4.1.2771.1.5.0.0"]) {
      expect(reply("get", text)).toBe("");
    }
  });

  test("GETNEXT walks column by column, rows by id, across both tables, then ends", () => {
    expect(reply("next", ".1.3.6.1.4.1.2771")).toBe(".1.3.6.1.4.1.2771.1.1.0\nstring\n0.1.0\n");
    expect(reply("next", ".1.3.6.1.4.1.2771.1.5.0").split("\n")[0]).toBe(".1.3.6.1.4.1.2771.1.60.1.1");
    // BalanceNG's munin plugin starts its walks at the column itself.
    expect(reply("next", ".1.3.6.1.4.1.2771.1.60.3")).toBe(".1.3.6.1.4.1.2771.1.60.3.1\nstring\nweb\n");
    expect(reply("next", ".1.3.6.1.4.1.2771.1.70.27")).toBe(".1.3.6.1.4.1.2771.1.70.27.1\ncounter64\n10\n");
    expect(reply("next", ".1.3.6.1.4.1.2771.1.70.2.1").split("\n")[0]).toBe(".1.3.6.1.4.1.2771.1.70.2.2");
    expect(reply("next", ".1.3.6.1.4.1.2771.1.70.2.12").split("\n")[0]).toBe(".1.3.6.1.4.1.2771.1.70.3.1");
    expect(reply("next", ".1.3.6.1.4.1.2771.1.60.16.1").split("\n")[0]).toBe(".1.3.6.1.4.1.2771.1.70.1.1");
    expect(reply("next", ".1.3.6.1.4.1.2771.1.70.28.12")).toBe("");
    expect(reply("next", ".1.3.6.1.4.1.2772")).toBe("");
  });

  test("a full walk visits every object once, in strictly increasing order", () => {
    const objects = bngObjects(report, "lb1");
    const walked: string[] = [];
    let at = ".1.3.6.1.4.1.2771";
    for (;;) {
      const lines = reply("next", at);
      if (lines === "") break;
      at = lines.split("\n")[0]!;
      walked.push(at);
    }
    expect(walked).toEqual(objects.map((object) => formatOid(object.oid)));
    // 3 scalars, 11 server columns x 1 server, 10 target columns x 3 targets.
    expect(walked.length).toBe(3 + 11 + 30);
  });
});

describe("bng -g / -n / -s on the command line", () => {
  test("SET is refused as not writable; bad requests are usage errors that print nothing on stdout", async () => {
    const { runCli } = await import("../control/harness.ts");
    expect(await runCli(["-s", ".1.3.6.1.4.1.2771.1.5.0", "string", "x"])).toEqual({ code: 0, stdout: "not-writable\n", stderr: "" });
    for (const argv of [["-g", "1.x"], ["-g", ".1.3", "-n", ".1.3"], ["-n", ".1.3", "status"], ["-g", ".1.3", "--json"]]) {
      const result = await runCli(argv);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
    }
  });
});
