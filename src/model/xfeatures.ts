// The XSAVE state components by number, named as Linux names them (arch/x86/include/asm/fpu/types.h,
// enum xfeature) with the short names the SDM uses for display. One table so that the decoded masks
// the debugger shows ("0x60000 [XTILECFG XTILEDATA]"), the CLI and the scenario language's
// XFEATURE_* constants all agree. Which components a CPU has is the CPU model's business
// (cpu-model.ts); this file only says what each number means.
import { type Mask, type XFeature, bit, bitsOf } from './bits';

export const XFEATURE_FP = 0;
export const XFEATURE_SSE = 1;
export const XFEATURE_YMM = 2;
export const XFEATURE_BNDREGS = 3;
export const XFEATURE_BNDCSR = 4;
export const XFEATURE_OPMASK = 5;
export const XFEATURE_ZMM_Hi256 = 6;
export const XFEATURE_Hi16_ZMM = 7;
export const XFEATURE_PT = 8;
export const XFEATURE_PKRU = 9;
export const XFEATURE_PASID = 10;
export const XFEATURE_CET_USER = 11;
export const XFEATURE_CET_KERNEL = 12;
export const XFEATURE_HDC = 13;
export const XFEATURE_UINTR = 14;
export const XFEATURE_LBR = 15;
export const XFEATURE_HWP = 16;
export const XFEATURE_XTILE_CFG = 17;
export const XFEATURE_XTILE_DATA = 18;
export const XFEATURE_APX = 19;

export const XFEATURE_MASK_FP = bit(XFEATURE_FP);
export const XFEATURE_MASK_SSE = bit(XFEATURE_SSE);
export const XFEATURE_MASK_FPSSE = XFEATURE_MASK_FP | XFEATURE_MASK_SSE;
export const XFEATURE_MASK_YMM = bit(XFEATURE_YMM);
export const XFEATURE_MASK_BNDREGS = bit(XFEATURE_BNDREGS);
export const XFEATURE_MASK_BNDCSR = bit(XFEATURE_BNDCSR);
export const XFEATURE_MASK_OPMASK = bit(XFEATURE_OPMASK);
export const XFEATURE_MASK_ZMM_Hi256 = bit(XFEATURE_ZMM_Hi256);
export const XFEATURE_MASK_Hi16_ZMM = bit(XFEATURE_Hi16_ZMM);
export const XFEATURE_MASK_AVX512 = XFEATURE_MASK_OPMASK | XFEATURE_MASK_ZMM_Hi256 | XFEATURE_MASK_Hi16_ZMM;
export const XFEATURE_MASK_PT = bit(XFEATURE_PT);
export const XFEATURE_MASK_PKRU = bit(XFEATURE_PKRU);
export const XFEATURE_MASK_PASID = bit(XFEATURE_PASID);
export const XFEATURE_MASK_CET_USER = bit(XFEATURE_CET_USER);
export const XFEATURE_MASK_CET_KERNEL = bit(XFEATURE_CET_KERNEL);
export const XFEATURE_MASK_UINTR = bit(XFEATURE_UINTR);
export const XFEATURE_MASK_LBR = bit(XFEATURE_LBR);
export const XFEATURE_MASK_XTILE_CFG = bit(XFEATURE_XTILE_CFG);
export const XFEATURE_MASK_XTILE_DATA = bit(XFEATURE_XTILE_DATA);
export const XFEATURE_MASK_XTILE = XFEATURE_MASK_XTILE_CFG | XFEATURE_MASK_XTILE_DATA;
export const XFEATURE_MASK_APX = bit(XFEATURE_APX);

/** Short display names, as the SDM and the debugger's decoded masks spell them. */
const SHORT_NAMES: Record<number, string> = {
  0: 'x87', 1: 'SSE', 2: 'YMM', 3: 'BNDREGS', 4: 'BNDCSR', 5: 'OPMASK', 6: 'ZMM_Hi256', 7: 'Hi16_ZMM',
  8: 'PT', 9: 'PKRU', 10: 'PASID', 11: 'CET_U', 12: 'CET_S', 13: 'HDC', 14: 'UINTR', 15: 'LBR', 16: 'HWP',
  17: 'XTILECFG', 18: 'XTILEDATA', 19: 'APX',
};

/** What each component holds, for hovers and layout listings. */
const DESCRIPTIONS: Record<number, string> = {
  0: 'x87 FPU: FCW, FSW, FTW, FOP, FIP, FDP, ST0-ST7',
  1: 'SSE: XMM0-XMM15 and MXCSR',
  2: 'AVX: upper 128 bits of YMM0-YMM15',
  3: 'MPX bound registers BND0-BND3',
  4: 'MPX BNDCFGU and BNDSTATUS',
  5: 'AVX-512 opmask registers k0-k7',
  6: 'AVX-512: upper 256 bits of ZMM0-ZMM15',
  7: 'AVX-512: ZMM16-ZMM31',
  8: 'Processor Trace MSRs (supervisor)',
  9: 'Protection-key rights register PKRU',
  10: 'PASID MSR (supervisor)',
  11: 'CET user state: IA32_U_CET, IA32_PL3_SSP (supervisor)',
  12: 'CET supervisor state: IA32_PL0/1/2_SSP (supervisor)',
  13: 'Hardware Duty Cycling (supervisor)',
  14: 'User interrupts (supervisor)',
  15: 'Architectural LBRs (supervisor)',
  16: 'Hardware P-states (supervisor)',
  17: 'AMX tile configuration TILECFG',
  18: 'AMX tile data TMM0-TMM7',
  19: 'APX extended GPRs R16-R31',
};

export function xfeatureName(i: XFeature): string {
  return SHORT_NAMES[i] ?? `bit${i}`;
}

export function xfeatureDescription(i: XFeature): string {
  return DESCRIPTIONS[i] ?? 'reserved';
}

/** `[x87 SSE YMM]`-style list of the component names set in a mask (bit 63 of XCOMP_BV shows as COMPACTED). */
export function decodeMask(m: Mask): string[] {
  return bitsOf(m).map((i) => (i === 63 ? 'COMPACTED' : xfeatureName(i)));
}

/** "0x60000 [XTILECFG XTILEDATA]": the form in which the CLI and the debugger show a mask. */
export function formatMask(m: Mask): string {
  const names = decodeMask(m);
  return '0x' + m.toString(16) + (names.length ? ` [${names.join(' ')}]` : '');
}
