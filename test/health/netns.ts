// Network-namespace fixtures for the health tests: a checker namespace and a target
// namespace joined by a veth pair, processes run inside them, and cleanup that never leaves
// a namespace or process behind. Names start with "bngh" and a random suffix.
import { BUN, LineProcess, run } from "../fixtures/process.ts";

/** Like run, but for cleanup: failures are expected (already gone) and ignored. */
function tryRun(command: string[]): void {
  Bun.spawnSync(command, { stdout: "ignore", stderr: "ignore" });
}

/** Two namespaces joined by a veth pair, and the processes started in them. */
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
    const child = new LineProcess(Bun.spawn(["ip", "netns", "exec", ns, ...command], { stdin: "ignore", stdout: "pipe", stderr: "pipe" }), "stdout");
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
