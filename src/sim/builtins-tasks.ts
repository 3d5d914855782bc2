// The machine's part of fork, exit, wait, ptrace and signal delivery, for the kernel code that does
// the rest in the language (src/kernel/fork.xsave, ptrace.xsave, signal.xsave): each builtin is one
// thing the scheduler or the entry code does (tasks.ts, signals.ts), or a lookup in its task list.
import { functionAddress } from '../lang/code';
import type { Context } from '../lang/code';
import type { BuiltinContext, BuiltinDef } from './builtins';
import { ScenarioError } from './scenario-error';
import { interruptedUserFrame, userIp } from './signals';
import type { Value } from './value';

const K: readonly Context[] = ['kernel'];

function taskArg(c: BuiltinContext, a: Value[], i: number, name: string): number {
  return c.obj(a, i, name, 'task').id;
}

export const TASK_BUILTINS: Readonly<Record<string, BuiltinDef>> = {
  copy_process: {
    params: ['clone_flags'], contexts: K,
    run: (c, a) => {
      const flags = c.u64(a, 0, 'clone_flags');
      if (flags !== 0n) throw new ScenarioError('copy_process: only fork() (clone_flags 0) makes a new task; threads are `spawn`');
      return { kind: 'task', request: { op: 'copy-process' } };
    },
  },
  wake_up_new_task: { params: ['task'], contexts: K, run: (c, a) => ({ kind: 'task', request: { op: 'wake-new', task: taskArg(c, a, 0, 'task') } }) },
  do_exit: { params: ['code'], contexts: K, run: (c, a) => ({ kind: 'task', request: { op: 'exit', code: c.u64(a, 0, 'code') } }) },
  schedule: { params: [], contexts: K, run: () => ({ kind: 'task', request: { op: 'yield' } }) },
  task_stop: { params: [], contexts: K, run: () => ({ kind: 'task', request: { op: 'stop' } }) },
  wake_up_process: { params: ['task'], contexts: K, run: (c, a) => ({ kind: 'task', request: { op: 'wake', task: taskArg(c, a, 0, 'task') } }) },
  /** find_task_by_vpid(pid): the task with that pid, or NULL. */
  find_task_by_vpid: {
    params: ['pid'], contexts: K,
    run: (c, a) => {
      const pid = c.u64(a, 0, 'pid');
      const th = c.state.threads.find((t) => c.state.heap[t.task]!.fields.pid === pid);
      return { kind: 'value', value: th ? { ref: th.task } : 0n };
    },
  },
  /** thread_group_next(task): the next thread of the task's thread group (for_each_thread), or NULL. */
  thread_group_next: {
    params: ['task'], contexts: K,
    run: (c, a) => {
      const id = taskArg(c, a, 0, 'task');
      const k = c.state.threads.findIndex((t) => t.task === id);
      const process = c.state.threads[k]?.process;
      const next = c.state.threads.slice(k + 1).find((t) => t.process === process && t.status !== 'exited' && t.status !== 'killed');
      return { kind: 'value', value: next ? { ref: next.task } : 0n };
    },
  },
  /** signal_handler_enter(handler, sig, info, uc): handle_signal()'s regs->ip = handler. */
  signal_handler_enter: {
    params: ['handler', 'sig', 'info', 'uc'], contexts: K,
    run: (c, a) => ({ kind: 'signal-enter', handler: c.u64(a, 0, 'handler'), args: [c.u64(a, 1, 'sig'), c.u64(a, 2, 'info'), c.u64(a, 3, 'uc')] }),
  },
  /** user_regs_ip(): regs->ip, the address of the user instruction the kernel will return to. */
  user_regs_ip: {
    params: [], contexts: K,
    run: (c) => {
      const f = interruptedUserFrame(c.thread);
      if (!f) throw new ScenarioError('user_regs_ip(): the thread has no user code to return to');
      return { kind: 'value', value: f.fn >= 0 ? userIp(f) : functionAddress(0) };
    },
  },
  /**
   * user_state_set(task): the kernel has written the task's user registers itself (fork's copy,
   * fpu__clear_user_states for a handler, fpu__restore_sig, a ptrace write); the task's reference
   * CPU (user-state-matches-bare-metal) starts again from them when it returns to user mode.
   */
  user_state_set: {
    params: ['task'], contexts: K,
    run: (c, a) => {
      const id = taskArg(c, a, 0, 'task');
      const th = c.state.threads.find((t) => t.task === id);
      if (th) { th.shadow = null; th.referenceFromTask = true; }
      return { kind: 'value', value: 0n };
    },
  },
  /** sigreturn_set_ip(ip): rt_sigreturn()'s restore of RIP from the signal frame. */
  sigreturn_set_ip: { params: ['ip'], contexts: K, run: (c, a) => ({ kind: 'sigreturn-ip', ip: c.u64(a, 0, 'ip') }) },
};
