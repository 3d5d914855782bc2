// The explorer's reductions (docs/explorer.md, "How it searches") keep every verdict and the
// shortest counterexample: each cell below is explored with and without them (reduction: false is
// the search as it was before them) at the default bounds, and must give the same verdict, the same
// bounds hit, the same counterexample text (placements, hit counts, chain) in no more states.
//
// Every example under every policy at the default bounds takes minutes without the reductions, so
// the cells are the ones that stay quick without them and still cover: every policy, clean and
// violated verdicts, each kind of placement (external_interrupt in the guest, run P.T, preempt),
// the no-event counterexample, and two CPUs. bench/explore.bench.ts compares all 28 cells.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { type ExploreOptions, explore } from '../../src/host/explore-runner';

const root = join(__dirname, '..', '..', '..');
const example = (name: string) => join(root, 'examples', `${name}.xsave`);
const POLICIES = ['naive', 'tglx-2021', 'linux-5.17', 'linux-6.19'];
const policyFile = (name: string) => join(root, 'src', 'kernel', 'policies', `${name}.xsave`);

const CELLS: Array<[string, string]> = [
  ...POLICIES.map((p): [string, string] => ['guest-amx-enable', p]),
  ...POLICIES.map((p): [string, string] => ['xfd-without-cpuid', p]),
  ['host-amx-permission', 'naive'],
  ['migrate-in-nm-handler', 'naive'],
  ['preempt-guest-fpu', 'naive'],
  ['xfd-err-leak', 'naive'],
];

for (const [name, policy] of CELLS) {
  test(`reduction keeps the verdict and the shortest counterexample: ${name} under ${policy}`, async () => {
    const opts: ExploreOptions = { file: example(name), policy: policyFile(policy), workers: 0 };
    const full = await explore({ ...opts, reduction: false });
    const reduced = await explore(opts);
    assert.notEqual(full.status, 'error', JSON.stringify(full.diagnostics));
    assert.equal(reduced.status, full.status);
    assert.deepEqual(reduced.boundsHit, full.boundsHit);
    assert.equal(reduced.errors, full.errors);
    assert.equal(reduced.counterexample?.text ?? null, full.counterexample?.text ?? null);
    assert.deepEqual(reduced.counterexample?.placements ?? null, full.counterexample?.placements ?? null);
    assert.ok(reduced.states <= full.states, `${reduced.states} states with the reduction, ${full.states} without`);
  });
}

// Larger bounds, where the reductions cut the most. Two preemptions without the reductions take
// minutes on a scenario with a guest (the VMM's CPUID build before the first entry is ~500 choice
// points, each a preemption), so the guest scenario compares 2,1,2 and a host-only one 2,2,2.
const LARGER: Array<[string, string, ExploreOptions['bounds']]> = [
  ['xfd-without-cpuid', 'naive', { interrupts: 2, preemptions: 1, fpuIrqs: 2 }],
  ['xfd-without-cpuid', 'linux-5.17', { interrupts: 2, preemptions: 1, fpuIrqs: 2 }],
  ['host-amx-permission', 'naive', { interrupts: 2, preemptions: 2, fpuIrqs: 2 }],
];

for (const [name, policy, bounds] of LARGER) {
  test(`reduction: larger bounds, same answer (${name} under ${policy}, bounds ${bounds!.interrupts},${bounds!.preemptions},${bounds!.fpuIrqs})`, async () => {
    const opts: ExploreOptions = { file: example(name), policy: policyFile(policy), workers: 0, bounds };
    const full = await explore({ ...opts, reduction: false });
    const reduced = await explore(opts);
    assert.notEqual(full.status, 'error', JSON.stringify(full.diagnostics));
    assert.equal(reduced.status, full.status);
    assert.deepEqual(reduced.boundsHit, full.boundsHit);
    assert.equal(reduced.counterexample?.text ?? null, full.counterexample?.text ?? null);
    assert.ok(reduced.states <= full.states, `${reduced.states} states with the reduction, ${full.states} without`);
  });
}
