// `bng control`: BalanceNG's interactive console. At a terminal: a `bng# ` prompt with line
// editing, history (kept in ~/.bng_history) and tab completion of verbs and of the running
// bng's server and target ids; otherwise it reads one command per line from standard input.
// Each line is a bng command without the `bng` (`show targets`, `disable target 1`) run over the
// control socket; `quit` or `exit` (or end of input) leaves.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { createInterface, type AsyncCompleter } from "node:readline";
import { sendControlRequest } from "../control/socket-client.ts";
import { CONSOLE_HELP } from "./usage.ts";

export const PROMPT = "bng# ";
const HISTORY_LINES = 500;

/** The words each word may be followed by; `ids:KIND` completes with the running bng's ids. */
export const GRAMMAR: Record<string, readonly string[]> = {
  "": ["status", "show", "explain", "enable", "disable", "reload", "clear", "metrics", "stop", "check", "print", "version", "help", "quit", "exit"],
  show: ["servers", "targets", "sessions", "networks", "hc", "arp", "vrrp", "parameters", "config"],
  enable: ["target", "server"],
  disable: ["target", "server"],
  clear: ["counters"],
  "enable target": ["ids:targets"],
  "disable target": ["ids:targets"],
  "enable server": ["ids:servers"],
  "disable server": ["ids:servers"],
};

/** Verbs that start or replace a daemon: not from inside its console. */
const REFUSED = new Set(["run", "start", "control"]);

export class ConsoleLineError extends Error {}

/** Splits a console line into words; double quotes group words with spaces (a file name). */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  const pattern = /"([^"]*)"|(\S+)/g;
  for (const match of line.matchAll(pattern)) words.push(match[1] ?? match[2]!);
  if ((line.match(/"/g)?.length ?? 0) % 2 === 1) throw new ConsoleLineError("a quote is not closed");
  return words;
}

/** The candidates for the word being typed at the end of `line`, and that word. */
export async function complete(line: string, ids: (kind: "targets" | "servers") => Promise<number[]>): Promise<[string[], string]> {
  const words = line.split(/\s+/).filter((word) => word !== "");
  const typing = /\s$/.test(line) || line === "" ? "" : (words.pop() ?? "");
  const next = GRAMMAR[words.join(" ")] ?? [];
  const candidates = (await Promise.all(next.map(async (word) => (word.startsWith("ids:") ? (await ids(word.slice(4) as "targets" | "servers")).map(String) : [word])))).flat();
  // Each candidate is a whole word: a space after it, so the next word can follow at once.
  return [candidates.filter((candidate) => candidate.startsWith(typing)).map((candidate) => `${candidate} `), typing];
}

async function runningIds(socketPath: string, kind: "targets" | "servers"): Promise<number[]> {
  try {
    const reply = await sendControlRequest(socketPath, { cmd: "show", what: kind }, 1000);
    return reply.ok ? (reply.result as { id: number }[]).map((row) => row.id) : [];
  } catch {
    return [];
  }
}

function historyFile(): string | undefined {
  const home = process.env.HOME ?? homedir();
  return home ? join(home, ".bng_history") : undefined;
}

/** Most recent first, as readline keeps it. */
function loadHistory(path: string | undefined): string[] {
  if (path === undefined || !existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter((line) => line !== "").slice(-HISTORY_LINES).reverse();
}

function saveHistory(path: string | undefined, history: readonly string[]): void {
  if (path === undefined) return;
  try {
    writeFileSync(path, [...history].slice(0, HISTORY_LINES).reverse().join("\n") + "\n", { mode: 0o600 });
  } catch {
    // A read-only home costs the history, never the session.
  }
}

export interface ConsoleOptions {
  socketPath: string;
  /** Runs one bng command (the CLI's main); throws on a usage error. */
  execute: (argv: string[]) => Promise<number>;
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  output?: NodeJS.WritableStream;
}

/** Runs the console until quit or end of input; exit code 1 when a command from a non-terminal input failed. */
export async function runConsole(options: ConsoleOptions): Promise<number> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const interactive = input.isTTY === true;
  const history = interactive ? historyFile() : undefined;
  const completer: AsyncCompleter = (line, callback) => {
    complete(line, (kind) => runningIds(options.socketPath, kind)).then((result) => callback(null, result), (error: Error) => callback(error));
  };
  // A console without a bng behind it is no use: say so at once (ControlConnectError names the socket).
  const reply = await sendControlRequest(options.socketPath, { cmd: "status" });
  if (!reply.ok) throw new Error(reply.error);
  const { version, pid } = reply.result as { version: string; pid: number };
  const lines = createInterface({ input, output, terminal: interactive, prompt: PROMPT, historySize: HISTORY_LINES, ...(interactive ? { completer, history: loadHistory(history) } : {}) });
  // Ctrl-C drops the line being typed, as in a shell; Ctrl-D (end of input) leaves.
  lines.on("SIGINT", () => {
    output.write("^C\n");
    lines.prompt();
  });
  let failed = false;
  if (interactive) {
    output.write(`bng ${version} (pid ${pid}) on ${options.socketPath}; 'help' lists the commands, 'quit' leaves\n`);
    lines.prompt();
  }
  for await (const line of lines) {
    let words: string[];
    try {
      words = tokenize(line);
    } catch (error) {
      console.error(`bng: ${(error as Error).message}`);
      failed = true;
      if (interactive) lines.prompt();
      continue;
    }
    const [verb] = words;
    if (verb === "quit" || verb === "exit") break;
    if (verb === "help" || verb === "?") process.stdout.write(CONSOLE_HELP);
    else if (verb !== undefined && REFUSED.has(verb)) {
      console.error(`bng: '${verb}' is not a console command; run it from the shell`);
      failed = true;
    } else if (verb !== undefined) {
      try {
        if ((await options.execute(words)) !== 0) failed = true;
      } catch (error) {
        console.error(`bng: ${(error as Error).message}`);
        failed = true;
      }
    }
    if (interactive) lines.prompt();
  }
  lines.close();
  if (interactive) saveHistory(history, (lines as unknown as { history: string[] }).history ?? []);
  return failed && !interactive ? 1 : 0;
}
