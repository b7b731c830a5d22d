// Tokens of BalanceNG's configuration language. Positions are 1-based line and column so
// every later message can point at the exact place in the file.
import type { DiagnosticSink } from "./errors.ts";

export type TokenKind =
  /** A bare word: keyword, name, method, `eth0`, `127.0.0.1:9100`, `vrrp,arp`. */
  | "word"
  /** Decimal digits only: an id, a port, a count. */
  | "number"
  /** Digits separated by dots (`172.16.1.10`); whether it is a valid address is checked later. */
  | "address"
  /** Digits with commas and dashes (`1,2,5-8`, `80,3,10`); well-formedness is checked later. */
  | "list"
  /** A double-quoted string; `text` holds its content without quotes and escapes. */
  | "string"
  | "{"
  | "}";

export interface Token {
  kind: TokenKind;
  text: string;
  line: number;
  column: number;
  /** True when no other token precedes it on its line: statements start there. */
  firstOnLine: boolean;
}

function isSpace(ch: string): boolean {
  // \uFEFF: a byte order mark some editors put in front of the file.
  return ch === " " || ch === "\t" || ch === "\r" || ch === "\n" || ch === "\f" || ch === "\v" || ch === "\uFEFF";
}

function classify(text: string): TokenKind {
  if (/^[0-9]+$/.test(text)) return "number";
  if (/^[0-9]+(\.[0-9]+)+$/.test(text)) return "address";
  if (/^[0-9][0-9,-]*$/.test(text)) return "list";
  return "word";
}

/**
 * Splits the source into tokens. Reports an unterminated string (a string must close on its
 * own line) and keeps going, so later errors are still found.
 */
export function tokenize(source: string, sink: DiagnosticSink): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let lineStart = 0;
  let lastTokenLine = 0;
  let i = 0;
  const push = (kind: TokenKind, text: string, start: number): void => {
    tokens.push({ kind, text, line, column: start - lineStart + 1, firstOnLine: lastTokenLine !== line });
    lastTokenLine = line;
  };
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === "\n") {
      i++;
      line++;
      lineStart = i;
    } else if (isSpace(ch)) {
      i++;
    } else if (ch === "/" && source[i + 1] === "/") {
      while (i < source.length && source[i] !== "\n") i++;
    } else if (ch === "{" || ch === "}") {
      push(ch, ch, i);
      i++;
    } else if (ch === '"') {
      const start = i;
      let text = "";
      i++;
      let closed = false;
      while (i < source.length && source[i] !== "\n") {
        const c = source[i]!;
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        // Backslash escapes only the quote and itself, so Windows-style paths mostly survive.
        if (c === "\\" && (source[i + 1] === '"' || source[i + 1] === "\\")) {
          text += source[i + 1];
          i += 2;
        } else {
          text += c;
          i++;
        }
      }
      if (!closed) {
        sink.error(line, start - lineStart + 1, `unterminated string: expected a closing \`"\` before the end of the line`);
      }
      push("string", text, start);
    } else {
      const start = i;
      while (i < source.length) {
        const c = source[i]!;
        if (isSpace(c) || c === "{" || c === "}" || c === '"' || (c === "/" && source[i + 1] === "/")) break;
        i++;
      }
      const text = source.slice(start, i);
      push(classify(text), text, start);
    }
  }
  return tokens;
}

/** Text of a value as the printer writes it: bare when that reads back the same, else quoted. */
export function quoteIfNeeded(text: string): string {
  return /^[A-Za-z0-9_.:\/-]+$/.test(text) && !text.includes("//") ? text : quote(text);
}

export function quote(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** A dotted IPv4 address as an unsigned 32-bit integer, or why it is not one. */
export function parseDottedAddress(text: string): { ok: true; value: number } | { ok: false; reason: string } {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((part) => !/^[0-9]{1,3}$/.test(part))) {
    return { ok: false, reason: "expected an IPv4 address: four numbers 0-255 separated by dots, e.g. 172.16.1.10" };
  }
  let value = 0;
  for (const part of parts) {
    const octet = Number(part);
    if (octet > 255) return { ok: false, reason: `expected an IPv4 address, whose four numbers are 0-255 (${part} is not)` };
    value = value * 256 + octet;
  }
  return { ok: true, value };
}

export interface ListItem {
  value: number;
  /** Offset of the item (or of the range it came from) inside the list's text. */
  offset: number;
}

const MAX_LIST_LENGTH = 65536;

/** `1,2,5-8` expanded to its numbers, or the first malformed item and where it is. */
export function parseNumberList(text: string): { ok: true; items: ListItem[] } | { ok: false; offset: number; reason: string } {
  const items: ListItem[] = [];
  let offset = 0;
  for (const part of text.split(",")) {
    const range = /^([0-9]+)(?:-([0-9]+))?$/.exec(part);
    if (!range) {
      const reason =
        part === ""
          ? "empty list item: expected a number between the commas (lists are written without spaces, e.g. `1,2,5-8`)"
          : `\`${part}\` is not a number or a range FROM-TO`;
      return { ok: false, offset, reason };
    }
    const from = Number(range[1]);
    const to = range[2] === undefined ? from : Number(range[2]);
    if (to < from) return { ok: false, offset, reason: `range \`${part}\` runs backwards: expected FROM-TO with FROM <= TO` };
    // A list names a few ids, not millions: cap what it may expand to.
    if (items.length + (to - from) >= MAX_LIST_LENGTH) return { ok: false, offset, reason: `\`${part}\` makes the list too long: at most ${MAX_LIST_LENGTH} numbers` };
    for (let value = from; value <= to; value++) items.push({ value, offset });
    offset += part.length + 1;
  }
  return { ok: true, items };
}
