// Travel to any recorded step (a click on the timeline, `xsave/travel`): the time-travel machinery
// of src/sim/history.ts (restore the nearest checkpoint, replay) aimed at a position before or
// after the present one, within what the run has recorded. The step that arrives there is replayed
// with the breakpoints' check like every replayed step, so a stop there reports what held at it
// (an exception filter's stop) and otherwise is a `goto` stop.
import type { Engine } from '../sim/engine';
import type { History } from '../sim/history';

export class TravelRefused extends Error {}

/** Throws TravelRefused unless `step` is one the run recorded (start <= step <= end). */
export function checkTravel<A>(history: History<A>, step: number, end: number): void {
  if (step < history.start) throw new TravelRefused(`step ${step} is before the earliest reachable step (${history.start})`);
  if (step > end) throw new TravelRefused(`step ${step} is after the last step run (${end}): continue to run further first`);
}

/**
 * Moves the machine to `step` (start <= step <= end, the recorded run) by replay; `replayStep` runs
 * one step and returns the breakpoints' decision for it. Returns the decision of the step that
 * arrived (null when none held or no step was replayed).
 */
export function travelTo<D, A>(engine: Engine, history: History<A>, step: number, end: number, replayStep: () => D | null): D | null {
  checkTravel(history, step, end);
  let last: D | null = null;
  history.travel(step, () => { last = replayStep(); });
  if (engine.state.steps !== step) throw new TravelRefused(`the machine stopped at step ${engine.state.steps} before step ${step} (${engine.state.halted ?? 'halted'})`);
  return last;
}
