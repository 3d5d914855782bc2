// CPUID and OUT, the two instructions a guest uses to ask its VMM something: both exit
// unconditionally in VMX non-root operation (SDM Vol3 26.1.2, 26.1.3 with unconditional I/O exiting,
// which KVM sets). The VMM side is kernel code (kvm-cpuid.xsave): kvm_rax_read/kvm_rcx_read give it
// the guest's operands, kvm_cpuid_complete hands the four registers back as kvm_emulate_cpuid()
// does with kvm_rax_write..kvm_rdx_write and kvm_skip_emulated_instruction().
import { type Outcome, EXIT_REASON, cpuidInsn, outInsn } from '../model';
import type { Context } from '../lang/code';
import type { BuiltinContext, BuiltinDef, BuiltinResult } from './builtins';
import { ScenarioError } from './scenario-error';
import type { Value } from './value';

const ALL: readonly Context[] = ['kernel', 'guest', 'user'];
const K: readonly Context[] = ['kernel'];
const KG: readonly Context[] = ['kernel', 'guest'];

const REGS = ['eax', 'ebx', 'ecx', 'edx'] as const;

function u32(c: BuiltinContext, a: Value[], i: number, name: string): number {
  const v = c.u64(a, i, name);
  if (v > 0xffffffffn) throw new ScenarioError(`${name} must be a 32-bit value, not 0x${v.toString(16)}`);
  return Number(v);
}

function lastExit(c: BuiltinContext, a: Value[]) {
  const vcpu = c.obj(a, 0, 'vcpu', 'vcpu');
  const h = vcpu.fields.vmcs!;
  const v = typeof h === 'bigint' ? c.state.vmcss[Number(h)] : undefined;
  if (!v?.exit) throw new ScenarioError('the vcpu has not exited yet');
  return { vcpu, exit: v.exit };
}

export const CPUID_IO_BUILTINS: Readonly<Record<string, BuiltinDef>> = {
  /**
   * cpuid(leaf, subleaf, reg): CPUID with EAX = leaf, ECX = subleaf, and the register the statement
   * reads (CPUID_EAX..CPUID_EDX). In a guest: the VM exit, answered by the VMM.
   */
  cpuid: {
    params: ['leaf', 'subleaf', 'reg'], contexts: ALL,
    run: (c, a): BuiltinResult => {
      const leaf = u32(c, a, 0, 'leaf');
      const sub = u32(c, a, 1, 'subleaf');
      const reg = c.u64(a, 2, 'reg');
      if (reg > 3n) throw new ScenarioError(`reg must be CPUID_EAX..CPUID_EDX (0..3), not ${reg}`);
      const o = cpuidInsn(c.cpu, leaf, sub);
      if (o.kind !== 'ok') return { kind: 'outcome', outcome: o };
      return { kind: 'outcome', outcome: { kind: 'ok', value: BigInt(o.value[REGS[Number(reg)]!]) } };
    },
  },
  /** out(port, value): OUT DX, EAX; in a guest a VM exit with reason 30 (KVM_EXIT_IO for KVM's user space). */
  out: {
    params: ['port', 'value'], contexts: KG,
    run: (c, a): BuiltinResult => {
      const port = c.u64(a, 0, 'port');
      if (port > 0xffffn) throw new ScenarioError(`port must be 0..0xffff, not 0x${port.toString(16)}`);
      return { kind: 'outcome', outcome: outInsn(c.cpu, Number(port), 4, c.u64(a, 1, 'value')) as Outcome<unknown> };
    },
  },
  /**
   * kvm_rax_read(vcpu): the guest's RAX at the last VM exit: the leaf of CPUID, the value of OUT,
   * EDX:EAX's low half for WRMSR and XSETBV.
   */
  kvm_rax_read: {
    params: ['vcpu'], contexts: K,
    run: (c, a) => {
      const { exit } = lastExit(c, a);
      const v = exit.leaf !== undefined ? BigInt(exit.leaf) : (exit.value ?? 0n) & 0xffffffffn;
      return { kind: 'value', value: v };
    },
  },
  /**
   * kvm_cpuid_complete(vcpu, eax, ebx, ecx, edx): the VMM's answer to the guest's CPUID, written to
   * the guest's registers; the guest continues after the instruction (kvm_emulate_cpuid). The guest
   * statement reads the register its `cpuid(leaf, subleaf, reg)` names.
   */
  kvm_cpuid_complete: {
    params: ['vcpu', 'eax', 'ebx', 'ecx', 'edx'], contexts: K,
    run: (c, a): BuiltinResult => {
      const { vcpu, exit } = lastExit(c, a);
      if ((exit.reason & 0xffff) !== EXIT_REASON.CPUID) throw new ScenarioError(`kvm_cpuid_complete: the last VM exit was ${exit.name}, not CPUID`);
      const regs = [u32(c, a, 1, 'eax'), u32(c, a, 2, 'ebx'), u32(c, a, 3, 'ecx'), u32(c, a, 4, 'edx')];
      // The guest's cpuid() statement still has its operands on its stack (leaf, subleaf, reg).
      const g = c.state.guests.find((x) => x.vcpu === vcpu.id);
      const top = g?.frames[g.frames.length - 1];
      const reg = top?.stack[top.stack.length - 1];
      if (typeof reg !== 'bigint' || reg > 3n) throw new ScenarioError('kvm_cpuid_complete: the guest is not stopped at a cpuid() statement');
      return { kind: 'guest-complete', vcpu: vcpu.id, value: BigInt(regs[Number(reg)]!) };
    },
  },
};
