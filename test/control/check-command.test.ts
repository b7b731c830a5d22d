// `bng check FILE`: its verdict is whether `bng run` will take the file, so a valid file that run
// refuses fails the check with run's reasons, and only a runnable file gets "OK".
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SEED_CONFIG_PATH } from "../e2e/bng.ts";
import { BUN, REPO, runCommandSync } from "../fixtures/process.ts";
import { SEED_CONFIG_TEXT } from "./daemon-harness.ts";
import { runCli } from "./harness.ts";

const scratch = mkdtempSync(join(tmpdir(), "bng-check-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

describe("bng check", () => {
  test("the seed's file is OK: a one-line summary on stdout, nothing on stderr", async () => {
    expect(await runCli(["check", SEED_CONFIG_PATH])).toEqual({ code: 0, stdout: `${SEED_CONFIG_PATH}: OK: 1 interface, 1 network, 1 server, 2 targets, DSR\n`, stderr: "" });
  });

  test("a valid file that `bng run` refuses fails, with run's reasons after the positioned warnings", async () => {
    const path = join(REPO, "config/routing-example.conf");
    const result = await runCli(["check", path]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`${path}:4:18: warning: \`set ipforwarding 1\` asks for routing mode`);
    expect(result.stderr.endsWith(
      [
        `${path}: valid, but \`bng run\` refuses it:`,
        "  target 1 (10.1.1.1) of server 1 is not a DSR target: NAT/routing mode is not supported yet; add 'dsr enable' to target 1",
        "  target 2 (10.1.1.2) of server 1 is not a DSR target: NAT/routing mode is not supported yet; add 'dsr enable' to target 2",
        "  'set ipforwarding 1' asks for routing mode, which bng does not support yet: remove it for DSR",
        "",
      ].join("\n"),
    )).toBe(true);
  });

  test("refusals that have no line to point at are reported too: no `real` address, no enabled server", async () => {
    const noReal = file("no-real.conf", SEED_CONFIG_TEXT.replace(/^\s*real 172\.16\.1\.252\s*$/m, ""));
    expect(await runCli(["check", noReal])).toEqual({
      code: 1,
      stdout: "",
      stderr: `${noReal}: valid, but \`bng run\` refuses it:\n  network 1 has no 'real' address: bng needs its own address there to resolve target MACs and run health checks\n`,
    });
    const noServer = file("no-server.conf", SEED_CONFIG_TEXT.replace("enable server 1", ""));
    expect(await runCli(["check", noServer])).toEqual({
      code: 1,
      stdout: "",
      stderr: `${noServer}: valid, but \`bng run\` refuses it:\n  no server is registered and enabled: nothing to balance\n`,
    });
  });

  test("bng run on a file with errors exits 1 with start-failed and one config-error log line per diagnostic (no root needed)", () => {
    const broken = file("run-broken.conf", SEED_CONFIG_TEXT.replace("port 80", "port eighty").replace("ipaddr 172.16.1.101", "ipaddr 172.16.1.301"));
    const run = runCommandSync([BUN, join(REPO, "src/cli/main.ts"), "run", broken, "--socket", join(scratch, "run", "bng.sock")], { allowFailure: true });
    expect(run.exitCode).toBe(1);
    const lines = run.stderr.trimEnd().split("\n");
    expect(lines.map((line) => line.replace(/^\S+ /, ""))).toEqual([
      `error start-failed reason="${broken}: 2 configuration errors"`,
      expect.stringMatching(new RegExp(`^error config-error error="${broken.replaceAll(".", "\\.")}:\\d+:\\d+: error: .*eighty`)),
      expect.stringMatching(new RegExp(`^error config-error error="${broken.replaceAll(".", "\\.")}:\\d+:\\d+: error: .*172\\.16\\.1\\.301`)),
    ]);
  });

  test("an invalid file fails on its errors alone; run's refusals are not guessed at", async () => {
    const broken = file("broken.conf", SEED_CONFIG_TEXT.replace("port 80", "port eighty"));
    const result = await runCli(["check", broken]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(new RegExp(`^${broken.replaceAll(".", "\\.")}:\\d+:\\d+: error: `));
    expect(result.stderr).toEndWith(`${broken}: 1 error\n`);
    expect(result.stderr).not.toContain("refuses");
  });
});
