// A policy given as a relative .xsave path means one file for every front end: `xsave-sim run
// --policy`, `xsave-sim explore --policy` and a launch's `policy` attribute all read it from the
// scenario's folder, as the scenario's own `policy` line is read (src/lang/compiler.ts,
// resolvePolicy), never from the working directory. The test gives the scenario a policy of its
// own (linux-5.17's code, which keeps the guest's XFD_ERR) next to it, and puts a broken file at the
// same relative path under the working directory: reading that one would be an error, and the
// scenario's `policy "naive";` line would leak the guest's XFD_ERR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DebugRuntime } from '../../src/runtime/runtime';

const root = join(__dirname, '..', '..', '..');
const cli = join(root, 'dist', 'cli.js');
const kernel = join(root, 'src', 'kernel');
const base = mkdtempSync(join(tmpdir(), 'xsave-policy-path-'));
const scenarios = join(base, 'scenarios');
const cwd = join(base, 'elsewhere');
mkdirSync(join(scenarios, 'policies'), { recursive: true });
mkdirSync(join(cwd, 'policies'), { recursive: true });
// The scenario's own policy: linux-5.17's code, its kernel imports made absolute (it moved).
writeFileSync(join(scenarios, 'policies', 'mine.xsave'), readFileSync(join(kernel, 'policies', 'linux-5.17.xsave'), 'utf8')
  .replace('import "../kvm-merged.xsave";', `import "${join(kernel, 'kvm-merged.xsave')}";`));
writeFileSync(join(cwd, 'policies', 'mine.xsave'), 'this is not the policy the scenario means\n');
const leak = join(scenarios, 'leak.xsave');
copyFileSync(join(root, 'examples', 'xfd-err-leak.xsave'), leak); // policy "naive": the leak, with its events
const seed = join(scenarios, 'seed.xsave');
copyFileSync(join(root, 'test', 'fixtures', 'xfd-err-leak-no-events.xsave'), seed);
const RELATIVE = 'policies/mine.xsave';

const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd });

test('the relative policy path: run, explore and a launch all read it from the scenario\'s folder, not the working directory', async () => {
  // run: its own line (naive) leaks; the override, read beside the scenario, does not.
  assert.equal(run('run', leak).status, 1);
  const r = run('run', leak, '--policy', RELATIVE);
  assert.deepEqual([r.status, r.stderr], [0, '']);
  assert.match(r.stdout, /invariants: all held/);

  // explore: naive's counterexample would be found within one interrupt; mine has none.
  const out = join(base, 'out.xsave');
  const e = run('explore', seed, '--policy', RELATIVE, '--max-interrupts', '1', '--max-preemptions', '0', '--max-fpu-irqs', '0', '--out', out);
  assert.deepEqual([e.status, e.stderr], [0, '']);
  assert.match(e.stdout, /no invariant broke within the bounds/);

  // a launch: the program compiled includes that very file.
  const saved = process.cwd();
  process.chdir(cwd);
  try {
    const rt = new DebugRuntime(() => {});
    await rt.launch({ program: leak, policy: RELATIVE });
    assert.ok(rt.loadedFiles().includes(join(scenarios, 'policies', 'mine.xsave')), rt.loadedFiles().join('\n'));
    assert.ok(!rt.loadedFiles().includes(join(kernel, 'policies', 'naive.xsave')));
    rt.disconnect();
  } finally {
    process.chdir(saved);
  }
});

test('a policy that names nothing is one error for every front end, naming what gave it', async () => {
  const missing = 'policies/absent.xsave';
  const why = `launch attribute 'policy': policy cannot read '${join(scenarios, missing)}': no such file`;
  const r = run('run', leak, '--policy', missing);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `${leak}:1:1: error: --policy: policy cannot read '${join(scenarios, missing)}': no such file\n`);
  const e = run('explore', leak, '--policy', missing);
  assert.deepEqual([e.status, e.stderr], [2, r.stderr]);
  const rt = new DebugRuntime(() => {});
  await assert.rejects(rt.launch({ program: leak, policy: missing }), (err: unknown) =>
    (err as Error).message === `the scenario has errors:\n${leak}:1:1: error: ${why}`);
});
