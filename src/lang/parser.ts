// A hand-written recursive-descent parser for scenario files (grammar: docs/language.md). Every
// node gets the exact range of its tokens. An error is a diagnostic at the offending token; the
// parser then skips to the end of the statement (or item) and goes on, so a file reports all its
// syntax errors at once.
import type {
  Arg, AssignOp, BinaryOp, Block, ConstDecl, EventDecl, Expr, FnDecl, Ident, Item, Point, ScenarioFile, Stmt, ThreadDecl,
} from './ast';
import { MAX_ERRORS, type Token, lex } from './lexer';
import { type Diagnostic, type Range, span } from './source';

class SyntaxError_ extends Error {}

/**
 * Deepest nesting of expressions and statements (parentheses, calls, unary operators, terms of one
 * operator chain, blocks, else-if chains). The parser and the compiler recurse on it, so it is
 * bounded here, with an error at the token that goes one level deeper.
 */
export const MAX_NESTING = 256;

const ASSIGN_OPS = new Set(['=', '|=', '&=', '^=', '+=', '-=', '*=', '/=', '%=', '<<=', '>>=']);
/** Binary operators by C precedence, loosest first. */
const BINARY_LEVELS: BinaryOp[][] = [
  ['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '<=', '>', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%'],
];
const STMT_KEYWORDS = new Set(['let', 'if', 'while', 'return', 'break', 'continue', 'assert', 'spawn']);
/** Words that begin a top-level item; all but const and fn are contextual (lexed as names). */
const ITEM_WORDS = new Set(['cpu', 'cpus', 'policy', 'import', 'deviation', 'const', 'fn', 'guest', 'host', 'events']);

function describe(t: Token): string {
  if (t.kind === 'eof') return 'the end of the file';
  if (t.kind === 'string') return 'a string';
  if (t.kind === 'number') return `'${t.text}'`;
  return `'${t.text}'`;
}

export class Parser {
  private i = 0;
  private depth = 0;
  readonly diagnostics: Diagnostic[] = [];
  private readonly tokens: Token[];

  constructor(private readonly file: string, text: string) {
    const lexed = lex(file, text);
    this.tokens = lexed.tokens;
    this.diagnostics.push(...lexed.diagnostics);
  }

  // ---- token helpers ------------------------------------------------------------------------

  private peek(k = 0): Token {
    return this.tokens[Math.min(this.i + k, this.tokens.length - 1)]!;
  }
  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }
  private is(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind !== 'string' && t.kind !== 'number' && t.text === text;
  }
  /** Whether the current token begins a top-level item: a declaration word in item position. */
  private startsItem(): boolean {
    const t = this.peek();
    const n = this.peek(1);
    switch (t.text) {
      case 'const': case 'fn': return t.kind === 'keyword';
      case 'cpu': case 'policy': case 'import': case 'deviation': return n.kind === 'string';
      case 'cpus': return n.kind === 'number';
      case 'guest': case 'events': return n.text === '{' && n.kind === 'op';
      case 'host': return n.kind === 'ident';
      default: return false;
    }
  }
  private eat(text: string): Token | null {
    return this.is(text) ? this.next() : null;
  }
  private fail(t: Token, message: string): never {
    // One error per position: a second one at the same place is a consequence of the first.
    const last = this.diagnostics[this.diagnostics.length - 1];
    if (!last || last.range.start.offset !== t.range.start.offset) {
      this.diagnostics.push({ file: this.file, range: t.range, severity: 'error', message });
    }
    throw new SyntaxError_(message);
  }
  /** Runs `f` one nesting level deeper; past MAX_NESTING, an error at `t`. */
  private nested<T>(t: Token, f: () => T): T {
    if (this.depth >= MAX_NESTING) this.fail(t, `nesting deeper than ${MAX_NESTING} levels (parentheses, calls, operators, blocks): split it up`);
    this.depth++;
    try {
      return f();
    } finally {
      this.depth--;
    }
  }
  private expect(text: string, context: string): Token {
    const t = this.peek();
    if (this.is(text)) return this.next();
    return this.fail(t, `expected '${text}' ${context}, found ${describe(t)}`);
  }
  private ident(what: string): Ident {
    const t = this.peek();
    if (t.kind !== 'ident') this.fail(t, `expected ${what}, found ${describe(t)}${t.kind === 'keyword' ? ' (a keyword)' : ''}`);
    this.next();
    return { name: t.text, range: t.range };
  }
  private string(what: string): Token {
    const t = this.peek();
    if (t.kind !== 'string') this.fail(t, `expected ${what} (a "string"), found ${describe(t)}`);
    return this.next();
  }
  private smallNumber(what: string): { value: number; range: Range } {
    const t = this.peek();
    if (t.kind !== 'number') this.fail(t, `expected ${what}, found ${describe(t)}`);
    this.next();
    if (t.value! > 1000000n) this.fail(t, `${what} ${t.text} is too large`);
    return { value: Number(t.value), range: t.range };
  }

  /**
   * Skips to just after the next ';' or to the next '}' at the current nesting; inside function
   * bodies (`atKeywords`) also to the next statement keyword, which begins a fresh statement.
   */
  private syncStatement(atKeywords = true): void {
    let depth = 0;
    while (this.peek().kind !== 'eof') {
      const t = this.peek();
      if (depth === 0 && t.kind === 'op' && t.text === ';') { this.next(); return; }
      if (depth === 0 && t.kind === 'op' && t.text === '}') return;
      if (atKeywords && depth === 0 && t.kind === 'keyword' && STMT_KEYWORDS.has(t.text)) return;
      if (t.kind === 'op' && (t.text === '{' || t.text === '(')) depth++;
      if (t.kind === 'op' && (t.text === '}' || t.text === ')')) depth--;
      this.next();
      if (depth === 0 && t.kind === 'op' && t.text === '}') return;
      if (depth < 0) return;
    }
  }
  /** Skips to the next top-level item keyword at nesting depth 0. */
  private syncItem(): void {
    let depth = 0;
    while (this.peek().kind !== 'eof') {
      const t = this.peek();
      if (depth === 0 && (t.kind === 'keyword' || t.kind === 'ident') && ITEM_WORDS.has(t.text) && this.startsItem()) return;
      if (t.kind === 'op' && t.text === '{') depth++;
      if (t.kind === 'op' && t.text === '}') depth = Math.max(0, depth - 1);
      this.next();
    }
  }

  // ---- file and items ---------------------------------------------------------------------

  parseFile(): ScenarioFile {
    const items: Item[] = [];
    while (this.peek().kind !== 'eof') {
      const before = this.i;
      try {
        items.push(this.item());
      } catch (e) {
        if (!(e instanceof SyntaxError_)) throw e;
        if (this.i === before) this.next();
        this.syncItem();
      }
    }
    return { file: this.file, items };
  }

  private item(): Item {
    const t = this.peek();
    if (t.kind === 'keyword' || t.kind === 'ident') {
      switch (t.text) {
        case 'cpu': { this.next(); const s = this.string('a CPU model name'); const end = this.expect(';', "after the cpu declaration"); return { kind: 'cpu', model: s.text, range: span(t.range, end.range), modelRange: s.range }; }
        case 'deviation': {
          this.next();
          const inv = this.string('the invariant the policy deviates from');
          const match = this.string('the text its violations contain');
          const why = this.string('the explanation');
          const end = this.expect(';', 'after the deviation');
          return { kind: 'deviation', invariant: inv.text, invariantRange: inv.range, match: match.text, why: why.text, range: span(t.range, end.range) };
        }
        case 'cpus': {
          this.next();
          const n = this.smallNumber('the number of CPUs');
          if (n.value < 1 || n.value > 64) this.fail(this.tokens[this.i - 1]!, 'the machine has 1 to 64 CPUs');
          const end = this.expect(';', 'after the cpus declaration');
          return { kind: 'cpus', count: n.value, range: span(t.range, end.range) };
        }
        case 'policy': { this.next(); const s = this.string('a policy name or file'); const end = this.expect(';', 'after the policy declaration'); return { kind: 'policy', policy: s.text, range: span(t.range, end.range) }; }
        case 'import': { this.next(); const s = this.string('a file to import'); const end = this.expect(';', 'after the import'); return { kind: 'import', path: s.text, pathRange: s.range, range: span(t.range, end.range) }; }
        case 'const': return this.constDecl();
        case 'fn': return this.fnDecl();
        case 'guest': return this.guestBlock();
        case 'host': return this.hostBlock();
        case 'events': return this.eventsBlock();
      }
    }
    return this.fail(t, `expected a declaration (cpu, cpus, policy, import, deviation, const, fn, guest, host or events), found ${describe(t)}`);
  }

  private constDecl(): ConstDecl {
    const start = this.expect('const', '');
    const name = this.ident('a constant name');
    this.expect('=', `after 'const ${name.name}'`);
    const value = this.expr();
    const end = this.expect(';', 'after the constant');
    return { kind: 'const', name, value, range: span(start.range, end.range) };
  }

  private fnDecl(): FnDecl {
    const start = this.expect('fn', '');
    const name = this.ident('a function name');
    this.expect('(', `after 'fn ${name.name}'`);
    const params: Ident[] = [];
    try {
      if (!this.is(')')) {
        do params.push(this.ident('a parameter name')); while (this.eat(','));
      }
      this.expect(')', 'after the parameters');
    } catch (e) {
      // Recover inside the parameter list so the body's errors are reported too.
      if (!(e instanceof SyntaxError_)) throw e;
      while (!this.is(')') && !this.is('{') && this.peek().kind !== 'eof') this.next();
      this.eat(')');
    }
    const body = this.block();
    return { kind: 'fn', name, params, body, range: span(start.range, body.range) };
  }

  /** `{ items }` whose items are parsed by `one`, recovering item by item. */
  private braced<T>(what: string, one: () => T): { items: T[]; range: Range } {
    const open = this.expect('{', `to open the ${what}`);
    const items: T[] = [];
    while (!this.is('}') && this.peek().kind !== 'eof') {
      const before = this.i;
      try {
        items.push(one());
      } catch (e) {
        if (!(e instanceof SyntaxError_)) throw e;
        if (this.i === before) this.next();
        this.syncStatement(false);
      }
    }
    const close = this.expect('}', `to close the ${what}`);
    return { items, range: span(open.range, close.range) };
  }

  private guestBlock(): Item {
    const start = this.expect('guest', '');
    const body = this.braced('guest block', () => {
      const t = this.peek();
      if (this.is('fn')) return this.fnDecl();
      if (this.is('const')) return this.constDecl();
      return this.fail(t, `expected 'fn' or 'const' in the guest block, found ${describe(t)}`);
    });
    return { kind: 'guest', items: body.items, range: span(start.range, body.range) };
  }

  private hostBlock(): Item {
    const start = this.expect('host', '');
    const name = this.ident('a host process name');
    const threads: ThreadDecl[] = [];
    const fns: FnDecl[] = [];
    const body = this.braced(`host process '${name.name}'`, () => {
      const t = this.peek();
      if (this.is('thread') && this.peek(1).kind === 'ident') {
        this.next();
        const tname = this.ident('a thread name');
        const b = this.block();
        threads.push({ kind: 'thread', name: tname, body: b, range: span(t.range, b.range) });
        return null;
      }
      if (this.is('fn')) { fns.push(this.fnDecl()); return null; }
      return this.fail(t, `expected 'thread' or 'fn' in host process '${name.name}', found ${describe(t)}`);
    });
    return { kind: 'host', name, threads, fns, range: span(start.range, body.range) };
  }

  private eventsBlock(): Item {
    const start = this.expect('events', '');
    const body = this.braced('events block', () => this.event());
    return { kind: 'events', events: body.items, range: span(start.range, body.range) };
  }

  /** `kind [(args)] [proc.thread] (at point | after previous) [on cpu] [hit n];` */
  private event(): EventDecl {
    const event = this.ident('an event (external_interrupt, preempt, fpu_irq or run)');
    let args: Arg[] = [];
    if (this.is('(')) args = this.args();
    let target: EventDecl['target'] = null;
    if (this.peek().kind === 'ident' && this.is('.', 1)) {
      const process = this.ident('a host process');
      this.expect('.', `between process and thread in '${process.name}.thread'`);
      target = { process, thread: this.ident('a thread name') };
    }
    let trigger: EventDecl['trigger'];
    const t = this.peek();
    if (this.eat('at')) trigger = { kind: 'at', point: this.point() };
    else if (this.eat('after')) {
      const prev = this.ident("'previous'");
      if (prev.name !== 'previous') this.fail(this.tokens[this.i - 1]!, `expected 'previous' after 'after', found '${prev.name}'`);
      trigger = { kind: 'after-previous', range: span(t.range, prev.range) };
    } else return this.fail(t, `expected 'at <point>' or 'after previous' in the event, found ${describe(t)}`);
    let cpu: Ident | null = null;
    let hit: number | null = null;
    for (;;) {
      if (this.eat('on')) { cpu = this.ident('a CPU name such as cpu0'); continue; }
      if (this.eat('hit')) {
        const n = this.smallNumber('a hit count');
        if (n.value < 1) this.fail(this.tokens[this.i - 1]!, 'hit counts start at 1');
        hit = n.value;
        continue;
      }
      break;
    }
    const end = this.expect(';', 'after the event');
    return { kind: 'event', event, args, target, trigger, cpu, hit, range: span(event.range, end.range) };
  }

  /** `[guest|host] name[.name] [+ n]` or `line n`. */
  private point(): Point {
    const start = this.peek();
    if (this.is('line') && this.peek(1).kind === 'number') {
      this.next();
      const n = this.smallNumber('a line number');
      return { kind: 'line', line: n.value, range: span(start.range, n.range) };
    }
    let context: 'guest' | 'host' | null = null;
    if ((this.is('guest') || this.is('host')) && this.peek(1).kind === 'ident') context = this.next().text as 'guest' | 'host';
    let scope: Ident | null = null;
    let name = this.ident('a function or process.thread name');
    if (this.eat('.')) { scope = name; name = this.ident('a thread name'); }
    let offset: number | null = null;
    let end = name.range;
    if (this.eat('+')) {
      const n = this.smallNumber('a statement offset');
      offset = n.value;
      end = n.range;
    }
    return { kind: 'function', context, scope, name, offset, range: span(start.range, end) };
  }

  // ---- statements -------------------------------------------------------------------------

  private block(): Block {
    return this.nested(this.peek(), () => this.blockBody());
  }

  private blockBody(): Block {
    const open = this.expect('{', 'to open a block');
    const stmts: Stmt[] = [];
    while (!this.is('}') && this.peek().kind !== 'eof') {
      const before = this.i;
      try {
        stmts.push(this.stmt());
      } catch (e) {
        if (!(e instanceof SyntaxError_)) throw e;
        if (this.i === before) this.next();
        this.syncStatement();
      }
    }
    const close = this.expect('}', 'to close the block');
    return { stmts, range: span(open.range, close.range) };
  }

  private stmt(): Stmt {
    const t = this.peek();
    if (t.kind === 'keyword') {
      switch (t.text) {
        case 'let': {
          this.next();
          const name = this.ident('a variable name');
          this.expect('=', `after 'let ${name.name}'`);
          const init = this.expr();
          const end = this.expect(';', 'after the declaration');
          return { kind: 'let', name, init, range: span(t.range, end.range) };
        }
        case 'if': {
          this.next();
          this.expect('(', "after 'if'");
          const test = this.expr();
          this.expect(')', 'after the condition');
          const then = this.block();
          let otherwise: Block | null = null;
          if (this.eat('else')) {
            if (this.is('if')) {
              const nested = this.nested(this.peek(), () => this.stmt());
              otherwise = { stmts: [nested], range: nested.range };
            } else otherwise = this.block();
          }
          return { kind: 'if', test, then, otherwise, range: span(t.range, (otherwise ?? then).range) };
        }
        case 'while': {
          this.next();
          this.expect('(', "after 'while'");
          const test = this.expr();
          this.expect(')', 'after the condition');
          const body = this.block();
          return { kind: 'while', test, body, range: span(t.range, body.range) };
        }
        case 'return': {
          this.next();
          const value = this.is(';') ? null : this.expr();
          const end = this.expect(';', 'after return');
          return { kind: 'return', value, range: span(t.range, end.range) };
        }
        case 'break':
        case 'continue': {
          this.next();
          const end = this.expect(';', `after '${t.text}'`);
          return { kind: t.text, range: span(t.range, end.range) };
        }
        case 'assert': {
          this.next();
          this.expect('(', "after 'assert'");
          const test = this.expr();
          this.expect(',', 'between the condition and the message of assert');
          const msg = this.string('the assertion message');
          this.expect(')', 'after the assertion message');
          const end = this.expect(';', 'after assert(...)');
          return { kind: 'assert', test, message: msg.text, range: span(t.range, end.range) };
        }
        case 'spawn': {
          this.next();
          const thread = this.ident('a thread name');
          const end = this.expect(';', 'after spawn');
          return { kind: 'spawn', thread, range: span(t.range, end.range) };
        }
      }
    }
    const e = this.expr();
    const op = this.peek();
    if (op.kind === 'op' && ASSIGN_OPS.has(op.text)) {
      if (e.kind !== 'name' && e.kind !== 'field' && e.kind !== 'index') {
        this.diagnostics.push({ file: this.file, range: e.range, severity: 'error', message: 'the left side of an assignment must be a variable or a field' });
      }
      this.next();
      const value = this.expr();
      const end = this.expect(';', 'after the assignment');
      return { kind: 'assign', target: e, op: op.text as AssignOp, value, range: span(e.range, end.range) };
    }
    const end = this.expect(';', 'after the expression');
    return { kind: 'expr', expr: e, range: span(e.range, end.range) };
  }

  // ---- expressions ------------------------------------------------------------------------

  /** One expression and nothing after it (a debugger condition, watch or log-message hole). */
  expressionOnly(): Expr | null {
    try {
      const e = this.expr();
      const t = this.peek();
      if (t.kind !== 'eof') this.fail(t, `unexpected ${describe(t)} after the expression`);
      return e;
    } catch (err) {
      if (err instanceof SyntaxError_) return null;
      throw err;
    }
  }

  expr(): Expr {
    return this.nested(this.peek(), () => this.conditional());
  }

  private conditional(): Expr {
    const test = this.binary(0);
    if (!this.eat('?')) return test;
    const then = this.expr();
    this.expect(':', "in the conditional 'a ? b : c'");
    const otherwise = this.expr();
    return { kind: 'conditional', test, then, otherwise, range: span(test.range, otherwise.range) };
  }

  private binary(level: number): Expr {
    if (level === BINARY_LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    // Each term of a chain makes the tree one level deeper (a + b + c is (a + b) + c).
    const outer = this.depth;
    try {
      for (;;) {
        const t = this.peek();
        if (t.kind !== 'op' || !(BINARY_LEVELS[level] as string[]).includes(t.text)) return left;
        if (this.depth >= MAX_NESTING) this.fail(t, `nesting deeper than ${MAX_NESTING} levels (parentheses, calls, operators, blocks): split it up`);
        this.depth++;
        this.next();
        const right = this.binary(level + 1);
        left = { kind: 'binary', op: t.text as BinaryOp, left, right, range: span(left.range, right.range) };
      }
    } finally {
      this.depth = outer;
    }
  }

  private unary(): Expr {
    const t = this.peek();
    if (t.kind === 'op' && (t.text === '-' || t.text === '~' || t.text === '!')) {
      this.next();
      const operand = this.nested(t, () => this.unary());
      return { kind: 'unary', op: t.text, operand, range: span(t.range, operand.range) };
    }
    return this.postfix();
  }

  private postfix(): Expr {
    let e = this.primary();
    // Each call, field or index makes the tree one level deeper (a.b.c is (a.b).c).
    const outer = this.depth;
    try {
      return this.postfixChain(e);
    } finally {
      this.depth = outer;
    }
  }

  private postfixChain(e: Expr): Expr {
    for (;;) {
      if (this.is('(') || this.is('->') || this.is('.') || this.is('[')) {
        if (this.depth >= MAX_NESTING) this.fail(this.peek(), `nesting deeper than ${MAX_NESTING} levels (parentheses, calls, operators, blocks): split it up`);
        this.depth++;
      }
      if (this.is('(')) {
        if (e.kind !== 'name') this.fail(this.peek(), 'only a function or builtin name can be called');
        const callee = { name: e.name, range: e.range };
        const args = this.args();
        e = { kind: 'call', callee, args, range: span(callee.range, this.tokens[this.i - 1]!.range) };
      } else if (this.is('->') || this.is('.')) {
        const arrow = this.next().text === '->';
        // Any word is a field name here, reserved or not.
        const ft = this.peek();
        const field = ft.kind === 'keyword' ? (this.next(), { name: ft.text, range: ft.range }) : this.ident('a field name');
        e = { kind: 'field', object: e, field, arrow, range: span(e.range, field.range) };
      } else if (this.eat('[')) {
        const index = this.expr();
        const close = this.expect(']', 'after the index');
        e = { kind: 'index', object: e, index, range: span(e.range, close.range) };
      } else {
        return e;
      }
    }
  }

  private args(): Arg[] {
    this.expect('(', 'to open the arguments');
    const args: Arg[] = [];
    if (!this.is(')')) {
      do {
        let name: Ident | null = null;
        if (this.peek().kind === 'ident' && this.is(':', 1)) {
          name = this.ident('an argument name');
          this.next();
        }
        const value = this.expr();
        args.push({ name, value, range: name ? span(name.range, value.range) : value.range });
      } while (this.eat(','));
    }
    this.expect(')', 'to close the arguments');
    return args;
  }

  private primary(): Expr {
    const t = this.peek();
    switch (t.kind) {
      case 'number': this.next(); return { kind: 'number', value: t.value!, text: t.text, range: t.range };
      case 'string': this.next(); return { kind: 'string', value: t.text, range: t.range };
      case 'ident': this.next(); return { kind: 'name', name: t.text, range: t.range };
      case 'keyword':
        if (t.text === 'true' || t.text === 'false') { this.next(); return { kind: 'bool', value: t.text === 'true', range: t.range }; }
        break;
      case 'op':
        if (t.text === '(') {
          this.next();
          const inner = this.expr();
          this.expect(')', 'to close the parenthesis');
          return inner;
        }
        break;
      default:
        break;
    }
    return this.fail(t, `expected an expression, found ${describe(t)}`);
  }
}

/** Parses one scenario file; syntax errors are diagnostics, never exceptions. */
export function parse(file: string, text: string): { ast: ScenarioFile; diagnostics: Diagnostic[] } {
  const p = new Parser(file, text);
  const ast = p.parseFile();
  const diagnostics = [...p.diagnostics].sort((a, b) => a.range.start.offset - b.range.start.offset);
  if (diagnostics.length > MAX_ERRORS + 1) {
    const at = diagnostics[MAX_ERRORS]!.range;
    diagnostics.splice(MAX_ERRORS, diagnostics.length, { file, range: at, severity: 'error', message: `too many errors (${MAX_ERRORS}); the rest of the file is not checked` });
  }
  return { ast, diagnostics };
}

/**
 * Parses one expression of the language, as the debugger's conditions, log messages, watches and
 * the Debug Console use them; errors are diagnostics with exact ranges in `text`.
 */
export function parseExpression(file: string, text: string): { expr: Expr | null; diagnostics: Diagnostic[] } {
  const p = new Parser(file, text);
  const expr = p.expressionOnly();
  return { expr: p.diagnostics.length ? null : expr, diagnostics: [...p.diagnostics] };
}
