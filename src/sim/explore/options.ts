// What the explorer is asked and what it answers, as plain data (it crosses worker boundaries).
import type { CompiledEvent } from '../../lang/code';

export type PlacedKind = CompiledEvent['kind'];

/** How far the search goes: events of each kind per run, and statements per run. */
export interface Bounds {
  /** External interrupts (VM exits of a running guest). */
  interrupts: number;
  /** Host preemptions and other tasks run (`preempt`, `run P.T`). */
  preemptions: number;
  /** Host interrupts whose handler uses the FPU (`fpu_irq`). */
  fpuIrqs: number;
  /** Steps (statements) per run. */
  steps: number;
}

export const DEFAULT_BOUNDS: Readonly<Bounds> = { interrupts: 1, preemptions: 1, fpuIrqs: 1, steps: 20_000 };
/** The largest bounds accepted (README "Limits"): beyond them the search would not end in a day anyway. */
export const MAX_BOUNDS: Readonly<Bounds> = { interrupts: 8, preemptions: 8, fpuIrqs: 8, steps: 1_000_000 };
/**
 * The memory ceiling: visited states one search keeps (per unit, per worker; about 110 bytes each,
 * so some 220 MB at the ceiling; the states a search holds besides are few and small).
 * Reaching it ends the search with `boundsHit.memory`, as a bound does.
 */
export const MAX_VISITED_STATES = 2_000_000;

/** Why `b` is outside 0..MAX_BOUNDS (steps from 1), as a message naming the bound; null if inside. */
export function boundsProblem(b: Partial<Bounds>): string | null {
  for (const k of ['interrupts', 'preemptions', 'fpuIrqs', 'steps'] as const) {
    const v = b[k];
    if (v === undefined) continue;
    const min = k === 'steps' ? 1 : 0;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_BOUNDS[k]) return `bound '${k}' must be an integer from ${min} to ${MAX_BOUNDS[k]}`;
  }
  return null;
}

export interface SearchOptions {
  bounds: Bounds;
  /** The invariants whose violation is a counterexample; null: all of them. */
  invariants: string[] | null;
  /** A kernel oops (`die()`, a VMX shutdown) is a counterexample too. */
  failOnOops: boolean;
  /** A failed `assert` of the scenario is a counterexample too. */
  failOnAssertions: boolean;
  /** Keep the scenario's own `events { }` (the explorer places its events in addition). */
  keepEvents: boolean;
  /**
   * Reductions that keep every verdict and the shortest counterexample (docs/explorer.md, "How it
   * searches"); false (`--no-reduction`) searches as without them, to compare. Default true.
   */
  reduction?: boolean;
}

/** One event the explorer placed: before step `depth + 1`, at the statement that step reaches. */
export interface Placement {
  depth: number;
  kind: PlacedKind;
  /** `process.thread` for `run`. */
  target: string | null;
  cpu: number;
  fn: number;
  stmt: number;
}

export interface Failure {
  kind: 'invariant' | 'oops' | 'assertion';
  /** The invariant's name, 'oops' or 'assertion'. */
  name: string;
  message: string;
  /** The step at which it happened (1-based, as `xsave-sim run` counts). */
  step: number;
  /** `file:line:col` of the statement. */
  where: string;
}

export interface Found {
  /** Which start of the scenario (0: threads start as written; 1..: one other task held back for `run`). */
  root: number;
  placements: Placement[];
  failure: Failure;
}

export interface BoundsHit {
  interrupts: boolean;
  preemptions: boolean;
  fpuIrqs: boolean;
  steps: boolean;
  /** The search stopped at the memory ceiling (MAX_VISITED_STATES). */
  memory: boolean;
}

/** The outcome of one unit of work (the root lines, or one top-level placement and all below it). */
export interface UnitResult {
  unit: number;
  states: number;
  distinct: number;
  maxDepth: number;
  first: Found | null;
  shortest: Found | null;
  boundsHit: BoundsHit;
  /** Runs that ended in a scenario error (not counterexamples: the scenario cannot run that way). */
  errors: number;
  firstError: string | null;
  cancelled: boolean;
}

export function noBoundsHit(): BoundsHit {
  return { interrupts: false, preemptions: false, fpuIrqs: false, steps: false, memory: false };
}
