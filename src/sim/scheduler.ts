// The scheduler: which CPU takes the next step and which thread runs on it, context switches
// through the kernel's switch_fpu(), the way back to user code through exit_to_user_mode(), and
// the end of a thread (with the boot order: secondaries after start_kernel, user space after every
// CPU has booted). Each switch is recorded as provenance of the CPU (provenance.ts).
import { enterInterruptGate } from './exceptions';
import { ScenarioError } from './builtins';
import type { MachineState, ThreadState } from './machine';
import { noteSwitch } from './provenance';
import { type StepContext, trace, writeBy } from './step-context';
import { showValue } from './value';

/** The CPU that takes the next step: CPUs take turns, one statement each, in a fixed order; -1 when no thread is left. */
export function nextCpu(s: MachineState): number {
  const n = s.cpus.length;
  for (let k = 0; k < n; k++) {
    const c = (s.nextCpu + k) % n;
    if (s.running[c]! >= 0 || s.runQueues[c]!.length) return c;
  }
  return -1;
}

/** The thread this step runs: the running one, or the next queued one, which is switched in now. */
export function dispatch(x: StepContext): ThreadState {
  const s = x.state;
  if (s.running[x.c]! < 0) {
    const next = s.runQueues[x.c]!.shift()!;
    s.running[x.c] = next;
    switchedIn(x, s.threads[next]!);
  }
  return s.threads[s.running[x.c]!]!;
}

function switchedIn(x: StepContext, th: ThreadState): void {
  trace(x, 'sched', `run ${th.name}`);
  noteSwitch(x.state.provenance.cpus[x.c]!, writeBy(x, th));
  toUser(x, th);
}

/** On the way back to user code: the kernel's exit_to_user_mode(), if it has one. */
export function toUser(x: StepContext, th: ThreadState, irqOffAfter?: boolean): boolean {
  const hook = x.code.kernelFns.get('exit_to_user_mode');
  const top = th.frames[th.frames.length - 1];
  if (hook === undefined || !top || top.cpl !== 3) return false;
  // The exit path runs with interrupts disabled (exit_to_user_mode_prepare); the return to user
  // mode sets them as the interrupted user code had them.
  const frame = x.code.frame(hook, 'exit-to-user', 0, []);
  enterInterruptGate(x, frame);
  if (irqOffAfter !== undefined) frame.irqOffBefore = irqOffAfter;
  th.frames.push(frame);
  x.cpu.cpl = 0;
  return true;
}

/**
 * Switch the CPU away from `th` (preemption, or another thread to run now). With a kernel
 * switch_fpu(prev), it runs first on `th`'s stack and the switch completes when it returns;
 * without one the switch is immediate. `next` -1: the CPU takes the next queued thread.
 */
export function switchOut(x: StepContext, th: ThreadState, next: number): void {
  const hook = x.code.kernelFns.get('switch_fpu');
  const top = th.frames[th.frames.length - 1];
  if (top?.kind === 'switch') throw new ScenarioError(`${th.name} is already being switched out`);
  th.switchTo = next;
  if (hook === undefined) { completeSwitch(x, th); return; }
  // __schedule() switches with interrupts disabled; finish_task_switch() enables them again.
  const frame = x.code.frame(hook, 'switch', 0, [{ ref: th.task }]);
  enterInterruptGate(x, frame);
  th.frames.push(frame);
  x.cpu.cpl = 0;
}

export function completeSwitch(x: StepContext, prev: ThreadState): void {
  const s = x.state;
  const next = prev.switchTo;
  prev.switchTo = -1;
  if (next >= 0) {
    s.runQueues[x.c]!.unshift(prev.id);
    s.running[x.c] = next;
    switchedIn(x, s.threads[next]!);
  } else {
    const dest = prev.moveTo >= 0 ? prev.moveTo : x.c;
    prev.moveTo = -1;
    prev.cpu = dest;
    // A stopped task waits off every run queue until wake_up_process() (tasks.ts).
    if (!prev.stopped) s.runQueues[dest]!.push(prev.id);
    s.running[x.c] = -1;
    trace(x, 'sched', prev.stopped ? `${prev.name} stopped` : dest === x.c ? `${prev.name} switched out` : `${prev.name} moves to cpu${dest}`);
    noteSwitch(s.provenance.cpus[x.c]!, writeBy(x, prev));
  }
}

export function endThread(x: StepContext, th: ThreadState, how: 'exited' | 'killed'): void {
  const s = x.state;
  th.status = how;
  th.frames = [];
  th.signalFrames = [];
  s.running[x.c] = -1;
  // What a parent's wait() reads (kernel/exit.c): exited with a code, or killed by a signal.
  const task = s.heap[th.task]!.fields;
  // Written here, not by a field store: the explorer's footprint (footprint.ts) is told.
  x.fp?.objW.add(th.task);
  task.exit_state = 1n;
  task.exit_code = how === 'exited' ? (th.exitValue & 0xffn) << 8n : BigInt(th.signal);
  const threads = s.threads;
  if (th.name === 'kernel.start_kernel') {
    // The boot CPU is up: the secondaries boot now.
    for (const t of threads) {
      if (t.name.startsWith('kernel.start_secondary/') && t.status === 'waiting') {
        t.status = 'runnable';
        s.runQueues[t.cpu]!.unshift(t.id);
      }
    }
  }
  if (th.name.startsWith('kernel.start_') && !threads.some((t) => t.name.startsWith('kernel.start_') && (t.status === 'runnable' || t.status === 'waiting'))) {
    // Every CPU has booted: user space starts.
    for (const t of threads) {
      if (t.afterBoot && t.status === 'waiting') {
        t.afterBoot = false;
        t.status = 'runnable';
        s.runQueues[t.cpu]!.push(t.id);
      }
    }
  }
  const text = how === 'exited' ? `${th.name} exited (${showValue(th.exitValue)})` : `${th.name} killed by signal ${th.signal}`;
  trace(x, 'sched', text);
  x.out.push({ kind: 'thread-end', cpu: x.c, thread: th.id, text });
}
