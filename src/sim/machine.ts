// The simulated machine as plain data (DESIGN §4): the CPUs of the hardware model, memory, the
// kernel objects, every thread with its explicit frame stack, the saved guest contexts of the
// vCPUs, the VMCSs, the trace and the state of the events. The compiled Program is not part of it
// (it never changes); together they determine everything, so structuredClone of a MachineState is
// a snapshot, and restoring one and running on gives the same trace as never having stopped.
import type { CpuState, Memory, Vmcs } from '../model';
import type { Shadow, Violation } from './invariants';
import type { KObject } from './kernel-objects';
import type { Provenance } from './provenance';
import type { Value } from './value';

/**
 * thread: a thread body; call / syscall: a call (into the kernel from user code); exception: a
 * fault or interrupt handler; vmentry: the `[VM entry]` label; guest: the guest's outermost frame;
 * hook: kernel code the machine runs at a point of its own (fpu_clone at thread start);
 * exit-to-user: exit_to_user_mode() on the way back to user code; switch: switch_fpu() of a thread
 * being switched out (the switch completes when it returns).
 */
export type FrameKind = 'thread' | 'call' | 'syscall' | 'exception' | 'vmentry' | 'guest' | 'hook' | 'exit-to-user' | 'switch';

export interface Frame {
  /** Index into program.functions; -1 for the `[VM entry]` label frame. */
  fn: number;
  pc: number;
  /** The statement being executed, -1 before the first. */
  stmt: number;
  locals: Value[];
  stack: Value[];
  kind: FrameKind;
  cpl: number;
  /** Exception frames: the vector delivered. */
  vector: number;
  /** `[VM entry]` frames: the vcpu object entered. */
  vcpu: number;
  /**
   * Host exception and interrupt frames: whether interrupts were disabled when it was delivered.
   * Delivery through an interrupt gate clears IF and IRET restores it (SDM Vol3 6.12.1.3), so the
   * machine disables interrupts for the handler and restores this value when it returns.
   */
  irqOffBefore?: boolean;
}

export type ThreadStatus = 'waiting' | 'runnable' | 'exited' | 'killed';

export interface ThreadState {
  readonly id: number;
  /** `process.thread`. */
  readonly name: string;
  readonly process: string;
  /** The CPU whose run queue the thread belongs to. */
  cpu: number;
  frames: Frame[];
  status: ThreadStatus;
  /** The task object (`current` while it runs). */
  task: number;
  /** Linear address of this thread's scratch page (operands of tile loads, tile configurations). */
  scratch: bigint;
  exitValue: bigint;
  signal: number;
  /** While a `switch` frame runs: the thread to run next (-1: none, the CPU picks from its queue). */
  switchTo: number;
  /** Starts once every CPU has booted (start_kernel and start_secondary have returned). */
  afterBoot: boolean;
  /** While a `switch` frame runs for sched_setaffinity(): the CPU the thread moves to, else -1. */
  moveTo: number;
  /** The user task's reference: a CPU that runs only this task's user-mode instructions. */
  shadow: Shadow | null;
  /**
   * A fault recognized by the last step and not yet delivered: the thread's next step pushes the
   * handler frame. Recognition (the faulting statement, XFD_ERR already written: SDM Vol1 13.14)
   * and delivery are two steps, so a stop on the fault shows the instruction that raised it.
   */
  pendingFault: PendingFault | null;
}

export interface PendingFault {
  /** Index of the `exc_*` function that handles it. */
  readonly handler: number;
  readonly vector: number;
  readonly errorCode: number | null;
  readonly mnemonic: string;
}

/** A vCPU's guest execution while the host runs: the guest frames VM exit took off the stack. */
export interface GuestContext {
  vcpu: number;
  frames: Frame[];
  started: boolean;
  /** The guest's outermost function returned; every later entry halts at once. */
  finished: boolean;
  /** The bare-metal reference CPU of this vCPU, from its first VM entry. */
  shadow: Shadow | null;
}

export interface TraceEntry {
  readonly step: number;
  readonly cpu: number;
  readonly kind: string;
  readonly text: string;
}

export interface AssertionFailure {
  readonly step: number;
  readonly message: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly thread: string;
}

export interface EventState {
  fired: boolean;
  hits: number;
}

export interface MachineState {
  steps: number;
  cpus: CpuState[];
  mem: Memory;
  /** Next free linear address for allocations (fpstate buffers, scratch pages). */
  nextAddr: bigint;
  heap: KObject[];
  threads: ThreadState[];
  /** Per CPU: the running thread's id, or -1. */
  running: number[];
  /** Per CPU: the threads waiting for it, in order. */
  runQueues: number[][];
  /** The CPU the next step will try first: CPUs take turns, one statement each. */
  nextCpu: number;
  /** The thread that ran the last step, or -1. */
  lastThread: number;
  guests: GuestContext[];
  vmcss: Vmcs[];
  /** Kernel objects the machine provides by name: init_fpstate, fpu_kernel_cfg, fpu_user_cfg. */
  globals: Record<string, number>;
  /** Per CPU: its `percpu` object (`this_cpu`). */
  percpu: number[];
  /** Per CPU: interrupts disabled (local_irq_disable) and the preemption-disable depth. */
  irqOff: boolean[];
  preemptCount: number[];
  /** Per CPU: events that arrived while interrupts or preemption were off, in arrival order. */
  deferred: number[][];
  trace: TraceEntry[];
  events: EventState[];
  passedAssertions: number;
  /** Invariant violations, the first of each name. */
  violations: Violation[];
  /** Per CPU: the IA32_XFD_ERR bits the guest set (by its #NM or its WRMSR); where, in provenance. */
  xfdErrGuestBits: bigint[];
  /** Where the values the invariants compare were last written (provenance.ts). */
  provenance: Provenance;
  failedAssertions: AssertionFailure[];
  /** Why the machine cannot run on (all threads finished, an oops, a shutdown), or null. */
  halted: string | null;
}
