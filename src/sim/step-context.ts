// What every part of the machine that runs inside one step is handed: the machine state, the
// program, the CPU the step runs on and the list of happenings it reports. It describes one step
// (Engine.step sets it up, reusing one object to spare an allocation per statement), so nothing
// outside the state survives from one step to the next except what the engine itself carries over
// (the explorer's injected event, the count of builtin runs).
import type { CpuState } from '../model';
import type { Happening } from './happening';
import type { MachineState, ThreadState } from './machine';
import type { ProgramIndex } from './program-index';
import type { Footprint } from './footprint';
import type { Write } from './provenance';

export interface StepContext {
  state: MachineState;
  readonly code: ProgramIndex;
  /** The CPU the step runs on, and its index. */
  cpu: CpuState;
  c: number;
  /** What the step reports, in order. */
  out: Happening[];
  /**
   * An event (index into program.events) the explorer fires at this step's statement boundary, as
   * if its `at` point were there and this its hit; -1 for none. Set back to -1 when it fires.
   */
  injected: number;
  /** Builtins run by this step (only they change byte arrays: the explorer rehashes those only then). */
  builtinRuns: number;
  /** What the step touches, recorded while the explorer asks for it (footprint.ts); else null. */
  fp: Footprint | null;
}

export function trace(x: StepContext, kind: string, text: string): void {
  x.state.trace.push({ step: x.state.steps, cpu: x.c, kind, text });
}

/** A write made now by thread `th`: this step and the statement it stands at. */
export function writeBy(x: StepContext, th: ThreadState): Write {
  const f = x.code.statementFrame(th);
  return { step: x.state.steps, fn: f ? f.fn : -1, stmt: f ? x.code.stmtOf(f) : -1 };
}
