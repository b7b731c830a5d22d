// `npm test`: makes sure the local bun runs, installs the system tools the tests use when run as
// root (scripts/install-system-deps.sh, apt-get), type-checks, then runs `bun test` with the
// arguments given. Skipped tests are counted and explained in one line at the end (as another
// user, the suites that build network namespaces are skipped).
//
//   node scripts/test.mjs [BUN TEST ARGS...]          what `npm test -- ARGS` runs
//   node scripts/test.mjs --variants [--junit DIR]    CI (.ci/run): the whole suite in the first
//                                                     variant, then the black-box suites in each
//                                                     other, then the unit tests under Deno;
//                                                     JUnit reports written to DIR
//
// A variant is what the black-box suites (they start bng and talk to it from outside) run bng
// with, read in test/e2e/bng.ts: the packet I/O engine (BNG_TEST_IO) and the command (BNG_BIN,
// default the source tree through the local bun). A further engine or runtime is one more entry
// of VARIANTS, e.g. { name: "deno", env: { BNG_BIN: "bin/bng-deno" } }.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readJunit, skippedLine } from "./junit.mjs";

const VARIANTS = [
  { name: "mmsg", env: { BNG_TEST_IO: "mmsg" } },
  { name: "ring", env: { BNG_TEST_IO: "ring" } },
  // AF_XDP with bng's XDP program on the lab's veth (native XDP, copy mode).
  { name: "xdp", env: { BNG_TEST_IO: "xdp" } },
  // Deno: distribution, failover and status (the seed's DSR suite) with bin/bng-deno as bng.
  { name: "deno", env: { BNG_TEST_IO: "mmsg", BNG_BIN: "bin/bng-deno" }, suites: ["test/e2e/dsr.test.ts"] },
];

const BLACK_BOX_SUITES = [
  "test/e2e/dsr.test.ts",
  "test/e2e/compat.test.ts",
  "test/e2e/workers.test.ts",
  "test/e2e/load.test.ts",
  "test/e2e/frame-cases.test.ts",
  "test/e2e/methods-policies.test.ts",
  "test/e2e/kernel-filter.test.ts",
  "test/e2e/explain.test.ts",
  "test/e2e/doctor.test.ts",
  "test/control/bng-run.netns.test.ts",
  "test/e2e/ha.test.ts",
  "test/e2e/ha-keepalived.test.ts",
];

const root = new URL("..", import.meta.url).pathname;
const bin = (name) => join(root, "node_modules", ".bin", name);

function step(argv, env = {}) {
  const result = spawnSync(argv[0], argv.slice(1), { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
  if (result.error) console.error(`${argv.join(" ")}: ${result.error.message}`);
  return result.status ?? 1;
}

function usage(message) {
  console.error(`${message}\nusage: node scripts/test.mjs [BUN TEST ARGS...] | --variants [--junit DIR]`);
  process.exit(2);
}

const args = process.argv.slice(2);
const variants = args[0] === "--variants";
let reports;
if (variants) {
  const rest = args.slice(1);
  if (rest.length !== 0 && !(rest.length === 2 && rest[0] === "--junit")) usage(`--variants takes only --junit DIR, not ${rest.join(" ")}`);
  reports = rest[1];
}
for (const suite of BLACK_BOX_SUITES) if (!existsSync(join(root, suite))) usage(`scripts/test.mjs names ${suite}, which does not exist`);

if (step([process.execPath, join(root, "scripts/ensure-bun.mjs")]) !== 0) process.exit(1);
if (step(["bash", join(root, "scripts/install-system-deps.sh")]) !== 0) {
  console.error("the system tools the tests use could not be installed (scripts/install-system-deps.sh)");
  process.exit(1);
}
if (step([bin("tsc"), "--noEmit", "-p", "."]) !== 0) {
  console.error("type errors: tests not run");
  process.exit(1);
}

const directory = reports ?? mkdtempSync(join(tmpdir(), "bng-test-"));
mkdirSync(directory, { recursive: true });
const runs = variants
  ? VARIANTS.map((variant, index) => ({ variant, paths: index === 0 ? [] : (variant.suites ?? BLACK_BOX_SUITES) }))
  : [{ variant: undefined, paths: args }];
let failed = false;
const files = [];
for (const { variant, paths } of runs) {
  const file = join(directory, `junit${variant ? `-${variant.name}` : ""}.xml`);
  rmSync(file, { force: true });
  if (variant) console.log(`\n== bun test, variant ${variant.name} (${Object.entries(variant.env).map(([name, value]) => `${name}=${value}`).join(" ")})${paths.length ? `: ${paths.join(" ")}` : ": every suite"}\n`);
  if (step([bin("bun"), "test", ...paths, "--reporter=junit", `--reporter-outfile=${file}`], variant?.env) !== 0) failed = true;
  if (existsSync(file)) files.push(file);
  else failed = true;
}
// The unit tests that run on both runtimes, under Deno (deno.json's test.include).
if (variants) {
  const file = join(directory, "junit-deno-units.xml");
  console.log("\n== deno test: the runtime-neutral unit tests under Deno\n");
  if (step([join(root, "bin", "deno"), "task", "test", `--junit-path=${file}`]) !== 0) failed = true;
  if (existsSync(file)) files.push(file);
  else failed = true;
}
const { skipped } = readJunit(files);
if (skipped.length > 0) console.log(skippedLine(skipped));
if (reports === undefined) rmSync(directory, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
