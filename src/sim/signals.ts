// Signal handlers as the machine runs them for the kernel's signal code (src/kernel/signal.xsave):
// handle_signal() writes the frame and asks for the handler (signal_handler_enter); when the
// exit_to_user_mode() frame that asked returns, the handler's frame goes on top of the interrupted
// user code, at CPL 3, with the signal, the siginfo and the ucontext as arguments. When the handler
// returns (its sa_restorer's rt_sigreturn), the kernel's rt_sigreturn() runs as a hook and the
// interrupted code resumes: the instruction that faulted runs again, unless the handler moved the
// saved RIP (sigreturn_set_ip), in which case it completes as skipped. The interrupted
// instruction's address is the frame's function address, shifted, plus its position: the model
// has no instruction bytes, so any other RIP means "after it".
import { functionAt, functionAddress, Op } from '../lang/code';
import { ScenarioError } from './scenario-error';
import type { Frame, ThreadState } from './machine';
import { complete } from './program-index';
import type { StepContext } from './step-context';
import type { Value } from './value';

/** The user frame a kernel frame of `th` will return to: the innermost one at CPL 3. */
export function interruptedUserFrame(th: ThreadState): Frame | null {
  for (let i = th.frames.length - 1; i >= 0; i--) if (th.frames[i]!.cpl === 3 && th.frames[i]!.kind !== 'vmentry') return th.frames[i]!;
  return null;
}

/** The address of the user instruction `f` stands at (regs->ip). */
export function userIp(f: Frame): bigint {
  return (functionAddress(f.fn) << 12n) | BigInt(f.pc);
}

/** signal_handler_enter(handler, sig, info, uc): run `handler` when exit_to_user_mode() returns. */
export function requestHandler(x: StepContext, th: ThreadState, handler: bigint, args: Value[]): void {
  const fn = functionAt(handler, x.code.program.functions.length);
  if (fn < 0 || x.code.program.functions[fn]!.context !== 'user') {
    throw new ScenarioError(`signal handler 0x${handler.toString(16)} is not a host function's address`);
  }
  const f = interruptedUserFrame(th);
  if (!f) throw new ScenarioError('signal_handler_enter(): no user code to return to');
  th.signalFrames.push({ ip: userIp(f), fn, args, entered: false });
}

/** After exit_to_user_mode() returned to user code: the handler it asked for goes on; true if so. */
export function enterHandler(x: StepContext, th: ThreadState): boolean {
  const rec = th.signalFrames[th.signalFrames.length - 1];
  if (!rec || rec.entered) return false;
  rec.entered = true;
  th.frames.push(x.code.frame(rec.fn, 'signal', 3, rec.args));
  x.cpu.cpl = 3;
  return true;
}

/** The handler returned: rt_sigreturn() runs (a hook), then the interrupted code. */
export function handlerReturned(x: StepContext, th: ThreadState): void {
  const hook = x.code.kernelFns.get('rt_sigreturn');
  if (hook === undefined) { th.signalFrames.pop(); return; }
  th.frames.push(x.code.frame(hook, 'hook', 0, []));
  x.cpu.cpl = 0;
}

/** sigreturn_set_ip(ip): the RIP rt_sigreturn restores; a moved one skips the interrupted instruction. */
export function setReturnIp(x: StepContext, th: ThreadState, ip: bigint): void {
  const rec = th.signalFrames.pop();
  if (!rec) throw new ScenarioError('sigreturn_set_ip(): no signal handler has returned');
  if (ip === rec.ip) return;
  const f = interruptedUserFrame(th);
  const ins = f && f.fn >= 0 ? x.code.program.functions[f.fn]!.code[f.pc] : undefined;
  if (!f || !ins || ins.op !== Op.BUILTIN) return;
  complete(f, ins.b, 0n);
}
