// Hostile configurations through the real `bng check` in a child process (issue 19): digit
// runs of any length, huge ranges and ten-megabyte files end in an error that quotes the
// source at FILE:LINE:COLUMN, within a bound on memory measured by the kernel (the child's
// peak resident size, VmHWM) and on output; the child's timeout is only a guard against a hang.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_DIAGNOSTICS } from "../../src/config/errors.ts";
import { BUN, REPO } from "../fixtures/process.ts";

const SEED = readFileSync(join(REPO, "config/dsr-example.conf"), "utf8");
const scratch = mkdtempSync(join(tmpdir(), "bng-hostile-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Peak resident size allowed to `bng check` of any file here, the Bun runtime included. */
const MAX_RSS_MB = 200;
const HANG_GUARD_MS = 60_000;

interface Checked {
  path: string;
  code: number | null;
  stdout: string;
  stderr: string;
  maxRssMb: number;
}

function checkFile(path: string): Checked {
  const result = Bun.spawnSync([BUN, join(import.meta.dir, "check-peak-memory.ts"), path], { stdout: "pipe", stderr: "pipe", timeout: HANG_GUARD_MS });
  const stderr = result.stderr.toString();
  const peak = /peak-rss-kib (\d+)\n$/.exec(stderr);
  return { path, code: result.exitCode, stdout: result.stdout.toString(), stderr: stderr.slice(0, peak?.index), maxRssMb: peak ? Number(peak[1]) / 1024 : Infinity };
}

function check(name: string, text: string): Checked {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return checkFile(path);
}

/** The seed's file with one line replaced: `from` must occur in it. */
function seedWith(from: string, to: string): string {
  expect(SEED).toContain(from);
  return SEED.replace(from, to);
}

describe("bng check on hostile numbers", () => {
  const options = { timeout: HANG_GUARD_MS + 5000 };

  test("an id past 2^53 in a list is an error quoting it, not an endless loop", () => {
    const result = check("id-2-53.conf", seedWith("targets 1,2", "targets 1,9007199254740993"));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${result.path}:17:11: error: bad \`targets\` in server 1: expected an id (a whole number 1-4095), found \`9007199254740993\``);
  }, options);

  test("a 24-digit port is quoted as written, not as JavaScript formats the number", () => {
    const result = check("port-1e23.conf", seedWith("port 80\nprotocol tcp\ntargets", "port 100000000000000000000000\nprotocol tcp\ntargets"));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("expected a port number (a whole number 0-65535), found `100000000000000000000000`");
    expect(result.stderr).not.toContain("e+");
  }, options);

  test("a range past the largest id is one error, before anything is expanded", () => {
    for (const range of ["5000-5100", "1-4000000000", "1-99999999999999999999999"]) {
      const result = check("range.conf", `${SEED}register targets ${range}\n`);
      expect(result.code).toBe(1);
      expect(result.stderr.match(/error:/g)).toHaveLength(1);
      expect(result.stderr).toContain(`:38:18: error: bad \`register targets\` list: expected an id (a whole number 1-4095), found \`${range}\``);
    }
  }, options);

  test("health-check intervals and timeouts beyond a day are errors (a timer past 2^31 ms would fire every millisecond)", () => {
    const interval = check("interval.conf", seedWith("tcpopen 80,3,10", "tcpopen 80,2147484,2147484"));
    expect(interval.code).toBe(1);
    expect(interval.stderr).toContain("bad interval in `80,2147484,2147484`: expected an interval of 1-86400 seconds (a second to a day)");
    const timeout = check("timeout.conf", seedWith("tcpopen 80,3,10", "tcpopen 80,3,86401"));
    expect(timeout.stderr).toContain("bad timeout in `80,3,86401`: expected a timeout of at most 86400 seconds (a day)");
    const digits = check("digits.conf", seedWith("tcpopen 80,3,10", `tcpopen 80,3,${"9".repeat(400)}`));
    expect(digits.stderr).toContain(`bad timeout in \`80,3,${"9".repeat(35)}...\``);
  }, options);
});

describe("bng check on ten-megabyte files", () => {
  const TEN_MB = 10 * 1024 * 1024;
  const repeated = (text: string): string => text.repeat(Math.floor(TEN_MB / text.length));
  const options = { timeout: HANG_GUARD_MS + 5000 };

  test("one ten-megabyte digit run as a statement: one error, bounded memory", () => {
    const result = check("digits.conf", "9".repeat(TEN_MB));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(": error: unknown keyword `9999999999999999999999999999999999999999...`");
    expect(result.maxRssMb).toBeLessThan(MAX_RSS_MB);
    // The source line is shown as the stretch around the column, not ten megabytes.
    expect(result.stderr.length).toBeLessThan(2000);
  }, options);

  test("a ten-megabyte digit run as a value: one error quoting its start", () => {
    const result = check("digit-value.conf", seedWith("port 80\nprotocol tcp\ntargets", `port ${"7".repeat(TEN_MB)}\nprotocol tcp\ntargets`));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`found \`${"7".repeat(40)}...\``);
    expect(result.maxRssMb).toBeLessThan(MAX_RSS_MB);
  }, options);

  test("five million tokens: read one at a time, never held as an array", () => {
    const result = check("tokens.conf", "1 ".repeat(TEN_MB / 2));
    expect(result.code).toBe(1);
    expect(result.maxRssMb).toBeLessThan(MAX_RSS_MB);
  }, options);

  test("hundreds of thousands of errors: the first thousand are reported, the rest counted", () => {
    const block = "target 5 { ipaddr 172.16.1.105 dsr enable }\n";
    const result = check("duplicates.conf", `${SEED}${repeated(block)}`);
    expect(result.code).toBe(1);
    const errors = result.stderr.split("\n").filter((line) => line.includes(": error: "));
    expect(errors).toHaveLength(MAX_DIAGNOSTICS + 1);
    expect(errors.at(-1)).toMatch(new RegExp(`^${result.path}: error: \\d+ more errors not shown: bng reports the first ${MAX_DIAGNOSTICS} errors of a file$`));
    expect(result.maxRssMb).toBeLessThan(MAX_RSS_MB);
  }, options);

  test("what the model would keep stays bounded: lifecycle lines, interfaces, module names", () => {
    const files = {
      lifecycle: `${SEED}${repeated("enable target 1\n")}`,
      interfaces: Array.from({ length: TEN_MB / 16 }, (_, i) => `interface e${i}`).join("\n"),
      modules: `modules ${Array.from({ length: TEN_MB / 8 }, (_, i) => `m${i}`).join(",")}`,
      tcpopen: `${SEED.replace("tcpopen 80,3,10", repeated("tcpopen 80,3,10 "))}`,
    };
    const expected = {
      lifecycle: "more than 100000 statements: bng reads at most 100000, and ignores the rest of the file",
      interfaces: "more than 4095 interfaces: expected at most 4095",
      modules: "too many module names: a configuration names at most 64",
      tcpopen: "too many `tcpopen` in target 1: expected at most 16",
    };
    for (const [name, text] of Object.entries(files)) {
      const result = check(`${name}.conf`, text);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(expected[name as keyof typeof expected]);
      expect(result.maxRssMb).toBeLessThan(MAX_RSS_MB);
    }
  }, { timeout: 4 * (HANG_GUARD_MS + 5000) });

  test("a file over 16 MiB, or a device, is refused without being read whole", () => {
    const big = check("big.conf", `${SEED}${"//".padEnd(79, "x")}\n`.repeat(Math.ceil((16 * 1024 * 1024) / 80) + 1));
    expect(big.code).toBe(1);
    expect(big.stderr).toBe(`${big.path}: error: cannot read the configuration: larger than 16777216 bytes (16 MiB), the most bng reads: is it the configuration?\n${big.path}: 1 error\n`);
    const zero = checkFile("/dev/zero");
    expect(zero.code).toBe(1);
    expect(zero.stderr).toContain("/dev/zero: error: cannot read the configuration: larger than 16777216 bytes");
    expect(zero.maxRssMb).toBeLessThan(MAX_RSS_MB);
  }, options);
});
