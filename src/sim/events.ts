// The scenario's asynchronous events (`events { ... }`): each fires when its thread reaches its
// `at` point for the `hit`th time (or where the explorer injects it), or waits while interrupts or
// preemption are off and happens at the enable, as on Linux. What an event does: an external
// interrupt (a VM exit when a guest runs, else common_interrupt), an FPU-using interrupt
// (handle_fpu_irq), a preemption, or running a waiting thread.
import { externalInterrupt } from '../model';
import { ScenarioError } from './builtins';
import { afterOutcome, enterInterruptGate } from './exceptions';
import type { Frame, ThreadState } from './machine';
import { switchOut } from './scheduler';
import { noteInstruction, registersBefore } from './provenance';
import { type StepContext, trace, writeBy } from './step-context';
import { leaveGuest } from './vmx-transitions';

/** Fires the events placed at (frame.fn, stmt); true when one diverted control. */
export function eventsAt(x: StepContext, th: ThreadState, f: Frame, stmt: number): boolean {
  const evs = x.code.program.events;
  const s = x.state;
  let diverted = false;
  for (let i = 0; i < evs.length; i++) {
    const e = evs[i]!;
    const st = s.events[i]!;
    // An injected event fires here whatever its point says; its hit count still counts the
    // arrivals at its point, which is what a written-out `at point hit n` needs.
    const forced = i === x.injected;
    if (st.fired || (!forced && (!e.at || e.at.fn !== f.fn || e.at.stmt !== stmt))) continue;
    // A default cpu0 matches any CPU; an event that named its CPU (`on cpuN`) only that one.
    if (!forced && e.kind !== 'run' && e.cpu !== x.c && e.cpuExplicit) continue;
    st.hits++;
    if (forced) x.injected = -1;
    else if (st.hits !== e.hit) continue;
    diverted = fire(x, th, i) || diverted;
    for (let j = i + 1; j < evs.length && evs[j]!.afterPrevious && !s.events[j]!.fired; j++) {
      const prevHeld = s.deferred[x.c]!.includes(j - 1);
      if (prevHeld) {
        // Chained to an event that is waiting: it waits too, behind it.
        s.events[j]!.fired = true;
        s.deferred[x.c]!.push(j);
        continue;
      }
      diverted = fire(x, s.threads[s.running[x.c]!] ?? th, j) || diverted;
    }
    if (diverted) return true;
  }
  return diverted;
}

/** Whether event i may happen now on this CPU, or must wait for interrupts or preemption. */
function allowed(x: StepContext, i: number): boolean {
  const e = x.code.program.events[i]!;
  const s = x.state;
  const c = x.c;
  const guest = x.cpu.vmx.mode === 'non-root';
  switch (e.kind) {
    case 'external_interrupt': return guest || !s.irqOff[c];
    case 'fpu_irq': return !s.irqOff[c];
    case 'preempt': return !s.irqOff[c] && s.preemptCount[c] === 0;
    case 'run': return (e.cpuExplicit && e.cpu !== c) || (!s.irqOff[c] && s.preemptCount[c] === 0);
  }
}

/** Fires the held-back events that may happen now; true when one diverted control. */
export function fireDeferred(x: StepContext, th: ThreadState): boolean {
  const s = x.state;
  const q = s.deferred[x.c]!;
  while (q.length && allowed(x, q[0]!)) {
    const i = q.shift()!;
    const cur = s.threads[s.running[x.c]!] ?? th;
    if (act(x, cur, i)) return true;
  }
  return false;
}

function fire(x: StepContext, th: ThreadState, i: number): boolean {
  const e = x.code.program.events[i]!;
  const s = x.state;
  s.events[i]!.fired = true;
  const guestExit = e.kind === 'external_interrupt' && x.cpu.vmx.mode === 'non-root';
  if (!allowed(x, i) || (s.deferred[x.c]!.length > 0 && !guestExit)) {
    // Interrupts or preemption are off (or earlier events wait): it happens at the enable.
    s.deferred[x.c]!.push(i);
    trace(x, 'event', `cpu${x.c} ${eventText(x, i)} held: ${s.irqOff[x.c] ? 'interrupts' : 'preemption'} disabled`);
    return false;
  }
  return act(x, th, i);
}

function eventText(x: StepContext, i: number): string {
  const e = x.code.program.events[i]!;
  return `event ${e.kind}${e.kind === 'external_interrupt' ? ` (vector ${e.vector})` : ''}${e.target ? ` ${e.target.process}.${e.target.thread}` : ''}`;
}

/** What event i does, now. */
function act(x: StepContext, th: ThreadState, i: number): boolean {
  const e = x.code.program.events[i]!;
  const s = x.state;
  const cpu = x.cpu;
  const text = eventText(x, i);
  trace(x, 'event', `cpu${x.c} ${text}`);
  x.out.push({ kind: 'event', cpu: x.c, thread: th.id, text });
  switch (e.kind) {
    case 'external_interrupt': {
      const before = registersBefore(cpu);
      const o = externalInterrupt(cpu, e.vector);
      // A VM exit loads host state (the VMCS's MSR-load area among it): provenance of what it changed.
      noteInstruction(s.provenance.cpus[x.c]!, cpu, before, writeBy(x, th));
      if (o.kind === 'vmexit') { leaveGuest(x, th, o.exit); return true; }
      if (o.kind !== 'ok') return afterOutcome(x, th, th.frames[th.frames.length - 1]!, o, null);
      const handler = x.code.kernelFns.get('common_interrupt');
      if (handler === undefined) return false;
      th.frames.push(x.code.frame(handler, 'exception', 0, [BigInt(e.vector)], e.vector));
      cpu.cpl = 0;
      return true;
    }
    case 'fpu_irq': {
      if (cpu.vmx.mode === 'non-root') throw new ScenarioError('fpu_irq while a guest runs: place it in host code (an interrupt in the guest is an external_interrupt VM exit)');
      const handler = x.code.kernelFns.get('handle_fpu_irq');
      if (handler === undefined) throw new ScenarioError('fpu_irq: host kernel code defines no fn handle_fpu_irq()');
      const frame = x.code.frame(handler, 'exception', 0, [], 32);
      enterInterruptGate(x, frame);
      th.frames.push(frame);
      cpu.cpl = 0;
      return true;
    }
    case 'preempt': {
      if (cpu.vmx.mode === 'non-root') throw new ScenarioError('preempt while a guest runs: a guest is preempted through an external_interrupt VM exit');
      switchOut(x, th, -1);
      return true;
    }
    case 'run': {
      const t = s.threads.find((y) => y.name === `${e.target!.process}.${e.target!.thread}`)!;
      if (t.status !== 'waiting') throw new ScenarioError(`run ${t.name}: the thread has already started`);
      if (cpu.vmx.mode === 'non-root') throw new ScenarioError(`run ${t.name} while a guest runs: the host must leave the guest first (after an exit)`);
      t.status = 'runnable';
      const where = e.cpuExplicit ? e.cpu : x.c;
      if (where !== x.c) {
        // Another CPU: the thread is queued there and runs at that CPU's next turn.
        t.cpu = where;
        s.runQueues[where]!.unshift(t.id);
        return false;
      }
      t.cpu = x.c;
      switchOut(x, th, t.id);
      return true;
    }
  }
}
