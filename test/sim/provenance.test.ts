// The steps that set up each invariant's violation, as the machine recorded them when the values
// were written (src/sim/provenance.ts): exact steps, what each wrote and the statement, for a
// scenario that breaks each invariant; and the provenance travels with the state (snapshot and
// restore, time travel), so a run resumed from a copy names the same steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basename, join } from 'node:path';
import { nodeFiles } from '../../src/host/files';
import { formatDiagnostic } from '../../src/lang/source';
import type { Engine } from '../../src/sim/engine';
import { History } from '../../src/sim/history';
import type { InvariantName } from '../../src/sim/invariants';
import { loadScenario } from '../../src/sim/scenario';
import { BOOT, load } from './support';

// Bundled into out/test/sim/: the repository root is three levels up.
const root = join(__dirname, '..', '..', '..');


/** An example under a shipped policy. */
function example(name: string, policy: string): Engine {
  const r = loadScenario(join(root, 'examples', `${name}.xsave`), nodeFiles, { policy: join(root, 'src', 'kernel', 'policies', `${policy}.xsave`) });
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
  return r.engine!;
}

/** The violation of `name` (run to the end first): its step, setup steps and causes as `step what @ file:line:col`. */
function setupOf(e: Engine, name: InvariantName): { step: number; setup: number[]; causes: string[] } {
  e.run(() => false, 100000);
  const v = e.state.violations.find((x) => x.name === name);
  assert.ok(v, `no ${name} violation`);
  const causes = v.causes.map((c) => `${c.step} ${c.what} @ ${c.where ? basename(c.where) : '-'}`);
  return { step: v.step, setup: v.setup, causes };
}


test('no-kernel-xfd-nm: set up by the WRMSR that armed IA32_XFD (the #NM comes from XFD, SDM Vol1 13.14)', () => {
  const e = load(`${BOOT}
fn exc_device_not_available() { wrmsr(MSR_IA32_XFD_ERR, 0); wrmsr(MSR_IA32_XFD, 0); }
fn kernel_amx() {
  ldtilecfg(palette: 1);
  tilezero(tmm0);
}
host p { thread main { kernel_amx(); } }`);
  assert.deepEqual(setupOf(e, 'no-kernel-xfd-nm'), {
    step: 7, setup: [3], causes: ['3 IA32_XFD on cpu0 @ t.xsave:1:60'],
  });
});

test('user-xfd-matches-fpstate: set up by the IA32_XFD write, the fpstate->xfd write and the fpu->fpstate write', () => {
  const e = load(`${BOOT}
fn fpu_clone(task) {
  fps = fpstate_alloc(0x60003);
  fps->xfd = 0x40000;
  task->thread.fpu->fpstate = fps;
}
fn sneaky() { wrmsr(MSR_IA32_XFD, 0); }
host p { thread main { x = 1; sneaky(); y = 2; } }`);
  assert.deepEqual(setupOf(e, 'user-xfd-matches-fpstate'), {
    step: 10, setup: [6, 7, 10],
    causes: ['6 fpstate->xfd @ t.xsave:4:3', '7 fpu->fpstate @ t.xsave:5:3', '10 IA32_XFD on cpu0 @ t.xsave:7:15'],
  });
});

test('xfd-cache-matches-msr: set up by the write of the cache and the write of IA32_XFD behind its back', () => {
  const e = load(`${BOOT}
fn behind_its_back() { wrmsr(MSR_IA32_XFD, 0); }
fn reads_cache() { x = this_cpu->xfd_state; }
host p { thread main { behind_its_back(); reads_cache(); } }`);
  assert.deepEqual(setupOf(e, 'xfd-cache-matches-msr'), {
    step: 8, setup: [4, 6], causes: ["4 cpu0's xfd_state @ t.xsave:1:90", '6 IA32_XFD on cpu0 @ t.xsave:2:24'],
  });
});

test('xsave-within-buffer: set up by the allocation of the buffer and the XCR0 write that enabled what XSAVES saves', () => {
  const e = load(`fn start_kernel() { cr4_set_osxsave(); xsetbv(0, 0x60007); }
fn small_buffer() {
  fps = fpstate_alloc(0x20003);
  ldtilecfg(palette: 1);
  tileloadd(tmm0);
  xsaves(fps->regs, 0x60003);
}
host p { thread main { small_buffer(); } }`);
  assert.deepEqual(setupOf(e, 'xsave-within-buffer'), {
    step: 7, setup: [2, 4], causes: ['2 XCR0 on cpu0 @ t.xsave:1:40', '4 allocation of fpstate 16 @ t.xsave:3:3'],
  });
});

test('user-state-matches-bare-metal: set up by the context switches and the other task\'s write of the registers', () => {
  const e = load(`host a { thread main { ymm_write(3, 1); x = 1; y = 2; } }
host b { thread main { ymm_write(3, 2); } }
events { preempt at a.main + 1; }`);
  assert.deepEqual(setupOf(e, 'user-state-matches-bare-metal'), {
    // Step 2: the preemption switches a.main out and b.main in; step 3: b's YMM write, and a back.
    step: 4, setup: [2, 3],
    causes: ['2 context switch @ t.xsave:2:24', '3 context switch @ t.xsave:1:41', '3 SSE registers on cpu0 @ t.xsave:2:24'],
  });
});

test('host-sees-guest-xfd-err: set up by the guest\'s #NM writing IA32_XFD_ERR and the VM exit after it (examples/xfd-err-leak.xsave, naive)', () => {
  assert.deepEqual(setupOf(example('xfd-err-leak', 'naive'), 'host-sees-guest-xfd-err'), {
    step: 2139, setup: [2127, 2129],
    causes: ['2127 IA32_XFD_ERR set by the guest @ xfd-err-leak.xsave:24:5', '2129 VM exit @ xfd-err-leak.xsave:15:5'],
  });
});

test('guest-state-matches-bare-metal: the guest\'s own XFD_ERR, its VM exit, the host task\'s #NM handler clearing XFD_ERR, the VM entry (xfd-err-leak, naive)', () => {
  assert.deepEqual(setupOf(example('xfd-err-leak', 'naive'), 'guest-state-matches-bare-metal'), {
    step: 2537, setup: [2127, 2129, 2441, 2537],
    causes: [
      '2127 IA32_XFD_ERR by the guest (bare metal) @ xfd-err-leak.xsave:24:5',
      '2129 VM exit of the vCPU @ xfd-err-leak.xsave:15:5',
      '2441 IA32_XFD_ERR on cpu0 @ fpu.xsave:359:3', // handle_xfd_event(): wrmsr(MSR_IA32_XFD_ERR, 0) for the other task
      '2537 VM entry @ kvm.xsave:199:3',
    ],
  });
});

test('guest-state-matches-bare-metal on a component: the XRSTORS that loaded the zeroed tiles between VM exit and entry (preempt-guest-fpu, naive)', () => {
  assert.deepEqual(setupOf(example('preempt-guest-fpu', 'naive'), 'guest-state-matches-bare-metal'), {
    step: 2294, setup: [2178, 2283, 2294],
    causes: [
      '2178 VM exit of the vCPU @ preempt-guest-fpu.xsave:26:5',
      '2283 XTILEDATA registers on cpu0 @ fpu.xsave:153:23', // restore_fpregs_from_fpstate(): xrstors(fpstate->regs, rfbm)
      '2294 VM entry @ kvm.xsave:199:3',
    ],
  });
});

test('guest-observes-bare-metal: RDMSR(XFD_ERR) set up by the guest\'s write, its VM exit, the migration to another vCPU and the VM entry (migrate-in-nm-handler, naive)', () => {
  assert.deepEqual(setupOf(example('migrate-in-nm-handler', 'naive'), 'guest-observes-bare-metal'), {
    step: 3754, setup: [2144, 2146, 3698, 3753],
    causes: [
      '2144 IA32_XFD_ERR by the guest (bare metal) @ migrate-in-nm-handler.xsave:28:5',
      '2146 VM exit of the vCPU @ migrate-in-nm-handler.xsave:19:5',
      '3698 guest migration @ migrate-in-nm-handler.xsave:59:5',
      '3753 VM entry @ kvm.xsave:199:3', // on cpu1, whose IA32_XFD_ERR the guest never wrote
    ],
  });
});

test('guest-observes-bare-metal on a fault: a WRMSR(IA32_XFD) bare metal refuses, set up by the VM exit and entry around it (xfd-without-cpuid, tglx-2021)', () => {
  assert.deepEqual(setupOf(example('xfd-without-cpuid', 'tglx-2021'), 'guest-observes-bare-metal'), {
    step: 1490, setup: [1438, 1488, 1490],
    causes: [
      '1438 VM exit of the vCPU @ xfd-without-cpuid.xsave:19:5',
      '1488 VM entry @ kvm.xsave:199:3',
      '1490 IA32_XFD on cpu0 @ xfd-without-cpuid.xsave:20:5', // the WRMSR itself, not intercepted
    ],
  });
});

test('provenance travels with the state: a run resumed from a snapshot, or after travelling back, names the same setup steps', () => {
  const whole = example('xfd-err-leak', 'naive');
  const expected = setupOf(whole, 'guest-state-matches-bare-metal');
  // The guest's XFD_ERR write (2127) and its VM exit (2129) happen before step 2200; the rest after.
  const e = example('xfd-err-leak', 'naive');
  while (e.state.steps < 2200) e.step();
  const snap = e.snapshot();
  const resumed = example('xfd-err-leak', 'naive');
  resumed.restore(snap);
  assert.deepEqual(setupOf(resumed, 'guest-state-matches-bare-metal'), expected);
  // Time travel: run to the end, back to step 2200 (checkpoints every 64 steps, then replay), on again.
  const t = example('xfd-err-leak', 'naive');
  const h = new History(t, { save: () => 0, load: () => {} }, 64);
  while (!t.state.halted) { t.step(); h.afterStep(); }
  h.travel(2200, () => { t.step(); h.afterStep(); });
  assert.equal(t.state.steps, 2200);
  assert.deepEqual(t.state.violations.map((v) => v.name), ['host-sees-guest-xfd-err', 'xfd-cache-matches-msr']);
  assert.deepEqual(setupOf(t, 'guest-state-matches-bare-metal'), expected);
});
