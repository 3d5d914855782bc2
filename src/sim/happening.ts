// What a step reports to its caller: the happenings the debugger and the CLI may stop on. Every
// part of the machine that runs inside a step (interpreter, scheduler and events, exception
// delivery, VMX transitions, invariant checks) appends to the step's list; the engine returns it.
import type { Fault, VmExitInfo } from '../model';
import type { Violation } from './invariants';

/** Something the debugger or the CLI may stop on, produced by a step. */
export type Happening =
  | { kind: 'exception'; cpu: number; thread: number; guest: boolean; fault: Fault }
  | { kind: 'vmexit'; cpu: number; thread: number; exit: VmExitInfo }
  | { kind: 'vmentry'; cpu: number; thread: number; vcpu: number }
  | { kind: 'msr-write'; cpu: number; thread: number; guest: boolean; msr: number; name: string; old: bigint; value: bigint }
  | { kind: 'xcr0-write'; cpu: number; thread: number; guest: boolean; old: bigint; value: bigint }
  | { kind: 'assertion'; cpu: number; thread: number; message: string; file: string; line: number; column: number }
  | { kind: 'event'; cpu: number; thread: number; text: string }
  /** A function was entered: the step stopped at its first statement. */
  | { kind: 'call'; cpu: number; thread: number; fn: number; name: string }
  | { kind: 'thread-end'; cpu: number; thread: number; text: string }
  | { kind: 'end'; text: string }
  | { kind: 'error'; text: string }
  | { kind: 'oops'; text: string }
  | { kind: 'invariant'; violation: Violation };
