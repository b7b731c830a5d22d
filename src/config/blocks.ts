// `{ param value ... }` blocks: each parameter read with the shape its schema expects, then
// the block's schema run over them, every issue reported at the value it concerns. BalanceNG
// parameters bng accepts without effect are kept raw, with a warning.
import * as v from "valibot";
import { didYouMean } from "./errors.ts";
import type { Token } from "./lexer.ts";
import type { RawStatement, SourcePos } from "./model.ts";
import { Reader, describe, isStatement, valueLocation, type ParamValue, type ValueLocation } from "./reader.ts";
import { BLOCK_PARAMS, BLOCK_SCHEMAS, issuesOf, type BlockKind, type ParamSpec } from "./schema.ts";
import { UNIMPLEMENTED_PARAMS, unimplementedWarning, type UnimplementedKeyword } from "./unimplemented.ts";

/** A repeatable parameter (`tcpopen`) at most this often per block: each one is a check to run. */
export const MAX_REPEATS = 16;

export interface RawBlock {
  values: Record<string, ParamValue | ParamValue[]>;
  locations: Map<string, ValueLocation[]>;
  /** BalanceNG parameters bng accepts without effect, in file order. */
  unimplemented: RawStatement[];
  hadErrors: boolean;
  /** Parameters already reported (misspelt, valueless, invalid): their absence is not reported again. */
  accountedFor: Set<string>;
}

export type BlockOutput<K extends BlockKind> = v.InferOutput<(typeof BLOCK_SCHEMAS)[K]>;

export class BlockReader extends Reader {
  protected paramPos(raw: RawBlock, param: string, index: number): SourcePos | undefined {
    const location = raw.locations.get(param)?.[index];
    return location && { file: this.sink.file, line: location.line, column: location.column };
  }

  /** Runs the block's schema; reports every issue at the value (or the block) it concerns. */
  protected validate<K extends BlockKind>(raw: RawBlock, kind: K, title: string, keyword: Token): BlockOutput<K> | undefined {
    const result = v.safeParse(BLOCK_SCHEMAS[kind], raw.values, { abortPipeEarly: true });
    if (result.success && !raw.hadErrors) return result.output as BlockOutput<K>;
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
  protected parseBlock(keyword: Token, kind: BlockKind, title: string): RawBlock | undefined {
    const open = this.peek();
    if (open?.kind !== "{") {
      this.error(open, `expected \`{\` after \`${title}\`, found ${describe(open)}`);
      return undefined;
    }
    this.advance();
    const params = BLOCK_PARAMS[kind];
    const unimplemented = UNIMPLEMENTED_PARAMS[kind] ?? {};
    const names = Object.keys(params);
    const raw: RawBlock = { values: {}, locations: new Map(), unimplemented: [], hadErrors: false, accountedFor: new Set() };
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
      const accepted = token.kind === "word" ? unimplemented[token.text] : undefined;
      if (spec) {
        this.advance();
        this.parseParam(raw, token, spec, params, title);
      } else if (accepted) {
        this.advance();
        this.parseUnimplemented(raw, token, title, accepted);
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

  /** A parameter bng accepts without effect: one value, kept as written. */
  private parseUnimplemented(raw: RawBlock, key: Token, title: string, accepted: UnimplementedKeyword): void {
    const token = this.peek();
    if (token === undefined || token.kind === "{" || token.kind === "}") {
      raw.hadErrors = true;
      this.error(token, `missing value after \`${key.text}\` in ${title}, found ${describe(token)}`);
      return;
    }
    if (raw.unimplemented.length >= MAX_REPEATS) {
      raw.hadErrors = true;
      this.error(key, `too many parameters bng does not implement in ${title}: expected at most ${MAX_REPEATS}`);
      return;
    }
    this.advance();
    this.sink.warning(key.line, key.column, unimplementedWarning(`\`${key.text}\` in ${title}`, accepted));
    raw.unimplemented.push({ keyword: key.text, args: [{ text: token.text, quoted: token.kind === "string" }], pos: this.pos(key) });
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
      this.error(token, `missing value after \`${key.text}\`: expected ${this.shapeName(spec.shape)}, found ${describe(token)}`);
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
}
