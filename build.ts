// Builds dist/bng: one self-contained executable (Bun runtime, bng, the data-plane worker),
// stamped with the version and the git commit.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, statSync } from "node:fs";
import { VERSION } from "./src/version.ts";

const root = new URL(".", import.meta.url).pathname;
const outfile = `${root}dist/bng`;

function gitCommit(): string {
  const head = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: root, encoding: "utf8" });
  if (head.status !== 0) return "unknown";
  const dirty = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8" });
  return head.stdout.trim() + (dirty.stdout.trim() ? "-dirty" : "");
}

mkdirSync(`${root}dist`, { recursive: true });
const commit = gitCommit();
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
const megabytes = (statSync(outfile).size / 2 ** 20).toFixed(1);
console.log(`built ${outfile}: bng ${VERSION} (${commit}), ${megabytes} MiB`);
