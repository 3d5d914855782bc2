// The checks an instruction makes before it touches extended state, shared by the AVX, AVX-512
// and AMX instructions: #UD unless CR4.OSXSAVE=1 and XCR0 enables the state, #NM for CR0.TS where
// the instruction honours it, then #NM for XFD with IA32_XFD_ERR := IA32_XFD AND the components
// the instruction needs (spec §5.2-5.3, §5.7). A CR0.TS #NM leaves IA32_XFD_ERR alone.
import type { Mask } from './bits';
import { type CpuState, xfdEffective } from './cpu-state';
import { type Outcome, nmTs, nmXfd, ud } from './fault';
import { UNCERTAIN } from './uncertain';
import { raise } from './vmx';
import { decodeMask, formatMask } from './xfeatures';

export interface ExtendedUse {
  /** XCR0 must have all of these set, or #UD. */
  readonly enabled: Mask;
  /** The components the instruction reads or writes, which XFD can disable. */
  readonly uses: Mask;
  /** Whether CR0.TS=1 raises #NM. */
  readonly checksTs: boolean;
}

/** The #UD and #NM checks; null to go on. */
export function checkExtendedUse(cpu: CpuState, insn: string, use: ExtendedUse): Outcome<never> | null {
  if (!cpu.cr4.osxsave) return raise(cpu, ud(insn, 'with CR4.OSXSAVE=0'));
  if ((cpu.xcr0 & use.enabled) !== use.enabled) {
    return raise(cpu, ud(insn, `with XCR0 ${formatMask(cpu.xcr0)} not enabling ${decodeMask(use.enabled & ~cpu.xcr0).join(' ')}`));
  }
  const ts = use.checksTs && cpu.cr0.ts;
  if (ts && UNCERTAIN.cr0TsBeforeXfd) return raise(cpu, nmTs(insn));
  const disabled = use.uses & xfdEffective(cpu);
  if (disabled) {
    // "the MSR is loaded with the logical AND of the IA32_XFD MSR and the bitmap corresponding to the
    // state components required by the faulting instruction" [S14]: loaded, not ORed.
    cpu.xfdErr = cpu.xfd & use.uses;
    return raise(cpu, nmXfd(insn, cpu.xfd, cpu.xfdErr, decodeMask(disabled).join(' ')));
  }
  if (ts) return raise(cpu, nmTs(insn));
  return null;
}
