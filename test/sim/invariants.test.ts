// Each invariant, broken on purpose by a small buggy kernel, is reported once with its name, the
// statement and the step (src/sim/invariants.ts; DESIGN §6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Engine } from '../../src/sim/engine';
import { guestStateDifference } from '../../src/sim/invariants';
import { createCpu, MSR_IA32_XFD_ERR, wrmsr, xsetbv } from '../../src/model';
import { BOOT, load } from './support';

function violations(e: Engine): string[] {
  e.run(() => false, 100000);
  return e.state.violations.map((v) => `${v.name} @ ${v.where.replace(/^\/t\.xsave:/, '')}: ${v.text}`);
}


test('no-kernel-xfd-nm: an XFD #NM raised in host kernel mode', () => {
  const e = load(`${BOOT}
fn exc_device_not_available() { wrmsr(MSR_IA32_XFD_ERR, 0); wrmsr(MSR_IA32_XFD, 0); }
fn kernel_amx() {
  ldtilecfg(palette: 1);
  tilezero(tmm0);
}
host p { thread main { kernel_amx(); } }`);
  assert.deepEqual(violations(e), ['no-kernel-xfd-nm @ 5:3: #NM: TILEZERO uses XTILEDATA, disabled by IA32_XFD; IA32_XFD_ERR := 0x40000']);
});

test('user-xfd-matches-fpstate: a task runs in user mode with an XFD its fpstate does not say', () => {
  const e = load(`${BOOT}
fn fpu_clone(task) {
  fps = fpstate_alloc(0x60003);
  fps->xfd = 0x40000;
  task->thread.fpu->fpstate = fps;
}
fn sneaky() { wrmsr(MSR_IA32_XFD, 0); }
host p { thread main { x = 1; sneaky(); y = 2; } }`);
  assert.deepEqual(violations(e), ['user-xfd-matches-fpstate @ 8:41: p.main runs in user mode with IA32_XFD = 0x0; its fpstate->xfd is 0x40000']);
});

test('xfd-cache-matches-msr: the kernel reads its per-CPU cache after a write behind its back', () => {
  const e = load(`${BOOT}
fn behind_its_back() { wrmsr(MSR_IA32_XFD, 0); }
fn reads_cache() { x = this_cpu->xfd_state; }
host p { thread main { behind_its_back(); reads_cache(); } }`);
  assert.deepEqual(violations(e), ["xfd-cache-matches-msr @ 3:20: cpu0's xfd_state cache says 0x40000 while IA32_XFD holds 0x0"]);
});

test('xsave-within-buffer: XSAVES of the full feature set into a default-sized buffer', () => {
  const e = load(`fn start_kernel() { cr4_set_osxsave(); xsetbv(0, 0x60007); }
fn small_buffer() {
  fps = fpstate_alloc(0x20003);
  ldtilecfg(palette: 1);
  tileloadd(tmm0);
  xsaves(fps->regs, 0x60003);
}
host p { thread main { small_buffer(); } }`);
  e.run(() => false, 1000);
  assert.deepEqual(e.state.violations.map((v) => [v.name, v.where.replace(/^\/t\.xsave:/, '')]), [['xsave-within-buffer', '6:3']]);
  assert.match(e.state.violations[0]!.text, /^#PF: XSAVES writes bytes 0\.\.\d+ of the area, not all mapped, at 0x/);
});

test('the bare-metal comparison skips components the guest disabled with XFD, whose contents are undefined (SDM Vol1 13.14)', () => {
  const a = createCpu('sapphire-rapids', { osxsave: true });
  const b = createCpu('sapphire-rapids', { osxsave: true });
  for (const c of [a, b]) { xsetbv(c, 0, 0x60007n); c.xfd = 0x40000n; }
  a.ext[18]![5] = 1; // the tile data differ, but XFD[18] = 1
  assert.equal(guestStateDifference(a, b), null);
  a.xfd = 0n;
  b.xfd = 0n;
  assert.equal(guestStateDifference(a, b), 'component 18 (XTILEDATA) differs from bare metal');
  wrmsr(a, MSR_IA32_XFD_ERR, 0x40000n);
  assert.equal(guestStateDifference(a, b), 'IA32_XFD_ERR is 0x40000; bare metal holds 0x0');
});

test('user-state-matches-bare-metal: a kernel that does not switch FPU state lets one task clobber another\'s YMM', () => {
  const e = load(`host a { thread main { ymm_write(3, 1); x = 1; y = 2; } }
host b { thread main { ymm_write(3, 2); } }
events { preempt at a.main + 1; }`);
  assert.deepEqual(violations(e), ['user-state-matches-bare-metal @ 1:48: a.main: the SSE registers (XMM0-15, MXCSR) differ from a CPU that ran only this task']);
});
