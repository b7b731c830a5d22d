// Builds one self-contained executable of bng, stamped with the version and the git commit:
// - `bun build.ts` (npm run build): dist/bng, the Bun runtime, bng and its data-plane worker,
//   and dist/bng.service beside it.
// - `deno run --allow-all build.ts deno` (npm run build:deno): dist/bng-deno with `deno compile`.
//   deno compile puts bng on Deno's runtime base (denort), which it downloads from Deno's
//   servers; npm does not carry it. So the build uses the denort named by DENORT_BIN and
//   without it stops, saying so.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { VERSION } from "./src/version.ts";

const root = new URL(".", import.meta.url).pathname;

function gitCommit(): string {
  const head = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: root, encoding: "utf8" });
  if (head.status !== 0) return "unknown";
  const dirty = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8" });
  return head.stdout.trim() + (dirty.stdout.trim() ? "-dirty" : "");
}

function built(outfile: string, commit: string): void {
  const megabytes = (statSync(outfile).size / 2 ** 20).toFixed(1);
  console.log(`built ${outfile}: bng ${VERSION} (${commit}), ${megabytes} MiB`);
}

async function buildWithBun(commit: string): Promise<void> {
  const outfile = `${root}dist/bng`;
  const result = await Bun.build({
    // The worker is a second entry point so that `new Worker` finds it inside the executable.
    entrypoints: [`${root}src/cli/main.ts`, `${root}src/main/worker.ts`],
    compile: { outfile },
    minify: true,
    sourcemap: "none",
    define: { BNG_BUILD_COMMIT: JSON.stringify(commit) },
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    process.exit(1);
  }
  // The unit ships beside the executable: scripts/install.sh puts both in place.
  copyFileSync(`${root}config/bng.service`, `${root}dist/bng.service`);
  built(outfile, commit);
}

function buildWithDeno(commit: string): void {
  if (!process.env.DENORT_BIN) {
    console.error("build:deno: deno compile needs Deno's runtime base (denort), which it downloads from Deno's servers and npm does not carry: set DENORT_BIN to denort 2.9.6 for this platform (README, \"Running on Deno\")");
    process.exit(1);
  }
  const outfile = `${root}dist/bng-deno`;
  // The commit, as --define stamps it for Bun: a global set before any module of bng runs.
  const stamp = `${root}dist/deno-build-stamp.js`;
  writeFileSync(stamp, `globalThis.BNG_BUILD_COMMIT = ${JSON.stringify(commit)};\n`);
  const compile = spawnSync(
    process.execPath,
    [
      "compile",
      "--config",
      `${root}deno.json`,
      "--no-check",
      // The executable is the daemon as well as the client: the daemon's permissions (bin/bng-deno says why).
      "--allow-all",
      "--preload",
      stamp,
      // The data-plane worker is loaded by URL at run time, which the module graph does not show.
      "--include",
      `${root}src/main/worker.ts`,
      // Of node_modules (the runtimes, the compiler, the test libraries) only what bng runs on.
      "--exclude",
      `${root}node_modules`,
      "--include",
      `${root}node_modules/valibot`,
      "--output",
      outfile,
      `${root}src/cli/main.ts`,
    ],
    { cwd: root, stdio: "inherit" },
  );
  if (compile.status !== 0) process.exit(compile.status ?? 1);
  built(outfile, commit);
}

mkdirSync(`${root}dist`, { recursive: true });
const commit = gitCommit();
if (process.argv[2] === "deno") buildWithDeno(commit);
else await buildWithBun(commit);
