// `xsave-sim layout`: the report's numbers, refusal of values the CPU would refuse, and the exit
// statuses of the built CLI (0 success, 2 bad usage).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { layoutCommand } from '../../src/cli/layout-command';
import { UsageError, parseMask } from '../../src/cli/args';

// Bundled into out/test/cli/, so the repository root is three levels up.
const cli = join(__dirname, '..', '..', '..', 'dist', 'cli.js');

test('layout on the default CPU prints the real SPR CPUID.(0DH,0/1) words and the dmesg offsets (spec §1.2, §1.4)', () => {
  const out = layoutCommand([]);
  assert.match(out, /^CPU sapphire-rapids:/);
  assert.match(out, /0x00  0x000602e7  0x00002b00  0x00002b00  0x00000000/);
  // XSS defaults to 0, so EBX of sub-leaf 1 is the 10752-byte kernel context size.
  assert.match(out, /0x01  0x0000001f  0x00002a00  0x0000dd00  0x00000000/);
  assert.match(out, /XTILECFG\s+2496\s+64\s+64/);
  assert.match(out, /XTILEDATA\s+2560\s+8192\s+64/);
  assert.match(out, /for XCR0\|XSS 0x602e7 .*: 10752 bytes, XCOMP_BV 0x80000000000602e7/);
  assert.match(out, /XTILEDATA\s+2816\s+8192\s+2816-11007/);
});

test('layout --xss 0x8400 moves TILECFG to 3264 and gives the dump\'s 0x2D00 (spec §1.2)', () => {
  const out = layoutCommand(['--xss', '0x8400']);
  assert.match(out, /0x01  0x0000001f  0x00002d00/);
  assert.match(out, /XTILECFG\s+3264\s+64\s+64/);
  assert.match(out, /LBR\s+2448\s+808\s+-\s+supervisor/);
});

test('layout refuses an XCR0 XSETBV would #GP on, with the reason (spec §2.1)', () => {
  assert.throws(() => layoutCommand(['--xcr0', '0x20007']), (e: unknown) =>
    e instanceof UsageError && /XSETBV would raise #GP on sapphire-rapids: it enables only one of XTILECFG and XTILEDATA/.test(e.message));
  assert.throws(() => layoutCommand(['--cpu', 'icelake-server', '--xcr0', '0x602e7']), /does not enumerate/);
  assert.throws(() => layoutCommand(['--xss', '0x1']), /does not support 0x1 \[x87\] in IA32_XSS/);
  assert.throws(() => layoutCommand(['--cpu', 'pentium']), /unknown CPU model 'pentium'/);
  for (const name of ['__proto__', 'constructor', 'toString']) {
    assert.throws(() => layoutCommand(['--cpu', name]), (e: unknown) => e instanceof UsageError &&
      e.message === `--cpu: unknown CPU model '${name}' (known: sapphire-rapids, icelake-server, haswell, host)`);
  }
  assert.throws(() => layoutCommand(['--bogus']), /unknown option --bogus/);
});

test('masks parse exactly to 64 bits, bit 63 included', () => {
  assert.equal(parseMask('x', '0x8000000000000001'), 0x8000000000000001n);
  assert.equal(parseMask('x', '0b1_0000_0000'), 256n);
  assert.equal(parseMask('x', '18446744073709551615'), (1n << 64n) - 1n);
  assert.throws(() => parseMask('x', '0x10000000000000000'), /does not fit in 64 bits/);
  assert.throws(() => parseMask('x', 'AMX'), /not a number/);
});

test('the built CLI exits 0 on success and 2 with a message on stderr for bad input', () => {
  const okRun = spawnSync(process.execPath, [cli, 'layout', '--cpu', 'haswell'], { encoding: 'utf8' });
  assert.equal(okRun.status, 0);
  assert.match(okRun.stdout, /XSAVE size for XCR0 832/);
  const bad = spawnSync(process.execPath, [cli, 'layout', '--xcr0', '0x5'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^xsave-sim: --xcr0 0x5 \[x87 YMM\]: XSETBV would raise #GP on sapphire-rapids: it enables AVX state without SSE/);
  const unknown = spawnSync(process.execPath, [cli, 'frobnicate'], { encoding: 'utf8' });
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
});

test('layout on haswell: XSAVEOPT only, 832-byte standard area, no compacted format (CPUID.(0DH,1).EAX = 1)', () => {
  const out = layoutCommand(['--cpu', 'haswell']);
  assert.match(out, /0x00  0x00000007  0x00000340  0x00000340  0x00000000/);
  assert.match(out, /0x01  0x00000001  0x00000000  0x00000000  0x00000000  XSAVEOPT; no XSAVES, no IA32_XSS/);
  assert.match(out, /Compacted format: not supported on haswell/);
});
