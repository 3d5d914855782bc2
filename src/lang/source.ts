// Positions, ranges and diagnostics of scenario files. Every AST node and every error carries an
// exact range: a 1-based line and column (what `file:line:col` messages and people use) and the
// 0-based offset (what editors and slicing use). Columns count UTF-16 code units, as VS Code does.

export interface Pos {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

export interface Range {
  readonly start: Pos;
  readonly end: Pos;
}

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  readonly file: string;
  readonly range: Range;
  readonly severity: Severity;
  readonly message: string;
}

export function span(a: Range, b: Range): Range {
  return { start: a.start, end: b.end };
}

/** `file:line:col: message`, the form compilers print and editors and CI parse. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.range.start.line}:${d.range.start.column}: ${d.severity}: ${d.message}`;
}
