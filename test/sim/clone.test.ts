// The explorer's fast state copy (src/sim/explore/clone.ts) must be what structuredClone gives
// (DESIGN §4: the state is plain data): compared field by field at every step of a run that has
// guests, handlers with their saved interrupt flag, switches and tiles, and checked to be
// independent of the original.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { nodeFiles } from '../../src/host/files';
import { allocate } from '../../src/sim/builtins';
import { cloneState } from '../../src/sim/explore/clone';
import { arraysHash } from '../../src/sim/explore/state-hash';
import { loadScenario } from '../../src/sim/scenario';

const root = join(__dirname, '..', '..', '..');

test('cloneState equals structuredClone at every step of the seed example, and shares nothing mutable', () => {
  const loaded = loadScenario(join(root, 'examples', 'xfd-err-leak.xsave'), nodeFiles, { policy: join(root, 'src', 'kernel', 'policies', 'linux-5.17.xsave') });
  const e = loaded.engine!;
  let sawSavedFlag = false;
  for (let i = 0; i < 2000 && !e.state.halted; i++) {
    e.step();
    if (i % 7 !== 0) continue;
    const fast = cloneState(e.state);
    assert.deepStrictEqual(fast, structuredClone(e.state), `step ${e.state.steps}`);
    sawSavedFlag ||= e.state.threads.some((t) => t.frames.some((f) => f.irqOffBefore !== undefined));
    // Independent: changing the copy leaves the original alone.
    const before = e.state.cpus[0]!.legacy[0];
    fast.cpus[0]!.legacy[0] = (before! + 1) & 0xff;
    fast.threads[0]!.frames[0]?.locals.push(1n);
    assert.equal(e.state.cpus[0]!.legacy[0], before);
  }
  assert.ok(sawSavedFlag, 'the run had a handler or hook frame with a saved interrupt flag');
});

test('a copy\'s register images and memory regions share one buffer each but no bytes: filling one changes no other, in the copy or the original', () => {
  const loaded = loadScenario(join(root, 'examples', 'xfd-err-leak.xsave'), nodeFiles, { policy: join(root, 'src', 'kernel', 'policies', 'linux-5.17.xsave') });
  const e = loaded.engine!;
  for (let i = 0; i < 600 && !e.state.halted; i++) e.step();
  const fast = cloneState(e.state);
  const copy = cloneState(fast); // a copy of a copy: views in, views out
  const c = copy.cpus[0]!;
  const images = [c.legacy, ...c.ext].filter((a): a is Uint8Array => a !== null);
  assert.ok(images.length > 2 && copy.mem.regions.length > 2, 'the CPU has several images and the machine several regions');
  for (const group of [images, copy.mem.regions.map((r) => r.bytes)]) {
    for (const [k, a] of group.entries()) {
      const others = group.filter((_, j) => j !== k).map((b) => b.slice());
      a.fill(0xa5);
      group.filter((_, j) => j !== k).forEach((b, j) => assert.deepEqual(b, others[j], `image ${k} spilled into another`));
    }
  }
  assert.deepStrictEqual(fast, structuredClone(e.state), 'the copies left the original and the first copy alone');
  assert.equal(c.ext[18]!.length, 8192, 'TILEDATA keeps its length');
});

test('a copy keeps each byte array on an 8-byte boundary of its shared buffer, and the state hash depends on the bytes alone: a 5-byte kmalloc region leaves the copies hashing as the original', () => {
  const loaded = loadScenario(join(root, 'examples', 'xfd-err-leak.xsave'), nodeFiles, { policy: join(root, 'src', 'kernel', 'policies', 'linux-5.17.xsave') });
  const e = loaded.engine!;
  for (let i = 0; i < 50; i++) e.step();
  allocate(e.state, 5, 'kmalloc odd');
  allocate(e.state, 64, 'kmalloc next');
  const copy = cloneState(e.state);
  const again = cloneState(copy);
  for (const s of [copy, again]) {
    const regions = s.mem.regions.map((r) => r.bytes);
    const images = [s.cpus[0]!.legacy, ...s.cpus[0]!.ext].filter((a): a is Uint8Array => a !== null);
    for (const group of [regions, images]) {
      assert.ok(group.every((a) => a.buffer === group[0]!.buffer), 'one buffer per group');
      assert.deepEqual(group.filter((a) => a.byteOffset % 8 !== 0).map((a) => a.byteOffset), []);
    }
  }
  assert.equal(arraysHash(copy), arraysHash(e.state));
  assert.equal(arraysHash(again), arraysHash(e.state));
  // The hash of an array that does not start on a word boundary equals that of the same bytes alone.
  const odd = new Uint8Array(13).subarray(1);
  odd.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const withBytes = (bytes: Uint8Array) => {
    const c = cloneState(e.state);
    const last = c.mem.regions.length - 1;
    return { ...c, mem: { regions: c.mem.regions.map((r, i) => (i === last ? { ...r, bytes } : r)) } };
  };
  const state = withBytes(odd);
  const alone = withBytes(odd.slice());
  assert.equal(arraysHash(state), arraysHash(alone));
});
