// What Linux does to a user task's extended state when an instruction faults and the probe's
// handler returns (the probe resumes through sigreturn, never longjmp). Between the faulting
// instruction and the next one the kernel executes, on the same CPU:
//   1. copy_fpstate_to_sigframe() -> xsave_to_user_sigframe(): the frame's XSAVE header is cleared,
//      then XSAVE (standard form) with RFBM = fpstate->user_xfeatures; save_xstate_epilog() then ORs
//      XFEATURE_MASK_FPSSE into the frame's XSTATE_BV "for legacy compatible" sigreturn.
//   2. fpu__clear_user_states() -> restore_fpregs_from_init_fpstate(): XRSTORS of init_fpstate
//      (compacted, XSTATE_BV = 0) for the user features, so the handler starts from init state.
//   3. sigreturn: __fpu_restore_sig() -> restore_fpregs_from_user() -> xrstor_from_user_sigframe():
//      XRSTOR (standard form, CPL 0 under stac) of the frame with RFBM = user_xfeatures.
// (arch/x86/kernel/fpu/signal.c and core.c.) Step 1's OR is why x87 and SSE read as in use after
// every signal; step 3 leaves XRSTOR_INFO pointing at the frame, so a later XSAVEOPT of a work area
// takes no modified optimization. The handler's own FPU use is overwritten by step 3 and not modelled.
import { type Mask, XCOMP_BV_COMPACTED, readU64, writeU64 } from '../model/bits';
import type { CpuState } from '../model/cpu-state';
import { XCOMP_BV_OFFSET, XSTATE_BV_OFFSET, XSAVE_HEADER_OFFSET } from '../model/layout';
import type { Memory, MemRegion } from '../model/memory';
import { xrstor, xrstors } from '../model/xrstor';
import { xsave } from '../model/xsave';
import { XFEATURE_MASK_FPSSE } from '../model/xfeatures';

export interface SignalFrames {
  /** The user signal frame's XSAVE area (on the user stack). */
  readonly frame: MemRegion;
  /** The kernel's init_fpstate in the compacted format (XSTATE_BV = 0). */
  readonly initFpstate: MemRegion;
}

/** Sets up init_fpstate as the kernel leaves it after boot: legacy init values, XSTATE_BV 0. */
export function prepareInitFpstate(init: MemRegion, xfeatures: Mask): void {
  const b = init.bytes;
  b.fill(0);
  b[0] = 0x7f; b[1] = 0x03; // FCW 037FH
  b[24] = 0x80; b[25] = 0x1f; // MXCSR 1F80H
  writeU64(b, XCOMP_BV_OFFSET, xfeatures | XCOMP_BV_COMPACTED);
}

function mustSucceed(what: string, kind: string): void {
  if (kind !== 'ok') throw new Error(`the kernel's ${what} faulted while delivering a signal (${kind})`);
}

/**
 * Delivers a signal and returns from it, as Linux does for a task whose registers are live:
 * frame XSAVE, init for the handler, sigreturn XRSTOR. `userXfeatures` is fpstate->user_xfeatures.
 */
export function deliverSignalAndReturn(cpu: CpuState, mem: Memory, frames: SignalFrames, userXfeatures: Mask): void {
  const cpl = cpu.cpl;
  const frame = frames.frame.base;
  // 1. The header is cleared with __clear_user(), then XSAVE; XSTATE_BV |= FP|SSE.
  frames.frame.bytes.fill(0, XSAVE_HEADER_OFFSET, XSAVE_HEADER_OFFSET + 64);
  cpu.cpl = 0;
  try {
    mustSucceed('XSAVE to the signal frame', xsave(cpu, mem, frame, userXfeatures).kind);
    const bv = readU64(frames.frame.bytes, XSTATE_BV_OFFSET);
    writeU64(frames.frame.bytes, XSTATE_BV_OFFSET, bv | XFEATURE_MASK_FPSSE);
    // 2. The handler runs from init state: XRSTORS of init_fpstate.
    mustSucceed('XRSTORS of init_fpstate', xrstors(cpu, mem, frames.initFpstate.base, userXfeatures).kind);
    // 3. sigreturn restores the frame.
    mustSucceed('sigreturn XRSTOR', xrstor(cpu, mem, frame, userXfeatures).kind);
  } finally {
    cpu.cpl = cpl;
  }
}
