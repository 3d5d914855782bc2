// The memory a host user task's reference CPU (invariants.ts, user-state-matches-bare-metal) runs
// an instruction against: a copy, made for that one instruction, of the regions the instruction
// may read — its scratch page and every region an operand points into — as the task sees them, so
// the reference reads what the task read (its own buffers, a signal frame the kernel wrote) and
// what it writes never reaches the machine.
import { type CpuState, type Memory, createMemory } from '../model';
import type { Value } from './value';

export function userReferenceMemory(mem: Memory, scratch: bigint, args: readonly Value[]): Memory {
  const picked = new Set<number>();
  const wanted = [scratch, ...args.filter((a): a is bigint => typeof a === 'bigint')];
  mem.regions.forEach((r, k) => {
    for (const a of wanted) if (a >= r.base && a < r.base + BigInt(r.bytes.length)) picked.add(k);
  });
  return createMemory([...picked].map((k) => {
    const r = mem.regions[k]!;
    return { base: r.base, bytes: r.bytes.slice(), name: `${r.name} (reference)` };
  }));
}

/** A reference CPU that starts from the task's registers as they are now (user_state_set). */
export function copyUserState(ref: CpuState, real: CpuState): void {
  ref.xcr0 = real.xcr0;
  ref.xinuse = real.xinuse;
  ref.legacy.set(real.legacy);
  for (let i = 2; i < real.ext.length; i++) {
    const from = real.ext[i];
    const to = ref.ext[i];
    if (from && to) to.set(from);
  }
}
