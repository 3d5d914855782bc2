// Benchmark of the interleaving explorer on every example under the policy its `policy` line names,
// all invariants, on this thread unless said otherwise:
// 1. bounds 1,1,1 (the default), 2,2,2 and 3,3,3 (interrupts, preemptions, FPU interrupts) with the
//    reductions and without them (reduction: false, the search as it was before them): states,
//    time, and the ratios without/with, measured in the same run. A search that does not finish
//    within its cap (XSAVE_BENCH_CAP seconds with the reductions, default 120; XSAVE_BENCH_BASE_CAP
//    without them, default 30, for bounds above the default) is reported as capped, its ratio as a
//    lower bound. XSAVE_BENCH_BOUNDS=1,2 limits the bounds run; XSAVE_BENCH_BASE=0 runs only the
//    searches with the reductions.
// 2. worker threads (one per core) against this thread at the default bounds, with the reductions,
//    on the smallest and the largest example search: wall time and ratio.
// 3. time to the first counterexample with stopAtFirst (`--first`) on the seed scenario.
// Prints a table and writes .bench/explore.json; asserts nothing about speed.
import { availableParallelism, cpus } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ExploreOptions, type ExploreResult, explore } from '../src/host/explore-runner';

const root = join(__dirname, '..', '..');
const EXAMPLES = ['fpu-irq-after-xfd-write', 'guest-amx-enable', 'host-amx-permission', 'migrate-in-nm-handler', 'preempt-guest-fpu', 'set-xsave-xfd-armed', 'xfd-err-leak', 'xfd-without-cpuid'];
/** XSAVE_BENCH_BASE=0 skips the searches without reductions (to re-measure the reduced ones alone). */
const BASE = process.env.XSAVE_BENCH_BASE !== '0';
const CAP = Number(process.env.XSAVE_BENCH_CAP ?? 120);
const BASE_CAP = Number(process.env.XSAVE_BENCH_BASE_CAP ?? 30);
const LEVELS = (process.env.XSAVE_BENCH_BOUNDS ?? '1,2,3').split(',').map(Number);

/** `capped`: stopped at the time cap; `ceiling`: stopped at the memory ceiling (MAX_VISITED_STATES), a search that did not finish either. */
interface Run { status: string; states: number; ms: number; capped: boolean; ceiling: boolean; step: number | null }

/** The example's own policy, as a file (the bundle does not sit where the CLI finds shipped policies by name). */
function withPolicy(opts: ExploreOptions): ExploreOptions {
  const name = /^policy "([^"]+)";/m.exec(readFileSync(opts.file, 'utf8'))?.[1];
  return name ? { ...opts, policy: join(root, 'src', 'kernel', 'policies', `${name}.xsave`) } : opts;
}

async function timed(opts: ExploreOptions, capS: number): Promise<Run> {
  const t0 = performance.now();
  const r: ExploreResult = await explore(withPolicy(opts), { isCancelled: () => performance.now() - t0 > capS * 1000 });
  if (r.status === 'error') throw new Error(`${opts.file}: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  return { status: r.status, states: r.states, ms: Math.round(performance.now() - t0), capped: r.cancelled, ceiling: r.boundsHit.memory, step: r.counterexample?.step ?? null };
}

const fmt = (r: Run) => `${r.capped ? '>' : ''}${(r.ms / 1000).toFixed(1)} s, ${r.states.toLocaleString('en')} states${r.capped ? ' (capped)' : `, ${r.status}${r.step ? ` at step ${r.step}` : ''}${r.ceiling ? ' (stopped at the memory ceiling: not finished)' : ''}`}`;
const ratio = (base: Run, red: Run, k: 'ms' | 'states') => (red.capped ? 'n/a' : `${base.capped ? '>' : ''}${(base[k] / Math.max(1, red[k])).toFixed(1)}x`);

async function main(): Promise<void> {
  console.log(`explorer benchmarks, Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'})`);
  const rows: unknown[] = [];
  for (const n of LEVELS) {
    for (const name of EXAMPLES) {
      const file = join(root, 'examples', `${name}.xsave`);
      const bounds = { interrupts: n, preemptions: n, fpuIrqs: n };
      const red = await timed({ file, bounds, workers: 0 }, CAP);
      if (!BASE) {
        rows.push({ example: name, bounds: `${n},${n},${n}`, reduced: red });
        console.log(`  ${n},${n},${n} ${name.padEnd(24)} reduced ${fmt(red)}`);
        continue;
      }
      const base = await timed({ file, bounds, workers: 0, reduction: false }, n === 1 ? Infinity : BASE_CAP);
      if (!red.capped && !base.capped && !red.ceiling && !base.ceiling && (red.status !== base.status || red.step !== base.step)) throw new Error(`${name} ${n},${n},${n}: the reductions changed the answer`);
      rows.push({ example: name, bounds: `${n},${n},${n}`, reduced: red, unreduced: base });
      console.log(`  ${n},${n},${n} ${name.padEnd(24)} reduced ${fmt(red)} | unreduced ${fmt(base)} | time ${ratio(base, red, 'ms')}, states ${ratio(base, red, 'states')}`);
    }
  }
  // Workers against this thread, default bounds, reductions on.
  const cores = availableParallelism();
  const workers: unknown[] = [];
  for (const name of ['xfd-without-cpuid', 'migrate-in-nm-handler']) {
    const file = join(root, 'examples', `${name}.xsave`);
    const one = await timed({ file, workers: 0 }, CAP);
    const many = await timed({ file, workers: cores }, CAP);
    workers.push({ example: name, workers: cores, oneThreadMs: one.ms, workersMs: many.ms });
    console.log(`  workers: ${name}: this thread ${(one.ms / 1000).toFixed(2)} s, ${cores} workers ${(many.ms / 1000).toFixed(2)} s: workers take ${(many.ms / one.ms).toFixed(2)}x the time`);
  }
  const first = await timed({ file: join(root, 'examples', 'xfd-err-leak.xsave'), stopAtFirst: true }, CAP);
  console.log(`  --first on xfd-err-leak.xsave: ${(first.ms / 1000).toFixed(2)} s, ${first.states.toLocaleString('en')} states`);
  mkdirSync('.bench', { recursive: true });
  writeFileSync('.bench/explore.json', JSON.stringify({ node: process.version, cores: cpus().length, cap: CAP, baseCap: BASE_CAP, rows, workers, first }, null, 2) + '\n');
}

void main();
