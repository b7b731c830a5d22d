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

/** Collects diagnostics in the order they are found. */
export class DiagnosticSink {
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];

  constructor(readonly file: string) {}

  error(line: number, column: number, message: string): void {
    this.errors.push({ severity: "error", file: this.file, line, column, message });
  }

  warning(line: number, column: number, message: string): void {
    this.warnings.push({ severity: "warning", file: this.file, line, column, message });
  }
}

/**
 * `file:line:col: error: message`, then the offending source line and a caret under the
 * column. Tabs before the column are kept so the caret lines up in any terminal.
 */
export function formatDiagnostic(d: Diagnostic, sourceText: string | undefined): string {
  if (d.line <= 0) return `${d.file}: ${d.severity}: ${d.message}`;
  const head = `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`;
  const rawLine = sourceText?.split("\n")[d.line - 1];
  if (rawLine === undefined) return head;
  // Control characters become `?`, one for one, so the caret still lines up.
  const sourceLine = rawLine.replace(/\r$/, "").replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, "?");
  const before = sourceLine.slice(0, Math.max(0, d.column - 1));
  const padding = before.replace(/[^\t]/g, " ");
  return `${head}\n${sourceLine}\n${padding}^`;
}

/**
 * Text from the file as a message quotes it: control characters escaped so a binary file
 * cannot garble the terminal, and long runs cut so one message stays one line.
 */
export function excerpt(text: string): string {
  const visible = text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return visible.length > 40 ? `${visible.slice(0, 40)}...` : visible;
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
