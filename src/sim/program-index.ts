// The compiled Program as the machine looks it up while it runs: the builtins bound by index, the
// kernel's and the guest's functions by name (the hooks the machine calls: start_kernel,
// exit_to_user_mode, switch_fpu, exc_* ...), new frames, and which statement a frame or a thread
// stands at. Built once per Engine; nothing in it changes while the machine runs.
import { type CompiledFn, type Program, Op } from '../lang/code';
import { BUILTINS, type BuiltinDef } from './builtins';
import type { Frame, FrameKind, ThreadState } from './machine';
import type { Value } from './value';

export class ProgramIndex {
  readonly builtins: readonly BuiltinDef[];
  /** Host kernel functions by their short name. */
  readonly kernelFns = new Map<string, number>();
  /** The guest block's functions by their short name. */
  readonly guestFns = new Map<string, number>();

  constructor(readonly program: Program, readonly maxFrames: number) {
    this.builtins = program.builtins.map((name) => {
      const b = BUILTINS[name];
      if (!b) throw new Error(`program uses builtin '${name}', which the engine does not have`);
      return b;
    });
    program.functions.forEach((f, i) => {
      if (f.context === 'kernel') this.kernelFns.set(f.shortName, i);
      else if (f.context === 'guest') this.guestFns.set(f.shortName, i);
    });
  }

  /** A new frame of function `fn` with its arguments in the first locals. */
  frame(fn: number, kind: FrameKind, cpl: number, args: Value[], vector = -1, vcpu = -1): Frame {
    const f = this.program.functions[fn]!;
    const locals: Value[] = new Array(f.locals.length).fill(0n);
    for (let i = 0; i < args.length && i < locals.length; i++) locals[i] = args[i]!;
    return { fn, pc: 0, stmt: -1, locals, stack: [], kind, cpl, vector, vcpu };
  }

  fn(frame: Frame): CompiledFn | null {
    return frame.fn >= 0 ? this.program.functions[frame.fn]! : null;
  }

  /**
   * The statement a frame is at: the next one to run when the frame stands between statements
   * (the top frame after a step), else the one in progress (a caller, or an instruction waiting to
   * restart after its handler). -1 for the label frame.
   */
  stmtOf(frame: Frame): number {
    const fn = this.fn(frame);
    if (!fn) return -1;
    const ins = fn.code[frame.pc];
    return ins && ins.op === Op.STMT ? ins.a : frame.stmt;
  }

  /** The innermost frame of `th` that stands at a statement (the `[VM entry]` label does not). */
  statementFrame(th: ThreadState): Frame | null {
    for (let i = th.frames.length - 1; i >= 0; i--) {
      const f = th.frames[i]!;
      if (f.fn >= 0 && this.stmtOf(f) >= 0) return f;
    }
    return null;
  }

  /** `file:line:col` of statement `stmt` of function `fn`; '' for none. */
  stmtWhere(fn: number, stmt: number): string {
    const st = fn >= 0 && stmt >= 0 ? this.program.functions[fn]!.stmts[stmt] : undefined;
    return st ? `${st.file}:${st.range.start.line}:${st.range.start.column}` : '';
  }

  /** `file:line:col: ` of the thread's current statement. */
  where(th: ThreadState): string {
    const f = this.statementFrame(th);
    return f ? `${this.stmtWhere(f.fn, this.stmtOf(f))}: ` : '';
  }
}

/** Completes the instruction or call at the top of `f`'s stack: its operands go, its value stays. */
export function complete(f: Frame, argc: number, v: Value): void {
  f.stack.length -= argc;
  f.stack.push(v);
  f.pc++;
}
