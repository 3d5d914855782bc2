// The host CPU model read from this machine (src/host/cpu.ts): Linux's cpuid driver at
// /dev/cpu/0/cpuid, 16 bytes at position (subleaf << 32) | leaf. The errors for a missing or
// unreadable device say what to do; a readable one gives a model whose XCR0 bits agree with what
// /proc/cpuinfo says the CPU has. Tests that need the device skip, with the reason, without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CPUID_DEVICE_ENV, DEFAULT_CPUID_DEVICE, HostCpuError, hostCpuDiagnostic, hostCpuModel, hostCpuProblem, readCpuid } from '../../src/host/cpu';
import { compileScenario } from '../../src/sim/scenario';
import { cpuModel } from '../../src/model';

const dir = mkdtempSync(join(tmpdir(), 'xsave-host-cpu-'));

/** Why the machine's CPUID cannot be read here, or null when it can. */
function unreadable(): string | null {
  try {
    readCpuid(DEFAULT_CPUID_DEVICE);
    return null;
  } catch (e) {
    if (e instanceof HostCpuError) return e.message;
    throw e;
  }
}

// These run first: hostCpuModel() keeps the model once it has read one.
test('a missing device: the error names it and says to load the cpuid driver', (t) => {
  if (process.platform !== 'linux') { t.skip(`the cpuid driver is Linux's; this is ${process.platform}`); return; }
  assert.throws(() => readCpuid('/nonexistent/cpuid'), (e: unknown) => e instanceof HostCpuError &&
    e.message === "cannot read this machine's CPUID: /nonexistent/cpuid does not exist; load Linux's cpuid driver (sudo modprobe cpuid) and try again");
});

test('a file that is not the cpuid driver: the short read is named with its leaf', (t) => {
  if (process.platform !== 'linux') { t.skip(`the cpuid driver is Linux's; this is ${process.platform}`); return; }
  const f = join(dir, 'not-a-device');
  writeFileSync(f, 'x'); // leaf 0 is at position 0: one byte there
  assert.throws(() => readCpuid(f), (e: unknown) => e instanceof HostCpuError &&
    e.message === `cannot read this machine's CPUID: CPUID.(EAX=00H,ECX=0) from ${f}: 1 bytes instead of 16 (is it the cpuid driver?)`);
});

test('a scenario\'s cpu "host" line that cannot be read is a diagnostic at the "host" string; an override is a message', (t) => {
  if (process.platform !== 'linux') { t.skip(`the cpuid driver is Linux's; this is ${process.platform}`); return; }
  const saved = process.env[CPUID_DEVICE_ENV];
  process.env[CPUID_DEVICE_ENV] = '/nonexistent/cpuid';
  const program = (text: string) => {
    const r = compileScenario('/s.xsave', { read: (p) => (p === '/s.xsave' ? text : null), resolve: (_f, rel) => rel });
    assert.deepEqual(r.diagnostics, []);
    return r.program!;
  };
  try {
    const d = hostCpuDiagnostic(program('// a comment\n  cpu "host";\n'));
    assert.deepEqual(d && { file: d.file, line: d.range.start.line, column: d.range.start.column, endColumn: d.range.end.column, message: d.message }, {
      file: '/s.xsave', line: 2, column: 7, endColumn: 13,
      message: "cannot read this machine's CPUID: /nonexistent/cpuid does not exist; load Linux's cpuid driver (sudo modprobe cpuid) and try again",
    });
    assert.equal(hostCpuDiagnostic(program('cpu "haswell";\n')), null);
    assert.equal(hostCpuProblem(), d!.message);
    assert.throws(() => hostCpuModel(), HostCpuError);
  } finally {
    if (saved === undefined) delete process.env[CPUID_DEVICE_ENV]; else process.env[CPUID_DEVICE_ENV] = saved;
  }
});

test('this machine: the host model\'s XCR0 bits agree with /proc/cpuinfo for x87, SSE, AVX and AVX-512; PKU, AMX and VMX flags imply the model has them', (t) => {
  const why = unreadable();
  if (why !== null) { t.skip(why); return; }
  const leaves = readCpuid();
  // Leaves above CPUID.0.EAX are not kept (an Intel CPU would repeat its highest leaf's data).
  const maxBasic = leaves.find((l) => l.leaf === 0)!.eax;
  assert.ok(leaves.every((l) => l.leaf >= 0x80000000 || l.leaf <= maxBasic));
  const m = hostCpuModel();
  assert.equal(m.name, 'host');
  assert.equal(cpuModel('host'), m);
  assert.deepEqual(m.cpuid, leaves);
  const flags = new Set(/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))![1]!.trim().split(/\s+/));
  const has = (bit: number) => (m.xcr0Supported >> BigInt(bit)) & 1n ? true : false;
  assert.equal(has(0), flags.has('fpu'), 'x87');
  assert.equal(has(1), flags.has('sse'), 'SSE');
  assert.equal(has(2), flags.has('avx'), 'YMM');
  for (const b of [5, 6, 7]) assert.equal(has(b), flags.has('avx512f'), `AVX-512 component ${b}`);
  // Linux clears flags it does not use (nopku, VMX locked off by the firmware, AMX without XFD) but
  // never sets one the CPU lacks: for these, a flag implies the model has the feature.
  if (flags.has('pku')) assert.ok(has(9) && m.pku, 'PKRU');
  if (flags.has('amx_tile')) assert.ok(has(17) && has(18) && m.amx !== null, 'XTILECFG/XTILEDATA, AMX palette 1');
  if (flags.has('vmx')) assert.ok(m.vmx, 'VMX');
  assert.equal(m.xsave, flags.has('xsave'));
  // (0DH,0).ECX is the standard size of everything XCR0 may hold; the model computes the same.
  const d0 = leaves.find((l) => l.leaf === 0xd && l.subleaf === 0)!;
  assert.equal(Math.max(576, ...[...m.components.values()].filter((c) => !c.supervisor).map((c) => c.offset + c.size)), d0.ecx);
});
