// `xsave-sim explore`: exit statuses 0 (nothing broke within the bounds), 1 (a counterexample
// written, by default next to the input as NAME.counterexample.xsave), 2 (bad usage, or a scenario
// with errors printed as file:line:col: error: message); the summary names the bounds that were hit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const cli = join(root, 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'xsave-explore-cli-'));
const SMALL = ['--max-preemptions', '0', '--max-fpu-irqs', '0', '--invariant', 'host-sees-guest-xfd-err'];

function explore(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, 'explore', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('explore: a violation exits 1 and writes NAME.counterexample.xsave next to the input, which run reproduces', () => {
  const f = join(dir, 'leak.xsave');
  copyFileSync(join(root, 'test', 'fixtures', 'xfd-err-leak-no-events.xsave'), f);
  const r = explore(f, '--policy', 'naive', ...SMALL);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^explored [\d,]+ states \([\d,]+ distinct\) in [\d.]+ s on \d threads?/m);
  assert.match(r.stdout, /^bounds hit: --max-interrupts \(a larger bound may find more\)$/m);
  assert.match(r.stdout, /kvm\.xsave:204:3: invariant violated: host-sees-guest-xfd-err: .* \(step 2484\)$/m);
  const out = join(dir, 'leak.counterexample.xsave');
  assert.ok(existsSync(out));
  const run = spawnSync(process.execPath, [cli, 'run', out], { encoding: 'utf8' });
  assert.equal(run.status, 1, run.stdout + run.stderr);
  assert.match(run.stdout, /invariant violated: host-sees-guest-xfd-err: .*step 2484;/);
});

test('explore: nothing broken within the bounds exits 0; --out names the file', () => {
  const out = join(dir, 'none.xsave');
  const r = explore(join(root, 'test', 'fixtures', 'xfd-err-leak-no-events.xsave'), '--policy', 'linux-5.17', ...SMALL, '--out', out, '--workers', '0');
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^no invariant broke within the bounds$/m);
  assert.ok(!existsSync(out));
});

test('explore: a scenario with errors exits 2 with file:line:col diagnostics; bad options exit 2', () => {
  const bad = join(dir, 'bad.xsave');
  writeFileSync(bad, 'guest {\n  fn main() { x = ; }\n}\n');
  const r = explore(bad);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bad\.xsave:2:19: error: expected an expression, found ';'/);
  assert.equal(explore(bad, '--max-steps', '0').status, 2);
  assert.match(explore(bad, '--invariant', 'nope').stderr, /unknown invariant 'nope'/);
  assert.equal(explore().status, 2);
});

test('explore --first: stops at the first counterexample found, prints and writes it, exits 1; run reproduces it', () => {
  const out = join(dir, 'first.counterexample.xsave');
  const r = explore(join(root, 'examples', 'xfd-err-leak.xsave'), '--first', '--out', out);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^explored [\d,]+ states \([\d,]+ distinct\) in [\d.]+ s on 1 thread/m);
  assert.match(r.stdout, /^stopped at the first counterexample found \(--first\): a shorter one may exist$/m);
  const m = /invariant violated: ([a-z-]+): .* \(step (\d+)\)$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.match(r.stdout, /^counterexample written to .*first\.counterexample\.xsave$/m);
  const run = spawnSync(process.execPath, [cli, 'run', out], { encoding: 'utf8' });
  assert.equal(run.status, 1, run.stdout + run.stderr);
  assert.match(run.stdout, new RegExp(`invariant violated: ${m[1]}: .*step ${m[2]};`));
  // The full search explores more and reports a counterexample no longer than the first.
  const full = explore(join(root, 'examples', 'xfd-err-leak.xsave'), '--out', join(dir, 'full.counterexample.xsave'), '--workers', '0');
  assert.equal(full.status, 1, full.stdout + full.stderr);
  const states = (s: string) => Number(/^explored ([\d,]+) states/m.exec(s)![1]!.replace(/,/g, ''));
  assert.ok(states(r.stdout) < states(full.stdout));
  assert.ok(Number(/\(step (\d+)\)$/m.exec(full.stdout)![1]) <= Number(m[2]));
});

test('explore --no-reduction: the same verdict and counterexample, no fewer states', () => {
  const f = join(root, 'test', 'fixtures', 'xfd-err-leak-no-events.xsave');
  const a = explore(f, '--policy', 'naive', ...SMALL, '--workers', '0', '--out', join(dir, 'red.xsave'));
  const b = explore(f, '--policy', 'naive', ...SMALL, '--workers', '0', '--no-reduction', '--out', join(dir, 'nored.xsave'));
  assert.equal(a.status, 1);
  assert.equal(b.status, 1);
  const tail = (s: string) => s.split('\n').slice(2).join('\n').replace(/(no)?red\.xsave/, 'X');
  assert.equal(tail(a.stdout), tail(b.stdout));
  assert.equal(readFileSync(join(dir, 'red.xsave'), 'utf8'), readFileSync(join(dir, 'nored.xsave'), 'utf8'));
});
