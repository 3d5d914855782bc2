// Benchmark of the interleaving explorer on the seed scenario without its events block
// (test/fixtures/xfd-err-leak-no-events.xsave) under the naive policy, on this thread (workers: 0)
// so that the numbers are the search's own:
// 1. states explored per second of the whole default-bounds search (interrupts 1, preemptions 1,
//    FPU interrupts 1), median of 3;
// 2. time to the first counterexample (any invariant: compile, build, the line with no placement),
//    and the whole search for the stale XFD_ERR (host-sees-guest-xfd-err, one interrupt), median of 5.
// Prints medians and writes .bench/explore.json; asserts nothing about speed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ExploreOptions, explore, makeSearch } from '../src/debug/explore-runner';
import { DEFAULT_BOUNDS } from '../src/sim/explore/options';

const root = join(__dirname, '..', '..');
const file = join(root, 'test', 'fixtures', 'xfd-err-leak-no-events.xsave');
const policy = join(root, 'src', 'kernel', 'policies', 'naive.xsave');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const full: ExploreOptions = { file, policy, workers: 0, invariants: ['host-sees-guest-xfd-err'] };
  const rates: number[] = [];
  let states = 0;
  let ms = 0;
  for (let k = 0; k < 3; k++) {
    const r = await explore(full);
    rates.push(r.states / (r.elapsedMs / 1000));
    states = r.states;
    ms = r.elapsedMs;
  }
  // The same search as the CLI runs it: one worker thread per core (2 here), same result.
  const parallel: number[] = [];
  let workers = 0;
  for (let k = 0; k < 3; k++) {
    const r = await explore({ ...full, workers: undefined as never });
    if (r.states !== states) throw new Error(`workers explored ${r.states} states, one thread ${states}`);
    parallel.push(r.states / (r.elapsedMs / 1000));
    workers = r.workers;
  }
  const firstAny: number[] = [];
  const firstLeak: number[] = [];
  for (let k = 0; k < 5; k++) {
    // The first counterexample in search order is on the line with no placement (unit 0).
    const t0 = performance.now();
    const search = makeSearch({ file, roots: [root], imports: [policy], cpu: undefined, search: { bounds: { ...DEFAULT_BOUNDS }, invariants: null, failOnOops: true, failOnAssertions: false, keepEvents: false } });
    if (!search.rootLines().first) throw new Error('no counterexample on the root line');
    firstAny.push(performance.now() - t0);
    firstLeak.push((await explore({ file, policy, workers: 0, invariants: ['host-sees-guest-xfd-err'], bounds: { interrupts: 1, preemptions: 0, fpuIrqs: 0 } })).elapsedMs);
  }
  const result = {
    node: process.version,
    search: { bounds: 'interrupts 1, preemptions 1, fpu irqs 1, steps 20000', invariant: 'host-sees-guest-xfd-err', states, ms: Math.round(ms), statesPerSecondMedian: Math.round(median(rates)), workers, statesPerSecondWorkersMedian: Math.round(median(parallel)) },
    firstCounterexampleMsMedian: +median(firstAny).toFixed(1),
    firstStaleXfdErrMsMedian: +median(firstLeak).toFixed(1),
  };
  console.log(`explorer benchmarks, Node ${process.version}`);
  console.log(`  default-bounds search for host-sees-guest-xfd-err: ${states.toLocaleString('en')} states, ${Math.round(median(rates)).toLocaleString('en')} states/s on one thread, ${Math.round(median(parallel)).toLocaleString('en')} states/s on ${workers} worker threads (medians of 3; target 100,000)`);
  console.log(`  first counterexample (any invariant): ${median(firstAny).toFixed(1)} ms; first stale XFD_ERR with one interrupt: ${median(firstLeak).toFixed(1)} ms (median of 5; target under 1 s)`);
  mkdirSync('.bench', { recursive: true });
  writeFileSync('.bench/explore.json', JSON.stringify(result, null, 2) + '\n');
}

void main();
