// The bounded search over event placements (DESIGN §4, "the explorer"). Depth-first over choice
// points (choice-points.ts), with the visited states hashed (state-hash.ts) so that placements that
// lead to the same machine state are explored once.
//
// Shape: a *line* is a run with no further placements from some state on. Each line is walked
// twice: first to its end, recording the states it passes (so a branch that later rejoins it is
// cut where it rejoins), then again, taking at every choice point each fitting event as a branch,
// which is a line of its own with one event less in the budget. A state reached again is cut when
// an earlier visit had at least the same budget at no greater depth (whatever the later visit could
// find, the earlier one finds as short or shorter). Once a counterexample of n steps is known,
// nothing at n-1 steps or deeper is explored: the answer is the shortest, and among equally short
// ones the first in search order.
//
// Units of work make the search parallel and still deterministic: unit 0 is the lines from each
// start of the scenario (every worker walks them, they seed everyone's visited set), unit k > 0 is
// one top-level branch and everything below it. Without reduction a unit's result depends only on
// the unit (its visited set starts from the seed, its bound from unit 0's answer), so any split of
// the units over workers, merged in unit order, gives the same answer and the same counts as one
// thread. With reduction (docs/explorer.md, "Reductions") units run in increasing order on one
// Search share their visited set and bound, the budget is kept beside the state key rather than in
// it, the explorer's interchangeable events are left out of the key, and the first steps after each
// placement are hashed densely: more cuts of the same kind (an earlier visit of the same state with
// at least the budget at no greater depth), so the same answer; the counts then depend on the split.
import type { Program } from '../../lang/code';
import { Engine, type EngineOptions, type Happening } from '../engine';
import type { MachineState } from '../machine';
import { type Footprint, addFootprint, clearFootprint, independent, newFootprint } from '../footprint';
import { type Budget, type ChoiceTable, type Choice, type Refused, choiceTable, choicesAt, covers, eventPool, othersIdle, packBudget, sleepCandidates } from './choice-points';
import { cloneState } from './clone';
import { type BoundsHit, type Failure, type Found, type Placement, type SearchOptions, type UnitResult, MAX_VISITED_STATES, noBoundsHit } from './options';
import { arraysHash, stateHash } from './state-hash';

export interface SearchHooks {
  /** Polled every few hundred states; true stops the search at once (the result says so). */
  isCancelled?: () => boolean;
  /** Called every few thousand states with the totals of this unit so far. */
  onProgress?: (p: { states: number; depth: number }) => void;
  /** Called with each counterexample as it is found; true stops the search there (the result says cancelled). */
  onFound?: (f: Found) => boolean;
}

/** One way the scenario starts: its threads as written, or with one other task held back for `run`. */
interface Root {
  program: Program;
  table: ChoiceTable;
  /** With reduction: how many leading events the state hash leaves out (see stateHash). */
  anonymous: number;
  start: MachineState;
  held: string | null;
  budget: Budget;
  candidates: boolean[][];
}

/** A top-level branch: at depth `depth` of root `root`'s line, fire `choice`. */
export interface UnitSpec {
  root: number;
  depth: number;
  choice: Choice;
}

/**
 * Visited states: hash -> [budget, depth, seq, open, budget, depth, seq, open, ...]: the budget and
 * depth of each visit, when it was recorded (a count of the visits recorded before it) and the
 * watches open on its path (a bit per watch, see Watch).
 */
type Table = Map<number, number[]>;
const ENTRY = 4;

/** The visit of `key` with a budget covering `budget` at no greater depth: its index in the entry list, or -1. */
function subsumed(v: number[] | undefined, budget: number, depth: number): number {
  if (!v) return -1;
  for (let i = 0; i < v.length; i += ENTRY) if (covers(v[i]!, budget) && v[i + 1]! <= depth) return i;
  return -1;
}

function record(t: Table, key: number, budget: number, depth: number, seq: number, open: number): boolean {
  const v = t.get(key);
  if (v) { v.push(budget, depth, seq, open); return false; }
  t.set(key, [budget, depth, seq, open]);
  return true;
}

/**
 * A branch whose event may sleep after it by what its whole subtree did (docs/explorer.md,
 * "Reductions" 6): from the event until the interrupted thread takes its next step, which runs its
 * statement at the branch point (it "resumes"), every step of every run explored below is
 * recorded, and whether the thread resumed with other CPUID inputs than it had at the branch
 * point. A step of a path on which the thread has resumed is not recorded. `bit` marks the paths on
 * which the watch is open, in the visited states' entries too: a run cut where a state was visited
 * before the watch opened, or on a path where it was closed, hides steps the watch did not see, and
 * spoils it.
 */
interface Watch {
  thread: number;
  /** The thread's frame count and its top frame (function and STMT instruction) at the branch point. */
  frames: number;
  fn: number;
  pc: number;
  bit: number;
  /** Visits recorded before the watch opened. */
  seq: number;
  /** What the thread's CPUID answers from at the branch point; a resume with other inputs sets `seen.cpu`. */
  config: CpuidInputs;
  seen: Footprint;
  spoilt: boolean;
}

/** The threads a `run` may hold back: the first thread of every host process after the first. */
export function heldBackCandidates(program: Program): string[] {
  const ran = new Set(program.events.filter((e) => e.target).map((e) => `${e.target!.process}.${e.target!.thread}`));
  return program.processes.slice(1).map((p) => `${p.name}.${p.threads[0]!.name}`).filter((t) => !ran.has(t));
}

export class Search {
  readonly roots: Root[] = [];
  private readonly engines: Engine[] = [];
  /** The seed of every unit's visited set: the states of the root lines. */
  private readonly seed: Table = new Map();
  private rootResult: UnitResult | null = null;
  /** Where each root line's first pass ended: its branches are the units. */
  private readonly lineEnd: number[] = [];
  private unitList: UnitSpec[] | null = null;
  // Per unit:
  private table: Table = new Map();
  private engine!: Engine;
  private root!: Root;
  private result!: UnitResult;
  private bound = Infinity;
  /** With reduction: the last unit this Search ran (units in increasing order share a visited set) and the bound it left. */
  private lastUnit = 0;
  private sharedBound = Infinity;
  /** The root line's state at the last unit's branch point (units replay the line from there). */
  private replay: { root: number; depth: number; state: MachineState } | null = null;
  private hooks: SearchHooks = {};
  private path: Placement[] = [];
  private refused: Refused = { interrupts: false, preemptions: false, fpuIrqs: false };
  /** Per function, per statement: whether it may commute with an event (sleepCandidates). */
  private candidates: boolean[][] = [];
  private readonly stepFootprint = newFootprint();
  /** The watches of the branches being explored, outermost first (a watch's bit is 1 << its index). */
  private watches: Watch[] = [];
  /** Visits recorded so far, by every unit of this Search (a visit's `seq`). */
  private visits = 0;
  /** The watches whose thread resumed with the last watchedStep. */
  private resumed = 0;
  /** With reduction, units in order on one root: the events asleep on the root line at the replay point. */
  private topSleep = new SleepSet();

  constructor(program: Program, readonly opts: SearchOptions, engineOpts: EngineOptions = {}) {
    const kept = opts.keepEvents ? program.events : [];
    const base = { ...program, events: kept };
    const plain = eventPool(opts.bounds, [], program.files[0] ?? '');
    const roots: Array<{ events: typeof plain; held: string | null; budget: Budget }> = [
      { events: plain, held: null, budget: { interrupts: opts.bounds.interrupts, preemptions: opts.bounds.preemptions, fpuIrqs: opts.bounds.fpuIrqs } },
    ];
    // A held-back task's `run` is one of the preemptions.
    if (opts.bounds.preemptions > 0) {
      for (const t of heldBackCandidates(base)) {
        const b = { ...opts.bounds, preemptions: opts.bounds.preemptions - 1 };
        roots.push({ events: eventPool(b, [t], program.files[0] ?? ''), held: t, budget: { interrupts: b.interrupts, preemptions: b.preemptions, fpuIrqs: b.fpuIrqs } });
      }
    }
    for (const r of roots) {
      const p: Program = { ...base, events: [...r.events, ...kept] };
      const e = new Engine(p, engineOpts);
      this.engines.push(e);
      const table = choiceTable(p, p.events, e.state.cpus.length);
      // The pool's interrupts, preemptions and FPU interrupts come first; a kept event chained
      // (`after previous`) to the last of them would read its fired flag: then none is left out.
      const pooled = table.interrupts.length + table.preemptions.length + table.fpuIrqs.length;
      const chained = p.events[pooled]?.afterPrevious === true;
      const anonymous = opts.reduction !== false && !chained ? pooled : 0;
      this.roots.push({ program: p, table, anonymous, start: cloneState(e.state), held: r.held, budget: r.budget, candidates: sleepCandidates(p) });
    }
  }

  /** Unit 0: the line from each start, which also seeds every unit's visited set. */
  rootLines(hooks: SearchHooks = {}): UnitResult {
    if (this.rootResult) return this.rootResult;
    this.begin(0, hooks, Infinity);
    this.table = this.seed;
    for (let r = 0; r < this.roots.length; r++) {
      this.use(r);
      this.lineEnd.push(this.walk(cloneState(this.root.start), 0, this.root.budget, false, 0));
    }
    this.rootResult = this.result;
    this.unitList = this.listUnits(this.result.shortest ? this.result.shortest.failure.step : Infinity);
    const hit = this.result.boundsHit;
    hit.interrupts ||= this.refused.interrupts;
    hit.preemptions ||= this.refused.preemptions;
    hit.fpuIrqs ||= this.refused.fpuIrqs;
    return this.rootResult;
  }

  /** The top-level branches, in search order (after unit 0). */
  units(): UnitSpec[] {
    this.rootLines();
    return this.unitList!;
  }

  private listUnits(bound: number): UnitSpec[] {
    const list: UnitSpec[] = [];
    for (let r = 0; r < this.roots.length; r++) {
      this.use(r);
      const e = this.engine;
      e.state = cloneState(this.root.start);
      const used = this.used(this.root.budget);
      const sleep = new SleepSet();
      for (let d = 0; d < this.lineEnd[r]! && d + 1 < bound && !e.state.halted; d++) {
        const p = e.nextPoint();
        if (p) {
          for (const c of choicesAt(e.state, p, this.root.table, used, this.refused)) {
            if (sleep.has(c)) continue;
            list.push({ root: r, depth: d, choice: c });
            this.fallAsleep(sleep, c, p, this.root.budget, null);
          }
        }
        this.stepPast(sleep, p);
      }
    }
    return list;
  }

  /** Unit k >= 1: top-level branch units()[k - 1] and everything below it. */
  unit(k: number, hooks: SearchHooks = {}): UnitResult {
    const spec = this.units()[k - 1];
    if (!spec) throw new Error(`no unit ${k}`);
    const root = this.rootLines();
    const rootBound = root.shortest ? root.shortest.failure.step : Infinity;
    if (this.opts.reduction !== false && k > this.lastUnit && this.lastUnit > 0) {
      // Units taken in order on one Search share their visited states and their bound (see the
      // header): a unit is cut only where an earlier unit explored the same state as well.
      this.begin(k, hooks, Math.min(rootBound, this.sharedBound));
    } else {
      this.begin(k, hooks, rootBound);
      this.table = new Map();
    }
    const inOrder = k === this.lastUnit + 1;
    this.lastUnit = k;
    this.use(spec.root);
    const e = this.engine;
    // The state at the branch point: the root line replayed to it (the engine is deterministic),
    // from where the previous unit on the same line branched when the units come in order.
    const r = this.replay;
    const continued = r !== null && r.root === spec.root && r.depth <= spec.depth;
    let d0 = 0;
    if (continued) { e.state = cloneState(r.state); d0 = r.depth; } else e.state = cloneState(this.root.start);
    // The events asleep after the earlier units on this line (reduction 6) stay asleep while the
    // line's statements commute with what their subtrees did; only when this Search ran those
    // units, the one before this included, and the line goes on from where the last one branched.
    const sleep = this.topSleep;
    if (!continued || !inOrder) sleep.clear();
    for (let d = d0; d < spec.depth; d++) this.stepPast(sleep, e.nextPoint());
    this.replay = { root: spec.root, depth: spec.depth, state: cloneState(e.state) };
    if (sleep.has(spec.choice)) {
      // The same runs as an earlier unit's, with the line's statements since then moved after the event's subtree.
      this.sharedBound = this.bound;
      return this.result;
    }
    const p = e.nextPoint()!;
    const w = this.branch(spec.depth, this.root.budget, spec.choice, 0);
    this.fallAsleep(sleep, spec.choice, p, this.root.budget, w);
    this.sharedBound = this.bound;
    if (this.result.cancelled) this.lastUnit = Infinity;
    return this.result;
  }

  // ---- the walk ---------------------------------------------------------------------------------

  private begin(unit: number, hooks: SearchHooks, bound: number): void {
    this.hooks = hooks;
    this.bound = bound;
    this.path = [];
    this.refused = { interrupts: false, preemptions: false, fpuIrqs: false };
    this.result = {
      unit, states: 0, distinct: 0, maxDepth: 0, first: null, shortest: null, boundsHit: noBoundsHit(), errors: 0, firstError: null, cancelled: false,
    };
  }

  private use(r: number): void {
    this.root = this.roots[r]!;
    this.engine = this.engines[r]!;
    this.candidates = this.root.candidates;
  }

  private used(remaining: Budget): Budget {
    const all = this.root.budget;
    return { interrupts: all.interrupts - remaining.interrupts, preemptions: all.preemptions - remaining.preemptions, fpuIrqs: all.fpuIrqs - remaining.fpuIrqs };
  }

  /** Whether to stop: cancelled, or the visited states reached the memory ceiling (a bound hit). */
  private cancelled(): boolean {
    if (this.result.cancelled || this.result.boundsHit.memory) return true;
    if ((this.result.states & 255) === 0) {
      if (this.hooks.isCancelled?.()) this.result.cancelled = true;
      else if (this.table.size + (this.table === this.seed ? 0 : this.seed.size) >= MAX_VISITED_STATES) this.result.boundsHit.memory = true;
    }
    return this.result.cancelled || this.result.boundsHit.memory;
  }

  private count(depth: number): void {
    this.result.states++;
    if (depth > this.result.maxDepth) this.result.maxDepth = depth;
    if ((this.result.states & 4095) === 0) this.hooks.onProgress?.({ states: this.result.states, depth });
  }

  /** What in a step's happenings is a counterexample. */
  private failure(h: Happening[], s: MachineState): Failure | null {
    const want = this.opts.invariants;
    for (const x of h) {
      if (x.kind === 'invariant' && !x.violation.deviation && (want === null || want.includes(x.violation.name))) {
        const v = x.violation;
        return { kind: 'invariant', name: v.name, message: v.text, step: s.steps, where: v.where };
      }
      if (x.kind === 'oops' && this.opts.failOnOops) return { kind: 'oops', name: 'oops', message: x.text, step: s.steps, where: '' };
      if (x.kind === 'assertion' && this.opts.failOnAssertions) {
        return { kind: 'assertion', name: 'assertion', message: x.message, step: s.steps, where: `${x.file}:${x.line}:${x.column}` };
      }
    }
    return null;
  }

  /** Notes a failure at the current path; false when it does not count (a held-back task never ran). */
  private found(f: Failure, s: MachineState): boolean {
    const held = this.root.held;
    if (held !== null && s.threads.find((t) => t.name === held)!.status === 'waiting') return false;
    const c: Found = { root: this.roots.indexOf(this.root), placements: this.path.slice(), failure: f };
    this.result.first ??= c;
    if (!this.result.shortest || f.step < this.result.shortest.failure.step) this.result.shortest = c;
    if (f.step < this.bound) this.bound = f.step;
    if (this.hooks.onFound?.(c)) this.result.cancelled = true;
    return true;
  }

  private error(h: Happening[]): void {
    for (const x of h) {
      if (x.kind !== 'error') continue;
      this.result.errors++;
      // With the placements that led there, so that the run can be written down and replayed.
      this.result.firstError ??= `${x.text} (placed: ${this.path.length ? this.path.map((p) => {
        const fn = this.root.program.functions[p.fn]?.name ?? '?';
        return `${p.kind}${p.target ? ` ${p.target}` : ''} in ${fn} before step ${p.depth + 1}`;
      }).join(', ') : 'nothing'})`;
    }
  }

  private refusedBelow(by: number, packed: number): void {
    const r = this.refused;
    if ((packed & 0xff) < (by & 0xff)) r.interrupts = true;
    if (((packed >> 8) & 0xff) < ((by >> 8) & 0xff)) r.preemptions = true;
    if (((packed >> 16) & 0xff) < ((by >> 16) & 0xff)) r.fpuIrqs = true;
  }

  // ---- sleep sets (docs/explorer.md, "Reductions" 5 and 6) ------------------------------------

  /**
   * After the branch of `choice` at point `p`: with reduction, on one CPU or while the others are
   * idle, without kept scenario events, when the statement at `p` may be one that commutes with
   * events (sleepCandidates), the event sleeps (is not placed again) while the line's next
   * statements touch nothing of what it did (stepPast). What it did: its branch's watch (reduction
   * 6, the whole subtree) unless spoilt; else its handler run once more on a copy, when that is
   * one plain stretch of this thread's code (reduction 5, handlerFootprint).
   */
  private fallAsleep(sleep: SleepSet, choice: Choice, p: Point, budget: Budget, watch: Watch | null): void {
    if (!this.mayFallAsleep(p)) return;
    // An incomplete subtree (the search stopped in it) says nothing.
    if (this.result.cancelled || this.result.boundsHit.memory) return;
    if (watch && !watch.spoilt) { sleep.add(choice, watch.seen); return; }
    const f = this.handlerFootprint(choice, p, budget);
    if (f) sleep.add(choice, f);
  }

  /** Whether an event placed at `p` may sleep after its branch: with reduction, without kept events, where the statement may commute with it, on one CPU or while the others are idle. */
  private mayFallAsleep(p: Point): boolean {
    // Kept scenario events count arrivals at their points, in handlers and on the line alike: the
    // order of an event's handler and a statement could decide which arrival fires one.
    if (this.opts.reduction === false || this.opts.keepEvents || !this.candidates[p.fn]![p.stmt]) return false;
    return this.root.table.oneCpu || othersIdle(this.engine.state, p.cpu);
  }

  /**
   * What the event's handler touches, from placing it at point `p` until the interrupted thread
   * stands at `p` again; null when that is not one plain stretch of this thread's kernel code: when
   * another thread runs meanwhile, anything but calls, the event itself and register writes
   * happens (an exception, a VM entry or exit, a thread's end, a failure), another event could be
   * placed inside it (a branch there would not be mirrored by the branch already explored), or it
   * lasts more than HANDLER_MAX steps.
   */
  private handlerFootprint(choice: Choice, p: Point, budget: Budget): Footprint | null {
    const e = this.engine;
    const saved = e.state;
    const frames = saved.threads[p.thread]!.frames.length;
    const after = this.used(remainingAfter(budget, choice.kind));
    const all = newFootprint();
    const one = this.stepFootprint;
    let result: Footprint | null = null;
    const before = cpuidInputs(saved.cpus[p.cpu]!);
    e.state = cloneState(saved);
    e.inject(choice.event);
    try {
      for (let n = 0; n < HANDLER_MAX; n++) {
        clearFootprint(one);
        e.footprint = one;
        const h = e.step();
        e.footprint = null;
        if (e.state.lastThread !== p.thread || e.state.halted || !h.every(handlerHappening)) break;
        addFootprint(all, one);
        const q = e.nextPoint();
        if (q && q.thread === p.thread && q.fn === p.fn && q.stmt === p.stmt && e.state.threads[p.thread]!.frames.length === frames) {
          // A handler that left another CPU work: its statements would interleave with the line's.
          if (!othersIdle(e.state, p.cpu)) break;
          // What CPUID answers from: changed by the handler, a CPUID after it would differ.
          all.cpu = !cpuidInputsAre(e.state.cpus[p.cpu]!, before);
          result = all;
          break;
        }
        if (q && choicesAt(e.state, q, this.root.table, after, { interrupts: false, preemptions: false, fpuIrqs: false }).length) break;
      }
    } finally {
      e.footprint = null;
      e.state = saved;
    }
    return result;
  }

  /**
   * Steps the line past point `p` (null: no statement boundary), recording what the step touches
   * while events sleep, and wakes every sleeping event the step does not commute with: a step of
   * another thread, one that did more than compute, read kernel objects and memory, and write
   * memory that only kernel or user code names (`kmalloc`, `user_buffer_alloc` regions: no
   * invariant reads them), or one that touched what the event's handler touches.
   */
  private stepPast(sleep: SleepSet, p: Point | null): void {
    const e = this.engine;
    if (sleep.empty()) { e.step(); return; }
    const fp = this.stepFootprint;
    clearFootprint(fp);
    e.footprint = fp;
    const h = e.step();
    e.footprint = null;
    const regions = e.state.mem.regions;
    let ok = p !== null && e.state.lastThread === p.thread && !e.state.halted && h.every((x) => x.kind === 'call') && !fp.other && fp.objW.size === 0 &&
      othersIdle(e.state, p.cpu);
    if (ok) for (const i of fp.regW) if (!PRIVATE_REGION.test(regions[i]!.name)) { ok = false; break; }
    if (!ok) sleep.clear();
    else sleep.keep((f) => independent(fp, f));
  }

  /**
   * Fires `choice` at the state the engine holds (depth `depth`), then walks the line from there;
   * the engine's state is left as it was. `open`: the watches open at the branch point. Returns the
   * branch's own watch (reduction 6) when the event may sleep after it, else null.
   */
  private branch(depth: number, budget: Budget, choice: Choice, open: number): Watch | null {
    const e = this.engine;
    const saved = e.state;
    const p = e.nextPoint()!;
    let watch: Watch | null = null;
    if (this.root.table.oneCpu && this.watches.length < MAX_WATCHES && this.mayFallAsleep(p)) {
      const top = saved.threads[p.thread]!.frames;
      const f = top[top.length - 1]!;
      watch = {
        thread: p.thread, frames: top.length, fn: f.fn, pc: f.pc, bit: 1 << this.watches.length, seq: this.visits,
        config: cpuidInputs(saved.cpus[p.cpu]!), seen: newFootprint(), spoilt: false,
      };
      this.watches.push(watch);
      open |= watch.bit;
    }
    e.state = cloneState(saved);
    e.inject(choice.event);
    const h = open ? this.watchedStep(open) : e.step();
    if (e.injectionPending()) throw new Error('internal: an injected event did not fire at its statement');
    // An event ends its step where it diverts control (events.ts), so no thread resumes with it;
    // should one ever run the interrupted statement in the same step, there is nothing to learn.
    if (watch && hasMoved(watch, e.state)) watch.spoilt = true;
    this.count(depth + 1);
    const next = remainingAfter(budget, choice.kind);
    this.path.push({ depth, kind: choice.kind, target: choice.target, cpu: p.cpu, fn: p.fn, stmt: p.stmt });
    const f = this.failure(h, e.state);
    this.error(h);
    if (f) this.found(f, e.state);
    else if (!e.state.halted) this.walk(e.state, depth + 1, next, true, open);
    this.path.pop();
    e.state = saved;
    if (watch) this.watches.pop();
    return watch;
  }

  /**
   * One step on a path where the watches in `open` are open. A watch whose thread this step is,
   * at its branch point's statement and frame depth, resumes with it (this.resumed: closed from
   * here on, the step not recorded). Told from before the step, as the statement's own step (one
   * that jumps back to itself leaves the frame where it was); an injected event's step is the
   * event's, not the statement's. A watch whose thread resumes with other CPUID inputs than it had
   * at its branch point is marked `cpu` (its statements after the resume would read another CPUID;
   * on a path where it never resumes they never run). To every other watch goes what the step
   * touched, but not that it ran CPUID: code that did only read the inputs.
   */
  private watchedStep(open: number): Happening[] {
    const e = this.engine;
    let resumed = 0;
    const q = e.injectionPending() ? null : e.nextPoint();
    if (q) {
      for (const w of this.watches) {
        if (!(open & w.bit) || q.thread !== w.thread || !isAt(w, e.state)) continue;
        resumed |= w.bit;
        if (!cpuidInputsAre(e.state.cpus[0]!, w.config)) w.seen.cpu = true; // watches are on one CPU
      }
    }
    const fp = this.stepFootprint;
    clearFootprint(fp);
    e.footprint = fp;
    const h = e.step();
    e.footprint = null;
    for (const w of this.watches) {
      if (!(open & w.bit) || resumed & w.bit || w.spoilt) continue;
      const cpu = w.seen.cpu;
      addFootprint(w.seen, fp);
      w.seen.cpu = cpu;
    }
    this.resumed = resumed;
    return h;
  }

  /** A run cut where a state was visited (entry `seq`, `open`) before a watch in `live` opened, or where it was closed: the watch missed the steps after it. */
  private spoil(live: number, seq: number, open: number): void {
    for (const w of this.watches) if (live & w.bit && (seq < w.seq || !(open & w.bit))) w.spoilt = true;
  }

  /**
   * The line from `start` at `depth`: first to its end (recording its states), then again with each
   * fitting event as a branch at each choice point. `start` is consumed.
   */
  private walk(start: MachineState, depth: number, budget: Budget, branches: boolean, open: number): number {
    const e = this.engine;
    // The watches open on this line (reduction 6), and where each one's thread resumed, by watch
    // index (the step from that depth was the thread's, at its branch point): branches up to
    // there, that one included, are on its paths.
    let live = open;
    const resumedAt: Array<number | undefined> = [];
    const packed = packBudget(budget);
    const dense = branches && this.opts.reduction !== false;
    e.state = cloneState(start);
    let arrays = arraysHash(e.state);
    let runs = e.builtinRuns;
    let end = depth;
    // With reduction: hashed at every step that ran no builtin up to here (see below).
    let denseUntil = dense ? depth + WINDOW : -1;
    for (let d = depth; ; ) {
      if (this.cancelled() || e.state.halted) { end = d; break; }
      if (d + 1 >= this.bound) { end = d; break; }
      if (d >= this.opts.bounds.steps) { this.result.boundsHit.steps = true; end = d; break; }
      const b0 = e.builtinRuns;
      const h = live ? this.watchedStep(live) : e.step();
      if (live && this.resumed) {
        for (let i = 0; i < this.watches.length; i++) if (this.resumed & this.watches[i]!.bit) resumedAt[i] = d;
        live &= ~this.resumed;
      }
      d++;
      this.count(d);
      const f = this.failure(h, e.state);
      this.error(h);
      if (f) { this.found(f, e.state); end = d - 1; break; }
      // States are hashed where runs that differ by a placement meet again: after a VM entry or
      // exit, an exception, a thread's end or a fired event (a deterministic choice of states, so
      // two runs that meet anywhere meet at the next such step too). Register images and memory,
      // most of the bytes, change only when an instruction runs: their hash is kept until then.
      // With reduction, also the steps of a branch's first WINDOW that ran no builtin: a placement
      // whose event commutes with the statements after it (an interrupt one statement later that
      // sees and changes nothing those statements touch) reaches a state the earlier placement's
      // branch already recorded within a few steps, where it used to walk on to the next VM entry
      // or exit. Steps that ran a builtin are skipped (their register images and memory would have
      // to be hashed again); two runs that met are the same run from there on and meet again at
      // the next step that ran none.
      const marked = h.length > 0 && h.some(checkpoint);
      // A thread that ended or an event that fired: a branch that placed an event a statement
      // earlier or later meets this run within a few steps once the same work is done.
      if (dense && marked) denseUntil = Math.max(denseUntil, d + REWINDOW);
      if ((d <= denseUntil && e.builtinRuns === b0) || marked) {
        if (e.builtinRuns !== runs) { runs = e.builtinRuns; arrays = arraysHash(e.state); }
        // With reduction the budget is not part of the key: a state met again with no more budget
        // than an earlier visit had is cut by `covers` (a run that spent an event to get back to
        // where the machine already was finds nothing the earlier visit did not).
        const key = stateHash(e.state, arrays, this.opts.reduction !== false ? 0 : packed, this.root.anonymous);
        let v = this.seed.get(key);
        let i = subsumed(v, packed, d);
        if (i < 0 && this.table !== this.seed) { v = this.table.get(key); i = subsumed(v, packed, d); }
        if (i >= 0) {
          // Cut by a visit with more budget of some kind: below this one a placement of that kind
          // might have been refused for want of budget, so the bound counts as hit (conservative).
          const by = v![i]!;
          if (by !== packed) this.refusedBelow(by, packed);
          if (live) this.spoil(live, v![i + 2]!, v![i + 3]!);
          end = d;
          break;
        }
        if (record(this.table, key, packed, d, this.visits++, live)) this.result.distinct++;
      }
    }
    if (!branches) return end;
    // Second pass: the branches, at the choice points before where the first pass ended.
    e.state = start;
    const used = this.used(budget);
    const sleep = new SleepSet();
    for (let d = depth; d < end && !e.state.halted; d++) {
      if (this.cancelled() || d + 1 >= this.bound) break;
      const p = e.nextPoint();
      let here = open;
      if (open !== live) for (let i = 0; i < this.watches.length; i++) if (resumedAt[i] !== undefined && resumedAt[i]! < d) here &= ~this.watches[i]!.bit;
      if (p) for (const c of choicesAt(e.state, p, this.root.table, used, this.refused)) {
        if (this.cancelled() || d + 1 >= this.bound) break;
        if (sleep.has(c)) continue;
        const w = this.branch(d, budget, c, here);
        this.fallAsleep(sleep, c, p, budget, w);
      }
      this.stepPast(sleep, p);
    }
    const r = this.refused;
    const hit = this.result.boundsHit;
    hit.interrupts ||= r.interrupts;
    hit.preemptions ||= r.preemptions;
    hit.fpuIrqs ||= r.fpuIrqs;
    return end;
  }
}

/** Steps after a placement at which a branch is hashed whatever they did (with reduction). */
const WINDOW = 64;
/** Steps after a thread's end or an event at which a branch is hashed whatever they did (with reduction). */
const REWINDOW = 16;
/** Steps an event's handler may take to be learnt for a sleep set (handlerFootprint). */
const HANDLER_MAX = 256;
/**
 * Memory only code that was given its address touches, and no invariant reads but through a step
 * that records it (the first VM entry reads the vCPU's CPUID entries from kmalloc memory to build
 * the guest's bare-metal reference; interpreter.ts counts it in that step's footprint) (stepPast).
 */
const PRIVATE_REGION = /^(kmalloc|user buffer) \d+$/;

type Point = { cpu: number; thread: number; fn: number; stmt: number };

type Cpu = MachineState['cpus'][number];
/**
 * What a host CPUID answers from (cpuid-insn.ts): XCR0, IA32_XSS, CR4.OSXSAVE, CR4.PKE and the
 * leaves the CPU is limited to (cpuidLimit is only ever replaced whole, and a copy of the state
 * shares it: clone.ts).
 */
interface CpuidInputs { xcr0: bigint; xss: bigint; osxsave: boolean; pke: boolean; limit: Cpu['cpuidLimit'] }
function cpuidInputs(c: Cpu): CpuidInputs {
  return { xcr0: c.xcr0, xss: c.xss, osxsave: c.cr4.osxsave, pke: c.cr4.pke, limit: c.cpuidLimit };
}
/** Whether CPU `c`'s CPUID inputs are `b` (nothing allocated: it runs at every recorded step). */
function cpuidInputsAre(c: Cpu, b: CpuidInputs): boolean {
  return c.xcr0 === b.xcr0 && c.xss === b.xss && c.cr4.osxsave === b.osxsave && c.cr4.pke === b.pke && c.cpuidLimit === b.limit;
}

/** Whether the watch's thread stands at its branch point: the same frame depth, function and STMT instruction on top. */
function isAt(w: Watch, s: MachineState): boolean {
  const fr = s.threads[w.thread]!.frames;
  if (fr.length !== w.frames) return false;
  const f = fr[w.frames - 1]!;
  return f.fn === w.fn && f.pc === w.pc;
}

/** Whether the watch's thread left its branch point's frame: moved on in it, or returned from it. */
function hasMoved(w: Watch, s: MachineState): boolean {
  const fr = s.threads[w.thread]!.frames;
  if (fr.length < w.frames) return true;
  const f = fr[w.frames - 1]!;
  return f.fn !== w.fn || f.pc !== w.pc;
}

/** Most watches open at once (a bit each in a visit's entry). */
const MAX_WATCHES = 30;

/** The budget left once an event of `kind` is placed (a held-back task's `run` was taken from its root's budget). */
function remainingAfter(b: Budget, kind: Choice['kind']): Budget {
  return {
    interrupts: b.interrupts - (kind === 'external_interrupt' ? 1 : 0),
    preemptions: b.preemptions - (kind === 'preempt' ? 1 : 0),
    fpuIrqs: b.fpuIrqs - (kind === 'fpu_irq' ? 1 : 0),
  };
}

/** What may happen while an event's handler is learnt (handlerFootprint). */
function handlerHappening(x: Happening): boolean {
  return x.kind === 'call' || x.kind === 'event' || x.kind === 'msr-write' || x.kind === 'xcr0-write';
}


/** Events asleep on a line, by kind (one kind's events are interchangeable) and target, with what their handler touches. */
class SleepSet {
  private items: Array<{ kind: string; target: string | null; f: Footprint }> = [];
  has(c: Choice): boolean {
    return this.items.some((z) => z.kind === c.kind && z.target === c.target);
  }
  add(c: Choice, f: Footprint): void {
    this.items.push({ kind: c.kind, target: c.target, f });
  }
  empty(): boolean {
    return this.items.length === 0;
  }
  clear(): void {
    this.items = [];
  }
  keep(pred: (f: Footprint) => boolean): void {
    this.items = this.items.filter((z) => pred(z.f));
  }
}
function checkpoint(x: Happening): boolean {
  return x.kind === 'vmentry' || x.kind === 'vmexit' || x.kind === 'exception' || x.kind === 'thread-end' || x.kind === 'event';
}

export function mergeBoundsHit(a: BoundsHit, b: BoundsHit): BoundsHit {
  return { interrupts: a.interrupts || b.interrupts, preemptions: a.preemptions || b.preemptions, fpuIrqs: a.fpuIrqs || b.fpuIrqs, steps: a.steps || b.steps, memory: a.memory || b.memory };
}
