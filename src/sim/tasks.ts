// Tasks the kernel's fork, exit, wait and ptrace code (src/kernel/fork.xsave, ptrace.xsave) asks the
// machine for, the part of kernel/fork.c and the scheduler that is the machine's: copy_process()
// makes a thread whose user frames are a copy of the caller's, returning 0 from the call that
// forked (its kernel half, fpu_clone and the rest, is kernel code the parent runs next);
// wake_up_new_task() queues it; do_exit() ends the calling task with an exit code; schedule() gives
// up the CPU to the next queued thread; task_stop() takes the calling task off the CPU until
// wake_up_process() queues it again (TASK_STOPPED / TASK_TRACED). A forked process is named after
// its parent's with its pid (`amx#5.main`); it shares the parent's user memory (one address space)
// but has its own scratch page, a copy of the parent's.
import { ScenarioError } from './scenario-error';
import { forkThread } from './boot';
import type { ThreadState } from './machine';
import { complete } from './program-index';
import { endThread, switchOut } from './scheduler';
import { type StepContext, trace } from './step-context';

/** What a task builtin asks of the machine. */
export type TaskRequest =
  | { op: 'copy-process' }
  | { op: 'wake-new'; task: number }
  | { op: 'exit'; code: bigint }
  | { op: 'yield' }
  | { op: 'stop' }
  | { op: 'wake'; task: number };

function threadOfTask(x: StepContext, task: number): ThreadState {
  const t = x.state.threads.find((y) => y.task === task);
  if (!t) throw new ScenarioError('no thread runs that task');
  return t;
}

/** Runs a task request of the BUILTIN at the top of `f`; true when the step must end. */
export function taskRequest(x: StepContext, th: ThreadState, argc: number, r: TaskRequest): boolean {
  const s = x.state;
  const f = th.frames[th.frames.length - 1]!;
  switch (r.op) {
    case 'copy-process': {
      // The user frames below the system call that forked; its caller gets 0 back in the child.
      const k = th.frames.map((y) => y.kind).lastIndexOf('syscall');
      if (k < 1) throw new ScenarioError('copy_process(): not in a system call from user code');
      const frames = structuredClone(th.frames.slice(0, k));
      frames[frames.length - 1]!.stack.push(0n);
      const child = forkThread(s, th, frames);
      trace(x, 'sched', `${th.name} forks ${child.name}`);
      complete(f, argc, { ref: child.task });
      return false;
    }
    case 'wake-new': {
      const t = threadOfTask(x, r.task);
      if (t.status !== 'waiting') throw new ScenarioError(`wake_up_new_task: ${t.name} has already started`);
      t.status = 'runnable';
      t.cpu = x.c;
      s.runQueues[x.c]!.push(t.id);
      complete(f, argc, 0n);
      return false;
    }
    case 'exit':
      th.exitValue = r.code & 0xffn;
      endThread(x, th, 'exited');
      return true;
    case 'yield':
      complete(f, argc, 0n);
      switchOut(x, th, -1);
      return true;
    case 'stop':
      complete(f, argc, 0n);
      th.stopped = true;
      switchOut(x, th, -1);
      return true;
    case 'wake': {
      const t = threadOfTask(x, r.task);
      complete(f, argc, 0n);
      if (!t.stopped) return false;
      t.stopped = false;
      if (!s.runQueues[t.cpu]!.includes(t.id) && s.running[t.cpu] !== t.id) s.runQueues[t.cpu]!.push(t.id);
      trace(x, 'sched', `${t.name} woken`);
      return false;
    }
  }
}
