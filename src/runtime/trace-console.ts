// The hardware trace as console lines: `[step] text`, each VM entry..exit a collapsed group, so a
// run of thousands of guest statements reads as one line per VM entry until opened. No group stays
// open while the machine is stopped (the answers of an evaluation go at top level, not inside a
// collapsed VM entry); the entry's later lines open a "VM entry continued" group. After a jump in
// time (step back, reverse continue, restart frame) the lines of the timeline left behind are not
// printed again.
import type { TraceEntry } from '../sim/machine';

/** A console line: plain text without its newline; `group` opens ('startCollapsed') or closes ('end', empty text) a group. */
export interface ConsoleLine {
  readonly text: string;
  readonly group?: 'startCollapsed' | 'end';
}

export const GROUP_END: ConsoleLine = { text: '', group: 'end' };

export class TraceConsole {
  /** Trace entries printed so far. */
  private sent = 0;
  private groupOpen = false;
  /** A stop closed the group of a VM entry still in progress: its next line reopens one. */
  private groupContinues = false;

  /** A new machine: nothing printed, no group. */
  reset(): void {
    this.sent = 0;
    this.groupOpen = false;
    this.groupContinues = false;
  }

  /** The lines of the entries not printed yet. */
  flush(trace: readonly TraceEntry[], emit: (line: ConsoleLine) => void): void {
    for (; this.sent < trace.length; this.sent++) {
      const x = trace[this.sent]!;
      const line = `[${x.step}] ${x.text}`;
      if (x.kind === 'vmentry') {
        if (this.groupOpen) emit(GROUP_END);
        emit({ text: line, group: 'startCollapsed' });
        this.groupOpen = true;
        this.groupContinues = false;
        continue;
      }
      if (this.groupContinues) {
        emit({ text: `[${x.step}] VM entry continued`, group: 'startCollapsed' });
        this.groupOpen = true;
        this.groupContinues = false;
      }
      emit({ text: line });
      if (x.kind === 'vmexit' && this.groupOpen) { emit(GROUP_END); this.groupOpen = false; }
    }
  }

  /** The machine stops: an open group closes, and reopens as "continued" when the run goes on. */
  stop(emit: (line: ConsoleLine) => void): void {
    if (!this.groupOpen) return;
    emit(GROUP_END);
    this.groupOpen = false;
    this.groupContinues = true;
  }

  /** The machine jumped in time to a trace of `length` entries: nothing before it is printed again, no group open. */
  jumped(length: number, emit: (line: ConsoleLine) => void): void {
    this.sent = length;
    if (this.groupOpen) { emit(GROUP_END); this.groupOpen = false; }
    this.groupContinues = false;
  }
}
