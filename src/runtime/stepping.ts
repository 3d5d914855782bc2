// What a step is, once, for every run-control verb: step in, over and out going forward, step back
// (the last earlier position a step over would have ended at) and restart frame (the position
// before a frame was entered). A step is a statement (ARCHITECTURE.md, "A step is a statement"), and
// a step request ends when the thread that was stepped runs again and stands at a statement of a
// frame at the right depth: any frame (in), the same or a shallower one (over: a call, a handler
// and a whole guest run between VM entry and exit are stepped over), a shallower one (out: the
// guest is left only through a VM exit, so stepping out of guest code stops after the exit). A
// statement whose fault is pending is not a place to stop: the handler's frame comes first.
import type { MachineState } from '../sim/machine';

export type StepKind = 'in' | 'over' | 'out';

/** Where a step began: the stepping thread and the depth of its frame stack then. */
export interface StepOrigin {
  readonly thread: number;
  readonly depth: number;
}

/**
 * Whether the machine `s` stands where a step of `kind` from `origin` ends. Going forward, a thread
 * that ends ends its step too (there is nowhere further to stand); going back there is no such end.
 */
export function stepEnds(kind: StepKind, origin: StepOrigin, s: MachineState, forward: boolean): boolean {
  const th = s.threads[origin.thread];
  if (!th) return false;
  if (forward && (th.status === 'exited' || th.status === 'killed')) return true;
  if (s.lastThread !== th.id || th.pendingFault || th.frames.length === 0) return false;
  switch (kind) {
    case 'in': return true;
    case 'over': return th.frames.length <= origin.depth;
    case 'out': return th.frames.length < origin.depth;
  }
}

/**
 * Whether the frame at index `depth` of `thread` does not exist in `s` (yet): the last position
 * where this holds, plus one step, is where the frame was entered (restart frame).
 */
export function frameAbsent(thread: number, depth: number, s: MachineState): boolean {
  const th = s.threads[thread];
  return !th || th.frames.length <= depth;
}
