// Statements and blocks into the typed model. Syntax errors are reported where they are
// found and the parser resynchronises at the next statement (or the next parameter inside a
// block), so one run reports every error of a file. Value checks are the schemas' job; checks
// across objects are check.ts's.
import * as v from "valibot";
import { closestMatch, didYouMean, excerpt, type DiagnosticSink } from "./errors.ts";
import { Lexer, type Token } from "./lexer.ts";
import {
  DEFAULT_SETTINGS,
  MAX_OBJECT_ID,
  type Config,
  type GatewayDef,
  type InterfaceDef,
  type NetworkDef,
  type ServerDef,
  type Settings,
  type SourcePos,
  type TargetDef,
} from "./model.ts";
import { BLOCK_PARAMS, BLOCK_SCHEMAS, InterfaceName, SETTINGS, issuesOf, type BlockKind, type ParamSpec, type ValueShape } from "./schema.ts";
import { parseDottedAddress, parseNumberList, wholeNumber, type ListBounds } from "./values.ts";

export const STATEMENTS = [
  "modules",
  "module",
  "set",
  "interface",
  "network",
  "gateway",
  "server",
  "target",
  "register",
  "unregister",
  "enable",
  "disable",
] as const;

export type ObjectKind = "interface" | "network" | "server" | "target";
export type LifecycleVerb = "register" | "unregister" | "enable" | "disable";

const KIND_WORDS: Record<string, ObjectKind> = {
  interface: "interface",
  interfaces: "interface",
  network: "network",
  networks: "network",
  server: "server",
  servers: "server",
  target: "target",
  targets: "target",
};

/** Where a parameter's value was written; list items keep their own column. */
export interface ValueLocation {
  line: number;
  column: number;
  itemColumns: number[];
}

export interface BlockLocation {
  head: SourcePos;
  params: Map<string, ValueLocation[]>;
}

/**
 * What the lifecycle statements say about one object once the file is read: each statement
 * sets one flag, so the last one to touch a flag decides it (undefined: never touched). Kept
 * per object rather than per statement, so a file of a million `enable` lines stays small.
 */
export interface LifecycleState {
  kind: ObjectKind;
  id: number;
  registered: boolean | undefined;
  enabled: boolean | undefined;
  /** The first statement that named the object, for the error when it is never defined. */
  firstVerb: LifecycleVerb;
  firstAt: { line: number; column: number };
}

/** The parser's output: the model (lifecycle not yet applied) and where everything was written. */
export interface ParsedFile {
  config: Config;
  locations: Map<InterfaceDef | NetworkDef | ServerDef | TargetDef | GatewayDef, BlockLocation>;
  /** Ids of blocks that had errors: defined as far as references go, but not in the model. */
  brokenIds: Record<ObjectKind, Set<number>>;
  /** Kinds with a block whose id could not be read: any reference to that kind may be to it. */
  unreadableIds: Set<ObjectKind>;
  /** Short-form interface names that were rejected: networks referring to them are not blamed. */
  brokenInterfaceNames: Set<string>;
  /** Keyed `KIND ID`, in the order objects were first named. */
  lifecycle: Map<string, LifecycleState>;
  settingLocations: Map<keyof Settings, ValueLocation>;
}

type ParamValue = number | number[] | string;

type NumberedDef = InterfaceDef | NetworkDef | ServerDef | TargetDef;

/**
 * Statements read from one file. The largest real configuration (4095 objects of each kind,
 * a lifecycle line for each) has about 50,000; beyond this, memory would grow with the file.
 */
export const MAX_STATEMENTS = 100_000;

/** A repeatable parameter (`tcpopen`) at most this often per block: each one is a check to run. */
export const MAX_REPEATS = 16;

/** Module names per file: BalanceNG has about a dozen. */
export const MAX_MODULES = 64;

const ID_BOUNDS: ListBounds = { min: 1, max: MAX_OBJECT_ID, what: "an id" };

/** The lexer's tokens with one token of lookahead beyond the current one: a file is never held as an array of tokens. */
class TokenStream {
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

interface RawBlock {
  values: Record<string, ParamValue | ParamValue[]>;
  locations: Map<string, ValueLocation[]>;
  hadErrors: boolean;
  /** Parameters already reported (misspelt, valueless, invalid): their absence is not reported again. */
  accountedFor: Set<string>;
}

const isStatement = (text: string): boolean => (STATEMENTS as readonly string[]).includes(text);

function describe(token: Token | undefined): string {
  if (token === undefined) return "the end of the file";
  return token.kind === "string" ? `"${excerpt(token.text)}"` : `\`${excerpt(token.text)}\``;
}

function valueLocation(token: Token, itemColumns: number[] = []): ValueLocation {
  return { line: token.line, column: token.column, itemColumns };
}

class Parser {
  private readonly config: Config;
  private readonly parsed: ParsedFile;
  /** Where each id of each kind was defined, and each interface name declared. */
  private readonly defined: Record<ObjectKind, Map<number, SourcePos>> = { interface: new Map(), network: new Map(), server: new Map(), target: new Map() };
  private readonly interfaceNames = new Map<string, SourcePos>();

  constructor(
    private readonly tokens: TokenStream,
    private readonly sink: DiagnosticSink,
  ) {
    this.config = {
      file: sink.file,
      modules: [],
      settings: { ...DEFAULT_SETTINGS },
      explicitSettings: [],
      interfaces: [],
      networks: [],
      gateway: undefined,
      servers: [],
      targets: [],
    };
    this.parsed = {
      config: this.config,
      locations: new Map(),
      brokenIds: { interface: new Set(), network: new Set(), server: new Set(), target: new Set() },
      unreadableIds: new Set(),
      brokenInterfaceNames: new Set(),
      lifecycle: new Map(),
      settingLocations: new Map(),
    };
  }

  parseFile(): ParsedFile {
    let statements = 0;
    for (let token = this.peek(); token !== undefined; token = this.peek()) {
      if (++statements > MAX_STATEMENTS) {
        this.error(token, `more than ${MAX_STATEMENTS} statements: bng reads at most ${MAX_STATEMENTS}, and ignores the rest of the file`);
        break;
      }
      if (!this.parseStatement(token)) this.skipToNextStatement();
    }
    return this.parsed;
  }

  /**
   * Adds a defined object to the model unless its id, or an interface's name, is taken: the
   * first definition counts, so the model holds at most MAX_OBJECT_ID objects of a kind.
   */
  private define(kind: ObjectKind, def: NumberedDef): boolean {
    const earlier = def.id === undefined ? undefined : this.defined[kind].get(def.id);
    if (earlier) {
      this.sink.error(def.pos.line, def.pos.column, `duplicate ${kind} ${def.id}: already defined on line ${earlier.line}; expected each id once`);
      return false;
    }
    if (kind === "interface") {
      // Short forms have no id to bound them.
      if (this.config.interfaces.length >= MAX_OBJECT_ID) {
        this.sink.error(def.pos.line, def.pos.column, `more than ${MAX_OBJECT_ID} interfaces: expected at most ${MAX_OBJECT_ID}`);
        return false;
      }
      const { name } = def as InterfaceDef;
      const first = this.interfaceNames.get(name);
      if (first) {
        this.sink.error(def.pos.line, def.pos.column, `interface ${name} is declared twice (first on line ${first.line})`);
        return false;
      }
      this.interfaceNames.set(name, def.pos);
    }
    if (def.id !== undefined) this.defined[kind].set(def.id, def.pos);
    switch (kind) {
      case "interface":
        this.config.interfaces.push(def as InterfaceDef);
        break;
      case "network":
        this.config.networks.push(def as NetworkDef);
        break;
      case "server":
        this.config.servers.push(def as ServerDef);
        break;
      case "target":
        this.config.targets.push(def as TargetDef);
        break;
    }
    return true;
  }

  private peek(): Token | undefined {
    return this.tokens.peek();
  }

  private advance(): Token | undefined {
    return this.tokens.advance();
  }

  private pos(token: Token): SourcePos {
    return { file: this.sink.file, line: token.line, column: token.column };
  }

  private error(token: Token | undefined, message: string): false {
    const at = token ?? this.tokens.last;
    this.sink.error(at?.line ?? 1, at === undefined ? 1 : token === undefined ? at.column + at.width : at.column, message);
    return false;
  }

  /** After an error: drop tokens up to the next statement that starts a line. */
  private skipToNextStatement(): void {
    let depth = 0;
    for (let token = this.peek(); token !== undefined; token = this.peek()) {
      // Inside a skipped block `interface` is a network parameter, not a statement.
      if (token.firstOnLine && isStatement(token.text) && token.kind === "word" && !(depth > 0 && token.text === "interface")) return;
      this.advance();
      if (token.kind === "{") depth++;
      if (token.kind === "}" && depth > 0 && --depth === 0) return;
    }
  }

  /** Returns false when the statement could not be read, so the caller resynchronises. */
  private parseStatement(keyword: Token): boolean {
    this.advance();
    if (keyword.kind === "}") return this.error(keyword, "unexpected `}`: no block is open here");
    switch (keyword.kind === "word" ? keyword.text : "") {
      case "modules":
        return this.parseModules(keyword, true);
      case "module":
        return this.parseModules(keyword, false);
      case "set":
        return this.parseSet(keyword);
      case "interface":
        return this.parseInterface(keyword);
      case "network":
        return this.parseNumberedBlock(keyword, "network");
      case "server":
        return this.parseNumberedBlock(keyword, "server");
      case "target":
        return this.parseNumberedBlock(keyword, "target");
      case "gateway":
        return this.parseGateway(keyword);
      case "register":
      case "unregister":
      case "enable":
      case "disable":
        return this.parseLifecycle(keyword, keyword.text as LifecycleVerb);
      default:
        return this.unknownStatement(keyword);
    }
  }

  private unknownStatement(keyword: Token): false {
    const guess = closestMatch(keyword.text, STATEMENTS);
    // `sever 1 {` most likely defines server 1: references to it are not errors of their own.
    const next = this.peek();
    const kind = guess === undefined ? undefined : KIND_WORDS[guess];
    const id = next?.kind === "number" ? wholeNumber(next.text) : undefined;
    if (kind !== undefined && id !== undefined) this.parsed.brokenIds[kind].add(id);
    return this.error(keyword, `unknown keyword ${describe(keyword)}: expected a statement (${STATEMENTS.join(", ")})${didYouMean(keyword.text, STATEMENTS)}`);
  }

  /** The next token as the argument of `keyword`, unless it plainly belongs to something else. */
  private argument(keyword: Token, what: string): Token | undefined {
    const token = this.peek();
    const startsSomethingElse = token !== undefined && token.firstOnLine && isStatement(token.text);
    if (token === undefined || token.kind === "{" || token.kind === "}" || startsSomethingElse) {
      this.error(token, `missing ${what} after \`${keyword.text}\`, found ${describe(token)}`);
      return undefined;
    }
    return this.advance();
  }

  private parseModules(keyword: Token, several: boolean): boolean {
    const token = this.argument(keyword, several ? "a list of module names" : "a module name");
    if (!token) return false;
    // At most one name past the bound is split off a long list.
    const names = several ? token.text.split(",", MAX_MODULES + 1) : [token.text];
    if (this.config.modules.length + names.length > MAX_MODULES) {
      return this.error(token, `too many module names: a configuration names at most ${MAX_MODULES} (bng ignores them all)`);
    }
    if (names.some((name) => !/^[A-Za-z0-9_-]+$/.test(name))) {
      return this.error(token, `bad module list ${describe(token)}: expected names separated by commas without spaces, e.g. arp,ping,hc,slb`);
    }
    this.config.modules.push(...names);
    return true;
  }

  private parseSet(keyword: Token): boolean {
    const nameToken = this.argument(keyword, "a setting name");
    if (!nameToken) return false;
    const names = Object.keys(SETTINGS);
    const spec = SETTINGS[nameToken.text];
    if (!spec) {
      this.error(nameToken, `unknown setting ${describe(nameToken)}: expected one of ${names.join(", ")}${didYouMean(nameToken.text, names)}`);
      if (this.peek()?.firstOnLine === false) this.advance();
      return true;
    }
    const valueToken = this.argument(nameToken, "a value");
    if (!valueToken) return false;
    const value = spec.shape === "number" ? this.number(valueToken, `\`set ${nameToken.text}\``) : valueToken.text;
    if (value === undefined) return true;
    const result = v.safeParse(spec.schema, value, { abortPipeEarly: true });
    if (!result.success) {
      for (const issue of issuesOf(result.issues)) this.error(valueToken, `bad \`set ${nameToken.text}\`: ${issue.message}`);
      return true;
    }
    (this.config.settings as Record<keyof Settings, unknown>)[spec.key] = result.output;
    if (!this.config.explicitSettings.includes(spec.key)) this.config.explicitSettings.push(spec.key);
    this.parsed.settingLocations.set(spec.key, valueLocation(valueToken));
    return true;
  }

  private parseInterface(keyword: Token): boolean {
    if (this.peek()?.kind === "number" && this.tokens.peek(1)?.kind === "{") return this.parseNumberedBlock(keyword, "interface");
    const nameToken = this.argument(keyword, "an interface name (e.g. `interface eth0`) or `N {`");
    if (!nameToken) return false;
    const result = v.safeParse(InterfaceName, nameToken.text);
    if (!result.success) {
      this.parsed.brokenInterfaceNames.add(nameToken.text);
      for (const issue of issuesOf(result.issues)) this.error(nameToken, `bad interface name: ${issue.message}`);
      return true;
    }
    // The short form names an interface bng uses as it is: nothing to register or enable.
    const def: InterfaceDef = { id: undefined, name: result.output, access: undefined, registered: true, enabled: true, pos: this.pos(keyword) };
    if (!this.define("interface", def)) return true;
    this.parsed.locations.set(def, { head: def.pos, params: new Map([["name", [valueLocation(nameToken)]]]) });
    return true;
  }

  private parseGateway(keyword: Token): boolean {
    if (this.config.gateway !== undefined) this.error(keyword, "duplicate `gateway`: a configuration has one default gateway");
    const raw = this.parseBlock(keyword, "gateway", "gateway");
    if (!raw) return false;
    const block = this.validate(raw, "gateway", "gateway", keyword);
    if (!block) return true;
    const pos = this.pos(keyword);
    const ping = block.ping && { ...block.ping, pos: this.paramPos(raw, "ping", 0) ?? pos };
    this.config.gateway = { ipaddr: block.ipaddr, ping, pos };
    this.parsed.locations.set(this.config.gateway, { head: pos, params: raw.locations });
    return true;
  }

  private parseNumberedBlock(keyword: Token, kind: ObjectKind): boolean {
    const idToken = this.argument(keyword, `a ${kind} number`);
    if (!idToken) return false;
    const id = idToken.kind === "number" ? wholeNumber(idToken.text) : undefined;
    if (id === undefined || id < 1 || id > MAX_OBJECT_ID) {
      this.parsed.unreadableIds.add(kind);
      return this.error(idToken, `bad ${kind} id ${describe(idToken)}: expected a whole number 1-${MAX_OBJECT_ID}`);
    }
    const title = `${kind} ${id}`;
    const raw = this.parseBlock(keyword, kind, title);
    if (!raw) {
      this.parsed.brokenIds[kind].add(id);
      return false;
    }
    const pos = this.pos(keyword);
    const def = this.buildNumbered(kind, id, raw, keyword, title, pos);
    if (!def) {
      this.parsed.brokenIds[kind].add(id);
      return true;
    }
    if (!this.define(kind, def)) return true;
    this.parsed.locations.set(def, { head: pos, params: raw.locations });
    return true;
  }

  private buildNumbered(
    kind: ObjectKind,
    id: number,
    raw: RawBlock,
    keyword: Token,
    title: string,
    pos: SourcePos,
  ): NumberedDef | undefined {
    // Defined only: the lifecycle statements, applied after the whole file is read, do the rest.
    const lifecycle = { registered: false, enabled: false };
    switch (kind) {
      case "interface": {
        const block = this.validate(raw, "interface", title, keyword);
        if (!block) return undefined;
        const def: InterfaceDef = { id, name: block.name, access: block.access, ...lifecycle, pos };
        return def;
      }
      case "network": {
        const block = this.validate(raw, "network", title, keyword);
        if (!block) return undefined;
        const def: NetworkDef = {
          id,
          name: block.name,
          addr: block.addr,
          mask: block.mask,
          real: block.real,
          virt: block.virt,
          nat: block.nat,
          interfaceRef: block.interface,
          ...lifecycle,
          pos,
        };
        return def;
      }
      case "server": {
        const block = this.validate(raw, "server", title, keyword);
        if (!block) return undefined;
        const def: ServerDef = {
          id,
          name: block.name,
          ipaddr: block.ipaddr,
          port: block.port,
          protocol: block.protocol,
          targets: block.targets,
          backup: block.backup,
          method: block.method,
          sessionTimeoutS: block.timeout,
          persistence: block.persistence,
          ...lifecycle,
          pos,
        };
        return def;
      }
      case "target": {
        const block = this.validate(raw, "target", title, keyword);
        if (!block) return undefined;
        const def: TargetDef = {
          id,
          name: block.name,
          ipaddr: block.ipaddr,
          port: block.port,
          protocol: block.protocol,
          tcpopen: block.tcpopen.map((check, index) => ({ ...check, pos: this.paramPos(raw, "tcpopen", index) ?? pos })),
          ping: block.ping && { ...block.ping, pos: this.paramPos(raw, "ping", 0) ?? pos },
          dsr: block.dsr === "enable",
          weight: block.weight,
          ...lifecycle,
          pos,
        };
        return def;
      }
    }
  }

  private paramPos(raw: RawBlock, param: string, index: number): SourcePos | undefined {
    const location = raw.locations.get(param)?.[index];
    return location && { file: this.sink.file, line: location.line, column: location.column };
  }

  /** Runs the block's schema; reports every issue at the value (or the block) it concerns. */
  private validate<K extends BlockKind>(raw: RawBlock, kind: K, title: string, keyword: Token): v.InferOutput<(typeof BLOCK_SCHEMAS)[K]> | undefined {
    const result = v.safeParse(BLOCK_SCHEMAS[kind], raw.values, { abortPipeEarly: true });
    if (result.success && !raw.hadErrors) return result.output as v.InferOutput<(typeof BLOCK_SCHEMAS)[K]>;
    for (const issue of result.success ? [] : issuesOf(result.issues)) {
      if (issue.param === undefined) {
        this.error(keyword, `bad ${title}: ${issue.message}`);
      } else if (issue.missing) {
        if (!raw.accountedFor.has(issue.param)) this.error(keyword, `${title} is missing its \`${issue.param}\`: expected a line \`${issue.param} VALUE\` inside the block`);
      } else {
        const repeats = BLOCK_PARAMS[kind][issue.param]?.repeats === true;
        const locations = raw.locations.get(issue.param) ?? [];
        const location = locations[repeats ? (issue.index ?? 0) : 0];
        const column = repeats || issue.index === undefined ? location?.column : (location?.itemColumns[issue.index] ?? location?.column);
        this.sink.error(location?.line ?? keyword.line, column ?? keyword.column, `bad \`${issue.param}\` in ${title}: ${issue.message}`);
      }
    }
    return undefined;
  }

  /** `{ param value ... }` after the block's head; undefined when there is no `{`. */
  private parseBlock(keyword: Token, kind: BlockKind, title: string): RawBlock | undefined {
    const open = this.peek();
    if (open?.kind !== "{") {
      this.error(open, `expected \`{\` after \`${title}\`, found ${describe(open)}`);
      return undefined;
    }
    this.advance();
    const params = BLOCK_PARAMS[kind];
    const names = Object.keys(params);
    const raw: RawBlock = { values: {}, locations: new Map(), hadErrors: false, accountedFor: new Set() };
    for (;;) {
      const token = this.peek();
      if (token === undefined) {
        this.error(open, `\`{\` of ${title} is never closed: expected \`}\` before the end of the file`);
        // A file cut off mid-block: what the block lacks is not worth further errors or warnings.
        return undefined;
      }
      if (token.kind === "}") {
        this.advance();
        return raw;
      }
      const spec = token.kind === "word" ? params[token.text] : undefined;
      if (spec) {
        this.advance();
        this.parseParam(raw, token, spec, params, title);
      } else if (token.firstOnLine && token.kind === "word" && isStatement(token.text)) {
        this.error(token, `expected \`}\` to close ${title} (opened on line ${keyword.line}), found ${describe(token)}`);
        return raw;
      } else {
        this.advance();
        raw.hadErrors = true;
        const suggestion = didYouMean(token.text, names);
        const match = /`(.*)`/.exec(suggestion)?.[1];
        if (match !== undefined) raw.accountedFor.add(match);
        this.error(token, `unknown parameter ${describe(token)} in ${title}: expected one of ${names.join(", ")}${suggestion}`);
        this.skipToNextParam(params);
      }
    }
  }

  private skipToNextParam(params: Record<string, ParamSpec>): void {
    for (let token = this.peek(); token !== undefined; token = this.peek()) {
      if (token.kind === "}" || (token.kind === "word" && params[token.text] !== undefined)) return;
      if (token.firstOnLine && token.kind === "word" && isStatement(token.text)) return;
      this.advance();
    }
  }

  private parseParam(raw: RawBlock, key: Token, spec: ParamSpec, params: Record<string, ParamSpec>, title: string): void {
    const token = this.peek();
    const belongsElsewhere =
      token !== undefined && token.kind === "word" && token.line !== key.line && (params[token.text] !== undefined || isStatement(token.text));
    if (token === undefined || token.kind === "{" || token.kind === "}" || belongsElsewhere) {
      raw.hadErrors = true;
      raw.accountedFor.add(key.text);
      this.error(token, `missing value after \`${key.text}\`: expected ${SHAPE_NAMES[spec.shape]}, found ${describe(token)}`);
      return;
    }
    this.advance();
    const earlier = raw.locations.get(key.text);
    if (earlier !== undefined && !spec.repeats) {
      raw.hadErrors = true;
      this.error(key, `duplicate parameter \`${key.text}\` (already set on line ${earlier[0]!.line}): expected it once per block`);
      return;
    }
    if (earlier !== undefined && earlier.length >= MAX_REPEATS) {
      raw.hadErrors = true;
      this.error(key, `too many \`${key.text}\` in ${title}: expected at most ${MAX_REPEATS}`);
      return;
    }
    const converted = this.convert(token, spec.shape, `\`${key.text}\` in ${title}`);
    if (converted === undefined) {
      raw.hadErrors = true;
      raw.accountedFor.add(key.text);
      return;
    }
    const location = valueLocation(token, converted.itemColumns);
    raw.locations.set(key.text, [...(earlier ?? []), location]);
    const previous = raw.values[key.text];
    raw.values[key.text] = spec.repeats ? [...((previous as ParamValue[] | undefined) ?? []), converted.value] : converted.value;
  }

  /** A number's digits as written: its schema bounds them as text. */
  private number(token: Token, context: string): string | undefined {
    if (token.kind === "number") return token.text;
    this.error(token, `bad ${context}: expected a whole number, found ${describe(token)}`);
    return undefined;
  }

  /**
   * The token as the value its parameter's schema expects; reports why when it cannot be.
   * `context` names what is being read (`` `port` in server 1 ``) for the message.
   */
  private convert(token: Token, shape: ValueShape, context: string): { value: ParamValue; itemColumns: number[] } | undefined {
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
    }
  }

  private parseLifecycle(keyword: Token, verb: LifecycleVerb): boolean {
    const kindToken = this.argument(keyword, "what to act on (interface, network, server or target)");
    if (!kindToken) return false;
    const kind = KIND_WORDS[kindToken.text];
    const words = Object.keys(KIND_WORDS);
    if (kind === undefined) {
      return this.error(kindToken, `expected one of ${words.join(", ")} after \`${verb}\`, found ${describe(kindToken)}${didYouMean(kindToken.text, words)}`);
    }
    const listToken = this.argument(kindToken, `a list of ${kind} numbers`);
    if (!listToken) return false;
    const converted = this.convert(listToken, "ids", `\`${keyword.text} ${kindToken.text}\` list`);
    if (!converted) return true;
    (converted.value as number[]).forEach((id, index) => {
      const key = `${kind} ${id}`;
      let state = this.parsed.lifecycle.get(key);
      if (state === undefined) {
        state = { kind, id, registered: undefined, enabled: undefined, firstVerb: verb, firstAt: { line: listToken.line, column: converted.itemColumns[index] ?? listToken.column } };
        this.parsed.lifecycle.set(key, state);
      }
      if (verb === "register" || verb === "unregister") state.registered = verb === "register";
      else state.enabled = verb === "enable";
    });
    return true;
  }
}

const SHAPE_NAMES: Record<ValueShape, string> = {
  address: "a dotted IPv4 address",
  number: "a number",
  ids: "a number or a list such as 1,2,5-8",
  tuple: "numbers separated by commas such as 80,3,10",
  word: "a word",
  text: "a name",
};

export function parseSource(source: string, sink: DiagnosticSink): ParsedFile {
  return new Parser(new TokenStream(new Lexer(source, sink)), sink).parseFile();
}
