// The compiler: scenario files (a main file, the policy it names, and everything they import) to
// one Program of flat per-function code (code.ts). It resolves every name: locals, constants,
// functions, builtins, fields, threads, event points. An unknown name is an error at its exact
// range with a "did you mean" suggestion. The lang layer never touches the file system: files come
// through a FileAccessor, and the names the engine provides (constants, builtins, kernel-object
// fields, globals) come in a CompileEnv.
//
// The policy is chosen here, once, for every front end (xsave-sim run and explore, a launch, the
// language server): the main file's `policy` line, unless the caller overrides it (--policy, the
// launch attribute). A name that ends in `.xsave` is a file, and a relative one is read from the
// main file's folder, whoever wrote it; any other name is a shipped policy, looked up in the
// FileAccessor's list (resolvePolicy).
import type { Arg, Block, ConstDecl, EventDecl, Expr, FnDecl, Item, ScenarioFile, Stmt } from './ast';
import {
  BINARY_CODES, type ChosenPolicy, type CompiledEvent, type CompiledFn, type Context, type Instr, Op, type Program, type ResolvedPoint,
  type StmtInfo, UNARY_CODES,
} from './code';
import { MAX_NESTING, parse } from './parser';
import { type Diagnostic, type Range, span } from './source';
import { didYouMean } from './suggest';

export interface BuiltinSpec {
  /** Parameter names, for positional and `name: value` arguments. */
  readonly params: readonly string[];
  /** How many trailing parameters may be left out. */
  readonly optional?: number;
  /** Contexts that may call it. */
  readonly contexts: readonly Context[];
}

export interface CompileEnv {
  readonly constants: ReadonlyMap<string, bigint>;
  readonly builtins: ReadonlyMap<string, BuiltinSpec>;
  /** Every field name of every kernel object type (checked exactly at run time). */
  readonly fields: ReadonlySet<string>;
  /** Names the engine provides as values, with the contexts that may read them. */
  readonly globals: ReadonlyMap<string, readonly Context[]>;
  /** The invariants a `deviation` may name. */
  readonly invariants?: ReadonlySet<string>;
}

export interface FileAccessor {
  /** The file's text, or null when it does not exist. */
  read(path: string): string | null;
  /** The path `rel` names when written in file `from`. */
  resolve(from: string, rel: string): string;
  /** Why `path` may not be read (outside the allowed folders, not a scenario file), or null. */
  refused?(path: string): string | null;
  /**
   * The shipped policies: name (`naive`, `linux-5.17`) to file. Without it, a policy must be named
   * as a .xsave file.
   */
  shippedPolicies?(): ReadonlyMap<string, string>;
}

export interface CompileOptions {
  /**
   * The policy to compile with instead of the main file's `policy` line: a shipped name or a .xsave
   * file, a relative path read from the main file's folder as the line's is.
   */
  readonly policy?: string;
  /** What gave `policy`, named in the error when it names nothing (`--policy`, `launch attribute 'policy'`). */
  readonly policyOrigin?: string;
  /** More files compiled after the main file and its policy (a library's context in the language server). */
  readonly imports?: readonly string[];
}

/** The longest policy name an error message repeats. */
const SHOWN_POLICY_NAME = 64;

/**
 * The file a policy names, for a main file `main`: `NAME.xsave` (any name ending in .xsave) is a
 * file, relative to `main`'s folder unless absolute; any other name is a shipped policy. Returns the
 * file, or the message of why there is none (an unknown name, a file the accessor refuses).
 */
export function resolvePolicy(main: string, policy: string, files: FileAccessor): { file: string } | { message: string } {
  if (!policy.endsWith('.xsave')) {
    const shipped = files.shippedPolicies?.() ?? new Map<string, string>();
    const file = shipped.get(policy);
    if (file !== undefined) return { file };
    const shown = policy.length > SHOWN_POLICY_NAME ? `${policy.slice(0, SHOWN_POLICY_NAME)}...` : policy;
    const known = [...shipped.keys()];
    return { message: `unknown policy '${shown}' (${known.length ? `shipped: ${known.join(', ')}` : 'no policies are shipped in this version'}; or name a .xsave file)` };
  }
  const file = files.resolve(main, policy);
  const why = files.refused?.(file) ?? null;
  return why === null ? { file } : { message: `policy ${why}` };
}

export interface CompileResult {
  program: Program | null;
  diagnostics: Diagnostic[];
}

interface FnSource {
  decl: FnDecl | { name: { name: string; range: Range }; params: never[]; body: Block; range: Range };
  context: Context;
  process: string | null;
  file: string;
  isThread: boolean;
  displayName: string;
}

const EVENT_KINDS = ['external_interrupt', 'preempt', 'fpu_irq', 'run'] as const;
const MAX_LOCALS = 256;

/** Compiles `main`, its policy (see the file's header) and everything they import. */
export function compile(main: string, files: FileAccessor, env: CompileEnv, options: CompileOptions = {}): CompileResult {
  try {
    return new Compiler(files, env).run(main, options);
  } catch (e) {
    // The parser bounds nesting (MAX_NESTING), so this is a safety net, not a path: a file the
    // recursion cannot hold is still a diagnostic, never a crash.
    if (!(e instanceof RangeError)) throw e;
    return { program: null, diagnostics: [{ file: main, range: ZERO, severity: 'error', message: 'the file is nested too deeply to compile' }] };
  }
}

class Compiler {
  private readonly diags: Diagnostic[] = [];
  private readonly parsed = new Map<string, ScenarioFile>();
  private readonly order: string[] = [];
  private readonly literals: bigint[] = [];
  private readonly literalIndex = new Map<bigint, number>();
  private readonly names: string[] = [];
  private readonly nameIndex = new Map<string, number>();
  private readonly builtinNames: string[] = [];
  private readonly builtinIndex = new Map<string, number>();
  // Declarations.
  private readonly kernelConsts = new Map<string, { decl: ConstDecl; file: string; value?: bigint; busy?: boolean }>();
  private readonly guestConsts = new Map<string, { decl: ConstDecl; file: string; value?: bigint; busy?: boolean }>();
  private readonly fnSources: FnSource[] = [];
  private readonly kernelFns = new Map<string, number>();
  private readonly guestFns = new Map<string, number>();
  private readonly processes = new Map<string, { fns: Map<string, number>; threads: Map<string, number>; order: string[] }>();
  private readonly events: Array<{ decl: EventDecl; file: string }> = [];
  private cpuModel: string | null = null;
  /** Constants being evaluated, one inside the other (bounded: the evaluation recurses). */
  private constDepth = 0;
  private cpuAt: { file: string; range: Range } | null = null;
  private policy: ChosenPolicy | null = null;
  private cpus: number | null = null;
  private readonly deviations: Array<{ invariant: string; match: string; why: string; file: string; line: number }> = [];

  constructor(private readonly files: FileAccessor, private readonly env: CompileEnv) {}

  private error(file: string, range: Range, message: string): void {
    this.diags.push({ file, range, severity: 'error', message });
  }

  run(main: string, options: CompileOptions): CompileResult {
    this.load(main, null);
    this.loadPolicy(main, options);
    for (const p of options.imports ?? []) this.load(p, null);
    if (this.diags.length) return { program: null, diagnostics: this.sorted() };
    for (const file of this.order) this.declare(this.parsed.get(file)!, file === main);
    // Every constant is evaluated, used or not, so that a bad one is reported.
    for (const name of this.kernelConsts.keys()) this.constValue(name, false);
    for (const name of this.guestConsts.keys()) this.constValue(name, true);
    const functions = this.fnSources.map((s) => this.compileFn(s));
    this.setCompiled(functions);
    const events = this.events.map((e, k) => this.compileEvent(e.decl, e.file, k, main));
    if (this.diags.length) return { program: null, diagnostics: this.sorted() };
    return {
      program: {
        functions,
        literals: this.literals,
        names: this.names,
        builtins: this.builtinNames,
        processes: [...this.processes.entries()].map(([name, p]) => ({
          name, threads: p.order.map((t) => ({ name: t, fn: p.threads.get(t)! })),
        })),
        events: events.filter((e): e is CompiledEvent => e !== null),
        cpuModel: this.cpuModel,
        cpuAt: this.cpuAt,
        policy: this.policy,
        cpus: this.cpus,
        deviations: this.deviations,
        files: this.order,
        constants: {
          kernel: new Map([...this.kernelConsts].map(([k, v]) => [k, v.value ?? 0n])),
          guest: new Map([...this.guestConsts].map(([k, v]) => [k, v.value ?? 0n])),
        },
      },
      diagnostics: [],
    };
  }

  private sorted(): Diagnostic[] {
    const rank = new Map(this.order.map((f, i) => [f, i]));
    return [...this.diags].sort((a, b) =>
      (rank.get(a.file) ?? 0) - (rank.get(b.file) ?? 0) || a.range.start.offset - b.range.start.offset);
  }

  // ---- loading ----------------------------------------------------------------------------

  /**
   * The policy: the override, else the main file's `policy` line. One that names nothing is an error
   * at that line, or at the top of the main file for an override (saying what gave it).
   */
  private loadPolicy(main: string, options: CompileOptions): void {
    const ast = this.parsed.get(main);
    if (!ast) return; // the main file could not be read: that error stands alone
    const line = ast.items.find((i) => i.kind === 'policy');
    const overridden = options.policy !== undefined;
    const name = options.policy ?? (line?.kind === 'policy' ? line.policy : undefined);
    if (name === undefined) return;
    const r = resolvePolicy(main, name, this.files);
    const at = !overridden && line ? line.range : ZERO;
    if ('message' in r) {
      this.error(main, at, overridden ? `${options.policyOrigin ?? 'the policy given'}: ${r.message}` : r.message);
      return;
    }
    this.policy = { name, file: r.file, overridden };
    this.load(r.file, { file: main, range: at });
  }

  private load(path: string, from: { file: string; range: Range } | null): void {
    if (this.parsed.has(path)) return;
    const refused = this.files.refused?.(path) ?? null;
    if (refused !== null) {
      if (from) this.error(from.file, from.range, `import: ${refused}`);
      else this.diags.push({ file: path, range: ZERO, severity: 'error', message: refused });
      return;
    }
    const text = this.files.read(path);
    if (text === null) {
      if (from) this.error(from.file, from.range, `cannot read imported file '${path}'`);
      else this.diags.push({ file: path, range: ZERO, severity: 'error', message: `cannot read '${path}'` });
      return;
    }
    const { ast, diagnostics } = parse(path, text);
    this.parsed.set(path, ast);
    this.diags.push(...diagnostics);
    for (const item of ast.items) {
      if (item.kind === 'import') this.load(this.files.resolve(path, item.path), { file: path, range: item.pathRange });
    }
    this.order.push(path);
  }

  // ---- declarations -----------------------------------------------------------------------

  private declare(ast: ScenarioFile, isMain: boolean): void {
    const file = ast.file;
    const seenOnce = new Set<string>();
    for (const item of ast.items) {
      switch (item.kind) {
        case 'cpu':
        case 'policy': {
          if (seenOnce.has(item.kind)) { this.error(file, item.range, `a second '${item.kind}' declaration in this file`); break; }
          seenOnce.add(item.kind);
          if (!isMain) break; // a library's own cpu/policy lines do not override the scenario's
          if (item.kind === 'cpu') { this.cpuModel = item.model; this.cpuAt = { file, range: item.modelRange }; }
          break;
        }
        case 'import': break;
        case 'cpus': if (isMain) this.cpus = item.count; break;
        case 'deviation': {
          const known = this.env.invariants;
          if (known && !known.has(item.invariant)) {
            this.error(file, item.invariantRange, `unknown invariant '${item.invariant}'${didYouMean(item.invariant, known)}`);
            break;
          }
          this.deviations.push({ invariant: item.invariant, match: item.match, why: item.why, file, line: item.range.start.line });
          break;
        }
        case 'const': this.declareConst(this.kernelConsts, item, file); break;
        case 'fn': this.declareFn(this.kernelFns, item, 'kernel', null, file, item.name.name); break;
        case 'guest':
          for (const g of item.items) {
            if (g.kind === 'const') this.declareConst(this.guestConsts, g, file);
            else this.declareFn(this.guestFns, g, 'guest', null, file, `guest:${g.name.name}`);
          }
          break;
        case 'host': this.declareProcess(item, file); break;
        case 'events': for (const e of item.events) this.events.push({ decl: e, file }); break;
      }
    }
  }

  private declareConst(table: Map<string, { decl: ConstDecl; file: string }>, decl: ConstDecl, file: string): void {
    const name = decl.name.name;
    if (table.has(name) || this.env.constants.has(name)) {
      this.error(file, decl.name.range, `constant '${name}' is already defined`);
      return;
    }
    table.set(name, { decl, file });
  }

  private declareFn(table: Map<string, number>, decl: FnDecl, context: Context, process: string | null, file: string, display: string): void {
    const name = decl.name.name;
    if (table.has(name)) {
      const other = this.fnSources[table.get(name)!]!;
      this.error(file, decl.name.range, `function '${name}' is already defined (at ${other.file}:${other.decl.name.range.start.line})`);
      return;
    }
    if (this.env.builtins.has(name)) {
      this.error(file, decl.name.range, `'${name}' is a builtin and cannot be redefined`);
      return;
    }
    const seen = new Set<string>();
    for (const p of decl.params) {
      if (seen.has(p.name)) this.error(file, p.range, `parameter '${p.name}' appears twice`);
      seen.add(p.name);
    }
    table.set(name, this.fnSources.length);
    this.fnSources.push({ decl, context, process, file, isThread: false, displayName: display });
  }

  private declareProcess(item: Extract<Item, { kind: 'host' }>, file: string): void {
    const name = item.name.name;
    if (this.processes.has(name)) { this.error(file, item.name.range, `host process '${name}' is already defined`); return; }
    const p = { fns: new Map<string, number>(), threads: new Map<string, number>(), order: [] as string[] };
    this.processes.set(name, p);
    for (const f of item.fns) this.declareFn(p.fns, f, 'user', name, file, `${name}:${f.name.name}`);
    for (const t of item.threads) {
      if (p.threads.has(t.name.name)) { this.error(file, t.name.range, `thread '${t.name.name}' is already defined in '${name}'`); continue; }
      p.threads.set(t.name.name, this.fnSources.length);
      p.order.push(t.name.name);
      this.fnSources.push({
        decl: { name: t.name, params: [], body: t.body, range: t.range }, context: 'user', process: name, file,
        isThread: true, displayName: `${name}.${t.name.name}`,
      });
    }
  }

  // ---- constants --------------------------------------------------------------------------

  private constValue(name: string, guest: boolean): bigint | undefined {
    const own = guest ? this.guestConsts.get(name) : undefined;
    const entry = own ?? this.kernelConsts.get(name);
    if (entry) {
      if (entry.value !== undefined) return entry.value;
      if (entry.busy) { this.error(entry.file, entry.decl.name.range, `constant '${name}' is defined in terms of itself`); return 0n; }
      if (this.constDepth >= MAX_NESTING) {
        this.error(entry.file, entry.decl.name.range, `constant '${name}' is defined through more than ${MAX_NESTING} other constants`);
        return (entry.value = 0n);
      }
      entry.busy = true;
      this.constDepth++;
      try {
        entry.value = this.evalConst(entry.decl.value, entry.file, guest);
      } finally {
        this.constDepth--;
        entry.busy = false;
      }
      return entry.value;
    }
    return this.env.constants.get(name);
  }

  private evalConst(e: Expr, file: string, guest: boolean): bigint {
    const M = (1n << 64n) - 1n;
    switch (e.kind) {
      case 'number': return e.value;
      case 'bool': return e.value ? 1n : 0n;
      case 'name': {
        const v = this.constValue(e.name, guest);
        if (v === undefined) { this.error(file, e.range, `unknown constant '${e.name}'${didYouMean(e.name, this.constNames(guest))}`); return 0n; }
        return v;
      }
      case 'unary': {
        const v = this.evalConst(e.operand, file, guest);
        return e.op === '-' ? (-v) & M : e.op === '~' ? ~v & M : v === 0n ? 1n : 0n;
      }
      case 'binary': {
        const a = this.evalConst(e.left, file, guest);
        const b = this.evalConst(e.right, file, guest);
        const r = binaryValue(e.op, a, b);
        if (r === null) { this.error(file, e.right.range, 'division by zero in a constant'); return 0n; }
        return r;
      }
      case 'conditional': return this.evalConst(e.test, file, guest) !== 0n ? this.evalConst(e.then, file, guest) : this.evalConst(e.otherwise, file, guest);
      default:
        this.error(file, e.range, 'a constant must be computed from numbers and other constants');
        return 0n;
    }
  }

  private constNames(guest: boolean): string[] {
    return [...(guest ? this.guestConsts.keys() : []), ...this.kernelConsts.keys(), ...this.env.constants.keys()];
  }

  // ---- functions ----------------------------------------------------------------------------

  private compileFn(src: FnSource): CompiledFn {
    const g = new FnGen(this, src);
    g.block(src.decl.body);
    // Falling off the end returns 0.
    g.emit(Op.PUSH, this.literal(0n));
    g.emit(Op.RETURN);
    return {
      name: src.displayName,
      shortName: src.decl.name.name,
      context: src.context,
      process: src.process,
      params: src.decl.params.map((p) => p.name),
      locals: g.locals,
      code: g.code,
      stmts: g.stmts,
      file: src.file,
      range: src.decl.range,
      isThread: src.isThread,
    };
  }

  literal(v: bigint): number {
    let i = this.literalIndex.get(v);
    if (i === undefined) { i = this.literals.length; this.literals.push(v); this.literalIndex.set(v, i); }
    return i;
  }
  name(s: string): number {
    let i = this.nameIndex.get(s);
    if (i === undefined) { i = this.names.length; this.names.push(s); this.nameIndex.set(s, i); }
    return i;
  }
  builtin(s: string): number {
    let i = this.builtinIndex.get(s);
    if (i === undefined) { i = this.builtinNames.length; this.builtinNames.push(s); this.builtinIndex.set(s, i); }
    return i;
  }

  report(file: string, range: Range, message: string): void { this.error(file, range, message); }
  envOf(): CompileEnv { return this.env; }
  const(name: string, guest: boolean): bigint | undefined { return this.constValue(name, guest); }
  visibleConsts(guest: boolean): string[] { return this.constNames(guest); }

  /** The function a call in `src`'s context names, or null. */
  callable(src: FnSource, name: string): number | null {
    if (src.context === 'guest') return this.guestFns.get(name) ?? null;
    if (src.context === 'user') return this.processes.get(src.process!)!.fns.get(name) ?? this.kernelFns.get(name) ?? null;
    return this.kernelFns.get(name) ?? null;
  }
  callableNames(src: FnSource): string[] {
    const fns = src.context === 'guest' ? [...this.guestFns.keys()]
      : src.context === 'user' ? [...this.processes.get(src.process!)!.fns.keys(), ...this.kernelFns.keys()]
        : [...this.kernelFns.keys()];
    const builtins = [...this.env.builtins.entries()].filter(([, b]) => b.contexts.includes(src.context)).map(([n]) => n);
    return [...fns, ...builtins];
  }
  fnParams(index: number): string[] { return this.fnSources[index]!.decl.params.map((p) => p.name); }
  hasThread(process: string, thread: string): boolean { return this.processes.get(process)?.threads.has(thread) ?? false; }
  threadNames(process: string): string[] { return [...(this.processes.get(process)?.threads.keys() ?? [])]; }

  // ---- events -------------------------------------------------------------------------------

  private compileEvent(e: EventDecl, file: string, k: number, main: string): CompiledEvent | null {
    const kind = e.event.name as CompiledEvent['kind'];
    if (!(EVENT_KINDS as readonly string[]).includes(kind)) {
      this.error(file, e.event.range, `unknown event '${e.event.name}' (events: ${EVENT_KINDS.join(', ')})${didYouMean(e.event.name, EVENT_KINDS)}`);
      return null;
    }
    let vector = 32;
    if (e.args.length) {
      if (kind !== 'external_interrupt' || e.args.length > 1 || e.args[0]!.name) {
        this.error(file, e.args[0]!.range, kind === 'external_interrupt' ? 'external_interrupt takes one argument, the vector' : `'${kind}' takes no arguments`);
      } else {
        const v = this.evalConst(e.args[0]!.value, file, false);
        if (v < 32n || v > 255n) this.error(file, e.args[0]!.range, `an external interrupt vector is 32..255, not ${v}`);
        else vector = Number(v);
      }
    }
    let target: CompiledEvent['target'] = null;
    if (kind === 'run') {
      if (!e.target) this.error(file, e.event.range, "'run' needs a host thread: run process.thread");
      else if (!this.processes.has(e.target.process.name)) {
        this.error(file, e.target.process.range, `unknown host process '${e.target.process.name}'${didYouMean(e.target.process.name, this.processes.keys())}`);
      } else if (!this.hasThread(e.target.process.name, e.target.thread.name)) {
        this.error(file, e.target.thread.range, `process '${e.target.process.name}' has no thread '${e.target.thread.name}'${didYouMean(e.target.thread.name, this.threadNames(e.target.process.name))}`);
      } else target = { process: e.target.process.name, thread: e.target.thread.name };
    } else if (e.target) {
      this.error(file, e.target.process.range, `'${kind}' does not take a thread`);
    }
    let at: ResolvedPoint | null = null;
    if (e.trigger.kind === 'at') at = this.resolvePoint(e.trigger.point, file, main);
    else if (k === 0) this.error(file, e.trigger.range, "'after previous' on the first event: there is no previous event");
    let cpu = 0;
    if (e.cpu) {
      const m = /^cpu([0-9]{1,3})$/.exec(e.cpu.name);
      if (!m) this.error(file, e.cpu.range, `expected a CPU name such as cpu0, found '${e.cpu.name}'`);
      else cpu = Number(m[1]);
    }
    return {
      kind, vector, target, at, afterPrevious: e.trigger.kind === 'after-previous', cpu, cpuExplicit: e.cpu !== null, hit: e.hit ?? 1,
      range: e.range, file,
    };
  }

  private resolvePoint(p: Extract<EventDecl['trigger'], { kind: 'at' }>['point'], file: string, main: string): ResolvedPoint | null {
    if (p.kind === 'line') {
      for (const [fi, f] of this.compiledOrder().entries()) {
        const s = f.stmts.findIndex((st) => st.file === main && st.range.start.line === p.line);
        if (s >= 0) return { fn: fi, stmt: s, range: p.range };
      }
      this.error(file, p.range, `no statement starts on line ${p.line} of ${main}`);
      return null;
    }
    let fn: number | undefined;
    const all: string[] = [];
    if (p.scope) {
      const proc = this.processes.get(p.scope.name);
      if (!proc) { this.error(file, p.scope.range, `unknown host process '${p.scope.name}'${didYouMean(p.scope.name, this.processes.keys())}`); return null; }
      fn = proc.threads.get(p.name.name) ?? proc.fns.get(p.name.name);
      all.push(...proc.threads.keys(), ...proc.fns.keys());
    } else {
      if (p.context !== 'host') { fn = this.guestFns.get(p.name.name); all.push(...this.guestFns.keys()); }
      if (fn === undefined && p.context !== 'guest') { fn = this.kernelFns.get(p.name.name); all.push(...this.kernelFns.keys()); }
    }
    if (fn === undefined) {
      const where = p.context === 'guest' ? 'guest function' : p.context === 'host' ? 'host function' : 'function';
      this.error(file, p.name.range, `unknown ${where} '${p.name.name}'${didYouMean(p.name.name, all)}`);
      return null;
    }
    const stmt = p.offset ?? 0;
    const count = this.compiledOrder()[fn]!.stmts.length;
    if (stmt >= Math.max(count, 1)) {
      this.error(file, p.range, `'${p.name.name}' has ${count} statement${count === 1 ? '' : 's'}; + ${stmt} is past its end`);
      return null;
    }
    return { fn, stmt, range: p.range };
  }

  private compiledCache: CompiledFn[] | null = null;
  private compiledOrder(): CompiledFn[] {
    // Events are resolved after functions are compiled; compileFn is pure, so recompiling for
    // statement counts would duplicate diagnostics: run() stores the result here instead.
    return this.compiledCache!;
  }
  setCompiled(fns: CompiledFn[]): void { this.compiledCache = fns; }
}

const ZERO: Range = { start: { offset: 0, line: 1, column: 1 }, end: { offset: 0, line: 1, column: 1 } };

/** C semantics on unsigned 64-bit values; null for division by zero. */
export function binaryValue(op: string, a: bigint, b: bigint): bigint | null {
  const M = (1n << 64n) - 1n;
  switch (op) {
    case '*': return (a * b) & M;
    case '/': return b === 0n ? null : a / b;
    case '%': return b === 0n ? null : a % b;
    case '+': return (a + b) & M;
    case '-': return (a - b) & M;
    // x86 masks shift counts of 64-bit operands to 6 bits (SHL/SHR).
    case '<<': return (a << (b & 63n)) & M;
    case '>>': return a >> (b & 63n);
    case '<': return a < b ? 1n : 0n;
    case '<=': return a <= b ? 1n : 0n;
    case '>': return a > b ? 1n : 0n;
    case '>=': return a >= b ? 1n : 0n;
    case '==': return a === b ? 1n : 0n;
    case '!=': return a !== b ? 1n : 0n;
    case '&': return a & b;
    case '^': return a ^ b;
    case '|': return a | b;
    case '&&': return a !== 0n && b !== 0n ? 1n : 0n;
    case '||': return a !== 0n || b !== 0n ? 1n : 0n;
    default: throw new Error(`unknown operator ${op}`);
  }
}

/** Code generation for one function. */
class FnGen {
  readonly code: Instr[] = [];
  readonly stmts: StmtInfo[] = [];
  readonly locals: string[];
  private readonly slots = new Map<string, number>();
  private readonly loops: Array<{ start: number; breaks: number[] }> = [];
  private readonly file: string;
  private readonly guest: boolean;

  constructor(private readonly c: Compiler, private readonly src: FnSource) {
    this.file = src.file;
    this.guest = src.context === 'guest';
    this.locals = [];
    for (const p of src.decl.params) this.declare(p.name, p.range);
  }

  emit(op: Op, a = 0, b = 0): number {
    this.code.push({ op, a, b });
    return this.code.length - 1;
  }
  private patch(at: number, target: number): void {
    const ins = this.code[at]!;
    this.code[at] = { op: ins.op, a: target, b: ins.b };
  }
  private err(range: Range, message: string): void { this.c.report(this.file, range, message); }

  private declare(name: string, range: Range): number {
    if (this.locals.length >= MAX_LOCALS) { this.err(range, `more than ${MAX_LOCALS} locals in one function`); return 0; }
    const slot = this.locals.length;
    this.locals.push(name);
    this.slots.set(name, slot);
    return slot;
  }

  private stmtStart(s: Stmt, range: Range): void {
    this.emit(Op.STMT, this.stmts.length);
    this.stmts.push({ range, file: this.file, kind: s.kind });
  }

  block(b: Block): void {
    for (const s of b.stmts) this.stmt(s);
  }

  private stmt(s: Stmt): void {
    switch (s.kind) {
      case 'let': {
        this.stmtStart(s, s.range);
        this.expr(s.init);
        if (this.slots.has(s.name.name)) { this.err(s.name.range, `'${s.name.name}' is already declared in this function`); this.emit(Op.POP); break; }
        if (this.isConstName(s.name.name)) this.err(s.name.range, `'${s.name.name}' is a constant; choose another variable name`);
        this.emit(Op.STORE, this.declare(s.name.name, s.name.range));
        break;
      }
      case 'assign': this.stmtStart(s, s.range); this.assign(s); break;
      case 'expr': this.stmtStart(s, s.range); this.expr(s.expr); this.emit(Op.POP); break;
      case 'if': {
        this.stmtStart(s, span(s.range, s.test.range));
        this.expr(s.test);
        const jf = this.emit(Op.JUMP_IF_FALSE);
        this.block(s.then);
        if (s.otherwise) {
          const j = this.emit(Op.JUMP);
          this.patch(jf, this.code.length);
          this.block(s.otherwise);
          this.patch(j, this.code.length);
        } else this.patch(jf, this.code.length);
        break;
      }
      case 'while': {
        const start = this.code.length;
        this.stmtStart(s, span(s.range, s.test.range));
        this.expr(s.test);
        const jf = this.emit(Op.JUMP_IF_FALSE);
        this.loops.push({ start, breaks: [] });
        this.block(s.body);
        this.emit(Op.JUMP, start);
        const loop = this.loops.pop()!;
        this.patch(jf, this.code.length);
        for (const b of loop.breaks) this.patch(b, this.code.length);
        break;
      }
      case 'return':
        this.stmtStart(s, s.range);
        if (s.value) this.expr(s.value); else this.emit(Op.PUSH, this.c.literal(0n));
        this.emit(Op.RETURN);
        break;
      case 'break':
      case 'continue': {
        this.stmtStart(s, s.range);
        const loop = this.loops[this.loops.length - 1];
        if (!loop) { this.err(s.range, `'${s.kind}' outside a loop`); break; }
        if (s.kind === 'break') loop.breaks.push(this.emit(Op.JUMP));
        else this.emit(Op.JUMP, loop.start);
        break;
      }
      case 'assert':
        this.stmtStart(s, s.range);
        this.expr(s.test);
        this.emit(Op.ASSERT, this.c.name(s.message));
        break;
      case 'spawn':
        this.stmtStart(s, s.range);
        if (this.src.context !== 'user') this.err(s.range, "'spawn' starts a thread of a host process; it is only allowed in host process code");
        else if (!this.c.hasThread(this.src.process!, s.thread.name)) {
          this.err(s.thread.range, `process '${this.src.process}' has no thread '${s.thread.name}'${didYouMean(s.thread.name, this.c.threadNames(this.src.process!))}`);
        }
        this.emit(Op.SPAWN, this.c.name(s.thread.name));
        break;
    }
  }

  private isConstName(name: string): boolean {
    return this.c.const(name, this.guest) !== undefined;
  }

  private assign(s: Extract<Stmt, { kind: 'assign' }>): void {
    const binop = s.op === '=' ? null : s.op.slice(0, -1);
    const t = s.target;
    if (t.kind === 'name') {
      let slot = this.slots.get(t.name);
      if (slot === undefined) {
        if (this.isConstName(t.name)) { this.err(t.range, `cannot assign to constant '${t.name}'`); return; }
        if (this.c.envOf().globals.has(t.name)) { this.err(t.range, `cannot assign to '${t.name}', which the machine provides`); return; }
        if (binop) { this.err(t.range, `unknown variable '${t.name}'${didYouMean(t.name, this.locals)}`); return; }
        this.expr(s.value);
        // Assigning a new name declares it (docs/language.md).
        slot = this.declare(t.name, t.range);
        this.emit(Op.STORE, slot);
        return;
      }
      if (binop) { this.emit(Op.LOAD, slot); this.expr(s.value); this.emit(Op.BINARY, BINARY_CODES.indexOf(binop as never)); }
      else this.expr(s.value);
      this.emit(Op.STORE, slot);
      return;
    }
    if (t.kind === 'field') {
      this.fieldName(t.field);
      this.expr(t.object);
      if (binop) {
        this.emit(Op.DUP);
        this.emit(Op.FIELD, this.c.name(t.field.name));
        this.expr(s.value);
        this.emit(Op.BINARY, BINARY_CODES.indexOf(binop as never));
      } else this.expr(s.value);
      this.emit(Op.STORE_FIELD, this.c.name(t.field.name));
      return;
    }
    if (t.kind === 'index') {
      if (binop) { this.err(s.range, `'${s.op}' on an element is not supported; write a[i] = a[i] ${binop} x`); return; }
      this.expr(t.object);
      this.expr(t.index);
      this.expr(s.value);
      this.emit(Op.STORE_INDEX);
      return;
    }
    // The parser has already reported a bad target.
  }

  private fieldName(f: { name: string; range: Range }): void {
    if (!this.c.envOf().fields.has(f.name)) this.err(f.range, `unknown field '${f.name}'${didYouMean(f.name, this.c.envOf().fields)}`);
  }

  private expr(e: Expr): void {
    switch (e.kind) {
      case 'number': this.emit(Op.PUSH, this.c.literal(e.value)); return;
      case 'bool': this.emit(Op.PUSH, this.c.literal(e.value ? 1n : 0n)); return;
      case 'string': this.err(e.range, 'a string can only be an assert message'); return;
      case 'name': {
        const slot = this.slots.get(e.name);
        if (slot !== undefined) { this.emit(Op.LOAD, slot); return; }
        const v = this.c.const(e.name, this.guest);
        if (v !== undefined) { this.emit(Op.PUSH, this.c.literal(v)); return; }
        const g = this.c.envOf().globals.get(e.name);
        if (g) {
          if (!g.includes(this.src.context)) this.err(e.range, `'${e.name}' is not available in ${contextName(this.src.context)}`);
          this.emit(Op.GLOBAL, this.c.name(e.name));
          return;
        }
        const visible = [...this.locals, ...this.c.visibleConsts(this.guest), ...this.c.envOf().globals.keys()];
        this.err(e.range, `unknown name '${e.name}'${didYouMean(e.name, visible)}`);
        return;
      }
      case 'unary': this.expr(e.operand); this.emit(Op.UNARY, UNARY_CODES.indexOf(e.op)); return;
      case 'binary': {
        if (e.op === '&&' || e.op === '||') {
          // Short-circuit: the right side runs only when needed; the result is 0 or 1.
          this.expr(e.left);
          if (e.op === '||') this.emit(Op.UNARY, UNARY_CODES.indexOf('!'));
          const jf = this.emit(Op.JUMP_IF_FALSE);
          this.expr(e.right);
          this.emit(Op.TO_BOOL);
          const j = this.emit(Op.JUMP);
          this.patch(jf, this.code.length);
          this.emit(Op.PUSH, this.c.literal(e.op === '||' ? 1n : 0n));
          this.patch(j, this.code.length);
          return;
        }
        this.expr(e.left);
        this.expr(e.right);
        this.emit(Op.BINARY, BINARY_CODES.indexOf(e.op as never));
        return;
      }
      case 'conditional': {
        this.expr(e.test);
        const jf = this.emit(Op.JUMP_IF_FALSE);
        this.expr(e.then);
        const j = this.emit(Op.JUMP);
        this.patch(jf, this.code.length);
        this.expr(e.otherwise);
        this.patch(j, this.code.length);
        return;
      }
      case 'field':
        this.fieldName(e.field);
        this.expr(e.object);
        this.emit(Op.FIELD, this.c.name(e.field.name));
        return;
      case 'index':
        this.expr(e.object);
        this.expr(e.index);
        this.emit(Op.INDEX);
        return;
      case 'call': this.call(e); return;
    }
  }

  private call(e: Extract<Expr, { kind: 'call' }>): void {
    const name = e.callee.name;
    const fn = this.c.callable(this.src, name);
    if (fn !== null) {
      const args = this.order(e.args, this.c.fnParams(fn), 0, name, e.range);
      if (args) for (const a of args) this.expr(a!);
      this.emit(Op.CALL, fn, args?.length ?? 0);
      return;
    }
    const b = this.c.envOf().builtins.get(name);
    if (b) {
      if (!b.contexts.includes(this.src.context)) this.err(e.callee.range, `'${name}' cannot be used in ${contextName(this.src.context)}`);
      const args = this.order(e.args, b.params, b.optional ?? 0, name, e.range);
      let n = 0;
      if (args) {
        // Trailing optional arguments left out are not pushed; the builtin sees argc.
        while (args.length && args[args.length - 1] === undefined) args.pop();
        for (const a of args) {
          if (a === undefined) { this.err(e.range, `'${name}': an optional argument before a given one is missing`); return; }
          this.expr(a);
        }
        n = args.length;
      }
      this.emit(Op.BUILTIN, this.c.builtin(name), n);
      return;
    }
    this.err(e.callee.range, `unknown function '${name}'${didYouMean(name, this.c.callableNames(this.src))}`);
  }

  /** Puts positional and named arguments in parameter order; null after an error. */
  private order(args: Arg[], params: readonly string[], optional: number, callee: string, range: Range): Array<Expr | undefined> | null {
    const out: Array<Expr | undefined> = new Array(params.length).fill(undefined);
    let positional = 0;
    let named = false;
    for (const a of args) {
      if (a.name) {
        named = true;
        const i = params.indexOf(a.name.name);
        if (i < 0) { this.err(a.name.range, `'${callee}' has no parameter '${a.name.name}'${didYouMean(a.name.name, params)}`); return null; }
        if (out[i] !== undefined) { this.err(a.name.range, `argument '${a.name.name}' is given twice`); return null; }
        out[i] = a.value;
      } else {
        if (named) { this.err(a.range, 'a positional argument cannot follow a named one'); return null; }
        if (positional >= params.length) {
          this.err(a.range, `'${callee}' takes ${params.length === 0 ? 'no arguments' : `at most ${params.length} argument${params.length === 1 ? '' : 's'} (${params.join(', ')})`}`);
          return null;
        }
        out[positional++] = a.value;
      }
    }
    const required = params.length - optional;
    const missing = params.slice(0, required).filter((_, i) => out[i] === undefined);
    if (missing.length) { this.err(range, `'${callee}' is missing argument${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')}`); return null; }
    return out;
  }
}

function contextName(c: Context): string {
  return c === 'guest' ? 'guest code' : c === 'user' ? 'host user code' : 'host kernel code';
}
