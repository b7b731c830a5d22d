// bng(8), `bng --help` and the console's help stay true: every verb the command line and the
// console take, every statement, parameter, setting and method of the language is in the man
// page, which man renders without a warning.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { GRAMMAR } from "../../src/cli/console.ts";
import { COMMAND_OPTIONS } from "../../src/cli/main.ts";
import { CONSOLE_HELP, USAGE } from "../../src/cli/usage.ts";
import { METHODS } from "../../src/config/model.ts";
import { STATEMENTS } from "../../src/config/reader.ts";
import { BLOCK_PARAMS, SETTINGS } from "../../src/config/schema.ts";
import { UNIMPLEMENTED_PARAMS, UNIMPLEMENTED_SETTINGS, UNIMPLEMENTED_STATEMENTS } from "../../src/config/unimplemented.ts";
import { REPO } from "../fixtures/process.ts";

const MAN_PAGE = join(REPO, "docs/bng.8");
const MAN = Bun.which("man");

/** The page as man prints it, without formatting; "" without man. */
function rendered(): { text: string; warnings: string } {
  const result = Bun.spawnSync([MAN!, "--warnings", "-l", MAN_PAGE], { env: { ...process.env, MANWIDTH: "100", MAN_KEEP_FORMATTING: "" }, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`man failed: ${result.stderr.toString()}`);
  return { text: result.stdout.toString(), warnings: result.stderr.toString() };
}

const verbs = [...Object.keys(COMMAND_OPTIONS), "version", "help"];
const showViews = GRAMMAR.show!;
const consoleVerbs = GRAMMAR[""]!;
const keywords = [
  ...STATEMENTS,
  ...Object.values(BLOCK_PARAMS).flatMap((params) => Object.keys(params)),
  ...Object.keys(SETTINGS),
  ...METHODS,
  ...Object.keys(UNIMPLEMENTED_STATEMENTS),
  ...Object.keys(UNIMPLEMENTED_SETTINGS),
  ...Object.values(UNIMPLEMENTED_PARAMS).flatMap((params) => Object.keys(params)),
];

describe.skipIf(MAN === null)("bng(8)", () => {
  const page = rendered();
  const words = new Set(page.text.replace(/[‐-]\n\s*/g, "-").split(/[^A-Za-z0-9_-]+/));

  test("renders without a warning", () => {
    expect(page.warnings).toBe("");
    expect(page.text).toContain("BNG(8)");
  });

  test("documents every verb and every view of show", () => {
    expect(verbs.length).toBeGreaterThan(12);
    expect(verbs.filter((verb) => !words.has(verb))).toEqual([]);
    expect(showViews.filter((view) => !words.has(view))).toEqual([]);
    expect(consoleVerbs.filter((verb) => !words.has(verb))).toEqual([]);
    for (const flag of ["-g", "-n", "--syslog", "--socket", "--json", "--pid-file", "--log-file"]) expect(page.text).toContain(flag);
  });

  test("documents every keyword of the language", () => {
    expect(keywords.length).toBeGreaterThan(60);
    expect([...new Set(keywords)].filter((keyword) => !words.has(keyword))).toEqual([]);
  });
});

describe("bng --help and the console's help", () => {
  test("name every verb and view", () => {
    for (const verb of verbs) expect(USAGE).toContain(`bng ${verb === "enable" || verb === "disable" ? "enable|disable" : verb === "start" ? "-c FILE start" : verb}`);
    for (const view of showViews) expect(`${USAGE}\n${CONSOLE_HELP}`).toMatch(new RegExp(`show [a-z|]*\\b${view}\\b`));
    for (const verb of consoleVerbs) expect(CONSOLE_HELP).toMatch(new RegExp(`\\b${verb}\\b`));
  });
});
