// 10,000 random mutations of the example configurations, reproducible from a fixed seed.
// Each one must either load or come back as diagnostics: never an exception, never an
// internal error, never slow. Mutants that still load must also survive a print round trip.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { formatDiagnostic, parseConfig, printConfig } from "../../src/config/index.ts";
import { pick, seededRandom, withoutPositions } from "./helpers.ts";

const MUTANTS = 10_000;
const sources = readdirSync("config")
  .filter((name) => name.endsWith(".conf"))
  .map((name) => readFileSync(`config/${name}`, "utf8"));
// Characters that matter to the grammar, plus a few that should never appear.
const INTERESTING = ['"', "{", "}", ",", "-", ".", "/", "\n", " ", "\t", "0", "9", "\u0000", "\u00e9", "\uFEFF", "\\"];

function tokenSpans(text: string): [number, number][] {
  return [...text.matchAll(/[^\s]+/g)].map((match) => [match.index, match.index + match[0].length]);
}

function mutate(text: string, random: () => number): string {
  const at = Math.floor(random() * text.length);
  const spans = tokenSpans(text);
  switch (Math.floor(random() * 6)) {
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
    default: {
      // delete a token
      const [start, end] = pick(random, spans);
      return text.slice(0, start) + text.slice(end);
    }
  }
}

test(`${MUTANTS} mutated configurations load or yield diagnostics, never an exception`, () => {
  const random = seededRandom(0x5eed_b9a);
  let loaded = 0;
  let slowest = 0;
  for (let i = 0; i < MUTANTS; i++) {
    let text = pick(random, sources);
    const mutations = 1 + Math.floor(random() * 3);
    for (let m = 0; m < mutations; m++) text = mutate(text, random);
    const started = performance.now();
    const result = parseConfig(text, `mutant-${i}.conf`);
    slowest = Math.max(slowest, performance.now() - started);
    const diagnostics = [...result.warnings, ...(result.ok ? [] : result.errors)];
    for (const d of diagnostics) {
      if (d.message.startsWith("internal error")) throw new Error(`mutant ${i}: ${d.message}\n${text}`);
      expect(d.line).toBeGreaterThanOrEqual(1);
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
  expect(slowest).toBeLessThan(1000);
  // Some mutants must survive (comments, names), or the round trip above proves nothing.
  expect(loaded).toBeGreaterThan(MUTANTS / 50);
});
