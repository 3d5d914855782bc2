// The run timeline as the runtime serves it (`xsave/timeline` over DAP): the recorder of
// src/sim/timeline.ts fed by every forward step, and the window a view asks for, with the defaults a
// client can leave out (the whole recorded run at 1000 columns) and the position the machine
// stands at (the view's cursor). A counterexample's placed events are known from its file
// (placedEvents), so its timeline highlights them.
import type { Engine } from '../sim/engine';
import { placedEvents } from '../sim/explore/counterexample';
import { TimelineError, TimelineRecorder, type TimelineWindow } from '../sim/timeline';

export interface TimelineArguments {
  from?: number;
  to?: number;
  buckets?: number;
}

export interface TimelineBody extends TimelineWindow {
  /** The step the machine stands at now. */
  readonly position: number;
}

/** Columns of a window a client did not size. */
export const DEFAULT_BUCKETS = 1000;

/** A recorder for a freshly loaded engine; `source` is the main file's text (for a counterexample's placed events). */
export function timelineFor(engine: Engine, source: string | null): TimelineRecorder {
  return new TimelineRecorder(engine.state, engine.program, source === null ? new Set() : placedEvents(engine.program, source));
}

/** The window `args` asks for; a bad window is a TimelineError whose message says what to send. */
export function timelineWindow(r: TimelineRecorder, args: TimelineArguments, position: number): TimelineBody {
  const from = args.from ?? r.start;
  const to = args.to ?? Math.max(r.end + 1, from + 1);
  if (to <= from) throw new TimelineError(`'to' (${to}) must be greater than 'from' (${from})`);
  return { ...r.window(from, to, args.buckets ?? DEFAULT_BUCKETS), position };
}
