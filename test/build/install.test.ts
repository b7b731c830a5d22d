// The appliance install: `npm run build` makes one self-contained executable, scripts/install.sh
// puts it and its systemd unit under a root, and the installed file runs from an empty
// directory with neither bun nor node_modules, DSR worker thread included.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BngInLab, SEED_CONFIG_PATH } from "../e2e/bng.ts";
import { withLab } from "../e2e/fixture.ts";
import { BUN, REPO, runCommandSync } from "../fixtures/process.ts";
import { ROOT, testWith } from "../fixtures/requirements.ts";

const installRoot = mkdtempSync(join(tmpdir(), "bng-install-"));
const emptyDir = mkdtempSync(join(tmpdir(), "bng-empty-"));
const installed = join(installRoot, "usr/local/sbin/bng");
// No bun, no node, no node_modules: only the system's directories.
const bareEnv = { PATH: "/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin" };

function run(argv: string[], cwd = emptyDir) {
  return runCommandSync(argv, { cwd, env: bareEnv, replaceEnv: true, allowFailure: true });
}

beforeAll(() => {
  runCommandSync([BUN, join(REPO, "build.ts")], { cwd: REPO, timeoutMs: 120_000 });
  runCommandSync(["bash", join(REPO, "scripts/install.sh"), "--root", installRoot]);
}, 120_000);

afterAll(() => {
  rmSync(installRoot, { recursive: true, force: true });
  rmSync(emptyDir, { recursive: true, force: true });
});

describe("the installed executable", () => {
  test("is one executable file stamped with the version and the commit", () => {
    expect(statSync(installed).mode & 0o111).not.toBe(0);
    const head = runCommandSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: REPO, allowFailure: true }).stdout.trim();
    const result = run([installed, "version"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^bng 0\\.1\\.0 \\(${head}(-dirty)?\\)`));
    for (const flag of ["--version", "-V"]) expect(run([installed, flag])).toEqual(result);
  });

  test("checks the installed /etc/bng.conf (the seed's example) from an empty directory without bun", () => {
    const result = run([installed, "check", join(installRoot, "etc/bng.conf")]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("1 interface, 1 network, 1 server, 2 targets, DSR");
  });

  // In a mount namespace of its own, the install root's etc/ is laid over /etc: the host's /etc stays as it is.
  testWith([ROOT], "reads the installed /etc/bng.conf when no file is named (root)", () => {
    const overlaid = "mount -t overlay overlay -o \"lowerdir=$1/etc:/etc\" /etc && exec \"$2\" check";
    const result = run(["unshare", "--mount", "--propagation", "private", "sh", "-c", overlaid, "sh", installRoot, installed]);
    expect(result).toEqual({ exitCode: 0, stdout: "/etc/bng.conf: OK: 1 interface, 1 network, 1 server, 2 targets, DSR\n", stderr: "" });
  });

  test("usage errors exit 2, no stack trace", () => {
    const result = run([installed, "frobnicate"]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("unknown command 'frobnicate'");
    expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  test("the unit runs it in the foreground, reloads with SIGHUP, restarts on failure, with only the capabilities it needs", () => {
    const unit = readFileSync(join(installRoot, "etc/systemd/system/bng.service"), "utf8");
    expect(unit).toContain("ExecStart=/usr/local/sbin/bng run /etc/bng.conf");
    expect(unit).toContain("ExecReload=/bin/kill -HUP $MAINPID");
    expect(unit).toContain("Restart=on-failure");
    expect(unit).toMatch(/^CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN$/m);
    expect(unit).toMatch(/^Type=simple$/m);
  });

  test("install keeps an existing /etc/bng.conf", () => {
    writeFileSync(join(installRoot, "etc/bng.conf"), "// mine\n");
    const again = runCommandSync(["bash", join(REPO, "scripts/install.sh"), "--root", installRoot], { allowFailure: true });
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain("kept the existing");
    expect(readFileSync(join(installRoot, "etc/bng.conf"), "utf8")).toBe("// mine\n");
  });

  testWith([ROOT], "balances the seed's network, worker thread and all (root)", async () => {
    const previous = process.env.BNG_BIN;
    process.env.BNG_BIN = installed;
    try {
      await withLab({ prefix: "bngi", clients: 4 }, async (lab, scratch) => {
        const bng = await BngInLab.start(lab, SEED_CONFIG_PATH, `${scratch.dir}/bng.sock`);
        expect(bng.process.argv[0]).toBe(installed);
        await bng.waitForTargets([1, 2], "up", 10_000);
        const results = await lab.requests({ count: 20, concurrency: 4 });
        expect(results.filter((r) => !r.ok)).toEqual([]);
        expect(new Set(results.map((r) => r.target))).toEqual(new Set(["target1", "target2"]));
        expect((await bng.stop()).exitCode).toBe(0);
      });
    } finally {
      if (previous === undefined) delete process.env.BNG_BIN;
      else process.env.BNG_BIN = previous;
    }
  }, 60_000);
});
