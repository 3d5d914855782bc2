// The interpreter: runs the ops of one statement of a thread (a step), with the language's values,
// calls and returns, kernel-object fields, assertions and spawns; BUILTIN ops run the hardware
// model's instructions (builtins.ts), in a guest on its bare-metal reference too, and apply what
// they ask for (an outcome, a VM entry, a fixup, a migration, interrupts on or off, ...). Returns
// to a handler's interrupted frame restart its instruction; returns to user code go through
// exit_to_user_mode(). Writes of the fields the invariants compare are recorded as provenance.
import { ModelArgumentError, hlt } from '../model';
import { BINARY_CODES, Op, UNARY_CODES } from '../lang/code';
import { binaryValue } from '../lang/compiler';
import { type BuiltinContext, type BuiltinResult, ScenarioError } from './builtins';
import { MEMORY_BUILTIN_NAMES } from './builtins-memory';
import { fireDeferred, eventsAt } from './events';
import { afterOutcome } from './exceptions';
import { RETURNS_VALUE, createShadow } from './invariants';
import { checkXfdCache, compareWithBareMetal, guestObservesBareMetal } from './invariant-checks';
import { type KObject, SCHEMAS, fieldProblem } from './kernel-objects';
import type { Frame, ThreadState } from './machine';
import { complete } from './program-index';
import { TRACKED_FIELDS, noteFieldWrite, noteInstruction, registersBefore, trackComponentWrites } from './provenance';
import { noteRegisterChanges } from './register-writes';
import { completeSwitch, endThread, switchOut, toUser } from './scheduler';
import { enterHandler, handlerReturned, requestHandler, setReturnIp } from './signals';
import { taskRequest } from './tasks';
import { copyUserState, userReferenceMemory } from './user-reference';
import { type StepContext, trace } from './step-context';
import { type Value, U64_MASK, isRef, showValue, truthy } from './value';
import { completeGuestInstruction, enterGuest, guestOf, migrateGuest, vcpuOf } from './vmx-transitions';

const MAX_OPS_PER_STEP = 1_000_000;

/** The builtins of the XSAVE family: they read XMODIFIED and write memory, not registers (provenance.ts). */
const SAVES_STATE = new Set(['xsave', 'xsaveopt', 'xsavec', 'xsaves']);

/** Runs one statement of `th` (or the rest of the one in progress). */
export function exec(x: StepContext, th: ThreadState): void {
  const p = x.code.program;
  const cpu = x.cpu;
  // A step that resumes a statement in progress (after a VM exit completed vmenter(), after a
  // handler returned) finishes that statement and stops at the next one.
  const first = th.frames[th.frames.length - 1];
  let started = first !== undefined && first.kind !== 'vmentry' && p.functions[first.fn]!.code[first.pc]!.op !== Op.STMT;
  for (let ops = 0; ops < MAX_OPS_PER_STEP; ops++) {
    const f = th.frames[th.frames.length - 1];
    if (!f) { endThread(x, th, 'exited'); return; }
    if (f.kind === 'vmentry') throw new ScenarioError('internal: a [VM entry] frame on top of the stack');
    const fn = p.functions[f.fn]!;
    const ins = fn.code[f.pc]!;
    switch (ins.op) {
      case Op.STMT:
        if (started) return;
        if (eventsAt(x, th, f, ins.a)) return;
        started = true;
        f.stmt = ins.a;
        f.pc++;
        break;
      case Op.PUSH: f.stack.push(p.literals[ins.a]!); f.pc++; break;
      case Op.LOAD: f.stack.push(f.locals[ins.a]!); f.pc++; break;
      case Op.STORE: f.locals[ins.a] = f.stack.pop()!; f.pc++; break;
      case Op.DUP: f.stack.push(f.stack[f.stack.length - 1]!); f.pc++; break;
      case Op.POP: f.stack.pop(); f.pc++; break;
      case Op.GLOBAL: f.stack.push(global(x, p.names[ins.a]!, th)); f.pc++; break;
      case Op.FIELD: {
        const name = p.names[ins.a]!;
        const o = object(x, f.stack.pop()!, name);
        const v = o.fields[name];
        if (v === undefined) throw new ScenarioError(fieldProblem(o.type, name, null) ?? `${o.type} has no field '${name}'`);
        if (o.type === 'percpu' && name === 'xfd_state') checkXfdCache(x, th, o);
        if (x.fp) { x.fp.objR.add(o.id); if (o.type === 'percpu') x.fp.other = true; }
        f.stack.push(v);
        f.pc++;
        break;
      }
      case Op.STORE_FIELD: {
        const v = f.stack.pop()!;
        const name = p.names[ins.a]!;
        const o = object(x, f.stack.pop()!, name);
        const problem = fieldProblem(o.type, name, v);
        if (problem) throw new ScenarioError(problem);
        const kind = SCHEMAS[o.type]![name]!;
        if (kind !== 'u64' && isRef(v) && x.state.heap[v.ref]!.type !== kind.ref) {
          throw new ScenarioError(`${o.type}.${name} holds a ${kind.ref}, not a ${x.state.heap[v.ref]!.type}`);
        }
        o.fields[name] = v;
        if (x.fp) x.fp.objW.add(o.id);
        if (TRACKED_FIELDS[o.type]?.includes(name)) noteFieldWrite(x.state.provenance, o.id, o.type, name, { step: x.state.steps, fn: f.fn, stmt: f.stmt });
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
          const n = int(v, op);
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
          const r = binaryValue(op, int(a, op), int(b, op));
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
        if (x.fp) x.fp.other = true;
        const ok = truthy(f.stack.pop()!);
        f.pc++;
        const st = fn.stmts[f.stmt]!;
        if (ok) { x.state.passedAssertions++; break; }
        const failure = {
          step: x.state.steps, message: p.names[ins.a]!, file: st.file, line: st.range.start.line,
          column: st.range.start.column, thread: th.name,
        };
        x.state.failedAssertions.push(failure);
        trace(x, 'assert', `${th.name}: assertion failed at ${st.file}:${st.range.start.line}: ${failure.message}`);
        x.out.push({ kind: 'assertion', cpu: x.c, thread: th.id, message: failure.message, file: st.file, line: failure.line, column: failure.column });
        break;
      }
      case Op.SPAWN: {
        if (x.fp) x.fp.other = true;
        const name = `${th.process}.${p.names[ins.a]!}`;
        const t = x.state.threads.find((y) => y.name === name)!;
        if (t.status !== 'waiting') throw new ScenarioError(`thread ${name} was already started`);
        t.status = 'runnable';
        t.cpu = x.c;
        x.state.runQueues[x.c]!.push(t.id);
        trace(x, 'sched', `${th.name} spawns ${name}`);
        f.pc++;
        break;
      }
      case Op.CALL: {
        if (th.frames.length >= x.code.maxFrames) throw new ScenarioError(`call depth exceeds ${x.code.maxFrames} frames (runaway recursion?)`);
        const args = f.stack.splice(f.stack.length - ins.b, ins.b);
        const callee = p.functions[ins.a]!;
        const syscall = fn.context === 'user' && callee.context === 'kernel';
        if (syscall && x.fp) x.fp.other = true;
        f.pc++;
        th.frames.push(x.code.frame(ins.a, syscall ? 'syscall' : 'call', syscall ? 0 : f.cpl, args));
        cpu.cpl = syscall ? 0 : f.cpl;
        x.out.push({ kind: 'call', cpu: x.c, thread: th.id, fn: ins.a, name: callee.name });
        break;
      }
      case Op.RETURN:
        if (x.fp && !plainReturn(th, f)) x.fp.other = true;
        if (doReturn(x, th, f, f.stack.pop()!) || x.state.halted) return;
        break;
      case Op.BUILTIN: if (builtin(x, th, f, ins.a, ins.b)) return; break;
    }
  }
  throw new ScenarioError(`a statement ran more than ${MAX_OPS_PER_STEP} operations`);
}

function int(v: Value, op: string): bigint {
  if (typeof v === 'bigint') return v;
  throw new ScenarioError(`'${op}' needs an integer, not an object reference`);
}

function object(x: StepContext, v: Value, field: string): KObject {
  if (typeof v === 'bigint') {
    throw new ScenarioError(v === 0n ? `NULL dereference reading '${field}'` : `'${field}' of an integer (0x${v.toString(16)}), not an object`);
  }
  return x.state.heap[v.ref]!;
}

function global(x: StepContext, name: string, th: ThreadState): Value {
  if (name === 'current') return { ref: th.task };
  if (name === 'this_cpu') return { ref: x.state.percpu[x.c]! };
  const id = x.state.globals[name];
  if (id !== undefined) return { ref: id };
  throw new ScenarioError(`no global '${name}'`);
}

/**
 * Whether returning from `f` (the top frame) only pops it and hands its value to the caller: an
 * ordinary call below a caller of the same privilege, no interrupt flag to restore (doReturn).
 */
export function plainReturn(th: ThreadState, f: Frame): boolean {
  const caller = th.frames[th.frames.length - 2];
  return caller !== undefined && f.kind === 'call' && caller.kind !== 'vmentry' && caller.cpl === f.cpl && f.irqOffBefore === undefined;
}

/** Returns from frame `f`; true when the step must end (the thread exited or was switched out). */
function doReturn(x: StepContext, th: ThreadState, f: Frame, v: Value): boolean {
  th.frames.pop();
  const cpu = x.cpu;
  const caller = th.frames[th.frames.length - 1];
  if (!caller) {
    th.exitValue = typeof v === 'bigint' ? v : 0n;
    endThread(x, th, 'exited');
    return true;
  }
  if (caller.kind === 'vmentry') {
    // The guest's outermost function returned: the guest runs off its end and halts.
    guestOf(x.state, caller.vcpu).finished = true;
    trace(x, 'guest', 'guest code returned from its outermost function: HLT');
    afterOutcome(x, th, caller, hlt(cpu), null);
    return true;
  }
  cpu.cpl = caller.cpl;
  // A signal handler returns through rt_sigreturn() to the code it interrupted (signals.ts).
  if (f.kind === 'signal') { handlerReturned(x, th); return false; }
  // A call returns its value. A handler or hook returns to the interrupted frame as it was: a
  // faulting instruction is still at its BUILTIN op with its operands, and runs again.
  const resumes = f.kind === 'exception' || f.kind === 'hook' || f.kind === 'exit-to-user' || f.kind === 'switch';
  if (!resumes) caller.stack.push(v);
  if (f.kind === 'switch') {
    if (f.irqOffBefore !== undefined) x.state.irqOff[x.c] = f.irqOffBefore;
    completeSwitch(x, th);
    return true;
  }
  // Back to user code: exit_to_user_mode() runs first, still with interrupts off, and the return
  // to user mode restores them to what the handler interrupted (its frame carries that value).
  if (f.cpl === 0 && caller.cpl === 3 && f.kind !== 'exit-to-user' && toUser(x, th, f.irqOffBefore)) return false;
  // Registers the kernel set for the task are where its reference CPU starts again.
  if (f.kind === 'exit-to-user' && th.referenceFromTask) {
    const sc = s0(x, th);
    th.shadow = createShadow(cpu.model, sc, true);
    copyUserState(th.shadow.cpu, cpu);
    th.referenceFromTask = false;
  }
  // exit_to_user_mode() delivered a signal: its handler runs first.
  if (f.kind === 'exit-to-user' && th.signalFrames.length) {
    if (f.irqOffBefore !== undefined) x.state.irqOff[x.c] = f.irqOffBefore;
    if (enterHandler(x, th)) {
      if (f.irqOffBefore === false) fireDeferred(x, th);
      return true;
    }
  }
  // IRET: interrupts as they were before the handler; events held meanwhile happen now.
  if (f.irqOffBefore !== undefined) {
    x.state.irqOff[x.c] = f.irqOffBefore;
    if (!f.irqOffBefore) return fireDeferred(x, th);
  }
  return false;
}

/** Runs BUILTIN `index` with `argc` operands on the stack; true when the step must end. */
function builtin(x: StepContext, th: ThreadState, f: Frame, index: number, argc: number): boolean {
  const s = x.state;
  const name = x.code.program.builtins[index]!;
  const guest = x.cpu.vmx.mode === 'non-root';
  // The explorer follows loads, stores and block operations of host kernel code region by region
  // (builtins-memory.ts) and notes CPUID (footprint.ts). Any other builtin is `other`, and may
  // reach memory its own way (XSAVE into a buffer, a header write, a tile load; the VM entry that
  // reads the vCPU's CPUID entries, a signal frame written to the user's stack): every region it
  // or what follows it in this step locates is taken as both read and written (Memory.touched).
  const fp = x.fp;
  if (!fp) return runBuiltin(x, th, f, index, argc, name, guest);
  if (!guest && f.cpl === 0 && name === 'cpuid') { fp.cpu = true; return runBuiltin(x, th, f, index, argc, name, guest); }
  if (!guest && f.cpl === 0 && MEMORY_BUILTIN_NAMES.has(name)) return runBuiltin(x, th, f, index, argc, name, guest);
  fp.other = true;
  s.mem.touched = new Set();
  try {
    return runBuiltin(x, th, f, index, argc, name, guest);
  } finally {
    for (const region of s.mem.touched) {
      const i = s.mem.regions.indexOf(region);
      if (i >= 0) { fp.regR.add(i); fp.regW.add(i); }
    }
    delete s.mem.touched;
  }
}

function runBuiltin(x: StepContext, th: ThreadState, f: Frame, index: number, argc: number, name: string, guest: boolean): boolean {
  const s = x.state;
  x.builtinRuns++;
  const cpu = x.cpu;
  const args = f.stack.slice(f.stack.length - argc);
  const def = x.code.builtins[index]!;
  const before = registersBefore(cpu);
  const heapBefore = s.heap.length;
  const regionsBefore = s.mem.regions.length;
  const fp = x.fp;
  const ctx: BuiltinContext = {
    state: s, cpu, cpuIndex: 0, mem: s.mem, thread: th, fp,
    u64: (a, i, pname) => {
      const v = a[i]!;
      if (typeof v !== 'bigint') throw new ScenarioError(`${name}: '${pname}' must be an integer, not an object reference`);
      return v;
    },
    obj: (a, i, pname, type) => {
      const v = a[i]!;
      if (typeof v === 'bigint') throw new ScenarioError(`${name}: '${pname}' must be a ${type}, not ${v === 0n ? 'NULL' : 'an integer'}`);
      const o = s.heap[v.ref]!;
      if (o.type !== type) throw new ScenarioError(`${name}: '${pname}' must be a ${type}, not a ${o.type}`);
      if (fp) { fp.objR.add(o.id); fp.objW.add(o.id); }
      return o;
    },
  };
  // In a guest, the bare-metal reference executes the instruction too (unless it is the one that
  // exited and is now waiting for the VMM).
  const shadow = guest ? guestOf(s, vcpuOf(th)).shadow : null;
  let ref: BuiltinResult | null = null;
  if (shadow && !shadow.pending) {
    const refBefore = registersBefore(shadow.cpu);
    try {
      ref = def.run({ ...ctx, cpu: shadow.cpu, mem: shadow.mem }, args);
    } catch {
      ref = null; // the real execution reports the argument error
    }
    noteInstruction(shadow.written, shadow.cpu, refBefore, { step: s.steps, fn: f.fn, stmt: f.stmt });
  }
  let r: BuiltinResult;
  let written: bigint;
  try {
    ({ result: r, written } = trackComponentWrites(cpu, SAVES_STATE.has(name), () => def.run(ctx, args)));
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
      const scratch = s.mem.regions.find((y) => y.base === th.scratch)!;
      th.shadow = createShadow(cpu.model, scratch, true);
    }
    const tref = th.shadow.cpu;
    Object.assign(tref, { xcr0: cpu.xcr0, xfd: 0n, cpl: 3 });
    tref.cr4.pke = cpu.cr4.pke;
    try { def.run({ ...ctx, cpu: tref, mem: userReferenceMemory(s.mem, th.scratch, args) }, args); } catch { /* the real run has reported */ }
  }
  noteRegisterChanges(x, th, before, written, guest, hwNm);
  if (s.heap.length !== heapBefore || s.mem.regions.length !== regionsBefore) noteAllocations(x, f, heapBefore);
  if (shadow && ref && ref.kind === 'outcome' && r.kind === 'outcome') compareWithBareMetal(x, th, shadow, name, args, r.outcome, ref.outcome);
  else if (shadow && ref && ref.kind === 'value' && r.kind === 'value' && RETURNS_VALUE.has(name) && r.value !== ref.value) {
    guestObservesBareMetal(x, th, `${name} returned ${showValue(r.value)} in the guest; bare metal returns ${showValue(ref.value)}`, shadow, null);
  }
  switch (r.kind) {
    case 'value': complete(f, argc, r.value); return false;
    case 'outcome': return afterOutcome(x, th, f, r.outcome, argc);
    case 'enter-guest': enterGuest(x, th, r.vcpu); return true;
    case 'guest-complete': completeGuestInstruction(x, th, r.vcpu, r.value); complete(f, argc, 0n); return false;
    case 'fixup': {
      let k = th.frames.length - 1;
      while (k > 0 && th.frames[k]!.kind !== 'exception') k--;
      const below = k > 0 ? th.frames[k - 1]! : undefined;
      const ins = below && below.fn >= 0 ? x.code.program.functions[below.fn]!.code[below.pc] : undefined;
      if (!below || !ins || ins.op !== Op.BUILTIN) throw new ScenarioError('fixup_exception(): not in the handler of a faulting instruction');
      complete(below, ins.b, r.value);
      complete(f, argc, 0n);
      return false;
    }
    case 'task': return taskRequest(x, th, argc, r.request);
    case 'signal-enter': requestHandler(x, th, r.handler, r.args); complete(f, argc, 0n); return false;
    case 'sigreturn-ip': setReturnIp(x, th, r.ip); complete(f, argc, 0n); return false;
    case 'move':
      complete(f, argc, 0n);
      if (r.cpu === x.c) return false;
      th.moveTo = r.cpu;
      switchOut(x, th, -1);
      return true;
    case 'migrate-guest':
      migrateGuest(x, th, r.from, r.to);
      complete(f, argc, 0n);
      return false;
    case 'irq': {
      const c = x.c;
      if (r.op === 'irq-off') s.irqOff[c] = true;
      else if (r.op === 'irq-on') s.irqOff[c] = false;
      else if (r.op === 'preempt-off') s.preemptCount[c]!++;
      else if (s.preemptCount[c]! === 0) throw new ScenarioError('preempt_enable() without preempt_disable()');
      else s.preemptCount[c]!--;
      complete(f, argc, 0n);
      return fireDeferred(x, th);
    }
    case 'kill': th.signal = r.signal; endThread(x, th, 'killed'); return true;
    case 'oops': s.halted = `${x.code.where(th)}${r.text}`; trace(x, 'oops', s.halted); x.out.push({ kind: 'oops', text: s.halted }); return true;
    case 'error': throw new ScenarioError(r.message);
  }
}

/** Objects and memory a builtin allocated: their provenance is this statement. */
function noteAllocations(x: StepContext, f: Frame, heapBefore: number): void {
  const s = x.state;
  const at = { step: s.steps, fn: f.fn, stmt: f.stmt };
  for (let id = heapBefore; id < s.heap.length; id++) noteFieldWrite(s.provenance, id, s.heap[id]!.type, null, at);
  while (s.provenance.regions.length < s.mem.regions.length) s.provenance.regions.push(at);
}

/** The thread's scratch region (what createShadow copies). */
function s0(x: StepContext, th: ThreadState) {
  return x.state.mem.regions.find((r) => r.base === th.scratch)!;
}
