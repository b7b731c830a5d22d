// Prints "N passed, N failed" summed over bun's JUnit reports (preceded by a line on skipped
// tests, if any); exits 1 when a test failed, a report is missing or no test ran.
//   node scripts/junit-count.mjs REPORT.xml...
import { existsSync } from "node:fs";
import { readJunit, skippedLine } from "./junit.mjs";

const files = process.argv.slice(2);
const missing = files.length === 0 || files.some((file) => !existsSync(file));
const { passed, failed, skipped } = missing ? { passed: 0, failed: 1, skipped: [] } : readJunit(files);
if (skipped.length > 0) console.log(skippedLine(skipped));
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
