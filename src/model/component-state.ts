// Initial configurations of the state components and the processor's tracking of them: XINUSE
// (is the component possibly out of its initial configuration?) and XMODIFIED (was it written
// since the last XRSTOR?). SDM Vol1 13.6 and 13.11-13.12; spec §3.1-3.2.
//
// The tracking rule is silicon's (spec/silicon.md R1): XINUSE[i] is set by a write to component i,
// whatever value is written (zeros included), and cleared only by what puts the component into its
// initial configuration as an operation: XRSTOR(S) initialization, VZEROUPPER/VZEROALL for AVX and
// ZMM_Hi256, TILERELEASE and palette-0 loads. Bytes an instruction zeroes as a side effect (a VEX.128
// write zeroing YMM's upper half) neither set nor clear the bit. Any write sets XMODIFIED[i].
import { type XFeature, bit, writeU16, writeU32 } from './bits';
import type { CpuState } from './cpu-state';
import { FCW, FCW_DEFAULT, MXCSR, MXCSR_DEFAULT, XMM_RANGE, X87_RANGES } from './legacy-region';

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
 * Record an instruction's write to component i: XMODIFIED[i] := 1 and XINUSE[i] := 1, even when the
 * value written is the initial one (silicon.md R1: zeros to an XMM, a ZMM or an opmask register, and
 * FNINIT, leave XINUSE[i] = 1).
 */
export function noteWrite(cpu: CpuState, i: XFeature): void {
  const b = bit(i);
  cpu.xmodified |= b;
  cpu.xinuse |= b;
}

/**
 * Record that an instruction changed component i's bytes without using the component (a VEX.128
 * write zeroing bits 255:128): XMODIFIED[i] := 1, XINUSE[i] unchanged (silicon.md R1, R7).
 */
export function noteSideEffect(cpu: CpuState, i: XFeature): void {
  cpu.xmodified |= bit(i);
}

/**
 * Record that an instruction put component i into its initial configuration as an operation
 * (VZEROUPPER for AVX, TILERELEASE, a palette-0 load): XINUSE[i] := 0, XMODIFIED[i] := 1.
 */
export function noteInitialized(cpu: CpuState, i: XFeature): void {
  const b = bit(i);
  cpu.xmodified |= b;
  cpu.xinuse &= ~b;
}
