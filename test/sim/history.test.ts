// Time travel (DESIGN §4): a checkpoint every K steps plus deterministic replay reaches every earlier
// position exactly, whatever K; lastMatching finds the last earlier position where a predicate held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { History } from '../../src/sim/history';
import { loadScenario } from '../../src/sim/scenario';
import { nodeFiles } from '../../src/debug/host-files';

const root = join(__dirname, '..', '..', '..');
const example = join(root, 'examples', 'xfd-err-leak.xsave');

function engine() {
  const loaded = loadScenario(example, nodeFiles, { imports: [join(root, 'src', 'kernel', 'policies', 'linux-5.17.xsave')] });
  assert.ok(loaded.engine, loaded.diagnostics.map((d) => d.message).join('\n'));
  return loaded.engine;
}

test('travel reaches every earlier position with the exact state it had (checkpoints every 7 steps)', () => {
  const e = engine();
  const h = new History(e, { save: () => 0, load: () => {} }, 7);
  const seen: string[] = [];
  const key = () => JSON.stringify(e.state, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
  seen.push(key());
  for (let i = 0; i < 300; i++) { e.step(); h.afterStep(); seen.push(key()); }
  for (const p of [0, 1, 6, 7, 8, 150, 299, 300]) {
    h.travel(p, () => { e.step(); h.afterStep(); });
    assert.equal(e.state.steps, p);
    assert.equal(key(), seen[p], `position ${p}`);
  }
});

test('lastMatching: the last earlier position where the predicate held, across checkpoint windows; null when none', () => {
  const e = engine();
  const h = new History(e, { save: () => 0, load: () => {} }, 16);
  for (let i = 0; i < 200; i++) { e.step(); h.afterStep(); }
  const even = h.lastMatching(200, () => { e.step(); return e.state.steps % 50 === 0; });
  assert.equal(even, 150);
  assert.equal(h.lastMatching(200, () => { e.step(); return e.state.steps === 17; }), 17);
  assert.equal(h.lastMatching(200, () => { e.step(); return false; }), null);
});

test('a long run keeps at most 256 checkpoints, and travel still lands exactly (spacing doubles as they thin out)', () => {
  const e = engine();
  const h = new History(e, { save: () => 0, load: () => {} }, 2);
  const at = new Map<number, number>();
  for (let i = 0; i < 1200 && !e.state.halted; i++) { e.step(); h.afterStep(); at.set(e.state.steps, e.state.trace.length); }
  assert.ok(h.size <= 257, `${h.size} checkpoints`);
  for (const p of [3, 511, 1000]) {
    h.travel(p, () => { e.step(); h.afterStep(); });
    assert.equal(e.state.steps, p);
    assert.equal(e.state.trace.length, at.get(p), `trace at ${p}`);
  }
});
