// Prints "N passed, N failed" summed over bun's JUnit reports, preceded by a line per failed test
// (its report, so its variant, and its name) and a line on skipped tests, if any; exits 1 when a
// test failed, a report is missing or no test ran. The failures come last but one so that the
// tail of a CI log names them.
//   node scripts/junit-count.mjs REPORT.xml...
import { existsSync } from "node:fs";
import { basename } from "node:path";
import { readJunit, skippedLine } from "./junit.mjs";

const files = process.argv.slice(2);
const missing = files.length === 0 || files.some((file) => !existsSync(file));
const { passed, failed, skipped, failures } = missing ? { passed: 0, failed: 1, skipped: [], failures: [] } : readJunit(files);
if (missing) console.log(`a report is missing: ${files.filter((file) => !existsSync(file)).join(" ") || "none given"}`);
if (skipped.length > 0) console.log(skippedLine(skipped));
for (const { file, name } of failures) console.log(`failed (${basename(file, ".xml")}): ${name}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
