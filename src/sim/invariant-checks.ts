// The invariants (invariants.ts) checked as the machine runs: after every step, when the kernel
// reads its per-CPU XFD cache, when a fault is recognized in the host, and when a guest instruction
// completes differently from its bare-metal reference. A violation names the steps that set it up,
// read from the provenance the machine recorded when the values were written (provenance.ts): the
// write of each value that differs, and the VM entries, exits and context switches between.
import { type Fault, type Outcome, MSR_IA32_XFD, MSR_IA32_XFD_ERR, MSR_IA32_XSS, bitsOf, xfeatureName } from '../model';
import {
  type Cause, type InvariantName, type Shadow, type StateDifference, type Violation, RETURNS_VALUE, describeOutcome,
  guestStateDiff, userStateDifference,
} from './invariants';
import type { KObject } from './kernel-objects';
import type { ThreadState } from './machine';
import { type CpuProvenance, type ShadowProvenance, type TrackedRegister, type Write, fieldWrite } from './provenance';
import { type StepContext, trace, writeBy } from './step-context';
import type { Value } from './value';
import { guestOf, vcpuOf } from './vmx-transitions';

/** A cause not yet placed: what was written and its write (null: never written, left out). */
type Setup = Array<[what: string, write: Write | null]>;

const REGISTER_NAMES: Record<TrackedRegister, string> = { xcr0: 'XCR0', xss: 'IA32_XSS', xfd: 'IA32_XFD', xfdErr: 'IA32_XFD_ERR' };

/** Records the first violation of each invariant: trace, happening, and the statement. */
function violate(x: StepContext, name: InvariantName, th: ThreadState, text: string, setup: Setup): void {
  const s = x.state;
  const dev = x.code.program.deviations.find((d) => d.invariant === name && text.includes(d.match));
  // The first violation of each invariant, and the first of each declared deviation.
  if (s.violations.some((v) => v.name === name && (dev ? v.deviation?.why === dev.why : !v.deviation))) return;
  const where = x.code.where(th).replace(/: $/, '');
  const causes: Cause[] = [];
  for (const [what, w] of setup) {
    if (w && w.step >= 0) causes.push({ step: w.step, what, where: x.code.stmtWhere(w.fn, w.stmt) });
  }
  causes.sort((a, b) => a.step - b.step);
  const v: Violation = {
    name, step: s.steps, cpu: x.c, thread: th.name, text, where,
    setup: [...new Set(causes.map((c) => c.step))],
    causes,
    ...(dev ? { deviation: { why: dev.why, file: dev.file, line: dev.line } } : {}),
  };
  s.violations.push(v);
  trace(x, 'invariant', dev ? `known deviation (${name}): ${text}` : `invariant ${name} violated: ${text}`);
  x.out.push({ kind: 'invariant', violation: v });
}

/**
 * What bracketed the guest's time out of the CPU: its last VM exit (on whichever CPU), its move to
 * another vCPU object, and the VM entry just made on this CPU.
 */
function guestTransitions(p: CpuProvenance, guest: ShadowProvenance): Setup {
  return [['VM exit of the vCPU', guest.vmexit], ['guest migration', guest.migrated], ['VM entry', p.vmentry]];
}

/** The writes of one register: on the real CPU, and the guest's own on its bare-metal reference. */
function registerWrites(x: StepContext, reg: TrackedRegister, p: CpuProvenance, guest: ShadowProvenance | null): Setup {
  const out: Setup = [[`${REGISTER_NAMES[reg]} on cpu${x.c}`, p[reg]]];
  if (guest && reg !== 'xss') out.push([`${REGISTER_NAMES[reg]} by the guest (bare metal)`, guest[reg]]);
  return out;
}

/** The write of what differs between a CPU and its reference. */
function differenceWrites(x: StepContext, d: StateDifference, p: CpuProvenance, guest: ShadowProvenance | null): Setup {
  if (typeof d.what === 'string') return registerWrites(x, d.what, p, guest);
  const i = d.what.component;
  return [[`${xfeatureName(i)} registers on cpu${x.c}`, p.components[i] ?? null]];
}

/** A fault recognized in the host: an XFD #NM in kernel mode; an XSAVE or XRSTOR beyond its buffer. */
export function checkFault(x: StepContext, th: ThreadState, fault: Fault): void {
  const p = x.state.provenance.cpus[x.c]!;
  if (x.cpu.cpl === 0 && fault.nmCause === 'xfd') {
    // The #NM comes from IA32_XFD arming the component (SDM Vol1 13.14): its last write set it up.
    violate(x, 'no-kernel-xfd-nm', th, fault.reason, [['IA32_XFD on cpu' + x.c, p.xfd]]);
  }
  if (fault.mnemonic === '#PF' && /^X(SAVE|RSTOR)/.test(fault.instruction)) {
    // The buffer that ends below the faulting address, and the features the instruction saved.
    const regions = x.state.mem.regions;
    let k = -1;
    if (fault.address !== undefined) {
      for (let i = 0; i < regions.length; i++) {
        if (regions[i]!.base <= fault.address && (k < 0 || regions[i]!.base > regions[k]!.base)) k = i;
      }
    }
    violate(x, 'xsave-within-buffer', th, fault.reason, [
      [k >= 0 ? `allocation of ${regions[k]!.name}` : 'allocation', k >= 0 ? x.state.provenance.regions[k] ?? null : null],
      [`XCR0 on cpu${x.c}`, p.xcr0], [`IA32_XSS on cpu${x.c}`, p.xss],
    ]);
  }
}

/** The register a guest instruction reads or writes: an MSR's, XCR0 (or XINUSE for XGETBV(1)). */
function registerOperand(insn: string, args: Value[]): TrackedRegister | 'xinuse' | null {
  const a = typeof args[0] === 'bigint' ? Number(args[0]) : -1;
  if (insn === 'rdmsr' || insn === 'wrmsr') return a === MSR_IA32_XFD ? 'xfd' : a === MSR_IA32_XFD_ERR ? 'xfdErr' : a === MSR_IA32_XSS ? 'xss' : null;
  if (insn === 'xgetbv' || insn === 'xsetbv') return a === 0 ? 'xcr0' : a === 1 && insn === 'xgetbv' ? 'xinuse' : null;
  return null;
}

/** A guest instruction completed on the real CPU and on its reference: do they agree? */
export function compareWithBareMetal(
  x: StepContext, th: ThreadState, shadow: Shadow, insn: string, args: Value[], real: Outcome<unknown>, ref: Outcome<unknown>,
): void {
  if (real.kind === 'vmexit') { shadow.pending = { insn, outcome: ref, exitAt: writeBy(x, th) }; return; }
  const p = x.state.provenance.cpus[x.c]!;
  const text = `${insn} ${describeOutcome(real)} in the guest; bare metal ${describeOutcome(ref)}`;
  if (real.kind === 'ok' && ref.kind === 'ok') {
    if (RETURNS_VALUE.has(insn) && real.value !== ref.value) {
      const reg = registerOperand(insn, args);
      const setup: Setup = [...guestTransitions(p, shadow.written)];
      if (reg === 'xinuse') {
        // XGETBV(1): XINUSE, which the last load or first write of each differing component set.
        const diff = typeof real.value === 'bigint' && typeof ref.value === 'bigint' ? real.value ^ ref.value : 0n;
        for (const i of bitsOf(diff)) setup.push([`${xfeatureName(i)} registers on cpu${x.c}`, p.components[i] ?? null]);
      } else if (reg) setup.push(...registerWrites(x, reg, p, shadow.written));
      violate(x, 'guest-observes-bare-metal', th, text, setup);
    }
    return;
  }
  if (real.kind === 'fault' && ref.kind === 'fault' && real.fault.vector === ref.fault.vector) return;
  // An MSR or XCR instruction faults on its operand's register; the extended-use #UD and #NM come
  // from XCR0 and IA32_XFD (SDM Vol1 13.14, 14.3, 15.2): the writes of those.
  const reg = registerOperand(insn, args);
  const regs: TrackedRegister[] = insn === 'rdmsr' || insn === 'wrmsr' || insn === 'xgetbv' || insn === 'xsetbv'
    ? (reg && reg !== 'xinuse' ? [reg] : [])
    : ['xcr0', 'xfd'];
  violate(x, 'guest-observes-bare-metal', th, text, [...guestTransitions(p, shadow.written), ...regs.flatMap((r) => registerWrites(x, r, p, shadow.written))]);
}

/**
 * The guest observed something bare metal would not show it, outside an instruction's own outcome:
 * the VMM injected or completed its pending instruction wrongly, or a value the reference did not
 * return. Set up by the VM exit that took the instruction and the last VM entry.
 */
export function guestObservesBareMetal(x: StepContext, th: ThreadState, text: string, shadow: Shadow, pending: Shadow['pending']): void {
  const p = x.state.provenance.cpus[x.c]!;
  violate(x, 'guest-observes-bare-metal', th, text, [
    ...guestTransitions(p, shadow.written), ...(pending ? [['VM exit of the instruction', pending.exitAt] as [string, Write]] : []),
  ]);
}

/** The kernel reads this_cpu->xfd_state: it must hold what IA32_XFD holds. */
export function checkXfdCache(x: StepContext, th: ThreadState, percpu: KObject): void {
  const cpuIndex = Number(percpu.fields.cpu as bigint);
  const msr = x.state.cpus[cpuIndex]!.xfd;
  const cache = percpu.fields.xfd_state as bigint;
  if (cache !== msr) {
    violate(x, 'xfd-cache-matches-msr', th,
      `cpu${cpuIndex}'s xfd_state cache says 0x${cache.toString(16)} while IA32_XFD holds 0x${msr.toString(16)}`, [
        [`IA32_XFD on cpu${cpuIndex}`, x.state.provenance.cpus[cpuIndex]!.xfd],
        [`cpu${cpuIndex}'s xfd_state`, fieldWrite(x.state.provenance, percpu.id, 'xfd_state')],
      ]);
  }
}

/** The checks made after every step. */
export function checkInvariants(x: StepContext, th: ThreadState): void {
  const s = x.state;
  const cpu = x.cpu;
  if (th.status !== 'runnable' || s.running[x.c] !== th.id) return;
  const top = th.frames[th.frames.length - 1];
  if (!top || top.kind === 'vmentry') return;
  const p = s.provenance.cpus[x.c]!;
  if (cpu.vmx.mode === 'non-root') {
    const shadow = guestOf(s, vcpuOf(th)).shadow;
    const diff = shadow ? guestStateDiff(cpu, shadow.cpu) : null;
    if (diff) {
      violate(x, 'guest-state-matches-bare-metal', th, diff.text, [...guestTransitions(p, shadow!.written), ...differenceWrites(x, diff, p, shadow!.written)]);
    }
    return;
  }
  const guestBits = cpu.xfdErr & s.xfdErrGuestBits[x.c]!;
  if (guestBits !== 0n && !s.irqOff[x.c]) {
    violate(x, 'host-sees-guest-xfd-err', th,
      `interrupts are enabled with IA32_XFD_ERR = 0x${cpu.xfdErr.toString(16)}, set by the guest at step ${p.guestXfdErr?.step ?? -1}`,
      [['IA32_XFD_ERR set by the guest', p.guestXfdErr], ['VM exit', p.vmexit]]);
  }
  if (top.cpl === 3 && th.shadow) {
    const diff = userStateDifference(cpu, th.shadow.cpu);
    if (diff) {
      violate(x, 'user-state-matches-bare-metal', th, `${th.name}: ${diff.text.replace('bare metal', 'a CPU that ran only this task')}`, [
        ...p.switches.map((w): [string, Write] => ['context switch', w]), ['VM exit', p.vmexit], ...differenceWrites(x, diff, p, null),
      ]);
    }
  }
  if (top.cpl === 3) {
    const task = s.heap[th.task]!;
    const ts = task.fields.thread;
    const fpu = ts && typeof ts !== 'bigint' ? s.heap[ts.ref]!.fields.fpu : undefined;
    const fps = fpu && typeof fpu !== 'bigint' ? s.heap[fpu.ref]!.fields.fpstate : undefined;
    if (fps && typeof fps !== 'bigint') {
      const xfd = s.heap[fps.ref]!.fields.xfd as bigint;
      if (xfd !== cpu.xfd) {
        violate(x, 'user-xfd-matches-fpstate', th,
          `${th.name} runs in user mode with IA32_XFD = 0x${cpu.xfd.toString(16)}; its fpstate->xfd is 0x${xfd.toString(16)}`, [
            [`IA32_XFD on cpu${x.c}`, p.xfd],
            ['fpstate->xfd', fieldWrite(s.provenance, fps.ref, 'xfd')],
            ['fpu->fpstate', fieldWrite(s.provenance, (fpu as { ref: number }).ref, 'fpstate')],
          ]);
      }
    }
  }
}
