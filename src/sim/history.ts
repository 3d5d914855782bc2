// Time travel (DESIGN §4): the machine state is plain data and a step is deterministic, so a
// checkpoint every K steps plus replay from the nearest one reaches any earlier position exactly.
// Step back and reverse continue are "the last earlier position where a predicate held", found by
// replaying windows between checkpoints from the newest backwards. A position is the number of steps
// taken (`state.steps`). The trace is append-only along a timeline, so checkpoints keep only its
// length. What the debugger counts per step (hit counts) travels with each checkpoint as `aux`.
import type { Engine } from './engine';
import type { MachineState, TraceEntry } from './machine';

interface Checkpoint<A> {
  readonly position: number;
  readonly bytes: number;
  readonly state: MachineState;
  readonly traceLength: number;
  readonly aux: A;
}

/** How the owner of the per-step bookkeeping saves and restores it with a checkpoint. */
export interface AuxState<A> {
  save(): A;
  load(a: A): void;
}

/** Checkpoints kept at most; past it every other one goes and the spacing doubles. */
const MAX_CHECKPOINTS = 256;
/** Bytes of machine memory the checkpoints hold at most (a scenario may map 16 MiB): thinned the same way. */
const MAX_CHECKPOINT_BYTES = 256 << 20;

/** What a checkpoint of `s` costs, roughly: its memory regions and its kernel objects. */
function weight(s: MachineState): number {
  let n = s.heap.length * 256;
  for (const r of s.mem.regions) n += r.bytes.length;
  return n;
}

export class History<A> {
  private checkpoints: Checkpoint<A>[] = [];
  /** The trace up to the furthest position reached on this timeline; a restore takes its prefix. */
  private timeline: TraceEntry[];
  private furthest = 0;

  /**
   * `every`: steps between checkpoints; a window replays at most that many steps. A long run keeps
   * memory bounded: when MAX_CHECKPOINTS are held, every other one is dropped and `every` doubles,
   * so a million steps cost 256 snapshots and a step back replays at most a few thousand steps;
   * checkpoints of a machine with much memory are thinned the same way past MAX_CHECKPOINT_BYTES.
   */
  constructor(private readonly engine: Engine, private readonly aux: AuxState<A>, private every = 128) {
    this.timeline = engine.state.trace;
    this.furthest = engine.state.steps;
    this.checkpoint();
  }

  get position(): number {
    return this.engine.state.steps;
  }

  /** The earliest position that can be reached (0 unless an edit cut the history). */
  get start(): number {
    return this.checkpoints[0]!.position;
  }

  /** Call after every forward step. */
  afterStep(): void {
    const p = this.engine.state.steps;
    if (p >= this.furthest) { this.furthest = p; this.timeline = this.engine.state.trace; }
    const last = this.checkpoints[this.checkpoints.length - 1]!;
    if (p - last.position < this.every) return;
    this.checkpoint();
    while (this.checkpoints.length > 2 && (this.checkpoints.length > MAX_CHECKPOINTS || this.bytes() > MAX_CHECKPOINT_BYTES)) {
      this.checkpoints = this.checkpoints.filter((_, i) => i % 2 === 0 || i === this.checkpoints.length - 1);
      this.every *= 2;
    }
  }

  private bytes(): number {
    let n = 0;
    for (const c of this.checkpoints) n += c.bytes;
    return n;
  }

  /** Checkpoints held (for tests and the memory it costs). */
  get size(): number {
    return this.checkpoints.length;
  }

  /**
   * The state was changed by hand (setVariable): replay from before this point would not reproduce
   * it. Later checkpoints are dropped and the edited state becomes a checkpoint; earlier positions
   * stay reachable and show the history as it ran, before the edit.
   */
  edited(): void {
    const p = this.engine.state.steps;
    this.timeline = this.engine.state.trace;
    this.furthest = p;
    this.checkpoints = this.checkpoints.filter((c) => c.position < p);
    this.checkpoint();
  }

  /** Moves the machine to `position` (≤ now): restores the nearest checkpoint and replays. */
  travel(position: number, replayStep: () => void): void {
    const c = this.nearest(position);
    this.restore(c);
    while (this.engine.state.steps < position && !this.engine.state.halted) replayStep();
  }

  /**
   * The last position p with start < p < before at which `replayStep` (one step, then the
   * predicate) returned true, or null. Leaves the machine at an unspecified position: travel next.
   */
  lastMatching(before: number, replayStep: () => boolean): number | null {
    let end = before;
    for (let k = this.checkpoints.length - 1; k >= 0; k--) {
      const c = this.checkpoints[k]!;
      if (c.position >= end) continue;
      this.restore(c);
      let found: number | null = null;
      while (this.engine.state.steps < end - 1 && !this.engine.state.halted) {
        if (replayStep()) found = this.engine.state.steps;
      }
      // The step that reaches end - 1 is checked too; position `end` itself is not a candidate.
      if (found !== null) return found;
      end = c.position + 1;
    }
    return null;
  }

  private nearest(position: number): Checkpoint<A> {
    let best = this.checkpoints[0]!;
    for (const c of this.checkpoints) if (c.position <= position) best = c;
    return best;
  }

  private checkpoint(): void {
    const s = this.engine.state;
    this.checkpoints.push({
      position: s.steps,
      bytes: weight(s),
      state: structuredClone({ ...s, trace: [] }),
      traceLength: s.trace.length,
      aux: this.aux.save(),
    });
  }

  private restore(c: Checkpoint<A>): void {
    const trace = this.timeline.slice(0, c.traceLength);
    this.engine.state = structuredClone(c.state);
    this.engine.state.trace = trace;
    this.aux.load(c.aux);
  }
}
