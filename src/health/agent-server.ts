// `bng agent [PORT] [--script PATH]`: the agent on a target (BalanceNG's bngagent). It answers
// each query of bng's `agent` check (agent-protocol.ts) on UDP port PORT (default 439) with the
// target's load: the 1-minute load average from /proc/loadavg, or the first line PATH prints.
//
// With a script, one run serves every query that arrives while it runs (at most
// MAX_WAITING_QUERIES wait; more are not answered), so a flood of queries costs one process at a
// time. A run is killed after SCRIPT_TIMEOUT_MS; a run that fails, times out or prints no
// number is logged and its queries get no reply (the check then fails with "no reply").
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { udpPortTaken } from "../../ffi/udp-port.ts";
import { createLogger, type Logger } from "../log/logger.ts";
import { agentReply, DEFAULT_AGENT_PORT, isAgentQuery } from "./agent-protocol.ts";
import { describeExit, lastLine, startChild } from "./child-process.ts";

export const SCRIPT_TIMEOUT_MS = 2000;
export const MAX_WAITING_QUERIES = 64;
const SCRIPT_OUTPUT_LIMIT = 256;

export const AGENT_USAGE = `usage: bng agent [PORT] [--script PATH]

Answers bng's 'agent' health check on UDP PORT (default ${DEFAULT_AGENT_PORT}) with this host's load:
the 1-minute load average (/proc/loadavg), or the first line PATH prints (a number) when given.
Runs in the foreground until SIGTERM or SIGINT; logs to stderr.
`;

export interface AgentOptions {
  port: number;
  /** Absolute path of the program whose first output line is the load; undefined: /proc/loadavg. */
  script: string | undefined;
  logger: Logger;
  /** Where the hostname listens; every address by default. */
  hostname?: string;
}

export interface AgentServer {
  readonly port: number;
  stop(): void;
}

interface Querier {
  port: number;
  address: string;
}

function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ", 1)[0] ?? "";
}

export async function startAgent(options: AgentOptions): Promise<AgentServer> {
  const { logger, script } = options;
  const waiting: Querier[] = [];
  let running = false;
  let stopped = false;
  const counts = { queries: 0, replies: 0, ignored: 0 };
  if (udpPortTaken(options.port)) throw new Error(`UDP port ${options.port} is taken (another agent runs?)`);

  const socket = await Bun.udpSocket({
    hostname: options.hostname ?? "0.0.0.0",
    port: options.port,
    binaryType: "uint8array",
    socket: {
      data(_socket, data, port, address) {
        if (!isAgentQuery(data)) {
          counts.ignored++;
          return;
        }
        counts.queries++;
        if (script === undefined) return answer([{ port, address }], agentReply(loadAverage()));
        if (waiting.length >= MAX_WAITING_QUERIES) {
          counts.ignored++;
          return;
        }
        waiting.push({ port, address });
        if (!running) runScript(script);
      },
    },
  });

  function answer(queriers: readonly Querier[], reply: Uint8Array | undefined): void {
    if (reply === undefined || stopped) return;
    for (const querier of queriers) if (socket.send(reply, querier.port, querier.address)) counts.replies++;
  }

  function runScript(path: string): void {
    running = true;
    const served = waiting.splice(0);
    let finished: Promise<void>;
    try {
      finished = startChild([path], { outputLimit: SCRIPT_OUTPUT_LIMIT, timeoutMs: SCRIPT_TIMEOUT_MS }).finished.then((outcome) => {
        const firstLine = outcome.output.trim().split("\n", 1)[0] ?? "";
        const reply = outcome.exitCode === 0 ? agentReply(firstLine) : undefined;
        if (reply !== undefined) return answer(served, reply);
        const status = outcome.killed ? `killed after ${SCRIPT_TIMEOUT_MS / 1000} s` : outcome.exitCode === 0 ? "printed no load (a number)" : describeExit(outcome);
        logger.warn("agent-script-failed", { script: path, status, output: lastLine(outcome.output) || undefined });
      });
    } catch (error) {
      logger.warn("agent-script-failed", { script: path, status: `cannot run: ${error instanceof Error ? error.message : String(error)}` });
      finished = Promise.resolve();
    }
    void finished.then(() => {
      running = false;
      if (waiting.length > 0 && !stopped) runScript(path);
    });
  }

  logger.info("agent-listening", { port: socket.port, load: script ?? "/proc/loadavg" });
  return {
    port: socket.port,
    stop() {
      if (stopped) return;
      stopped = true;
      socket.close();
      logger.info("agent-stopped", { port: socket.port, ...counts });
    },
  };
}

class AgentUsageError extends Error {}

function parseAgentArguments(argv: string[]): { port: number; script: string | undefined; help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { script: { type: "string" }, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new AgentUsageError(error instanceof Error ? error.message.split(". To specify")[0]! : String(error));
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new AgentUsageError(`'agent' takes at most one argument (the port); unexpected '${positionals[1]}'`);
  const portText = positionals[0];
  if (portText !== undefined && !(/^[1-9][0-9]{0,4}$/.test(portText) && Number(portText) <= 65535)) {
    throw new AgentUsageError(`the port must be a whole number from 1 to 65535, not '${portText}'`);
  }
  return { port: portText === undefined ? DEFAULT_AGENT_PORT : Number(portText), script: values.script === undefined ? undefined : resolve(values.script), help: values.help === true };
}

/** `bng agent [PORT] [--script PATH]`: runs until SIGTERM or SIGINT. Exit codes: 0 stopped, 1 cannot listen, 2 usage. */
export async function agentCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseAgentArguments(argv);
  } catch (error) {
    if (!(error instanceof AgentUsageError)) throw error;
    process.stderr.write(`bng: ${error.message}\n${AGENT_USAGE}`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(AGENT_USAGE);
    return 0;
  }
  const logger = createLogger();
  let agent: AgentServer;
  try {
    agent = await startAgent({ port: parsed.port, script: parsed.script, logger });
  } catch (error) {
    logger.error("agent-failed", { port: parsed.port, error: error instanceof Error ? error.message : String(error) });
    return 1;
  }
  await new Promise<void>((resolveStop) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => resolveStop());
  });
  agent.stop();
  return 0;
}
