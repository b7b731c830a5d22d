// One line per event, systemd style: time, level, event, key=value fields (format.ts). A logger
// made with a writer hands it each line (the tests); one made without writes to the process's
// log output (output.ts): stderr, or syslog when asked.
import { formatLogLine, type LogFields, type LogLevel } from "./format.ts";
import { processLogOutput } from "./output.ts";

export { formatLogLine, type LogFields, type LogLevel };

export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export function createLogger(write?: (line: string) => void): Logger {
  const log = write
    ? (level: LogLevel, event: string, fields?: LogFields) => write(formatLogLine(new Date(), level, event, fields))
    : (level: LogLevel, event: string, fields?: LogFields) => processLogOutput.write(new Date(), level, event, fields);
  return {
    log,
    info: (event, fields) => log("info", event, fields),
    warn: (event, fields) => log("warn", event, fields),
    error: (event, fields) => log("error", event, fields),
  };
}
