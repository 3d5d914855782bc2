// Exceptions and interrupts: a model outcome applied to the frame that ran the instruction (ok
// completes it, a fault is recognized and later delivered, a VM exit leaves the guest, a shutdown
// halts the machine), delivery through the running context's IDT to its `exc_*` function, and the
// interrupt gate that disables interrupts for a host handler (SDM Vol3 6.12.1.3).
import type { Fault, Outcome } from '../model';
import { ScenarioError } from './builtins';
import { checkFault } from './invariant-checks';
import type { Frame, ThreadState } from './machine';
import { complete } from './program-index';
import { type StepContext, trace } from './step-context';
import { leaveGuest } from './vmx-transitions';

/** Exception handlers by vector, named as Linux names them (arch/x86/kernel/traps.c, DEFINE_IDTENTRY). */
export const HANDLERS: Readonly<Record<number, string>> = {
  6: 'exc_invalid_op',
  7: 'exc_device_not_available',
  13: 'exc_general_protection',
  14: 'exc_page_fault',
};

/**
 * Applies a model outcome to the frame that executed the instruction: ok completes it, a fault
 * is delivered, a VM exit leaves the guest. `argc` null: the outcome did not come from a BUILTIN
 * op of `f` (guest HLT at the end of its code). True when the step must end.
 */
export function afterOutcome(x: StepContext, th: ThreadState, f: Frame, o: Outcome<unknown>, argc: number | null): boolean {
  switch (o.kind) {
    case 'ok':
      if (argc !== null) complete(f, argc, typeof o.value === 'bigint' ? o.value : 0n);
      return false;
    case 'fault': deliver(x, th, o.fault); return true;
    case 'vmexit': leaveGuest(x, th, o.exit); return true;
    case 'shutdown':
      x.state.halted = `shutdown: ${o.reason}`;
      trace(x, 'shutdown', o.reason);
      x.out.push({ kind: 'oops', text: x.state.halted });
      return true;
  }
}

/** Recognizes a fault in the running context (guest or host); the thread's next step delivers it. */
export function deliver(x: StepContext, th: ThreadState, fault: Fault): void {
  const cpu = x.cpu;
  const guest = cpu.vmx.mode === 'non-root';
  if (!guest) checkFault(x, th, fault);
  x.out.push({ kind: 'exception', cpu: x.c, thread: th.id, guest, fault });
  trace(x, 'exception', `cpu${x.c} ${guest ? 'guest' : cpu.cpl === 3 ? 'host user' : 'host kernel'} ${fault.reason}`);
  const name = HANDLERS[fault.vector];
  const handler = name === undefined ? undefined : (guest ? x.code.guestFns : x.code.kernelFns).get(name);
  if (handler === undefined) {
    const where = guest ? 'the guest block' : 'host kernel code';
    throw new ScenarioError(`${fault.reason}, and ${where} defines no handler${name ? ` (fn ${name})` : ''}`);
  }
  if (th.frames.length >= x.code.maxFrames) throw new ScenarioError(`exception nesting exceeds ${x.code.maxFrames} frames`);
  // Delivered by the thread's next step (deliverPending): the faulting statement stays on top.
  th.pendingFault = { handler, vector: fault.vector, errorCode: fault.errorCode ?? null, mnemonic: fault.mnemonic };
}

/** A host handler runs with interrupts disabled (the IDT's interrupt gates clear IF). */
export function enterInterruptGate(x: StepContext, frame: Frame): void {
  frame.irqOffBefore = x.state.irqOff[x.c]!;
  x.state.irqOff[x.c] = true;
}

/** The delivery step of a recognized fault: the handler frame goes on, at CPL 0. */
export function deliverPending(x: StepContext, th: ThreadState): void {
  const p = th.pendingFault!;
  th.pendingFault = null;
  const args = p.errorCode !== null ? [BigInt(p.errorCode)] : [];
  const frame = x.code.frame(p.handler, 'exception', 0, args, p.vector);
  if (x.cpu.vmx.mode !== 'non-root') enterInterruptGate(x, frame);
  th.frames.push(frame);
  x.cpu.cpl = 0;
  const fn = x.code.program.functions[p.handler]!;
  x.out.push({ kind: 'call', cpu: x.c, thread: th.id, fn: p.handler, name: fn.name });
}
