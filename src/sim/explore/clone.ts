// A copy of a MachineState made for the explorer, which copies a state at every branch it takes.
// It is what structuredClone gives (the state is plain data, ARCHITECTURE "State is plain data"),
// only several times faster: it knows which parts the engine never mutates in place and shares
// them (trace entries, violations, kernel references `{ ref }`, model outcomes), copies a CPU's
// register images and the memory regions into one new buffer each (copyBytes), and keeps the one
// aliasing the state has (a CPU's current VMCS is one of `vmcss`; a migrated guest's reference CPU
// is shared by both guest contexts).
import type { CpuState, Memory, Vmcs } from '../../model';
import type { Shadow } from '../invariants';
import { copyProvenance } from '../provenance';
import type { KObject } from '../kernel-objects';
import type { Frame, GuestContext, MachineState, ThreadState } from '../machine';

/** Any plain-data value: objects, arrays, byte arrays, bigints and primitives, copied deeply. */
export function deepCopy<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return v.slice() as T;
  if (Array.isArray(v)) return v.map(deepCopy) as T;
  const out: Record<string, unknown> = {};
  for (const k in v) out[k] = deepCopy((v as Record<string, unknown>)[k]);
  return out as T;
}

function copyFrame(f: Frame): Frame {
  const c: Frame = {
    fn: f.fn, pc: f.pc, stmt: f.stmt, locals: f.locals.slice(), stack: f.stack.slice(), kind: f.kind, cpl: f.cpl,
    vector: f.vector, vcpu: f.vcpu,
  };
  if (f.irqOffBefore !== undefined) c.irqOffBefore = f.irqOffBefore;
  return c;
}

/**
 * Copies of byte arrays, as views of one new buffer: one allocation where a slice() of each would
 * make one each. A byte array of more than 64 bytes has its buffer allocated outside V8's heap, and
 * those allocations, not the bytes, were most of what copying a state cost (a CPU has up to 14
 * register images, a guest scenario's memory 8 regions). Nothing replaces or resizes these arrays,
 * and everything that reads their buffer honours byteOffset (state-hash.ts).
 */
function copyBytes<T extends Uint8Array | null>(arrays: readonly T[]): T[] {
  // Each view starts on an 8-byte boundary, as a buffer of its own would: a region may have any
  // length (kmalloc(5)), and the state hash reads whole aligned words.
  const at = (n: number): number => (n + 7) & ~7;
  let total = 0;
  for (const a of arrays) if (a) total = at(total) + a.length;
  const buf = new Uint8Array(total);
  let off = 0;
  return arrays.map((a) => {
    if (!a) return a;
    off = at(off);
    const v = buf.subarray(off, off + a.length);
    v.set(a);
    off += a.length;
    return v as T;
  });
}

function copyMemory(m: Memory): Memory {
  const bytes = copyBytes(m.regions.map((r) => r.bytes));
  return { regions: m.regions.map((r, i) => ({ base: r.base, bytes: bytes[i]!, name: r.name })) };
}

export function cloneState(s: MachineState): MachineState {
  const vmcss = s.vmcss.map((v) => deepCopy(v));
  const vmcsOf = (v: Vmcs | null): Vmcs | null => {
    if (v === null) return null;
    const i = s.vmcss.indexOf(v);
    return i >= 0 ? vmcss[i]! : deepCopy(v);
  };
  // Field by field (the hot path of a branch): cr0 and cr4 are changed in place, so they are copied;
  // cpuidLimit and xrstorInfo are only ever replaced whole, so they are shared.
  const copyCpu = (c: CpuState): CpuState => {
    // The legacy region and the component images in one buffer (copyBytes).
    const images = copyBytes([c.legacy, ...c.ext]);
    return {
      model: c.model, cpuidLimit: c.cpuidLimit, cr0: { ...c.cr0 }, cr4: { ...c.cr4 }, cpl: c.cpl,
      xcr0: c.xcr0, xss: c.xss, xfd: c.xfd, xfdErr: c.xfdErr, xinuse: c.xinuse, xmodified: c.xmodified,
      xrstorInfo: c.xrstorInfo, legacy: images[0]!, ext: images.slice(1),
      vmx: { mode: c.vmx.mode, vmcs: vmcsOf(c.vmx.vmcs) }, halted: c.halted,
    };
  };
  const shadows = new Map<Shadow, Shadow>();
  const copyShadow = (sh: Shadow | null): Shadow | null => {
    if (sh === null) return null;
    let c = shadows.get(sh);
    // `pending` holds a model outcome, created whole and never changed afterwards.
    if (!c) { c = { cpu: copyCpu(sh.cpu), mem: copyMemory(sh.mem), pending: sh.pending, written: { ...sh.written }, xfdUndefined: sh.xfdUndefined }; shadows.set(sh, c); }
    return c;
  };
  // Property by property in the order boot.ts creates them: a copy then has the hidden class of
  // the thread it copies (a spread does not), so code V8 optimized on the live state runs on a
  // restored copy without being deoptimized (the first step back after a long continue was).
  const threads = s.threads.map((t): ThreadState => ({
    id: t.id, name: t.name, process: t.process, cpu: t.cpu, frames: t.frames.map(copyFrame), status: t.status,
    task: t.task, scratch: t.scratch, exitValue: t.exitValue, signal: t.signal, switchTo: t.switchTo, afterBoot: t.afterBoot,
    moveTo: t.moveTo, shadow: copyShadow(t.shadow), pendingFault: t.pendingFault, stopped: t.stopped,
    signalFrames: t.signalFrames.map((sf) => ({ ...sf, args: [...sf.args] })), referenceFromTask: t.referenceFromTask,
  }));
  const guests = s.guests.map((g): GuestContext => ({ ...g, frames: g.frames.map(copyFrame), shadow: copyShadow(g.shadow) }));
  return {
    steps: s.steps,
    cpus: s.cpus.map(copyCpu),
    mem: copyMemory(s.mem),
    nextAddr: s.nextAddr,
    // As newObject() creates them (the same hidden class; see threads above).
    heap: s.heap.map((o): KObject => ({ id: o.id, type: o.type, fields: { ...o.fields } })),
    threads,
    running: s.running.slice(),
    runQueues: s.runQueues.map((q) => q.slice()),
    nextCpu: s.nextCpu,
    lastThread: s.lastThread,
    guests,
    vmcss,
    globals: { ...s.globals },
    percpu: s.percpu.slice(),
    irqOff: s.irqOff.slice(),
    preemptCount: s.preemptCount.slice(),
    deferred: s.deferred.map((q) => q.slice()),
    // Entries of the trace and violations are written once and never changed.
    trace: s.trace.slice(),
    events: s.events.map((e) => ({ fired: e.fired, hits: e.hits })),
    passedAssertions: s.passedAssertions,
    failedAssertions: s.failedAssertions.slice(),
    violations: s.violations.slice(),
    xfdErrGuestBits: s.xfdErrGuestBits.slice(),
    provenance: copyProvenance(s.provenance),
    halted: s.halted,
  };
}
