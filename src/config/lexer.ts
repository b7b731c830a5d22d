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
  /** Characters the token spans in the source (a string's quotes and escapes included). */
  width: number;
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
 * Reads tokens one at a time, so a huge file never becomes a huge array: the parser keeps
 * only the token it looks at and one ahead. Reports an unterminated string (a string must
 * close on its own line) and keeps going, so later errors are still found.
 */
export class Lexer {
  private i = 0;
  private line = 1;
  private lineStart = 0;
  private lastTokenLine = 0;

  constructor(
    private readonly source: string,
    private readonly sink: DiagnosticSink,
  ) {}

  next(): Token | undefined {
    const source = this.source;
    while (this.i < source.length) {
      const ch = source[this.i]!;
      if (ch === "\n") {
        this.i++;
        this.line++;
        this.lineStart = this.i;
      } else if (isSpace(ch)) {
        this.i++;
      } else if (ch === "/" && source[this.i + 1] === "/") {
        const end = source.indexOf("\n", this.i);
        this.i = end < 0 ? source.length : end;
      } else if (ch === "{" || ch === "}") {
        this.i++;
        return this.token(ch, ch, this.i - 1);
      } else if (ch === '"') {
        return this.string();
      } else {
        const start = this.i;
        while (this.i < source.length) {
          const c = source[this.i]!;
          if (isSpace(c) || c === "{" || c === "}" || c === '"' || (c === "/" && source[this.i + 1] === "/")) break;
          this.i++;
        }
        const text = source.slice(start, this.i);
        return this.token(classify(text), text, start);
      }
    }
    return undefined;
  }

  private token(kind: TokenKind, text: string, start: number): Token {
    const token = { kind, text, line: this.line, column: start - this.lineStart + 1, width: this.i - start, firstOnLine: this.lastTokenLine !== this.line };
    this.lastTokenLine = this.line;
    return token;
  }

  private string(): Token {
    const source = this.source;
    const start = this.i++;
    const parts: string[] = [];
    let from = this.i;
    let closed = false;
    while (this.i < source.length && source[this.i] !== "\n") {
      const c = source[this.i]!;
      if (c === '"') {
        closed = true;
        break;
      }
      // Backslash escapes only the quote and itself, so Windows-style paths mostly survive.
      if (c === "\\" && (source[this.i + 1] === '"' || source[this.i + 1] === "\\")) {
        parts.push(source.slice(from, this.i));
        from = ++this.i;
      }
      this.i++;
    }
    parts.push(source.slice(from, this.i));
    if (closed) this.i++;
    else this.sink.error(this.line, start - this.lineStart + 1, `unterminated string: expected a closing \`"\` before the end of the line`);
    return this.token("string", parts.join(""), start);
  }
}

/** Every token of the source at once (for tests and small inputs; the parser streams). */
export function tokenize(source: string, sink: DiagnosticSink): Token[] {
  const lexer = new Lexer(source, sink);
  const tokens: Token[] = [];
  for (let token = lexer.next(); token !== undefined; token = lexer.next()) tokens.push(token);
  return tokens;
}

/** Text of a value as the printer writes it: bare when that reads back the same, else quoted. */
export function quoteIfNeeded(text: string): string {
  return /^[A-Za-z0-9_.:\/-]+$/.test(text) && !text.includes("//") ? text : quote(text);
}

export function quote(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}
