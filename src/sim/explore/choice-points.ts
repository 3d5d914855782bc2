// Where the explorer may place an event, and which events fit there. A choice point is a state whose
// next step reaches a statement boundary (Engine.nextPoint): an event placed there is exactly an
// `at FN + STMT hit N` of the language. The events it offers are those that happen at once there
// (an event the machine would hold back until interrupts or preemption are enabled is the same run
// as the one placed at the enable), within the remaining budget:
//   external_interrupt  while a guest runs (a VM exit); in the host only if it has common_interrupt()
//   preempt, run P.T    in host code with interrupts and preemption enabled, not during boot
//   fpu_irq             in host code with interrupts enabled, if the kernel has handle_fpu_irq()
// Statements that only compute with locals commute with every event (no other code can see a
// frame's locals), so on one CPU an event before one is the same run as the event after it: such
// points are skipped. So are statements that also return from an ordinary call (the frame popped is
// seen by no other code either), but not a system call's entry or a return that changes privilege,
// ends a thread or restores the interrupt flag (localStatements).
import { type CompiledEvent, type CompiledFn, type Instr, type Program, Op } from '../../lang/code';
import { MEMORY_BUILTIN_NAMES } from '../builtins-memory';
import { plainReturn } from '../interpreter';
import type { MachineState } from '../machine';
import type { Bounds, PlacedKind } from './options';

/** An event the explorer can fire: its index in the search program's events. */
export interface Choice {
  kind: PlacedKind;
  target: string | null;
  event: number;
}

/** Remaining budget, packed in one small integer (part of the state identity). */
export interface Budget {
  interrupts: number;
  preemptions: number;
  fpuIrqs: number;
}

export function packBudget(b: Budget): number {
  return b.interrupts | (b.preemptions << 8) | (b.fpuIrqs << 16);
}

/** Whether budget `a` allows everything `b` allows. */
export function covers(a: number, b: number): boolean {
  return (a & 0xff) >= (b & 0xff) && ((a >> 8) & 0xff) >= ((b >> 8) & 0xff) && ((a >> 16) & 0xff) >= ((b >> 16) & 0xff);
}

/**
 * The explorer's events, placed first in the search program (so they come first in the written
 * events block too): `bounds.interrupts` external interrupts, `bounds.preemptions` preemptions,
 * `bounds.fpuIrqs` FPU interrupts, and one `run` per held-back thread. None has a point: they fire
 * only when injected.
 */
export function eventPool(bounds: Bounds, runTargets: string[], file: string): CompiledEvent[] {
  const zero = { start: { offset: 0, line: 1, column: 1 }, end: { offset: 0, line: 1, column: 1 } };
  const ev = (kind: PlacedKind, target: string | null): CompiledEvent => ({
    kind, vector: 32, target: target ? { process: target.split('.')[0]!, thread: target.split('.')[1]! } : null,
    at: null, afterPrevious: false, cpu: 0, cpuExplicit: false, hit: 1, range: zero, file,
  });
  return [
    ...Array.from({ length: bounds.interrupts }, () => ev('external_interrupt', null)),
    ...Array.from({ length: bounds.preemptions }, () => ev('preempt', null)),
    ...Array.from({ length: bounds.fpuIrqs }, () => ev('fpu_irq', null)),
    ...runTargets.map((t) => ev('run', t)),
  ];
}

/**
 * How a statement touches what other code can see: `NONLOCAL`; `LOCAL` (only the frame's locals and
 * operand stack, or a call into code of the same privilege); `LOCAL_IF_PLAIN_RETURN` (local, and its
 * return, explicit or implicit, is local when it returns from an ordinary call to a caller of the
 * same privilege: not from a handler, a hook, a context switch or a thread's outermost frame, which
 * end a thread, restore the interrupt flag or go back to user mode; see plainReturn).
 */
export const NONLOCAL = 0;
export const LOCAL = 1;
export const LOCAL_IF_PLAIN_RETURN = 2;
export type Locality = typeof NONLOCAL | typeof LOCAL | typeof LOCAL_IF_PLAIN_RETURN;

/** Operations that only move values between a frame's locals and its operand stack, or jump. */
const PURE_OPS = new Set<number>([Op.PUSH, Op.LOAD, Op.STORE, Op.DUP, Op.POP, Op.UNARY, Op.BINARY, Op.TO_BOOL, Op.JUMP, Op.JUMP_IF_FALSE]);

/**
 * Per function, per statement, `classify` of the statement's operations (up to the next statement;
 * `end` when it is the function's last, which runs the implicit return).
 */
function perStatement<T>(program: Program, empty: T, classify: (f: CompiledFn, ops: Instr[], end: boolean) => T): T[][] {
  return program.functions.map((f) => {
    const out: T[] = new Array(f.stmts.length).fill(empty);
    for (let pc = 0; pc < f.code.length; pc++) {
      if (f.code[pc]!.op !== Op.STMT) continue;
      let k = pc + 1;
      while (k < f.code.length && f.code[k]!.op !== Op.STMT) k++;
      out[f.code[pc]!.a] = classify(f, f.code.slice(pc + 1, k), k >= f.code.length);
    }
    return out;
  });
}

/** Per function, per statement: its Locality (see above). */
export function localStatements(program: Program): Locality[][] {
  return perStatement<Locality>(program, NONLOCAL, (f, ops, end) => {
    let returns = end;
    for (const ins of ops) {
      if (PURE_OPS.has(ins.op)) continue;
      // A call from user code into the kernel is a system call: the privilege changes, and an
      // event before it returns through exit_to_user_mode() while one after it does not.
      if (ins.op === Op.CALL && !(f.context === 'user' && program.functions[ins.a]!.context === 'kernel')) continue;
      if (ins.op === Op.RETURN) { returns = true; continue; }
      return NONLOCAL;
    }
    return returns ? LOCAL_IF_PLAIN_RETURN : LOCAL;
  });
}

/**
 * Per function, per statement: whether it can be a step that commutes with an event's handler (the
 * sleep sets, search.ts, decide from what it touched): kernel code whose operations are the pure
 * ones, globals, field reads, calls, returns, CPUID and the builtins that load, store, fill, copy
 * and compare memory.
 */
export function sleepCandidates(program: Program): boolean[][] {
  return perStatement(program, false, (f, ops) => f.context === 'kernel' && ops.every((ins) =>
    PURE_OPS.has(ins.op) || ins.op === Op.GLOBAL || ins.op === Op.FIELD || ins.op === Op.CALL || ins.op === Op.RETURN ||
    (ins.op === Op.BUILTIN && (MEMORY_BUILTIN_NAMES.has(program.builtins[ins.a]!) || program.builtins[ins.a] === 'cpuid'))));
}

/**
 * Whether every CPU but `cpu` has nothing to run (no thread on it, none queued): the machine then
 * runs one statement after another on `cpu` as one CPU does, until something gives another CPU
 * work. The sleep sets (search.ts) use it with a handler they have seen leave the others idle. The
 * local-statement rule above does not: an event placed there is not run first, and one that gave
 * another CPU work would interleave that CPU's statements with the line's one statement off.
 */
export function othersIdle(s: MachineState, cpu: number): boolean {
  for (let c = 0; c < s.cpus.length; c++) {
    if (c !== cpu && (s.running[c]! >= 0 || s.runQueues[c]!.length > 0)) return false;
  }
  return true;
}


export interface ChoiceTable {
  /** First pool index of each kind, and how many. */
  interrupts: number[];
  preemptions: number[];
  fpuIrqs: number[];
  runs: Array<{ target: string; event: number }>;
  hasCommonInterrupt: boolean;
  hasFpuIrq: boolean;
  local: Locality[][];
  oneCpu: boolean;
}

export function choiceTable(program: Program, pool: CompiledEvent[], cpus: number): ChoiceTable {
  const idx = (k: PlacedKind) => pool.flatMap((e, i) => (e.kind === k && k !== 'run' ? [i] : []));
  const kernel = (n: string) => program.functions.some((f) => f.context === 'kernel' && f.shortName === n);
  return {
    interrupts: idx('external_interrupt'),
    preemptions: idx('preempt'),
    fpuIrqs: idx('fpu_irq'),
    runs: pool.flatMap((e, i) => (e.kind === 'run' ? [{ target: `${e.target!.process}.${e.target!.thread}`, event: i }] : [])),
    hasCommonInterrupt: kernel('common_interrupt'),
    hasFpuIrq: kernel('handle_fpu_irq'),
    local: localStatements(program),
    oneCpu: cpus === 1,
  };
}

export interface Refused {
  interrupts: boolean;
  preemptions: boolean;
  fpuIrqs: boolean;
}

/**
 * The events that fit at the choice point (cpu, thread, fn, stmt) with `used` events of each kind
 * already placed. `refused` learns which kinds fitted but had no budget left (a bound was hit).
 */
export function choicesAt(
  s: MachineState, p: { cpu: number; thread: number; fn: number; stmt: number }, t: ChoiceTable, used: Budget, refused: Refused,
): Choice[] {
  const out: Choice[] = [];
  const th = s.threads[p.thread]!;
  if (t.oneCpu) {
    const l = t.local[p.fn]![p.stmt]!;
    if (l === LOCAL || (l === LOCAL_IF_PLAIN_RETURN && plainReturn(th, th.frames[th.frames.length - 1]!))) return out;
  }
  const guest = s.cpus[p.cpu]!.vmx.mode === 'non-root';
  const irqOn = !s.irqOff[p.cpu];
  const booting = th.name.startsWith('kernel.');
  const top = th.frames[th.frames.length - 1];
  if (guest || (t.hasCommonInterrupt && irqOn && !booting)) {
    if (used.interrupts < t.interrupts.length) out.push({ kind: 'external_interrupt', target: null, event: t.interrupts[used.interrupts]! });
    else refused.interrupts = true;
  }
  // switch_fpu() of a thread being switched out cannot be switched out again.
  const switchable = !guest && irqOn && s.preemptCount[p.cpu] === 0 && !booting && top?.kind !== 'switch';
  if (switchable) {
    const left = used.preemptions < t.preemptions.length;
    if (left) out.push({ kind: 'preempt', target: null, event: t.preemptions[used.preemptions]! });
    for (const r of t.runs) {
      if (s.events[r.event]!.fired) continue;
      out.push({ kind: 'run', target: r.target, event: r.event });
    }
    if (!left && t.preemptions.length + t.runs.length > 0) refused.preemptions = true;
  }
  if (!guest && irqOn && !booting && t.hasFpuIrq) {
    if (used.fpuIrqs < t.fpuIrqs.length) out.push({ kind: 'fpu_irq', target: null, event: t.fpuIrqs[used.fpuIrqs]! });
    else refused.fpuIrqs = true;
  }
  return out;
}
