// Side-effect-free evaluation of the language's expressions against a stopped machine: what the
// debugger's breakpoint conditions, log messages, watches, hovers and Debug Console use (DESIGN §7:
// "evaluate expressions of the language in the selected frame, no side effects"). It reads locals,
// the CPU's XCR0 and MSRs by name, kernel objects through their fields, and every constant; it
// never calls a builtin, because a builtin is an instruction or a kernel primitive that changes the
// machine. No JavaScript eval: the expression is the language's own syntax tree.
import type { Expr } from '../lang/ast';
import type { Program } from '../lang/code';
import { binaryValue } from '../lang/compiler';
import { parseExpression } from '../lang/parser';
import type { Range } from '../lang/source';
import { didYouMean } from '../lang/suggest';
import { type CpuState, MSR_IA32_XFD, MSR_IA32_XFD_ERR, MSR_IA32_XSS } from '../model';
import { CONSTANTS } from './constants';
import { type KObject, SCHEMAS, fieldProblem } from './kernel-objects';
import type { MachineState, ThreadState } from './machine';
import { type Value, U64_MASK, isRef, truthy } from './value';

/** An error in a debugger expression, with its range inside the expression text. */
export class ExpressionError extends Error {
  constructor(message: string, readonly range: Range | null = null) {
    super(message);
  }
}

/** The CPU registers an expression can name, as the Variables view names them. */
export const REGISTER_NAMES = ['XCR0', 'IA32_XSS', 'IA32_XFD', 'IA32_XFD_ERR', 'XINUSE', 'XMODIFIED', 'CPL'] as const;
export type RegisterName = (typeof REGISTER_NAMES)[number];

export function registerValue(cpu: CpuState, name: RegisterName): bigint {
  switch (name) {
    case 'XCR0': return cpu.xcr0;
    case 'IA32_XSS': return cpu.xss;
    case 'IA32_XFD': return cpu.xfd;
    case 'IA32_XFD_ERR': return cpu.xfdErr;
    case 'XINUSE': return cpu.xinuse;
    case 'XMODIFIED': return cpu.xmodified;
    case 'CPL': return BigInt(cpu.cpl);
  }
}

/** The MSR index behind a register name, for the ones WRMSR writes. */
export const REGISTER_MSR: Partial<Record<RegisterName, number>> = {
  IA32_XSS: MSR_IA32_XSS, IA32_XFD: MSR_IA32_XFD, IA32_XFD_ERR: MSR_IA32_XFD_ERR,
};

const GLOBAL_NAMES = ['current', 'this_cpu', 'init_fpstate', 'fpu_kernel_cfg', 'fpu_user_cfg'];

/** Where names come from: the selected frame, its thread and CPU, and names bound by the caller. */
export interface ExprContext {
  readonly state: MachineState;
  readonly program: Program;
  readonly cpu: number;
  readonly thread: ThreadState | null;
  /** The frame's locals (names from the compiled function, values from the frame). */
  readonly locals: { readonly names: readonly string[]; readonly values: Value[] } | null;
  /** Whether the frame is guest code: the guest block's constants come first. */
  readonly guest: boolean;
  /** Extra names (an exception filter's `guest`, `reason`, ...), looked up first. */
  readonly bindings?: ReadonlyMap<string, Value>;
}

/** A place an expression names: what setExpression writes and a data breakpoint watches. */
export type Place =
  | { readonly kind: 'local'; readonly index: number; readonly name: string }
  | { readonly kind: 'register'; readonly cpu: number; readonly name: RegisterName }
  | { readonly kind: 'field'; readonly object: number; readonly type: string; readonly field: string };

/** Parses `text` as one expression; a syntax error is an ExpressionError with its range. */
export function parseDebugExpression(text: string): Expr {
  const { expr, diagnostics } = parseExpression('<expression>', text);
  if (!expr) {
    const d = diagnostics[0];
    throw new ExpressionError(d ? `${d.message} (column ${d.range.start.column})` : 'not an expression', d?.range ?? null);
  }
  return expr;
}

export function evaluate(e: Expr, ctx: ExprContext): Value {
  switch (e.kind) {
    case 'number': return e.value & U64_MASK;
    case 'bool': return e.value ? 1n : 0n;
    case 'string': throw new ExpressionError('a string is not a value here', e.range);
    case 'name': return lookup(e.name, e.range, ctx);
    case 'unary': {
      const v = evaluate(e.operand, ctx);
      if (e.op === '!') return truthy(v) ? 0n : 1n;
      const n = integer(v, e.op, e.range);
      return e.op === '-' ? (-n) & U64_MASK : ~n & U64_MASK;
    }
    case 'binary': {
      if (e.op === '&&') return truthy(evaluate(e.left, ctx)) && truthy(evaluate(e.right, ctx)) ? 1n : 0n;
      if (e.op === '||') return truthy(evaluate(e.left, ctx)) || truthy(evaluate(e.right, ctx)) ? 1n : 0n;
      const a = evaluate(e.left, ctx);
      const b = evaluate(e.right, ctx);
      if ((e.op === '==' || e.op === '!=') && (isRef(a) || isRef(b))) {
        const same = isRef(a) && isRef(b) ? a.ref === b.ref : false;
        return (e.op === '==') === same ? 1n : 0n;
      }
      const r = binaryValue(e.op, integer(a, e.op, e.left.range), integer(b, e.op, e.right.range));
      if (r === null) throw new ExpressionError('division by zero', e.right.range);
      return r;
    }
    case 'conditional': return truthy(evaluate(e.test, ctx)) ? evaluate(e.then, ctx) : evaluate(e.otherwise, ctx);
    case 'call':
      throw new ExpressionError(
        `'${e.callee.name}(...)' is not evaluated: a call runs instructions or kernel code and would change the machine`, e.range);
    case 'field': {
      const o = object(evaluate(e.object, ctx), e.field.name, e.object.range, ctx.state);
      const v = Object.hasOwn(o.fields, e.field.name) ? o.fields[e.field.name] : undefined;
      if (v === undefined) throw new ExpressionError(fieldProblem(o.type, e.field.name, null) ?? `no field '${e.field.name}'`, e.field.range);
      return v;
    }
    case 'index': throw new ExpressionError('indexing is not supported on this value', e.range);
  }
}

/** The place an expression names, or an error saying why it is not one. */
export function placeOf(e: Expr, ctx: ExprContext): Place {
  if (e.kind === 'name') {
    if (ctx.bindings?.has(e.name)) throw new ExpressionError(`'${e.name}' is not a variable`, e.range);
    const i = ctx.locals?.names.indexOf(e.name) ?? -1;
    if (i >= 0) return { kind: 'local', index: i, name: e.name };
    if ((REGISTER_NAMES as readonly string[]).includes(e.name)) return { kind: 'register', cpu: ctx.cpu, name: e.name as RegisterName };
    lookup(e.name, e.range, ctx); // for its error message
    throw new ExpressionError(`'${e.name}' is a constant, not a variable`, e.range);
  }
  if (e.kind === 'field') {
    const o = object(evaluate(e.object, ctx), e.field.name, e.object.range, ctx.state);
    if (!Object.hasOwn(o.fields, e.field.name)) throw new ExpressionError(fieldProblem(o.type, e.field.name, null) ?? `no field '${e.field.name}'`, e.field.range);
    return { kind: 'field', object: o.id, type: o.type, field: e.field.name };
  }
  throw new ExpressionError('not a variable, a register or a field', e.range);
}

/** The current value of a place (locals read from `ctx`). */
export function readPlace(p: Place, ctx: ExprContext): Value {
  switch (p.kind) {
    case 'local': return ctx.locals?.values[p.index] ?? 0n;
    case 'register': return registerValue(ctx.state.cpus[p.cpu]!, p.name);
    case 'field': return ctx.state.heap[p.object]!.fields[p.field] ?? 0n;
  }
}

/** Every name an expression can use in this context, for completion. */
export function namesInScope(ctx: ExprContext): string[] {
  const out = new Set<string>();
  for (const n of ctx.bindings?.keys() ?? []) out.add(n);
  for (const n of ctx.locals?.names ?? []) out.add(n);
  for (const n of REGISTER_NAMES) out.add(n);
  for (const n of GLOBAL_NAMES) out.add(n);
  for (const n of ctx.program.constants.guest.keys()) if (ctx.guest) out.add(n);
  for (const n of ctx.program.constants.kernel.keys()) out.add(n);
  for (const n of CONSTANTS.keys()) out.add(n);
  return [...out];
}

/** The field names of a kernel object type, for completion after `.` or `->`. */
export function fieldsOf(type: string): string[] {
  return Object.keys(Object.hasOwn(SCHEMAS, type) ? SCHEMAS[type]! : {});
}

function lookup(name: string, range: Range, ctx: ExprContext): Value {
  const b = ctx.bindings?.get(name);
  if (b !== undefined) return b;
  const i = ctx.locals?.names.indexOf(name) ?? -1;
  if (i >= 0) return ctx.locals!.values[i] ?? 0n;
  if ((REGISTER_NAMES as readonly string[]).includes(name)) return registerValue(ctx.state.cpus[ctx.cpu]!, name as RegisterName);
  switch (name) {
    case 'current':
      if (ctx.thread) return { ref: ctx.thread.task };
      break;
    case 'this_cpu': return { ref: ctx.state.percpu[ctx.cpu]! };
    default: {
      const g = Object.hasOwn(ctx.state.globals, name) ? ctx.state.globals[name] : undefined;
      if (g !== undefined) return { ref: g };
    }
  }
  const c = (ctx.guest ? ctx.program.constants.guest.get(name) : undefined) ?? ctx.program.constants.kernel.get(name) ?? CONSTANTS.get(name);
  if (c !== undefined) return c;
  throw new ExpressionError(`unknown name '${name}'${didYouMean(name, namesInScope(ctx))}`, range);
}

function integer(v: Value, op: string, range: Range): bigint {
  if (typeof v === 'bigint') return v;
  throw new ExpressionError(`'${op}' needs an integer, not an object reference`, range);
}

function object(v: Value, field: string, range: Range, state: MachineState): KObject {
  if (typeof v === 'bigint') {
    throw new ExpressionError(v === 0n ? `NULL dereference reading '${field}'` : `'${field}' of an integer (0x${v.toString(16)}), not an object`, range);
  }
  const o = state.heap[v.ref];
  if (!o) throw new ExpressionError(`no object ${v.ref}`, range);
  return o;
}
