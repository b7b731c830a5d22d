// The script probe's own rules: the cause of a program that cannot run, and the cap on
// scripts running at once. (Exit codes, output and kills: script.netns.test.ts.)
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ProbeResult } from "../../src/health/state.ts";
import { MAX_RUNNING_SCRIPTS, ScriptRunner } from "../../src/health/script.ts";

const TARGET = 0x0ad6000b;

function results() {
  const got: ProbeResult[] = [];
  return { got, done: (result: ProbeResult) => got.push(result) };
}

describe("ScriptRunner", () => {
  test("a program that cannot run fails with why, never inside the start call", async () => {
    const runner = new ScriptRunner();
    const { got, done } = results();
    runner.start("/nonexistent/check", TARGET, 80, done);
    expect(got).toEqual([]);
    await Bun.sleep(10);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ ok: false, cause: expect.stringMatching(/^cannot run: .*(ENOENT|no such file)/i) });
  });

  test(`at most ${MAX_RUNNING_SCRIPTS} run at once; the next waits for a slot, and says so if its time runs out`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "bng-script-limit-"));
    const script = join(dir, "slow.sh");
    writeFileSync(script, "#!/bin/sh\nsleep 300\n");
    chmodSync(script, 0o755);
    const runner = new ScriptRunner();
    try {
      const { got, done } = results();
      const attempts = Array.from({ length: MAX_RUNNING_SCRIPTS + 1 }, () => runner.start(script, TARGET, 80, done));
      const waiting = attempts.at(-1)!;
      expect(waiting.pendingCause?.()).toBe(`timeout (not started: ${MAX_RUNNING_SCRIPTS} scripts running)`);
      expect(attempts[0]!.pendingCause?.()).toBe("timeout (killed)");
      attempts[0]!.cancel();
      expect(waiting.pendingCause?.()).toBe("timeout (killed)");
      for (const attempt of attempts) attempt.cancel();
      await Bun.sleep(50);
      expect(got).toEqual([]);
    } finally {
      runner.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
