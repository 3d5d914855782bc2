// The invariants (DESIGN §6): what must hold after every step for a design to be right. Each has a
// stable name. The oracle for the guest is bare metal: a reference CPU per vCPU (the "shadow")
// executes every guest instruction as a CPU with no hypervisor would, and the guest's observations
// must match it — instruction results, exceptions, and the registers it can see (components whose
// XFD bit the guest has set excepted: the SDM makes their contents undefined).
import {
  type CpuState, type Memory, type Outcome, bitsOf, cpuModel, createCpu, createMemory, formatMask,
  X87_RANGES, XMM_RANGE, MXCSR, xfeatureName,
} from '../model';
import { type ShadowProvenance, type TrackedRegister, type Write, createShadowProvenance } from './provenance';

export const INVARIANTS = {
  'guest-observes-bare-metal': 'A guest instruction returned, faulted or was completed differently than on bare metal.',
  'guest-state-matches-bare-metal': 'The guest runs with XCR0, IA32_XFD, IA32_XFD_ERR or component contents different from bare metal.',
  'host-sees-guest-xfd-err': 'The host runs with interrupts enabled while IA32_XFD_ERR holds a bit the guest set.',
  'user-xfd-matches-fpstate': "A host user task runs with IA32_XFD different from its fpstate's xfd.",
  'user-state-matches-bare-metal': 'A host user task runs with component contents different from a CPU that ran only it.',
  'xfd-cache-matches-msr': 'The kernel reads its per-CPU xfd_state cache while it differs from IA32_XFD.',
  'no-kernel-xfd-nm': 'An XFD #NM was raised in host kernel mode.',
  'xsave-within-buffer': 'An XSAVE* or XRSTOR* touched memory beyond the buffer the kernel allocated.',
} as const;
export type InvariantName = keyof typeof INVARIANTS;

export interface Violation {
  readonly name: InvariantName;
  readonly step: number;
  readonly cpu: number;
  readonly thread: string;
  readonly text: string;
  /** `file:line:col` of the statement running when it broke. */
  readonly where: string;
  /** Earlier steps that set it up (the last change of what differs, the VM entries and exits between): the steps of `causes`. */
  readonly setup: number[];
  /** What set it up, oldest first: each write of a value that differs, and the VM entries, exits and switches between. */
  readonly causes: readonly Cause[];
  /** When the policy declared this as a known deviation: its explanation and where it says so. */
  readonly deviation?: { readonly why: string; readonly file: string; readonly line: number };
}

/** One write that set up a violation: its step, what it wrote, and the statement (`file:line:col`, '' when none). */
export interface Cause {
  readonly step: number;
  readonly what: string;
  readonly where: string;
}

/** The bare-metal reference of one vCPU: a CPU without VMX and the guest memory it touches. */
export interface Shadow {
  cpu: CpuState;
  mem: Memory;
  /**
   * The reference outcome of the guest instruction that caused the last VM exit, until the VMM
   * completes it or injects an exception for it.
   */
  pending: { insn: string; outcome: Outcome<unknown>; exitAt: Write } | null;
  /** The writes of its XCR0, XFD and XFD_ERR (provenance.ts): what the guest itself set. */
  written: ShadowProvenance;
}

export function createShadow(model: string, scratch: { base: bigint; bytes: Uint8Array; name: string }, osxsave: boolean): Shadow {
  const cpu = createCpu(cpuModel(model).name, { osxsave });
  const mem = createMemory([{ base: scratch.base, bytes: scratch.bytes.slice(), name: `${scratch.name} (bare metal)` }]);
  return { cpu, mem, pending: null, written: createShadowProvenance() };
}

/**
 * Builtins whose result the guest reads (an instruction's output register). CPUID is left out: in a
 * guest it reads the host's leaves here, as KVM's CPUID emulation is not modelled.
 */
export const RETURNS_VALUE = new Set(['rdmsr', 'xgetbv', 'xsave_header_read']);

export function describeOutcome(o: Outcome<unknown>): string {
  switch (o.kind) {
    case 'ok': return typeof o.value === 'bigint' ? `returns 0x${o.value.toString(16)}` : 'completes';
    case 'fault': return `raises ${o.fault.mnemonic}`;
    case 'vmexit': return `exits (${o.exit.name})`;
    case 'shutdown': return 'shuts down';
  }
}

/** A difference between a real CPU and its reference: a register, or a component's contents. */
export interface StateDifference {
  readonly what: TrackedRegister | { readonly component: number };
  readonly text: string;
}

/**
 * The first difference between what the guest sees on the real CPU and on its bare-metal
 * reference: XCR0, XFD, XFD_ERR, then the contents of every component XCR0 enables and XFD does
 * not disable. null when they agree.
 */
export function guestStateDiff(real: CpuState, ref: CpuState): StateDifference | null {
  const hx = (v: bigint) => `0x${v.toString(16)}`;
  if (real.xcr0 !== ref.xcr0) return { what: 'xcr0', text: `XCR0 is ${formatMask(real.xcr0)}; bare metal holds ${formatMask(ref.xcr0)}` };
  if (real.xfd !== ref.xfd) return { what: 'xfd', text: `IA32_XFD is ${hx(real.xfd)}; bare metal holds ${hx(ref.xfd)}` };
  if (real.xfdErr !== ref.xfdErr) return { what: 'xfdErr', text: `IA32_XFD_ERR is ${hx(real.xfdErr)}; bare metal holds ${hx(ref.xfdErr)}` };
  const visible = real.xcr0 & ~(real.xcr0 & real.xfd);
  for (const i of bitsOf(visible)) {
    if (i === 0) {
      for (const [a, b] of X87_RANGES) if (!same(real.legacy, ref.legacy, a, b)) return { what: { component: 0 }, text: 'the x87 registers differ from bare metal' };
    } else if (i === 1) {
      if (!same(real.legacy, ref.legacy, XMM_RANGE[0], XMM_RANGE[1]) || !same(real.legacy, ref.legacy, MXCSR, MXCSR + 4)) {
        return { what: { component: 1 }, text: 'the SSE registers (XMM0-15, MXCSR) differ from bare metal' };
      }
    } else {
      const a = real.ext[i];
      const b = ref.ext[i];
      if (a && b && !same(a, b, 0, a.length)) return { what: { component: i }, text: `component ${i} (${xfeatureName(i)}) differs from bare metal` };
    }
  }
  return null;
}

/** guestStateDiff's text. */
export function guestStateDifference(real: CpuState, ref: CpuState): string | null {
  return guestStateDiff(real, ref)?.text ?? null;
}

/**
 * The first difference in the component contents a user task sees (every component XCR0 enables
 * and XFD does not disable), between the real CPU and the task's reference; null when none.
 */
export function userStateDifference(real: CpuState, ref: CpuState): StateDifference | null {
  const saved = { xcr0: ref.xcr0, xfd: ref.xfd, xfdErr: ref.xfdErr };
  Object.assign(ref, { xcr0: real.xcr0, xfd: real.xfd, xfdErr: real.xfdErr });
  const d = guestStateDiff(real, ref);
  Object.assign(ref, saved);
  return d;
}

function same(a: Uint8Array, b: Uint8Array, from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (a[k] !== b[k]) return false;
  return true;
}
