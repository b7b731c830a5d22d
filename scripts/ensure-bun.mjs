// npm 11 may skip bun's postinstall (install scripts not in allowScripts), which leaves
// node_modules/bun/bin/bun.exe as a placeholder. This makes sure the local bun really runs,
// running bun's own installer when it does not, so `npm test` works on a clean clone.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const bunBin = join(root, "node_modules", ".bin", "bun");

// The placeholder is an empty executable: it "runs" and prints nothing, so only a version
// string proves that the real binary is there.
function bunRuns() {
  try {
    const version = execFileSync(bunBin, ["--version"], { stdio: "pipe", encoding: "utf8" });
    return /^\d+\.\d+\.\d+/.test(version.trim());
  } catch {
    return false;
  }
}

if (!bunRuns()) {
  const installer = join(root, "node_modules", "bun", "install.js");
  if (!existsSync(installer)) {
    console.error("bng: node_modules/bun is missing: run `npm install` first");
    process.exit(1);
  }
  console.error("bng: the local bun does not run yet (npm skipped its install script); running it now");
  execFileSync(process.execPath, [installer], { cwd: join(root, "node_modules", "bun"), stdio: "inherit" });
  if (!bunRuns()) {
    console.error("bng: node_modules/bun still does not run after its installer; see node_modules/bun/bin/README.txt");
    process.exit(1);
  }
}
