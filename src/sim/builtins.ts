// The builtins: each binds a hardware instruction of the model, a VMX operation, or a memory or
// kernel-object allocation to a name scenario code calls. Kernel logic never lives here (DESIGN
// §5, issue "kernel logic belongs in the language"): a builtin does what one instruction or one
// allocation does. Each declares its parameters and the contexts that may call it; the compiler
// checks both, the engine runs `run`.
import {
  type CpuState, type Memory, type MsrEntry, type Outcome, type Vmcs, XCOMP_BV_COMPACTED, compacted, locate, readU64, writeU64, compactedSize, cpuModel, fld, fninit,
  kmovq, ldmxcsr, ldtilecfg, mapRegion, movdqa, rdmsr, setMsrIntercept, sttilecfg, tdpbssd, tileloadd, tilerelease,
  tilestored, tilezero, vmovdqa64Zmm, vmovdqaYmm, vzeroall, vzeroupper, wrmsr, wrpkru, xgetbv, xrstorInsn, xsaveInsn,
  xsetbv, createVmcs, hlt,
} from '../model';
import type { Context } from '../lang/code';
import type { BuiltinSpec } from '../lang/compiler';
import { type KObject, newObject } from './kernel-objects';
import type { MachineState, ThreadState } from './machine';
import { VMCS_FIELDS } from './constants';
import { type Value, U64_MASK } from './value';
import { ScenarioError } from './scenario-error';
import { MEMORY_BUILTINS } from './builtins-memory';
import type { Footprint } from './footprint';
import { CPUID_IO_BUILTINS } from './builtins-cpuid-io';
import { TASK_BUILTINS } from './builtins-tasks';
import type { TaskRequest } from './tasks';

/** What a builtin asks the engine to do next. */
export type BuiltinResult =
  | { kind: 'value'; value: Value }
  /** A model instruction's outcome: ok(value), a fault to deliver, a VM exit, a shutdown. */
  | { kind: 'outcome'; outcome: Outcome<unknown> }
  | { kind: 'enter-guest'; vcpu: number }
  /** local_irq_disable/enable, preempt_disable/enable: events may be held back until they allow them. */
  | { kind: 'irq'; op: 'irq-off' | 'irq-on' | 'preempt-off' | 'preempt-on' }
  /** fixup_exception(): the handler skips the faulting instruction, which returns 0. */
  | { kind: 'fixup'; value: bigint }
  /** fork, exit, schedule, stop and wake (tasks.ts). */
  | { kind: 'task'; request: TaskRequest }
  /** handle_signal(): this user handler runs when exit_to_user_mode() returns (signals.ts). */
  | { kind: 'signal-enter'; handler: bigint; args: Value[] }
  /** rt_sigreturn(): the RIP the handler left in the frame. */
  | { kind: 'sigreturn-ip'; ip: bigint }
  /** sched_setaffinity(cpu): the thread moves to another CPU's run queue. */
  | { kind: 'move'; cpu: number }
  /** QEMU's migration of the guest's memory and registers from one vCPU to another. */
  | { kind: 'migrate-guest'; from: number; to: number }
  /** The VMM emulated the guest's pending instruction: it completes with `value`. */
  | { kind: 'guest-complete'; vcpu: number; value: bigint }
  | { kind: 'kill'; signal: number }
  | { kind: 'oops'; text: string }
  | { kind: 'error'; message: string };

export interface BuiltinContext {
  readonly state: MachineState;
  readonly cpu: CpuState;
  readonly cpuIndex: number;
  readonly mem: Memory;
  readonly thread: ThreadState;
  /** What the step touches, while the explorer records it (footprint.ts); else null. */
  readonly fp: Footprint | null;
  /** The argument as an integer, or throws a scenario error naming it. */
  u64(args: Value[], i: number, name: string): bigint;
  /** The argument as a reference to an object of `type`. */
  obj(args: Value[], i: number, name: string, type: string): KObject;
}

export interface BuiltinDef extends BuiltinSpec {
  run(ctx: BuiltinContext, args: Value[]): BuiltinResult;
}

/** Thrown by argument checks; the engine turns it into a scenario error at the calling statement. */
export { ScenarioError };

const K: readonly Context[] = ['kernel'];
const KG: readonly Context[] = ['kernel', 'guest'];
const ALL: readonly Context[] = ['kernel', 'guest', 'user'];

const outcome = (o: Outcome<unknown>): BuiltinResult => ({ kind: 'outcome', outcome: o });
const value = (v: Value): BuiltinResult => ({ kind: 'value', value: v });

function small(ctx: BuiltinContext, args: Value[], i: number, name: string, max: number): number {
  const v = ctx.u64(args, i, name);
  if (v > BigInt(max)) throw new ScenarioError(`${name} must be 0..${max}, not ${v}`);
  return Number(v);
}

/** Machine memory a scenario may allocate (bytes, from address 0x100000 on) and in how many regions. */
export const MAX_MACHINE_MEMORY = 16 << 20;
export const MAX_REGIONS = 1024;

/**
 * Allocates `size` bytes of machine memory, 64-byte aligned, and names the region. Memory is
 * bounded (MAX_MACHINE_MEMORY in MAX_REGIONS regions), so that every step of a run costs bounded
 * time and the step budget bounds the run's time: an allocation past it is a scenario error.
 */
export function allocate(state: MachineState, size: number, name: string): bigint {
  const base = state.nextAddr;
  if (state.mem.regions.length >= MAX_REGIONS || base + BigInt(size) > 0x100000n + BigInt(MAX_MACHINE_MEMORY)) {
    throw new ScenarioError(`out of machine memory: a scenario may allocate ${MAX_MACHINE_MEMORY >> 20} MiB in ${MAX_REGIONS} regions (${name})`);
  }
  mapRegion(state.mem, base, size, name);
  state.nextAddr = (base + BigInt(size) + 4095n) & ~4095n;
  return base;
}

/** Writes a palette-1 TILECFG with the same rows and colsb for all 8 tiles to the thread's scratch page. */
function tilecfgImage(ctx: BuiltinContext, palette: number, rows: number, colsb: number): bigint {
  const at = ctx.thread.scratch;
  const r = ctx.mem.regions.find((x) => x.base === at)!;
  ctx.mem.touched?.add(r);
  r.bytes.fill(0, 0, 64);
  r.bytes[0] = palette;
  if (palette !== 0) {
    for (let t = 0; t < 8; t++) {
      r.bytes[16 + 2 * t] = colsb & 0xff;
      r.bytes[17 + 2 * t] = colsb >> 8;
      r.bytes[48 + t] = rows;
    }
  }
  return at;
}

/** Offset of the tile-source data in a scratch page: 16 rows of 64 bytes after the TILECFG image. */
export const SCRATCH_TILE_DATA = 1024;
export const SCRATCH_SIZE = 4096;

export const BUILTINS: Readonly<Record<string, BuiltinDef>> = {
  // ---- XCR0 and MSRs ------------------------------------------------------------------------
  xsetbv: { params: ['xcr', 'value'], contexts: KG, run: (c, a) => outcome(xsetbv(c.cpu, small(c, a, 0, 'xcr', 0xffffffff), c.u64(a, 1, 'value'))) },
  xgetbv: { params: ['xcr'], contexts: ALL, run: (c, a) => outcome(xgetbv(c.cpu, small(c, a, 0, 'xcr', 0xffffffff))) },
  rdmsr: { params: ['msr'], contexts: KG, run: (c, a) => outcome(rdmsr(c.cpu, small(c, a, 0, 'msr', 0xffffffff))) },
  wrmsr: { params: ['msr', 'value'], contexts: KG, run: (c, a) => outcome(wrmsr(c.cpu, small(c, a, 0, 'msr', 0xffffffff), c.u64(a, 1, 'value'))) },

  // ---- Control registers ----------------------------------------------------------------------
  cr4_set_osxsave: { params: [], contexts: K, run: (c) => { c.cpu.cr4.osxsave = true; return value(0n); } },
  cr4_set_pke: { params: [], contexts: K, run: (c) => { c.cpu.cr4.pke = true; return value(0n); } },
  /**
   * read_cr0(): MOV from CR0. The model keeps only CR0.TS; the other bits read as a 64-bit kernel has
   * them (PE, MP, ET, NE, WP, AM, PG: 0x80050033). In a guest no exit: KVM lets the guest own TS.
   */
  read_cr0: { params: [], contexts: KG, run: (c) => value(0x80050033n | (c.cpu.cr0.ts ? 8n : 0n)) },
  /** CLTS: CR0.TS := 0. */
  clts: { params: [], contexts: KG, run: (c) => { c.cpu.cr0.ts = false; return value(0n); } },
  /** CR0.TS := 1 (what stts() did in old kernels). */
  stts: { params: [], contexts: KG, run: (c) => { c.cpu.cr0.ts = true; return value(0n); } },
  smp_processor_id: { params: [], contexts: K, run: (c) => value(BigInt(c.cpuIndex)) },
  // Host interrupts (external_interrupt, fpu_irq) wait while interrupts are off; context switches
  // (preempt, run) wait while interrupts or preemption are off. They happen at the enable.
  local_irq_disable: { params: [], contexts: K, run: () => ({ kind: 'irq', op: 'irq-off' }) },
  local_irq_enable: { params: [], contexts: K, run: () => ({ kind: 'irq', op: 'irq-on' }) },
  preempt_disable: { params: [], contexts: K, run: () => ({ kind: 'irq', op: 'preempt-off' }) },
  preempt_enable: { params: [], contexts: K, run: () => ({ kind: 'irq', op: 'preempt-on' }) },
  ...CPUID_IO_BUILTINS,
  ...MEMORY_BUILTINS,
  ...TASK_BUILTINS,

  // ---- XSAVE family on a buffer address ---------------------------------------------------------
  ...Object.fromEntries((['XSAVE', 'XSAVEOPT', 'XSAVEC', 'XSAVES'] as const).map((insn) => [insn.toLowerCase(), {
    params: ['buffer', 'mask'], optional: 1, contexts: ALL,
    run: (c: BuiltinContext, a: Value[]) => outcome(xsaveInsn(c.cpu, c.mem, insn, c.u64(a, 0, 'buffer'), a.length > 1 ? c.u64(a, 1, 'mask') : U64_MASK)),
  } satisfies BuiltinDef])),
  ...Object.fromEntries((['XRSTOR', 'XRSTORS'] as const).map((insn) => [insn.toLowerCase(), {
    params: ['buffer', 'mask'], optional: 1, contexts: ALL,
    run: (c: BuiltinContext, a: Value[]) => outcome(xrstorInsn(c.cpu, c.mem, insn, c.u64(a, 0, 'buffer'), a.length > 1 ? c.u64(a, 1, 'mask') : U64_MASK)),
  } satisfies BuiltinDef])),

  // ---- AMX (operands in the thread's scratch page) ---------------------------------------------
  ldtilecfg: {
    params: ['palette', 'rows', 'colsb'], optional: 2, contexts: ALL,
    run: (c, a) => {
      const palette = small(c, a, 0, 'palette', 255);
      const rows = a.length > 1 ? small(c, a, 1, 'rows', 255) : 16;
      const colsb = a.length > 2 ? small(c, a, 2, 'colsb', 0xffff) : 64;
      return outcome(ldtilecfg(c.cpu, c.mem, tilecfgImage(c, palette, rows, colsb)));
    },
  },
  sttilecfg: { params: [], contexts: ALL, run: (c) => outcome(sttilecfg(c.cpu, c.mem, c.thread.scratch)) },
  tileloadd: {
    params: ['tmm'], contexts: ALL,
    run: (c, a) => outcome(tileloadd(c.cpu, c.mem, small(c, a, 0, 'tmm', 7), c.thread.scratch + BigInt(SCRATCH_TILE_DATA), 64n)),
  },
  tilestored: {
    params: ['tmm'], contexts: ALL,
    run: (c, a) => outcome(tilestored(c.cpu, c.mem, c.thread.scratch + BigInt(SCRATCH_TILE_DATA), 64n, small(c, a, 0, 'tmm', 7))),
  },
  tilezero: { params: ['tmm'], contexts: ALL, run: (c, a) => outcome(tilezero(c.cpu, small(c, a, 0, 'tmm', 7))) },
  /**
   * tile_data(): the address TILELOADD reads its 16 rows of 64 bytes from and TILESTORED writes them
   * to, in the running thread's scratch page; in a guest, the vCPU thread's (guest memory is the VMM's).
   */
  tile_data: { params: [], contexts: ALL, run: (c) => value(c.thread.scratch + BigInt(SCRATCH_TILE_DATA)) },
  tilerelease: { params: [], contexts: ALL, run: (c) => outcome(tilerelease(c.cpu)) },
  tdpbssd: {
    params: ['dst', 'src1', 'src2'], contexts: ALL,
    run: (c, a) => outcome(tdpbssd(c.cpu, small(c, a, 0, 'dst', 7), small(c, a, 1, 'src1', 7), small(c, a, 2, 'src2', 7))),
  },

  // ---- Register writes that take components out of their init state, and back --------------------
  fld: { params: ['value'], contexts: ALL, run: (c, a) => outcome(fld(c.cpu, c.u64(a, 0, 'value'))) },
  fninit: { params: [], contexts: ALL, run: (c) => outcome(fninit(c.cpu)) },
  // Scenario values are 64 bits wide; the vector writes spread one over the register as the
  // instructions they stand for do: MOVQ xmm, r64 (the rest of XMMn zeroed, YMM/ZMM upper bits
  // kept: a legacy-SSE write), VPBROADCASTQ ymm/zmm, r64 (every 64-bit lane; VEX/EVEX zero above).
  xmm_write: { params: ['n', 'value'], contexts: ALL, run: (c, a) => outcome(movdqa(c.cpu, small(c, a, 0, 'n', 15), c.u64(a, 1, 'value'))) },
  ymm_write: { params: ['n', 'value'], contexts: ALL, run: (c, a) => outcome(vmovdqaYmm(c.cpu, small(c, a, 0, 'n', 15), broadcast(c.u64(a, 1, 'value'), 4))) },
  zmm_write: { params: ['n', 'value'], contexts: ALL, run: (c, a) => outcome(vmovdqa64Zmm(c.cpu, small(c, a, 0, 'n', 31), broadcast(c.u64(a, 1, 'value'), 8))) },
  kmovq: { params: ['k', 'value'], contexts: ALL, run: (c, a) => outcome(kmovq(c.cpu, small(c, a, 0, 'k', 7), c.u64(a, 1, 'value'))) },
  wrpkru: { params: ['value'], contexts: ALL, run: (c, a) => outcome(wrpkru(c.cpu, small(c, a, 0, 'value', 0xffffffff))) },
  ldmxcsr: { params: ['value'], contexts: ALL, run: (c, a) => outcome(ldmxcsr(c.cpu, small(c, a, 0, 'value', 0xffffffff))) },
  vzeroupper: { params: [], contexts: ALL, run: (c) => outcome(vzeroupper(c.cpu)) },
  vzeroall: { params: [], contexts: ALL, run: (c) => outcome(vzeroall(c.cpu)) },
  hlt: { params: [], contexts: KG, run: (c) => outcome(hlt(c.cpu)) },

  // ---- VMX ----------------------------------------------------------------------------------------
  vmcs_alloc: {
    params: [], contexts: K,
    run: (c) => {
      const v = createVmcs();
      // KVM passes XFD and XFD_ERR reads through from the start; writes to XFD are intercepted
      // until the guest's first write (spec kernel-kvm §4.5a); the policy decides by writing the bitmap.
      c.state.vmcss.push(v);
      return value(BigInt(c.state.vmcss.length - 1));
    },
  },
  vmcs_read: {
    params: ['vmcs', 'field'], contexts: K,
    run: (c, a) => {
      const v = vmcsOf(c, a);
      const f = Number(c.u64(a, 1, 'field'));
      const x = v.exit;
      switch (f) {
        case VMCS_FIELDS.PIN_BASED_VM_EXEC_CONTROL: return value(BigInt(v.pinBased >>> 0));
        case VMCS_FIELDS.CPU_BASED_VM_EXEC_CONTROL: return value(BigInt(v.primary >>> 0));
        case VMCS_FIELDS.SECONDARY_VM_EXEC_CONTROL: return value(BigInt(v.secondary >>> 0));
        case VMCS_FIELDS.EXCEPTION_BITMAP: return value(BigInt(v.exceptionBitmap >>> 0));
        case VMCS_FIELDS.VM_EXIT_CONTROLS: return value(BigInt(v.exitControls >>> 0));
        case VMCS_FIELDS.VM_ENTRY_CONTROLS: return value(BigInt(v.entryControls >>> 0));
        case VMCS_FIELDS.VM_ENTRY_INTR_INFO_FIELD: return value(BigInt(v.entryIntrInfo >>> 0));
        case VMCS_FIELDS.VM_ENTRY_EXCEPTION_ERROR_CODE: return value(BigInt(v.entryErrorCode >>> 0));
        case VMCS_FIELDS.XSS_EXIT_BITMAP: return value(v.xssExitingBitmap);
        case VMCS_FIELDS.VM_EXIT_REASON: return value(BigInt((x?.reason ?? 0) >>> 0));
        case VMCS_FIELDS.VM_EXIT_INTR_INFO: return value(BigInt((x?.intrInfo ?? 0) >>> 0));
        case VMCS_FIELDS.VM_EXIT_INTR_ERROR_CODE: return value(BigInt((x?.intrErrorCode ?? 0) >>> 0));
        case VMCS_FIELDS.EXIT_QUALIFICATION: return value(x?.qualification ?? 0n);
        case VMCS_FIELDS.GUEST_CR0_TS: return value(v.guest.cr0Ts ? 1n : 0n);
        case VMCS_FIELDS.GUEST_CR4_OSXSAVE: return value(v.guest.cr4Osxsave ? 1n : 0n);
        case VMCS_FIELDS.GUEST_CR4_PKE: return value(v.guest.cr4Pke ? 1n : 0n);
        case VMCS_FIELDS.GUEST_CPL: return value(BigInt(v.guest.cpl));
        case VMCS_FIELDS.HOST_CR0_TS: return value(v.host.cr0Ts ? 1n : 0n);
        case VMCS_FIELDS.HOST_CR4_OSXSAVE: return value(v.host.cr4Osxsave ? 1n : 0n);
        default: throw new ScenarioError(`vmcs_read: unknown VMCS field 0x${f.toString(16)}`);
      }
    },
  },
  vmcs_write: {
    params: ['vmcs', 'field', 'value'], contexts: K,
    run: (c, a) => {
      const v = vmcsOf(c, a);
      const f = Number(c.u64(a, 1, 'field'));
      const x = c.u64(a, 2, 'value');
      const u32 = () => { if (x > 0xffffffffn) throw new ScenarioError(`vmcs_write: field 0x${f.toString(16)} is 32 bits wide`); return Number(x) | 0; };
      switch (f) {
        case VMCS_FIELDS.PIN_BASED_VM_EXEC_CONTROL: v.pinBased = u32(); break;
        case VMCS_FIELDS.CPU_BASED_VM_EXEC_CONTROL: v.primary = u32(); break;
        case VMCS_FIELDS.SECONDARY_VM_EXEC_CONTROL: v.secondary = u32(); break;
        case VMCS_FIELDS.EXCEPTION_BITMAP: v.exceptionBitmap = u32(); break;
        case VMCS_FIELDS.VM_EXIT_CONTROLS: v.exitControls = u32(); break;
        case VMCS_FIELDS.VM_ENTRY_CONTROLS: v.entryControls = u32(); break;
        case VMCS_FIELDS.VM_ENTRY_INTR_INFO_FIELD: v.entryIntrInfo = u32(); break;
        case VMCS_FIELDS.VM_ENTRY_EXCEPTION_ERROR_CODE: v.entryErrorCode = u32(); break;
        case VMCS_FIELDS.XSS_EXIT_BITMAP: v.xssExitingBitmap = x; break;
        case VMCS_FIELDS.GUEST_CR0_TS: v.guest.cr0Ts = x !== 0n; break;
        case VMCS_FIELDS.GUEST_CR4_OSXSAVE: v.guest.cr4Osxsave = x !== 0n; break;
        case VMCS_FIELDS.GUEST_CR4_PKE: v.guest.cr4Pke = x !== 0n; break;
        case VMCS_FIELDS.GUEST_CPL: if (x > 3n) throw new ScenarioError('GUEST_CPL is 0..3'); v.guest.cpl = Number(x); break;
        case VMCS_FIELDS.HOST_CR0_TS: v.host.cr0Ts = x !== 0n; break;
        case VMCS_FIELDS.HOST_CR4_OSXSAVE: v.host.cr4Osxsave = x !== 0n; break;
        default: throw new ScenarioError(`vmcs_write: VMCS field 0x${f.toString(16)} is read-only or unknown`);
      }
      return value(0n);
    },
  },
  /** vmx_set_intercept_for_msr: intercept (1) or pass through (0) reads and writes of an MSR. */
  vmcs_set_msr_intercept: {
    params: ['vmcs', 'msr', 'read', 'write'], contexts: K,
    run: (c, a) => {
      const v = vmcsOf(c, a);
      const msr = small(c, a, 1, 'msr', 0xffffffff);
      try {
        setMsrIntercept(v, msr, false, c.u64(a, 2, 'read') !== 0n);
        setMsrIntercept(v, msr, true, c.u64(a, 3, 'write') !== 0n);
      } catch (e) {
        throw new ScenarioError((e as Error).message);
      }
      return value(0n);
    },
  },
  /**
   * Appends an entry to one of the VMCS MSR lists (SDM Vol3 24.7.2, 24.8.2): VM_ENTRY_MSR_LOAD (loaded
   * at entry), VM_EXIT_MSR_STORE (stored at exit), VM_EXIT_MSR_LOAD (loaded at exit).
   */
  vmcs_msr_list_add: {
    params: ['vmcs', 'list', 'msr', 'value'], optional: 1, contexts: K,
    run: (c, a) => {
      const v = vmcsOf(c, a);
      const list = msrList(v, Number(c.u64(a, 1, 'list')));
      list.push({ index: small(c, a, 2, 'msr', 0xffffffff), value: a.length > 3 ? c.u64(a, 3, 'value') : 0n });
      return value(BigInt(list.length - 1));
    },
  },
  /** The value of entry `index` of a VMCS MSR list (what VM exit stored there, for VM_EXIT_MSR_STORE). */
  vmcs_msr_list_read: {
    params: ['vmcs', 'list', 'index'], contexts: K,
    run: (c, a) => {
      const list = msrList(vmcsOf(c, a), Number(c.u64(a, 1, 'list')));
      const e = list[Number(c.u64(a, 2, 'index'))];
      if (!e) throw new ScenarioError(`the MSR list has ${list.length} entries`);
      return value(e.value);
    },
  },
  vmenter: { params: ['vcpu'], contexts: K, run: (c, a) => ({ kind: 'enter-guest', vcpu: c.obj(a, 0, 'vcpu', 'vcpu').id }) },
  /**
   * After a VM exit caused by an instruction (RDMSR, WRMSR, XSETBV, HLT), the VMM that emulated it
   * completes it: the guest continues after the instruction, which returns `result` (what RDMSR
   * would have put in EDX:EAX; 0 for the others). KVM's kvm_skip_emulated_instruction() plus the
   * register write-back.
   */
  /** The guest's RCX at the last VM exit: the MSR index of RDMSR/WRMSR, the XCR of XSETBV, CPUID's sub-leaf (KVM's kvm_rcx_read). */
  kvm_rcx_read: {
    params: ['vcpu'], contexts: K,
    run: (c, a) => {
      const x = exitOf(c, a);
      return value(BigInt(x.msr ?? x.xcr ?? x.subleaf ?? 0));
    },
  },
  /** The guest's EDX:EAX at the last VM exit: the value of WRMSR or XSETBV (KVM's kvm_read_edx_eax). */
  kvm_read_edx_eax: { params: ['vcpu'], contexts: K, run: (c, a) => value(exitOf(c, a).value ?? 0n) },
  guest_complete_insn: {
    params: ['vcpu', 'result'], optional: 1, contexts: K,
    run: (c, a) => ({ kind: 'guest-complete', vcpu: c.obj(a, 0, 'vcpu', 'vcpu').id, value: a.length > 1 ? c.u64(a, 1, 'result') : 0n }),
  },

  // ---- Allocation and tasks ---------------------------------------------------------------------
  /**
   * fpstate_alloc(xfeatures): a struct fpstate with an XSAVE buffer sized for the compacted format of
   * `xfeatures` (CPUID.(0DH,1).EBX arithmetic), XCOMP_BV preset to xfeatures | bit 63 as the kernel's
   * fpstate_init_xstate() does; size and xfeatures filled in.
   */
  fpstate_alloc: {
    params: ['xfeatures'], contexts: K,
    run: (c, a) => {
      const xfeatures = c.u64(a, 0, 'xfeatures');
      const model = cpuModel(c.cpu.model);
      const bad = xfeatures & ~(model.xcr0Supported | model.xssSupported);
      if (bad) throw new ScenarioError(`fpstate_alloc: ${c.cpu.model} has no components 0x${bad.toString(16)}`);
      const size = compactedSize(model, xfeatures);
      const o = newObject(c.state.heap, 'fpstate');
      const addr = allocate(c.state, size, `fpstate ${o.id}`);
      const r = c.mem.regions[c.mem.regions.length - 1]!;
      // XCOMP_BV in the header, as fpstate_init_xstate() sets it.
      const xcomp = xfeatures | XCOMP_BV_COMPACTED;
      for (let i = 0; i < 8; i++) r.bytes[520 + i] = Number((xcomp >> BigInt(8 * i)) & 0xffn);
      o.fields.size = BigInt(size);
      o.fields.xfeatures = xfeatures;
      o.fields.user_xfeatures = xfeatures & model.xcr0Supported;
      o.fields.regs = addr;
      return value({ ref: o.id });
    },
  },
  /**
   * xsave_buffer_alloc(size): `size` bytes of zeroed memory, 64-byte aligned (vzalloc of an fpstate's
   * register area); returns its address, for fpstate->regs.
   */
  xsave_buffer_alloc: {
    params: ['size'], contexts: K,
    run: (c, a) => {
      const size = c.u64(a, 0, 'size');
      if (size < 576n || size > 1n << 20n) throw new ScenarioError(`xsave_buffer_alloc: ${size} bytes is not an XSAVE area size (576 .. 1 MiB)`);
      return value(allocate(c.state, Number(size), `xsave buffer ${c.state.mem.regions.length}`));
    },
  },
  /** An fpstate object without a buffer (the caller sets ->regs), as the kernel's allocation of the struct. */
  fpstate_struct_alloc: { params: [], contexts: K, run: (c) => value({ ref: newObject(c.state.heap, 'fpstate').id }) },
  /** The kernel's loads and stores of an XSAVE header field: XSTATE_BV (fpstate->regs.xsave.header.xfeatures) or XCOMP_BV. */
  xsave_header_read: {
    params: ['buffer', 'field'], contexts: ALL,
    run: (c, a) => value(readU64(headerBytes(c, a), 8 * small(c, a, 1, 'field', 1))),
  },
  xsave_header_write: {
    params: ['buffer', 'field', 'value'], contexts: ALL,
    run: (c, a) => { writeU64(headerBytes(c, a), 8 * small(c, a, 1, 'field', 1), c.u64(a, 2, 'value')); return value(0n); },
  },
  /** An object of one of the kernel types (vcpu, kvm_vcpu_arch, fpu_guest, fpu_state_perm), zeroed. */
  ...Object.fromEntries(['vcpu', 'kvm_vcpu_arch', 'kvm_run', 'fpu_guest', 'fpu_state_perm'].map((t) => [`${t}_alloc`, {
    params: [], contexts: K,
    run: (c: BuiltinContext) => value({ ref: newObject(c.state.heap, t).id }),
  } satisfies BuiltinDef])),
  /**
   * user_mode(): in an exception handler, whether the exception interrupted user code (CPL 3) — what
   * user_mode(regs) tells Linux's handlers.
   */
  user_mode: {
    params: [], contexts: KG,
    run: (c) => {
      const fr = c.thread.frames;
      for (let i = fr.length - 1; i > 0; i--) {
        if (fr[i]!.kind === 'exception') return value(fr[i - 1]!.cpl === 3 ? 1n : 0n);
      }
      throw new ScenarioError('user_mode(): not in an exception handler');
    },
  },
  /** sched_setaffinity(cpu): the calling thread moves to that CPU (switched out here, queued there). */
  sched_setaffinity: {
    params: ['cpu'], contexts: ['user'],
    run: (c, a) => {
      const cpu = small(c, a, 0, 'cpu', 63);
      if (cpu >= c.state.cpus.length) throw new ScenarioError(`sched_setaffinity: the machine has ${c.state.cpus.length} CPU(s); declare more with 'cpus N;'`);
      return { kind: 'move', cpu };
    },
  },
  /** kmalloc(size): zeroed kernel memory (kvzalloc), for copies the kernel keeps (the guest CPUID entries). */
  kmalloc: {
    params: ['size'], contexts: ['kernel'],
    run: (c, a) => {
      const size = c.u64(a, 0, 'size');
      if (size < 1n || size > 1n << 20n) throw new ScenarioError(`kmalloc: ${size} bytes (1 .. 1 MiB)`);
      return value(allocate(c.state, Number(size), `kmalloc ${c.state.mem.regions.length}`));
    },
  },
  /** A user-space buffer (an XSAVE image for KVM_GET_XSAVE2 / KVM_SET_XSAVE), zeroed; returns its address. */
  user_buffer_alloc: {
    params: ['size'], contexts: ['user', 'kernel'],
    run: (c, a) => {
      const size = c.u64(a, 0, 'size');
      if (size < 1n || size > 1n << 20n) throw new ScenarioError(`user_buffer_alloc: ${size} bytes (1 .. 1 MiB)`);
      return value(allocate(c.state, Number(size), `user buffer ${c.state.mem.regions.length}`));
    },
  },
  /**
   * What QEMU migrates besides the FPU and MSRs: the guest's memory and general registers. The guest
   * continues on `to` where it stopped on `from` (and so does its bare-metal reference: it is the
   * same machine to the guest).
   */
  migrate_guest_memory: {
    params: ['from', 'to'], contexts: ['user', 'kernel'],
    run: (c, a) => ({ kind: 'migrate-guest', from: c.obj(a, 0, 'from', 'vcpu').id, to: c.obj(a, 1, 'to', 'vcpu').id }),
  },
  /**
   * The kernel's copies between its XSAVE buffer and a user (UABI, standard-format) buffer, as
   * copy_xstate_to_uabi_buf() and copy_uabi_to_xstate() do: the legacy region, the header with
   * XSTATE_BV & mask, and each component of `mask` at its place in either format (a component not in
   * XSTATE_BV is written as its initial configuration, zeros). The validation is kernel code.
   */
  copy_xstate_to_uabi: {
    params: ['dst', 'src', 'mask'], contexts: K,
    run: (c, a) => { copyXstate(c, c.u64(a, 0, 'dst'), false, c.u64(a, 1, 'src'), c.u64(a, 2, 'mask')); return value(0n); },
  },
  copy_uabi_to_xstate: {
    params: ['dst', 'src', 'mask'], contexts: K,
    run: (c, a) => { copyXstate(c, c.u64(a, 0, 'dst'), true, c.u64(a, 1, 'src'), c.u64(a, 2, 'mask')); return value(0n); },
  },
  /**
   * fixup_exception(): in an exception handler, resume after the faulting instruction instead of
   * retrying it, as Linux's exception-table fixups do for rdmsr_safe/wrmsr_safe; the instruction
   * returns 0.
   */
  fixup_exception: {
    params: ['value'], optional: 1, contexts: KG,
    run: (c, a) => ({ kind: 'fixup', value: a.length > 0 ? c.u64(a, 0, 'value') : 0n }),
  },
  /** force_sig(sig): the current user thread dies with the signal (SIGILL for AMX without permission). */
  force_sig: { params: ['sig'], contexts: K, run: (c, a) => ({ kind: 'kill', signal: small(c, a, 0, 'sig', 64) }) },
  /** die(): a kernel oops; the machine stops. */
  die: { params: [], contexts: K, run: () => ({ kind: 'oops', text: 'kernel oops (die)' }) },
};

/** The MSR lists by the numbers VM_ENTRY_MSR_LOAD (0), VM_EXIT_MSR_STORE (1), VM_EXIT_MSR_LOAD (2). */
function msrList(v: Vmcs, list: number): MsrEntry[] {
  switch (list) {
    case 0: return v.entryMsrLoad;
    case 1: return v.exitMsrStore;
    case 2: return v.exitMsrLoad;
    default: throw new ScenarioError(`no VMCS MSR list ${list} (VM_ENTRY_MSR_LOAD, VM_EXIT_MSR_STORE or VM_EXIT_MSR_LOAD)`);
  }
}

/**
 * Copies the components of `mask` from the XSAVE image at `src` (its form from its own XCOMP_BV[63])
 * to the one at `dst`: standard form, or (`dstKernel`) the form dst's XCOMP_BV already says.
 */
function copyXstate(c: BuiltinContext, dst: bigint, dstKernel: boolean, src: bigint, mask: bigint): void {
  const model = cpuModel(c.cpu.model);
  const sh = locate(c.mem, src, 576);
  const dh = locate(c.mem, dst, 576);
  if (!sh || !dh) throw new ScenarioError('copy of an XSAVE image: a buffer of at least 576 bytes is not mapped');
  const S = sh.region.bytes;
  const D = dh.region.bytes;
  const so = sh.offset;
  const d0 = dh.offset;
  const sXcomp = readU64(S, so + 520);
  const sCompacted = (sXcomp >> 63n) === 1n;
  const dXcomp = dstKernel ? readU64(D, d0 + 520) : 0n;
  const dCompacted = (dXcomp >> 63n) === 1n;
  const xstateBv = readU64(S, so + 512) & mask;
  const offset = (compactedForm: boolean, format: bigint, i: number) =>
    compactedForm ? compacted(model, format & ~(1n << 63n)).offsets[i]! : model.components.get(i)!.offset;
  // The legacy region (x87 and SSE) sits at the same place in both forms.
  D.set(S.subarray(so, so + 512), d0);
  writeU64(D, d0 + 512, xstateBv);
  if (!dstKernel) writeU64(D, d0 + 520, 0n);
  for (let i = 2; i < 64; i++) {
    if (!((mask >> BigInt(i)) & 1n)) continue;
    const info = model.components.get(i);
    if (!info) continue;
    if (dCompacted && !((dXcomp >> BigInt(i)) & 1n)) continue;
    if (!dCompacted && info.supervisor) continue;
    const dOff = offset(dCompacted, dXcomp, i);
    const dAt = locate(c.mem, dst + BigInt(dOff), info.size);
    if (!dAt) throw new ScenarioError(`copy of an XSAVE image: component ${i} does not fit in the destination buffer`);
    if ((xstateBv >> BigInt(i)) & 1n) {
      const sOff = offset(sCompacted, sXcomp, i);
      const sAt = locate(c.mem, src + BigInt(sOff), info.size);
      if (!sAt) throw new ScenarioError(`copy of an XSAVE image: component ${i} is missing from the source buffer`);
      dAt.region.bytes.set(sAt.region.bytes.subarray(sAt.offset, sAt.offset + info.size), dAt.offset);
    } else {
      dAt.region.bytes.fill(0, dAt.offset, dAt.offset + info.size);
    }
  }
}

/** `lanes` copies of a 64-bit value side by side. */
function broadcast(v: bigint, lanes: number): bigint {
  let r = 0n;
  for (let i = 0; i < lanes; i++) r = (r << 64n) | v;
  return r;
}

/** The 16 bytes of XSTATE_BV and XCOMP_BV of the XSAVE area at args[0]. */
function headerBytes(c: BuiltinContext, a: Value[]): Uint8Array {
  const at = locate(c.mem, c.u64(a, 0, 'buffer') + 512n, 16);
  if (!at) throw new ScenarioError(`no XSAVE area at 0x${c.u64(a, 0, 'buffer').toString(16)}`);
  return at.region.bytes.subarray(at.offset, at.offset + 16);
}

function exitOf(c: BuiltinContext, a: Value[]) {
  const vcpu = c.obj(a, 0, 'vcpu', 'vcpu');
  const h = vcpu.fields.vmcs!;
  const v = typeof h === 'bigint' ? c.state.vmcss[Number(h)] : undefined;
  if (!v?.exit) throw new ScenarioError('the vcpu has not exited yet');
  return v.exit;
}

function vmcsOf(c: BuiltinContext, a: Value[]) {
  const i = c.u64(a, 0, 'vmcs');
  const v = c.state.vmcss[Number(i)];
  if (i >= BigInt(c.state.vmcss.length) || !v) throw new ScenarioError(`no VMCS ${i} (vmcs_alloc() returns a handle)`);
  return v;
}

