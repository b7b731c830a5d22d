// The bytes of the `http` check: its request, and what it reads of a response (the status line
// and the end of the headers; the body is never read). Pure, over caller-owned buffers.
import { ipToString } from "../config/model.ts";

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const ZERO = 0x30;
const STATUS_PREFIX = [0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e]; // "HTTP/1."

const encoder = new TextEncoder();

/**
 * Writes `GET path` for `destination:port` into `buffer` and returns its length, or 0 when it
 * does not fit. `Connection: close`: the check reads the head of one response and resets the
 * connection (see http.ts).
 */
export function writeHttpRequest(buffer: Uint8Array, path: string, destination: number, port: number): number {
  const host = port === 80 ? ipToString(destination) : `${ipToString(destination)}:${port}`;
  const request = `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: bng-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n`;
  const { read, written } = encoder.encodeInto(request, buffer);
  return read === request.length ? written : 0;
}

/**
 * Whether the headers ended within the first `length` bytes: an empty line (CRLF CRLF, or bare
 * LF LF from lenient servers). `from` skips bytes already searched.
 */
export function headersComplete(bytes: Uint8Array, from: number, length: number): boolean {
  for (let at = Math.max(0, from - 3); at < length; at++) {
    if (bytes[at] !== LF) continue;
    if (bytes[at + 1] === LF && at + 1 < length) return true;
    if (bytes[at + 1] === CR && bytes[at + 2] === LF && at + 2 < length) return true;
  }
  return false;
}

function digit(bytes: Uint8Array, at: number): number {
  const value = (bytes[at] ?? 0) - ZERO;
  return value >= 0 && value <= 9 ? value : -1;
}

/** The status code of an `HTTP/1.x NNN ...` status line at the start of `bytes`, or undefined when it is not one. */
export function readHttpStatus(bytes: Uint8Array, length: number): number | undefined {
  if (length < 13) return undefined;
  for (let i = 0; i < STATUS_PREFIX.length; i++) if (bytes[i] !== STATUS_PREFIX[i]) return undefined;
  if (digit(bytes, 7) < 0 || bytes[8] !== SPACE) return undefined;
  const hundreds = digit(bytes, 9);
  const tens = digit(bytes, 10);
  const units = digit(bytes, 11);
  if (hundreds < 1 || hundreds > 5 || tens < 0 || units < 0) return undefined;
  const after = bytes[12];
  if (after !== SPACE && after !== CR && after !== LF) return undefined;
  return hundreds * 100 + tens * 10 + units;
}
