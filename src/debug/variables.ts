// The Variables view: scopes of a stopped frame and the tree under them, built from the machine
// state on demand (DESIGN §7). Locals; `CPU n` (registers hint: mode, XCR0, the MSRs, XINUSE, the
// per-CPU variables); the live registers of every state component (expensive: tiles are big); the
// vCPU as KVM sees it; the Task's fpu; the VMCS. Masks show hex with decoded names and expand into
// named bits; an fpstate expands into its fields and its XSAVE buffer, which shows XSTATE_BV,
// XCOMP_BV and each component decoded at its real offset, with a memory reference for the bytes.
// Names stay the same from stop to stop, so VS Code marks what changed. Every child knows the slot
// it shows (a register, a field, a local, bytes), which setVariable and data breakpoints use.
// Tagged handles, reset at every stop.
import { Handles, Scope } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import {
  type CpuState, type Vmcs, XCOMP_BV_COMPACTED, XCOMP_BV_OFFSET, XSTATE_BV_OFFSET, bitsOf, compactedOffset, cpuModel,
  exitReasonName, formatMask, msrIntercepted, msrName, MSR_IA32_XFD, MSR_IA32_XFD_ERR, MSR_IA32_XSS, readBytes, readU64,
  standardLayout, xfeatureName,
} from '../model';
import type { Engine } from '../sim/engine';
import type { RegisterName } from '../sim/expression';
import type { KObject } from '../sim/kernel-objects';
import type { Frame, ThreadState } from '../sim/machine';
import type { Value } from '../sim/value';
import { type ComponentField, componentFields, componentTitle, readLe, tileSummary } from '../runtime/components';
import { type MemoryRef, formatMemoryRef } from '../runtime/memory-references';
import type { Slot } from '../runtime/slots';
import { type StoppedExit, exitFields } from '../runtime/vm-exit';

/** What a variablesReference stands for. */
export type VarRef =
  | { kind: 'locals'; thread: number; frame: number }
  | { kind: 'cpu'; cpu: number }
  | { kind: 'components'; cpu: number }
  | { kind: 'component'; where: ComponentPlace; index: number; path: string }
  | { kind: 'mask'; value: bigint }
  | { kind: 'object'; id: number; path: string }
  | { kind: 'buffer'; fpstate: number; path: string }
  | { kind: 'task'; thread: number }
  | { kind: 'vcpu'; id: number }
  | { kind: 'vmcs'; index: number }
  | { kind: 'msr-list'; index: number; list: 'entryMsrLoad' | 'exitMsrStore' | 'exitMsrLoad' }
  | { kind: 'vmexit'; exit: StoppedExit };

/** Where a component's bytes are: a CPU's live registers, or an XSAVE buffer at an address. */
export type ComponentPlace = { kind: 'cpu'; cpu: number } | { kind: 'buffer'; addr: bigint; offset: number };

export interface Child {
  readonly variable: DebugProtocol.Variable;
  readonly slot: Slot | null;
}

/** Field names shown as masks wherever they appear (Linux's u64 feature masks). */
const MASK_FIELDS = new Set([
  'xfeatures', 'user_xfeatures', 'xfd', 'xfd_err', 'xcr0', 'ia32_xss', 'guest_supported_xcr0', 'perm', '__state_perm',
  'max_features', 'default_features', 'legacy_features', 'independent_features', 'xfd_state',
]);

/** Byte counts: shown in decimal, as the kernel prints them ("context size is 10752 bytes"), whatever the toggle. */
const SIZE_FIELDS = new Set(['size', 'user_size', 'uabi_size', '__state_size', '__user_state_size', 'max_size', 'default_size']);
/** Fields the kernel declares bool: shown as true/false. */
const BOOL_FIELDS = new Set(['is_valloc', 'is_guest', 'is_confidential', 'in_use', 'guest_cpuid_xfd', 'xfd_no_write_intercept', 'in_kernel_fpu', 'exit_request']);

/** Component images of every CPU model, for the expensive scope (each is listed when the CPU has it). */
const LIVE_COMPONENTS = [0, 1, 2, 5, 6, 7, 9, 17, 18];

export class VariableTree {
  private handles = new Handles<VarRef>();
  /** Numbers in decimal instead of hex (the toggle); masks keep their decoded names either way. */
  decimal = false;

  constructor(private readonly engine: () => Engine | null) {}

  /** New handles at every stop: old references must not name new things. */
  reset(): void {
    this.handles.reset();
  }

  get(ref: number): VarRef | undefined {
    return this.handles.get(ref);
  }

  // ---- scopes -------------------------------------------------------------------------------------

  /**
   * `exit`: the VM exit this stop reported, shown first in the stopped thread's scopes (the host
   * has not yet read it into its locals: `let reason = vmenter(vcpu)` has not completed).
   */
  scopes(thread: ThreadState, frame: number, exit: StoppedExit | null = null): DebugProtocol.Scope[] {
    const e = this.engine()!;
    const scopes: DebugProtocol.Scope[] = [];
    if (exit && exit.thread === thread.id) scopes.push(new Scope('VM exit', this.handles.create({ kind: 'vmexit', exit }), false));
    const f = thread.frames[frame];
    if (f && f.fn >= 0) scopes.push(new Scope('Locals', this.handles.create({ kind: 'locals', thread: thread.id, frame }), false));
    const cpu = new Scope(`CPU ${thread.cpu}`, this.handles.create({ kind: 'cpu', cpu: thread.cpu }), false) as DebugProtocol.Scope;
    cpu.presentationHint = 'registers';
    scopes.push(cpu);
    const vcpu = vcpuOf(e, thread, frame);
    if (vcpu !== null) scopes.push(new Scope('vCPU', this.handles.create({ kind: 'vcpu', id: vcpu }), false));
    scopes.push(new Scope('Task', this.handles.create({ kind: 'task', thread: thread.id }), false));
    if (vcpu !== null) {
      const h = e.state.heap[vcpu]!.fields.vmcs;
      if (typeof h === 'bigint' && h < BigInt(e.state.vmcss.length)) {
        scopes.push(new Scope('VMCS', this.handles.create({ kind: 'vmcs', index: Number(h) }), false));
      }
    }
    const regs = new Scope(`Components (CPU ${thread.cpu})`, this.handles.create({ kind: 'components', cpu: thread.cpu }), true) as DebugProtocol.Scope;
    regs.presentationHint = 'registers';
    scopes.push(regs);
    return scopes;
  }

  // ---- variables ----------------------------------------------------------------------------------

  variables(ref: number): DebugProtocol.Variable[] | null {
    const r = this.handles.get(ref);
    if (!r) return null;
    return this.children(r).map((c) => c.variable);
  }

  /** The children of a reference with their slots (for setVariable and dataBreakpointInfo). */
  children(r: VarRef): Child[] {
    const e = this.engine();
    if (!e) return [];
    const s = e.state;
    switch (r.kind) {
      case 'locals': {
        const th = s.threads[r.thread];
        const f = th?.frames[r.frame];
        const fn = f ? e.fn(f) : null;
        if (!th || !f || !fn) return [];
        return fn.locals.map((name, i) => ({
          variable: this.value(name, f.locals[i]!, name, null),
          slot: { kind: 'local', thread: r.thread, frame: r.frame, index: i },
        }));
      }
      case 'cpu': return this.cpuChildren(r.cpu);
      case 'vmexit':
        return exitFields(r.exit).map(({ name, value }) => ({ variable: { name, value, variablesReference: 0 }, slot: null }));
      case 'components': {
        const c = s.cpus[r.cpu];
        if (!c) return [];
        const model = cpuModel(c.model);
        const have = model.xcr0Supported | model.xssSupported;
        return LIVE_COMPONENTS.filter((i) => (have >> BigInt(i)) & 1n).map((i) => ({
          variable: {
            name: componentTitle(i),
            value: `${(c.xinuse >> BigInt(i)) & 1n ? 'in use' : 'init (XINUSE = 0)'}`,
            variablesReference: this.handles.create({ kind: 'component', where: { kind: 'cpu', cpu: r.cpu }, index: i, path: '' }),
            memoryReference: formatMemoryRef({ kind: 'cpu', cpu: r.cpu, component: i, offset: 0 }),
          },
          slot: null,
        }));
      }
      case 'component': return this.componentChildren(r.where, r.index);
      case 'mask': {
        const out: Child[] = [];
        for (const i of bitsOf(r.value)) out.push({ variable: { name: `[${i}]`, value: xfeatureName(i), variablesReference: 0 }, slot: null });
        return out;
      }
      case 'object': return this.objectChildren(s.heap[r.id], r.path);
      case 'buffer': return this.bufferChildren(s.heap[r.fpstate]);
      case 'task': {
        const th = s.threads[r.thread];
        const task = th ? s.heap[th.task] : undefined;
        if (!th || !task) return [];
        const ts = refObject(s.heap, task.fields.thread);
        const fpu = ts ? refObject(s.heap, ts.fields.fpu) : undefined;
        const ti = refObject(s.heap, task.fields.thread_info);
        const out: Child[] = [
          { variable: { name: 'comm', value: th.name, variablesReference: 0 }, slot: null },
          { variable: this.value('pid', task.fields.pid!, 'current.pid', 'pid'), slot: { kind: 'field', object: task.id, field: 'pid' } },
        ];
        if (ti) {
          const flags = ti.fields.flags as bigint;
          out.push({
            variable: { name: 'TIF_NEED_FPU_LOAD', value: (flags >> 14n) & 1n ? '1' : '0', variablesReference: 0, evaluateName: 'current.thread_info.flags' },
            slot: null,
          });
        }
        if (fpu) out.push(...this.objectChildren(fpu, 'current.thread.fpu'));
        return out;
      }
      case 'vcpu': {
        const v = s.heap[r.id];
        if (!v) return [];
        const out = this.objectChildren(v, 'vcpu');
        const arch = refObject(s.heap, v.fields.arch);
        if (arch) out.push(...this.objectChildren(arch, 'vcpu.arch').map((c) => c.variable.name === 'exit_reason'
          ? { ...c, variable: { ...c.variable, value: `${c.variable.value} (${exitReasonName(Number(arch.fields.exit_reason as bigint))})` } }
          : c));
        return out.filter((c) => c.variable.name !== 'arch');
      }
      case 'vmcs': return this.vmcsChildren(s.vmcss[r.index], r.index);
      case 'msr-list': {
        const v = s.vmcss[r.index];
        return (v?.[r.list] ?? []).map((m, k) => ({
          variable: { name: `[${k}] ${msrName(m.index)}`, value: this.mask(m.value), variablesReference: this.maskRef(m.value) },
          slot: null,
        }));
      }
    }
  }

  private cpuChildren(k: number): Child[] {
    const e = this.engine()!;
    const c: CpuState | undefined = e.state.cpus[k];
    if (!c) return [];
    const reg = (name: RegisterName, v: bigint): Child => ({
      variable: { name, value: this.mask(v), variablesReference: this.maskRef(v), evaluateName: name },
      slot: { kind: 'register', cpu: k, name },
    });
    const percpu = e.state.heap[e.state.percpu[k]!];
    return [
      { variable: { name: 'mode', value: c.vmx.mode === 'non-root' ? 'guest (VMX non-root)' : c.vmx.mode === 'root' ? 'host (VMX root)' : 'host', variablesReference: 0 }, slot: null },
      { variable: { name: 'CPL', value: String(c.cpl), variablesReference: 0, evaluateName: 'CPL' }, slot: null },
      reg('XCR0', c.xcr0),
      reg('IA32_XSS', c.xss),
      reg('IA32_XFD', c.xfd),
      reg('IA32_XFD_ERR', c.xfdErr),
      { variable: { name: 'XINUSE', value: this.mask(c.xinuse), variablesReference: this.maskRef(c.xinuse), evaluateName: 'XINUSE' }, slot: { kind: 'register', cpu: k, name: 'XINUSE' } },
      { variable: { name: 'CR0.TS', value: c.cr0.ts ? '1' : '0', variablesReference: 0 }, slot: { kind: 'register', cpu: k, name: 'CR0.TS' } },
      { variable: { name: 'CR4.OSXSAVE', value: c.cr4.osxsave ? '1' : '0', variablesReference: 0 }, slot: null },
      ...(percpu ? [{ variable: this.objectVariable('this_cpu', percpu, 'this_cpu'), slot: null }] : []),
    ];
  }

  private componentChildren(where: ComponentPlace, i: number): Child[] {
    const bytes = this.componentBytes(where, i);
    if (!bytes) return [];
    const { b, off, size, tilecfg } = bytes;
    return componentFields(i, b, off, size, tilecfg).map((f) => this.fieldChild(f, where, i, b, off));
  }

  private fieldChild(f: ComponentField, where: ComponentPlace, i: number, b: Uint8Array, off: number): Child {
    const mem: MemoryRef = where.kind === 'cpu'
      ? { kind: 'cpu', cpu: where.cpu, component: i, offset: f.offset }
      : { kind: 'mem', addr: where.addr + BigInt(where.offset + f.offset) };
    const v = readLe(b, off + f.offset, f.size);
    const value = f.tile !== undefined ? tileSummary(b, off + f.offset, f.tile)
      : f.note ? f.note
        : f.size > 8 ? wide(v, f.size) : this.int(v);
    const variable: DebugProtocol.Variable = { name: f.name, value, variablesReference: 0 };
    if (f.tile !== undefined || f.size > 8) variable.memoryReference = formatMemoryRef(mem);
    return { variable, slot: f.note || f.tile !== undefined ? null : { kind: 'bytes', mem, size: f.size, name: f.name } };
  }

  /** The bytes of component i: the CPU's image, or the buffer's bytes at the component's offset. */
  private componentBytes(where: ComponentPlace, i: number): { b: Uint8Array; off: number; size: number; tilecfg: Uint8Array | null } | null {
    const e = this.engine()!;
    if (where.kind === 'cpu') {
      const c = e.state.cpus[where.cpu];
      if (!c) return null;
      if (i < 2) return { b: c.legacy, off: 0, size: 512, tilecfg: null };
      const img = c.ext[i];
      if (!img) return null;
      return { b: img, off: 0, size: img.length, tilecfg: c.ext[17] ?? null };
    }
    const size = i < 2 ? 512 : cpuModel(e.state.cpus[0]!.model).components.get(i)?.size ?? 0;
    const b = readBytes(e.state.mem, where.addr + BigInt(where.offset), size);
    if (!b) return null;
    return { b, off: 0, size, tilecfg: null };
  }

  private objectChildren(o: KObject | undefined, path: string): Child[] {
    if (!o) return [];
    const out: Child[] = [];
    for (const [field, v] of Object.entries(o.fields)) {
      const evaluateName = path ? `${path}.${field}` : undefined;
      out.push({ variable: this.value(field, v, evaluateName, field), slot: { kind: 'field', object: o.id, field } });
      if (o.type === 'fpstate' && field === 'regs' && typeof v === 'bigint' && v !== 0n) {
        // The XSAVE buffer behind &fpstate->regs, decoded.
        out[out.length - 1] = {
          variable: {
            ...out[out.length - 1]!.variable,
            variablesReference: this.handles.create({ kind: 'buffer', fpstate: o.id, path: evaluateName ?? '' }),
            memoryReference: formatMemoryRef({ kind: 'mem', addr: v }),
          },
          slot: { kind: 'field', object: o.id, field },
        };
      }
    }
    return out;
  }

  private bufferChildren(fp: KObject | undefined): Child[] {
    const e = this.engine()!;
    if (!fp) return [];
    const addr = fp.fields.regs as bigint;
    const hdr = readBytes(e.state.mem, addr + BigInt(XSTATE_BV_OFFSET), 16);
    if (!hdr) return [{ variable: { name: 'buffer', value: `unmapped at 0x${addr.toString(16)}`, variablesReference: 0 }, slot: null }];
    const xstateBv = readU64(hdr, 0);
    const xcompBv = readU64(hdr, 8);
    const compacted = (xcompBv & XCOMP_BV_COMPACTED) !== 0n;
    const model = cpuModel(e.state.cpus[0]!.model);
    const out: Child[] = [
      { variable: { name: 'XSTATE_BV', value: this.mask(xstateBv), variablesReference: this.maskRef(xstateBv) }, slot: { kind: 'bytes', mem: { kind: 'mem', addr: addr + BigInt(XSTATE_BV_OFFSET) }, size: 8, name: 'XSTATE_BV' } },
      { variable: { name: 'XCOMP_BV', value: this.mask(xcompBv), variablesReference: this.maskRef(xcompBv) }, slot: { kind: 'bytes', mem: { kind: 'mem', addr: addr + BigInt(XCOMP_BV_OFFSET) }, size: 8, name: 'XCOMP_BV' } },
      { variable: { name: 'format', value: compacted ? 'compacted' : 'standard', variablesReference: 0 }, slot: null },
    ];
    // Components the buffer holds: XCOMP_BV's in the compacted format (SDM Vol1 13.4.3), else the
    // fpstate's xfeatures, each at its offset in that format.
    const features = (compacted ? xcompBv & ~XCOMP_BV_COMPACTED : fp.fields.xfeatures as bigint) | 3n;
    const standard = new Map(standardLayout(model, model.xcr0Supported | model.xssSupported).map((l) => [l.index, l.offset]));
    for (const i of bitsOf(features)) {
      const offset = i < 2 ? 0 : compacted ? compactedOffset(model, xcompBv & ~XCOMP_BV_COMPACTED, i) : standard.get(i);
      if (offset === undefined) continue;
      const inUse = ((xstateBv >> BigInt(i)) & 1n) === 1n;
      out.push({
        variable: {
          name: componentTitle(i),
          value: `${inUse ? '' : 'init (XSTATE_BV = 0), '}at +0x${offset.toString(16)}`,
          variablesReference: inUse ? this.handles.create({ kind: 'component', where: { kind: 'buffer', addr, offset }, index: i, path: '' }) : 0,
          memoryReference: formatMemoryRef({ kind: 'mem', addr: addr + BigInt(offset) }),
        },
        slot: null,
      });
    }
    return out;
  }

  private vmcsChildren(v: Vmcs | undefined, index: number): Child[] {
    if (!v) return [];
    const vectors = bitsOf(BigInt(v.exceptionBitmap >>> 0)).map((x) => VECTOR_NAMES[x] ?? `#${x}`);
    const intercept = (msr: number): string => {
      const r = msrIntercepted(v, msr, false);
      const w = msrIntercepted(v, msr, true);
      return r && w ? 'read, write' : r ? 'read' : w ? 'write' : 'passthrough';
    };
    const list = (name: string, l: 'entryMsrLoad' | 'exitMsrStore' | 'exitMsrLoad'): Child => ({
      variable: {
        name, value: v[l].length ? v[l].map((m) => msrName(m.index)).join(', ') : 'empty',
        variablesReference: v[l].length ? this.handles.create({ kind: 'msr-list', index, list: l }) : 0,
      },
      slot: null,
    });
    const exit = v.exit;
    return [
      { variable: { name: 'EXCEPTION_BITMAP', value: `${this.hex(BigInt(v.exceptionBitmap >>> 0))} [${vectors.join(' ')}]`, variablesReference: 0 }, slot: null },
      { variable: { name: `MSR bitmap: ${msrName(MSR_IA32_XFD)}`, value: intercept(MSR_IA32_XFD), variablesReference: 0 }, slot: null },
      { variable: { name: `MSR bitmap: ${msrName(MSR_IA32_XFD_ERR)}`, value: intercept(MSR_IA32_XFD_ERR), variablesReference: 0 }, slot: null },
      { variable: { name: `MSR bitmap: ${msrName(MSR_IA32_XSS)}`, value: intercept(MSR_IA32_XSS), variablesReference: 0 }, slot: null },
      list('VM-entry MSR-load', 'entryMsrLoad'),
      list('VM-exit MSR-store', 'exitMsrStore'),
      list('VM-exit MSR-load', 'exitMsrLoad'),
      { variable: { name: 'VM-entry interruption info', value: this.hex(BigInt(v.entryIntrInfo >>> 0)), variablesReference: 0 }, slot: null },
      { variable: { name: 'exit reason', value: exit ? `${exit.reason >>> 0} (${exit.name})` : 'none yet', variablesReference: 0 }, slot: null },
      { variable: { name: 'exit qualification', value: exit ? this.hex(exit.qualification) : '-', variablesReference: 0 }, slot: null },
      { variable: { name: 'exit interruption info', value: exit ? this.hex(BigInt(exit.intrInfo >>> 0)) : '-', variablesReference: 0 }, slot: null },
    ];
  }

  // ---- formatting (the one place values become text) -------------------------------------------

  /** A variable for a language value: integers as numbers (masks decoded), references expandable. */
  value(name: string, v: Value, evaluateName: string | undefined | null, field: string | null): DebugProtocol.Variable {
    const e = this.engine();
    if (typeof v !== 'bigint') {
      const o = e?.state.heap[v.ref];
      if (o) return this.objectVariable(name, o, evaluateName ?? undefined);
      return { name, value: `&obj${v.ref}`, variablesReference: 0 };
    }
    const isMask = field !== null && MASK_FIELDS.has(field);
    let text: string;
    if (isMask) text = this.mask(v);
    else if (field !== null && SIZE_FIELDS.has(field)) text = this.size(v);
    else if (field !== null && BOOL_FIELDS.has(field) && v <= 1n) text = v ? 'true' : 'false';
    else text = this.int(v);
    const out: DebugProtocol.Variable = { name, value: text, variablesReference: isMask ? this.maskRef(v) : 0 };
    if (evaluateName) out.evaluateName = evaluateName;
    return out;
  }

  private objectVariable(name: string, o: KObject, evaluateName: string | undefined): DebugProtocol.Variable {
    const s = this.engine()!.state;
    let summary = `${o.type}`;
    if (o.type === 'fpstate') {
      const regs = o.fields.regs as bigint;
      summary = `fpstate @0x${regs.toString(16)} size ${this.size(o.fields.size as bigint)} xfeatures ${formatMask(o.fields.xfeatures as bigint)}`;
    } else if (o.type === 'vcpu') summary = `vcpu ${o.fields.vcpu_id}`;
    else if (o.type === 'task') summary = `task ${s.threads.find((t) => t.task === o.id)?.name ?? o.fields.pid}`;
    const out: DebugProtocol.Variable = { name, value: summary, variablesReference: this.handles.create({ kind: 'object', id: o.id, path: evaluateName ?? '' }) };
    if (evaluateName) out.evaluateName = evaluateName;
    return out;
  }

  mask(v: bigint): string {
    if (!this.decimal) return formatMask(v);
    const names = formatMask(v).replace(/^0x[0-9a-f]+/, '');
    return `${v.toString(10)}${names}`;
  }

  /** A byte count: "10752 (0x2a00)"; decimal alone once the toggle says decimal. */
  size(v: bigint): string {
    return this.decimal ? v.toString(10) : `${v.toString(10)} (0x${v.toString(16)})`;
  }

  int(v: bigint): string {
    return this.decimal ? v.toString(10) : `0x${v.toString(16)}`;
  }

  hex(v: bigint): string {
    return this.int(v);
  }

  private maskRef(v: bigint): number {
    return v ? this.handles.create({ kind: 'mask', value: v }) : 0;
  }
}

/** Exception vectors by number, as the SDM names them (Vol3 Table 6-1). */
export const VECTOR_NAMES: Readonly<Record<number, string>> = {
  0: '#DE', 1: '#DB', 3: '#BP', 4: '#OF', 5: '#BR', 6: '#UD', 7: '#NM', 8: '#DF', 10: '#TS', 11: '#NP', 12: '#SS',
  13: '#GP', 14: '#PF', 16: '#MF', 17: '#AC', 18: '#MC', 19: '#XM', 20: '#VE', 21: '#CP',
};

/** A vector register's value: hex with every digit of its width. */
function wide(v: bigint, size: number): string {
  return `0x${v.toString(16).padStart(size * 2, '0')}`;
}

function refObject(heap: KObject[], v: Value | undefined): KObject | undefined {
  return v !== undefined && typeof v !== 'bigint' ? heap[v.ref] : undefined;
}

/** The vCPU a thread works on at `frame`: the one it entered, else a vcpu reference in its locals. */
export function vcpuOf(e: Engine, th: ThreadState, frame: number): number | null {
  for (let k = th.frames.length - 1; k >= 0; k--) if (th.frames[k]!.kind === 'vmentry') return th.frames[k]!.vcpu;
  const frames: Frame[] = [th.frames[frame]!, ...th.frames].filter(Boolean);
  for (const f of frames) {
    for (const v of f.locals) {
      if (typeof v !== 'bigint' && e.state.heap[v.ref]?.type === 'vcpu') return v.ref;
    }
  }
  return null;
}
