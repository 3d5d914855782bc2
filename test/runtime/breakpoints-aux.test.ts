// What a time-travel checkpoint keeps of the breakpoints (Breakpoints.saveAux/loadAux): hit counts
// and each data breakpoint's last value as it was at the checkpoint, so that steps replayed from it
// decide as the run did, and a stop restored to itself (History.atStop) loses no pending change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Breakpoints } from '../../src/runtime/breakpoints';
import type { Engine } from '../../src/sim/engine';

/** Just what check() reads of an engine when nothing but a data breakpoint can decide: one thread with no frames. */
const engine = { state: { lastThread: 0, threads: [{ frames: [], pendingFault: null }] } } as unknown as Engine;

test('a data breakpoint\'s change that no step reported yet survives a save and load of the bookkeeping: the next check reports it, old value to new', () => {
  const bps = new Breakpoints();
  let xfdErr = '0x0';
  const [state] = bps.setData([{ dataId: 'cpu0.IA32_XFD_ERR', read: () => xfdErr }]);
  assert.equal(state!.verified, true);
  const saved = bps.saveAux();
  // The value changes in a step whose stop another reason took first (check() returns before the
  // data breakpoints); then the stop's own state is restored with the bookkeeping saved before.
  xfdErr = '0x40000';
  bps.loadAux(saved);
  const d = bps.check(engine, [], () => ({}) as never, () => {});
  assert.equal(d?.reason, 'data breakpoint');
  assert.equal(d?.text, 'cpu0.IA32_XFD_ERR: 0x0 -> 0x40000');
  // A data breakpoint set after the checkpoint compares with the value now.
  bps.setData([{ dataId: 'cpu0.IA32_XFD', read: () => '0x40000' }]);
  bps.loadAux(saved);
  assert.equal(bps.check(engine, [], () => ({}) as never, () => {}), null);
});
