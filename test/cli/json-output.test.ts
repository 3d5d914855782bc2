// `--json` on run and explore: the same result as the text report, as one JSON object a script can
// read; the exit status is unchanged (1 for a violation or a failed assertion).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const cli = join(root, 'dist', 'cli.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

test('run --json: the failed assertion and the invariants with their places, exit 1', () => {
  const r = run('run', join(root, 'examples', 'xfd-err-leak.xsave'), '--json');
  assert.equal(r.status, 1);
  const j = JSON.parse(r.stdout);
  assert.equal(j.status, 1);
  assert.equal(j.end, 'every thread has finished');
  assert.deepEqual(j.assertions.failed.map((f: { line: number; message: string }) => `${f.line}: ${f.message}`), ['16: guest lost its XFD_ERR']);
  assert.deepEqual(j.violations.map((v: { invariant: string }) => v.invariant).sort(),
    ['guest-observes-bare-metal', 'guest-state-matches-bare-metal', 'host-sees-guest-xfd-err', 'xfd-cache-matches-msr']);
  assert.equal(j.trace, undefined);
  const clean = JSON.parse(run('run', join(root, 'examples', 'xfd-err-leak.xsave'), '--policy', 'linux-5.17', '--json', '--trace').stdout);
  assert.deepEqual([clean.status, clean.violations, clean.assertions.failed], [0, [], []]);
  assert.ok(clean.trace.some((t: { kind: string }) => t.kind === 'vmexit'));
});

test('explore --json: counts, bounds hit and the counterexample with its file and placements', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xsave-json-'));
  const file = join(dir, 'leak.xsave');
  copyFileSync(join(root, 'test', 'fixtures', 'xfd-err-leak-no-events.xsave'), file);
  const r = run('explore', file, '--policy', 'naive', '--max-preemptions', '0', '--max-fpu-irqs', '0', '--json');
  assert.equal(r.status, 1);
  const j = JSON.parse(r.stdout);
  assert.equal(j.status, 'violation');
  assert.equal(j.counterexample.invariant, 'host-sees-guest-xfd-err');
  assert.equal(j.counterexample.file, join(dir, 'leak.counterexample.xsave'));
  assert.ok(existsSync(j.counterexample.file));
  assert.deepEqual(j.counterexample.placements.map((p: { kind: string }) => p.kind), ['external_interrupt']);
  assert.deepEqual(Object.keys(j.boundsHit), ['interrupts', 'preemptions', 'fpuIrqs', 'steps', 'memory']);
});
