import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { closestMatch, DiagnosticSink, editDistance, formatDiagnostic } from "../../src/config/errors.ts";
import { tokenize } from "../../src/config/lexer.ts";
import { parseDottedAddress, parseNumberList } from "../../src/config/values.ts";
import { parseConfig } from "../../src/config/index.ts";
import { ctime, formatIdList, printConfig } from "../../src/config/printer.ts";
import { isContiguousMask } from "../../src/config/schema.ts";

describe("lexer", () => {
  test("gives every token its kind, 1-based line and column, and whether it starts its line", () => {
    const sink = new DiagnosticSink("t.conf");
    const tokens = tokenize('server 1 {\n  ipaddr 172.16.1.10 // the VIP\n  targets 1,2,5-8 name "a \\"b\\" c"}', sink);
    expect(sink.errors).toEqual([]);
    expect(tokens.map((t) => [t.kind, t.text, t.line, t.column, t.firstOnLine])).toEqual([
      ["word", "server", 1, 1, true],
      ["number", "1", 1, 8, false],
      ["{", "{", 1, 10, false],
      ["word", "ipaddr", 2, 3, true],
      ["address", "172.16.1.10", 2, 10, false],
      ["word", "targets", 3, 3, true],
      ["list", "1,2,5-8", 3, 11, false],
      ["word", "name", 3, 19, false],
      ["string", 'a "b" c', 3, 24, false],
      ["}", "}", 3, 35, false],
    ]);
  });

  test("a comment may follow a token directly, and `//` inside a string is text", () => {
    const sink = new DiagnosticSink("t.conf");
    expect(tokenize('port 80// http\nname "a//b"', sink).map((t) => t.text)).toEqual(["port", "80", "name", "a//b"]);
  });

  test("an unterminated string is an error at its opening quote, and lexing goes on", () => {
    const sink = new DiagnosticSink("t.conf");
    const tokens = tokenize('name "open\nport 80', sink);
    expect(sink.errors).toEqual([{ severity: "error", file: "t.conf", line: 1, column: 6, message: expect.stringContaining("unterminated string") }]);
    expect(tokens.map((t) => t.text)).toEqual(["name", "open", "port", "80"]);
  });
});

describe("values", () => {
  test("dotted addresses: four octets 0-255", () => {
    expect(parseDottedAddress("172.16.1.10")).toEqual({ ok: true, value: 0xac10010a });
    expect(parseDottedAddress("255.255.255.255")).toEqual({ ok: true, value: 0xffffffff });
    for (const bad of ["172.16.1.300", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.1000"]) expect(parseDottedAddress(bad).ok).toBe(false);
  });

  test("lists expand ranges in order and point at the bad item", () => {
    const wide = { min: 0, max: 4294967295, what: "a number" };
    expect(parseNumberList("1,2,5-8", wide)).toEqual({ ok: true, items: [1, 2, 5, 6, 7, 8].map((value, i) => ({ value, offset: i < 2 ? i * 2 : 4 })) });
    expect(parseNumberList("1,5-2", wide)).toMatchObject({ ok: false, offset: 2, reason: expect.stringContaining("runs backwards") });
    expect(parseNumberList("1,,2", wide)).toMatchObject({ ok: false, offset: 2, reason: expect.stringContaining("empty list item") });
    expect(parseNumberList("1,2,", wide)).toMatchObject({ ok: false, offset: 4 });
    expect(parseNumberList("1-999999999", wide)).toMatchObject({ ok: false, reason: expect.stringContaining("too long") });
    expect(parseNumberList("1-60000,1-60000", wide)).toMatchObject({ ok: false, offset: 8, reason: expect.stringContaining("too long") });
  });

  test("a huge maglevsize is refused at once rather than tested for primality", () => {
    const started = performance.now();
    const result = parseConfig("set maglevsize 99999999999999999999\nset maglevsize 65536\nset maglevsize 65537\n", "m.conf");
    expect(performance.now() - started).toBeLessThan(100);
    expect(result.ok ? [] : result.errors.map((d) => d.line)).toEqual([1, 2]);
  });

  test("masks must be ones followed by zeros", () => {
    for (const good of [0, 0xffffffff, 0xffffff00, 0x80000000, 0xfffffffe]) expect(isContiguousMask(good)).toBe(true);
    for (const bad of [0xff00ff00, 0x00ffffff, 0xfffffffd, 1]) expect(isContiguousMask(bad)).toBe(false);
  });
});

describe("did you mean", () => {
  test("edit distance counts an adjacent transposition as one edit", () => {
    expect(editDistance("tagrets", "targets")).toBe(1);
    expect(editDistance("ipadr", "ipaddr")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
  });

  test("suggests only plausible typos", () => {
    expect(closestMatch("sever", ["server", "target"])).toBe("server");
    expect(closestMatch("SERVER", ["server"])).toBe("server");
    expect(closestMatch("colour", ["name", "port"])).toBeUndefined();
    expect(closestMatch("x", ["rr"])).toBeUndefined();
  });
});

describe("diagnostic format", () => {
  test("file:line:col, the source line, and a caret under the column", () => {
    const d = { severity: "error" as const, file: "a.conf", line: 2, column: 5, message: "bad" };
    expect(formatDiagnostic(d, "first\nport 70000\n")).toBe("a.conf:2:5: error: bad\nport 70000\n    ^");
    expect(formatDiagnostic({ ...d, severity: "warning" }, undefined)).toBe("a.conf:2:5: warning: bad");
    expect(formatDiagnostic({ ...d, line: 0, column: 0 }, "x")).toBe("a.conf: error: bad");
    expect(formatDiagnostic({ ...d, line: 1, column: 3 }, "\tx\u0000y\r\n")).toBe("a.conf:1:3: error: bad\n\tx?y\n\t ^");
  });

  test("all errors of a file come back in file order", () => {
    const result = parseConfig("set workerz 2\nfoo\nserver x {\n}\nset io ringg\n", "many.conf");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((d) => d.line)).toEqual([1, 2, 3, 5]);
  });
});

describe("printer helpers", () => {
  test("ctime layout pads the day with a space, like C", () => {
    expect(ctime(new Date(2007, 8, 28, 21, 38, 37))).toBe("Fri Sep 28 21:38:37 2007");
    expect(ctime(new Date(2026, 0, 3, 4, 5, 6))).toBe("Sat Jan  3 04:05:06 2026");
  });

  test("id lists keep their order and shorten runs of three or more", () => {
    expect(formatIdList([1, 2])).toBe("1,2");
    expect(formatIdList([1, 2, 3, 7, 9, 10, 11, 12])).toBe("1-3,7,9-12");
    expect(formatIdList([3, 2, 1])).toBe("3,2,1");
  });
});

describe("settings across objects", () => {
  const seed = readFileSync("config/dsr-example.conf", "utf8");

  test("`set fintimeout` longer than a server's idle timeout is a warning at its value, naming the servers", () => {
    const result = parseConfig(`set fintimeout 30\n${seed.replace("targets 1,2\n}", "targets 1,2\ntimeout 20\n}")}`, "fin.conf");
    expect(result.ok).toBe(true);
    expect(result.warnings.map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual([
      "1:16 `set fintimeout 30` is longer than the idle timeout of server 1 (timeout 20): a closed connection's session would outlive an idle one; expected at most 20",
    ]);
    expect(parseConfig(`set fintimeout 20\n${seed.replace("targets 1,2\n}", "targets 1,2\ntimeout 20\n}")}`, "fin.conf").warnings).toEqual([]);
  });

  test("`method agent` with targets that have no `agent` check is a warning at the method, saying what happens", () => {
    const agentServer = seed.replace("targets 1,2\n}", "targets 1,2\nmethod agent\n}");
    const warnings = (text: string) => parseConfig(text, "agent.conf").warnings.map((d) => `${d.line}:${d.column} ${d.message}`);
    expect(warnings(agentServer)).toEqual([
      "18:8 server 1 uses `method agent`, but targets 1, 2 have no `agent` check: no load is ever reported, so they take turns as with `method rr`; expected `agent PORT,INTERVAL,TIMEOUT` in each of its targets",
    ]);
    const firstChecked = agentServer.replace("tcpopen 80,3,10\ndsr", "tcpopen 80,3,10\nagent 439,3,10\ndsr");
    expect(warnings(firstChecked)).toEqual([
      "18:8 server 1 uses `method agent`, but target 2 has no `agent` check: a target without a load counts as the most loaded, and gets new clients only while no target with a load is up; expected `agent PORT,INTERVAL,TIMEOUT` in each of its targets",
    ]);
    expect(warnings(agentServer.replaceAll("tcpopen 80,3,10\ndsr", "tcpopen 80,3,10\nagent 439,3,10\ndsr"))).toEqual([]);
  });

  test("`set syslog` prints back as written, and the reserved routing tables say why", () => {
    const result = parseConfig("set syslog enable\nset announce 253\n", "s.conf");
    expect(result.ok ? [] : result.errors.map((d) => d.message)).toEqual([
      "bad `set announce`: table 253 is the kernel's `default` table: expected a table of bng's own, e.g. 100 (1-252 or 256-4294967295)",
    ]);
    const ok = parseConfig("set syslog enable\nset announce 100\n", "s.conf");
    if (!ok.ok) throw new Error("does not load");
    expect(ok.config.settings).toMatchObject({ syslog: true, announceTable: 100 });
    expect(printConfig(ok.config)).toContain("\nset syslog enable\nset announce 100\n");
  });
});
