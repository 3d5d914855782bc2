// XSETBV and XGETBV: writing and reading XCR0, and XGETBV(1) = XCR0 AND XINUSE.
// SDM Vol2 XSETBV/XGETBV pages, SDM Vol3A 2.6 (XCR0 rules); spec §2. KVM's __kvm_set_xcr applies
// the same XCR0 rules to guests [S5], and its order is the order of the checks here.
import { type Mask, type U64, hasBit, readU32 } from './bits';
import { MXCSR, MXCSR_DEFAULT } from './legacy-region';
import { CPUID_D1_EAX_XGETBV1, ModelArgumentError, hasFeature } from './cpu-model';
import { type CpuState, inNonRoot, modelOf, xfdEffective } from './cpu-state';
import { type Outcome, OK, gp, ok, ud } from './fault';
import { checkU64 } from './msr';
import { UNCERTAIN } from './uncertain';
import { EXIT_REASON } from './vmcs';
import { raise, vmExit } from './vmx';
import {
  XFEATURE_MASK_AVX512, XFEATURE_MASK_BNDCSR, XFEATURE_MASK_BNDREGS, XFEATURE_MASK_SSE,
  XFEATURE_MASK_XTILE, XFEATURE_MASK_YMM, formatMask,
} from './xfeatures';

function checkXcrIndex(xcr: unknown): asserts xcr is number {
  if (typeof xcr !== 'number' || !Number.isInteger(xcr) || xcr < 0 || xcr > 0xffffffff) {
    throw new ModelArgumentError('xcr', `not a 32-bit ECX value: ${String(xcr)}`);
  }
}

/** Why XSETBV would refuse `v` as the new XCR0, or null (SDM Vol3A 2.6; KVM __kvm_set_xcr order). */
export function xcr0Problem(supported: Mask, v: Mask): string | null {
  if (!hasBit(v, 0)) return 'clears XCR0.x87 (bit 0)';
  if ((v & XFEATURE_MASK_YMM) && !(v & XFEATURE_MASK_SSE)) return 'enables AVX state without SSE';
  const unsupported = v & ~supported;
  if (unsupported) return `sets XCR0 bits ${formatMask(unsupported)} that CPUID.(EAX=0DH,ECX=0).EDX:EAX does not enumerate`;
  if (!(v & XFEATURE_MASK_BNDREGS) !== !(v & XFEATURE_MASK_BNDCSR)) return 'sets only one of BNDREGS and BNDCSR';
  if ((v & XFEATURE_MASK_AVX512) && !(v & XFEATURE_MASK_YMM)) return 'enables AVX-512 state without AVX';
  if ((v & XFEATURE_MASK_AVX512) && (v & XFEATURE_MASK_AVX512) !== XFEATURE_MASK_AVX512) {
    return 'enables only part of AVX-512 state (opmask, ZMM_Hi256 and Hi16_ZMM go together)';
  }
  // "The value of XCR0[17:18] is always either 00b or 11b" (KVM [S5]; Bochs [S6]).
  if ((v & XFEATURE_MASK_XTILE) && (v & XFEATURE_MASK_XTILE) !== XFEATURE_MASK_XTILE) {
    return 'enables only one of XTILECFG and XTILEDATA';
  }
  return null;
}

/**
 * XSETBV: XCR[ECX] := EDX:EAX. #UD without XSAVE or with CR4.OSXSAVE=0; in a guest an unconditional
 * VM exit (reason 55), after the #UD and the privilege #GP (SDM Vol3 25.1.1-25.1.2); #GP(0) at CPL>0,
 * for ECX≠0 and for an XCR0 value the rules refuse. On success only XCR0 changes (spec §2.1).
 */
export function xsetbv(cpu: CpuState, xcr: number, value: U64): Outcome {
  checkXcrIndex(xcr);
  checkU64('value', value);
  const model = modelOf(cpu);
  if (!model.xsave) return raise(cpu, ud('XSETBV', 'on a CPU without XSAVE (CPUID.01H:ECX.XSAVE=0)'));
  if (!cpu.cr4.osxsave) return raise(cpu, ud('XSETBV', 'with CR4.OSXSAVE=0'));
  if (inNonRoot(cpu)) {
    if (UNCERTAIN.xsetbvCplBeforeVmExit && cpu.cpl !== 0) return raise(cpu, gp('XSETBV', `at CPL ${cpu.cpl}`));
    return vmExit(cpu, { reason: EXIT_REASON.XSETBV, xcr, value, cause: `XSETBV XCR${xcr} := 0x${value.toString(16)}` });
  }
  if (cpu.cpl !== 0) return raise(cpu, gp('XSETBV', `at CPL ${cpu.cpl}`));
  if (xcr !== 0) return raise(cpu, gp('XSETBV', `of XCR${xcr}: only XCR0 can be written`));
  const problem = xcr0Problem(model.xcr0Supported, value);
  if (problem) return raise(cpu, gp('XSETBV', problem));
  cpu.xcr0 = value;
  return OK;
}

/**
 * XGETBV: ECX=0 reads XCR0; ECX=1 (with CPUID.(0DH,1).EAX[2]) reads XCR0 AND XINUSE, the init
 * optimization's view (SDM Vol2 XGETBV). Any CPL, never a VM exit. #UD without CR4.OSXSAVE.
 */
export function xgetbv(cpu: CpuState, xcr: number): Outcome<U64> {
  checkXcrIndex(xcr);
  const model = modelOf(cpu);
  if (!model.xsave) return raise(cpu, ud('XGETBV', 'on a CPU without XSAVE (CPUID.01H:ECX.XSAVE=0)'));
  if (!cpu.cr4.osxsave) return raise(cpu, ud('XGETBV', 'with CR4.OSXSAVE=0'));
  if (xcr === 0) return ok(cpu.xcr0);
  if (xcr === 1) {
    if (!hasFeature(model, CPUID_D1_EAX_XGETBV1)) {
      return raise(cpu, gp('XGETBV', 'with ECX=1 on a CPU without CPUID.(EAX=0DH,ECX=1).EAX[2]'));
    }
    let inuse = cpu.xinuse;
    if (UNCERTAIN.xgetbv1MasksXfdArmed) inuse &= ~xfdEffective(cpu);
    // Bit 1 also reads 1 while MXCSR differs from 1F80H, even with XINUSE[1] = 0 (after an XRSTOR
    // that initialized SSE but loaded another MXCSR), while XSAVE and XSAVEOPT still store
    // XSTATE_BV[1] = 0 then (silicon.md R6): XGETBV(1) reports what XSAVEC would consider in use.
    if (readU32(cpu.legacy, MXCSR) !== MXCSR_DEFAULT) inuse |= XFEATURE_MASK_SSE;
    return ok(cpu.xcr0 & inuse);
  }
  return raise(cpu, gp('XGETBV', `of XCR${xcr}`));
}

