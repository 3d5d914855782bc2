// What the runtime tells its client, as plain data: a stop (with why, on which thread, and the
// details an exception stop reports), a line for the console, the end of the run, the progress of
// an exploration and the counterexample it wrote. A DAP session turns each into its event; a test
// collects them.
import type { ExceptionDetails, StatementAt } from './breakpoints';
import type { StoppedExit } from './vm-exit';

/** Why the machine stopped. */
export type StopReason =
  | 'entry' | 'step' | 'pause' | 'restart'
  /** A travel to a chosen step (the timeline's click, `xsave/travel`). */
  | 'goto'
  | 'breakpoint' | 'function breakpoint' | 'data breakpoint' | 'exception';

export interface Stop {
  readonly reason: StopReason;
  /** The thread the stop is reported on: the one on the CPU that ran last (index into the machine's threads). */
  readonly thread: number;
  /** A short text (VS Code shows it beside the thread): the exception, the data breakpoint's change. */
  readonly text?: string;
  readonly description?: string;
  readonly hitBreakpointIds?: readonly number[];
  /** An exception stop: what exceptionInfo reports. */
  readonly exception?: ExceptionDetails;
  /** A VM-exit stop: the exit, for the "VM exit" scope. */
  readonly vmexit?: StoppedExit;
  /** The statement that caused the stop when the machine has already moved past it (see StopDecision.at). */
  readonly at?: StatementAt;
}

/** stdout: the hardware trace; stderr: what went wrong; console: the debugger's own lines; important: what the user must see. */
export type OutputCategory = 'console' | 'stdout' | 'stderr' | 'important';

export type RuntimeEvent =
  | { readonly type: 'stopped'; readonly stop: Stop }
  /** One line (`text` has no newline), or a group's end (empty text). */
  | {
    readonly type: 'output'; readonly category: OutputCategory; readonly text: string;
    readonly group?: 'startCollapsed' | 'end';
    /** A logpoint's line: where it was set. */
    readonly source?: { readonly path: string; readonly line?: number };
  }
  /** The run is over (every thread finished, or the machine halted); nothing more will stop. */
  | { readonly type: 'terminated' }
  /** An exploration before the launch: started (on `file`), moved on, ended. It can be cancelled. */
  | { readonly type: 'progress'; readonly phase: 'start'; readonly title: string; readonly file: string }
  | { readonly type: 'progress'; readonly phase: 'update'; readonly message: string; readonly percentage?: number }
  | { readonly type: 'progress'; readonly phase: 'end' }
  /** The exploration wrote a counterexample, which is what the session now debugs. */
  | { readonly type: 'counterexample'; readonly path: string; readonly invariant: string; readonly where: string };

export type RuntimeListener = (event: RuntimeEvent) => void;
