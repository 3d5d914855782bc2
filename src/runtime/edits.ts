// "What if": writing a value into a register, an MSR, a field, a local or the bytes of a component,
// from setVariable, setExpression or an assignment typed in the Debug Console. The model's rules
// apply: a value WRMSR would refuse is refused with WRMSR's #GP reason, an XCR0 that XSETBV would
// refuse with XSETBV's, a field keeps its type; XINUSE follows the component contents and cannot be
// written. A write into a CPU's component image goes through noteWrite(), so XINUSE and XMODIFIED
// change as they would after an instruction wrote the register (SDM Vol1 13.6).
import {
  type CpuState, MSR_IA32_XFD, MSR_IA32_XFD_ERR, MSR_IA32_XSS, MXCSR, XMM0, formatMask, modelOf, msrStore,
  msrWriteProblem, noteWrite, xcr0Problem,
} from '../model';
import type { Engine } from '../sim/engine';
import { type ExprContext, ExpressionError, evaluate, parseDebugExpression } from '../sim/expression';
import { SCHEMAS, fieldProblem } from '../sim/kernel-objects';
import { type Value, U64_MASK } from '../sim/value';
import { writeLe } from './components';
import { writeMemory } from './memory-references';
import type { Slot } from './slots';

/** A refused edit: the message says which rule refused it. */
export class EditRefused extends Error {}

const MSR_OF: Record<string, number> = { IA32_XSS: MSR_IA32_XSS, IA32_XFD: MSR_IA32_XFD, IA32_XFD_ERR: MSR_IA32_XFD_ERR };

/** Parses the new value: a wide number literal for wide slots, else an expression of the language. */
export function parseValue(text: string, slot: Slot, ctx: ExprContext): Value {
  const t = text.trim();
  if (slot.kind === 'bytes' && /^(0x[0-9a-f_]+|[0-9_]+)$/i.test(t)) {
    const v = BigInt(t.replace(/_/g, ''));
    if (v >> BigInt(8 * slot.size)) throw new EditRefused(`${slot.name} holds ${8 * slot.size} bits; ${t} does not fit`);
    return v;
  }
  return evaluate(parseDebugExpression(t), ctx);
}

/** Writes `v` into `slot` or throws EditRefused / ExpressionError. */
export function writeSlot(e: Engine, slot: Slot, v: Value): void {
  const s = e.state;
  switch (slot.kind) {
    case 'local': {
      const f = s.threads[slot.thread]?.frames[slot.frame];
      if (!f) throw new EditRefused('the frame is gone');
      f.locals[slot.index] = v;
      return;
    }
    case 'field': {
      const o = s.heap[slot.object]!;
      const problem = fieldProblem(o.type, slot.field, v);
      if (problem) throw new EditRefused(problem);
      const kind = SCHEMAS[o.type]![slot.field]!;
      if (kind !== 'u64' && typeof v !== 'bigint' && s.heap[v.ref]!.type !== kind.ref) {
        throw new EditRefused(`${o.type}.${slot.field} holds a ${kind.ref}, not a ${s.heap[v.ref]!.type}`);
      }
      o.fields[slot.field] = typeof v === 'bigint' ? v & U64_MASK : v;
      return;
    }
    case 'register': {
      const cpu = s.cpus[slot.cpu]!;
      const n = integer(v, slot.name);
      writeRegister(cpu, slot.name, n);
      return;
    }
    case 'bytes': {
      const n = integer(v, slot.name);
      if (n >> BigInt(8 * slot.size)) throw new EditRefused(`${slot.name} holds ${8 * slot.size} bits; 0x${n.toString(16)} does not fit`);
      const b = new Uint8Array(slot.size);
      writeLe(b, 0, slot.size, n);
      if (writeMemory(s, slot.mem, 0, b) !== slot.size) throw new EditRefused(`${slot.name}: the bytes are not mapped`);
      if (slot.mem.kind === 'cpu') {
        const cpu = s.cpus[slot.mem.cpu]!;
        // The legacy region holds two components: MXCSR and XMM0-15 are SSE's, the rest x87's.
        const i = slot.mem.component >= 2 ? slot.mem.component
          : slot.mem.offset === MXCSR || slot.mem.offset >= XMM0 ? 1 : 0;
        noteWrite(cpu, i);
      }
      return;
    }
  }
}

function writeRegister(cpu: CpuState, name: string, v: bigint): void {
  switch (name) {
    case 'XCR0': {
      if (!cpu.cr4.osxsave) throw new EditRefused('#UD: XSETBV with CR4.OSXSAVE = 0');
      const problem = xcr0Problem(modelOf(cpu).xcr0Supported, v);
      if (problem) throw new EditRefused(`#GP(0): XSETBV ${problem}`);
      cpu.xcr0 = v;
      return;
    }
    case 'IA32_XSS': case 'IA32_XFD': case 'IA32_XFD_ERR': {
      const msr = MSR_OF[name]!;
      const problem = msrWriteProblem(cpu, msr, v);
      if (problem) throw new EditRefused(`#GP(0): WRMSR ${problem}`);
      msrStore(cpu, msr, v);
      return;
    }
    case 'CR0.TS':
      if (v > 1n) throw new EditRefused('CR0.TS is one bit: 0 or 1');
      cpu.cr0.ts = v === 1n;
      return;
    case 'XINUSE': case 'XMODIFIED':
      throw new EditRefused(`${name} is not writable: the processor tracks it from the component contents (SDM Vol1 13.6); write a register instead`);
    default:
      throw new EditRefused(`${name} is read-only here`);
  }
}

function integer(v: Value, what: string): bigint {
  if (typeof v !== 'bigint') throw new ExpressionError(`${what} takes an integer, not an object reference`);
  return v;
}

/** The text a slot's new value is shown as, for the setVariable response. */
export function describeWrite(name: string, v: Value): string {
  if (typeof v !== 'bigint') return `&obj${v.ref}`;
  return name in MSR_OF || name === 'XCR0' ? formatMask(v) : `0x${v.toString(16)}`;
}

