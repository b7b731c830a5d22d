// Reading tokens for the parser: the stream with its lookahead, positions and errors, what
// starts a statement, and a token turned into the value its parameter's schema expects.
import { excerpt, type DiagnosticSink } from "./errors.ts";
import type { Lexer, Token } from "./lexer.ts";
import { MAX_OBJECT_ID, type RawToken, type SourcePos } from "./model.ts";
import type { ValueShape } from "./schema.ts";
import { MAX_RAW_TOKENS, UNIMPLEMENTED_STATEMENTS } from "./unimplemented.ts";
import { parseDottedAddress, parseNumberList, type ListBounds } from "./values.ts";

const CORE_STATEMENTS = ["modules", "module", "set", "interface", "network", "gateway", "vrrp", "server", "target", "register", "unregister", "enable", "disable"] as const;

/** Every keyword that starts a statement: bng's own and the BalanceNG ones it accepts without effect. */
export const STATEMENTS: readonly string[] = [...CORE_STATEMENTS, ...Object.keys(UNIMPLEMENTED_STATEMENTS)];

export const isStatement = (text: string): boolean => STATEMENTS.includes(text);

/** Where a parameter's value was written; list items keep their own column. */
export interface ValueLocation {
  line: number;
  column: number;
  itemColumns: number[];
}

/** `"PATH",3,10` (script, http): the path, and the numbers after it as written. */
export interface PathTuple {
  path: string;
  tuple: string;
}

export type ParamValue = number | number[] | string | PathTuple;

const ID_BOUNDS: ListBounds = { min: 1, max: MAX_OBJECT_ID, what: "an id" };

export function describe(token: Token | undefined): string {
  if (token === undefined) return "the end of the file";
  return token.kind === "string" ? `"${excerpt(token.text)}"` : `\`${excerpt(token.text)}\``;
}

export function valueLocation(token: Token, itemColumns: number[] = []): ValueLocation {
  return { line: token.line, column: token.column, itemColumns };
}

/** The lexer's tokens with one token of lookahead beyond the current one: a file is never held as an array of tokens. */
export class TokenStream {
  private readonly ahead: Token[] = [];
  /** The last token read from the file, for errors at its end. */
  last: Token | undefined;

  constructor(private readonly lexer: Lexer) {}

  peek(offset: 0 | 1 = 0): Token | undefined {
    while (this.ahead.length <= offset) {
      const token = this.lexer.next();
      if (token === undefined) return undefined;
      this.ahead.push(token);
      this.last = token;
    }
    return this.ahead[offset];
  }

  advance(): Token | undefined {
    const token = this.peek();
    this.ahead.shift();
    return token;
  }
}

const SHAPE_NAMES: Record<ValueShape, string> = {
  address: "a dotted IPv4 address",
  number: "a number",
  ids: "a number or a list such as 1,2,5-8",
  tuple: "numbers separated by commas such as 80,3,10",
  path: 'a quoted path such as "/usr/local/bin/alert"',
  pathTuple: 'a quoted path followed by numbers, such as "/healthz",80,3,10',
  word: "a word",
  text: "a name",
};

export class Reader {
  constructor(
    protected readonly tokens: TokenStream,
    protected readonly sink: DiagnosticSink,
  ) {}

  protected peek(): Token | undefined {
    return this.tokens.peek();
  }

  protected advance(): Token | undefined {
    return this.tokens.advance();
  }

  protected pos(token: Token): SourcePos {
    return { file: this.sink.file, line: token.line, column: token.column };
  }

  protected error(token: Token | undefined, message: string): false {
    const at = token ?? this.tokens.last;
    this.sink.error(at?.line ?? 1, at === undefined ? 1 : token === undefined ? at.column + at.width : at.column, message);
    return false;
  }

  /** After an error: drop tokens up to the next statement that starts a line. */
  protected skipToNextStatement(): void {
    let depth = 0;
    for (let token = this.peek(); token !== undefined; token = this.peek()) {
      // Inside a skipped block `interface` and `network` are parameters, not statements.
      const parameterHere = depth > 0 && (token.text === "interface" || token.text === "network");
      if (token.firstOnLine && isStatement(token.text) && token.kind === "word" && !parameterHere) return;
      this.advance();
      if (token.kind === "{") depth++;
      if (token.kind === "}" && depth > 0 && --depth === 0) return;
    }
  }

  /** The next token as the argument of `keyword`, unless it plainly belongs to something else. */
  protected argument(keyword: Token, what: string): Token | undefined {
    const token = this.peek();
    const startsSomethingElse = token !== undefined && token.firstOnLine && isStatement(token.text);
    if (token === undefined || token.kind === "{" || token.kind === "}" || startsSomethingElse) {
      this.error(token, `missing ${what} after \`${keyword.text}\`, found ${describe(token)}`);
      return undefined;
    }
    return this.advance();
  }

  protected shapeName(shape: ValueShape): string {
    return SHAPE_NAMES[shape];
  }

  /** A number's digits as written: its schema bounds them as text. */
  protected number(token: Token, context: string): string | undefined {
    if (token.kind === "number") return token.text;
    this.error(token, `bad ${context}: expected a whole number, found ${describe(token)}`);
    return undefined;
  }

  /**
   * The rest of a statement bng accepts without effect, as written: to the end of the line
   * where `keyword` stands or, once a `{` opens, to its matching `}`. At most MAX_RAW_TOKENS.
   */
  protected rawArguments(keyword: Token): RawToken[] | undefined {
    const args: RawToken[] = [];
    let depth = 0;
    for (let token = this.peek(); token !== undefined; token = this.peek()) {
      if (depth === 0 && (token.line !== keyword.line || token.kind === "}")) break;
      if (args.length === MAX_RAW_TOKENS) {
        this.error(token, `\`${keyword.text}\` runs on past ${MAX_RAW_TOKENS} words: expected one statement`);
        return undefined;
      }
      this.advance();
      if (token.kind === "{") depth++;
      if (token.kind === "}") depth--;
      args.push({ text: token.text, quoted: token.kind === "string" });
    }
    if (depth > 0) {
      this.error(undefined, `\`{\` of \`${keyword.text}\` is never closed: expected \`}\` before the end of the file`);
      return undefined;
    }
    return args;
  }

  /**
   * The token as the value its parameter's schema expects; reports why when it cannot be.
   * `context` names what is being read (`` `port` in server 1 ``) for the message.
   */
  protected convert(token: Token, shape: ValueShape, context: string): { value: ParamValue; itemColumns: number[] } | undefined {
    switch (shape) {
      case "word":
      case "text":
        return { value: token.text, itemColumns: [] };
      case "number": {
        const value = this.number(token, context);
        return value === undefined ? undefined : { value, itemColumns: [] };
      }
      case "address": {
        if (token.kind !== "address" && token.kind !== "number") {
          this.error(token, `bad ${context}: expected a dotted IPv4 address such as 172.16.1.10, found ${describe(token)}`);
          return undefined;
        }
        const address = parseDottedAddress(token.text);
        if (!address.ok) {
          this.error(token, `bad ${context}: ${address.reason}, found ${describe(token)}`);
          return undefined;
        }
        return { value: address.value, itemColumns: [] };
      }
      case "tuple": {
        if (token.kind !== "number" && token.kind !== "list") {
          this.error(token, `bad ${context}: expected numbers separated by commas such as 80,3,10, found ${describe(token)}`);
          return undefined;
        }
        return { value: token.text, itemColumns: [] };
      }
      case "ids": {
        if (token.kind !== "number" && token.kind !== "list") {
          this.error(token, `bad ${context}: expected a number or a list such as 1,2,5-8, found ${describe(token)}`);
          return undefined;
        }
        const list = parseNumberList(token.text, ID_BOUNDS);
        if (!list.ok) {
          this.sink.error(token.line, token.column + list.offset, `bad ${context}: ${list.reason}`);
          return undefined;
        }
        return { value: list.items.map((item) => item.value), itemColumns: list.items.map((item) => token.column + item.offset) };
      }
      case "path":
        if (token.kind !== "string" && token.kind !== "word") {
          this.error(token, `bad ${context}: expected ${SHAPE_NAMES.path}, found ${describe(token)}`);
          return undefined;
        }
        return { value: token.text, itemColumns: [] };
      case "pathTuple":
        return this.pathTuple(token, context);
    }
  }

  /** `"PATH",3,10`: a string and, right after its closing quote, the numbers; unquoted `PATH,3,10` reads the same. */
  private pathTuple(token: Token, context: string): { value: PathTuple; itemColumns: number[] } | undefined {
    if (token.kind === "word") {
      const comma = token.text.indexOf(",");
      if (comma > 0) return { value: { path: token.text.slice(0, comma), tuple: token.text.slice(comma + 1) }, itemColumns: [] };
    }
    const next = this.peek();
    const adjacent = next !== undefined && next.line === token.line && next.column === token.column + token.width && next.text.startsWith(",");
    if (token.kind !== "string" || !adjacent) {
      // `"PATH" ,3,10`: the numbers are part of this mistake, not a parameter of their own.
      if (next !== undefined && next.line === token.line && next.text.startsWith(",")) this.advance();
      this.error(token, `bad ${context}: expected ${SHAPE_NAMES.pathTuple}, without spaces, found ${describe(token)}`);
      return undefined;
    }
    this.advance();
    return { value: { path: token.text, tuple: next.text.slice(1) }, itemColumns: [] };
  }
}
