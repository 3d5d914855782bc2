// A data breakpoint's id names a place the same way in every run of a scenario, so a breakpoint set
// in one session persists across restarts (DAP's canPersist): `cpu0.IA32_XFD_ERR` (a register or MSR
// of a CPU), `fpstate#12.xfd` (a field of a kernel object: its type and its heap index, which a
// deterministic run gives again), `0x7f0000001000:8` (bytes of machine memory) or
// `cpu0/XTILEDATA+0x40:8` (bytes of a register image). This file turns a slot into its id and an id
// back into a reader of the value it names, compared as text after every step (Breakpoints.check).
import { formatMask } from '../model';
import { REGISTER_NAMES, registerValue } from '../sim/expression';
import type { MachineState } from '../sim/machine';
import { readLe } from './components';
import { formatMemoryRef, parseMemoryRef, readMemory } from './memory-references';
import type { Slot } from './slots';

/** The most bytes one data breakpoint watches. */
export const MAX_WATCHED_BYTES = 64;

/** A data breakpoint's id for a slot, or null when it cannot be watched (a local, CR0.TS). */
export function dataIdOf(slot: Slot, state: MachineState): string | null {
  switch (slot.kind) {
    case 'register': return slot.name === 'CR0.TS' ? null : `cpu${slot.cpu}.${slot.name}`;
    case 'field': return `${state.heap[slot.object]!.type}#${slot.object}.${slot.field}`;
    case 'bytes': return `${formatMemoryRef(slot.mem)}:${slot.size}`;
    case 'local': return null;
  }
}

/**
 * Reads the value a data id names in the machine `state()` returns now, as text (null when it does
 * not exist there: no such CPU, object or mapping); null when the id names nothing at all.
 */
export function dataReader(dataId: string, state: () => MachineState | null): (() => string | null) | null {
  const reg = /^cpu(\d+)\.([A-Z0-9_]+)$/.exec(dataId);
  if (reg && (REGISTER_NAMES as readonly string[]).includes(reg[2]!)) {
    const k = Number(reg[1]);
    const name = reg[2] as (typeof REGISTER_NAMES)[number];
    return () => {
      const c = state()?.cpus[k];
      return c ? formatMask(registerValue(c, name)) : null;
    };
  }
  const field = /^([a-z_]+)#(\d+)\.([A-Za-z0-9_]+)$/.exec(dataId);
  if (field) {
    const id = Number(field[2]);
    return () => {
      const o = state()?.heap[id];
      if (!o || o.type !== field[1]) return null;
      const v = Object.hasOwn(o.fields, field[3]!) ? o.fields[field[3]!] : undefined;
      return v === undefined ? null : typeof v === 'bigint' ? `0x${v.toString(16)}` : `&obj${v.ref}`;
    };
  }
  const bytes = /^(.+):(\d+)$/.exec(dataId);
  const mem = bytes ? parseMemoryRef(bytes[1]!) : null;
  if (bytes && mem && Number(bytes[2]) <= MAX_WATCHED_BYTES) {
    const size = Number(bytes[2]);
    return () => {
      const s = state();
      if (!s) return null;
      const r = readMemory(s, mem, 0, size);
      return r.unreadable ? null : `0x${readLe(r.data, 0, size).toString(16)}`;
    };
  }
  return null;
}
