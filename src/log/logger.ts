// One line per event on stderr, systemd style: time, level, event, key=value fields.
// Values with spaces or quotes are quoted so the line stays machine-splittable.

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

function formatValue(value: string | number | boolean): string {
  const text = String(value);
  return text === "" || /[\s"=]/.test(text) ? JSON.stringify(text) : text;
}

export function formatLogLine(time: Date, level: LogLevel, event: string, fields: LogFields = {}): string {
  let line = `${time.toISOString()} ${level.padEnd(5)} ${event}`;
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) line += ` ${key}=${formatValue(value)}`;
  }
  return line;
}

export function createLogger(write: (line: string) => void = (line) => process.stderr.write(line + "\n")): Logger {
  const log = (level: LogLevel, event: string, fields?: LogFields) => write(formatLogLine(new Date(), level, event, fields));
  return {
    log,
    info: (event, fields) => log("info", event, fields),
    warn: (event, fields) => log("warn", event, fields),
    error: (event, fields) => log("error", event, fields),
  };
}
