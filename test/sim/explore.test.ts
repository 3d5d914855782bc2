// The interleaving explorer (issue 6): on the seed scenario without its events block it finds the
// stale IA32_XFD_ERR that the naive policy leaves visible to the host (invariant
// host-sees-guest-xfd-err, README "Invariants") and nothing under the policies that save and
// restore it; its answers are deterministic and independent of the number of worker threads; the
// counterexample is a scenario that `xsave-sim run` reproduces (exit 1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExploreOptions, explore } from '../../src/host/explore-runner';

// Bundled into out/test/sim/: the repository root is three levels up.
const root = join(__dirname, '..', '..', '..');
const cli = join(root, 'dist', 'cli.js');
const fixture = join(root, 'test', 'fixtures', 'xfd-err-leak-no-events.xsave');
const policy = (name: string) => join(root, 'src', 'kernel', 'policies', `${name}.xsave`);
const dir = mkdtempSync(join(tmpdir(), 'xsave-explore-'));

// One VM exit anywhere, nothing else: enough for the stale XFD_ERR, and quick.
const SMALL: ExploreOptions = {
  file: fixture, bounds: { interrupts: 1, preemptions: 0, fpuIrqs: 0 }, invariants: ['host-sees-guest-xfd-err'], workers: 0,
};

test('explore finds host-sees-guest-xfd-err under naive: a VM exit at the guest #NM handler\'s first statement', async () => {
  const r = await explore({ ...SMALL, policy: policy('naive') });
  assert.equal(r.status, 'violation');
  const c = r.counterexample!;
  assert.equal(c.invariant, 'host-sees-guest-xfd-err');
  assert.equal(c.step, 1269);
  assert.match(c.where, /kvm\.xsave:211:3$/);
  assert.deepEqual(c.placements.map((p) => [p.kind, p.depth, p.hit, p.line]), [['external_interrupt', 1258, 1, 'guest:exc_device_not_available (xfd-err-leak-no-events.xsave:16)']]);
  assert.match(c.text, /^events \{\n {2}external_interrupt at guest exc_device_not_available; {3}\/\/ step 1259, /m);
  assert.match(c.text, /^\/\/ The host runs with interrupts enabled while IA32_XFD_ERR holds a bit the guest set\.$/m);
  // The steps that led to it: the violation's setup (the guest's #NM writing IA32_XFD_ERR; the VM
  // exit, here the placed interrupt), the placement and the break.
  assert.deepEqual(c.chain, [
    'step 1257: guest:main (xfd-err-leak-no-events.xsave:25)',
    'step 1259: guest:exc_device_not_available (xfd-err-leak-no-events.xsave:16): external_interrupt placed here',
    'step 1269: vcpu_enter_guest (kvm.xsave:210): host-sees-guest-xfd-err breaks',
  ]);
  assert.deepEqual(r.boundsHit, { interrupts: true, preemptions: false, fpuIrqs: false, steps: false, memory: false });
});

for (const p of ['tglx-2021', 'linux-5.17']) {
  test(`explore finds no violation under ${p} within the same bound (XFD_ERR is saved before interrupts are enabled)`, async () => {
    const r = await explore({ ...SMALL, policy: policy(p), invariants: null });
    assert.equal(r.status, 'clean');
    assert.equal(r.counterexample, null);
    assert.ok(r.states > 1000, `${r.states} states`);
    assert.equal(r.boundsHit.interrupts, true);
  });
}

test('the counterexample reproduces with xsave-sim run: same invariant, same step, exit 1', async () => {
  const r = await explore({ ...SMALL, policy: policy('naive') });
  // Next to the fixture's folder layout does not matter: the scenario imports nothing relative.
  const out = join(dir, 'leak.counterexample.xsave');
  writeFileSync(out, r.counterexample!.text);
  const run = spawnSync(process.execPath, [cli, 'run', out, '--policy', 'naive'], { encoding: 'utf8' });
  assert.equal(run.status, 1, run.stdout + run.stderr);
  assert.match(run.stdout, /kvm\.xsave:211:3: invariant violated: host-sees-guest-xfd-err: .*\(qemu\.vcpu0, step 1269;/);
});

test('explore is deterministic: two runs give the same counts and the same counterexample text', async () => {
  const opts: ExploreOptions = { ...SMALL, policy: policy('naive') };
  const a = await explore(opts);
  const b = await explore(opts);
  assert.equal(a.states, b.states);
  assert.equal(a.distinctStates, b.distinctStates);
  assert.equal(a.counterexample!.text, b.counterexample!.text);
  assert.equal(a.first!.text, b.first!.text);
});

test('one worker thread and two give the same result as this thread', async () => {
  // Without the reductions every unit starts from the same seed: the counts match too.
  const opts: ExploreOptions = { ...SMALL, policy: policy('naive'), reduction: false };
  const here = await explore({ ...opts, workers: 0 });
  for (const workers of [1, 2]) {
    const r = await explore({ ...opts, workers });
    assert.equal(r.workers, workers);
    assert.equal(r.units, 10); // unit 0 and the nine guest statements that run an instruction
    assert.deepEqual([r.states, r.distinctStates, r.units, r.maxDepth, r.boundsHit], [here.states, here.distinctStates, here.units, here.maxDepth, here.boundsHit]);
    assert.equal(r.counterexample!.text, here.counterexample!.text);
    assert.equal(r.first!.text, here.first!.text);
  }
});

test('with the reductions, workers give the same answer as this thread (a worker shares visited states only among its own units)', async () => {
  const opts: ExploreOptions = { ...SMALL, policy: policy('naive') };
  const here = await explore({ ...opts, workers: 0 });
  for (const workers of [1, 2]) {
    const r = await explore({ ...opts, workers });
    assert.equal(r.workers, workers);
    assert.deepEqual([r.status, r.units, r.boundsHit], [here.status, here.units, here.boundsHit]);
    assert.equal(r.counterexample!.text, here.counterexample!.text);
  }
});

test('stopAtFirst: the search stops at its first counterexample, on this thread, and says so', async () => {
  const seed = { file: join(root, 'examples', 'xfd-err-leak.xsave'), policy: policy('naive') };
  const full = await explore({ ...seed, workers: 0 });
  const r = await explore({ ...seed, stopAtFirst: true });
  assert.equal(r.status, 'violation');
  assert.equal(r.stoppedAtFirst, true);
  assert.equal(r.cancelled, false);
  assert.equal(r.workers, 0);
  assert.ok(r.states < full.states);
  assert.equal(r.counterexample!.text, full.first!.text);
});

test('a scenario with errors is refused with its diagnostics', async () => {
  const bad = join(dir, 'bad.xsave');
  writeFileSync(bad, 'guest { fn main() { x = ; } }\n');
  const r = await explore({ file: bad, workers: 0 });
  assert.equal(r.status, 'error');
  assert.equal(r.diagnostics.length, 1);
  assert.equal(r.diagnostics[0]!.range.start.line, 1);
  assert.match(r.diagnostics[0]!.message, /expected an expression/);
});

test('cancel stops a long search promptly and reports what was explored', async () => {
  const ac = new AbortController();
  let t0 = 0;
  // Cancel once the workers report progress (their start-up time varies with the machine's load).
  const r = await explore({ file: fixture, policy: policy('linux-5.17'), bounds: { interrupts: 2, preemptions: 2, fpuIrqs: 1 }, workers: 2 },
    { signal: ac.signal, onProgress: (p) => { if (p.states > 0 && !t0) { t0 = Date.now(); ac.abort(); } } });
  assert.equal(r.cancelled, true);
  assert.ok(r.states > 0);
  assert.ok(r.unitsDone < r.units);
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms after the abort`);
});

test('cancel on this thread: the isCancelled callback stops the search', async () => {
  let polls = 0;
  const r = await explore({ file: fixture, policy: policy('linux-5.17'), bounds: { interrupts: 2, preemptions: 2, fpuIrqs: 1 }, workers: 0 },
    { isCancelled: () => ++polls > 20 });
  assert.equal(r.cancelled, true);
  assert.ok(r.states > 0 && r.states < 100_000, `${r.states} states`);
});
