// Runs bng inside a lab's bng namespace and talks to it over its control socket. What runs is
// the black-box suites' parameter, read here and nowhere else (scripts/test.mjs runs the suites
// once per variant): BNG_TEST_IO names the packet I/O engine written into every configuration a
// suite starts bng with (default mmsg), BNG_BIN the command (default: the source tree run by the
// local bun; e.g. dist/bng).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as v from "valibot";
import type { Settings } from "../../src/config/model.ts";
import { SETTINGS } from "../../src/config/schema.ts";
import type { StatusReport } from "../../src/control/status.ts";
import { BUN, REPO, runCommand, type CommandResult, type RunningProcess } from "../fixtures/process.ts";
import type { Lab } from "./lab.ts";

/** The path of the seed's DSR example. */
export const SEED_CONFIG_PATH = join(REPO, "config/dsr-example.conf");

/**
 * `config` (the seed's example or a variant of it) with a third target in server 1: target 3 at
 * 172.16.1.102, a copy of target 2's block (its checks included), registered and enabled.
 */
export function withThirdTarget(config: string): string {
  const second = /^target 2 \{\n[^}]*\}\n/m.exec(config);
  if (!second) throw new Error("withThirdTarget: the config has no target 2 block");
  const third = second[0].replace("target 2 {", "target 3 {").replace("ipaddr 172.16.1.101", "ipaddr 172.16.1.102");
  return config
    .replace("targets 1,2\n}", "targets 1,2,3\n}")
    .replace("register targets 1,2", `${third}register targets 1,2,3`)
    .replace("enable targets 1,2", "enable targets 1,2,3");
}

export function bngCommand(): string[] {
  const bin = process.env.BNG_BIN;
  return bin ? [resolve(REPO, bin)] : [BUN, join(REPO, "src/cli/main.ts")];
}

function engineUnderTest(): Settings["io"] {
  const parsed = v.safeParse(SETTINGS.io!.schema, process.env.BNG_TEST_IO ?? "mmsg");
  if (!parsed.success) throw new Error(`BNG_TEST_IO: ${parsed.issues[0].message}`);
  return parsed.output as Settings["io"];
}

/** The packet I/O engine the suites run bng with (`set io`). */
export const ENGINE = engineUnderTest();

/** `config` as the suites run it: with `set io ENGINE` added unless the text sets io itself. */
export function withEngine(config: string): string {
  return /^set io /m.test(config) ? config : `${config}${config.endsWith("\n") ? "" : "\n"}set io ${ENGINE}\n`;
}

/** A scratch directory for configs and the control socket, removed by `remove()`. */
export class Scratch {
  readonly dir = mkdtempSync(join(tmpdir(), "bng-e2e-"));

  write(name: string, text: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, text);
    return path;
  }

  /** A configuration file for the engine under test (withEngine). */
  writeConfig(name: string, config: string): string {
    return this.write(name, withEngine(config));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class BngInLab {
  private constructor(
    readonly lab: Lab,
    readonly process: RunningProcess,
    readonly socket: string,
  ) {}

  /** Starts `bng run CONFIG` in the lab's bng box (or the box `ns`) and waits for its `ready` log line. */
  static async start(lab: Lab, config: string, socket: string, ns = lab.bngNs): Promise<BngInLab> {
    const process = lab.spawnIn(ns, [...bngCommand(), "run", config, "--socket", socket]);
    await process.waitForOutput(/ ready /, 10_000);
    return new BngInLab(lab, process, socket);
  }

  cli(args: string[]): Promise<CommandResult> {
    return runCommand([...bngCommand(), ...args, "--socket", this.socket], { allowFailure: true, timeoutMs: 30_000 });
  }

  async status(): Promise<StatusReport> {
    const result = await this.cli(["status", "--json"]);
    if (result.exitCode !== 0) throw new Error(`bng status failed (${result.exitCode}): ${result.stderr}`);
    return JSON.parse(result.stdout) as StatusReport;
  }

  /** Polls status until every named target is in `state`; returns the elapsed milliseconds. */
  async waitForTargets(ids: number[], state: "up" | "down", timeoutMs: number): Promise<number> {
    const started = Date.now();
    for (;;) {
      const report = await this.status();
      const reached = ids.every((id) => report.targets.find((target) => target.id === id)?.state === state);
      if (reached) return Date.now() - started;
      if (Date.now() - started > timeoutMs) {
        throw new Error(`targets ${ids.join(",")} not ${state} within ${timeoutMs} ms: ${JSON.stringify(report.targets.map((t) => [t.id, t.state, t.reason]))}`);
      }
      await Bun.sleep(100);
    }
  }

  /**
   * SIGTERM; resolves with the exit code and how long the process took to exit. An exit other
   * than 0 prints bng's last log lines, so a failed test's output shows where the stop ended.
   */
  async stop(): Promise<{ exitCode: number; ms: number }> {
    const started = Date.now();
    const exitCode = await this.process.stop(3000);
    const ms = Date.now() - started;
    if (exitCode !== 0) console.error(`bng exited with ${exitCode} ${ms} ms after SIGTERM; its last log lines:\n${this.process.stderr.trimEnd().split("\n").slice(-15).join("\n")}`);
    return { exitCode, ms };
  }
}
