// What the language server knows about a scenario file, independent of the protocol: the context it
// is compiled in, its diagnostics, the declarations it sees (for definition, hover and completion),
// its outline and the classification of its tokens. Files come through a FileAccessor (the open
// editors' text over the disk), so unsaved edits count everywhere.
//
// The context is what the engine would compile. A scenario is compiled with its imports and its
// policy. A kernel or policy file (src/kernel/*.xsave, src/kernel/policies/*.xsave, or a file one of
// the open scenarios imports) is compiled as part of a program that includes it: a policy alone
// (a policy imports the kernel it needs), or the first policy or open scenario whose imports reach
// it. Only the file's own diagnostics are reported, so `kvm.xsave` opened alone does not complain
// about the `policy_*` hooks a policy supplies.
import { basename, dirname, join } from 'node:path';
import type { ConstDecl, Expr, FnDecl, Ident, Item, ScenarioFile, Stmt } from '../lang/ast';
import { type FileAccessor, compile, resolvePolicy } from '../lang/compiler';
import { KEYWORDS, lex } from '../lang/lexer';
import { parse } from '../lang/parser';
import type { Diagnostic, Range } from '../lang/source';
import { BUILTINS } from '../sim/builtins';
import { CONSTANTS } from '../sim/constants';
import { COMPILE_ENV } from '../sim/scenario';
import { FileGate, policyDir, xsaveFilesIn } from '../host/files';

/** The program a file is diagnosed in: the main file and the policy file its `policy` line names. */
export interface Context {
  readonly main: string;
  /** The policy file (the compiler chooses the same one, src/lang/compiler.ts resolvePolicy); null: none. */
  readonly policy: string | null;
  /** A diagnostic about the context itself (an unknown policy), reported on the main file. */
  readonly problem: Diagnostic | null;
}

/** Parsed files by path, reused while their text is the same. */
export type ParseCache = Map<string, { text: string; ast: ScenarioFile }>;

export class Workspace {
  /**
   * `open()`: the paths of the documents open in the editor (candidate contexts for a library file);
   * `parsed`: a cache that may outlive this object (the server keeps one for the kernel files).
   */
  constructor(
    readonly files: FileAccessor, private readonly open: () => string[] = () => [], private readonly parsed: ParseCache = new Map(),
    /** The file gate a scenario is read through (its folder, the workspace, the kernel), as a launch reads it. */
    readonly gateFor: (path: string) => FileGate = (path) => FileGate.forScenario(path),
  ) {}

  /**
   * The files a program with main file `main` is compiled from, as a launch of it would read them:
   * the editors' text over the disk, through the gate of `main` (its folder tree, the workspace, the
   * kernel folder), with the shipped policies. An open editor's text is never refused.
   */
  filesFor(main: string): FileAccessor {
    const gate = this.gateFor(main);
    return {
      read: (p) => this.files.read(p),
      resolve: (from, rel) => this.files.resolve(from, rel),
      refused: (p) => (this.open().includes(p) ? null : gate.refused(p)),
      shippedPolicies: () => gate.shippedPolicies(),
    };
  }

  /** The file a `policy` line names, or null (an unknown name, a file outside the gate). */
  policyFile(policy: string, scenario: string): string | null {
    const r = resolvePolicy(scenario, policy, this.filesFor(scenario));
    return 'file' in r ? r.file : null;
  }

  parse(path: string): ScenarioFile | null {
    const text = this.files.read(path);
    if (text === null) return null;
    const hit = this.parsed.get(path);
    if (hit && hit.text === text) return hit.ast;
    const { ast } = parse(path, text);
    this.parsed.set(path, { text, ast });
    return ast;
  }

  /** Every file `main` and `imports` reach through import lines, main first. */
  closure(main: string, imports: readonly string[] = []): string[] {
    const seen = new Set<string>();
    const visit = (p: string): void => {
      if (seen.has(p)) return;
      seen.add(p);
      const ast = this.parse(p);
      if (!ast) return;
      for (const item of ast.items) if (item.kind === 'import') visit(this.files.resolve(p, item.path));
    };
    visit(main);
    for (const p of imports) visit(p);
    return [...seen];
  }

  /** A scenario's own context: it and the policy its `policy` line names (a problem at the line when it names nothing). */
  private ownContext(path: string): Context {
    const line = this.parse(path)?.items.find((i) => i.kind === 'policy');
    if (line?.kind !== 'policy') return { main: path, policy: null, problem: null };
    const r = resolvePolicy(path, line.policy, this.filesFor(path));
    if ('file' in r) return { main: path, policy: r.file, problem: null };
    return { main: path, policy: null, problem: { file: path, range: line.range, severity: 'error', message: r.message } };
  }

  /** The program `path` is compiled in (see the file's header). */
  contextOf(path: string): Context {
    const ast = this.parse(path);
    const isLibrary = ast !== null && !ast.items.some((i) => i.kind === 'guest' || i.kind === 'host' || i.kind === 'events' || i.kind === 'policy');
    if (!isLibrary) return this.ownContext(path);
    const dir = dirname(path);
    const candidates: Context[] = [];
    // A policy directory next to the file or above it (src/kernel/ and src/kernel/policies/), then
    // the shipped policies.
    const policyDirs = [join(dir, 'policies'), basename(dir) === 'policies' ? dir : null, policyDir()];
    const seen = new Set<string>();
    for (const d of policyDirs) {
      if (d === null) continue;
      for (const p of xsaveFilesIn(d)) {
        if (seen.has(p)) continue;
        seen.add(p);
        if (p === path) return { main: path, policy: null, problem: null };
        candidates.push({ main: p, policy: null, problem: null });
      }
    }
    const open = this.open().filter((p) => p !== path && !seen.has(p)).sort().map((p) => this.ownContext(p));
    for (const c of [...open, ...candidates]) {
      if (c.problem === null && this.closure(c.main, c.policy ? [c.policy] : []).includes(path)) return c;
    }
    return { main: path, policy: null, problem: null };
  }

  /**
   * The diagnostics of `path` in its context. Errors in other files that stop the compile are
   * reported on the line that leads to them (the import or policy line), naming the file.
   */
  diagnose(path: string): Diagnostic[] {
    const ctx = this.contextOf(path);
    if (ctx.problem) return ctx.main === path ? [ctx.problem] : [];
    const all = compile(ctx.main, this.filesFor(ctx.main), COMPILE_ENV).diagnostics;
    const own = all.filter((d) => d.file === path);
    const others = all.filter((d) => d.file !== path);
    if (others.length === 0 || ctx.main !== path) return own;
    const ast = this.parse(path);
    const lead = (file: string): Range => {
      for (const item of ast?.items ?? []) {
        if (item.kind === 'import' && this.closure(this.files.resolve(path, item.path)).includes(file)) return item.pathRange;
      }
      const policy = ast?.items.find((i) => i.kind === 'policy');
      return policy?.range ?? ZERO;
    };
    return [...own, ...others.map((d) => ({
      ...d, file: path, range: lead(d.file),
      message: `${basename(d.file)}:${d.range.start.line}:${d.range.start.column}: ${d.message}`,
    }))].sort((a, b) => a.range.start.offset - b.range.start.offset);
  }

  /** The declarations visible from `path`: every file of its context, its own first. */
  declarations(path: string): Declaration[] {
    const ctx = this.contextOf(path);
    const files = this.closure(ctx.main, ctx.policy ? [ctx.policy] : []);
    const ordered = [path, ...files.filter((f) => f !== path)];
    const out: Declaration[] = [];
    for (const f of ordered) {
      const ast = this.parse(f);
      if (ast) out.push(...declarationsOf(ast));
    }
    return out;
  }
}

const ZERO: Range = { start: { offset: 0, line: 1, column: 1 }, end: { offset: 0, line: 1, column: 1 } };

export type DeclarationKind = 'function' | 'constant' | 'thread' | 'process';

export interface Declaration {
  readonly name: string;
  readonly kind: DeclarationKind;
  readonly file: string;
  /** The name's range. */
  readonly range: Range;
  /** The whole declaration. */
  readonly full: Range;
  /** 'kernel', 'guest', or the host process name. */
  readonly context: string;
  readonly params?: readonly string[];
  readonly value?: Expr;
}

export function declarationsOf(ast: ScenarioFile): Declaration[] {
  const out: Declaration[] = [];
  const fn = (d: FnDecl, context: string): void => {
    out.push({ name: d.name.name, kind: 'function', file: ast.file, range: d.name.range, full: d.range, context, params: d.params.map((p) => p.name) });
  };
  const cst = (d: ConstDecl, context: string): void => {
    out.push({ name: d.name.name, kind: 'constant', file: ast.file, range: d.name.range, full: d.range, context, value: d.value });
  };
  for (const item of ast.items) {
    if (item.kind === 'fn') fn(item, 'kernel');
    else if (item.kind === 'const') cst(item, 'kernel');
    else if (item.kind === 'guest') for (const g of item.items) { if (g.kind === 'fn') fn(g, 'guest'); else cst(g, 'guest'); }
    else if (item.kind === 'host') {
      out.push({ name: item.name.name, kind: 'process', file: ast.file, range: item.name.range, full: item.range, context: item.name.name });
      for (const t of item.threads) out.push({ name: t.name.name, kind: 'thread', file: ast.file, range: t.name.range, full: t.range, context: item.name.name });
      for (const f of item.fns) fn(f, item.name.name);
    }
  }
  return out;
}

// ---- positions ------------------------------------------------------------------------------

/** Whether a 1-based (line, column) lies in a range (end exclusive, but the end of a word counts). */
export function contains(r: Range, line: number, column: number): boolean {
  const after = line > r.start.line || (line === r.start.line && column >= r.start.column);
  const before = line < r.end.line || (line === r.end.line && column <= r.end.column);
  return after && before;
}

/** The identifier at a 1-based position of a text, with its range. */
export function wordAt(text: string, line: number, column: number): Ident | null {
  const lines = text.split('\n');
  const l = lines[line - 1];
  if (l === undefined) return null;
  let s = column - 1;
  let e = column - 1;
  while (s > 0 && /\w/.test(l[s - 1]!)) s--;
  while (e < l.length && /\w/.test(l[e]!)) e++;
  if (s === e || !/^[A-Za-z_]/.test(l.slice(s, e))) return null;
  let offset = 0;
  for (let i = 0; i < line - 1; i++) offset += lines[i]!.length + 1;
  return {
    name: l.slice(s, e),
    range: { start: { offset: offset + s, line, column: s + 1 }, end: { offset: offset + e, line, column: e + 1 } },
  };
}

/** The function (or thread body) whose range holds the position, with its parameters and locals. */
export function enclosingFunction(ast: ScenarioFile, line: number, column: number): { params: Ident[]; locals: Ident[]; context: string } | null {
  const bodies: Array<{ params: Ident[]; body: Stmt[]; range: Range; context: string }> = [];
  for (const item of ast.items) {
    if (item.kind === 'fn') bodies.push({ params: item.params, body: item.body.stmts, range: item.range, context: 'kernel' });
    else if (item.kind === 'guest') for (const g of item.items) { if (g.kind === 'fn') bodies.push({ params: g.params, body: g.body.stmts, range: g.range, context: 'guest' }); }
    else if (item.kind === 'host') {
      for (const f of item.fns) bodies.push({ params: f.params, body: f.body.stmts, range: f.range, context: item.name.name });
      for (const t of item.threads) bodies.push({ params: [], body: t.body.stmts, range: t.range, context: item.name.name });
    }
  }
  const hit = bodies.find((b) => contains(b.range, line, column));
  if (!hit) return null;
  const locals: Ident[] = [];
  const seen = new Set(hit.params.map((p) => p.name));
  const walk = (stmts: Stmt[]): void => {
    for (const s of stmts) {
      if (s.kind === 'let' && !seen.has(s.name.name)) { seen.add(s.name.name); locals.push(s.name); }
      // `x = value` with no `let` declares a local too (the language's assignment to a new name).
      if (s.kind === 'assign' && s.op === '=' && s.target.kind === 'name' && !seen.has(s.target.name) && !CONSTANTS.has(s.target.name)) {
        seen.add(s.target.name);
        locals.push({ name: s.target.name, range: s.target.range });
      }
      if (s.kind === 'if') { walk(s.then.stmts); if (s.otherwise) walk(s.otherwise.stmts); }
      if (s.kind === 'while') walk(s.body.stmts);
    }
  };
  walk(hit.body);
  return { params: hit.params, locals, context: hit.context };
}

/** Which declaration a name refers to from `context` ('kernel', 'guest' or a process): its own scope first. */
export function resolveName(decls: readonly Declaration[], name: string, context: string | null): Declaration | null {
  const named = decls.filter((d) => d.name === name);
  if (named.length === 0) return null;
  // Guest code sees guest functions and constants, and the kernel's constants (not its functions).
  if (context === 'guest') return named.find((d) => d.context === 'guest') ?? named.find((d) => d.kind === 'constant' && d.context === 'kernel') ?? null;
  return named.find((d) => d.context === context) ?? named.find((d) => d.context === 'kernel') ?? named[0]!;
}

// ---- outline ------------------------------------------------------------------------------

export interface Symbol {
  readonly name: string;
  readonly detail: string;
  readonly kind: 'function' | 'constant' | 'namespace' | 'module' | 'thread' | 'event' | 'property';
  readonly range: Range;
  readonly selection: Range;
  readonly children: Symbol[];
}

export function outline(ast: ScenarioFile): Symbol[] {
  const fn = (d: FnDecl): Symbol => ({ name: d.name.name, detail: `(${d.params.map((p) => p.name).join(', ')})`, kind: 'function', range: d.range, selection: d.name.range, children: [] });
  const cst = (d: ConstDecl): Symbol => ({ name: d.name.name, detail: 'const', kind: 'constant', range: d.range, selection: d.name.range, children: [] });
  const out: Symbol[] = [];
  for (const item of ast.items as Item[]) {
    switch (item.kind) {
      case 'fn': out.push(fn(item)); break;
      case 'const': out.push(cst(item)); break;
      case 'guest': out.push({ name: 'guest', detail: '', kind: 'namespace', range: item.range, selection: item.range, children: item.items.map((g) => (g.kind === 'fn' ? fn(g) : cst(g))) }); break;
      case 'host': out.push({
        name: item.name.name, detail: 'host process', kind: 'module', range: item.range, selection: item.name.range,
        children: [
          ...item.threads.map((t): Symbol => ({ name: t.name.name, detail: 'thread', kind: 'thread', range: t.range, selection: t.name.range, children: [] })),
          ...item.fns.map(fn),
        ].sort((a, b) => a.range.start.offset - b.range.start.offset),
      }); break;
      case 'events': out.push({
        name: 'events', detail: '', kind: 'namespace', range: item.range, selection: item.range,
        children: item.events.map((e): Symbol => ({ name: e.event.name, detail: `line ${e.range.start.line}`, kind: 'event', range: e.range, selection: e.event.range, children: [] })),
      }); break;
      case 'cpu': out.push({ name: 'cpu', detail: item.model, kind: 'property', range: item.range, selection: item.range, children: [] }); break;
      case 'policy': out.push({ name: 'policy', detail: item.policy, kind: 'property', range: item.range, selection: item.range, children: [] }); break;
      default: break;
    }
  }
  return out;
}

// ---- semantic tokens ----------------------------------------------------------------------

export const TOKEN_TYPES = ['keyword', 'number', 'string', 'function', 'variable', 'parameter', 'property', 'namespace'] as const;
export const TOKEN_MODIFIERS = ['declaration', 'readonly', 'defaultLibrary'] as const;
export type TokenType = typeof TOKEN_TYPES[number];
export type TokenModifier = typeof TOKEN_MODIFIERS[number];

export interface Classified {
  readonly line: number; // 1-based
  readonly column: number; // 1-based
  readonly length: number;
  readonly type: TokenType;
  readonly modifiers: readonly TokenModifier[];
}

/** Declaration words that start an item or an event line; they stay usable as names elsewhere. */
const CONTEXTUAL = new Set(['cpu', 'cpus', 'policy', 'import', 'deviation', 'guest', 'host', 'thread', 'events', 'at', 'after', 'previous', 'on', 'hit', 'line']);

/** Every token of a file that has a semantic class, in order (comments and operators have none). */
export function classify(file: string, text: string, decls: readonly Declaration[]): Classified[] {
  const { tokens } = lex(file, text);
  const ast = parse(file, text).ast;
  const constants = new Set(decls.filter((d) => d.kind === 'constant').map((d) => d.name));
  const functions = new Set(decls.filter((d) => d.kind === 'function').map((d) => d.name));
  const declared = new Set(declarationsOf(ast).filter((d) => d.file === file).map((d) => `${d.range.start.offset}`));
  const paramsAt = new Set<number>();
  const fnParams: Array<{ range: Range; names: Set<string> }> = [];
  for (const item of ast.items) {
    const fns = item.kind === 'fn' ? [item] : item.kind === 'guest' ? item.items.filter((g): g is FnDecl => g.kind === 'fn') : item.kind === 'host' ? item.fns : [];
    for (const f of fns) {
      for (const p of f.params) paramsAt.add(p.range.start.offset);
      fnParams.push({ range: f.range, names: new Set(f.params.map((p) => p.name)) });
    }
  }
  const paramOf = (offset: number, name: string): boolean =>
    fnParams.some((f) => f.range.start.offset <= offset && offset < f.range.end.offset && f.names.has(name));
  const out: Classified[] = [];
  tokens.forEach((t, k) => {
    const prev = tokens[k - 1];
    const next = tokens[k + 1];
    const at = { line: t.range.start.line, column: t.range.start.column, length: t.range.end.offset - t.range.start.offset };
    const push = (type: TokenType, ...modifiers: TokenModifier[]): void => { out.push({ ...at, type, modifiers }); };
    if (t.kind === 'keyword') { push('keyword'); return; }
    if (t.kind === 'number') { push('number'); return; }
    if (t.kind === 'string') { push('string'); return; }
    if (t.kind !== 'ident') return;
    const name = t.text;
    const decl = declared.has(`${t.range.start.offset}`) ? ['declaration' as const] : [];
    if (prev && (prev.text === '->' || prev.text === '.') && prev.kind === 'op') { push('property'); return; }
    if (next && next.kind === 'op' && next.text === '(') {
      if (prev && prev.kind === 'keyword' && prev.text === 'fn') { push('function', 'declaration'); return; }
      push('function', ...(BUILTINS[name] && !functions.has(name) ? ['defaultLibrary' as const] : []));
      return;
    }
    if (next && next.kind === 'op' && next.text === ':' && prev && (prev.text === '(' || prev.text === ',')) { push('parameter'); return; }
    const startOfItem = !prev || (prev.kind === 'op' && (prev.text === ';' || prev.text === '}' || prev.text === '{'));
    if (CONTEXTUAL.has(name) && (startOfItem || name === 'at' || name === 'after' || name === 'previous' || name === 'on' || name === 'hit' || name === 'line') &&
      !(next && next.kind === 'op' && ['=', '->', '.', '|=', '&=', '+=', '-=', ';', ')', ','].includes(next.text))) { push('keyword'); return; }
    if (paramsAt.has(t.range.start.offset)) { push('parameter', 'declaration'); return; }
    if (paramOf(t.range.start.offset, name)) { push('parameter'); return; }
    if (constants.has(name)) { push('variable', 'readonly', ...decl); return; }
    if (CONSTANTS.has(name)) { push('variable', 'readonly', 'defaultLibrary'); return; }
    if (COMPILE_ENV.globals.has(name)) { push('variable', 'defaultLibrary'); return; }
    if (prev && prev.kind === 'ident' && prev.text === 'host') { push('namespace', 'declaration'); return; }
    if (prev && prev.kind === 'ident' && prev.text === 'thread') { push('function', 'declaration'); return; }
    push('variable', ...decl);
  });
  return out;
}

export { KEYWORDS };
