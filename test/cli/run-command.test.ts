// `xsave-sim run`: exit statuses 0 (clean), 1 (an assertion failed), 2 (scenario errors printed as
// file:line:col: message, or a runaway loop), and the trace format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = join(__dirname, '..', '..', '..', 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'xsave-run-'));

function run(name: string, src: string, ...args: string[]) {
  const f = join(dir, name);
  writeFileSync(f, src);
  const r = spawnSync(process.execPath, [cli, 'run', f, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, file: f };
}

// Bundled into out/test/cli/: the repository root is three levels up.
const HOST_NM = readFileSync(join(__dirname, '..', '..', '..', 'test', 'fixtures', 'host-first-amx-use.xsave'), 'utf8');

test('run: a clean scenario exits 0 and --trace prints each hardware event with its step', () => {
  const r = run('ok.xsave', HOST_NM, '--trace');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\[\d+\] cpu0 host XFD_ERR 0x0 -> 0x40000$/m);
  assert.match(r.stdout, /^\[\d+\] cpu0 host user #NM: TILELOADD uses XTILEDATA, disabled by IA32_XFD; IA32_XFD_ERR := 0x40000$/m);
  assert.match(r.stdout, /^assertions: 1 held, 0 failed; invariants: all held$/m);
  assert.match(r.stdout, /^end: every thread has finished after \d+ steps$/m);
});

test('run: a failed assertion exits 1 and names file:line:col', () => {
  const r = run('fail.xsave', HOST_NM.replace('assert(xgetbv(1)', 'assert(!xgetbv(1)'));
  assert.equal(r.status, 1);
  assert.match(r.stdout, new RegExp(`^${r.file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:16:5: assertion failed: tiles in use \\(app\\.main, step \\d+\\)$`, 'm'));
});

test('run: scenario errors exit 2 with every error as file:line:col: error: message', () => {
  const r = run('bad.xsave', 'fn f() {\n  x = rdmsr(MSR_IA32_XDF);\n  y = ;\n}\n');
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `${r.file}:3:7: error: expected an expression, found ';'\n`);
  const r2 = run('bad2.xsave', 'fn f() {\n  x = rdmsr(MSR_IA32_XDF);\n}\n');
  assert.equal(r2.stderr, `${r2.file}:2:13: error: unknown name 'MSR_IA32_XDF' (did you mean 'MSR_IA32_XFD'?)\n`);
  const r3 = run('cpu.xsave', 'cpu "pentium";\n');
  assert.equal(r3.status, 2);
  // At the model's string, not the start of the line.
  assert.match(r3.stderr, /cpu\.xsave:1:5: error: unknown CPU model 'pentium' \(known: sapphire-rapids, icelake-server, haswell, host\)/);
  // Names of Object.prototype members are unknown models too, not a crash deeper in.
  const proto = run('proto.xsave', 'cpu "toString";\n');
  assert.deepEqual([proto.status, proto.stderr], [2, `${proto.file}:1:5: error: unknown CPU model 'toString' (known: sapphire-rapids, icelake-server, haswell, host)\n`]);
  const r4 = run('pol.xsave', 'policy "nope";\n');
  assert.equal(r4.status, 2);
  assert.match(r4.stderr, /pol\.xsave:1:1: error: unknown policy 'nope'/);
});

test('run: a runaway loop stops at --max-steps, exit 2, naming the loop\'s line', () => {
  const r = run('loop.xsave', 'host p {\n  thread main {\n    while (1) {\n      x = 1;\n    }\n  }\n}\n', '--max-steps', '1000');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /loop\.xsave:[34]:\d+: error: the step budget of 1000 ran out here/);
});

test('run: bad usage exits 2', () => {
  const r = spawnSync(process.execPath, [cli, 'run'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /run takes exactly one scenario file/);
  const r2 = spawnSync(process.execPath, [cli, 'run', 'x.xsave', '--max-steps', 'lots'], { encoding: 'utf8' });
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /--max-steps: 'lots' is not a number from 1 to 1000000000/);
});
