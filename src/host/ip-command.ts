// iproute2's `ip`, as the host component runs it: its output, and the kernel's complaint without
// iproute2's prefixes ("Operation not permitted"), so an error message can quote it.
import { runCommand } from "./command.ts";

export interface IpResult {
  ok: boolean;
  stdout: string;
  /** The kernel's complaint, e.g. "Operation not permitted"; `ip exited with N` when it said nothing. */
  error: string;
}

/** Runs `ip ARGS`; throws `unavailable(message)` when `ip` cannot be started at all. */
export function runIp(args: readonly string[], unavailable: (message: string) => Error): IpResult {
  let result;
  try {
    result = runCommand(["ip", ...args]);
  } catch (error) {
    throw unavailable(`${(error as Error).message} — bng needs iproute2 installed and "ip" in PATH`);
  }
  const error = result.stderr
    .trim()
    .split("\n")
    .map((line) => line.replace(/^(RTNETLINK answers|Error): /, "").trim())
    .filter((line) => line !== "")
    .join("; ");
  return { ok: result.exitCode === 0, stdout: result.stdout, error: error || `ip exited with ${result.exitCode}` };
}
