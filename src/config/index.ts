// The configuration language's public interface: read, check, format and print.
import { readFileSync } from "node:fs";
import { checkConfig } from "./check.ts";
import { DiagnosticSink, formatDiagnostic, type Diagnostic } from "./errors.ts";
import { tokenize } from "./lexer.ts";
import type { Config } from "./model.ts";
import { parseTokens } from "./parser.ts";
import { counted, printConfig, summarizeConfig } from "./printer.ts";

export type { Diagnostic } from "./errors.ts";
export { counted, formatDiagnostic, printConfig, summarizeConfig };

export type ParseResult =
  | { ok: true; config: Config; warnings: Diagnostic[] }
  | { ok: false; errors: Diagnostic[]; warnings: Diagnostic[] };

/** A file's ParseResult with the text it was read from (undefined when it could not be read), for formatDiagnostic. */
export type LoadResult = ParseResult & { source: string | undefined };

/** Reads a configuration. Never throws: every problem comes back as a diagnostic. */
export function parseConfig(text: string, file: string): ParseResult {
  const sink = new DiagnosticSink(file);
  try {
    const parsed = parseTokens(tokenize(text, sink), sink);
    checkConfig(parsed, sink);
    if (sink.errors.length === 0) return { ok: true, config: parsed.config, warnings: inFileOrder(sink.warnings) };
  } catch (error) {
    // A bug of ours must still reach the user as one line, not as a stack trace.
    sink.error(0, 0, `internal error while reading the configuration (please report it): ${error instanceof Error ? error.message : String(error)}`);
  }
  return { ok: false, errors: inFileOrder(sink.errors), warnings: inFileOrder(sink.warnings) };
}

function inFileOrder(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics.toSorted((a, b) => a.line - b.line || a.column - b.column);
}

/** parseConfig on a file's contents; a file that cannot be read is one diagnostic at line 0. */
export function loadConfigFile(path: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, errors: [{ severity: "error", file: path, line: 0, column: 0, message: `cannot read the configuration: ${reason}` }], warnings: [], source: undefined };
  }
  return { ...parseConfig(text, path), source: text };
}
