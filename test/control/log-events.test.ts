// docs/logs.md lists every event bng logs: this keeps the list and the code in step.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../fixtures/process.ts";

/** Every `.ts` file under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

/** The event names of the logger calls in `text`: literal names, both arms of a `?:`, `target-${state}` and `address-${origin}`. */
function loggedEvents(text: string): string[] {
  const events: string[] = [];
  // The arguments before the fields object (`{ key: …` or `{ ...spread`) or the closing `);`.
  for (const call of text.matchAll(/logger\.(info|warn|error|log)\(([\s\S]*?)(?:,\s*\{\s*(?:\.\.\.|[a-z_]+\b)|\);)/g)) {
    // log(level, event, …): the level expression comes first.
    const head = call[1] === "log" ? call[2]!.slice(call[2]!.indexOf(",") + 1) : call[2]!;
    for (const literal of head.matchAll(/"([a-z][a-z-]*)"/g)) {
      if (!["info", "warn", "error", "debug"].includes(literal[1]!)) events.push(literal[1]!);
    }
    // The health monitor's state changes: one event per state (src/health/state.ts HealthState).
    if (head.includes("`target-${event.to}`")) events.push("target-pending", "target-up", "target-down", "target-disabled");
    // The real address's origin (src/host/address.ts EnsuredAddress["origin"]).
    if (head.includes("`address-${address.origin}`")) events.push("address-added", "address-adopted", "address-present");
  }
  return events;
}

test("docs/logs.md lists exactly the events the code logs", () => {
  const inCode = new Set(sources(join(REPO, "src")).flatMap((file) => loggedEvents(readFileSync(file, "utf8"))));
  const doc = readFileSync(join(REPO, "docs/logs.md"), "utf8");
  const inDoc = new Set([...doc.matchAll(/^\| ((?:`[a-z-]+`(?:, )?)+) \|/gm)].flatMap((row) => [...row[1]!.matchAll(/`([a-z-]+)`/g)].map((m) => m[1]!)));
  expect(inCode.size).toBeGreaterThan(30);
  expect([...inDoc].filter((event) => !inCode.has(event)).sort()).toEqual([]);
  expect([...inCode].filter((event) => !inDoc.has(event)).sort()).toEqual([]);
});
