// The configuration language's public interface: read, check, format and print.
import { closeSync, openSync, readSync } from "node:fs";
import { checkConfig } from "./check.ts";
import { DiagnosticSink, MAX_DIAGNOSTICS, formatDiagnostic, type Diagnostic, type Severity } from "./errors.ts";
import type { Config } from "./model.ts";
import { parseSource } from "./parser.ts";
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
    const parsed = parseSource(text, sink);
    checkConfig(parsed, sink);
    if (sink.errors.length === 0) return { ok: true, config: parsed.config, warnings: reported(sink, "warning") };
  } catch (error) {
    // A bug of ours must still reach the user as one line, not as a stack trace.
    sink.error(0, 0, `internal error while reading the configuration (please report it): ${error instanceof Error ? error.message : String(error)}`);
  }
  return { ok: false, errors: reported(sink, "error"), warnings: reported(sink, "warning") };
}

/** The kept diagnostics of one severity in file order, then how many more were found. */
function reported(sink: DiagnosticSink, severity: Severity): Diagnostic[] {
  const kept = (severity === "error" ? sink.errors : sink.warnings).toSorted((a, b) => a.line - b.line || a.column - b.column);
  const more = sink.unreported[severity];
  if (more === 0) return kept;
  const message = `${more} more ${severity}s not shown: bng reports the first ${MAX_DIAGNOSTICS} ${severity}s of a file`;
  return [...kept, { severity, file: sink.file, line: 0, column: 0, message }];
}

/**
 * Largest configuration file bng reads: sixteen times the largest real one (every id of every
 * kind used, about a megabyte), so that a wrong path (a log, /dev/zero) cannot exhaust memory.
 */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** parseConfig on a file's contents; a file that cannot be read, or is too large, is one diagnostic at line 0. */
export function loadConfigFile(path: string): LoadResult {
  let text: string;
  try {
    text = readBounded(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, errors: [{ severity: "error", file: path, line: 0, column: 0, message: `cannot read the configuration: ${reason}` }], warnings: [], source: undefined };
  }
  return { ...parseConfig(text, path), source: text };
}

/** The file as UTF-8 text, read without ever holding more than MAX_CONFIG_BYTES + 1 bytes (devices and pipes included). */
function readBounded(path: string): string {
  const buffer = Buffer.allocUnsafe(MAX_CONFIG_BYTES + 1);
  const fd = openSync(path, "r");
  let length = 0;
  try {
    for (let read = -1; read !== 0 && length < buffer.length; length += read) read = readSync(fd, buffer, length, buffer.length - length, null);
  } finally {
    closeSync(fd);
  }
  if (length > MAX_CONFIG_BYTES) throw new Error(`larger than ${MAX_CONFIG_BYTES} bytes (16 MiB), the most bng reads: is it the configuration?`);
  return buffer.toString("utf8", 0, length);
}
