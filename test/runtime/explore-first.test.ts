// A launch with explore: true, driven on the runtime directly: the search's progress, its result
// on the console, the counterexample written next to the scenario and named (an 'important' line
// and the counterexample event), then the counterexample debugged to its violation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Driven, fixture, root } from './support';

test('explore first: progress, the counterexample written and named, then a stop at its violation (the naive policy leaks the guest\'s XFD_ERR)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xsave-runtime-explore-'));
  const program = join(dir, 'leak.xsave');
  copyFileSync(fixture('xfd-err-leak-no-events.xsave'), program);
  const d = new Driven();
  await d.launch({ program, policy: join(root, 'src', 'kernel', 'policies', 'naive.xsave'), explore: true, exploreBounds: { interrupts: 1, preemptions: 0, fpuIrqs: 0 } });
  const out = join(dir, 'leak.counterexample.xsave');
  const kinds = d.events.map((e) => (e.type === 'progress' ? `progress ${e.phase}` : e.type === 'output' ? `output ${e.category}` : e.type));
  const compact = kinds.filter((k, i) => k !== kinds[i - 1]);
  assert.deepEqual(compact.slice(0, 1), ['progress start']);
  assert.ok(compact.indexOf('progress end') < compact.indexOf('counterexample'));
  assert.ok(compact.indexOf('counterexample') < compact.indexOf('stopped'));
  assert.deepEqual(d.events[0], { type: 'progress', phase: 'start', title: 'Exploring interleavings', file: program });
  assert.deepEqual(d.lines('important'), [`Explore found host-sees-guest-xfd-err broken: the counterexample is ${out}`]);
  const named = d.events.find((e) => e.type === 'counterexample');
  assert.ok(named && named.type === 'counterexample' && named.path === out && named.invariant === 'host-sees-guest-xfd-err');
  assert.ok(existsSync(out));
  // The policy came from outside: the counterexample names it in its own line, relative to its folder.
  assert.match(readFileSync(out, 'utf8'), /^policy "\.\.\/.*src\/kernel\/policies\/naive\.xsave";$/m);
  assert.ok(d.lines('console').some((l) => l === `counterexample written to ${out}; running it to the violation (step back walks to its cause)`));
  const stop = d.lastStop();
  assert.equal(stop.reason, 'exception');
  assert.match(stop.text!, /^invariant host-sees-guest-xfd-err: interrupts are enabled with IA32_XFD_ERR = 0x40000/);
  assert.equal(d.rt.loadedFiles()[0], out);
  d.rt.stepBack();
  assert.equal(d.lastStop().reason, 'step');
});
