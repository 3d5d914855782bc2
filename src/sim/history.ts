// Time travel (DESIGN §4): the machine state is plain data and a step is deterministic, so a
// checkpoint every K steps plus replay from the nearest one reaches any earlier position exactly.
// Step back and reverse continue are "the last earlier position where a predicate held", found by
// replaying windows between checkpoints from the newest backwards. A position is the number of steps
// taken (`state.steps`). The trace is append-only along a timeline, so checkpoints keep only its
// length. What the debugger counts per step (hit counts) travels with each checkpoint as `aux`.
//
// Three kinds of checkpoint keep a step back as cheap as a step forward at any depth:
// - coarse ones over the whole run, thinned as it grows (at most MAX_CHECKPOINTS);
// - two rolling ones at the head, the newer renewed every ROLL steps while the run goes forward
//   (the older is the one it replaced: a stop just after a renewal still has ROLL steps behind it);
// - fine ones, every FINE steps, where the user is: the state at each stop, the last STOP_WINDOW
//   steps before a stop that no checkpoint covered (replayed once, from the rolling or a coarse
//   checkpoint, when the stop is reported), and the last FINE_WINDOW steps before a window a step
//   back searched.
// A step back then replays at most FINE steps (to find its target, where it then stands).
// Memory: at most MAX_CHECKPOINTS + 1 + FINE_MAX machine states, and at most MAX_CHECKPOINT_BYTES
// + MAX_FINE_BYTES (plus one state) of machine memory in them.
import type { Engine } from './engine';
import { cloneState } from './explore/clone';
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
/**
 * Steps between the head's rolling checkpoints: one state copy per ROLL steps run. The first step
 * back after a long run replays at most this many steps (History.atStop), so it is kept short; a
 * copy per 256 steps costs a few per cent of a run's time (bench/time-travel.bench.ts).
 */
const ROLL = 256;
/**
 * Spacing of the fine checkpoints, and how many are kept (those nearest the position go last). A
 * step back replays up to FINE statements from one (restoring it is one state copy): 16 measured
 * faster than 32 (bench/time-travel.bench.ts), and the 64 kept still cover 1,024 statements.
 */
const FINE = 16;
const FINE_MAX = 64;
/** How far before a stop the fine checkpoints reach when a window is replayed for them. */
const FINE_WINDOW = 32 * FINE;
/** How far before a stop History.atStop leaves fine checkpoints (a step back searches further lazily). */
const STOP_WINDOW = 2 * FINE;
/** A stop this close after a checkpoint keeps no state of its own. */
const STOP_NEAR = 16;
/** Bytes of machine memory the fine checkpoints hold at most: fewer of them for a machine with much memory. */
const MAX_FINE_BYTES = 64 << 20;
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
  /** The head's rolling checkpoint (null before ROLL steps ran), and the one it replaced. */
  private rolling: Checkpoint<A> | null = null;
  private rollingBefore: Checkpoint<A> | null = null;
  /** Fine checkpoints, ascending by position. */
  private fine: Checkpoint<A>[] = [];
  /** The trace up to the furthest position reached on this timeline; a restore takes its prefix. */
  private timeline: TraceEntry[];
  private furthest = 0;
  /** The position of the last stop the user saw (atStop). */
  private lastStop = 0;
  /**
   * Positions where the state was edited by hand (edited()); their checkpoints hold the edit, and
   * are never thinned out. `base`: the position the live state was restored from (or edited at);
   * `replaying`: inside one of this class's own replays (travel, lastMatching, atStop).
   */
  private edits: number[] = [];
  private base = 0;
  private replaying = 0;

  /**
   * `every`: steps between checkpoints; a window replays at most that many steps. A long run keeps
   * memory bounded: when MAX_CHECKPOINTS are held, every other one is dropped and `every` doubles,
   * so a million steps cost 256 snapshots and a step back replays at most a few thousand steps;
   * checkpoints of a machine with much memory are thinned the same way past MAX_CHECKPOINT_BYTES.
   */
  constructor(private readonly engine: Engine, private readonly aux: AuxState<A>, private every = 128) {
    this.timeline = engine.state.trace;
    this.furthest = engine.state.steps;
    this.lastStop = this.base = engine.state.steps;
    this.checkpoint();
  }

  get position(): number {
    return this.engine.state.steps;
  }

  /** The earliest position that can be reached (0 unless an edit cut the history). */
  get start(): number {
    return this.checkpoints[0]!.position;
  }

  /**
   * Call after every forward step. True when the step left the recorded history: the run came from
   * before an edit and reached its position without it (diverge()).
   */
  afterStep(): boolean {
    const p = this.engine.state.steps;
    // Most runs have no edit: one length test per step.
    const left = this.edits.length !== 0 && this.replaying === 0 && this.base < p && this.edits.includes(p);
    if (left) this.diverge(p);
    if (p >= this.furthest) {
      this.furthest = p;
      this.timeline = this.engine.state.trace;
      if (p - (this.rolling?.position ?? this.start) >= ROLL) {
        this.rollingBefore = this.rolling;
        this.rolling = this.snapshot();
      }
    }
    const last = this.checkpoints[this.checkpoints.length - 1]!;
    if (p - last.position < this.every) return left;
    this.checkpoint();
    while (this.checkpoints.length > 2 && (this.checkpoints.length > MAX_CHECKPOINTS || this.bytes() > MAX_CHECKPOINT_BYTES)) {
      const n = this.checkpoints.length;
      // An edit's checkpoint stays: replay from before it would run without the edit.
      this.checkpoints = this.checkpoints.filter((c, i) => i % 2 === 0 || i === n - 1 || this.edits.includes(c.position));
      this.every *= 2;
      if (this.checkpoints.length === n) break;
    }
    return left;
  }

  /**
   * The run reached position p, where the state was edited, from before it and without the edit
   * (the user went back before an edit and ran forward again): what was recorded from p on is the
   * edited run's, and goes, as after an edit; the run from here is the history now.
   */
  private diverge(p: number): void {
    this.checkpoints = this.checkpoints.filter((c) => c.position < p);
    this.fine = this.fine.filter((c) => c.position < p);
    if (this.rolling && this.rolling.position >= p) this.rolling = null;
    if (this.rollingBefore && this.rollingBefore.position >= p) this.rollingBefore = null;
    this.edits = this.edits.filter((x) => x < p);
    this.timeline = this.engine.state.trace;
    this.furthest = p;
    this.checkpoint();
    this.base = p;
  }

  private bytes(): number {
    let n = 0;
    for (const c of this.checkpoints) n += c.bytes;
    return n;
  }

  /** Coarse checkpoints held (for tests and the memory it costs). */
  get size(): number {
    return this.checkpoints.length;
  }

  /** Every machine state held: coarse, rolling and fine (at most MAX_CHECKPOINTS + 2 + FINE_MAX). */
  get states(): number {
    return this.checkpoints.length + (this.rolling ? 1 : 0) + (this.rollingBefore ? 1 : 0) + this.fine.length;
  }

  /**
   * Call at every stop the user sees. Keeps the state here as a fine checkpoint unless one lies
   * within STOP_NEAR steps before it (single-stepping then copies one state in STOP_NEAR), and,
   * when no checkpoint lies within FINE steps before it, or the stop ends a run of more than FINE
   * steps, replays once from the nearest checkpoint (after a run forward, the head's rolling one,
   * at most ROLL steps back) to leave fine ones in the last STOP_WINDOW steps: the next step back
   * then replays at most FINE steps. A long run only ever copied the live state, so the first
   * copy of a checkpoint after it deoptimizes the copy's code in V8 ("wrong map", node
   * --trace-deopt); here that happens while the client reads the stop, not in the first step back.
   * Copies are what a stop costs most, so only those few are taken here; a step back further
   * replays its window once and leaves fine checkpoints there (lastMatching). The machine is left
   * exactly as it was.
   */
  atStop(replayStep: () => void, reverse = false): void {
    const p = this.position;
    const longRun = !reverse && p - this.lastStop > FINE;
    this.lastStop = p;
    if (this.engine.state.halted) return;
    const below = this.nearest(p);
    // After a step back the fine grid lies within FINE below: the next step back needs nothing more.
    if (p - below.position <= (reverse ? FINE : STOP_NEAR) && !longRun) return;
    if (below.position !== p) this.addFine(this.snapshot());
    if (p - below.position <= FINE && !longRun) return;
    const here = this.engine.state;
    const aux = this.aux.save();
    const base = this.base;
    this.replaying++;
    try {
      this.restore(below);
      while (this.engine.state.steps < p && !this.engine.state.halted) {
        this.fineAt(p, STOP_WINDOW);
        replayStep();
      }
    } finally {
      // The machine is left as it was at the stop, whatever the replay did.
      this.replaying--;
      this.engine.state = here;
      this.base = base;
      if (p >= this.furthest) this.timeline = here.trace;
      this.aux.load(aux);
    }
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
    this.fine = this.fine.filter((c) => c.position < p);
    if (this.rolling && this.rolling.position >= p) this.rolling = null;
    if (this.rollingBefore && this.rollingBefore.position >= p) this.rollingBefore = null;
    this.edits = this.edits.filter((x) => x < p);
    this.edits.push(p);
    this.checkpoint();
    this.base = p;
  }

  /** Moves the machine to `position` (≤ now): restores the nearest checkpoint and replays. */
  travel(position: number, replayStep: () => void): void {
    // Already there (a search that ended on its match): the state at a position is unique.
    if (this.engine.state.steps === position) return;
    const c = this.nearest(position);
    this.restore(c);
    this.replaying++;
    try {
      while (this.engine.state.steps < position && !this.engine.state.halted) replayStep();
    } finally {
      this.replaying--;
    }
  }

  /**
   * The last position p with start < p < before at which `replayStep` (one step, then the
   * predicate) returned true, or null. Leaves the machine at an unspecified position (at p when p is
   * before - 1, the common case of a step back): travel next, which costs nothing then.
   */
  lastMatching(before: number, replayStep: () => boolean): number | null {
    let end = before;
    // Windows from the newest checkpoint before `end` backwards; a later one at the same position
    // as the one just searched has nothing left to search.
    for (let c = this.latestBefore(end); c !== null; c = this.latestBefore(c.position)) {
      this.restore(c);
      let found: number | null = null;
      // A window longer than FINE leaves fine checkpoints before its end, for the next step back.
      const cache = end - c.position > FINE;
      this.replaying++;
      try {
        while (this.engine.state.steps < end - 1 && !this.engine.state.halted) {
          if (cache) this.fineAt(end);
          if (replayStep()) found = this.engine.state.steps;
        }
      } finally {
        this.replaying--;
      }
      // The step that reaches end - 1 is checked too; position `end` itself is not a candidate.
      if (found !== null) return found;
      end = c.position + 1;
    }
    return null;
  }

  /**
   * The checkpoint of the greatest position below `position` among the coarse, fine and rolling
   * ones, or null: two binary searches over the ascending lists, nothing allocated (it runs on
   * every step back).
   */
  private latestBefore(position: number): Checkpoint<A> | null {
    const below = (list: Checkpoint<A>[]): Checkpoint<A> | null => {
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (list[mid]!.position < position) lo = mid + 1;
        else hi = mid;
      }
      return lo > 0 ? list[lo - 1]! : null;
    };
    let best = below(this.checkpoints);
    const f = below(this.fine);
    if (f && (!best || f.position > best.position)) best = f;
    const r = this.rolling;
    if (r && r.position < position && (!best || r.position > best.position)) best = r;
    const q = this.rollingBefore;
    if (q && q.position < position && (!best || q.position > best.position)) best = q;
    return best;
  }

  /** The latest checkpoint at or before `position` (the first one if none is). */
  private nearest(position: number): Checkpoint<A> {
    return this.latestBefore(position + 1) ?? this.checkpoints[0]!;
  }

  /** While replaying towards `end`: a fine checkpoint here if it is on the FINE grid within `window` of `end`. */
  private fineAt(end: number, window = FINE_WINDOW): void {
    const p = this.engine.state.steps;
    // Not where a checkpoint of any kind already is (the one a window is replayed from, say).
    if (p % FINE !== 0 || end - p > window || this.latestBefore(p + 1)?.position === p) return;
    this.addFine(this.snapshot());
  }

  /** Keeps a fine checkpoint; past FINE_MAX the one farthest from this position goes. */
  private addFine(c: Checkpoint<A>): void {
    const at = this.fine.findIndex((x) => x.position > c.position);
    if (at < 0) this.fine.push(c);
    else this.fine.splice(at, 0, c);
    const bytes = () => this.fine.reduce((n, x) => n + x.bytes, 0);
    while (this.fine.length > 1 && (this.fine.length > FINE_MAX || bytes() > MAX_FINE_BYTES)) {
      const p = c.position;
      let far = 0;
      for (let k = 1; k < this.fine.length; k++) {
        if (Math.abs(this.fine[k]!.position - p) > Math.abs(this.fine[far]!.position - p)) far = k;
      }
      this.fine.splice(far, 1);
    }
  }

  private snapshot(): Checkpoint<A> {
    const s = this.engine.state;
    return { position: s.steps, bytes: weight(s), state: cloneState({ ...s, trace: [] }), traceLength: s.trace.length, aux: this.aux.save() };
  }

  private checkpoint(): void {
    this.checkpoints.push(this.snapshot());
  }

  private restore(c: Checkpoint<A>): void {
    const trace = this.timeline.slice(0, c.traceLength);
    this.engine.state = cloneState(c.state);
    this.engine.state.trace = trace;
    this.aux.load(c.aux);
    this.base = c.position;
  }
}
