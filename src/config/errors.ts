// Diagnostics: every problem found in a configuration, reported all at once with its place
// in the file, in the `FILE:LINE:COL: error: MESSAGE` form compilers use so editors can jump.

export type Severity = "error" | "warning";

export interface Diagnostic {
  severity: Severity;
  file: string;
  /** 1-based; 0 when the problem concerns the whole file (e.g. it cannot be read). */
  line: number;
  /** 1-based; 0 together with line 0. */
  column: number;
  message: string;
}

/**
 * Diagnostics of each severity kept per file. A file of garbage can hold millions of errors;
 * nobody reads past the first screens, and each one costs memory, so the rest are counted.
 */
export const MAX_DIAGNOSTICS = 1000;

/** Collects diagnostics in the order they are found, up to MAX_DIAGNOSTICS of each severity. */
export class DiagnosticSink {
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];
  /** Diagnostics found beyond MAX_DIAGNOSTICS, not kept. */
  readonly unreported = { error: 0, warning: 0 };

  constructor(readonly file: string) {}

  error(line: number, column: number, message: string): void {
    this.add(this.errors, { severity: "error", file: this.file, line, column, message });
  }

  warning(line: number, column: number, message: string): void {
    this.add(this.warnings, { severity: "warning", file: this.file, line, column, message });
  }

  private add(list: Diagnostic[], diagnostic: Diagnostic): void {
    if (list.length < MAX_DIAGNOSTICS) list.push(diagnostic);
    else this.unreported[diagnostic.severity]++;
  }
}

/** Longest source line formatDiagnostic shows whole. */
const MAX_SHOWN_LINE = 160;

/** The last source text formatDiagnostic split into lines: a file's diagnostics are formatted one after another. */
let linesOf: { text: string; lines: string[] } | undefined;

function lineOfSource(text: string, line: number): string | undefined {
  if (linesOf?.text !== text) linesOf = { text, lines: text.split("\n") };
  return linesOf.lines[line - 1];
}

/**
 * `file:line:col: error: message`, then the offending source line and a caret under the
 * column. Tabs before the column are kept so the caret lines up in any terminal.
 */
export function formatDiagnostic(d: Diagnostic, sourceText: string | undefined): string {
  if (d.line <= 0) return `${d.file}: ${d.severity}: ${d.message}`;
  const head = `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`;
  const rawLine = sourceText === undefined ? undefined : lineOfSource(sourceText, d.line);
  if (rawLine === undefined) return head;
  // A line of megabytes is shown as the stretch around the column.
  const from = rawLine.length > MAX_SHOWN_LINE ? Math.max(0, d.column - 1 - MAX_SHOWN_LINE / 2) : 0;
  const shown = rawLine.slice(from, from + MAX_SHOWN_LINE);
  const cut = { before: from > 0 ? "..." : "", after: from + MAX_SHOWN_LINE < rawLine.length ? "..." : "" };
  // Control characters become `?`, one for one, so the caret still lines up.
  const sourceLine = shown.replace(/\r$/, "").replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, "?");
  const before = cut.before + sourceLine.slice(0, Math.max(0, d.column - 1 - from));
  const padding = before.replace(/[^\t]/g, " ");
  return `${head}\n${cut.before}${sourceLine}${cut.after}\n${padding}^`;
}

/**
 * Text from the file as a message quotes it: control characters escaped so a binary file
 * cannot garble the terminal, and long runs cut so one message stays one line.
 */
export function excerpt(text: string): string {
  // Cut first: the text may be a ten-megabyte token.
  const visible = text.slice(0, 41).replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return visible.length > 40 || text.length > 41 ? `${visible.slice(0, 40)}...` : visible;
}

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions (`tagrets`). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j]!;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i * cols + j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The candidate closest to `found`, if it is close enough to be a plausible typo. */
export function closestMatch(found: string, candidates: readonly string[]): string | undefined {
  const lower = found.toLowerCase();
  // Beyond a third of the word, a "suggestion" is more noise than help.
  const limit = Math.max(1, Math.min(3, Math.floor(lower.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    // The distance is at least the difference in length: a long word costs nothing here.
    if (Math.abs(candidate.length - lower.length) >= bestDistance) continue;
    const distance = editDistance(lower, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** `; did you mean `x`?` when a close candidate exists, else the empty string. */
export function didYouMean(found: string, candidates: readonly string[]): string {
  const match = closestMatch(found, candidates);
  return match === undefined ? "" : `; did you mean \`${match}\`?`;
}
