// `bng control` against a real Daemon and its control socket (the in-memory box of
// DaemonHarness): at a terminal (a tmux pane: a real pty), with the prompt, tab completion of
// verbs and ids, history and the console's commands; and with commands on a pipe.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { complete, tokenize } from "../../src/cli/console.ts";
import { DaemonHarness } from "../control/harness.ts";
import { BUN, REPO } from "../fixtures/process.ts";

const TMUX = Bun.which("tmux");
const harness = new DaemonHarness();

/** Runs `bng ARGS` as a process without blocking this thread (the daemon answering it lives here). */
async function bng(args: string[], stdin: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn([BUN, join(REPO, "src/cli/main.ts"), ...args], { stdin: new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe", env: { ...process.env, HOME: harness.dir } });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

beforeAll(async () => {
  await harness.start();
  harness.healthy.add("172.16.1.100");
  harness.healthy.add("172.16.1.101");
  harness.answerArp([1, 2]);
  await harness.waitFor(() => harness.daemon.healthMonitor.state(1) === "up" && harness.daemon.healthMonitor.state(2) === "up", "both targets up", 10_000);
});
afterAll(() => harness.stop());

describe("console lines", () => {
  test("words split on spaces; quotes keep a file name whole", () => {
    expect(tokenize("  show   targets ")).toEqual(["show", "targets"]);
    expect(tokenize('reload "/etc/my bng.conf"')).toEqual(["reload", "/etc/my bng.conf"]);
    expect(() => tokenize('reload "/etc/x')).toThrow("a quote is not closed");
  });

  test("completion: verbs, their words, and the running bng's ids", async () => {
    const ids = async (kind: "targets" | "servers") => (kind === "targets" ? [1, 2, 12] : [1]);
    expect(await complete("", ids)).toEqual([["status ", "show ", "explain ", "enable ", "disable ", "reload ", "clear ", "metrics ", "stop ", "check ", "print ", "version ", "help ", "quit ", "exit "], ""]);
    expect(await complete("s", ids)).toEqual([["status ", "show ", "stop "], "s"]);
    expect(await complete("show h", ids)).toEqual([["hc "], "h"]);
    expect(await complete("disable ", ids)).toEqual([["target ", "server "], ""]);
    expect(await complete("disable target 1", ids)).toEqual([["1 ", "12 "], "1"]);
    expect(await complete("enable server ", ids)).toEqual([["1 "], ""]);
    expect(await complete("clear c", ids)).toEqual([["counters "], "c"]);
    expect(await complete("stop now ", ids)).toEqual([[], ""]);
  });
});

describe("bng control with commands on standard input", () => {
  test("without a running bng: the reason, exit 1", async () => {
    const result = await bng(["control", "--socket", join(harness.dir, "nothing.sock")], "show targets\n");
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`bng: cannot reach bng on ${join(harness.dir, "nothing.sock")}: is bng running?`);
  });

  test("runs each line against the daemon, no prompt, exit 0", async () => {
    const result = await bng(["control", "--socket", harness.socket], "show targets\ndisable target 2\nshow hc\nshow parameters\nquit\nshow servers\n");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("bng#");
    expect(result.stdout).toMatch(/^TARGET +NAME +ADDRESS +STATE/m);
    expect(result.stdout).toContain("target 2 disabled");
    expect(result.stdout).toMatch(/^TARGET +ADDRESS +STATE +CHECK +EVERY\/DOWN +LAST +LATENCY +LAST OK +REASON$/m);
    expect(result.stdout).toMatch(/^1 +172\.16\.1\.100:80 +up +tcpopen 80 +1s\/2s +ok +/m);
    expect(result.stdout).toMatch(/^2 +172\.16\.1\.101:80 +disabled +tcpopen 80 /m);
    expect(result.stdout).toMatch(/^sessions +262144 +default$/m);
    // Nothing after quit runs.
    expect(result.stdout).not.toContain("SERVER ");
    expect(harness.daemon.config.targets.find((target) => target.id === 2)!.enabled).toBe(false);
    expect((await bng(["enable", "target", "2", "--socket", harness.socket], "")).code).toBe(0);
  }, 20_000);

  test("a failing line is reported and the next still runs; the exit code says one failed", async () => {
    const result = await bng(["control", "--socket", harness.socket], "disable target 9\nshow bogus\nrun /etc/bng.conf\nshow config\n");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("bng: no target 9 (targets: 1, 2)");
    expect(result.stderr).toContain("bng: show needs one of: servers, targets, sessions, networks, hc, arp, vrrp, parameters, config");
    expect(result.stderr).toContain("bng: 'run' is not a console command; run it from the shell");
    expect(result.stdout).toStartWith("// configuration taken ");
    expect(result.stdout).toContain("target 1 {");
  }, 20_000);
});

/** A console in a tmux pane: a real terminal, driven by keys, read from the screen. */
class Pane {
  readonly session = `bngconsole${Math.random().toString(36).slice(2, 8)}`;

  constructor(command: string[]) {
    const started = Bun.spawnSync([TMUX!, "new-session", "-d", "-s", this.session, "-x", "200", "-y", "50", ...command], { stderr: "pipe" });
    if (started.exitCode !== 0) throw new Error(`tmux: ${started.stderr.toString()}`);
  }

  keys(...keys: string[]): void {
    Bun.spawnSync([TMUX!, "send-keys", "-t", this.session, ...keys]);
  }

  screen(): string {
    return Bun.spawnSync([TMUX!, "capture-pane", "-p", "-t", this.session, "-S", "-200"]).stdout.toString();
  }

  async waitFor(pattern: RegExp, what: string): Promise<string> {
    let screen = "";
    try {
      await harness.waitFor(() => pattern.test((screen = this.screen())), what, 10_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}; the screen:\n${screen}`);
    }
    return screen;
  }

  alive(): boolean {
    return Bun.spawnSync([TMUX!, "has-session", "-t", this.session], { stderr: "ignore" }).exitCode === 0;
  }

  kill(): void {
    Bun.spawnSync([TMUX!, "kill-session", "-t", this.session], { stderr: "ignore" });
  }
}

describe.skipIf(TMUX === null)("bng control at a terminal", () => {
  test("show targets, disable target 1, show hc, quit; with completion and history", async () => {
    const pane = new Pane(["env", `HOME=${harness.dir}`, BUN, join(REPO, "src/cli/main.ts"), "control", "--socket", harness.socket]);
    try {
      await pane.waitFor(/^bng# ?$/m, "the prompt");
      expect(pane.screen()).toMatch(/^bng \S+ \(pid \d+\) on \S+; 'help' lists the commands, 'quit' leaves$/m);
      pane.keys("show targets", "Enter");
      await pane.waitFor(/^1 +-  +172\.16\.1\.100:80 +up /m, "target 1 up in show targets");
      // Completion: "dis" + TAB -> "disable ", "t" + TAB -> "target ", TAB TAB lists the ids.
      pane.keys("dis", "Tab");
      await pane.waitFor(/^bng# disable ?$/m, "disable completed");
      pane.keys("t", "Tab");
      await pane.waitFor(/^bng# disable target ?$/m, "target completed");
      // Two TABs list the ids; the second once the first's completion (a request to bng) is done.
      pane.keys("Tab");
      await Bun.sleep(500);
      pane.keys("Tab");
      await pane.waitFor(/^1 +2 *$/m, "the target ids listed");
      pane.keys("1", "Enter");
      await pane.waitFor(/target 1 disabled/, "target 1 disabled");
      expect(harness.daemon.config.targets.find((target) => target.id === 1)!.enabled).toBe(false);
      pane.keys("show hc", "Enter");
      await pane.waitFor(/^1 +172\.16\.1\.100:80 +disabled +tcpopen 80 /m, "show hc");
      // History: Up twice recalls "disable target 1"; edit it to enable.
      pane.keys("Up", "Up");
      await pane.waitFor(/^bng# disable target 1$/m, "history recalls the disable");
      pane.keys("C-a", ...Array(7).fill("DC"), "enable", "Enter");
      await pane.waitFor(/target 1 enabled/, "target 1 enabled again");
      pane.keys("quit", "Enter");
      await harness.waitFor(() => !pane.alive(), "the console to end");
    } finally {
      pane.kill();
    }
    const history = await Bun.file(join(harness.dir, ".bng_history")).text();
    expect(history.trim().split("\n")).toEqual(["show targets", "disable target 1", "show hc", "enable target 1", "quit"]);
  }, 60_000);
});
