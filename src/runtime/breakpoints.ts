// Every kind of breakpoint and the one decision made after each step: stop, log, or go on.
// - Source lines in scenarios and policies, with `condition`, `hitCondition` and `logMessage` in
//   the language's expression syntax (a log message's `{expr}` holes too).
// - Function breakpoints by name (`kvm_run`, `exc_device_not_available`, `guest:main`), hit when the
//   function is entered: a call, a handler's delivery, a hook, a guest's first entry.
// - Exception filters: #NM (condition over `guest`, `host`, `xfd`), #GP, #UD, VM exit (condition
//   over `reason`), XFD_ERR set, assertion failed, invariant violated.
// - Data breakpoints on a register or an MSR of a CPU, a kernel object's field, or bytes of an XSAVE
//   buffer or a register image: they stop when a step changes the value.
// Hit counts are per-timeline bookkeeping: they travel with time-travel checkpoints (aux).
import type { Expr } from '../lang/ast';
import { Op } from '../lang/code';
import { type Fault, MSR_IA32_XFD_ERR, bitsOf, exitReasonName, formatMask, xfeatureName } from '../model';
import type { Engine, Happening } from '../sim/engine';
import { type ExprContext, ExpressionError, evaluate, parseDebugExpression } from '../sim/expression';
import { INVARIANTS } from '../sim/invariants';
import { type StoppedExit, exitFields, exitOperands, exitSummary } from './vm-exit';
import type { ThreadState } from '../sim/machine';
import { type Value, showValue, truthy } from '../sim/value';

/** Why the machine stopped, with the details an exception stop reports (DAP's exceptionInfo). */
export interface StopDecision {
  readonly reason: 'breakpoint' | 'function breakpoint' | 'data breakpoint' | 'exception';
  readonly text?: string;
  readonly description?: string;
  readonly hitBreakpointIds?: number[];
  readonly exception?: ExceptionDetails;
  /** A VM-exit stop: the exit, for the "VM exit" scope. */
  readonly vmexit?: StoppedExit;
  /**
   * The statement that caused the stop, when the machine has already moved past it (a failed
   * assertion, a broken invariant: the step completed): the top frame is shown there.
   */
  readonly at?: StatementAt;
}

export interface StatementAt {
  readonly thread: number;
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** `file:line:col` (a violation's `where`) as a place, or null. */
export function parseWhere(where: string, thread: number): StatementAt | null {
  const m = /^(.*):(\d+):(\d+)$/.exec(where);
  return m ? { thread, file: m[1]!, line: Number(m[2]), column: Number(m[3]) } : null;
}

export interface ExceptionDetails {
  readonly exceptionId: string;
  readonly description: string;
  readonly details: string;
}

/** `>= 3`, `== 2`, `% 4`, or a bare `N` (exactly the Nth hit). */
type HitCondition = { op: '==' | '>=' | '>' | '<' | '<=' | '%'; n: number };

interface Conditional {
  id: number;
  condition: Expr | null;
  hitCondition: HitCondition | null;
}

interface LineBreakpoint extends Conditional {
  file: string;
  line: number;
  log: Array<string | Expr> | null;
}

interface FunctionBreakpoint extends Conditional {
  name: string;
}

/** The breakpoints' bookkeeping a time-travel checkpoint keeps: hit counts by breakpoint id, last values by data id. */
export interface BreakpointAux {
  readonly hits: ReadonlyMap<number, number>;
  readonly last: ReadonlyMap<string, string | null>;
}

export interface DataBreakpoint extends Conditional {
  dataId: string;
  /** Reads the watched value now; null when it does not exist (yet). */
  read: () => string | null;
  last: string | null;
}

interface Filter {
  id: string;
  condition: Expr | null;
}

/**
 * The breakpoints a client asks for and what became of them. The shapes are those of the Debug
 * Adapter Protocol's SourceBreakpoint, FunctionBreakpoint, DataBreakpoint, ExceptionFilterOptions,
 * ExceptionBreakpointsFilter and Breakpoint, so a DAP session passes them through, but nothing here
 * depends on the protocol.
 */
export interface LineBreakpointRequest {
  readonly line: number;
  readonly condition?: string;
  readonly hitCondition?: string;
  readonly logMessage?: string;
}

export interface FunctionBreakpointRequest {
  readonly name: string;
  readonly condition?: string;
  readonly hitCondition?: string;
}

export interface DataBreakpointRequest {
  readonly dataId: string;
  readonly condition?: string;
  readonly hitCondition?: string;
}

export interface ExceptionFilterRequest {
  readonly filterId: string;
  readonly condition?: string;
}

/** An exception filter the debugger offers (the initialize response lists them). */
export interface ExceptionFilter {
  readonly filter: string;
  readonly label: string;
  readonly description?: string;
  readonly default?: boolean;
  readonly supportsCondition?: boolean;
  readonly conditionDescription?: string;
}

/** What became of a requested breakpoint: verified, or why not. */
export interface BreakpointState {
  id?: number;
  verified: boolean;
  line?: number;
  message?: string;
  description?: string;
}

export const EXCEPTION_FILTERS: readonly ExceptionFilter[] = [
  { filter: 'nm', label: '#NM', description: 'Device-not-available: XFD or CR0.TS (guest or host)', supportsCondition: true, conditionDescription: 'e.g. guest, host, xfd (an XFD #NM), xfd_err & XFEATURE_MASK_XTILEDATA' },
  { filter: 'gp', label: '#GP', description: 'General protection fault', supportsCondition: true, conditionDescription: 'e.g. guest, host' },
  { filter: 'ud', label: '#UD', description: 'Invalid opcode', supportsCondition: true, conditionDescription: 'e.g. guest, host' },
  { filter: 'vmexit', label: 'VM exit', description: 'Every VM exit; the condition can name the exit reason', supportsCondition: true, conditionDescription: 'e.g. reason == EXIT_REASON_EXTERNAL_INTERRUPT' },
  { filter: 'xfd-err', label: 'XFD_ERR set', description: 'IA32_XFD_ERR gains a bit (an XFD #NM, or a WRMSR)', supportsCondition: true, conditionDescription: 'e.g. guest, value == XFEATURE_MASK_XTILEDATA' },
  { filter: 'assertion', label: 'assertion failed', default: true },
  { filter: 'invariant', label: 'invariant violated', description: 'The guest or a host task could tell it is not on bare metal (DESIGN §6)', default: true },
];

/** The bindings an exception filter's condition sees. */
function bool(b: boolean): bigint {
  return b ? 1n : 0n;
}

export function parseHitCondition(text: string): HitCondition {
  const m = /^\s*(==|>=|<=|>|<|%|=)?\s*(\d+)\s*$/.exec(text);
  if (!m) throw new ExpressionError(`hit condition '${text}': expected N, == N, >= N, > N, < N, <= N or % N`);
  const op = (m[1] === '=' || !m[1] ? '==' : m[1]) as HitCondition['op'];
  const n = Number(m[2]);
  if (op === '%' && n === 0) throw new ExpressionError("hit condition '% 0' never holds");
  return { op, n };
}

function hitHolds(h: HitCondition, count: number): boolean {
  switch (h.op) {
    case '==': return count === h.n;
    case '>=': return count >= h.n;
    case '>': return count > h.n;
    case '<': return count < h.n;
    case '<=': return count <= h.n;
    case '%': return count % h.n === 0;
  }
}

/** Splits `text {expr} text` into literal parts and parsed expressions. */
export function parseLogMessage(text: string): Array<string | Expr> {
  const parts: Array<string | Expr> = [];
  let at = 0;
  for (;;) {
    const open = text.indexOf('{', at);
    if (open < 0) { parts.push(text.slice(at)); return parts; }
    const close = text.indexOf('}', open);
    if (close < 0) throw new ExpressionError(`log message: '{' at column ${open + 1} has no '}'`);
    parts.push(text.slice(at, open));
    parts.push(parseDebugExpression(text.slice(open + 1, close)));
    at = close + 1;
  }
}

export class Breakpoints {
  private nextId = 1;
  private lines = new Map<string, LineBreakpoint[]>();
  private functions: FunctionBreakpoint[] = [];
  private filters: Filter[] = EXCEPTION_FILTERS.filter((f) => f.default).map((f) => ({ id: f.filter, condition: null }));
  private data: DataBreakpoint[] = [];
  /** Hits per breakpoint id (conditions held), on the current timeline. */
  private hits = new Map<number, number>();
  private ids = new Map<string, number>();

  /** A stable id for a breakpoint at a key (so an edited set keeps its ids). */
  private idFor(key: string): number {
    let id = this.ids.get(key);
    if (id === undefined) { id = this.nextId++; this.ids.set(key, id); }
    return id;
  }

  // ---- setting ------------------------------------------------------------------------------------

  setLines(file: string, bps: readonly LineBreakpointRequest[], statementLines: Set<number> | null): BreakpointState[] {
    const kept: LineBreakpoint[] = [];
    const out = bps.map((b): BreakpointState => {
      const id = this.idFor(`line:${file}:${b.line}`);
      const bp: BreakpointState = { id, verified: true, line: b.line };
      if (statementLines !== null && !statementLines.has(b.line)) {
        return { ...bp, verified: false, message: 'no statement starts on this line' };
      }
      try {
        const parsed = this.conditional(id, b.condition, b.hitCondition);
        kept.push({ ...parsed, file, line: b.line, log: b.logMessage ? parseLogMessage(b.logMessage) : null });
      } catch (e) {
        return { ...bp, verified: false, message: (e as Error).message };
      }
      return bp;
    });
    this.lines.set(file, kept);
    return out;
  }

  setFunctions(bps: readonly FunctionBreakpointRequest[], known: (name: string) => boolean): BreakpointState[] {
    this.functions = [];
    return bps.map((b): BreakpointState => {
      const id = this.idFor(`fn:${b.name}`);
      if (!known(b.name)) return { id, verified: false, message: `no function '${b.name}' in the scenario or its policy` };
      try {
        this.functions.push({ ...this.conditional(id, b.condition, b.hitCondition), name: b.name });
      } catch (e) {
        return { id, verified: false, message: (e as Error).message };
      }
      return { id, verified: true };
    });
  }

  /** `filters` on without a condition, `options` with one (DAP's filters and filterOptions). */
  setExceptions(filters: readonly string[], options: readonly ExceptionFilterRequest[] = []): BreakpointState[] {
    const wanted: ExceptionFilterRequest[] = [...filters.map((f) => ({ filterId: f })), ...options];
    this.filters = [];
    return wanted.map((w): BreakpointState => {
      if (!EXCEPTION_FILTERS.some((f) => f.filter === w.filterId)) {
        return { verified: false, message: `unknown exception filter '${w.filterId}' (known: ${EXCEPTION_FILTERS.map((f) => f.filter).join(', ')})` };
      }
      try {
        this.filters.push({ id: w.filterId, condition: w.condition ? parseDebugExpression(w.condition) : null });
      } catch (e) {
        return { verified: false, message: (e as Error).message };
      }
      return { verified: true };
    });
  }

  setData(bps: ReadonlyArray<DataBreakpointRequest & { read: (() => string | null) | null }>): BreakpointState[] {
    this.data = [];
    return bps.map((b): BreakpointState => {
      const id = this.idFor(`data:${b.dataId}`);
      if (!b.read) return { id, verified: false, message: `'${b.dataId}' names nothing this scenario has` };
      try {
        const c = this.conditional(id, b.condition, b.hitCondition);
        this.data.push({ ...c, dataId: b.dataId, read: b.read, last: b.read() });
      } catch (e) {
        return { id, verified: false, message: (e as Error).message };
      }
      return { id, verified: true, description: b.dataId };
    });
  }

  private conditional(id: number, condition: string | undefined, hitCondition: string | undefined): Conditional {
    return {
      id,
      condition: condition && condition.trim() ? parseDebugExpression(condition) : null,
      hitCondition: hitCondition && hitCondition.trim() ? parseHitCondition(hitCondition) : null,
    };
  }

  // ---- timeline bookkeeping ------------------------------------------------------------------------

  /** What a checkpoint keeps of the breakpoints at its position (History's aux). */
  saveAux(): BreakpointAux {
    return { hits: new Map(this.hits), last: new Map(this.data.map((d) => [d.dataId, d.last])) };
  }

  /**
   * Back to a checkpoint's bookkeeping: its hit counts, and each data breakpoint's last value as it
   * was there, so that the steps replayed from it decide as the run did. Reading the value now
   * instead would lose a change that a stop for another reason came first to (check() returns
   * before the data breakpoints), which the next step reports. A data breakpoint set since then
   * compares with the value now.
   */
  loadAux(a: BreakpointAux): void {
    this.hits = new Map(a.hits);
    for (const d of this.data) d.last = a.last.has(d.dataId) ? a.last.get(d.dataId)! : d.read();
  }

  /** Data breakpoints compare with the value now (after a restore, an edit, a launch). */
  resyncData(): void {
    for (const d of this.data) d.last = d.read();
  }

  // ---- the decision ---------------------------------------------------------------------------------

  /**
   * What the step that produced `happenings` asks for. `ctx` gives an expression context for a
   * thread's frame; `log` prints a logpoint's message.
   */
  check(
    e: Engine, happenings: Happening[],
    ctx: (th: ThreadState, frame: number, bindings?: ReadonlyMap<string, Value>) => ExprContext,
    log: (text: string, th: ThreadState) => void,
  ): StopDecision | null {
    const s = e.state;
    const th = s.lastThread >= 0 ? s.threads[s.lastThread]! : null;
    for (const h of happenings) {
      const d = this.filterStop(e, h, th, ctx);
      if (d) return d;
    }
    for (const d of this.data) {
      const now = d.read();
      if (now === d.last) continue;
      const before = d.last;
      d.last = now;
      let held: boolean;
      try {
        held = th !== null && this.holds(d, ctx(th, th.frames.length - 1));
      } catch (err) {
        return { reason: 'data breakpoint', hitBreakpointIds: [d.id], description: `condition failed: ${(err as Error).message}` };
      }
      if (!held) continue;
      return { reason: 'data breakpoint', hitBreakpointIds: [d.id], description: `${d.dataId} changed`, text: `${d.dataId}: ${before ?? '-'} -> ${now ?? '-'}` };
    }
    if (!th) return null;
    const top = th.frames[th.frames.length - 1];
    if (!top || top.fn < 0 || th.pendingFault) return null;
    const fn = e.fn(top)!;
    if (top.pc === 0 && top.stmt === -1 && this.functions.length) {
      for (const b of this.functions) {
        if (b.name !== fn.name && b.name !== fn.shortName) continue;
        let held: boolean;
        try {
          held = this.holds(b, ctx(th, th.frames.length - 1));
        } catch (err) {
          return { reason: 'function breakpoint', hitBreakpointIds: [b.id], description: `condition failed: ${(err as Error).message}` };
        }
        if (held) {
          return { reason: 'function breakpoint', hitBreakpointIds: [b.id], description: `entered ${fn.name}` };
        }
      }
    }
    const ins = fn.code[top.pc];
    if (!ins || ins.op !== Op.STMT) return null;
    const st = fn.stmts[ins.a]!;
    const here = this.lines.get(st.file);
    if (!here) return null;
    for (const b of here) {
      if (b.line !== st.range.start.line) continue;
      const c = ctx(th, th.frames.length - 1);
      let ok: boolean;
      try {
        ok = this.holds(b, c);
      } catch (err) {
        return { reason: 'breakpoint', hitBreakpointIds: [b.id], description: `condition failed: ${(err as Error).message}` };
      }
      if (!ok) continue;
      if (b.log) { log(this.message(b.log, c), th); continue; }
      return { reason: 'breakpoint', hitBreakpointIds: [b.id] };
    }
    return null;
  }

  /** Condition, then hit count (counted only when the condition holds, as VS Code documents it). */
  private holds(b: Conditional, c: ExprContext): boolean {
    if (b.condition && !truthy(evaluate(b.condition, c))) return false;
    const n = (this.hits.get(b.id) ?? 0) + 1;
    this.hits.set(b.id, n);
    return b.hitCondition ? hitHolds(b.hitCondition, n) : true;
  }

  private message(parts: Array<string | Expr>, c: ExprContext): string {
    return parts.map((p) => {
      if (typeof p === 'string') return p;
      try {
        return showValue(evaluate(p, c));
      } catch (e) {
        return `<${(e as Error).message}>`;
      }
    }).join('');
  }

  private filterStop(
    e: Engine, h: Happening, th: ThreadState | null,
    ctx: (th: ThreadState, frame: number, bindings?: ReadonlyMap<string, Value>) => ExprContext,
  ): StopDecision | null {
    const on = (id: string): Filter | undefined => this.filters.find((f) => f.id === id);
    const cond = (f: Filter, b: Array<[string, Value]>): boolean => {
      if (!f.condition || !th) return true;
      try {
        return truthy(evaluate(f.condition, ctx(th, th.frames.length - 1, new Map(b))));
      } catch {
        return true; // a condition that cannot be evaluated stops rather than hides the event
      }
    };
    switch (h.kind) {
      case 'exception': {
        const id = h.fault.mnemonic === '#NM' ? 'nm' : h.fault.mnemonic === '#GP' ? 'gp' : h.fault.mnemonic === '#UD' ? 'ud' : null;
        const f = id ? on(id) : undefined;
        if (!f) return null;
        const cpu = e.state.cpus[h.cpu]!;
        if (!cond(f, [['guest', bool(h.guest)], ['host', bool(!h.guest)], ['xfd', bool(h.fault.nmCause === 'xfd')],
          ['xfd_err', cpu.xfdErr], ['vector', BigInt(h.fault.vector)], ['cpu', BigInt(h.cpu)]])) return null;
        return { reason: 'exception', text: h.fault.reason, description: `${h.guest ? 'guest' : 'host'} ${h.fault.mnemonic}`, exception: faultDetails(h.fault, h.guest, h.cpu, cpu.xfd, cpu.xfdErr) };
      }
      case 'vmexit': {
        const f = on('vmexit');
        if (!f) return null;
        const operands: Array<[string, bigint]> = [
          ...(h.exit.msr !== undefined ? [['msr', BigInt(h.exit.msr)] as [string, bigint]] : []),
          ...(h.exit.xcr !== undefined ? [['xcr', BigInt(h.exit.xcr)] as [string, bigint]] : []),
          ...(h.exit.value !== undefined ? [['value', h.exit.value] as [string, bigint]] : []),
        ];
        if (!cond(f, [['reason', BigInt(h.exit.reason >>> 0)], ['qualification', h.exit.qualification], ['cpu', BigInt(h.cpu)], ...operands])) return null;
        const name = exitReasonName(h.exit.reason);
        const ops = exitOperands(h.exit);
        const vmexit = { cpu: h.cpu, thread: h.thread, exit: h.exit };
        return {
          reason: 'exception', text: `VM exit: ${name}${ops ? `: ${ops}` : ''}`, description: `VM exit ${name}${ops ? ` (${ops})` : ''}`,
          exception: {
            exceptionId: 'VM exit', description: exitSummary(h.exit),
            details: exitFields(vmexit).map((x) => `${x.name}: ${x.value}`).join('\n'),
          },
          vmexit,
        };
      }
      case 'msr-write': {
        if (h.msr !== MSR_IA32_XFD_ERR || (h.value & ~h.old) === 0n) return null;
        const f = on('xfd-err');
        if (!f || !cond(f, [['guest', bool(h.guest)], ['host', bool(!h.guest)], ['value', h.value], ['old', h.old], ['cpu', BigInt(h.cpu)]])) return null;
        return {
          reason: 'exception', text: `IA32_XFD_ERR set: ${formatMask(h.value)}`, description: 'XFD_ERR set',
          exception: {
            exceptionId: 'XFD_ERR set', description: `IA32_XFD_ERR ${formatMask(h.old)} -> ${formatMask(h.value)} (${h.guest ? 'guest' : 'host'}, cpu${h.cpu})`,
            details: `IA32_XFD_ERR: ${formatMask(h.old)} -> ${formatMask(h.value)}\nIA32_XFD: ${formatMask(e.state.cpus[h.cpu]!.xfd)}\nset by: ${h.guest ? 'the guest' : 'the host'}`,
          },
        };
      }
      case 'assertion': {
        if (!on('assertion')) return null;
        return {
          reason: 'exception', text: `assertion failed: ${h.message}`, description: 'assertion failed',
          exception: { exceptionId: 'assertion failed', description: h.message, details: `${h.file}:${h.line}:${h.column}: assertion failed: ${h.message}` },
          at: { thread: h.thread, file: h.file, line: h.line, column: h.column },
        };
      }
      case 'invariant': {
        if (h.violation.deviation || !on('invariant')) return null;
        const v = h.violation;
        const byName = e.state.threads.find((t) => t.name === v.thread);
        const at = byName ? parseWhere(v.where, byName.id) : null;
        return {
          ...(at ? { at } : {}),
          reason: 'exception', text: `invariant ${v.name}: ${v.text}`, description: 'invariant violated',
          exception: {
            exceptionId: v.name, description: v.text,
            details: `${INVARIANTS[v.name]}\n${v.where}: ${v.text}\nthread ${v.thread} on cpu${v.cpu}, step ${v.step}${v.setup.length ? `; set up at steps ${v.setup.join(', ')}` : ''}`,
          },
        };
      }
      default: return null;
    }
  }
}

/** exceptionInfo for a fault: the instruction, the component, XFD and XFD_ERR. */
export function faultDetails(f: Fault, guest: boolean, cpu: number, xfd: bigint, xfdErr: bigint): ExceptionDetails {
  const lines = [`instruction: ${f.instruction}`, `context: ${guest ? 'guest' : 'host'} on cpu${cpu}`];
  if (f.nmCause) lines.push(`cause: ${f.nmCause === 'xfd' ? 'XFD (IA32_XFD disables a component the instruction uses)' : 'CR0.TS'}`);
  if (f.xfd) {
    lines.push(`component: ${bitsOf(f.xfd.xfdErr).map((i) => `${xfeatureName(i)} (${i})`).join(', ')}`);
    lines.push(`IA32_XFD: ${formatMask(f.xfd.xfd)}`, `IA32_XFD_ERR: ${formatMask(f.xfd.xfdErr)}`);
  } else {
    lines.push(`IA32_XFD: ${formatMask(xfd)}`, `IA32_XFD_ERR: ${formatMask(xfdErr)}`);
  }
  if (f.address !== undefined) lines.push(`address: 0x${f.address.toString(16)}`);
  if (f.errorCode !== undefined) lines.push(`error code: ${f.errorCode}`);
  return { exceptionId: f.mnemonic, description: f.reason, details: lines.join('\n') };
}
