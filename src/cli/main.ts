#!/usr/bin/env bun
// The bng command line. Exit codes: 0 success, 1 failure (bad config, daemon error),
// 2 usage error (unknown command or flag).
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import * as v from "valibot";
import { DEFAULT_SOCKET_PATH, IPV4_TEXT, type ControlReply, type ControlRequest } from "../control/protocol.ts";
import { ControlConnectError, sendControlRequest } from "../control/socket-client.ts";
import type { ServerStatus, StatusReport, TargetStatus } from "../control/status.ts";
import { planRun } from "../control/plan.ts";
import { counted, formatDiagnostic, loadConfigFile, printConfig, summarizeConfig, type Diagnostic } from "../config/index.ts";
import { versionLine } from "../version.ts";
import { DEFAULT_SYSLOG_SOCKET, processLogOutput } from "../log/output.ts";
import { renderArp, renderExplanation, renderHealthChecks, renderParameters, renderServers, renderStatus, renderTargets, renderVrrp, table } from "./render.ts";
import type { ParameterRow } from "../control/console-requests.ts";
import type { HaStatus } from "../control/ha.ts";
import type { Explanation } from "../control/explain.ts";
import { USAGE } from "./usage.ts";
import { commandPass } from "./pass-command.ts";
import { parseOid, type Oid } from "../snmp/oid.ts";
import type { PassRequest } from "../snmp/pass.ts";

export const DEFAULT_CONFIG_PATH = "/etc/bng.conf";

class UsageError extends Error {}

const OPTIONS = {
  socket: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
  config: { type: "string", short: "c" },
  server: { type: "string" },
  target: { type: "string" },
  client: { type: "string" },
  limit: { type: "string" },
  "pid-file": { type: "string" },
  "log-file": { type: "string" },
  syslog: { type: "boolean" },
  // Net-SNMP's pass protocol: GET, GETNEXT and SET of one OID.
  get: { type: "string", short: "g" },
  next: { type: "string", short: "n" },
  set: { type: "string", short: "s" },
} as const;

type Options = ReturnType<typeof parseCommandLine>["values"];
type OptionName = keyof typeof OPTIONS;

/** The options each command reads; any other is a usage error rather than silently ignored. */
const COMMAND_OPTIONS: Record<string, readonly OptionName[]> = {
  check: ["config"],
  print: ["config"],
  run: ["config", "socket", "pid-file", "syslog"],
  start: ["config", "socket", "pid-file", "log-file"],
  status: ["socket", "json"],
  show: ["socket", "json", "server", "target", "client", "limit"],
  enable: ["socket", "json"],
  disable: ["socket", "json"],
  reload: ["config", "socket", "json"],
  stop: ["socket"],
  metrics: ["socket"],
  clear: ["socket"],
  control: ["socket"],
  doctor: ["config", "socket", "json"],
  explain: ["socket", "json", "server"],
};

function refuseForeignOptions(command: string, options: Options): void {
  const accepted = COMMAND_OPTIONS[command];
  if (accepted === undefined) return;
  for (const name of Object.keys(options) as OptionName[]) {
    if (name === "help" || name === "version" || accepted.includes(name)) continue;
    throw new UsageError(`'${command}' does not take ${name === "config" ? "-c/--config" : `--${name}`}`);
  }
}

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.split(". To specify")[0]! : String(error));
  }
}

function positiveInteger(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(text)) throw new UsageError(`${what} must be a positive whole number, not '${text}'`);
  return Number(text);
}

/** Refuses arguments beyond the `most` that `command` takes (a second file to check, a second id). */
function atMost(command: string, rest: string[], most: number): string[] {
  if (rest.length > most) {
    const takes = most === 0 ? "takes no arguments" : `takes at most ${counted(most, "argument")}`;
    throw new UsageError(`'${command}' ${takes}; unexpected '${rest[most]}'`);
  }
  return rest;
}

function socketPath(options: Options): string {
  return options.socket ?? process.env.BNG_SOCKET ?? DEFAULT_SOCKET_PATH;
}

function printDiagnostics(diagnostics: Diagnostic[], source: string | undefined): void {
  for (const diagnostic of diagnostics) console.error(formatDiagnostic(diagnostic, source));
}

function commandCheck(file: string): number {
  const result = loadConfigFile(file);
  printDiagnostics(result.warnings, result.source);
  if (!result.ok) {
    printDiagnostics(result.errors, result.source);
    const count = result.errors.length;
    console.error(`${file}: ${counted(count, "error")}`);
    return 1;
  }
  // A valid file can still be one `bng run` refuses (routing mode, no `real` address, ...);
  // check answers the operator's real question, whether bng will run it.
  const planned = planRun(result.config);
  if (!planned.ok) {
    console.error(`${file}: valid, but \`bng run\` refuses it:`);
    for (const reason of planned.errors) console.error(`  ${reason}`);
    return 1;
  }
  console.log(`${file}: OK: ${summarizeConfig(result.config)}`);
  return 0;
}

function commandPrint(file: string): number {
  const result = loadConfigFile(file);
  if (!result.ok) {
    printDiagnostics(result.errors, result.source);
    return 1;
  }
  process.stdout.write(printConfig(result.config));
  return 0;
}

async function ask(options: Options, request: ControlRequest): Promise<{ ok: true; result: unknown } | { ok: false; code: number }> {
  let reply: ControlReply;
  try {
    reply = await sendControlRequest(socketPath(options), request);
  } catch (error) {
    if (error instanceof ControlConnectError) {
      console.error(`bng: ${error.message}`);
      return { ok: false, code: 1 };
    }
    throw error;
  }
  if (!reply.ok) {
    console.error(`bng: ${reply.error}`);
    for (const line of reply.errors ?? []) console.error(line);
    return { ok: false, code: 1 };
  }
  return reply;
}

function printResult(options: Options, result: unknown, human: (result: never) => string): void {
  console.log(options.json ? JSON.stringify(result, null, 2) : human(result as never));
}

/** What `show WHAT` asks the daemon, and how it prints the reply (human, and --json when it differs from the reply). */
interface ShowView {
  request: ControlRequest;
  human: (result: never) => string;
  json?: (result: never) => unknown;
}

const SHOW_VIEWS: Record<string, ShowView> = {
  servers: { request: { cmd: "show", what: "servers" }, human: (rows: ServerStatus[]) => renderServers(rows) },
  targets: { request: { cmd: "show", what: "targets" }, human: (rows: TargetStatus[]) => renderTargets(rows) },
  sessions: { request: { cmd: "show", what: "sessions" }, human: (result: { total: number; sessions: SessionRow[] }) => renderSessions(result) },
  networks: {
    request: { cmd: "show", what: "networks" },
    human: (rows: NetworkRow[]) => table(["NETWORK", "NAME", "ADDRESS", "REAL", "INTERFACE"], rows.map((row) => [String(row.id), row.name ?? "-", row.addr, row.real ?? "-", row.interface])),
  },
  hc: {
    request: { cmd: "show", what: "targets" },
    human: (rows: TargetStatus[]) => renderHealthChecks(rows),
    json: (rows: TargetStatus[]) => rows.map(({ id, ipaddr, port, state, health, reason, checks }) => ({ id, ipaddr, port, state, health, reason, checks })),
  },
  arp: {
    request: { cmd: "status" },
    human: (report: StatusReport) => renderArp(report.targets, report.interface),
    json: (report: StatusReport) => report.targets.map((target) => ({ address: target.ipaddr, mac: target.mac, interface: report.interface, target: target.id })),
  },
  vrrp: { request: { cmd: "show", what: "vrrp" }, human: (vrrp: HaStatus | null) => renderVrrp(vrrp) },
  parameters: { request: { cmd: "show", what: "parameters" }, human: (rows: ParameterRow[]) => renderParameters(rows) },
  config: { request: { cmd: "show", what: "config" }, human: (text: string) => text.trimEnd() },
};

async function commandShow(options: Options, what: string | undefined): Promise<number> {
  const view = what === undefined ? undefined : SHOW_VIEWS[what];
  if (view === undefined) throw new UsageError(`show needs one of: ${Object.keys(SHOW_VIEWS).join(", ")}`);
  if (what !== "sessions") {
    const filter = (["server", "target", "client", "limit"] as const).find((name) => options[name] !== undefined);
    if (filter !== undefined) throw new UsageError(`--${filter} is for 'show sessions', not 'show ${what}'`);
  }
  const request: ControlRequest = { ...view.request };
  if (request.cmd === "show" && request.what === "sessions") {
    const server = positiveInteger(options.server, "--server");
    const target = positiveInteger(options.target, "--target");
    const limit = positiveInteger(options.limit, "--limit");
    if (server !== undefined) request.server = server;
    if (target !== undefined) request.target = target;
    if (limit !== undefined) request.limit = limit;
    if (options.client !== undefined) {
      if (!v.is(IPV4_TEXT, options.client)) throw new UsageError(`--client must be an IPv4 address such as 198.51.100.7, not '${options.client}'`);
      request.client = options.client;
    }
  }
  const reply = await ask(options, request);
  if (!reply.ok) return reply.code;
  const json = view.json;
  printResult(options, json ? json(reply.result as never) : reply.result, json ? () => view.human(reply.result as never) : view.human);
  return 0;
}

interface SessionRow {
  server: number;
  client: string;
  client_port: number | null;
  target: number;
  age_s: number;
  idle_s: number;
}

interface NetworkRow {
  id: number;
  name: string | null;
  addr: string;
  real: string | null;
  interface: string;
}

function renderSessions(result: { total: number; sessions: SessionRow[] }): string {
  const rows = result.sessions.map((row) => [
    String(row.server),
    row.client_port === null ? row.client : `${row.client}:${row.client_port}`,
    String(row.target),
    `${row.age_s}s`,
    `${row.idle_s}s`,
  ]);
  const shown = result.sessions.length < result.total ? ` (showing ${result.sessions.length})` : "";
  return `${table(["SERVER", "CLIENT", "TARGET", "AGE", "IDLE"], rows)}\n${result.total} session${result.total === 1 ? "" : "s"}${shown}`;
}

async function commandToggle(options: Options, cmd: "enable" | "disable", kind: string | undefined, id: string | undefined): Promise<number> {
  if (kind !== "target" && kind !== "server") throw new UsageError(`${cmd} needs 'target N' or 'server N'`);
  const number = positiveInteger(id, `${cmd} ${kind}`);
  if (number === undefined) throw new UsageError(`${cmd} ${kind} needs a number`);
  const reply = await ask(options, { cmd, kind, id: number });
  if (!reply.ok) return reply.code;
  console.log(options.json ? JSON.stringify(reply.result) : String((reply.result as { message: string }).message));
  return 0;
}

/** `explain CLIENT_IP[:PORT] [--server N]`. */
async function commandExplain(options: Options, client: string | undefined): Promise<number> {
  const match = client === undefined ? null : /^([^:]+)(?::([0-9]{1,5}))?$/.exec(client);
  const port = match?.[2] === undefined ? undefined : Number(match[2]);
  if (match === null || !v.is(IPV4_TEXT, match[1]) || (port !== undefined && port > 65535)) {
    throw new UsageError(`explain needs CLIENT_IP or CLIENT_IP:PORT, such as 198.51.100.7 or 198.51.100.7:40000, not '${client ?? ""}'`);
  }
  const request: ControlRequest = { cmd: "explain", client: match[1]! };
  if (port !== undefined) request.port = port;
  const server = positiveInteger(options.server, "--server");
  if (server !== undefined) request.server = server;
  const reply = await ask(options, request);
  if (!reply.ok) return reply.code;
  printResult(options, reply.result, (explanation: Explanation) => renderExplanation(explanation));
  return 0;
}

/** `-g OID`, `-n OID` or `-s OID TYPE VALUE` (snmpd's pass), alone with at most --socket. */
function passRequest(options: Options, positionals: string[]): { request: PassRequest | "set"; oid: Oid } | undefined {
  const given = (["get", "next", "set"] as const).filter((name) => options[name] !== undefined);
  if (given.length === 0) return undefined;
  if (given.length > 1) throw new UsageError("give one of -g, -n and -s");
  const request = given[0]!;
  const extra = (Object.keys(options) as OptionName[]).find((name) => name !== request && name !== "socket");
  if (extra !== undefined) throw new UsageError(`-${OPTIONS[request].short} does not take --${extra}`);
  // snmpd passes a SET's type and value after the OID.
  if (positionals.length > (request === "set" ? 2 : 0)) throw new UsageError(`-${OPTIONS[request].short} takes one OID; unexpected '${positionals.at(-1)}'`);
  const text = options[request]!;
  const oid = parseOid(text);
  if (oid === undefined) throw new UsageError(`'${text}' is not an OID such as .1.3.6.1.4.1.2771.1.5.0`);
  return { request, oid };
}

async function main(argv: string[]): Promise<number> {
  // `bng agent` runs on a target and parses its own options ([PORT] --script PATH).
  if (argv[0] === "agent") return (await import("../health/agent-server.ts")).agentCommand(argv.slice(1));
  const { values: options, positionals } = parseCommandLine(argv);
  const [command, ...rest] = positionals;
  if (options.help || command === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (options.version || command === "version") {
    console.log(versionLine());
    return 0;
  }
  const pass = passRequest(options, positionals);
  if (pass !== undefined) return commandPass(pass.request, pass.oid, socketPath(options));
  if (command === undefined) {
    process.stdout.write(`${versionLine()}\n\n${USAGE}`);
    return 0;
  }
  refuseForeignOptions(command, options);
  /** The file named by the argument or by -c, once; undefined when neither names one. */
  const namedFile = () => {
    const [file] = atMost(command, rest, 1);
    if (file !== undefined && options.config !== undefined) throw new UsageError(`name the file once: '${file}' or -c '${options.config}'`);
    return file ?? options.config;
  };
  const fileArgument = () => namedFile() ?? DEFAULT_CONFIG_PATH;
  switch (command) {
    case "check":
      return commandCheck(fileArgument());
    case "print":
      return commandPrint(fileArgument());
    case "run": {
      const { runDaemon } = await import("../main/run-daemon.ts");
      const { connectUnixDatagram } = await import("../../ffi/unix-datagram.ts");
      // The log goes to syslog with --syslog, or when the configuration says `set syslog enable`.
      processLogOutput.configure({ connect: connectUnixDatagram, path: process.env.BNG_SYSLOG_SOCKET ?? DEFAULT_SYSLOG_SOCKET, forced: options.syslog === true });
      return runDaemon({ configPath: fileArgument(), socketPath: socketPath(options), pidFile: options["pid-file"] });
    }
    case "start": {
      const { startInBackground } = await import("../control/background.ts");
      return startInBackground({ configPath: fileArgument(), socketPath: socketPath(options), pidFile: options["pid-file"], logFile: options["log-file"] });
    }
    case "status": {
      atMost(command, rest, 0);
      const reply = await ask(options, { cmd: "status" });
      if (!reply.ok) return reply.code;
      printResult(options, reply.result, (report: StatusReport) => renderStatus(report));
      return 0;
    }
    case "show":
      return commandShow(options, atMost(command, rest, 1)[0]);
    case "enable":
    case "disable":
      atMost(command, rest, 2);
      return commandToggle(options, command, rest[0], rest[1]);
    case "reload": {
      const file = namedFile();
      const request: ControlRequest = { cmd: "reload" };
      // The daemon runs elsewhere (its own directory, under systemd its own /tmp): send the path
      // as the operator meant it, from here.
      if (file !== undefined) request.file = resolve(file);
      const reply = await ask(options, request);
      if (!reply.ok) return reply.code;
      console.log(options.json ? JSON.stringify(reply.result) : String((reply.result as { message: string }).message));
      return 0;
    }
    case "stop": {
      atMost(command, rest, 0);
      const reply = await ask(options, { cmd: "stop" });
      if (!reply.ok) return reply.code;
      console.log(String((reply.result as { message: string }).message));
      return 0;
    }
    case "clear": {
      if (atMost(command, rest, 1)[0] !== "counters") throw new UsageError("clear needs 'counters'");
      const reply = await ask(options, { cmd: "clear", what: "counters" });
      if (!reply.ok) return reply.code;
      console.log(String((reply.result as { message: string }).message));
      return 0;
    }
    case "control": {
      atMost(command, rest, 0);
      const { runConsole } = await import("./console.ts");
      // The console's commands talk to the socket the console was opened on.
      process.env.BNG_SOCKET = socketPath(options);
      return runConsole({ socketPath: socketPath(options), execute: main });
    }
    case "doctor": {
      const { runDoctor } = await import("../doctor/run.ts");
      return runDoctor({ file: namedFile(), defaultFile: DEFAULT_CONFIG_PATH, socketPath: socketPath(options), json: options.json === true });
    }
    case "explain":
      return commandExplain(options, atMost(command, rest, 1)[0]);
    case "metrics": {
      atMost(command, rest, 0);
      const reply = await ask(options, { cmd: "metrics" });
      if (!reply.ok) return reply.code;
      process.stdout.write(String(reply.result));
      return 0;
    }
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof UsageError) {
        console.error(`bng: ${error.message}\nRun 'bng help' for usage.`);
        process.exit(2);
      }
      console.error(`bng: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}

export { COMMAND_OPTIONS, main };
