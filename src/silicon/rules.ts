// Which rule of spec/silicon.md a replay difference belongs to. The replayer compares observables
// (a fault, XGETBV(1), a saved field); a rule is what explains the difference. The mapping is from
// the operation and the observable, the way the rows were found: XINUSE after a register write is
// R1, a TILECFG restored from an image is R2/R3, and so on. What fits no row is 'unclassified', a
// new rule to look at.
import type { SiliconOpName } from './log';

export type SiliconRule =
  | 'R1' | 'R1b' | 'R2' | 'R3' | 'R4' | 'R5' | 'R6' | 'R7' | 'R8' | 'R9' | 'R10' | 'R11' | 'unclassified';

export const RULE_TITLES: Readonly<Record<SiliconRule, string>> = {
  R1: 'XINUSE is set by a write, not by the value',
  R1b: 'TILEZERO sets XINUSE[18]; LDTILECFG sets [17], clears [18]',
  R2: 'XRSTOR of a palette-0 TILECFG initializes it',
  R3: 'XRSTOR of an invalid TILECFG initializes it, TILEDATA still loaded',
  R4: 'compacted XRSTOR with XSTATE_BV[63] = 1 faults',
  R5: 'XFD #NM before the MXCSR #GP',
  R6: 'LDMXCSR sets XINUSE[1]; XGETBV(1)[1] follows MXCSR',
  R7: 'XSAVEOPT writes an in-use TILECFG',
  R8: 'tile #UD before the XFD #NM',
  R9: 'FCW reserved bits are forced',
  R10: 'compacted XRSTOR changes state before its MXCSR #GP',
  R11: 'FLD records FIP',
  unclassified: 'no row of silicon.md',
};

const REGISTER_WRITES: ReadonlySet<SiliconOpName> = new Set(['FLD', 'FNINIT', 'MOVDQA', 'VMOVX', 'VMOVY', 'VMOVZ', 'KMOV', 'VZEROUPPER', 'VZEROALL']);
const SAVES: ReadonlySet<SiliconOpName> = new Set(['XSAVE', 'XSAVEC', 'XSAVEOPT']);

/**
 * The rule for a difference: `kind` is what was compared, `what` the XINUSE bits or the image field
 * that differ (names as xfeatureName and the legacy-region field names give them).
 */
export function ruleOf(
  op: SiliconOpName, kind: 'fault' | 'xcr0' | 'xinuse' | 'image', what: string,
  faults?: { model: number; silicon: number },
): SiliconRule {
  if (kind === 'xinuse') {
    if (op === 'LDMXCSR' || (op === 'XRSTOR' && what === 'SSE')) return 'R6';
    if (REGISTER_WRITES.has(op)) return 'R1';
    if ((op === 'TILEZERO' || op === 'LDTILECFG' || op === 'TILELOADD') && what.includes('XTILE')) return 'R1b';
    if (op === 'XRSTOR' && what.includes('XTILECFG')) return 'R2';
    if (op === 'XRSTOR' && what.includes('XTILEDATA')) return 'R3';
    return 'unclassified';
  }
  if (kind === 'fault') {
    if (op === 'TILEZERO' || op === 'TILELOADD') return 'R8';
    if (op === 'XRSTOR' && faults) {
      // SIGILL is the XFD #NM, SIGSEGV the #GP (Linux's mapping, replay.ts signalOf).
      if (faults.silicon === 4 && faults.model === 11) return 'R5';
      // The header #GP that the model missed (before R4 it let XSTATE_BV[63] through, then faulted
      // on XFD or not at all).
      if (faults.silicon === 11 && (faults.model === 0 || faults.model === 4)) return 'R4';
    }
    return 'unclassified';
  }
  // A save after a compacted XRSTOR's MXCSR #GP shows what it loaded first (R10): those saves are
  // classified by the component that differs, as below, when no earlier rule explains them.
  if (kind === 'image' && SAVES.has(op)) {
    if (what === 'FIP' || what === 'FOP' || what === 'FDP') return 'R11';
    if (what === 'FCW') return 'R9';
    // XSTATE_BV is XINUSE AND RFBM: it differs where XINUSE did.
    if (what === 'XSTATE_BV') return 'R1';
    if (what === 'XTILECFG') return op === 'XSAVEOPT' ? 'R7' : 'R2';
    if (what === 'XTILEDATA') return 'R3';
    return 'unclassified';
  }
  return 'unclassified';
}
