// Where the process's log goes: stderr (systemd's journal, `bng start`'s log file), or instead
// the local syslog socket, /dev/log, when `bng run --syslog` or `set syslog enable` asks for it.
// When the socket is absent bng logs to stderr and says so once; a line syslog refuses (a
// restarted syslog daemon, a full queue) is retried once on a new connection and otherwise
// written to stderr, so that no line is lost; each later line tries syslog again.
import { hostname } from "node:os";
import { formatLogLine, type LogFields, type LogLevel } from "./format.ts";
import { formatSyslogMessage, type SyslogOrigin } from "./syslog.ts";

export const DEFAULT_SYSLOG_SOCKET = "/dev/log";

/** A connected datagram socket (ffi/unix-datagram.ts): send returns undefined, or the errno's name. */
export interface DatagramSocket {
  send(datagram: Uint8Array): string | undefined;
  close(): void;
}

export interface SyslogSetup {
  /** Connects to the socket at the path; throws (with a `code` such as ENOENT) when it cannot. */
  connect: (path: string) => DatagramSocket;
  path: string;
  /** `--syslog`: syslog whatever the configuration says. */
  forced: boolean;
}

function errorText(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : error instanceof Error ? error.message : String(error);
}

export class LogOutput {
  private setup: SyslogSetup | undefined;
  private wanted = false;
  private socket: DatagramSocket | undefined;
  /** The warning about a refused send is written once per run of refusals. */
  private refusing = false;
  /** Who the syslog lines come from; read when the first one is sent (a client never needs it). */
  private originValue: SyslogOrigin | undefined;
  /** The output's own warnings: always on stderr, where the operator looks when syslog is silent. */
  private readonly logger: { warn(event: string, fields: LogFields): void };

  constructor(private readonly stderr: (line: string) => void = (line) => void process.stderr.write(`${line}\n`)) {
    this.logger = { warn: (event, fields) => stderr(formatLogLine(new Date(), "warn", event, fields)) };
  }

  private get origin(): SyslogOrigin {
    return (this.originValue ??= { hostname: hostname(), appName: "bng", procId: process.pid });
  }

  /** Installs the syslog socket's opener (the composition root's); connects now when forced. */
  configure(setup: SyslogSetup): void {
    this.setup = setup;
    this.apply(setup.forced);
  }

  /** `set syslog enable|disable` of the configuration in force (at start and at each reload). */
  followSetting(enabled: boolean): void {
    if (!this.setup) return;
    this.apply(this.setup.forced || enabled);
  }

  write(time: Date, level: LogLevel, event: string, fields?: LogFields): void {
    if (this.wanted && this.sendToSyslog(time, level, event, fields)) return;
    this.stderr(formatLogLine(time, level, event, fields));
  }

  private apply(wanted: boolean): void {
    if (wanted === this.wanted) return;
    this.wanted = wanted;
    this.socket?.close();
    this.socket = undefined;
    if (!wanted) return;
    const setup = this.setup!;
    try {
      this.socket = setup.connect(setup.path);
      this.refusing = false;
    } catch (error) {
      this.refusing = true;
      this.logger.warn("syslog-unavailable", { socket: setup.path, error: errorText(error), effect: "logging to stderr" });
    }
  }

  private connectQuietly(): DatagramSocket | undefined {
    try {
      return this.setup!.connect(this.setup!.path);
    } catch {
      return undefined;
    }
  }

  /** Whether syslog took the record; while it does not, each record tries a new connection first. */
  private sendToSyslog(time: Date, level: LogLevel, event: string, fields?: LogFields): boolean {
    const message = formatSyslogMessage(this.origin, time, level, event, fields);
    this.socket ??= this.connectQuietly();
    let failure = this.socket ? this.socket.send(message) : "not connected";
    if (failure !== undefined && this.socket) {
      // A syslog daemon that restarted bound a new socket: one new connection, one more try.
      this.socket.close();
      this.socket = this.connectQuietly();
      if (this.socket) failure = this.socket.send(message);
    }
    if (failure === undefined) {
      this.refusing = false;
      return true;
    }
    if (!this.refusing) {
      this.refusing = true;
      this.logger.warn("syslog-send-failed", { socket: this.setup!.path, error: failure, effect: "logging to stderr until syslog takes lines again" });
    }
    return false;
  }
}

/** The output of every logger made without a writer. */
export const processLogOutput = new LogOutput();
