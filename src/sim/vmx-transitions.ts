// VMX transitions as the machine runs them: vmenter() enters the guest on the vCPU's VMCS (its
// frames go on top of the host's, or it starts at the guest's main(); an injected event goes to
// the guest's handler), a VM exit takes the guest frames off the thread into the vCPU's
// GuestContext and completes the host's vmenter() with the exit reason, and the VMM completes or
// moves a guest's pending instruction. Each vCPU gets its bare-metal reference at its first entry
// (invariants.ts). Entries and exits are recorded as provenance of the CPU (provenance.ts).
import { type VmExitInfo, hlt, vmEntry, vmptrld, vmxon } from '../model';
import { Op } from '../lang/code';
import { ScenarioError } from './builtins';
import { HANDLERS, afterOutcome, deliver } from './exceptions';
import { RETURNS_VALUE, createShadow, describeOutcome } from './invariants';
import { guestObservesBareMetal } from './invariant-checks';
import type { GuestContext, MachineState, ThreadState } from './machine';
import { complete } from './program-index';
import { noteInstruction, registersBefore } from './provenance';
import { type StepContext, trace, writeBy } from './step-context';

/** The saved guest context of vcpu object `vcpu`, made at its first use. */
export function guestOf(s: MachineState, vcpu: number): GuestContext {
  let g = s.guests.find((x) => x.vcpu === vcpu);
  if (!g) { g = { vcpu, frames: [], started: false, finished: false, shadow: null }; s.guests.push(g); }
  return g;
}

/** The vcpu whose guest `th` is running (its innermost [VM entry] frame). */
export function vcpuOf(th: ThreadState): number {
  for (let i = th.frames.length - 1; i >= 0; i--) if (th.frames[i]!.kind === 'vmentry') return th.frames[i]!.vcpu;
  throw new ScenarioError('internal: guest code without a [VM entry] frame');
}

/** vmenter(vcpu): VM entry on the vCPU's VMCS; the guest frames go on top of the host's. */
export function enterGuest(x: StepContext, th: ThreadState, vcpuId: number): void {
  const s = x.state;
  const cpu = x.cpu;
  const vcpu = s.heap[vcpuId]!;
  const handle = vcpu.fields.vmcs!;
  const vmcs = typeof handle === 'bigint' && handle < BigInt(s.vmcss.length) ? s.vmcss[Number(handle)] : undefined;
  if (!vmcs) throw new ScenarioError('vmenter: vcpu->vmcs is not a VMCS (set it to vmcs_alloc())');
  // KVM's hardware_enable (VMXON) happens at module load, outside the scenario.
  if (cpu.vmx.mode === 'off') vmxon(cpu);
  if (cpu.vmx.vmcs !== vmcs) vmptrld(cpu, vmcs);
  const host = th.frames[th.frames.length - 1]!;
  const prov = s.provenance.cpus[x.c]!;
  const at = writeBy(x, th);
  const before = registersBefore(cpu);
  const o = vmEntry(cpu);
  // VM entry loads guest state (the VMCS's MSR-load area among it): the entry wrote what it changed.
  noteInstruction(prov, cpu, before, at);
  if (o.kind === 'fault') { deliver(x, th, o.fault); return; }
  if (o.kind === 'shutdown') { afterOutcome(x, th, host, o, null); return; }
  if (o.kind === 'vmexit') {
    // VM-entry failure: vmenter returns the exit reason (bit 31 set) at once.
    trace(x, 'vmexit', `cpu${x.c} VM entry failed: ${o.exit.name}${o.exit.cause ? ` (${o.exit.cause})` : ''}`);
    prov.vmexit = at;
    x.out.push({ kind: 'vmexit', cpu: x.c, thread: th.id, exit: o.exit });
    complete(host, 1, BigInt(o.exit.reason >>> 0));
    return;
  }
  const g = guestOf(s, vcpuId);
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
  trace(x, 'vmentry', `cpu${x.c} VM entry (vcpu ${vcpu.fields.vcpu_id})`);
  prov.vmentry = at;
  x.out.push({ kind: 'vmentry', cpu: x.c, thread: th.id, vcpu: vcpuId });
  th.frames.push({ fn: -1, pc: 0, stmt: -1, locals: [], stack: [], kind: 'vmentry', cpl: 0, vector: -1, vcpu: vcpuId });
  if (!g.started) {
    const main = x.code.guestFns.get('main');
    if (main === undefined) throw new ScenarioError('vmenter: the guest block has no fn main()');
    g.started = true;
    th.frames.push(x.code.frame(main, 'guest', 0, []));
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
      guestObservesBareMetal(x, th, pending
        ? `the VMM injects vector ${inj.vector} for ${pending.insn}, which on bare metal ${describeOutcome(pending.outcome)}`
        : `the VMM injects vector ${inj.vector}, which no guest instruction raised`, g.shadow, pending);
    }
    const handlerName = HANDLERS[inj.vector];
    const handler = handlerName === undefined ? undefined : x.code.guestFns.get(handlerName);
    trace(x, 'inject', `cpu${x.c} inject vector ${inj.vector} into the guest`);
    if (handler === undefined) throw new ScenarioError(`VM entry injects vector ${inj.vector}, and the guest block defines no handler${handlerName ? ` (fn ${handlerName})` : ''}`);
    th.frames.push(x.code.frame(handler, 'exception', 0, inj.errorCode !== undefined ? [BigInt(inj.errorCode)] : [], inj.vector));
    cpu.cpl = 0;
    return;
  }
  if (top.kind === 'vmentry') {
    // The guest has run off its end: it halts again.
    afterOutcome(x, th, top, hlt(cpu), null);
  }
}

/** guest_complete_insn(vcpu, value): the VMM emulated the guest's pending instruction; it completes with `value`. */
export function completeGuestInstruction(x: StepContext, th: ThreadState, vcpu: number, value: bigint): void {
  const g = guestOf(x.state, vcpu);
  if (g.finished) return; // a guest past its end has no instruction to complete
  const pending = g.shadow?.pending;
  if (g.shadow) g.shadow.pending = null;
  if (pending) {
    const S = pending.outcome;
    if (S.kind !== 'ok') {
      guestObservesBareMetal(x, th, `the VMM completes ${pending.insn}, which on bare metal ${describeOutcome(S)}`, g.shadow!, pending);
    } else if (RETURNS_VALUE.has(pending.insn) && typeof S.value === 'bigint' && S.value !== value) {
      guestObservesBareMetal(x, th, `${pending.insn} returns 0x${value.toString(16)} in the guest; bare metal returns 0x${S.value.toString(16)}`, g.shadow!, pending);
    }
  }
  const top = g.frames[g.frames.length - 1];
  const ins = top ? x.code.program.functions[top.fn]!.code[top.pc] : undefined;
  if (!top || !ins || ins.op !== Op.BUILTIN) throw new ScenarioError('guest_complete_insn: the guest is not stopped at an instruction');
  complete(top, ins.b, value);
}

/** A VM exit while `th` runs a guest: guest frames are saved, vmenter() returns the exit reason. */
export function leaveGuest(x: StepContext, th: ThreadState, exit: VmExitInfo): void {
  const at = th.frames.map((f) => f.kind).lastIndexOf('vmentry');
  if (at < 0) throw new ScenarioError('internal: VM exit without a [VM entry] frame');
  const w = writeBy(x, th);
  x.state.provenance.cpus[x.c]!.vmexit = w;
  const entry = th.frames[at]!;
  const g = guestOf(x.state, entry.vcpu);
  if (g.shadow) g.shadow.written.vmexit = w;
  g.frames = th.frames.splice(at + 1);
  th.frames.pop();
  const host = th.frames[th.frames.length - 1]!;
  const intr = exit.intrInfo ? ` intr-info 0x${(exit.intrInfo >>> 0).toString(16)}` : '';
  trace(x, 'vmexit', `cpu${x.c} VM exit: ${exit.name}${intr}${exit.cause ? ` (${exit.cause})` : ''}`);
  x.out.push({ kind: 'vmexit', cpu: x.c, thread: th.id, exit });
  x.cpu.cpl = host.cpl;
  complete(host, 1, BigInt(exit.reason >>> 0));
}

/** migrate_guest_memory(from, to): QEMU moves the guest's memory and registers to another vCPU that has not run. */
export function migrateGuest(x: StepContext, th: ThreadState, fromVcpu: number, toVcpu: number): void {
  const from = guestOf(x.state, fromVcpu);
  const to = guestOf(x.state, toVcpu);
  if (to.started) throw new ScenarioError('migrate_guest_memory: the destination vCPU has already run');
  to.frames = from.frames; to.started = from.started; to.finished = from.finished; to.shadow = from.shadow;
  from.frames = []; from.finished = true;
  if (to.shadow) to.shadow.written.migrated = writeBy(x, th);
  trace(x, 'migrate', `guest of vcpu object ${fromVcpu} moves to vcpu object ${toVcpu}`);
}
