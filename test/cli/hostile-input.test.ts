// Hostile scenarios and command lines (README "Limits"): nesting past the parser's limit, huge
// names and literals, prototype names, runaway allocation, unbounded explore bounds and internal
// errors all end in one-line errors with exact positions and exit statuses 2 or 3, never a stack
// trace or a hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const cli = join(root, 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'xsave-hostile-'));
const NEST = 'nesting deeper than 256 levels (parentheses, calls, operators, blocks): split it up';

function sim(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function run(name: string, src: string, ...args: string[]) {
  const f = join(dir, name);
  writeFileSync(f, src);
  return { ...sim(['run', f, ...args]), file: f };
}

const firstLine = (s: string) => s.split('\n')[0];

test('nesting past 256 levels is an error at the token that goes deeper, for every construct', () => {
  const cases: Array<[string, string, string]> = [
    ['parens', `const D = ${'('.repeat(1000)}1${')'.repeat(1000)};\n`, '1:267'],
    ['calls', `fn f(x) { return x; }\nfn g() { let y = ${'f('.repeat(1000)}1${')'.repeat(1000)}; }\n`, '2:273'],
    ['unary', `const D = ${'-'.repeat(10000)}1;\n`, '1:266'],
    ['plus', `const D = ${Array.from({ length: 10000 }, () => '1').join(' + ')};\n`, '1:1033'],
    ['ifs', `fn g() { ${'if (1) { '.repeat(3000)}${'} '.repeat(3000)}}\n`, '1:2309'],
    ['elseif', `fn g() { if (0) { } ${'else if (0) { } '.repeat(3000)}}\n`, '1:4094'],
    ['fields', `fn g() { let y = current${'->thread'.repeat(100000)}; }\n`, '1:2057'],
    ['index', `fn g() { let y = current${'[1]'.repeat(100000)}; }\n`, '1:785'],
    ['ternary', `const D = 1${' ? 1 : 1'.repeat(3000)};\n`, '1:2055'],
  ];
  for (const [name, src, at] of cases) {
    const r = run(`${name}.xsave`, src);
    assert.equal(r.status, 2, name);
    assert.equal(firstLine(r.stderr), `${r.file}:${at}: error: ${NEST}`, name);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  const ok = run('deep-ok.xsave', `const D = ${'('.repeat(250)}1${')'.repeat(250)};\n`);
  assert.equal(ok.status, 0, ok.stderr);
});

test('a chain of 3000 constants is an error at the constant 256 levels down', () => {
  const src = Array.from({ length: 3000 }, (_, i) => `const C${i} = C${i + 1} + 1;`).join('\n') + '\nconst C3000 = 1;\n';
  const r = run('consts.xsave', src);
  assert.equal(r.status, 2);
  assert.equal(firstLine(r.stderr), `${r.file}:257:7: error: constant 'C256' is defined through more than 256 other constants`);
});

test('names, literals and garbage of half a megabyte: one error each, at most 100 errors per file', () => {
  const name = run('name.xsave', `const ${'N'.repeat(500_000)} = 1;\n`);
  assert.equal(name.stderr, `${name.file}:1:7: error: a name of 500000 characters: names have at most 255\n`);
  const lit = run('literal.xsave', `const X = ${'9'.repeat(500_000)};\n`);
  assert.equal(lit.stderr, `${lit.file}:1:11: error: an integer literal of 500000 characters does not fit in 64 bits\n`);
  const junk = run('junk.xsave', '#'.repeat(500_000));
  const lines = junk.stderr.trimEnd().split('\n');
  assert.equal(junk.status, 2);
  assert.equal(lines.length, 101);
  assert.equal(lines[100], `${junk.file}:1:101: error: too many errors (100); the rest of the file is not checked`);
});

test('a scenario file over 1 MB is refused by name', () => {
  const r = run('big.xsave', `// ${'x'.repeat((1 << 20) + 10)}\n`);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `${r.file}:1:1: error: cannot read '${r.file}': larger than 1 MB\n`);
});

test('prototype names are unknown CPU models, on the command line and in the cpu line', () => {
  for (const cpu of ['__proto__', 'constructor', 'toString']) {
    const r = run('ok.xsave', 'host p { thread main { } }\n', '--cpu', cpu);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `xsave-sim: --cpu: unknown CPU model '${cpu}' (known: sapphire-rapids, icelake-server, haswell, host)\n`);
    const l = sim(['layout', '--cpu', cpu]);
    assert.equal(l.status, 2);
    const line = run(`cpu-${cpu}.xsave`, `cpu "${cpu}";\nhost p { thread main { } }\n`);
    assert.equal(line.status, 2);
    assert.equal(line.stderr, `${line.file}:1:5: error: unknown CPU model '${cpu}' (known: sapphire-rapids, icelake-server, haswell, host)\n`);
    const ex = sim(['explore', line.file, '--workers', '0']);
    assert.equal(ex.status, 2);
    assert.equal(ex.stderr, line.stderr);
  }
  const inv = sim(['explore', join(dir, 'ok.xsave'), '--invariant', '__proto__']);
  assert.equal(inv.status, 2);
  assert.match(inv.stderr, /^xsave-sim: --invariant: unknown invariant '__proto__'/);
});

test('allocation is bounded: a loop of 1 MiB buffers ends with an error at the allocation, not a slowdown', () => {
  const r = run('alloc.xsave', 'host hog {\n  thread main {\n    while (1) { user_buffer_alloc(1 << 20); }\n  }\n}\n');
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `${r.file}:3:17: error: out of machine memory: a scenario may allocate 16 MiB in 1024 regions (user buffer 16)\n`);
});

test('an allocation counts against the step budget: one step per 64 KiB', () => {
  // Each turn: the while, the allocation and 16 steps for its 1 MiB; 100 steps end in the sixth turn.
  const r = run('alloc-budget.xsave', 'host hog {\n  thread main {\n    while (1) { user_buffer_alloc(1 << 20); }\n  }\n}\n', '--max-steps', '100');
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `${r.file}:3:5: error: the step budget of 100 ran out here (a loop that does not end?)\n`);
});

test('run-time errors are file:line:col: error: message', () => {
  const r = run('null.xsave', 'fn f() { v = vcpu_alloc(); x = v->arch->xcr0; }\nhost p { thread main { f(); } }\n');
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `${r.file}:1:28: error: NULL dereference reading 'xcr0'\n`);
});

test('explore bounds have maxima: --max-interrupts 1000000000 is bad usage', () => {
  const r = sim(['explore', join(dir, 'ok.xsave'), '--max-interrupts', '1000000000']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, "xsave-sim: --max-interrupts: '1000000000' is not a number from 0 to 8\n");
});

test('an internal error exits 3 with one line and a request to report it; --debug adds the stack', () => {
  const env = { XSAVE_SIM_TEST_INTERNAL_ERROR: '1' };
  const r = sim(['layout'], env);
  assert.equal(r.status, 3);
  assert.equal(r.stderr, 'xsave-sim: internal error: TypeError: a test of the internal-error path\n' +
    'xsave-sim: this is a defect of xsave-sim; please report it with the command line (--debug prints the stack)\n');
  const d = sim(['layout', '--debug'], env);
  assert.equal(d.status, 3);
  assert.match(d.stderr, /^xsave-sim: internal error: TypeError: a test of the internal-error path\nTypeError: a test of the internal-error path\n\s+at /);
});
