// The simulation engine: runs a compiled Program on the hardware model one statement at a time.
// A step executes the ops of one statement of the running thread (calls stop at the callee's first
// statement, so a step never hides a statement). Builtins run model instructions; a fault goes to
// the handler its context registered (guest or host `exc_*` function) and the instruction restarts
// when the handler returns; a VM exit moves the guest frames off the thread and completes the
// host's pending vmenter() with the exit reason. Everything it changes is in `state` (plain data).
import {
  type CpuState, type Fault, type Outcome, type VmExitInfo, ModelArgumentError, createCpu, createMemory, cpuModel,
  externalInterrupt, formatMask, hlt, msrName, MSR_IA32_XFD, MSR_IA32_XFD_ERR, MSR_IA32_XSS, vmEntry, vmptrld, vmxon,
} from '../model';
import { BINARY_CODES, type CompiledFn, type Program, Op, UNARY_CODES } from '../lang/code';
import { binaryValue } from '../lang/compiler';
import { BUILTINS, type BuiltinContext, type BuiltinDef, type BuiltinResult, SCRATCH_SIZE, SCRATCH_TILE_DATA, ScenarioError, allocate } from './builtins';
import { type KObject, SCHEMAS, fieldProblem, newObject } from './kernel-objects';
import type { Frame, FrameKind, GuestContext, MachineState, ThreadState } from './machine';
import { type Value, U64_MASK, isRef, showValue, truthy } from './value';
import {
  type InvariantName, type Violation, RETURNS_VALUE, createShadow, describeOutcome, guestStateDifference, userStateDifference,
} from './invariants';

/** Something the debugger or the CLI may stop on, produced by a step. */
export type Happening =
  | { kind: 'exception'; cpu: number; thread: number; guest: boolean; fault: Fault }
  | { kind: 'vmexit'; cpu: number; thread: number; exit: VmExitInfo }
  | { kind: 'vmentry'; cpu: number; thread: number; vcpu: number }
  | { kind: 'msr-write'; cpu: number; thread: number; guest: boolean; msr: number; name: string; old: bigint; value: bigint }
  | { kind: 'xcr0-write'; cpu: number; thread: number; guest: boolean; old: bigint; value: bigint }
  | { kind: 'assertion'; cpu: number; thread: number; message: string; file: string; line: number; column: number }
  | { kind: 'event'; cpu: number; thread: number; text: string }
  /** A function was entered: the step stopped at its first statement. */
  | { kind: 'call'; cpu: number; thread: number; fn: number; name: string }
  | { kind: 'thread-end'; cpu: number; thread: number; text: string }
  | { kind: 'end'; text: string }
  | { kind: 'error'; text: string }
  | { kind: 'oops'; text: string }
  | { kind: 'invariant'; violation: Violation };

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

/** Exception handlers by vector, named as Linux names them (arch/x86/kernel/traps.c, DEFINE_IDTENTRY). */
export const HANDLERS: Readonly<Record<number, string>> = {
  6: 'exc_invalid_op',
  7: 'exc_device_not_available',
  13: 'exc_general_protection',
  14: 'exc_page_fault',
};

const MAX_OPS_PER_STEP = 1_000_000;

export class Engine {
  state: MachineState;
  private readonly builtins: BuiltinDef[];
  private readonly kernelFns = new Map<string, number>();
  private readonly guestFns = new Map<string, number>();
  private readonly maxFrames: number;
  /** The CPU the current step runs on. */
  private c = 0;
  /**
   * An event (index into program.events) the explorer fires at the next statement boundary, as if
   * its `at` point were there and this its hit; -1 for none. Not part of the state: the explorer
   * sets it just before the step it belongs to.
   */
  private injected = -1;
  /**
   * How many builtins have run: only they change byte arrays (registers, memory), so the explorer
   * rehashes those only when this moved. Not part of the state.
   */
  builtinRuns = 0;

  constructor(readonly program: Program, opts: EngineOptions = {}) {
    this.maxFrames = opts.maxFrames ?? 256;
    this.builtins = program.builtins.map((name) => {
      const b = BUILTINS[name];
      if (!b) throw new Error(`program uses builtin '${name}', which the engine does not have`);
      return b;
    });
    program.functions.forEach((f, i) => {
      if (f.context === 'kernel') this.kernelFns.set(f.shortName, i);
      else if (f.context === 'guest') this.guestFns.set(f.shortName, i);
    });
    const modelName = opts.cpu ?? program.cpuModel ?? 'sapphire-rapids';
    const model = cpuModel(modelName);
    const n = Math.max(opts.cpus ?? program.cpus ?? 1, 1 + Math.max(0, ...program.events.map((e) => e.cpu)));
    if (n > 64) throw new ScenarioError(`${n} CPUs: the simulator runs at most 64`);
    const cpus = Array.from({ length: n }, () => createCpu(model.name));
    this.state = {
      steps: 0,
      cpus,
      mem: createMemory(),
      nextAddr: 0x100000n,
      heap: [],
      threads: [],
      running: cpus.map(() => -1),
      runQueues: cpus.map(() => []),
      nextCpu: 0,
      lastThread: -1,
      guests: [],
      vmcss: [],
      globals: {},
      percpu: [],
      irqOff: cpus.map(() => false),
      preemptCount: cpus.map(() => 0),
      deferred: cpus.map(() => []),
      trace: [],
      events: program.events.map(() => ({ fired: false, hits: 0 })),
      passedAssertions: 0,
      failedAssertions: [],
      violations: [],
      xfdErrGuestBits: cpus.map(() => 0n),
      xfdErrGuestStep: cpus.map(() => -1),
      halted: null,
    };
    this.createKernelObjects();
    for (const cpu of cpus) this.boot(cpu);
    this.createThreads();
  }

  // ---- set-up -----------------------------------------------------------------------------

  /** The per-CPU objects and the kernel's global FPU objects, zeroed: boot code fills them in. */
  private createKernelObjects(): void {
    const s = this.state;
    s.percpu = s.cpus.map((_, k) => {
      const o = newObject(s.heap, 'percpu');
      o.fields.cpu = BigInt(k);
      return o.id;
    });
    s.globals.init_fpstate = newObject(s.heap, 'fpstate').id;
    s.globals.fpu_kernel_cfg = newObject(s.heap, 'fpu_state_config').id;
    s.globals.fpu_user_cfg = newObject(s.heap, 'fpu_state_config').id;
  }

  /**
   * Boot: with a kernel function `start_kernel`, it runs first on a kernel thread and sets up the
   * CPU itself. Without one, the CPU starts as Linux leaves it after fpu__init_cpu(): CR4.OSXSAVE=1
   * and XCR0 = every user component the CPU supports.
   */
  private boot(cpu: CpuState): void {
    const start = this.kernelFns.get('start_kernel');
    if (start !== undefined) {
      // The boot CPU runs start_kernel(); the others run start_secondary(), if there is one, after it.
      const k = this.state.cpus.indexOf(cpu);
      const secondary = this.kernelFns.get('start_secondary');
      if (k === 0) this.spawnThread('kernel.start_kernel', 'kernel', start, 'call', 0, true, 0);
      else if (secondary !== undefined) this.spawnThread(`kernel.start_secondary/${k}`, 'kernel', secondary, 'call', 0, false, k);
      return;
    }
    cpu.cr4.osxsave = true;
    cpu.xcr0 = cpuModel(cpu.model).xcr0Supported;
  }

  private createThreads(): void {
    const booting = this.kernelFns.has('start_kernel');
    const runTargets = new Map(this.program.events.filter((e) => e.target).map((e) => [`${e.target!.process}.${e.target!.thread}`, e.cpu]));
    for (const p of this.program.processes) {
      p.threads.forEach((t, k) => {
        const name = `${p.name}.${t.name}`;
        // A process starts with its first thread on cpu0, unless an event runs that thread later
        // (on the CPU the event names).
        const startNow = k === 0 && !runTargets.has(name);
        // With kernel boot code, user space starts when every CPU has booted (as init does after smp_init).
        const th = this.spawnThread(name, p.name, t.fn, 'thread', 3, startNow && !booting, runTargets.get(name) ?? 0);
        th.afterBoot = startNow && booting;
      });
    }
  }

  private spawnThread(name: string, process: string, fn: number, kind: FrameKind, cpl: number, runnable: boolean, cpuIndex: number): ThreadState {
    const s = this.state;
    const id = s.threads.length;
    const task = newObject(s.heap, 'task');
    const ti = newObject(s.heap, 'thread_info');
    const ts = newObject(s.heap, 'thread_struct');
    const fpu = newObject(s.heap, 'fpu');
    // struct fpu embeds its two permission structs (types.h): they come with it.
    fpu.fields.perm = { ref: newObject(s.heap, 'fpu_state_perm').id };
    fpu.fields.guest_perm = { ref: newObject(s.heap, 'fpu_state_perm').id };
    fpu.fields.last_cpu = U64_MASK; // -1: no CPU holds this task's registers
    // The thread group: a process's first thread leads it; the others share its pid as tgid.
    const leader = s.threads.find((t) => t.process === process);
    const leaderTask = leader ? s.heap[leader.task]! : task;
    task.fields.pid = BigInt(id + 1);
    task.fields.tgid = leaderTask.fields.pid!;
    task.fields.group_leader = { ref: leaderTask.id };
    task.fields.thread_info = { ref: ti.id };
    task.fields.thread = { ref: ts.id };
    ts.fields.fpu = { ref: fpu.id };
    const scratch = allocate(s, SCRATCH_SIZE, `${name} scratch`);
    const bytes = s.mem.regions[s.mem.regions.length - 1]!.bytes;
    // Tile-load source data: non-zero, different per thread, deterministic.
    for (let i = 0; i < 1024; i++) bytes[SCRATCH_TILE_DATA + i] = (i * 7 + 13 * (id + 1)) & 0xff || 1;
    const frames = [this.frame(fn, kind, cpl, [])];
    // A new user thread starts in the kernel: fpu_clone() sets up its FPU (core.c fpu_clone), then it
    // returns to user mode (through exit_to_user_mode, like ret_from_fork).
    const clone = this.kernelFns.get('fpu_clone');
    if (cpl === 3 && clone !== undefined) {
      // fpu_clone() is part of fork in Linux: nothing can interrupt the new task before its FPU
      // exists. The hook runs with interrupts disabled; a fresh task then runs with them enabled.
      const hook = this.frame(clone, 'hook', 0, [{ ref: task.id }]);
      hook.irqOffBefore = false;
      frames.push(hook);
    }
    const th: ThreadState = {
      id, name, process, cpu: cpuIndex, frames, status: runnable ? 'runnable' : 'waiting',
      task: task.id, scratch, exitValue: 0n, signal: 0, switchTo: -1, afterBoot: false, moveTo: -1, shadow: null, pendingFault: null,
    };
    s.threads.push(th);
    if (runnable) s.runQueues[cpuIndex]!.push(id);
    return th;
  }

  private frame(fn: number, kind: FrameKind, cpl: number, args: Value[], vector = -1, vcpu = -1): Frame {
    const f = this.program.functions[fn]!;
    const locals: Value[] = new Array(f.locals.length).fill(0n);
    for (let i = 0; i < args.length && i < locals.length; i++) locals[i] = args[i]!;
    return { fn, pc: 0, stmt: -1, locals, stack: [], kind, cpl, vector, vcpu };
  }

  // ---- queries ------------------------------------------------------------------------------

  private cpu(): CpuState {
    return this.state.cpus[this.c]!;
  }

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

  /**
   * Where the next step will stand when it checks the events, without running it: the CPU, thread
   * and statement whose `at` point the step reaches; null when the step resumes a statement in
   * progress (after a VM exit or a handler), ends a thread, or the machine has halted. Mirrors the
   * start of step() and exec(): this is a choice point of the explorer.
   */
  nextPoint(): { cpu: number; thread: number; fn: number; stmt: number } | null {
    const s = this.state;
    if (s.halted) return null;
    const n = s.cpus.length;
    for (let k = 0; k < n; k++) {
      const c = (s.nextCpu + k) % n;
      const id = s.running[c]! >= 0 ? s.running[c]! : s.runQueues[c]![0];
      if (id === undefined) continue;
      const th = s.threads[id]!;
      const top = th.frames[th.frames.length - 1];
      if (!top || top.kind === 'vmentry') return null;
      // A queued thread coming back to user code goes through exit_to_user_mode() first (toUser).
      const hook = this.kernelFns.get('exit_to_user_mode');
      if (s.running[c]! < 0 && hook !== undefined && top.cpl === 3) return { cpu: c, thread: id, fn: hook, stmt: 0 };
      const ins = this.program.functions[top.fn]!.code[top.pc]!;
      return ins.op === Op.STMT ? { cpu: c, thread: id, fn: top.fn, stmt: ins.a } : null;
    }
    return null;
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
    const n = s.cpus.length;
    let found = false;
    for (let k = 0; k < n; k++) {
      const c = (s.nextCpu + k) % n;
      if (s.running[c]! >= 0 || s.runQueues[c]!.length) { this.c = c; found = true; break; }
    }
    if (!found) {
      s.halted = 'every thread has finished';
      out.push({ kind: 'end', text: s.halted });
      return out;
    }
    s.nextCpu = (this.c + 1) % n;
    if (s.running[this.c]! < 0) {
      const next = s.runQueues[this.c]!.shift()!;
      s.running[this.c] = next;
      this.trace(this.c, 'sched', `run ${s.threads[next]!.name}`);
      this.toUser(s.threads[next]!);
    }
    const th = s.threads[s.running[this.c]!]!;
    s.steps++;
    s.lastThread = th.id;
    // The CPU runs at the privilege of the code it executes (a thread just scheduled may be user code).
    const top = th.frames[th.frames.length - 1];
    if (top && top.kind !== 'vmentry') this.cpu().cpl = top.cpl;
    if (top?.kind === 'hook' && top.pc === 0 && top.irqOffBefore !== undefined) s.irqOff[this.c] = true;
    try {
      if (th.pendingFault) this.deliverPending(th, out);
      else this.exec(th, out);
      // Kernel objects are bounded as memory is (builtins.ts, allocate): each step costs bounded time.
      if (s.heap.length > MAX_OBJECTS) throw new ScenarioError(`out of kernel objects: a scenario may allocate ${MAX_OBJECTS}`);
      this.checkInvariants(th, out);
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      s.halted = `scenario error: ${e.message}`;
      // `file:line:col: error: message`, as every other error.
      out.push({ kind: 'error', text: `${this.where(th)}error: ${e.message}` });
      this.trace(this.c, 'error', `${this.where(th)}error: ${e.message}`);
    }
    return out;
  }

  /** `file:line:col: ` of the thread's current statement. */
  where(th: ThreadState): string {
    for (let i = th.frames.length - 1; i >= 0; i--) {
      const f = th.frames[i]!;
      const fn = this.fn(f);
      const k = this.stmtOf(f);
      if (fn && k >= 0) {
        const st = fn.stmts[k]!;
        return `${st.file}:${st.range.start.line}:${st.range.start.column}: `;
      }
    }
    return '';
  }

  private trace(cpu: number, kind: string, text: string): void {
    this.state.trace.push({ step: this.state.steps, cpu, kind, text });
  }

  private exec(th: ThreadState, out: Happening[]): void {
    const p = this.program;
    const cpu = this.cpu();
    // A step that resumes a statement in progress (after a VM exit completed vmenter(), after a
    // handler returned) finishes that statement and stops at the next one.
    const first = th.frames[th.frames.length - 1];
    let started = first !== undefined && first.kind !== 'vmentry' && this.program.functions[first.fn]!.code[first.pc]!.op !== Op.STMT;
    for (let ops = 0; ops < MAX_OPS_PER_STEP; ops++) {
      const f = th.frames[th.frames.length - 1];
      if (!f) { this.endThread(th, out, 'exited'); return; }
      if (f.kind === 'vmentry') throw new ScenarioError('internal: a [VM entry] frame on top of the stack');
      const fn = p.functions[f.fn]!;
      const ins = fn.code[f.pc]!;
      switch (ins.op) {
        case Op.STMT:
          if (started) return;
          if (this.eventsAt(th, f, ins.a, out)) return;
          started = true;
          f.stmt = ins.a;
          f.pc++;
          break;
        case Op.PUSH: f.stack.push(p.literals[ins.a]!); f.pc++; break;
        case Op.LOAD: f.stack.push(f.locals[ins.a]!); f.pc++; break;
        case Op.STORE: f.locals[ins.a] = f.stack.pop()!; f.pc++; break;
        case Op.DUP: f.stack.push(f.stack[f.stack.length - 1]!); f.pc++; break;
        case Op.POP: f.stack.pop(); f.pc++; break;
        case Op.GLOBAL: f.stack.push(this.global(p.names[ins.a]!, th)); f.pc++; break;
        case Op.FIELD: {
          const name = p.names[ins.a]!;
          const o = this.object(f.stack.pop()!, name);
          const v = o.fields[name];
          if (v === undefined) throw new ScenarioError(fieldProblem(o.type, name, null) ?? `${o.type} has no field '${name}'`);
          if (o.type === 'percpu' && name === 'xfd_state') this.checkXfdCache(th, o, out);
          f.stack.push(v);
          f.pc++;
          break;
        }
        case Op.STORE_FIELD: {
          const v = f.stack.pop()!;
          const name = p.names[ins.a]!;
          const o = this.object(f.stack.pop()!, name);
          const problem = fieldProblem(o.type, name, v);
          if (problem) throw new ScenarioError(problem);
          const kind = SCHEMAS[o.type]![name]!;
          if (kind !== 'u64' && isRef(v) && this.state.heap[v.ref]!.type !== kind.ref) {
            throw new ScenarioError(`${o.type}.${name} holds a ${kind.ref}, not a ${this.state.heap[v.ref]!.type}`);
          }
          o.fields[name] = v;
          f.pc++;
          break;
        }
        case Op.INDEX:
        case Op.STORE_INDEX:
          throw new ScenarioError('indexing is not supported on this value');
        case Op.UNARY: {
          const v = f.stack.pop()!;
          const op = UNARY_CODES[ins.a]!;
          if (op === '!') f.stack.push(truthy(v) ? 0n : 1n);
          else {
            const n = this.int(v, op);
            f.stack.push(op === '-' ? (-n) & U64_MASK : ~n & U64_MASK);
          }
          f.pc++;
          break;
        }
        case Op.BINARY: {
          const b = f.stack.pop()!;
          const a = f.stack.pop()!;
          const op = BINARY_CODES[ins.a]!;
          if ((op === '==' || op === '!=') && (isRef(a) || isRef(b))) {
            // References compare by identity; 0 is NULL.
            const same = isRef(a) && isRef(b) ? a.ref === b.ref : false;
            f.stack.push((op === '==') === same ? 1n : 0n);
          } else {
            const r = binaryValue(op, this.int(a, op), this.int(b, op));
            if (r === null) throw new ScenarioError(`division by zero ('${op}')`);
            f.stack.push(r);
          }
          f.pc++;
          break;
        }
        case Op.TO_BOOL: f.stack.push(truthy(f.stack.pop()!) ? 1n : 0n); f.pc++; break;
        case Op.JUMP: f.pc = ins.a; break;
        case Op.JUMP_IF_FALSE: f.pc = truthy(f.stack.pop()!) ? f.pc + 1 : ins.a; break;
        case Op.ASSERT: {
          const ok = truthy(f.stack.pop()!);
          f.pc++;
          const st = fn.stmts[f.stmt]!;
          if (ok) { this.state.passedAssertions++; break; }
          const failure = {
            step: this.state.steps, message: p.names[ins.a]!, file: st.file, line: st.range.start.line,
            column: st.range.start.column, thread: th.name,
          };
          this.state.failedAssertions.push(failure);
          this.trace(this.c, 'assert', `${th.name}: assertion failed at ${st.file}:${st.range.start.line}: ${failure.message}`);
          out.push({ kind: 'assertion', cpu: this.c, thread: th.id, message: failure.message, file: st.file, line: failure.line, column: failure.column });
          break;
        }
        case Op.SPAWN: {
          const name = `${th.process}.${p.names[ins.a]!}`;
          const t = this.state.threads.find((x) => x.name === name)!;
          if (t.status !== 'waiting') throw new ScenarioError(`thread ${name} was already started`);
          t.status = 'runnable';
          t.cpu = this.c;
          this.state.runQueues[this.c]!.push(t.id);
          this.trace(this.c, 'sched', `${th.name} spawns ${name}`);
          f.pc++;
          break;
        }
        case Op.CALL: {
          if (th.frames.length >= this.maxFrames) throw new ScenarioError(`call depth exceeds ${this.maxFrames} frames (runaway recursion?)`);
          const args = f.stack.splice(f.stack.length - ins.b, ins.b);
          const callee = p.functions[ins.a]!;
          const syscall = fn.context === 'user' && callee.context === 'kernel';
          f.pc++;
          th.frames.push(this.frame(ins.a, syscall ? 'syscall' : 'call', syscall ? 0 : f.cpl, args));
          cpu.cpl = syscall ? 0 : f.cpl;
          out.push({ kind: 'call', cpu: this.c, thread: th.id, fn: ins.a, name: callee.name });
          break;
        }
        case Op.RETURN: if (this.doReturn(th, f, f.stack.pop()!, out) || this.state.halted) return; break;
        case Op.BUILTIN: if (this.builtin(th, f, ins.a, ins.b, out)) return; break;
      }
    }
    throw new ScenarioError(`a statement ran more than ${MAX_OPS_PER_STEP} operations`);
  }

  private int(v: Value, op: string): bigint {
    if (typeof v === 'bigint') return v;
    throw new ScenarioError(`'${op}' needs an integer, not an object reference`);
  }

  private object(v: Value, field: string): KObject {
    if (typeof v === 'bigint') {
      throw new ScenarioError(v === 0n ? `NULL dereference reading '${field}'` : `'${field}' of an integer (0x${v.toString(16)}), not an object`);
    }
    return this.state.heap[v.ref]!;
  }

  private global(name: string, th: ThreadState): Value {
    if (name === 'current') return { ref: th.task };
    if (name === 'this_cpu') return { ref: this.state.percpu[this.c]! };
    const id = this.state.globals[name];
    if (id !== undefined) return { ref: id };
    throw new ScenarioError(`no global '${name}'`);
  }

  /** Returns from frame `f`; true when the step must end (the thread exited or was switched out). */
  private doReturn(th: ThreadState, f: Frame, v: Value, out: Happening[]): boolean {
    th.frames.pop();
    const cpu = this.cpu();
    const caller = th.frames[th.frames.length - 1];
    if (!caller) {
      th.exitValue = typeof v === 'bigint' ? v : 0n;
      this.endThread(th, out, 'exited');
      return true;
    }
    if (caller.kind === 'vmentry') {
      // The guest's outermost function returned: the guest runs off its end and halts.
      this.guestOf(caller.vcpu).finished = true;
      this.trace(this.c, 'guest', 'guest code returned from its outermost function: HLT');
      this.afterOutcome(th, caller, hlt(cpu), out, null);
      return true;
    }
    cpu.cpl = caller.cpl;
    // A call returns its value. A handler or hook returns to the interrupted frame as it was: a
    // faulting instruction is still at its BUILTIN op with its operands, and runs again.
    const resumes = f.kind === 'exception' || f.kind === 'hook' || f.kind === 'exit-to-user' || f.kind === 'switch';
    if (!resumes) caller.stack.push(v);
    if (f.kind === 'switch') {
      if (f.irqOffBefore !== undefined) this.state.irqOff[this.c] = f.irqOffBefore;
      this.completeSwitch(th);
      return true;
    }
    // Back to user code: exit_to_user_mode() runs first, still with interrupts off, and the return
    // to user mode restores them to what the handler interrupted (its frame carries that value).
    if (f.cpl === 0 && caller.cpl === 3 && f.kind !== 'exit-to-user' && this.toUser(th, f.irqOffBefore)) return false;
    // IRET: interrupts as they were before the handler; events held meanwhile happen now.
    if (f.irqOffBefore !== undefined) {
      this.state.irqOff[this.c] = f.irqOffBefore;
      if (!f.irqOffBefore) return this.fireDeferred(th, out);
    }
    return false;
  }

  /** On the way back to user code: the kernel's exit_to_user_mode(), if it has one. */
  private toUser(th: ThreadState, irqOffAfter?: boolean): boolean {
    const hook = this.kernelFns.get('exit_to_user_mode');
    const top = th.frames[th.frames.length - 1];
    if (hook === undefined || !top || top.cpl !== 3) return false;
    // The exit path runs with interrupts disabled (exit_to_user_mode_prepare); the return to user
    // mode sets them as the interrupted user code had them.
    const frame = this.frame(hook, 'exit-to-user', 0, []);
    this.enterInterruptGate(frame);
    if (irqOffAfter !== undefined) frame.irqOffBefore = irqOffAfter;
    th.frames.push(frame);
    this.cpu().cpl = 0;
    return true;
  }

  /**
   * Switch the CPU away from `th` (preemption, or another thread to run now). With a kernel
   * switch_fpu(prev), it runs first on `th`'s stack and the switch completes when it returns;
   * without one the switch is immediate. `next` -1: the CPU takes the next queued thread.
   */
  private switchOut(th: ThreadState, next: number): void {
    const hook = this.kernelFns.get('switch_fpu');
    const top = th.frames[th.frames.length - 1];
    if (top?.kind === 'switch') throw new ScenarioError(`${th.name} is already being switched out`);
    th.switchTo = next;
    if (hook === undefined) { this.completeSwitch(th); return; }
    // __schedule() switches with interrupts disabled; finish_task_switch() enables them again.
    const frame = this.frame(hook, 'switch', 0, [{ ref: th.task }]);
    this.enterInterruptGate(frame);
    th.frames.push(frame);
    this.cpu().cpl = 0;
  }

  private completeSwitch(prev: ThreadState): void {
    const s = this.state;
    const next = prev.switchTo;
    prev.switchTo = -1;
    if (next >= 0) {
      s.runQueues[this.c]!.unshift(prev.id);
      s.running[this.c] = next;
      this.trace(this.c, 'sched', `run ${s.threads[next]!.name}`);
      this.toUser(s.threads[next]!);
    } else {
      const dest = prev.moveTo >= 0 ? prev.moveTo : this.c;
      prev.moveTo = -1;
      prev.cpu = dest;
      s.runQueues[dest]!.push(prev.id);
      s.running[this.c] = -1;
      this.trace(this.c, 'sched', dest === this.c ? `${prev.name} switched out` : `${prev.name} moves to cpu${dest}`);
    }
  }

  private endThread(th: ThreadState, out: Happening[], how: 'exited' | 'killed'): void {
    th.status = how;
    th.frames = [];
    this.state.running[this.c] = -1;
    const threads = this.state.threads;
    if (th.name === 'kernel.start_kernel') {
      // The boot CPU is up: the secondaries boot now.
      for (const t of threads) {
        if (t.name.startsWith('kernel.start_secondary/') && t.status === 'waiting') {
          t.status = 'runnable';
          this.state.runQueues[t.cpu]!.unshift(t.id);
        }
      }
    }
    if (th.name.startsWith('kernel.start_') && !threads.some((t) => t.name.startsWith('kernel.start_') && (t.status === 'runnable' || t.status === 'waiting'))) {
      // Every CPU has booted: user space starts.
      for (const t of threads) {
        if (t.afterBoot && t.status === 'waiting') {
          t.afterBoot = false;
          t.status = 'runnable';
          this.state.runQueues[t.cpu]!.push(t.id);
        }
      }
    }
    const text = how === 'exited' ? `${th.name} exited (${showValue(th.exitValue)})` : `${th.name} killed by signal ${th.signal}`;
    this.trace(this.c, 'sched', text);
    out.push({ kind: 'thread-end', cpu: this.c, thread: th.id, text });
  }

  // ---- builtins ------------------------------------------------------------------------------

  /** Runs BUILTIN `index` with `argc` operands on the stack; true when the step must end. */
  private builtin(th: ThreadState, f: Frame, index: number, argc: number, out: Happening[]): boolean {
    const s = this.state;
    this.builtinRuns++;
    const cpu = this.cpu();
    const args = f.stack.slice(f.stack.length - argc);
    const def = this.builtins[index]!;
    const before = { xcr0: cpu.xcr0, xss: cpu.xss, xfd: cpu.xfd, xfdErr: cpu.xfdErr };
    const guest = cpu.vmx.mode === 'non-root';
    const ctx: BuiltinContext = {
      state: s, cpu, cpuIndex: 0, mem: s.mem, thread: th,
      u64: (a, i, name) => {
        const v = a[i]!;
        if (typeof v !== 'bigint') throw new ScenarioError(`${this.program.builtins[index]}: '${name}' must be an integer, not an object reference`);
        return v;
      },
      obj: (a, i, name, type) => {
        const v = a[i]!;
        if (typeof v === 'bigint') throw new ScenarioError(`${this.program.builtins[index]}: '${name}' must be a ${type}, not ${v === 0n ? 'NULL' : 'an integer'}`);
        const o = s.heap[v.ref]!;
        if (o.type !== type) throw new ScenarioError(`${this.program.builtins[index]}: '${name}' must be a ${type}, not a ${o.type}`);
        return o;
      },
    };
    const name = this.program.builtins[index]!;
    // In a guest, the bare-metal reference executes the instruction too (unless it is the one that
    // exited and is now waiting for the VMM).
    const shadow = guest ? this.guestOf(this.vcpuOf(th)).shadow : null;
    let ref: BuiltinResult | null = null;
    if (shadow && !shadow.pending) {
      try {
        ref = def.run({ ...ctx, cpu: shadow.cpu, mem: shadow.mem }, args);
      } catch {
        ref = null; // the real execution reports the argument error
      }
    }
    let r: BuiltinResult;
    try {
      r = def.run(ctx, args);
    } catch (e) {
      // An argument the model cannot take at all is the scenario's error, reported at its statement.
      if (e instanceof ModelArgumentError) throw new ScenarioError(`${name}: ${e.message}`);
      throw e;
    }
    const hwNm = r.kind === 'outcome' && r.outcome.kind === 'fault' && r.outcome.fault.nmCause === 'xfd';
    // A user task's reference runs each user-mode instruction once it completes on the real CPU
    // (a fault the kernel fixes up makes it run again; the reference runs it then).
    if (!guest && f.cpl === 3 && r.kind === 'outcome' && r.outcome.kind === 'ok') {
      if (!th.shadow) {
        const scratch = s.mem.regions.find((x) => x.base === th.scratch)!;
        th.shadow = createShadow(cpu.model, scratch, true);
      }
      const ref = th.shadow.cpu;
      Object.assign(ref, { xcr0: cpu.xcr0, xfd: 0n, cpl: 3 });
      ref.cr4.pke = cpu.cr4.pke;
      try { def.run({ ...ctx, cpu: ref, mem: th.shadow.mem }, args); } catch { /* the real run has reported */ }
    }
    this.noteRegisterChanges(th, before, guest, out, hwNm);
    if (shadow && ref && ref.kind === 'outcome' && r.kind === 'outcome') this.compareWithBareMetal(th, shadow, name, r.outcome, ref.outcome, out);
    else if (shadow && ref && ref.kind === 'value' && r.kind === 'value' && RETURNS_VALUE.has(name) && r.value !== ref.value) {
      this.violate('guest-observes-bare-metal', th, out, `${name} returned ${showValue(r.value)} in the guest; bare metal returns ${showValue(ref.value)}`);
    }
    switch (r.kind) {
      case 'value': this.complete(f, argc, r.value); return false;
      case 'outcome': return this.afterOutcome(th, f, r.outcome, out, argc);
      case 'enter-guest': this.enterGuest(th, r.vcpu, out); return true;
      case 'guest-complete': this.completeGuestInstruction(th, r.vcpu, r.value, out); this.complete(f, argc, 0n); return false;
      case 'fixup': {
        let k = th.frames.length - 1;
        while (k > 0 && th.frames[k]!.kind !== 'exception') k--;
        const below = k > 0 ? th.frames[k - 1]! : undefined;
        const ins = below && below.fn >= 0 ? this.program.functions[below.fn]!.code[below.pc] : undefined;
        if (!below || !ins || ins.op !== Op.BUILTIN) throw new ScenarioError('fixup_exception(): not in the handler of a faulting instruction');
        this.complete(below, ins.b, 0n);
        this.complete(f, argc, 0n);
        return false;
      }
      case 'move':
        this.complete(f, argc, 0n);
        if (r.cpu === this.c) return false;
        th.moveTo = r.cpu;
        this.switchOut(th, -1);
        return true;
      case 'migrate-guest': {
        const from = this.guestOf(r.from);
        const to = this.guestOf(r.to);
        if (to.started) throw new ScenarioError('migrate_guest_memory: the destination vCPU has already run');
        to.frames = from.frames; to.started = from.started; to.finished = from.finished; to.shadow = from.shadow;
        from.frames = []; from.finished = true;
        this.trace(this.c, 'migrate', `guest of vcpu object ${r.from} moves to vcpu object ${r.to}`);
        this.complete(f, argc, 0n);
        return false;
      }
      case 'irq': {
        const c = this.c;
        if (r.op === 'irq-off') s.irqOff[c] = true;
        else if (r.op === 'irq-on') s.irqOff[c] = false;
        else if (r.op === 'preempt-off') s.preemptCount[c]!++;
        else if (s.preemptCount[c]! === 0) throw new ScenarioError('preempt_enable() without preempt_disable()');
        else s.preemptCount[c]!--;
        this.complete(f, argc, 0n);
        return this.fireDeferred(th, out);
      }
      case 'kill': th.signal = r.signal; this.endThread(th, out, 'killed'); return true;
      case 'oops': s.halted = `${this.where(th)}${r.text}`; this.trace(this.c, 'oops', s.halted); out.push({ kind: 'oops', text: s.halted }); return true;
      case 'error': throw new ScenarioError(r.message);
    }
  }

  private complete(f: Frame, argc: number, v: Value): void {
    f.stack.length -= argc;
    f.stack.push(v);
    f.pc++;
  }

  /**
   * Applies a model outcome to the frame that executed the instruction: ok completes it, a fault
   * is delivered, a VM exit leaves the guest. `argc` null: the outcome did not come from a BUILTIN
   * op of `f` (guest HLT at the end of its code).
   */
  private afterOutcome(th: ThreadState, f: Frame, o: Outcome<unknown>, out: Happening[], argc: number | null): boolean {
    switch (o.kind) {
      case 'ok':
        if (argc !== null) this.complete(f, argc, typeof o.value === 'bigint' ? o.value : 0n);
        return false;
      case 'fault': this.deliver(th, o.fault, out); return true;
      case 'vmexit': this.leaveGuest(th, o.exit, out); return true;
      case 'shutdown':
        this.state.halted = `shutdown: ${o.reason}`;
        this.trace(this.c, 'shutdown', o.reason);
        out.push({ kind: 'oops', text: this.state.halted });
        return true;
    }
  }

  /** Trace and report changes of XCR0 and the XFD/XSS MSRs made by one instruction. */
  private noteRegisterChanges(th: ThreadState, before: { xcr0: bigint; xss: bigint; xfd: bigint; xfdErr: bigint }, guest: boolean, out: Happening[], hwNm = false): void {
    const cpu = this.cpu();
    if (cpu.xfdErr !== before.xfdErr) {
      // Provenance of IA32_XFD_ERR: the guest's when the guest changed it, or when the host wrote a
      // non-zero value (KVM handing the guest its value back); the host's after a host XFD #NM.
      const s = this.state;
      if (hwNm && !guest) s.xfdErrGuestBits[this.c] = 0n;
      else if (guest || cpu.xfdErr !== 0n) {
        if (s.xfdErrGuestBits[this.c] !== cpu.xfdErr) s.xfdErrGuestStep[this.c] = s.steps;
        s.xfdErrGuestBits[this.c] = cpu.xfdErr;
      } else s.xfdErrGuestBits[this.c] = 0n;
    }
    const who = guest ? 'guest' : 'host';
    if (cpu.xcr0 !== before.xcr0) {
      this.trace(this.c, 'xcr0', `cpu${this.c} ${who} XCR0 ${formatMask(before.xcr0)} -> ${formatMask(cpu.xcr0)}`);
      out.push({ kind: 'xcr0-write', cpu: this.c, thread: th.id, guest, old: before.xcr0, value: cpu.xcr0 });
    }
    const msrs: Array<[number, bigint, bigint]> = [
      [MSR_IA32_XSS, before.xss, cpu.xss], [MSR_IA32_XFD, before.xfd, cpu.xfd], [MSR_IA32_XFD_ERR, before.xfdErr, cpu.xfdErr],
    ];
    for (const [msr, old, now] of msrs) {
      if (old === now) continue;
      const name = msrName(msr).replace(/^IA32_/, '');
      this.trace(this.c, 'msr', `cpu${this.c} ${who} ${name} ${showValue(old)} -> ${showValue(now)}`);
      out.push({ kind: 'msr-write', cpu: this.c, thread: th.id, guest, msr, name: msrName(msr), old, value: now });
    }
  }

  // ---- exceptions and VMX ---------------------------------------------------------------------

  /** Delivers a fault through the IDT of the running context: a guest or host `exc_*` function. */
  private deliver(th: ThreadState, fault: Fault, out: Happening[]): void {
    const cpu = this.cpu();
    const guest = cpu.vmx.mode === 'non-root';
    if (!guest && cpu.cpl === 0 && fault.nmCause === 'xfd') {
      this.violate('no-kernel-xfd-nm', th, out, fault.reason);
    }
    if (!guest && fault.mnemonic === '#PF' && /^X(SAVE|RSTOR)/.test(fault.instruction)) {
      this.violate('xsave-within-buffer', th, out, fault.reason);
    }
    out.push({ kind: 'exception', cpu: this.c, thread: th.id, guest, fault });
    this.trace(this.c, 'exception', `cpu${this.c} ${guest ? 'guest' : cpu.cpl === 3 ? 'host user' : 'host kernel'} ${fault.reason}`);
    const name = HANDLERS[fault.vector];
    const handler = name === undefined ? undefined : (guest ? this.guestFns : this.kernelFns).get(name);
    if (handler === undefined) {
      const where = guest ? 'the guest block' : 'host kernel code';
      throw new ScenarioError(`${fault.reason}, and ${where} defines no handler${name ? ` (fn ${name})` : ''}`);
    }
    if (th.frames.length >= this.maxFrames) throw new ScenarioError(`exception nesting exceeds ${this.maxFrames} frames`);
    // Delivered by the thread's next step (deliverPending): the faulting statement stays on top.
    th.pendingFault = { handler, vector: fault.vector, errorCode: fault.errorCode ?? null, mnemonic: fault.mnemonic };
  }

  /** A host handler runs with interrupts disabled (the IDT's interrupt gates clear IF). */
  private enterInterruptGate(frame: Frame): void {
    frame.irqOffBefore = this.state.irqOff[this.c]!;
    this.state.irqOff[this.c] = true;
  }

  /** The delivery step of a recognized fault: the handler frame goes on, at CPL 0. */
  private deliverPending(th: ThreadState, out: Happening[]): void {
    const p = th.pendingFault!;
    th.pendingFault = null;
    const args = p.errorCode !== null ? [BigInt(p.errorCode)] : [];
    const frame = this.frame(p.handler, 'exception', 0, args, p.vector);
    if (this.cpu().vmx.mode !== 'non-root') this.enterInterruptGate(frame);
    th.frames.push(frame);
    this.cpu().cpl = 0;
    const fn = this.program.functions[p.handler]!;
    out.push({ kind: 'call', cpu: this.c, thread: th.id, fn: p.handler, name: fn.name });
  }

  private guestOf(vcpu: number): GuestContext {
    let g = this.state.guests.find((x) => x.vcpu === vcpu);
    if (!g) { g = { vcpu, frames: [], started: false, finished: false, shadow: null }; this.state.guests.push(g); }
    return g;
  }

  /** vmenter(vcpu): VM entry on the vCPU's VMCS; the guest frames go on top of the host's. */
  private enterGuest(th: ThreadState, vcpuId: number, out: Happening[]): void {
    const s = this.state;
    const cpu = this.cpu();
    const vcpu = s.heap[vcpuId]!;
    const handle = vcpu.fields.vmcs!;
    const vmcs = typeof handle === 'bigint' && handle < BigInt(s.vmcss.length) ? s.vmcss[Number(handle)] : undefined;
    if (!vmcs) throw new ScenarioError('vmenter: vcpu->vmcs is not a VMCS (set it to vmcs_alloc())');
    // KVM's hardware_enable (VMXON) happens at module load, outside the scenario.
    if (cpu.vmx.mode === 'off') vmxon(cpu);
    if (cpu.vmx.vmcs !== vmcs) vmptrld(cpu, vmcs);
    const host = th.frames[th.frames.length - 1]!;
    const o = vmEntry(cpu);
    if (o.kind === 'fault') { this.deliver(th, o.fault, out); return; }
    if (o.kind === 'shutdown') { this.afterOutcome(th, host, o, out, null); return; }
    if (o.kind === 'vmexit') {
      // VM-entry failure: vmenter returns the exit reason (bit 31 set) at once.
      this.trace(this.c, 'vmexit', `cpu${this.c} VM entry failed: ${o.exit.name}${o.exit.cause ? ` (${o.exit.cause})` : ''}`);
      out.push({ kind: 'vmexit', cpu: this.c, thread: th.id, exit: o.exit });
      this.complete(host, 1, BigInt(o.exit.reason >>> 0));
      return;
    }
    const g = this.guestOf(vcpuId);
    if (!g.shadow) {
      const scratch = s.mem.regions.find((r) => r.base === th.scratch)!;
      g.shadow = createShadow(cpu.model, scratch, vmcs.guest.cr4Osxsave);
      // Bare metal for this guest is the CPU its CPUID describes (KVM_SET_CPUID2: guest_supported_xcr0
      // and the XFD bit), when the kernel keeps them in vcpu->arch.
      const arch = vcpu.fields.arch;
      if (arch && typeof arch !== 'bigint') {
        const a = s.heap[arch.ref]!.fields;
        if (typeof a.guest_supported_xcr0 === 'bigint' && typeof a.guest_cpuid_xfd === 'bigint') {
          g.shadow.cpu.cpuidLimit = { xcr0: a.guest_supported_xcr0 | 1n, xfd: a.guest_cpuid_xfd !== 0n };
        }
      }
    }
    this.trace(this.c, 'vmentry', `cpu${this.c} VM entry (vcpu ${vcpu.fields.vcpu_id})`);
    out.push({ kind: 'vmentry', cpu: this.c, thread: th.id, vcpu: vcpuId });
    th.frames.push({ fn: -1, pc: 0, stmt: -1, locals: [], stack: [], kind: 'vmentry', cpl: 0, vector: -1, vcpu: vcpuId });
    if (!g.started) {
      const main = this.guestFns.get('main');
      if (main === undefined) throw new ScenarioError('vmenter: the guest block has no fn main()');
      g.started = true;
      th.frames.push(this.frame(main, 'guest', 0, []));
    } else {
      th.frames.push(...g.frames);
      g.frames = [];
    }
    const top = th.frames[th.frames.length - 1]!;
    cpu.cpl = top.cpl;
    if (o.value.injected) {
      const inj = o.value.injected;
      const pending = g.shadow.pending;
      g.shadow.pending = null;
      if (!pending || pending.outcome.kind !== 'fault' || pending.outcome.fault.vector !== inj.vector) {
        this.violate('guest-observes-bare-metal', th, out, pending
          ? `the VMM injects vector ${inj.vector} for ${pending.insn}, which on bare metal ${describeOutcome(pending.outcome)}`
          : `the VMM injects vector ${inj.vector}, which no guest instruction raised`);
      }
      const handlerName = HANDLERS[inj.vector];
      const handler = handlerName === undefined ? undefined : this.guestFns.get(handlerName);
      this.trace(this.c, 'inject', `cpu${this.c} inject vector ${inj.vector} into the guest`);
      if (handler === undefined) throw new ScenarioError(`VM entry injects vector ${inj.vector}, and the guest block defines no handler${handlerName ? ` (fn ${handlerName})` : ''}`);
      th.frames.push(this.frame(handler, 'exception', 0, inj.errorCode !== undefined ? [BigInt(inj.errorCode)] : [], inj.vector));
      cpu.cpl = 0;
      return;
    }
    if (top.kind === 'vmentry') {
      // The guest has run off its end: it halts again.
      this.afterOutcome(th, top, hlt(cpu), out, null);
    }
  }

  private completeGuestInstruction(th: ThreadState, vcpu: number, value: bigint, out: Happening[]): void {
    const g = this.guestOf(vcpu);
    if (g.finished) return; // a guest past its end has no instruction to complete
    const pending = g.shadow?.pending;
    if (g.shadow) g.shadow.pending = null;
    if (pending) {
      const S = pending.outcome;
      if (S.kind !== 'ok') {
        this.violate('guest-observes-bare-metal', th, out, `the VMM completes ${pending.insn}, which on bare metal ${describeOutcome(S)}`);
      } else if (RETURNS_VALUE.has(pending.insn) && typeof S.value === 'bigint' && S.value !== value) {
        this.violate('guest-observes-bare-metal', th, out, `${pending.insn} returns 0x${value.toString(16)} in the guest; bare metal returns 0x${S.value.toString(16)}`);
      }
    }
    const top = g.frames[g.frames.length - 1];
    const ins = top ? this.program.functions[top.fn]!.code[top.pc] : undefined;
    if (!top || !ins || ins.op !== Op.BUILTIN) throw new ScenarioError('guest_complete_insn: the guest is not stopped at an instruction');
    this.complete(top, ins.b, value);
  }

  /** A VM exit while `th` runs a guest: guest frames are saved, vmenter() returns the exit reason. */
  private leaveGuest(th: ThreadState, exit: VmExitInfo, out: Happening[]): void {
    const at = th.frames.map((f) => f.kind).lastIndexOf('vmentry');
    if (at < 0) throw new ScenarioError('internal: VM exit without a [VM entry] frame');
    const entry = th.frames[at]!;
    const g = this.guestOf(entry.vcpu);
    g.frames = th.frames.splice(at + 1);
    th.frames.pop();
    const host = th.frames[th.frames.length - 1]!;
    const intr = exit.intrInfo ? ` intr-info 0x${(exit.intrInfo >>> 0).toString(16)}` : '';
    this.trace(this.c, 'vmexit', `cpu${this.c} VM exit: ${exit.name}${intr}${exit.cause ? ` (${exit.cause})` : ''}`);
    out.push({ kind: 'vmexit', cpu: this.c, thread: th.id, exit });
    this.cpu().cpl = host.cpl;
    this.complete(host, 1, BigInt(exit.reason >>> 0));
  }

  // ---- events ---------------------------------------------------------------------------------

  /** Fires the events placed at (frame.fn, stmt); true when one diverted control. */
  private eventsAt(th: ThreadState, f: Frame, stmt: number, out: Happening[]): boolean {
    const evs = this.program.events;
    let diverted = false;
    for (let i = 0; i < evs.length; i++) {
      const e = evs[i]!;
      const st = this.state.events[i]!;
      // An injected event fires here whatever its point says; its hit count still counts the
      // arrivals at its point, which is what a written-out `at point hit n` needs.
      const forced = i === this.injected;
      if (st.fired || (!forced && (!e.at || e.at.fn !== f.fn || e.at.stmt !== stmt))) continue;
      if (!forced && e.kind !== 'run' && e.cpu !== this.c && this.explicitCpu(i)) continue;
      st.hits++;
      if (forced) this.injected = -1;
      else if (st.hits !== e.hit) continue;
      diverted = this.fire(th, i, out) || diverted;
      for (let j = i + 1; j < evs.length && evs[j]!.afterPrevious && !this.state.events[j]!.fired; j++) {
        const prevHeld = this.state.deferred[this.c]!.includes(j - 1);
        if (prevHeld) {
          // Chained to an event that is waiting: it waits too, behind it.
          this.state.events[j]!.fired = true;
          this.state.deferred[this.c]!.push(j);
          continue;
        }
        diverted = this.fire(this.state.threads[this.state.running[this.c]!] ?? th, j, out) || diverted;
      }
      if (diverted) return true;
    }
    return diverted;
  }

  /** Whether event i may happen now on this CPU, or must wait for interrupts or preemption. */
  private allowed(i: number): boolean {
    const e = this.program.events[i]!;
    const s = this.state;
    const c = this.c;
    const guest = this.cpu().vmx.mode === 'non-root';
    switch (e.kind) {
      case 'external_interrupt': return guest || !s.irqOff[c];
      case 'fpu_irq': return !s.irqOff[c];
      case 'preempt': return !s.irqOff[c] && s.preemptCount[c] === 0;
      case 'run': return (e.cpuExplicit && e.cpu !== c) || (!s.irqOff[c] && s.preemptCount[c] === 0);
    }
  }

  /** Fires the held-back events that may happen now; true when one diverted control. */
  private fireDeferred(th: ThreadState, out: Happening[]): boolean {
    const q = this.state.deferred[this.c]!;
    while (q.length && this.allowed(q[0]!)) {
      const i = q.shift()!;
      const cur = this.state.threads[this.state.running[this.c]!] ?? th;
      if (this.act(cur, i, out)) return true;
    }
    return false;
  }

  /** Whether event i named its CPU (`on cpuN`); a default cpu0 matches any CPU. */
  private explicitCpu(i: number): boolean {
    return this.program.events[i]!.cpuExplicit;
  }

  private fire(th: ThreadState, i: number, out: Happening[]): boolean {
    const e = this.program.events[i]!;
    const s = this.state;
    s.events[i]!.fired = true;
    const guestExit = e.kind === 'external_interrupt' && this.cpu().vmx.mode === 'non-root';
    if (!this.allowed(i) || (s.deferred[this.c]!.length > 0 && !guestExit)) {
      // Interrupts or preemption are off (or earlier events wait): it happens at the enable.
      s.deferred[this.c]!.push(i);
      this.trace(this.c, 'event', `cpu${this.c} ${this.eventText(i)} held: ${s.irqOff[this.c] ? 'interrupts' : 'preemption'} disabled`);
      return false;
    }
    return this.act(th, i, out);
  }

  private eventText(i: number): string {
    const e = this.program.events[i]!;
    return `event ${e.kind}${e.kind === 'external_interrupt' ? ` (vector ${e.vector})` : ''}${e.target ? ` ${e.target.process}.${e.target.thread}` : ''}`;
  }

  /** What event i does, now. */
  private act(th: ThreadState, i: number, out: Happening[]): boolean {
    const e = this.program.events[i]!;
    const s = this.state;
    const cpu = this.cpu();
    const text = this.eventText(i);
    this.trace(this.c, 'event', `cpu${this.c} ${text}`);
    out.push({ kind: 'event', cpu: this.c, thread: th.id, text });
    switch (e.kind) {
      case 'external_interrupt': {
        const o = externalInterrupt(cpu, e.vector);
        if (o.kind === 'vmexit') { this.leaveGuest(th, o.exit, out); return true; }
        if (o.kind !== 'ok') return this.afterOutcome(th, th.frames[th.frames.length - 1]!, o, out, null);
        const handler = this.kernelFns.get('common_interrupt');
        if (handler === undefined) return false;
        th.frames.push(this.frame(handler, 'exception', 0, [BigInt(e.vector)], e.vector));
        cpu.cpl = 0;
        return true;
      }
      case 'fpu_irq': {
        if (cpu.vmx.mode === 'non-root') throw new ScenarioError('fpu_irq while a guest runs: place it in host code (an interrupt in the guest is an external_interrupt VM exit)');
        const handler = this.kernelFns.get('handle_fpu_irq');
        if (handler === undefined) throw new ScenarioError('fpu_irq: host kernel code defines no fn handle_fpu_irq()');
        const frame = this.frame(handler, 'exception', 0, [], 32);
        this.enterInterruptGate(frame);
        th.frames.push(frame);
        cpu.cpl = 0;
        return true;
      }
      case 'preempt': {
        if (cpu.vmx.mode === 'non-root') throw new ScenarioError('preempt while a guest runs: a guest is preempted through an external_interrupt VM exit');
        this.switchOut(th, -1);
        return true;
      }
      case 'run': {
        const t = s.threads.find((x) => x.name === `${e.target!.process}.${e.target!.thread}`)!;
        if (t.status !== 'waiting') throw new ScenarioError(`run ${t.name}: the thread has already started`);
        if (cpu.vmx.mode === 'non-root') throw new ScenarioError(`run ${t.name} while a guest runs: the host must leave the guest first (after an exit)`);
        t.status = 'runnable';
        const where = e.cpuExplicit ? e.cpu : this.c;
        if (where !== this.c) {
          // Another CPU: the thread is queued there and runs at that CPU's next turn.
          t.cpu = where;
          s.runQueues[where]!.unshift(t.id);
          return false;
        }
        t.cpu = this.c;
        this.switchOut(th, t.id);
        return true;
      }
    }
  }

  // ---- invariants -----------------------------------------------------------------------------

  /** The vcpu whose guest `th` is running (its innermost [VM entry] frame). */
  private vcpuOf(th: ThreadState): number {
    for (let i = th.frames.length - 1; i >= 0; i--) if (th.frames[i]!.kind === 'vmentry') return th.frames[i]!.vcpu;
    throw new ScenarioError('internal: guest code without a [VM entry] frame');
  }

  /** Records the first violation of each invariant: trace, happening, and the statement. */
  private violate(name: InvariantName, th: ThreadState, out: Happening[], text: string, setup: number[] = []): void {
    const s = this.state;
    const dev = this.program.deviations.find((d) => d.invariant === name && text.includes(d.match));
    // The first violation of each invariant, and the first of each declared deviation.
    if (s.violations.some((v) => v.name === name && (dev ? v.deviation?.why === dev.why : !v.deviation))) return;
    const where = this.where(th).replace(/: $/, '');
    const v: Violation = {
      name, step: s.steps, cpu: this.c, thread: th.name, text, where,
      setup: [...new Set(setup)].filter((x) => x >= 0).sort((a, b) => a - b),
      ...(dev ? { deviation: { why: dev.why, file: dev.file, line: dev.line } } : {}),
    };
    s.violations.push(v);
    this.trace(this.c, 'invariant', dev ? `known deviation (${name}): ${text}` : `invariant ${name} violated: ${text}`);
    out.push({ kind: 'invariant', violation: v });
  }

  /** The last steps at which `kind` trace entries matching `re` happened on this CPU, newest first. */
  private lastSteps(kind: string, re: RegExp, n: number): number[] {
    const out: number[] = [];
    const t = this.state.trace;
    for (let i = t.length - 1; i >= 0 && out.length < n; i--) {
      if (t[i]!.kind === kind && t[i]!.cpu === this.c && re.test(t[i]!.text)) out.push(t[i]!.step);
    }
    return out;
  }

  private compareWithBareMetal(th: ThreadState, shadow: GuestContext['shadow'] & object, insn: string, real: Outcome<unknown>, ref: Outcome<unknown>, out: Happening[]): void {
    if (real.kind === 'vmexit') { shadow.pending = { insn, outcome: ref }; return; }
    if (real.kind === 'ok' && ref.kind === 'ok') {
      if (RETURNS_VALUE.has(insn) && real.value !== ref.value) {
        this.violate('guest-observes-bare-metal', th, out, `${insn} ${describeOutcome(real)} in the guest; bare metal ${describeOutcome(ref)}`,
          [...this.lastSteps('vmexit', /./, 1), ...this.lastSteps('msr', /XFD_ERR|XFD /, 2)]);
      }
      return;
    }
    if (real.kind === 'fault' && ref.kind === 'fault' && real.fault.vector === ref.fault.vector) return;
    this.violate('guest-observes-bare-metal', th, out, `${insn} ${describeOutcome(real)} in the guest; bare metal ${describeOutcome(ref)}`);
  }

  private checkXfdCache(th: ThreadState, percpu: KObject, out: Happening[]): void {
    const cpuIndex = Number(percpu.fields.cpu as bigint);
    const msr = this.state.cpus[cpuIndex]!.xfd;
    const cache = percpu.fields.xfd_state as bigint;
    if (cache !== msr) {
      this.violate('xfd-cache-matches-msr', th, out,
        `cpu${cpuIndex}'s xfd_state cache says 0x${cache.toString(16)} while IA32_XFD holds 0x${msr.toString(16)}`,
        this.lastSteps('msr', /XFD 0x/, 2));
    }
  }

  /** The checks made after every step. */
  private checkInvariants(th: ThreadState, out: Happening[]): void {
    const s = this.state;
    const cpu = this.cpu();
    if (th.status !== 'runnable' || s.running[this.c] !== th.id) return;
    const top = th.frames[th.frames.length - 1];
    if (!top || top.kind === 'vmentry') return;
    if (cpu.vmx.mode === 'non-root') {
      const shadow = this.guestOf(this.vcpuOf(th)).shadow;
      const diff = shadow ? guestStateDifference(cpu, shadow.cpu) : null;
      if (diff) {
        this.violate('guest-state-matches-bare-metal', th, out, diff,
          [...this.lastSteps('vmentry', /./, 1), ...this.lastSteps('vmexit', /./, 1), ...this.lastSteps('msr', /./, 1)]);
      }
      return;
    }
    const guestBits = cpu.xfdErr & s.xfdErrGuestBits[this.c]!;
    if (guestBits !== 0n && !s.irqOff[this.c]) {
      this.violate('host-sees-guest-xfd-err', th, out,
        `interrupts are enabled with IA32_XFD_ERR = 0x${cpu.xfdErr.toString(16)}, set by the guest at step ${s.xfdErrGuestStep[this.c]}`,
        [s.xfdErrGuestStep[this.c]!, ...this.lastSteps('vmexit', /./, 1)]);
    }
    if (top.cpl === 3 && th.shadow) {
      const diff = userStateDifference(cpu, th.shadow.cpu);
      if (diff) {
        this.violate('user-state-matches-bare-metal', th, out, `${th.name}: ${diff.replace('bare metal', 'a CPU that ran only this task')}`,
          [...this.lastSteps('sched', /./, 2), ...this.lastSteps('vmexit', /./, 1)]);
      }
    }
    if (top.cpl === 3) {
      const task = s.heap[th.task]!;
      const ts = task.fields.thread;
      const fpu = ts && typeof ts !== 'bigint' ? s.heap[ts.ref]!.fields.fpu : undefined;
      const fps = fpu && typeof fpu !== 'bigint' ? s.heap[fpu.ref]!.fields.fpstate : undefined;
      if (fps && typeof fps !== 'bigint') {
        const xfd = s.heap[fps.ref]!.fields.xfd as bigint;
        if (xfd !== cpu.xfd) {
          this.violate('user-xfd-matches-fpstate', th, out,
            `${th.name} runs in user mode with IA32_XFD = 0x${cpu.xfd.toString(16)}; its fpstate->xfd is 0x${xfd.toString(16)}`,
            this.lastSteps('msr', /XFD 0x/, 2));
        }
      }
    }
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

  /** Frames of the running thread (guest frames and the [VM entry] label included). */
  depth(): number {
    return this.currentThread()?.frames.length ?? 0;
  }

  /**
   * Step over: run until the same thread is back at a statement in the same frame or a shallower
   * one (a call, a handler or a whole guest run between VM entry and exit is stepped over), or until
   * `stop` says so (a breakpoint, an exception the user asked to stop on).
   */
  stepOver(stop: (h: Happening[]) => boolean, budget: number) {
    const th = this.currentThread();
    const depth = th?.frames.length ?? 0;
    return this.run((h) => stop(h) || (this.state.lastThread === th?.id && th.frames.length <= depth && !th.pendingFault), budget);
  }

  /** Step out: run until the running thread's current frame has returned (or `stop`). */
  stepOut(stop: (h: Happening[]) => boolean, budget: number) {
    const th = this.currentThread();
    const depth = th?.frames.length ?? 0;
    return this.run((h) => stop(h) || (this.state.lastThread === th?.id && th.frames.length < depth && !th.pendingFault), budget);
  }

  snapshot(): MachineState {
    return structuredClone(this.state);
  }

  restore(s: MachineState): void {
    this.state = structuredClone(s);
  }
}
