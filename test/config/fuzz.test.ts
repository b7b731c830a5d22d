// 10,000 random mutations of the example configurations, reproducible from a fixed seed.
// Each one must either load or come back as diagnostics: never an exception, never an
// internal error, never more work than the text warrants (long digit runs and huge ranges
// among the mutations; no array in the result longer than a list may be). Mutants that still
// load must also survive a print round trip. Then one ten-megabyte file of mutants.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { MAX_DIAGNOSTICS } from "../../src/config/errors.ts";
import { formatDiagnostic, parseConfig, printConfig, type ParseResult } from "../../src/config/index.ts";
import { MAX_LIST_LENGTH } from "../../src/config/values.ts";
import { pick, seededRandom, withoutPositions } from "./helpers.ts";

const MUTANTS = 10_000;
// bird-*.conf are BIRD's configurations (scale-out), not bng's.
const sources = readdirSync("config")
  .filter((name) => name.endsWith(".conf") && !name.startsWith("bird-"))
  .map((name) => readFileSync(`config/${name}`, "utf8"));
// Characters that matter to the grammar, plus a few that should never appear.
const INTERESTING = ['"', "{", "}", ",", "-", ".", "/", "\n", " ", "\t", "0", "9", "\u0000", "\u00e9", "\uFEFF", "\\"];
// Numbers no configuration should hold: past 2^53, ranges of billions, ranges past the largest id.
const HUGE = ["9007199254740993", "1,9007199254740993", "1-4000000000", "4000-4100", "1-4095,1-4095", "0-65536", "80,3,2147484", "1e+23", "99999999999999999999999"];

function tokenSpans(text: string): [number, number][] {
  return [...text.matchAll(/[^\s]+/g)].map((match) => [match.index, match.index + match[0].length]);
}

function mutate(text: string, random: () => number): string {
  const at = Math.floor(random() * text.length);
  const spans = tokenSpans(text);
  switch (Math.floor(random() * 8)) {
    case 0: // flip one byte's bits
      return text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ (1 << Math.floor(random() * 7))) + text.slice(at + 1);
    case 1: // replace a character by one that matters to the grammar
      return text.slice(0, at) + pick(random, INTERESTING) + text.slice(at + 1);
    case 2: // delete a stretch
      return text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 20));
    case 3: {
      // duplicate a token somewhere else
      const [start, end] = pick(random, spans);
      return `${text.slice(0, at)} ${text.slice(start, end)} ${text.slice(at)}`;
    }
    case 4: {
      // swap two tokens
      const [a, b] = [pick(random, spans), pick(random, spans)].sort((x, y) => x[0] - y[0]) as [[number, number], [number, number]];
      if (a[1] > b[0]) return text;
      return text.slice(0, a[0]) + text.slice(b[0], b[1]) + text.slice(a[1], b[0]) + text.slice(a[0], a[1]) + text.slice(b[1]);
    }
    case 6: // a digit run of up to 100,000 digits
      return `${text.slice(0, at)}${"9".repeat(10 ** Math.floor(random() * 6))}${text.slice(at)}`;
    case 7: {
      // a token replaced by a huge number or range
      const [start, end] = pick(random, spans);
      return text.slice(0, start) + pick(random, HUGE) + text.slice(end);
    }
    default: {
      // delete a token
      const [start, end] = pick(random, spans);
      return text.slice(0, start) + text.slice(end);
    }
  }
}

function mutant(random: () => number): string {
  let text = pick(random, sources);
  const mutations = 1 + Math.floor(random() * 3);
  for (let m = 0; m < mutations; m++) text = mutate(text, random);
  return text;
}

/** The longest array anywhere in a result: ranges are bounded before they are expanded. */
function longestArray(value: unknown, seen = new Set<unknown>()): number {
  if (typeof value !== "object" || value === null || seen.has(value)) return 0;
  seen.add(value);
  const own = Array.isArray(value) ? value.length : 0;
  return Math.max(own, ...Object.values(value).map((child) => longestArray(child, seen)));
}

function expectBoundedWork(result: ParseResult): void {
  expect(longestArray(result)).toBeLessThanOrEqual(MAX_LIST_LENGTH);
  expect(result.warnings.length).toBeLessThanOrEqual(MAX_DIAGNOSTICS + 1);
  if (!result.ok) expect(result.errors.length).toBeLessThanOrEqual(MAX_DIAGNOSTICS + 1);
}

test(`${MUTANTS} mutated configurations load or yield diagnostics, never an exception`, () => {
  const random = seededRandom(0x5eed_b9a);
  let loaded = 0;
  for (let i = 0; i < MUTANTS; i++) {
    const text = mutant(random);
    const result = parseConfig(text, `mutant-${i}.conf`);
    expectBoundedWork(result);
    const diagnostics = [...result.warnings, ...(result.ok ? [] : result.errors)];
    for (const d of diagnostics) {
      if (d.message.startsWith("internal error")) throw new Error(`mutant ${i}: ${d.message}\n${text}`);
      // Only the count of diagnostics not shown has no place in the file.
      if (d.line < 1 && !/^\d+ more (errors|warnings) not shown/.test(d.message)) throw new Error(`mutant ${i}: ${d.message} at line ${d.line}\n${text.slice(0, 2000)}`);
      formatDiagnostic(d, text);
    }
    if (result.ok) {
      loaded++;
      const again = parseConfig(printConfig(result.config), "printed.conf");
      if (!again.ok) throw new Error(`mutant ${i} loads but its printout does not:\n${again.errors.map((d) => d.message).join("\n")}\n${text}`);
      expect(withoutPositions(again.config)).toEqual(withoutPositions(result.config));
    } else {
      expect(result.errors.length).toBeGreaterThan(0);
    }
  }
  // Some mutants must survive (comments, names), or the round trip above proves nothing.
  expect(loaded).toBeGreaterThan(MUTANTS / 50);
  // A guard against a hang only: the work is bounded by the assertions above.
}, 120_000);

test("a ten-megabyte file of mutants: bounded diagnostics and arrays, the rest counted", () => {
  const random = seededRandom(0x10_bad);
  const parts: string[] = [];
  for (let size = 0; size < 10 * 1024 * 1024; ) {
    const text = mutant(random);
    parts.push(text);
    size += text.length;
  }
  const result = parseConfig(parts.join("\n"), "ten-megabytes.conf");
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expectBoundedWork(result);
  expect(result.errors).toHaveLength(MAX_DIAGNOSTICS + 1);
  expect(result.errors.at(-1)!.message).toMatch(/^\d+ more errors not shown: bng reports the first 1000 errors of a file$/);
}, 60_000);
