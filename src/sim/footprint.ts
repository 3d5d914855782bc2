// What one step touched, for the explorer's sleep sets (src/sim/explore/search.ts): the kernel
// objects whose fields it read or wrote, the memory regions it read or wrote (by index in
// state.mem.regions, which a copy of the state keeps in order), and whether it did anything else
// the explorer does not follow piece by piece (`other`: any instruction but a plain load, store or
// block operation or CPUID, a system call, a return that changes privilege). An object handed to a
// builtin counts as read and written; every region an instruction or what its step does after it
// reaches (a VM entry reading the vCPU's CPUID entries, a signal frame) counts as read and written.
// Recorded only while the explorer asks (Engine.footprint); a debugger's or a CLI run's steps pay
// one null check per field access and builtin.
export interface Footprint {
  readonly objR: Set<number>;
  readonly objW: Set<number>;
  readonly regR: Set<number>;
  readonly regW: Set<number>;
  /**
   * A step: it ran CPUID in the host, whose answer depends on XCR0, IA32_XSS, CR4.OSXSAVE, CR4.PKE
   * and the CPU's leaves (cpuid-insn.ts). An event's handler, or a watched subtree: the
   * interrupted thread came back to its statement with one of those changed.
   */
  cpu: boolean;
  other: boolean;
}

export function newFootprint(): Footprint {
  return { objR: new Set(), objW: new Set(), regR: new Set(), regW: new Set(), cpu: false, other: false };
}

export function clearFootprint(f: Footprint): void {
  f.objR.clear(); f.objW.clear(); f.regR.clear(); f.regW.clear(); f.cpu = false; f.other = false;
}

/** Adds everything `from` touched to `into`. */
export function addFootprint(into: Footprint, from: Footprint): void {
  for (const o of from.objR) into.objR.add(o);
  for (const o of from.objW) into.objW.add(o);
  for (const r of from.regR) into.regR.add(r);
  for (const r of from.regW) into.regW.add(r);
  if (from.cpu) into.cpu = true;
  if (from.other) into.other = true;
}

const meets = (a: Set<number>, b: Set<number>): boolean => {
  const [small, big] = a.size <= b.size ? [a, b] : [b, a];
  for (const x of small) if (big.has(x)) return true;
  return false;
};

/**
 * Whether a step that touched `step` and code that touched `other` commute: neither writes what
 * the other reads or writes. `step` must have done nothing else (its `other` flag is false); the
 * other code's `other` effects (registers, scheduling) are not what `step` touches then.
 */
export function independent(step: Footprint, code: Footprint): boolean {
  if (step.other || step.objW.size) return false;
  if (step.cpu && code.cpu) return false;
  return !meets(step.objR, code.objW) && !meets(step.regR, code.regW) && !meets(step.regW, code.regR) && !meets(step.regW, code.regW);
}
