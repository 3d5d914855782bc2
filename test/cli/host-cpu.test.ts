// `--cpu host` and `cpu "host";` from the command line: layout, run and explore on the machine's
// own CPUID, and exit status 2 with the reason when the cpuid driver cannot be read. Tests that
// need /dev/cpu/0/cpuid skip, with the reason, where it is not readable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostCpuError, readCpuid } from '../../src/host/cpu';
import { cpuModelFromCpuid, formatMask } from '../../src/model';

const root = join(__dirname, '..', '..', '..');
const cli = join(root, 'dist', 'cli.js');
const scenario = join(root, 'test', 'fixtures', 'host-cpu.xsave');
const dir = mkdtempSync(join(tmpdir(), 'xsave-host-cli-'));
const MISSING = "cannot read this machine's CPUID: /nonexistent/cpuid does not exist; load Linux's cpuid driver (sudo modprobe cpuid) and try again";

function sim(args: string[], device?: string) {
  const env = { ...process.env };
  if (device === undefined) delete env.XSAVE_SIM_CPUID_DEVICE; else env.XSAVE_SIM_CPUID_DEVICE = device;
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function unreadable(): string | null {
  try {
    readCpuid('/dev/cpu/0/cpuid');
    return null;
  } catch (e) {
    if (e instanceof HostCpuError) return e.message;
    throw e;
  }
}

test('layout --cpu host prints this machine\'s CPUID.(0DH,*) and the leaves as read', (t) => {
  const why = unreadable();
  if (why !== null) { t.skip(why); return; }
  const m = cpuModelFromCpuid(readCpuid('/dev/cpu/0/cpuid'));
  const r = sim(['layout', '--cpu', 'host']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^CPU host: .* \(from CPUID\): XCR0 may hold /);
  assert.ok(r.stdout.includes(`XCR0      ${formatMask(m.xcr0Supported)}\n`), r.stdout);
  const d0 = m.cpuid!.find((l) => l.leaf === 0xd && l.subleaf === 0)!;
  const h32 = (n: number) => '0x' + n.toString(16).padStart(8, '0');
  // (0DH,0) as the model computes it for XCR0 = everything supported: EAX and ECX are the machine's.
  assert.match(r.stdout, new RegExp(`^  0x00  ${h32(d0.eax)}  0x[0-9a-f]{8}  ${h32(d0.ecx)}  ${h32(d0.edx)}`, 'm'));
  assert.match(r.stdout, /^CPUID as read from this machine \(\d+ leaves read; the \d+ all-zero ones left out\)$/m);
  assert.match(r.stdout, new RegExp(`^  \\(EAX=0DH,ECX=0\\)\\s+${h32(d0.eax)}  ${h32(d0.ebx)}  ${h32(d0.ecx)}  ${h32(d0.edx)}$`, 'm'));
});

test('--cpu host without a readable cpuid driver: exit 2 with the reason, for layout, run and explore', (t) => {
  if (process.platform !== 'linux') { t.skip(`the cpuid driver is Linux's; this is ${process.platform}`); return; }
  const l = sim(['layout', '--cpu', 'host'], '/nonexistent/cpuid');
  assert.deepEqual([l.status, l.stdout, l.stderr], [2, '', `xsave-sim: --cpu host: ${MISSING}\n`]);
  const r = sim(['run', scenario, '--cpu', 'host'], '/nonexistent/cpuid');
  assert.deepEqual([r.status, r.stdout, r.stderr], [2, '', `xsave-sim: --cpu host: ${MISSING}\n`]);
  const e = sim(['explore', scenario, '--cpu', 'host'], '/nonexistent/cpuid');
  assert.deepEqual([e.status, e.stdout, e.stderr], [2, '', `xsave-sim: --cpu host: ${MISSING}\n`]);
});

test('cpu "host"; without a readable cpuid driver: a diagnostic at the "host" string (run and explore)', (t) => {
  if (process.platform !== 'linux') { t.skip(`the cpuid driver is Linux's; this is ${process.platform}`); return; }
  const f = join(dir, 'host.xsave');
  writeFileSync(f, '// the machine\'s CPU\ncpu "host";\n');
  const r = sim(['run', f], '/nonexistent/cpuid');
  assert.deepEqual([r.status, r.stderr], [2, `${f}:2:5: error: ${MISSING}\n`]);
  const e = sim(['explore', f], '/nonexistent/cpuid');
  assert.deepEqual([e.status, e.stderr], [2, `${f}:2:5: error: ${MISSING}\n`]);
  // Another model named on the command line does not need the machine.
  const ok = sim(['run', f, '--cpu', 'haswell'], '/nonexistent/cpuid');
  assert.equal(ok.status, 0, ok.stderr);
});

test('run and explore a cpu "host" scenario; explorer workers get the leaves as data (--workers 2)', (t) => {
  const why = unreadable();
  if (why !== null) { t.skip(why); return; }
  const r = sim(['run', scenario]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^assertions: 2 held, 0 failed; invariants: all held$/m);
  const e = sim(['explore', scenario, '--workers', '2', '--max-preemptions', '0', '--max-fpu-irqs', '0']);
  assert.equal(e.status, 0, e.stdout + e.stderr);
  assert.match(e.stdout, /on 2 threads/);
  assert.match(e.stdout, /^no invariant broke within the bounds$/m);
  const o = sim(['explore', scenario, '--cpu', 'host', '--workers', '2', '--max-preemptions', '0', '--max-fpu-irqs', '0']);
  assert.equal(o.status, 0, o.stdout + o.stderr);
});
