// `npm run bench:dap`: the DAP stepping benchmark (dapbench, from the workspace's shared bench
// kit; DAPBENCH=/path/to/dapbench.mjs to point elsewhere) against `node dist/adapter.js` stepping
// examples/xfd-err-leak.xsave with stepIn (one statement per request; `next` steps over whole guest
// runs and the example would end too soon), every non-expensive scope fetched, 800 steps × 5 reps,
// interleaved with dapbench's null adapter and with bench/dap-floor-adapter.mjs ("same-shape": a
// do-nothing adapter whose replies have the shape and size of ours at a stop, the floor of this
// workload). Writes .bench/dap.json and prints the report; quote `stepP50_over_nullStepP50` and
// `stepP50_over_refStepP50` (against the same-shape floor), ratios measured in one run.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const harness = process.env.DAPBENCH ?? join(repo, '..', 'shared', 'bench', 'dapbench', 'dapbench.mjs');
if (!existsSync(harness)) {
  // `npm run bench` passes --if-present: the other benchmarks' figures still count without the kit.
  const ifPresent = process.argv.includes('--if-present');
  console.error(`bench:dap: dapbench not found at ${harness} (set DAPBENCH=/path/to/dapbench.mjs)${ifPresent ? '; the stepping benchmark is skipped' : ''}`);
  process.exit(ifPresent ? 0 : 2);
}
execFileSync('node', [join(repo, 'scripts', 'build.mjs')], { stdio: 'inherit' });
mkdirSync(join(repo, '.bench'), { recursive: true });
const out = join(repo, '.bench', 'dap.json');
const launch = { program: join(repo, 'examples', 'xfd-err-leak.xsave'), stopOnEntry: true, trace: false };
execFileSync('node', [harness, '--adapter', `node ${join(repo, 'dist', 'adapter.js')}`, '--label', 'xsave', '--adapter-id', 'xsave',
  '--launch', JSON.stringify(launch), '--step', 'stepIn', '--steps', process.env.STEPS ?? '800', '--reps', process.env.REPS ?? '5',
  '--scopes', 'cheap', '--ref', `node ${join(repo, 'bench', 'dap-floor-adapter.mjs')}`, '--ref-label', 'same-shape', '--ref-launch', '{}',
  '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
execFileSync('node', [join(dirname(harness), 'report.mjs'), out], { stdio: 'inherit' });
