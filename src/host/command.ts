// The one way bng runs another program on the box (ip, nft, ethtool): synchronously, with its
// output captured, through node:child_process so it works on every runtime bng supports.
import { spawnSync } from "node:child_process";

export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A program that could not be started at all (not installed, not in PATH). */
export class CommandUnavailableError extends Error {}

/** How long a host command may take before it is killed: a hung `ip` must not freeze the control thread. */
const COMMAND_TIMEOUT_MS = 10_000;

/** Runs `argv` (optionally feeding `input` on stdin) and returns its exit code and output. */
export function runCommand(argv: readonly string[], input?: string): CommandResult {
  const [program, ...args] = argv;
  if (program === undefined) throw new CommandUnavailableError("no program to run");
  const result = spawnSync(program, args, { input, encoding: "utf8", timeout: COMMAND_TIMEOUT_MS, stdio: ["pipe", "pipe", "pipe"] });
  if (result.error !== undefined) {
    const code = (result.error as NodeJS.ErrnoException).code;
    if (code === "ETIMEDOUT") return { exitCode: 124, stdout: result.stdout ?? "", stderr: `${program} did not finish within ${COMMAND_TIMEOUT_MS / 1000} s and was killed` };
    throw new CommandUnavailableError(`cannot run "${program}": ${code === "ENOENT" ? "not installed or not in PATH" : result.error.message}`);
  }
  return { exitCode: result.status ?? 128 + (result.signal ? 9 : 0), stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}
