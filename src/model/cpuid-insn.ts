// The CPUID instruction: what a CPU answers for a leaf and sub-leaf, with the bits that follow the
// CPU's state (SDM Vol2 CPUID: 01H:ECX.OSXSAVE[27] mirrors CR4.OSXSAVE, (07H,0):ECX.OSPKE[4] mirrors
// CR4.PKE, (0DH,0).EBX sizes the standard-format area of the XCR0-enabled features, (0DH,1).EBX the
// compacted area of XCR0 | IA32_XSS), and the unconditional VM exit in VMX non-root operation
// (SDM Vol3 26.1.2, exit reason 10). A CPU answers from its leaves: a virtual CPU's (the CPUID its
// VMM gave it, CpuState.cpuidLimit.leaves) or those of its model (cpuid.ts, cpuidOf).
import { type CpuModel, CPUID_D1_EAX_XSAVEC, CPUID_D1_EAX_XSAVES, ModelArgumentError, hasFeature } from './cpu-model';
import { type CpuidLeaf, type CpuidLeaves, cpuidOf, synthesizedCpuidOf } from './cpuid';
import { type CpuState, inNonRoot, modelOf } from './cpu-state';
import { type Outcome, ok } from './fault';
import { type CpuidRegs, compactedSize, standardSize } from './layout';
import { EXIT_REASON } from './vmcs';
import { vmExit } from './vmx';

/** CPUID.01H:ECX.OSXSAVE[27] and CPUID.(07H,0):ECX.OSPKE[4]. */
export const CPUID_01_ECX_OSXSAVE = 1 << 27;
export const CPUID_07_ECX_OSPKE = 1 << 4;

/**
 * Leaves whose sub-leaf (ECX) selects the answer; for the others ECX is ignored (SDM Vol2 CPUID,
 * Table 3-8; KVM's cpuid_function_is_indexed).
 */
const INDEXED = new Set([0x4, 0x7, 0xb, 0xd, 0xf, 0x10, 0x12, 0x14, 0x17, 0x18, 0x1d, 0x1e, 0x1f, 0x20, 0x23, 0x24, 0x8000001d, 0x80000020, 0x80000026]);

export function cpuidLeafIsIndexed(leaf: number): boolean {
  return INDEXED.has(leaf);
}

/** The leaves a CPU answers from: its virtual CPUID when it has one, else its (narrowed) model's. */
export function cpuidLeavesOf(cpu: CpuState): CpuidLeaves {
  const given = cpu.cpuidLimit?.leaves;
  if (given) return given;
  const m: CpuModel = modelOf(cpu);
  // A narrowed host model still carries the machine's raw leaves: synthesize from the narrowed fields.
  return cpu.cpuidLimit ? synthesizedCpuidOf(m) : cpuidOf(m);
}

/** The entry for (leaf, subleaf) among `leaves`, with ECX ignored for leaves that are not indexed. */
export function findCpuidLeaf(leaves: CpuidLeaves, leaf: number, subleaf: number): CpuidLeaf | undefined {
  const indexed = INDEXED.has(leaf);
  return leaves.find((l) => l.leaf === leaf && (!indexed || l.subleaf === subleaf));
}

/**
 * The entry an Intel CPU answers with (SDM Vol2 CPUID: "If a value entered for CPUID.EAX is higher
 * than the maximum input value for basic or extended function for that processor then the data for
 * the highest basic information leaf is returned"): the leaf itself; zeros for a leaf in range that
 * the CPU does not enumerate; the highest basic leaf (same sub-leaf) past the range of its class.
 * KVM's kvm_cpuid()/get_out_of_range_cpuid_entry() follow the same rule for Intel guests.
 */
export function cpuidAnswer(leaves: CpuidLeaves, leaf: number, subleaf: number): CpuidRegs {
  const hit = findCpuidLeaf(leaves, leaf, subleaf);
  if (hit) return { eax: hit.eax, ebx: hit.ebx, ecx: hit.ecx, edx: hit.edx };
  const basic = findCpuidLeaf(leaves, 0, 0);
  if (basic) {
    const classBase = leaf >= 0xc0000000 ? 0xc0000000 : leaf >= 0x40000000 && leaf <= 0x4fffffff ? (leaf & 0xffffff00) >>> 0 : (leaf & 0x80000000) >>> 0;
    const cls = findCpuidLeaf(leaves, classBase, 0);
    if (!cls || leaf > cls.eax) {
      const max = findCpuidLeaf(leaves, basic.eax, subleaf);
      if (max) return { eax: max.eax, ebx: max.ebx, ecx: max.ecx, edx: max.edx };
    }
  }
  return { eax: 0, ebx: 0, ecx: 0, edx: 0 };
}

/**
 * The answer of `cpu` outside a guest: its leaves with the state-dependent bits of the moment.
 * (0DH,0).EBX and (0DH,1).EBX follow XCR0 and IA32_XSS only where the CPU enumerates them.
 */
export function cpuidRead(cpu: CpuState, leaf: number, subleaf: number): CpuidRegs {
  const r: { -readonly [K in keyof CpuidRegs]: number } = { ...cpuidAnswer(cpuidLeavesOf(cpu), leaf, subleaf) };
  const model = modelOf(cpu);
  if (leaf === 1) r.ecx = (r.ecx & ~CPUID_01_ECX_OSXSAVE) | (cpu.cr4.osxsave ? CPUID_01_ECX_OSXSAVE : 0);
  else if (leaf === 7 && subleaf === 0) r.ecx = (r.ecx & ~CPUID_07_ECX_OSPKE) | (cpu.cr4.pke && model.pku ? CPUID_07_ECX_OSPKE : 0);
  else if (leaf === 0xd && subleaf === 0 && model.xsave && r.ebx !== 0) r.ebx = standardSize(model, cpu.xcr0 & model.xcr0Supported);
  else if (leaf === 0xd && subleaf === 1 && model.xsave && (hasFeature(model, CPUID_D1_EAX_XSAVES) || hasFeature(model, CPUID_D1_EAX_XSAVEC)) && r.ebx !== 0) {
    r.ebx = compactedSize(model, (cpu.xcr0 | cpu.xss) & (model.xcr0Supported | model.xssSupported));
  }
  for (const k of ['eax', 'ebx', 'ecx', 'edx'] as const) r[k] = r[k] >>> 0;
  return r;
}

function checkU32(name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new ModelArgumentError(name, `not a 32-bit value: ${String(v)}`);
  }
}

/**
 * CPUID with EAX = leaf, ECX = subleaf. Any CPL; in VMX non-root operation always a VM exit with
 * reason 10 before anything else (SDM Vol3 26.1.2), the VMM answering in the guest's registers.
 */
export function cpuidInsn(cpu: CpuState, leaf: number, subleaf: number): Outcome<CpuidRegs> {
  checkU32('leaf', leaf);
  checkU32('subleaf', subleaf);
  if (inNonRoot(cpu)) {
    return vmExit(cpu, {
      reason: EXIT_REASON.CPUID, leaf, subleaf,
      cause: `CPUID EAX=0x${leaf.toString(16)} ECX=0x${subleaf.toString(16)}`,
    });
  }
  return ok(cpuidRead(cpu, leaf, subleaf));
}
