// Which statements the explorer places no event before (src/sim/explore/choice-points.ts): one that
// only computes with a frame's locals, or also returns from an ordinary call, commutes with every
// event; a system call's entry does not (an event before it is taken in user mode and returns
// through exit_to_user_mode(), Linux's arch/x86/entry and kernel/entry/common.c; one after it is
// taken in the kernel), nor does anything that reads or writes what other code sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOCAL, LOCAL_IF_PLAIN_RETURN, NONLOCAL, localStatements, sleepCandidates } from '../../src/sim/explore/choice-points';
import { load } from './support';

const SRC = `fn k(a) {
  let b = a + 1;
  current->pid = b;
  return b * 2;
}
host p {
  thread main {
    let x = 1;
    let y = k(x);
  }
}`;

test('localStatements: locals only, a plain return, a field write, a system call (choice-points.ts)', () => {
  const e = load(SRC);
  const table = localStatements(e.program);
  const fnIndex = (name: string) => e.program.functions.findIndex((f) => f.name === name);
  const k = table[fnIndex('k')]!;
  assert.deepEqual(k, [LOCAL, NONLOCAL, LOCAL_IF_PLAIN_RETURN], 'let b = a + 1; current->pid = b; return b * 2;');
  const main = table[fnIndex('p.main')]!;
  assert.deepEqual(main, [LOCAL, NONLOCAL], 'let x = 1; and the call into the kernel, a system call');
  const sleep = sleepCandidates(e.program)[fnIndex('k')]!;
  assert.deepEqual(sleep, [true, false, true], 'a field write is never a sleep-set candidate; user code never is');
  assert.deepEqual(sleepCandidates(e.program)[fnIndex('p.main')], [false, false]);
});
