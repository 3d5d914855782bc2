// The simulation engine: runs a compiled Program on the hardware model one statement at a time.
// A step executes the ops of one statement of the running thread (calls stop at the callee's first
// statement, so a step never hides a statement). This file is the machine's face to the debugger,
// the CLI and the explorer: the Engine owns the state (plain data, `state`) and the program, and
// each step hands a StepContext to the parts that run inside it:
//   boot.ts             the machine before its first step
//   scheduler.ts        which CPU and thread run, context switches, thread ends
//   events.ts           the scenario's asynchronous events
//   interpreter.ts      the ops of a statement, builtins
//   exceptions.ts       outcomes, fault delivery to `exc_*` handlers, interrupt gates
//   vmx-transitions.ts  VM entry and exit, the guest's pending instruction
//   register-writes.ts  XCR0/XSS/XFD/XFD_ERR changes traced and reported
//   invariant-checks.ts the invariants, with setup steps from provenance.ts
import { type CompiledFn, type Program, Op } from '../lang/code';
import { ScenarioError } from './builtins';
import { bootMachine } from './boot';
import { deliverPending } from './exceptions';
import type { Footprint } from './footprint';
import type { Happening } from './happening';
import { exec } from './interpreter';
import { checkInvariants } from './invariant-checks';
import type { Frame, MachineState, ThreadState } from './machine';
import { ProgramIndex } from './program-index';
import { dispatch, nextCpu } from './scheduler';
import type { StepContext } from './step-context';
import { trace } from './step-context';

export type { Happening } from './happening';
export { HANDLERS } from './exceptions';

export interface EngineOptions {
  /** CPU model; default the program's `cpu` line, else sapphire-rapids. */
  cpu?: string;
  /** Physical CPUs (default: enough for every `on cpuN` of the events, at least 1). */
  cpus?: number;
  /** Deepest frame stack before a scenario error (default 256). */
  maxFrames?: number;
}

/**
 * What an allocation costs against a step budget besides its statement: one step per 64 KiB of
 * machine memory (`nextAddr` only grows by allocations), so the budget bounds time, not statements.
 */
export function allocationSteps(before: bigint, after: bigint): number {
  return after > before ? Number((after - before) >> 16n) : 0;
}

/** Kernel objects a scenario may allocate (README "Limits"). */
export const MAX_OBJECTS = 100_000;

export class Engine {
  state: MachineState;
  private readonly code: ProgramIndex;
  /** What each step hands the parts that run inside it (set up anew by every step). */
  private readonly x: StepContext;
  /** The CPU the last step ran on. */
  private c = 0;
  /** The event the explorer fires at the next statement boundary (see inject); -1 for none. Not part of the state. */
  private injected = -1;
  /**
   * How many builtins have run: only they change byte arrays (registers, memory), so the explorer
   * rehashes those only when this moved. Not part of the state.
   */
  builtinRuns = 0;
  /**
   * Where the explorer wants the next steps' footprints recorded (footprint.ts; it clears it
   * between steps); null, the default, records nothing. Not part of the state.
   */
  footprint: Footprint | null = null;

  constructor(readonly program: Program, opts: EngineOptions = {}) {
    this.code = new ProgramIndex(program, opts.maxFrames ?? 256);
    this.state = bootMachine(this.code, opts);
    this.x = { state: this.state, code: this.code, cpu: this.state.cpus[0]!, c: 0, out: [], injected: -1, builtinRuns: 0, fp: null };
  }

  // ---- queries ------------------------------------------------------------------------------

  /** The CPU the last step ran on. */
  currentCpu(): number {
    return this.c;
  }

  /** The thread that ran the last step (or, before the first, the one that will run first). */
  currentThread(): ThreadState | null {
    const s = this.state;
    if (s.lastThread >= 0) return s.threads[s.lastThread]!;
    const id = s.running[0]! >= 0 ? s.running[0]! : s.runQueues[0]![0];
    return id === undefined ? null : s.threads[id]!;
  }

  /** The thread running on `cpu`, or the next one queued there. */
  threadOn(cpu: number): ThreadState | null {
    const s = this.state;
    const id = s.running[cpu]! >= 0 ? s.running[cpu]! : s.runQueues[cpu]![0];
    return id === undefined ? null : s.threads[id]!;
  }

  fn(frame: Frame): CompiledFn | null {
    return this.code.fn(frame);
  }

  /**
   * The statement a frame is at: the next one to run when the frame stands between statements
   * (the top frame after a step), else the one in progress (a caller, or an instruction waiting to
   * restart after its handler). -1 for the label frame.
   */
  stmtOf(frame: Frame): number {
    return this.code.stmtOf(frame);
  }

  /** `file:line:col: ` of the thread's current statement. */
  where(th: ThreadState): string {
    return this.code.where(th);
  }

  /**
   * Where the next step will stand when it checks the events, without running it: the CPU, thread
   * and statement whose `at` point the step reaches; null when the step resumes a statement in
   * progress (after a VM exit or a handler), ends a thread, or the machine has halted. Mirrors the
   * start of step() and exec(): this is a choice point of the explorer.
   */
  nextPoint(): { cpu: number; thread: number; fn: number; stmt: number } | null {
    const s = this.state;
    if (s.halted) return null;
    const c = nextCpu(s);
    if (c < 0) return null;
    const id = s.running[c]! >= 0 ? s.running[c]! : s.runQueues[c]![0]!;
    const th = s.threads[id]!;
    const top = th.frames[th.frames.length - 1];
    if (!top || top.kind === 'vmentry') return null;
    // A queued thread coming back to user code goes through exit_to_user_mode() first (toUser).
    const hook = this.code.kernelFns.get('exit_to_user_mode');
    if (s.running[c]! < 0 && hook !== undefined && top.cpl === 3) return { cpu: c, thread: id, fn: hook, stmt: 0 };
    const ins = this.program.functions[top.fn]!.code[top.pc]!;
    return ins.op === Op.STMT ? { cpu: c, thread: id, fn: top.fn, stmt: ins.a } : null;
  }

  /** Fires program event `i` at the next statement boundary (the explorer's placement; see nextPoint). */
  inject(i: number): void {
    if (i < 0 || i >= this.program.events.length) throw new Error(`inject: no event ${i}`);
    this.injected = i;
  }

  /** Whether an injected event is still waiting for its statement boundary. */
  injectionPending(): boolean {
    return this.injected >= 0;
  }

  // ---- stepping -----------------------------------------------------------------------------

  /** One statement of the running thread. Returns what happened; an empty list is a plain step. */
  step(): Happening[] {
    const s = this.state;
    const out: Happening[] = [];
    if (s.halted) { out.push({ kind: 'end', text: s.halted }); return out; }
    // CPUs take turns, one statement each, in a fixed order: the interleaving is deterministic.
    const c = nextCpu(s);
    if (c < 0) {
      s.halted = 'every thread has finished';
      out.push({ kind: 'end', text: s.halted });
      return out;
    }
    this.c = c;
    s.nextCpu = (c + 1) % s.cpus.length;
    const x = this.x;
    x.state = s; x.cpu = s.cpus[c]!; x.c = c; x.out = out; x.injected = this.injected; x.builtinRuns = 0; x.fp = this.footprint;
    const th = dispatch(x);
    s.steps++;
    s.lastThread = th.id;
    // The CPU runs at the privilege of the code it executes (a thread just scheduled may be user code).
    const top = th.frames[th.frames.length - 1];
    if (top && top.kind !== 'vmentry') x.cpu.cpl = top.cpl;
    if (top?.kind === 'hook' && top.pc === 0 && top.irqOffBefore !== undefined) s.irqOff[c] = true;
    try {
      if (th.pendingFault) deliverPending(x, th);
      else exec(x, th);
      // Kernel objects are bounded as memory is (builtins.ts, allocate): each step costs bounded time.
      if (s.heap.length > MAX_OBJECTS) throw new ScenarioError(`out of kernel objects: a scenario may allocate ${MAX_OBJECTS}`);
      checkInvariants(x, th);
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      s.halted = `scenario error: ${e.message}`;
      // `file:line:col: error: message`, as every other error.
      out.push({ kind: 'error', text: `${this.where(th)}error: ${e.message}` });
      trace(x, 'error', `${this.where(th)}error: ${e.message}`);
    } finally {
      this.injected = x.injected;
      this.builtinRuns += x.builtinRuns;
    }
    return out;
  }

  // ---- run modes ------------------------------------------------------------------------------

  /** Runs until `stop` says so, the machine halts, or `budget` steps pass. */
  run(stop: (h: Happening[]) => boolean, budget: number): { steps: number; happenings: Happening[]; reason: 'stop' | 'end' | 'budget' } {
    for (let n = 1; n <= budget; n++) {
      const before = this.state.nextAddr;
      const h = this.step();
      n += allocationSteps(before, this.state.nextAddr);
      if (this.state.halted && h.length === 0) return { steps: n, happenings: h, reason: 'end' };
      if (h.some((x) => x.kind === 'end' || x.kind === 'error' || x.kind === 'oops')) return { steps: n, happenings: h, reason: 'end' };
      if (stop(h)) return { steps: n, happenings: h, reason: 'stop' };
    }
    return { steps: budget, happenings: [], reason: 'budget' };
  }

  snapshot(): MachineState {
    return structuredClone(this.state);
  }

  restore(s: MachineState): void {
    this.state = structuredClone(s);
  }
}
