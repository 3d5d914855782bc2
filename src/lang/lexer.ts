// The scenario language's lexer: identifiers, keywords, 64-bit integer literals (decimal, 0x hex,
// 0b binary, with _ separators), strings, operators and punctuation; // and /* */ comments. A bad
// character, an unterminated string or comment, or a literal wider than 64 bits is a diagnostic
// with its exact range, and lexing goes on, so one file reports all its errors.
import type { Diagnostic, Pos, Range } from './source';

export type TokenKind = 'ident' | 'keyword' | 'number' | 'string' | 'op' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** The text as written (for strings: the decoded value). */
  readonly text: string;
  readonly range: Range;
  /** Numbers: the exact value. */
  readonly value?: bigint;
}

/**
 * Reserved words. The declaration words (cpu, policy, import, guest, host, thread, events) and the
 * event words (at, after, previous, on, hit, line) are contextual: they stay usable as names and
 * fields (`current->thread.fpu`, a local called `cpu`).
 */
export const KEYWORDS = new Set([
  'fn', 'let', 'const', 'if', 'else', 'while', 'return', 'break', 'continue', 'assert', 'spawn', 'true', 'false',
]);

// Longest first, so that `<<=` wins over `<<` and `<`.
const OPERATORS = [
  '<<=', '>>=',
  '->', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '|=', '&=', '^=', '+=', '-=', '*=', '/=', '%=',
  '+', '-', '*', '/', '%', '&', '|', '^', '~', '!', '<', '>', '=', '?', ':', ';', ',', '.', '(', ')', '{', '}', '[', ']',
];

const U64_LIMIT = 1n << 64n;
/** Longest name (characters); a longer one is an error and is cut to this length. */
export const MAX_NAME = 255;
/** Errors reported per file; after that the file is not lexed further. */
export const MAX_ERRORS = 100;

export function lex(file: string, text: string): { tokens: Token[]; diagnostics: Diagnostic[] } {
  const tokens: Token[] = [];
  const diagnostics: Diagnostic[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const pos = (): Pos => ({ offset: i, line, column: i - lineStart + 1 });
  const error = (start: Pos, end: Pos, message: string) =>
    diagnostics.push({ file, range: { start, end }, severity: 'error', message });
  const newline = () => { line++; lineStart = i; };

  while (i < text.length) {
    if (diagnostics.length >= MAX_ERRORS) {
      const at = pos();
      error(at, at, `too many errors (${MAX_ERRORS}); the rest of the file is not checked`);
      break;
    }
    const c = text[i]!;
    if (c === '\n') { i++; newline(); continue; }
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    const start = pos();
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      i += 2;
      while (i < text.length && !(text[i] === '*' && text[i + 1] === '/')) { if (text[i] === '\n') { i++; newline(); } else i++; }
      if (i >= text.length) { error(start, pos(), 'unterminated comment: /* has no closing */'); break; }
      i += 2;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      while (i < text.length && /[A-Za-z0-9_]/.test(text[i]!)) i++;
      let word = text.slice(start.offset, i);
      if (word.length > MAX_NAME) {
        error(start, pos(), `a name of ${word.length} characters: names have at most ${MAX_NAME}`);
        word = word.slice(0, MAX_NAME);
      }
      tokens.push({ kind: KEYWORDS.has(word) ? 'keyword' : 'ident', text: word, range: { start, end: pos() } });
      continue;
    }
    if (/[0-9]/.test(c)) {
      while (i < text.length && /[A-Za-z0-9_]/.test(text[i]!)) i++;
      const raw = text.slice(start.offset, i);
      const digits = raw.replace(/_/g, '');
      let value: bigint | undefined;
      if (raw.length > 200) {
        error(start, pos(), `an integer literal of ${raw.length} characters does not fit in 64 bits`);
        tokens.push({ kind: 'number', text: raw.slice(0, 20), range: { start, end: pos() }, value: 0n });
        continue;
      }
      if (/^0[xX][0-9a-fA-F]+$/.test(digits) || /^0[bB][01]+$/.test(digits) || /^[0-9]+$/.test(digits)) {
        value = BigInt(digits);
        if (value >= U64_LIMIT) { error(start, pos(), `integer literal ${raw} does not fit in 64 bits`); value = 0n; }
      } else {
        error(start, pos(), `malformed integer literal '${raw}' (write decimal, 0x hex or 0b binary)`);
        value = 0n;
      }
      tokens.push({ kind: 'number', text: raw, range: { start, end: pos() }, value });
      continue;
    }
    if (c === '"') {
      i++;
      let s = '';
      let closed = false;
      while (i < text.length && text[i] !== '\n') {
        const ch = text[i]!;
        if (ch === '"') { i++; closed = true; break; }
        if (ch === '\\') {
          const e = text[i + 1];
          const map: Record<string, string> = { n: '\n', t: '\t', '"': '"', '\\': '\\' };
          if (e !== undefined && Object.hasOwn(map, e)) { s += map[e]; i += 2; continue; }
          const escStart = pos();
          i += e === undefined || e === '\n' ? 1 : 2;
          error(escStart, pos(), `unknown escape '\\${e ?? ''}' in string (use \\n, \\t, \\" or \\\\)`);
          continue;
        }
        s += ch;
        i++;
      }
      if (!closed) error(start, pos(), 'unterminated string: missing closing "');
      tokens.push({ kind: 'string', text: s, range: { start, end: pos() } });
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op) {
      i += op.length;
      tokens.push({ kind: 'op', text: op, range: { start, end: pos() } });
      continue;
    }
    i++;
    error(start, pos(), `unexpected character '${c}'`);
  }
  const end = pos();
  tokens.push({ kind: 'eof', text: '', range: { start: end, end } });
  return { tokens, diagnostics };
}
