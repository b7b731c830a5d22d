// Network-namespace fixtures for the health tests: a checker namespace and a target
// namespace joined by a veth pair, processes run inside them, and cleanup that never leaves
// a namespace or process behind. Names start with "bngh" and a random suffix.
import type { Subprocess } from "bun";

const BUN = `${process.cwd()}/node_modules/.bin/bun`;

export function run(command: string[]): string {
  const result = Bun.spawnSync(command, { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${command.join(" ")}: ${result.stderr.toString().trim()}`);
  return result.stdout.toString();
}

/** Like run, but for cleanup: failures are expected (already gone) and ignored. */
function tryRun(command: string[]): void {
  Bun.spawnSync(command, { stdout: "ignore", stderr: "ignore" });
}

/** A process in a namespace whose stdout lines are collected and can be awaited. */
export class LineProcess {
  readonly lines: string[] = [];
  private waiters: (() => void)[] = [];
  readonly exited: Promise<number>;

  constructor(readonly process: Subprocess<"ignore", "pipe", "pipe">) {
    this.exited = process.exited;
    void this.read();
  }

  /** Resolves with the first line (from `from` on) that matches, or rejects after `timeoutMs`. */
  async waitFor(match: (line: string) => boolean, timeoutMs: number, from = 0): Promise<{ line: string; index: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.lines.findIndex((line, at) => at >= from && match(line));
      if (index >= 0) return { line: this.lines[index]!, index };
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching line within ${timeoutMs} ms; lines so far:\n${this.lines.join("\n")}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    this.process.kill("SIGTERM");
    const stopped = await Promise.race([this.exited.then(() => true), Bun.sleep(3000).then(() => false)]);
    if (!stopped) {
      this.process.kill("SIGKILL");
      await this.exited;
    }
  }

  private async read(): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of this.process.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      this.lines.push(...parts.filter((line) => line !== ""));
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    }
  }
}

export class NamespacePair {
  readonly checker: string;
  readonly target: string;
  private readonly processes = new Set<LineProcess>();

  constructor() {
    const suffix = Math.random().toString(36).slice(2, 8);
    this.checker = `bngh${suffix}a`;
    this.target = `bngh${suffix}b`;
  }

  /** Both namespaces, loopback up, veth "vcheck" (checker) <-> "vtarget" (target), both up, no addresses. */
  create(): void {
    run(["ip", "netns", "add", this.checker]);
    run(["ip", "netns", "add", this.target]);
    run(["ip", "link", "add", "vcheck", "netns", this.checker, "type", "veth", "peer", "name", "vtarget", "netns", this.target]);
    for (const [ns, link] of [
      [this.checker, "vcheck"],
      [this.target, "vtarget"],
    ] as const) {
      run(["ip", "-n", ns, "link", "set", "lo", "up"]);
      run(["ip", "-n", ns, "link", "set", link, "up"]);
    }
  }

  spawn(ns: string, command: string[]): LineProcess {
    const child = new LineProcess(Bun.spawn(["ip", "netns", "exec", ns, ...command], { stdin: "ignore", stdout: "pipe", stderr: "pipe" }));
    this.processes.add(child);
    void child.exited.then(() => this.processes.delete(child));
    return child;
  }

  bun(ns: string, script: string, ...args: string[]): LineProcess {
    return this.spawn(ns, [BUN, script, ...args]);
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.processes].map((child) => child.stop()));
    tryRun(["ip", "netns", "del", this.checker]);
    tryRun(["ip", "netns", "del", this.target]);
  }
}
