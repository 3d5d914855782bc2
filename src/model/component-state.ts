// Initial configurations of the state components and the processor's tracking of them: XINUSE
// (is the component possibly out of its initial configuration?) and XMODIFIED (was it written
// since the last XRSTOR?). SDM Vol1 13.6 and 13.11-13.12; spec §3.1-3.2.
//
// The model's tracking rule: every instruction that writes a component recomputes XINUSE[i] from
// the component's value (1 exactly when it is not in its initial configuration), as Bochs does and
// the SDM allows; XRSTOR(S) follows its pseudocode instead (XINUSE[i] := 1 on load, 0 on init).
// Any write sets XMODIFIED[i].
import { type XFeature, allZero, bit, readU16 } from './bits';
import type { CpuState } from './cpu-state';
import { FCW, FCW_DEFAULT, MXCSR, MXCSR_DEFAULT, XMM_RANGE, X87_RANGES } from './legacy-region';
import { writeU16, writeU32 } from './bits';

/** True when component i holds its initial configuration (SDM Vol1 13.6). */
export function isInitConfig(cpu: CpuState, i: XFeature): boolean {
  if (i === 0) {
    // FCW = 037FH, FSW = 0, FTW = FFFFH (abridged 00H), FOP = FIP = FDP = 0, ST0-ST7 = 0.
    const l = cpu.legacy;
    return readU16(l, FCW) === FCW_DEFAULT && allZero(l, 2, 24) && allZero(l, 32, 160);
  }
  // XINUSE[1] covers the XMM registers only, not MXCSR (SDM Vol1 13.7).
  if (i === 1) return allZero(cpu.legacy, XMM_RANGE[0], XMM_RANGE[1]);
  const img = cpu.ext[i];
  // TILECFG: palette 0 is the init state; every other component's init state is all zeros.
  return img ? allZero(img) : true;
}

/**
 * Puts component i into its initial configuration, as XRSTOR does for TO_BE_INITIALIZED. MXCSR is
 * not part of the SSE initial configuration: the caller decides (the standard form leaves it, the
 * compacted form sets 1F80H, SDM Vol1 13.8.2).
 */
export function initializeComponent(cpu: CpuState, i: XFeature): void {
  if (i === 0) {
    for (const [a, b] of X87_RANGES) cpu.legacy.fill(0, a, b);
    writeU16(cpu.legacy, FCW, FCW_DEFAULT);
  } else if (i === 1) {
    cpu.legacy.fill(0, XMM_RANGE[0], XMM_RANGE[1]);
  } else {
    cpu.ext[i]?.fill(0);
  }
}

export function resetMxcsr(cpu: CpuState): void {
  writeU32(cpu.legacy, MXCSR, MXCSR_DEFAULT);
}

/**
 * Record an instruction's write to component i: XMODIFIED[i] := 1 and XINUSE[i] := the component
 * is not in its initial configuration.
 */
export function noteWrite(cpu: CpuState, i: XFeature): void {
  const b = bit(i);
  cpu.xmodified |= b;
  if (isInitConfig(cpu, i)) cpu.xinuse &= ~b;
  else cpu.xinuse |= b;
}
