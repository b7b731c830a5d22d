// Every file in broken/ states the diagnostics it must produce in its first lines:
//   // expect: LINE:COL TEXT            an error at LINE:COL whose message contains TEXT
//   // expect-warning: LINE:COL TEXT    the same for a warning
// TEXT may be split by ` ... ` into pieces that must appear in that order. A file must produce
// exactly its expected diagnostics: no fewer (every error is reported) and no more (recovery
// after an error adds no noise).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { formatDiagnostic, parseConfig, type Diagnostic } from "../../src/config/index.ts";

interface Expectation {
  severity: Diagnostic["severity"];
  line: number;
  column: number;
  pieces: string[];
}

function expectationsOf(source: string): Expectation[] {
  const expectations: Expectation[] = [];
  for (const match of source.matchAll(/^\/\/ expect(-warning)?: (\d+):(\d+) (.*)$/gm)) {
    expectations.push({ severity: match[1] ? "warning" : "error", line: Number(match[2]), column: Number(match[3]), pieces: match[4]!.split(" ... ") });
  }
  return expectations;
}

function matches(diagnostic: Diagnostic, expectation: Expectation): boolean {
  if (diagnostic.severity !== expectation.severity || diagnostic.line !== expectation.line || diagnostic.column !== expectation.column) return false;
  let from = 0;
  for (const piece of expectation.pieces) {
    const at = diagnostic.message.indexOf(piece, from);
    if (at < 0) return false;
    from = at + piece.length;
  }
  return true;
}

const directory = "test/config/broken";
const files = readdirSync(directory).filter((name) => name.endsWith(".conf")).sort();

test("the corpus has at least 35 broken configurations", () => {
  expect(files.length).toBeGreaterThanOrEqual(35);
});

describe.each(files)("%s", (name) => {
  const source = readFileSync(`${directory}/${name}`, "utf8");
  const expectations = expectationsOf(source);
  const result = parseConfig(source, name);
  const errors = result.ok ? [] : result.errors;
  const diagnostics = [...errors, ...result.warnings];

  test("is rejected with exactly the expected diagnostics", () => {
    expect(expectations.filter((e) => e.severity === "error").length).toBeGreaterThan(0);
    expect(result.ok).toBe(false);
    const describe = (d: Diagnostic): string => `${d.severity} ${d.line}:${d.column} ${d.message}`;
    for (const expectation of expectations) {
      const found = diagnostics.some((d) => matches(d, expectation));
      expect(found ? "found" : `missing ${expectation.severity} ${expectation.line}:${expectation.column} ${expectation.pieces.join(" ... ")}\n  got:\n  ${diagnostics.map(describe).join("\n  ")}`).toBe("found");
    }
    expect(diagnostics.map(describe)).toHaveLength(expectations.length);
  });

  test("formats each diagnostic with its source line and a caret under the column", () => {
    const lines = source.split("\n");
    for (const d of diagnostics) {
      const [head, quoted, caret, ...rest] = formatDiagnostic(d, source).split("\n");
      expect(head).toBe(`${name}:${d.line}:${d.column}: ${d.severity}: ${d.message}`);
      expect(quoted).toBe(lines[d.line - 1]!);
      expect(rest).toEqual([]);
      expect(caret!.length).toBe(d.column);
      expect(caret!.endsWith("^")).toBe(true);
      // Tabs are copied so that the caret lines up however a terminal expands them.
      expect(caret!.slice(0, -1)).toBe(quoted!.slice(0, d.column - 1).replace(/[^\t]/g, " "));
    }
  });
});
