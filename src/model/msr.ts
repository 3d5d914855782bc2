// The model-specific registers of the XSAVE feature set: IA32_XSS (0xDA0), IA32_XFD (0x1C4) and
// IA32_XFD_ERR (0x1C5). This file says which exist on a CPU, what they hold and which values WRMSR
// accepts (spec §5.1; SDM Vol4); RDMSR/WRMSR themselves, with privilege and VMX intercepts, are in
// rdmsr-wrmsr.ts, and the VMX MSR-load/store lists use the same rules through msrWriteProblem().
import { type MsrIndex, type U64, isU64 } from './bits';
import { CPUID_D1_EAX_XFD, CPUID_D1_EAX_XSAVES, ModelArgumentError, hasFeature, xfdSupported } from './cpu-model';
import { type CpuState, modelOf } from './cpu-state';

export const MSR_IA32_XSS: MsrIndex = 0xda0;
export const MSR_IA32_XFD: MsrIndex = 0x1c4;
export const MSR_IA32_XFD_ERR: MsrIndex = 0x1c5;

export const MSR_NAMES: Readonly<Record<number, string>> = {
  [MSR_IA32_XSS]: 'IA32_XSS',
  [MSR_IA32_XFD]: 'IA32_XFD',
  [MSR_IA32_XFD_ERR]: 'IA32_XFD_ERR',
};

export function msrName(index: MsrIndex): string {
  return MSR_NAMES[index] ?? `MSR 0x${index.toString(16)}`;
}

export function checkMsrIndex(index: unknown): asserts index is MsrIndex {
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > 0xffffffff) {
    throw new ModelArgumentError('msr', `not a 32-bit MSR index: ${String(index)}`);
  }
}

export function checkU64(name: string, v: unknown): asserts v is U64 {
  if (!isU64(v)) throw new ModelArgumentError(name, `not an unsigned 64-bit value: ${String(v)}`);
}

/** Does this CPU implement the MSR? RDMSR/WRMSR of one it does not raise #GP(0). */
export function msrExists(cpu: CpuState, index: MsrIndex): boolean {
  const model = modelOf(cpu);
  switch (index) {
    case MSR_IA32_XSS: return hasFeature(model, CPUID_D1_EAX_XSAVES);
    case MSR_IA32_XFD:
    case MSR_IA32_XFD_ERR: return hasFeature(model, CPUID_D1_EAX_XFD);
    default: return false;
  }
}

/** The MSR's value, or undefined when this CPU does not implement it. */
export function msrValue(cpu: CpuState, index: MsrIndex): U64 | undefined {
  if (!msrExists(cpu, index)) return undefined;
  switch (index) {
    case MSR_IA32_XSS: return cpu.xss;
    case MSR_IA32_XFD: return cpu.xfd;
    case MSR_IA32_XFD_ERR: return cpu.xfdErr;
    default: return undefined;
  }
}

/** Why WRMSR of `value` would raise #GP(0), or null when it is accepted. */
export function msrWriteProblem(cpu: CpuState, index: MsrIndex, value: U64): string | null {
  if (!msrExists(cpu, index)) return `${msrName(index)} is not implemented on ${cpu.model}`;
  const model = modelOf(cpu);
  if (index === MSR_IA32_XSS) {
    const bad = value & ~model.xssSupported;
    // Only bits CPUID.(0DH,1).EDX:ECX enumerates may be set (SDM Vol1 13.3).
    if (bad) return `sets IA32_XSS bits 0x${bad.toString(16)} that CPUID.(EAX=0DH,ECX=1).EDX:ECX does not enumerate`;
    return null;
  }
  // Bit i of either MSR can be 1 only if CPUID.(0DH,i).ECX[2]=1 (spec §5.1; KVM applies the same mask
  // to both MSRs [S5]).
  const bad = value & ~xfdSupported(model);
  if (bad) return `sets ${msrName(index)} bits 0x${bad.toString(16)} without XFD support (CPUID.(EAX=0DH,ECX=i).ECX[2]=0)`;
  return null;
}

/** Stores an accepted value. Writing XFD or XFD_ERR changes no register contents and no XINUSE (spec §5.4). */
export function msrStore(cpu: CpuState, index: MsrIndex, value: U64): void {
  switch (index) {
    case MSR_IA32_XSS: cpu.xss = value; break;
    case MSR_IA32_XFD: cpu.xfd = value; break;
    case MSR_IA32_XFD_ERR: cpu.xfdErr = value; break;
    default: throw new ModelArgumentError('msr', `cannot store ${msrName(index)}`);
  }
}
