// Reads bun's JUnit reports: every test with its outcome and, for a skipped one, the reason its
// name or one of its suites' names carries ("… [skipped: needs root (…)]",
// test/fixtures/requirements.ts). A skipped hook (bun lists the hooks of a skipped suite as
// "(unnamed)") is not a test; a failed one is a failure.
import { readFileSync } from "node:fs";

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function attribute(tag, name) {
  const value = new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1] ?? "";
  return value.replace(/&(amp|lt|gt|quot|apos);/g, (_, entity) => ENTITIES[entity]);
}

const SKIP_TAG = /\[skipped: ([^\]]+)\]/;

/**
 * { passed, failed, skipped: [{ name, reason }], failures: [{ file, name }] } summed over the
 * reports in `files`; a failure's name carries its suites ("suite > … > test").
 */
export function readJunit(files) {
  const result = { passed: 0, failed: 0, skipped: [], failures: [] };
  for (const file of files) {
    const xml = readFileSync(file, "utf8");
    const suites = [];
    for (const match of xml.matchAll(/<testsuite\b[^>]*?(\/?)>|<\/testsuite>|<testcase\b[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
      const token = match[0];
      if (token.startsWith("</testsuite")) suites.pop();
      else if (token.startsWith("<testsuite")) {
        if (match[1] !== "/") suites.push(attribute(token, "name"));
      } else {
        const name = attribute(token, "name");
        const body = match[2] ?? "";
        if (/<(failure|error)\b/.test(body)) {
          result.failed++;
          result.failures.push({ file, name: [...suites, name].join(" > ") });
        }
        else if (/<skipped\b/.test(body)) {
          if (name === "(unnamed)") continue;
          const tagged = [name, ...suites].map((text) => SKIP_TAG.exec(text)?.[1]).find((reason) => reason !== undefined);
          result.skipped.push({ name, reason: tagged });
        } else result.passed++;
      }
    }
  }
  return result;
}

/** One line: how many tests were skipped and why, e.g. "37 tests skipped: 37 need root (…)". */
export function skippedLine(skipped) {
  const byReason = new Map();
  for (const { reason } of skipped) {
    const key = reason?.replace(/^needs /, "") ?? "";
    byReason.set(key, (byReason.get(key) ?? 0) + 1);
  }
  const parts = [...byReason].map(([need, count]) => (need === "" ? `${count} by a condition of their own (see their (skip) lines)` : `${count} ${count === 1 ? "needs" : "need"} ${need}`));
  return `${skipped.length} ${skipped.length === 1 ? "test" : "tests"} skipped: ${parts.join(", ")}`;
}
