// BalanceNG's whole language (issue 22): a file with every keyword known checks with warnings,
// not errors; what bng does not implement is kept, printed back and warned about where it
// was written; `bng check` shows those warnings and why `bng run` would refuse the file.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { loadConfigFile, parseConfig, printConfig } from "../../src/config/index.ts";
import { MAX_RAW_TOKENS, UNIMPLEMENTED_PARAMS, UNIMPLEMENTED_SETTINGS, UNIMPLEMENTED_STATEMENTS } from "../../src/config/unimplemented.ts";
import { BUN, REPO } from "../fixtures/process.ts";
import { withoutPositions } from "./helpers.ts";

const EVERY_KEYWORD = "test/config/balanceng/every-keyword.conf";

describe("a configuration with every BalanceNG keyword", () => {
  const result = loadConfigFile(EVERY_KEYWORD);

  test("loads: warnings, no errors", () => {
    expect(result.ok ? [] : result.errors.map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual([]);
    expect(result.warnings.length).toBeGreaterThan(0);
  });

  test("each keyword bng does not implement is a warning where it was written", () => {
    const warnings = result.warnings.map((d) => `${d.line}:${d.column} ${d.message}`);
    const accepted = (where: string, what: string) => expect(warnings).toContainEqual(expect.stringMatching(new RegExp(`^${where} ${what} is accepted, has no effect in bng \\(in BalanceNG: `)));
    accepted("7:1", "`set bmduration`");
    accepted("8:1", "`set bmpsize`");
    accepted("9:1", "`set bmwsize`");
    accepted("22:1", "`ipalias`");
    accepted("23:1", "`gwhc`");
    accepted("24:1", "`arp-insert`");
    accepted("37:92", "`limit` in target 1");
    // The table and the file agree: every keyword of the table is in the file.
    const keywords = [...Object.keys(UNIMPLEMENTED_STATEMENTS), ...Object.keys(UNIMPLEMENTED_SETTINGS).map((name) => `set ${name}`), ...Object.values(UNIMPLEMENTED_PARAMS).flatMap(Object.keys)];
    for (const keyword of keywords) expect(warnings.some((warning) => warning.includes(`\`${keyword}\``))).toBe(true);
  });

  test("keeps them in the model as written", () => {
    if (!result.ok) throw new Error("does not load");
    const { config } = result;
    expect(config.unimplemented.map((s) => [s.keyword, s.args.map((a) => a.text).join(" "), s.pos.line])).toEqual([
      ["set bmduration", "10", 7],
      ["set bmpsize", "64", 8],
      ["set bmwsize", "16", 9],
      ["ipalias", "1 { ipaddr 172.16.1.20 network 1 }", 22],
      ["gwhc", "enable", 23],
      ["arp-insert", "10.1.1.9 02:00:00:00:00:09", 24],
    ]);
    expect(config.targets[0]!.unimplemented).toMatchObject([{ keyword: "limit", args: [{ text: "100", quoted: false }] }]);
    expect(config.servers.map((server) => server.method)).toEqual(["rr", "random", "hash", "session", "bandwidth", "agent", "wrr", "wrandom", "first"]);
    expect(config.vrrp).toMatchObject({ vrid: 1, priority: 200, networkId: 1, intervalS: 1, preempt: true, key: "secret" });
  });

  test("prints back to the same model", () => {
    if (!result.ok) throw new Error("does not load");
    const printed = printConfig(result.config);
    const again = parseConfig(printed, "printed.conf");
    expect(again.ok).toBe(true);
    if (again.ok) expect(withoutPositions(again.config)).toEqual(withoutPositions(result.config));
    expect(printed).toContain("\nipalias 1 { ipaddr 172.16.1.20 network 1 }\n");
    expect(printed).toContain("\nlimit 100\n");
  });

  test("`bng check` shows the warnings at FILE:LINE:COL and why `bng run` refuses the file", () => {
    const run = Bun.spawnSync([BUN, join(REPO, "src/cli/main.ts"), "check", EVERY_KEYWORD], { stdout: "pipe", stderr: "pipe" });
    const stderr = run.stderr.toString();
    expect(run.exitCode).toBe(1);
    expect(stderr).toContain(`${EVERY_KEYWORD}:23:1: warning: \`gwhc\` is accepted, has no effect in bng`);
    expect(stderr).not.toContain(": error:");
    expect(stderr).toContain(`${EVERY_KEYWORD}: valid, but \`bng run\` refuses it:`);
    expect(stderr).not.toContain("uses 'vrrp'");
    // Methods agent and bandwidth run: `bng run` does not refuse them.
    expect(stderr).not.toMatch(/uses 'method (agent|bandwidth)'/);
    expect(stderr).toContain(`${EVERY_KEYWORD}:30:71: warning: server 6 uses \`method agent\`, but targets 1, 3 have no \`agent\` check`);
    expect(stderr).toContain("  'set ipforwarding 1' asks for routing mode");
  });
});

describe("statements bng keeps as written", () => {
  test("a block runs to its matching brace across lines; a statement without one ends with its line", () => {
    const result = parseConfig("ipalias 1 {\n  addr 1.2.3.4\n  sub { x }\n}\ngwhc\nmodules arp\n", "raw.conf");
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.unimplemented.map((s) => [s.keyword, s.args.map((a) => a.text)])).toEqual([
      ["ipalias", ["1", "{", "addr", "1.2.3.4", "sub", "{", "x", "}", "}"]],
      ["gwhc", []],
    ]);
    expect(result.config.modules).toEqual(["arp"]);
  });

  test("an unclosed brace, or a statement of hundreds of words, is an error", () => {
    const unclosed = parseConfig("ipalias 1 {\n addr 1.2.3.4\n", "unclosed.conf");
    expect(unclosed.ok ? [] : unclosed.errors.map((d) => d.message)).toEqual(["`{` of `ipalias` is never closed: expected `}` before the end of the file"]);
    const long = parseConfig(`gwhc ${"x ".repeat(MAX_RAW_TOKENS + 1)}\n`, "long.conf");
    expect(long.ok ? [] : long.errors.map((d) => [d.line, d.message])).toEqual([[1, `\`gwhc\` runs on past ${MAX_RAW_TOKENS} words: expected one statement`]]);
  });

  test("a parameter bng does not implement takes one value, and needs it", () => {
    const missing = parseConfig("target 1 { ipaddr 10.0.0.1 limit }\n", "limit.conf");
    expect(missing.ok ? [] : missing.errors.map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual(["1:34 missing value after `limit` in target 1, found `}`"]);
  });
});
