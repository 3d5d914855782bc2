// Time travel (DESIGN §4): a checkpoint every K steps plus deterministic replay reaches every earlier
// position exactly, whatever K; lastMatching finds the last earlier position where a predicate held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { History } from '../../src/sim/history';
import { loadScenario } from '../../src/sim/scenario';
import { nodeFiles } from '../../src/host/files';

const root = join(__dirname, '..', '..', '..');
const example = join(root, 'examples', 'xfd-err-leak.xsave');

function engine() {
  const loaded = loadScenario(example, nodeFiles, { policy: join(root, 'src', 'kernel', 'policies', 'linux-5.17.xsave') });
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

/** A setVariable by hand: the top frame's integer locals of the loop's thread moved by a million, and the history told. */
function editLocals(e: ReturnType<typeof loopEngine>, h: History<number>): void {
  const top = e.state.threads[0]!.frames[e.state.threads[0]!.frames.length - 1]!;
  top.locals = top.locals.map((v) => (typeof v === 'bigint' ? v + 1_000_000n : v));
  h.edited();
}

/** A host loop long enough for the rolling and fine checkpoints to matter. */
function loopEngine(iterations: number) {
  const src = `host p { thread main { let i = 0; while (i != ${iterations}) { i = i + 1; } } }`;
  const loaded = loadScenario('/loop.xsave', { read: (p) => (p === '/loop.xsave' ? src : null), resolve: (_f, r) => r });
  assert.ok(loaded.engine, loaded.diagnostics.map((d) => d.message).join('\n'));
  return loaded.engine;
}

test('after a long run, the stop keeps fine checkpoints behind it: a step back replays at most 16 statements (its window) more than it goes back, and lands exactly (DESIGN §4)', () => {
  const e = loopEngine(100_000);
  const h = new History(e, { save: () => 0, load: () => {} });
  const key = () => JSON.stringify(e.state.threads, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
  const states = new Map<number, string>();
  for (let i = 0; i < 150_003; i++) {
    e.step(); h.afterStep();
    if (e.state.steps > 150_003 - 200) states.set(e.state.steps, key());
  }
  const here = e.state.steps;
  let replayed = 0;
  h.atStop(() => { e.step(); h.afterStep(); replayed++; });
  assert.equal(e.state.steps, here, 'atStop leaves the machine where it was');
  assert.equal(key(), states.get(here));
  assert.ok(replayed <= 4096, `the window came from the rolling checkpoint (${replayed} statements)`);
  let searched = 0;
  const target = h.lastMatching(here, () => { e.step(); searched++; return e.state.steps === here - 3; });
  assert.equal(target, here - 3);
  assert.ok(searched <= 3 + 16, `${searched} statements replayed to find the target`);
  let travelled = 0;
  h.travel(here - 3, () => { e.step(); travelled++; });
  assert.equal(e.state.steps, here - 3);
  assert.equal(key(), states.get(here - 3));
  assert.ok(travelled <= 16, `${travelled} statements replayed to reach it`);
  // Step back after step back: still within the fine window.
  h.atStop(() => { e.step(); h.afterStep(); });
  searched = 0;
  assert.equal(h.lastMatching(here - 3, () => { e.step(); searched++; return e.state.steps === here - 90; }), here - 90);
  // here-3 back to here-90: the fine windows atStop left (32 statements), then once the window from
  // the rolling checkpoint (at most 256), which leaves fine checkpoints for the next step back.
  assert.ok(searched <= 256 + 87, `${searched}`);
  searched = 0;
  assert.equal(h.lastMatching(here - 90, () => { e.step(); searched++; return e.state.steps === here - 95; }), here - 95);
  assert.ok(searched <= 16, `${searched} statements replayed once the window left fine checkpoints`);
  assert.ok(h.states <= 256 + 2 + 64, `${h.states} states held`);
});

test('a stop just after the head renewed its rolling checkpoint still has the previous one behind it: a step back past the newer replays at most 256 statements, not a coarse interval', () => {
  const e = loopEngine(100_000);
  const h = new History(e, { save: () => 0, load: () => {} });
  // Rolling checkpoints are taken every 256 steps from the start: stop 5 steps after one, deep
  // enough that the coarse ones lie 1,024 apart.
  const stop = 150_016 - (150_016 % 256) + 5;
  while (e.state.steps < stop) { e.step(); h.afterStep(); }
  h.atStop(() => { e.step(); h.afterStep(); });
  let searched = 0;
  const target = stop - 40;
  assert.equal(h.lastMatching(stop, () => { e.step(); searched++; return e.state.steps === target; }), target);
  assert.ok(searched <= 256 + 16, `${searched} statements replayed to go 40 back past the newest rolling checkpoint`);
});

test('a stop that ends a long run replays from the checkpoint behind it even when that lies only a few statements back (the first copy of a checkpoint after a run happens while the client reads the stop, not in the first step back); a single step does not replay', () => {
  const e = loopEngine(100_000);
  const h = new History(e, { save: () => 0, load: () => {} });
  const stop = 50_000 - (50_000 % 256) + 5; // 5 statements after the head's rolling checkpoint
  while (e.state.steps < stop) { e.step(); h.afterStep(); }
  const before = h.states;
  let replayed = 0;
  h.atStop(() => { e.step(); h.afterStep(); replayed++; });
  assert.equal(replayed, 5, 'replayed from the rolling checkpoint 5 statements back');
  assert.equal(e.state.steps, stop, 'atStop leaves the machine where it was');
  assert.equal(h.states, before + 1, 'and keeps the stop itself as a fine checkpoint');
  // A step: the stop lies within 16 statements of a checkpoint and ends a run of one statement.
  e.step(); h.afterStep();
  replayed = 0;
  h.atStop(() => { e.step(); h.afterStep(); replayed++; });
  assert.equal(replayed, 0);
  assert.equal(h.states, before + 1);
});

test('an edit drops the fine and rolling checkpoints after it, as it drops the coarse ones', () => {
  const e = loopEngine(10_000);
  const h = new History(e, { save: () => 0, load: () => {} });
  for (let i = 0; i < 9_000; i++) { e.step(); h.afterStep(); }
  h.atStop(() => { e.step(); h.afterStep(); }); // fine checkpoints around 8,000..9,000
  h.travel(5_000, () => { e.step(); h.afterStep(); });
  editLocals(e, h);
  const key = () => JSON.stringify(e.state.threads, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
  const seen = new Map<number, string>();
  for (let i = 0; i < 4_000; i++) { e.step(); h.afterStep(); seen.set(e.state.steps, key()); }
  for (const p of [9_000, 8_990]) { // 9,000: where the stop before the edit kept its state
    h.travel(p, () => { e.step(); h.afterStep(); });
    assert.equal(e.state.steps, p);
    assert.equal(key(), seen.get(p), `${p}: the edited timeline, not a checkpoint from before the edit`);
  }
});

test('after an edit, going back before it and running forward again is a new history from the edit\'s position: a later travel shows the run without the edit, not the edited checkpoint', () => {
  const key = (e: ReturnType<typeof loopEngine>) => JSON.stringify(e.state.threads, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
  // The reference: the same run, never edited.
  const ref = loopEngine(10_000);
  const plain = new Map<number, string>();
  for (let i = 0; i < 3_000; i++) { ref.step(); plain.set(ref.state.steps, key(ref)); }
  const e = loopEngine(10_000);
  const h = new History(e, { save: () => 0, load: () => {} });
  for (let i = 0; i < 2_000; i++) { e.step(); h.afterStep(); }
  editLocals(e, h);
  for (let i = 0; i < 500; i++) { e.step(); h.afterStep(); }
  h.travel(1_500, () => { e.step(); h.afterStep(); });
  assert.equal(key(e), plain.get(1_500), 'before the edit: the history as it ran');
  let left = 0;
  for (let i = 0; i < 1_000; i++) { e.step(); if (h.afterStep()) left++; }
  assert.equal(left, 1, 'the run left the recorded history once, at the edit\'s position');
  assert.equal(key(e), plain.get(2_500), 'forward from before the edit runs without it');
  for (const p of [2_100, 2_000, 2_400]) {
    h.travel(p, () => { e.step(); h.afterStep(); });
    assert.equal(key(e), plain.get(p), `${p}: the run as it went the second time`);
  }
});

test('an edit\'s checkpoint survives the thinning of a long run: travel past it still shows the edited run', () => {
  const e = loopEngine(100_000);
  const h = new History(e, { save: () => 0, load: () => {} }, 2);
  for (let i = 0; i < 301; i++) { e.step(); h.afterStep(); }
  editLocals(e, h);
  const key = () => JSON.stringify(e.state.threads, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
  const seen = new Map<number, string>();
  for (let i = 0; i < 20_000; i++) { e.step(); h.afterStep(); seen.set(e.state.steps, key()); }
  assert.ok(h.size <= 257, `${h.size} checkpoints`);
  for (const p of [303, 1_001, 15_000]) {
    h.travel(p, () => { e.step(); h.afterStep(); });
    assert.equal(key(), seen.get(p), `${p}: the edited run`);
  }
});
