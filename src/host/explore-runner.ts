// The explorer's programmatic face for the CLI, a VS Code command or the debug adapter:
// `explore(options, hooks) -> Promise<ExploreResult>`. It reads the scenario and its policy from
// disk, runs the pure search of src/sim/explore on this thread (by default) or on worker threads
// (the units are claimed from a shared counter and merged in unit order, so the answer is the same
// for any number of workers; measured on 2 cores they do not pay, see docs/explorer.md), and
// renders the shortest counterexample as a scenario. Cancellation (an
// AbortSignal or a callback) is passed to the workers through shared memory and stops them within
// a few hundred states; the result then says what was explored.
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Diagnostic } from '../lang/source';
import { type CpuidLeaves, HOST_CPU_MODEL, cpuModelNames, cpuidOf, isCpuModelName, registeredCpuModel } from '../model';
import { compileScenario } from '../sim/scenario';
import { ScenarioError } from '../sim/builtins';
import { type Counterexample, renderCounterexample } from '../sim/explore/counterexample';
import { type Totals, mergeUnits, searchAll } from '../sim/explore/merge';
import { type Bounds, type BoundsHit, DEFAULT_BOUNDS, type Found, type SearchOptions, type UnitResult, boundsProblem, noBoundsHit } from '../sim/explore/options';
import { Search } from '../sim/explore/search';
import { registerHostCpuid } from './cpu';
import { FileGate } from './files';
import { compileScenarioFile } from './scenario-file';

export interface ExploreOptions {
  /** The scenario file. */
  file: string;
  /** A shipped policy name or a .xsave file (relative: from the scenario's folder); default the scenario's line. */
  policy?: string;
  /** What gave `policy`, for the error when it names nothing (default `policy`). */
  policyOrigin?: string;
  cpu?: string;
  bounds?: Partial<Bounds>;
  /** Invariants that count (default all). */
  invariants?: string[] | null;
  /** A kernel oops counts (default true). */
  failOnOops?: boolean;
  /** A failed assertion counts (default false: assertions often describe one placement). */
  failOnAssertions?: boolean;
  /** Keep the scenario's own events (default false: the explorer places its own). */
  keepEvents?: boolean;
  /** The explorer's reductions (default true; false searches without them, to compare). */
  reduction?: boolean;
  /**
   * Stop at the first counterexample found (in search order) and report it: quicker, but not
   * necessarily the shortest. Searches on this thread.
   */
  stopAtFirst?: boolean;
  /**
   * Worker threads; 0 (the default) runs on this thread. With the reductions one thread shares its
   * visited states across all units, which workers cannot: on 2 cores they were slower at every bound
   * measured (docs/explorer.md), so they are opt-in.
   */
  workers?: number;
  /** The folder the client opened (the CLI: the working directory); files there may be read too. */
  workspace?: string;
}

export interface ExploreProgress {
  states: number;
  depth: number;
  elapsedMs: number;
  statesPerSecond: number;
  unitsDone: number;
  units: number;
}

export interface ExploreHooks {
  onProgress?: (p: ExploreProgress) => void;
  /** Polled often; true stops the search. */
  isCancelled?: () => boolean;
  signal?: AbortSignal;
}

export interface ExploreCounterexample {
  /** The scenario text that reproduces the failure with `xsave-sim run`. */
  text: string;
  /** Invariant name, 'oops' or 'assertion'. */
  invariant: string;
  message: string;
  step: number;
  where: string;
  placements: Counterexample['placements'];
  chain: string[];
}

export interface ExploreResult {
  /** 'clean': nothing broke within the bounds; 'violation': see counterexample; 'error': see diagnostics. */
  status: 'clean' | 'violation' | 'error';
  diagnostics: Diagnostic[];
  states: number;
  distinctStates: number;
  maxDepth: number;
  units: number;
  unitsDone: number;
  workers: number;
  elapsedMs: number;
  boundsHit: BoundsHit;
  cancelled: boolean;
  /** With stopAtFirst: the search stopped at its first counterexample (counterexample is that one). */
  stoppedAtFirst: boolean;
  /** Runs that ended in a scenario error, and the first message. */
  errors: number;
  firstError: string | null;
  /** The shortest counterexample, and the first in search order. */
  counterexample: ExploreCounterexample | null;
  first: ExploreCounterexample | null;
  policy: string | null;
}

/** What a worker needs to rebuild the search: plain data. */
export interface WorkerInput {
  file: string;
  /** The folders the file gate allows besides the kernel folder. */
  roots: string[];
  /** The policy file the scenario was compiled with, compiled again as the override (null: none). */
  policyFile: string | null;
  cpu: string | undefined;
  /** The host model's CPUID leaves when the run uses `host`: a worker registers them, it does not read /dev. */
  hostCpuid?: CpuidLeaves | null;
  search: SearchOptions;
}

export type WorkerMessage =
  | { type: 'root'; result: UnitResult; units: number }
  | { type: 'unit'; result: UnitResult }
  | { type: 'progress'; states: number; depth: number }
  | { type: 'done' }
  | { type: 'failed'; message: string };

/** The search of a worker thread: the scenario compiled again from the same files, with the same policy file. */
export function makeSearch(input: WorkerInput): Search {
  if (input.hostCpuid && registeredCpuModel(HOST_CPU_MODEL)?.cpuid !== input.hostCpuid) registerHostCpuid(input.hostCpuid);
  const { program } = compileScenario(input.file, new FileGate(input.roots), input.policyFile !== null ? { policy: input.policyFile } : {});
  if (!program) throw new Error('the scenario no longer compiles');
  return new Search(program, input.search, input.cpu ? { cpu: input.cpu } : {});
}

function workerScript(): string {
  const candidates = [join(__dirname, 'explore-worker.js')];
  for (let d = __dirname, k = 0; k < 5; k++, d = dirname(d)) candidates.push(join(d, 'dist', 'explore-worker.js'));
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`explore: cannot find explore-worker.js (looked in ${candidates.join(', ')})`);
  return found;
}

function empty(diagnostics: Diagnostic[], policy: string | null): ExploreResult {
  return {
    status: 'error', diagnostics, states: 0, distinctStates: 0, maxDepth: 0, units: 0, unitsDone: 0, workers: 0, elapsedMs: 0,
    boundsHit: noBoundsHit(), cancelled: false, stoppedAtFirst: false, errors: 0, firstError: null,
    counterexample: null, first: null, policy,
  };
}

const ZERO = { start: { offset: 0, line: 1, column: 1 }, end: { offset: 0, line: 1, column: 1 } };

export async function explore(options: ExploreOptions, hooks: ExploreHooks = {}): Promise<ExploreResult> {
  const t0 = performance.now();
  const file = resolve(options.file);
  const diag = (message: string, range = ZERO, at = file): Diagnostic => ({ file: at, range, severity: 'error', message });
  if (options.cpu !== undefined && !isCpuModelName(options.cpu)) {
    return empty([diag(`unknown CPU model '${options.cpu}' (known: ${cpuModelNames().join(', ')})`)], options.policy ?? null);
  }
  // Compiled as `xsave-sim run` compiles it; the host model is read here, once, and the workers get
  // its leaves as data.
  const compiled = compileScenarioFile({
    file, workspace: options.workspace ?? null, cpu: options.cpu,
    ...(options.policy !== undefined ? { policy: options.policy, policyOrigin: options.policyOrigin ?? 'policy' } : {}),
  });
  switch (compiled.kind) {
    case 'refused': return empty([diag(compiled.message)], options.policy ?? null);
    case 'host-cpu': return empty([diag(`cpu host: ${compiled.message}`)], options.policy ?? null);
    case 'errors': return empty(compiled.diagnostics, options.policy ?? null);
    case 'compiled': break;
  }
  const { program, roots, source } = compiled;
  const chosen = program.policy;
  const policy = chosen?.name ?? null;
  // A counterexample of a run whose policy came from outside names that policy in its own line.
  const policyLine = chosen?.overridden
    ? `policy "${chosen.name.endsWith('.xsave') ? relative(dirname(file), chosen.file) : chosen.name}";`
    : null;
  const diagnostics: Diagnostic[] = [];

  const bounds: Bounds = { ...DEFAULT_BOUNDS, ...(options.bounds ?? {}) };
  const badBounds = boundsProblem(bounds);
  if (badBounds !== null) return empty([diag(`explore: ${badBounds}`)], policy);
  const hostModel = (options.cpu ?? program.cpuModel) === HOST_CPU_MODEL ? registeredCpuModel(HOST_CPU_MODEL) : undefined;
  const input: WorkerInput = {
    file, roots: [...roots], policyFile: chosen?.file ?? null, cpu: options.cpu, hostCpuid: hostModel ? cpuidOf(hostModel) : null,
    search: {
      bounds, invariants: options.invariants ?? null, failOnOops: options.failOnOops ?? true,
      failOnAssertions: options.failOnAssertions ?? false, keepEvents: options.keepEvents ?? false, reduction: options.reduction ?? true,
    },
  };
  let search: Search;
  try {
    search = new Search(program, input.search, input.cpu ? { cpu: input.cpu } : {});
  } catch (e) {
    if (e instanceof ScenarioError) return empty([diag(e.message)], policy);
    throw e;
  }
  const workers = options.stopAtFirst ? 0 : options.workers ?? 0;
  const cancelled = () => (hooks.signal?.aborted ?? false) || (hooks.isCancelled?.() ?? false);
  const progress = (states: number, depth: number, unitsDone: number, units: number) => {
    const elapsedMs = performance.now() - t0;
    hooks.onProgress?.({ states, depth, elapsedMs, statesPerSecond: elapsedMs > 0 ? Math.round(states / (elapsedMs / 1000)) : 0, unitsDone, units });
  };

  let totals: Totals;
  let stoppedAtFirst = false;
  if (workers <= 0) {
    let units = 0;
    let done = 0;
    totals = searchAll(search, {
      isCancelled: cancelled,
      onProgress: (p) => progress(p.states, p.depth, done, units),
      onUnit: () => { done++; units = search.units().length + 1; },
      ...(options.stopAtFirst ? { onFound: () => (stoppedAtFirst = true) } : {}),
    });
  } else {
    totals = await onWorkers(input, workers, cancelled, progress);
  }

  const render = (f: Found | null): ExploreCounterexample | null => {
    if (!f) return null;
    const c = renderCounterexample({
      program, source, path: file, found: f, keepEvents: input.search.keepEvents, policyLine,
      ...(options.cpu ? { engineOptions: { cpu: options.cpu } } : {}),
    });
    return { text: c.text, invariant: c.failure.name, message: c.failure.message, step: c.failure.step, where: c.failure.where, placements: c.placements, chain: c.chain };
  };
  const counterexample = render(stoppedAtFirst ? totals.first : totals.shortest);
  const first = stoppedAtFirst || totals.first === totals.shortest ? counterexample : render(totals.first);
  return {
    status: counterexample ? 'violation' : 'clean', diagnostics, states: totals.states, distinctStates: totals.distinct, maxDepth: totals.maxDepth,
    units: totals.units, unitsDone: totals.unitsDone, workers, elapsedMs: performance.now() - t0, boundsHit: totals.boundsHit,
    cancelled: totals.cancelled && !stoppedAtFirst, stoppedAtFirst, errors: totals.errors, firstError: totals.firstError, counterexample, first, policy,
  };
}

function onWorkers(
  input: WorkerInput, n: number, cancelled: () => boolean,
  progress: (states: number, depth: number, unitsDone: number, units: number) => void,
): Promise<Totals> {
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const script = workerScript();
  return new Promise((resolveAll, reject) => {
    let root: UnitResult | null = null;
    let units = 0;
    const results: UnitResult[] = [];
    const live = new Array<number>(n).fill(0);
    let depth = 0;
    let running = n;
    let failed: Error | null = null;
    const timer = setInterval(() => {
      if (cancelled()) Atomics.store(stop, 0, 1);
      const states = (root?.states ?? 0) + results.reduce((s, r) => s + r.states, 0) + live.reduce((a, b) => a + b, 0);
      progress(states, depth, results.length + (root ? 1 : 0), units + 1);
    }, 50);
    for (let w = 0; w < n; w++) {
      const worker = new Worker(script, { workerData: { input, counter, stop, index: w } });
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'root') { if (!root) { root = m.result; units = m.units; } }
        else if (m.type === 'unit') { results.push(m.result); live[w] = 0; }
        else if (m.type === 'progress') { live[w] = m.states; depth = m.depth; }
        else if (m.type === 'failed') failed ??= new Error(m.message);
      });
      worker.on('error', (e) => { failed ??= e; });
      worker.on('exit', () => {
        if (--running > 0) return;
        clearInterval(timer);
        if (failed) { reject(failed); return; }
        if (!root) { reject(new Error('explore: no worker finished the root lines')); return; }
        resolveAll(mergeUnits([root, ...results], units + 1));
      });
    }
  });
}
