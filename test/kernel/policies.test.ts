// The run-loop policies on the example scenarios, run as a user runs them: through xsave-sim run.
// Each result is exact: which assertion failed at which line, or clean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const cli = join(root, 'dist', 'cli.js');

function run(example: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [cli, 'run', join(root, 'examples', example), ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('xfd-err-leak under naive: the host #NM handler clears the guest\'s XFD_ERR, the guest reads 0 (spec kernel-kvm §6.1, §7a/b)', () => {
  const r = run('xfd-err-leak.xsave');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /xfd-err-leak\.xsave:16:5: assertion failed: guest lost its XFD_ERR \(qemu\.vcpu0, step \d+\)/);
  // The invariants say it earlier than the guest's assertion: the guest's bit reaches the host with
  // interrupts on, the guest resumes with XFD_ERR 0 where bare metal holds 0x40000, and its RDMSR
  // returns 0; naive's hand-written XFD also leaves the per-CPU cache stale.
  assert.match(r.stdout, /kvm\.xsave:\d+:\d+: invariant violated: host-sees-guest-xfd-err: interrupts are enabled with IA32_XFD_ERR = 0x40000, set by the guest at step \d+/);
  assert.match(r.stdout, /xfd-err-leak\.xsave:15:5: invariant violated: guest-state-matches-bare-metal: IA32_XFD_ERR is 0x0; bare metal holds 0x40000/);
  assert.match(r.stdout, /xfd-err-leak\.xsave:15:5: invariant violated: guest-observes-bare-metal: rdmsr returns 0x0 in the guest; bare metal returns 0x40000/);
  assert.match(r.stdout, /fpu\.xsave:\d+:\d+: invariant violated: xfd-cache-matches-msr: cpu0's xfd_state cache says 0x0 while IA32_XFD holds 0x40000/);
  assert.match(r.stdout, /^assertions: 0 held, 1 failed; invariants: host-sees-guest-xfd-err, xfd-cache-matches-msr, guest-state-matches-bare-metal, guest-observes-bare-metal violated$/m);
});

test('xfd-err-leak under linux-5.17: #NM intercepted, XFD_ERR saved before interrupts and restored before entry; clean (spec §4.7)', () => {
  const r = run('xfd-err-leak.xsave', '--policy', 'linux-5.17', '--trace');
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^assertions: 1 held, 0 failed; invariants: all held$/m);
  // The order that makes it work: the #NM exit, XFD_ERR cleared for the host, loaded back, injected.
  const lines = r.stdout.split('\n').map((l) => l.replace(/^\[\d+\] /, ''));
  const from = lines.findIndex((l) => l.startsWith('cpu0 VM exit: EXCEPTION_NMI intr-info 0x80000307'));
  assert.ok(from > 0);
  assert.deepEqual(lines.slice(from, from + 7).filter((l) => /XFD_ERR|inject|VM (entry|exit)/.test(l)), [
    'cpu0 VM exit: EXCEPTION_NMI intr-info 0x80000307 (#NM: TILELOADD uses XTILEDATA, disabled by IA32_XFD; IA32_XFD_ERR := 0x40000)',
    'cpu0 host XFD_ERR 0x40000 -> 0x0',
    'cpu0 host XFD_ERR 0x0 -> 0x40000',
    'cpu0 VM entry (vcpu 0)',
    'cpu0 inject vector 7 into the guest',
  ]);
});

test('xfd-err-leak under tglx-2021 and linux-6.19: clean (spec §6.1; §4.5b, §6.5)', () => {
  for (const policy of ['tglx-2021', 'linux-6.19']) {
    const r = run('xfd-err-leak.xsave', '--policy', policy);
    assert.equal(r.status, 0, `${policy}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^assertions: 1 held, 0 failed; invariants: all held$/m);
  }
});

test('a context switch asked for at a VM exit waits for KVM to enable interrupts and preemption (spec §4.7)', () => {
  const r = run('xfd-err-leak.xsave', '--policy', 'linux-5.17', '--trace');
  const lines = r.stdout.split('\n').map((l) => l.replace(/^\[\d+\] /, ''));
  const held = lines.indexOf('cpu0 event run other.main held: interrupts disabled');
  const xcr0 = lines.findIndex((l, k) => k > held && l.startsWith('cpu0 host XCR0 0x60007'));
  const ran = lines.indexOf('cpu0 event run other.main');
  assert.ok(held > 0 && xcr0 > held && ran > xcr0, 'the host XCR0 is back before the other task runs');
});
