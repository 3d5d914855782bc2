// Provenance: where the values the invariants compare were last written, recorded when they are
// written, as plain data in the MachineState (so snapshot, restore, time travel and the explorer's
// copies keep it right). A violation's setup steps are read from here: the write of each value that
// differs, and the VM entries, exits and context switches between (invariant-checks.ts).
//
// Recorded per CPU: XCR0, IA32_XSS, IA32_XFD, IA32_XFD_ERR, the IA32_XFD_ERR bits the guest set, each
// state component's last load or first write (below), the last VM entry and exit and the last two
// context switches; per bare-metal reference CPU (invariants.ts, Shadow): the guest's own writes of
// XCR0, XFD and XFD_ERR, its last VM exit and migration; per kernel object: the fields the invariants read (TRACKED_FIELDS); per
// memory region: its allocation. Not part of a state's identity (explore/state-hash.ts), as the
// trace is not: it says how the state came about, not what it is.
import type { CpuState } from '../model';

/** A write: the step that made it and the statement it ran (indices into the Program; -1 for none). */
export interface Write {
  readonly step: number;
  readonly fn: number;
  readonly stmt: number;
}

/** The registers whose writes are recorded, as CpuState names them. */
export type TrackedRegister = 'xcr0' | 'xss' | 'xfd' | 'xfdErr';

export interface CpuProvenance {
  xcr0: Write | null;
  xss: Write | null;
  xfd: Write | null;
  xfdErr: Write | null;
  /** The last write of IA32_XFD_ERR that left guest bits in it (the guest's #NM or WRMSR, or KVM restoring the guest's value). */
  guestXfdErr: Write | null;
  /** Per state component: the last instruction that wrote its registers, or loaded or initialized them (XRSTOR). */
  components: Array<Write | null>;
  vmentry: Write | null;
  vmexit: Write | null;
  /** The last two context switches on this CPU (a thread run, switched out or moved), newest first. */
  switches: Write[];
}

/**
 * Writes of a vCPU's bare-metal reference CPU (the guest's own writes of what it can see), and the
 * vCPU's last VM exit and move to another vCPU object: what happened to the guest while it was out.
 */
export interface ShadowProvenance {
  xcr0: Write | null;
  xfd: Write | null;
  xfdErr: Write | null;
  vmexit: Write | null;
  migrated: Write | null;
}

export interface Provenance {
  cpus: CpuProvenance[];
  /** Writes of the TRACKED_FIELDS of kernel objects, by `id.field`. */
  fields: Record<string, Write>;
  /** Per memory region (in the order of `mem.regions`): the allocation, null for the machine's own. */
  regions: Array<Write | null>;
}

/** The kernel-object fields whose writes are recorded: the ones the invariants compare with hardware. */
export const TRACKED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  fpstate: ['xfd', 'xfeatures'],
  fpu: ['fpstate'],
  percpu: ['xfd_state'],
};

/** Components with a CpuState register image (0..18). */
const COMPONENTS = 19;

export function createCpuProvenance(): CpuProvenance {
  return {
    xcr0: null, xss: null, xfd: null, xfdErr: null, guestXfdErr: null,
    components: new Array<Write | null>(COMPONENTS).fill(null), vmentry: null, vmexit: null, switches: [],
  };
}

export function createProvenance(cpus: number): Provenance {
  return { cpus: Array.from({ length: cpus }, createCpuProvenance), fields: {}, regions: [] };
}

export function createShadowProvenance(): ShadowProvenance {
  return { xcr0: null, xfd: null, xfdErr: null, vmexit: null, migrated: null };
}

export function copyProvenance(p: Provenance): Provenance {
  // Write records are made once and never changed: they are shared.
  return {
    cpus: p.cpus.map((c) => ({ ...c, components: c.components.slice(), switches: c.switches.slice() })),
    fields: { ...p.fields },
    regions: p.regions.slice(),
  };
}

/** The register values an instruction may change, taken before it runs. */
export interface RegistersBefore {
  readonly xcr0: bigint;
  readonly xss: bigint;
  readonly xfd: bigint;
  readonly xfdErr: bigint;
}

export function registersBefore(cpu: CpuState): RegistersBefore {
  return { xcr0: cpu.xcr0, xss: cpu.xss, xfd: cpu.xfd, xfdErr: cpu.xfdErr };
}

/** Records what one instruction on `cpu` changed: the registers whose value moved, and the components it wrote (`written`, a mask). */
export function noteInstruction(p: CpuProvenance | ShadowProvenance, cpu: CpuState, before: RegistersBefore, w: Write, written = 0n): void {
  if (cpu.xcr0 !== before.xcr0) p.xcr0 = w;
  if (cpu.xfd !== before.xfd) p.xfd = w;
  if (cpu.xfdErr !== before.xfdErr) p.xfdErr = w;
  if (!('components' in p)) return;
  if (cpu.xss !== before.xss) p.xss = w;
  if (written === 0n) return;
  for (let i = 0; i < COMPONENTS; i++) if ((written >> BigInt(i)) & 1n) p.components[i] = w;
}

/**
 * Runs one instruction on `cpu` and returns the components it wrote, exactly: every register write
 * of the model sets XMODIFIED[i] (component-state.ts noteWrite/noteSideEffect/noteInitialized) and
 * only XRSTOR(S) clears bits, setting XMODIFIED to ~RFBM for the components it loads (SDM Vol1
 * 13.6), so XMODIFIED starts at 0 for the instruction and is merged back after it: the CPU ends as
 * the instruction alone would leave it. The XSAVE family reads XMODIFIED (the modified
 * optimization, SDM Vol1 13.9) and writes no register: it runs untouched (`readsXmodified`).
 */
export function trackComponentWrites<T>(cpu: CpuState, readsXmodified: boolean, run: () => T): { result: T; written: bigint } {
  if (readsXmodified) return { result: run(), written: 0n };
  const xmodified = cpu.xmodified;
  const info = cpu.xrstorInfo;
  cpu.xmodified = 0n;
  let written = 0n;
  try {
    const result = run();
    // XRSTOR(S) loaded or initialized every component of RFBM (XMODIFIED = ~RFBM now).
    if (cpu.xrstorInfo !== info) written = ~cpu.xmodified & ((1n << 64n) - 1n);
    else written = cpu.xmodified;
    return { result, written };
  } finally {
    if (cpu.xrstorInfo === info) cpu.xmodified = xmodified | cpu.xmodified;
  }
}

/** A context switch on this CPU. */
export function noteSwitch(p: CpuProvenance, w: Write): void {
  p.switches = [w, ...p.switches.slice(0, 1)];
}

/** The writes of `fields`'s tracked fields of object `id`, or its allocation when `fields` is null. */
export function noteFieldWrite(p: Provenance, id: number, type: string, field: string | null, w: Write): void {
  const tracked = TRACKED_FIELDS[type];
  if (!tracked) return;
  if (field === null) for (const f of tracked) p.fields[`${id}.${f}`] = w;
  else if (tracked.includes(field)) p.fields[`${id}.${field}`] = w;
}

export function fieldWrite(p: Provenance, id: number, field: string): Write | null {
  return p.fields[`${id}.${field}`] ?? null;
}
