// RFC 5424 syslog messages of bng's log records, for the local syslog socket (/dev/log):
//   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG
// facility daemon (3); the event is the MSGID and starts the MSG too (a traditional syslog
// file shows only the MSG), followed by the record's key=value fields as on stderr.
import { formatFields, type LogFields, type LogLevel } from "./format.ts";

const FACILITY_DAEMON = 3;
const SEVERITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6, debug: 7 };
/** What RFC 5424 §6.1 says every receiver accepts; longer messages are cut to it. */
export const MAX_SYSLOG_BYTES = 2048;
const BOM = "\ufeff";

/** RFC 5424 §6: HOSTNAME, APP-NAME, PROCID and MSGID are printable US-ASCII without spaces, "-" when empty. */
function header(text: string, maxLength: number): string {
  const printable = text.replace(/[^\x21-\x7e]/g, "").slice(0, maxLength);
  return printable === "" ? "-" : printable;
}

export interface SyslogOrigin {
  hostname: string;
  appName: string;
  procId: number;
}

export function formatSyslogMessage(origin: SyslogOrigin, time: Date, level: LogLevel, event: string, fields: LogFields = {}): Uint8Array {
  const priority = FACILITY_DAEMON * 8 + SEVERITY[level];
  const head = `<${priority}>1 ${time.toISOString()} ${header(origin.hostname, 255)} ${header(origin.appName, 48)} ${header(String(origin.procId), 128)} ${header(event, 32)} -`;
  const message = `${event}${formatFields(fields)}`;
  // RFC 5424 §6.4: a UTF-8 MSG starts with the BOM; plain ASCII needs none.
  const text = /[^\x00-\x7f]/.test(message) ? `${head} ${BOM}${message}` : `${head} ${message}`;
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= MAX_SYSLOG_BYTES) return bytes;
  // Cut on a character boundary: back off continuation bytes (10xxxxxx).
  let end = MAX_SYSLOG_BYTES;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}
