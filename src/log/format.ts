// The text of a log record: the stderr line (time, level, event, key=value fields) and the
// fields alone, shared by the stderr and the syslog outputs. Values with spaces, quotes or "="
// are quoted so that a line stays machine-splittable.

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, string | number | boolean | undefined>;

function formatValue(value: string | number | boolean): string {
  const text = String(value);
  return text === "" || /[\s"=]/.test(text) ? JSON.stringify(text) : text;
}

/** ` key=value` for each defined field, in order. */
export function formatFields(fields: LogFields): string {
  let text = "";
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) text += ` ${key}=${formatValue(value)}`;
  }
  return text;
}

export function formatLogLine(time: Date, level: LogLevel, event: string, fields: LogFields = {}): string {
  return `${time.toISOString()} ${level.padEnd(5)} ${event}${formatFields(fields)}`;
}
