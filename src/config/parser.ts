// Statements and blocks into the typed model. Syntax errors are reported where they are
// found and the parser resynchronises at the next statement (or the next parameter inside a
// block), so one run reports every error of a file. Value checks are the schemas' job; checks
// across objects are check.ts's.
import * as v from "valibot";
import { BlockReader, type RawBlock } from "./blocks.ts";
import { closestMatch, didYouMean, type DiagnosticSink } from "./errors.ts";
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
  type VrrpDef,
} from "./model.ts";
import { STATEMENTS, TokenStream, describe, valueLocation, type ValueLocation } from "./reader.ts";
import { InterfaceName, SETTINGS, issuesOf } from "./schema.ts";
import { UNIMPLEMENTED_SETTINGS, UNIMPLEMENTED_STATEMENTS, unimplementedWarning } from "./unimplemented.ts";
import { wholeNumber } from "./values.ts";

export type { ValueLocation } from "./reader.ts";

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
  locations: Map<InterfaceDef | NetworkDef | ServerDef | TargetDef | GatewayDef | VrrpDef, BlockLocation>;
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

type NumberedDef = InterfaceDef | NetworkDef | ServerDef | TargetDef;

/**
 * Statements read from one file. The largest real configuration (4095 objects of each kind,
 * a lifecycle line for each) has about 50,000; beyond this, memory would grow with the file.
 */
export const MAX_STATEMENTS = 100_000;

/** Module names per file: BalanceNG has about a dozen. */
export const MAX_MODULES = 64;

class Parser extends BlockReader {
  private readonly config: Config;
  private readonly parsed: ParsedFile;
  /** Where each id of each kind was defined, and each interface name declared. */
  private readonly defined: Record<ObjectKind, Map<number, SourcePos>> = { interface: new Map(), network: new Map(), server: new Map(), target: new Map() };
  private readonly interfaceNames = new Map<string, SourcePos>();

  constructor(tokens: TokenStream, sink: DiagnosticSink) {
    super(tokens, sink);
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
      vrrp: undefined,
      unimplemented: [],
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
      case "vrrp":
        return this.parseVrrp(keyword);
      case "register":
      case "unregister":
      case "enable":
      case "disable":
        return this.parseLifecycle(keyword, keyword.text as LifecycleVerb);
      default: {
        const accepted = keyword.kind === "word" ? UNIMPLEMENTED_STATEMENTS[keyword.text] : undefined;
        return accepted ? this.parseUnimplementedStatement(keyword, keyword.text, accepted) : this.unknownStatement(keyword);
      }
    }
  }

  /** A BalanceNG statement bng does not implement: kept as written, with a warning. */
  private parseUnimplementedStatement(keyword: Token, name: string, accepted: (typeof UNIMPLEMENTED_STATEMENTS)[string]): boolean {
    const args = this.rawArguments(keyword);
    if (args === undefined) return false;
    this.sink.warning(keyword.line, keyword.column, unimplementedWarning(`\`${name}\``, accepted!));
    this.config.unimplemented.push({ keyword: name, args, pos: this.pos(keyword) });
    return true;
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
    const accepted = UNIMPLEMENTED_SETTINGS[nameToken.text];
    if (accepted) {
      const valueToken = this.argument(nameToken, "a value");
      if (!valueToken) return false;
      const name = `set ${nameToken.text}`;
      this.sink.warning(keyword.line, keyword.column, unimplementedWarning(`\`${name}\``, accepted));
      this.config.unimplemented.push({ keyword: name, args: [{ text: valueToken.text, quoted: valueToken.kind === "string" }], pos: this.pos(keyword) });
      return true;
    }
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
    const def: InterfaceDef = { id: undefined, name: result.output, access: undefined, unimplemented: [], registered: true, enabled: true, pos: this.pos(keyword) };
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
    const gateway: GatewayDef = { ipaddr: block.ipaddr, ping: block.ping && this.at(raw, "ping", block.ping, pos), unimplemented: raw.unimplemented, pos };
    this.config.gateway = gateway;
    this.parsed.locations.set(gateway, { head: pos, params: raw.locations });
    return true;
  }

  private parseVrrp(keyword: Token): boolean {
    if (this.config.vrrp !== undefined) this.error(keyword, "duplicate `vrrp`: a configuration has one VRRP instance");
    const raw = this.parseBlock(keyword, "vrrp", "vrrp");
    if (!raw) return false;
    const block = this.validate(raw, "vrrp", "vrrp", keyword);
    if (!block) return true;
    const pos = this.pos(keyword);
    const vrrp: VrrpDef = {
      vrid: block.vrid,
      priority: block.priority,
      networkId: block.network,
      intervalS: block.interval,
      preempt: block.preempt === "enable",
      sync: block.sync,
      key: block.key,
      unimplemented: raw.unimplemented,
      pos,
    };
    this.config.vrrp = vrrp;
    this.parsed.locations.set(vrrp, { head: pos, params: raw.locations });
    return true;
  }

  /** A check with the position of the parameter that wrote it (the `index`th, for repeated ones). */
  private at<T extends object>(raw: RawBlock, param: string, value: T, fallback: SourcePos, index = 0): T & { pos: SourcePos } {
    return { ...value, pos: this.paramPos(raw, param, index) ?? fallback };
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
        const def: InterfaceDef = { id, name: block.name, access: block.access, unimplemented: raw.unimplemented, ...lifecycle, pos };
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
          unimplemented: raw.unimplemented,
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
          downPolicy: block.downpolicy,
          unimplemented: raw.unimplemented,
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
          tcpopen: block.tcpopen.map((check, index) => this.at(raw, "tcpopen", check, pos, index)),
          ping: block.ping && this.at(raw, "ping", block.ping, pos),
          arp: block.arp && this.at(raw, "arp", block.arp, pos),
          agent: block.agent && this.at(raw, "agent", block.agent, pos),
          script: block.script && this.at(raw, "script", block.script, pos),
          http: block.http && this.at(raw, "http", block.http, pos),
          dsrcheck: block.dsrcheck.map((check, index) => this.at(raw, "dsrcheck", check, pos, index)),
          dsr: block.dsr === "enable",
          weight: block.weight,
          alert: block.alert,
          unimplemented: raw.unimplemented,
          ...lifecycle,
          pos,
        };
        return def;
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

export function parseSource(source: string, sink: DiagnosticSink): ParsedFile {
  return new Parser(new TokenStream(new Lexer(source, sink)), sink).parseFile();
}
