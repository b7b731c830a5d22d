// BalanceNG's `bng -c FILE start`: run the daemon in the background with a pid file, and
// return once it answers on its control socket (or report why it did not start).
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { selfCommand } from "../runtime/self.ts";
import { sendControlRequest } from "./socket-client.ts";

export const DEFAULT_PID_FILE = "/run/bng/bng.pid";
export const DEFAULT_LOG_FILE = "/var/log/bng.log";

export interface BackgroundOptions {
  configPath: string;
  socketPath: string;
  pidFile: string | undefined;
  logFile: string | undefined;
  readyTimeoutMs?: number;
}

async function answering(socketPath: string): Promise<number | undefined> {
  try {
    const reply = await sendControlRequest(socketPath, { cmd: "status" }, 1000);
    return reply.ok ? (reply.result as { pid: number }).pid : undefined;
  } catch {
    return undefined;
  }
}

export async function startInBackground(options: BackgroundOptions): Promise<number> {
  const pidFile = options.pidFile ?? DEFAULT_PID_FILE;
  const logFile = options.logFile ?? DEFAULT_LOG_FILE;
  const running = await answering(options.socketPath);
  if (running !== undefined) {
    console.log(`bng: already running with PID ${running}`);
    return 1;
  }
  console.log("bng: starting up ...");
  mkdirSync(dirname(pidFile), { recursive: true, mode: 0o700 });
  mkdirSync(dirname(logFile), { recursive: true });
  const logFd = openSync(logFile, "a");
  // The daemon writes the pid file itself and removes it when it stops.
  const [program, ...args] = [...selfCommand(), "run", options.configPath, "--socket", options.socketPath, "--pid-file", pidFile];
  const child = spawn(program!, args, { stdio: ["ignore", logFd, logFd], detached: true });
  // A program that cannot be started is reported as an event, not thrown.
  let spawnError: Error | undefined;
  child.once("error", (error) => (spawnError = error));
  closeSync(logFd);
  child.unref();
  const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000);
  while (Date.now() < deadline) {
    if (spawnError !== undefined) {
      console.error(`bng: cannot start ${program}: ${spawnError.message}`);
      return 1;
    }
    if (child.exitCode !== null) break;
    if ((await answering(options.socketPath)) !== undefined) {
      console.log(`bng: running with PID ${child.pid}, log ${logFile}, pid file ${pidFile}`);
      return 0;
    }
    await sleep(100);
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-10).join("\n") : "";
  console.error(`bng: did not start (see ${logFile}):\n${tail}`);
  return 1;
}
