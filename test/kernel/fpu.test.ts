// The host kernel's FPU code (src/kernel/fpu.xsave) against spec kernel-kvm.md §1-§3: sizes from
// CPUID, arch_prctl permissions and their errors, the #NM path (realloc or SIGILL), lazy restore on
// return to user mode with XFD following the task's fpstate, and kernel_fpu_begin from an interrupt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { compactedSize, cpuModel, readBytes, readYmm, standardSize } from '../../src/model';
import { formatDiagnostic } from '../../src/lang/source';
import { nodeFiles } from '../../src/host/files';
import type { Engine, Happening } from '../../src/sim/engine';
import { loadScenario } from '../../src/sim/scenario';

const root = join(__dirname, '..', '..', '..');
const KERNEL = join(root, 'src', 'kernel', 'fpu.xsave');

function load(src: string, cpu = 'sapphire-rapids'): Engine {
  const path = join(root, 'test', 'fixtures', '__inline__.xsave');
  const files = { read: (p: string) => (p === path ? src : nodeFiles.read(p)), resolve: nodeFiles.resolve };
  const r = loadScenario(path, files, { cpu, imports: [KERNEL] });
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
  return r.engine!;
}
function runAll(e: Engine): Happening[] {
  const all: Happening[] = [];
  const r = e.run((h) => { all.push(...h); return false; }, 200000);
  if (r.reason === 'end') all.push(...r.happenings);
  assert.notEqual(r.reason, 'budget');
  return all;
}
function obj(e: Engine, name: string) {
  return e.state.heap[e.state.globals[name]!]!.fields;
}
function fpstateOf(e: Engine, thread: string) {
  const th = e.state.threads.find((t) => t.name === thread)!;
  const task = e.state.heap[th.task]!;
  const ts = e.state.heap[(task.fields.thread as { ref: number }).ref]!;
  const fpu = e.state.heap[(ts.fields.fpu as { ref: number }).ref]!;
  return e.state.heap[(fpu.fields.fpstate as { ref: number }).ref]!.fields;
}

test('boot computes fpu_kernel_cfg/fpu_user_cfg from CPUID: XCR0 holds AMX, XFD arms TILEDATA, sizes as the layouts give them (spec §2.2)', () => {
  const e = load('host idle { thread main { } }');
  runAll(e);
  const spr = cpuModel('sapphire-rapids');
  const k = obj(e, 'fpu_kernel_cfg');
  const u = obj(e, 'fpu_user_cfg');
  assert.equal(k.max_features, 0x602e7n | 0xc00n); // + PASID and CET_U supervisor state
  assert.equal(k.default_features, 0x202e7n | 0xc00n);
  assert.equal(k.max_size, BigInt(compactedSize(spr, 0x602e7n | 0xc00n)));
  assert.equal(k.default_size, BigInt(compactedSize(spr, 0x202e7n | 0xc00n)));
  assert.equal(u.max_size, BigInt(standardSize(spr, 0x602e7n)));
  assert.equal(u.default_size, 2816n); // XTILECFG (2752..2815) is in the default set, XTILEDATA is not
  assert.equal(u.default_size, BigInt(standardSize(spr, 0x202e7n)));
  assert.equal(obj(e, 'init_fpstate').xfd, 0x40000n);
  const cpu = e.state.cpus[0]!;
  assert.equal(cpu.xcr0, 0x602e7n);
  assert.equal(cpu.xfd, 0x40000n);
  assert.equal(cpu.xss, 0xc00n);
  assert.equal(e.state.heap[e.state.percpu[0]!]!.fields.xfd_state, 0x40000n);
});

test('arch_prctl: GET_XCOMP_SUPP, REQ_XCOMP_PERM for AMX, -EOPNOTSUPP/-EINVAL errors; -EOPNOTSUPP without AMX (spec §2.1)', () => {
  const src = `host p { thread main {
    assert(arch_prctl(ARCH_GET_XCOMP_SUPP, 0) == 0x602e7, "supported user features");
    assert(arch_prctl(ARCH_GET_XCOMP_PERM, 0) == 0x202e7, "default permission");
    assert(arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILE_CFG) == -EOPNOTSUPP, "17 is not a facility");
    assert(arch_prctl(ARCH_REQ_XCOMP_PERM, 64) == -EINVAL, "out of range");
    assert(arch_prctl(0x9999, 0) == -EINVAL, "unknown option");
    assert(arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILE_DATA) == 0, "granted");
    assert(arch_prctl(ARCH_GET_XCOMP_PERM, 0) == 0x602e7, "AMX permitted");
    assert(arch_prctl(ARCH_GET_XCOMP_GUEST_PERM, 0) == 0x202e7, "guest permission is separate");
    assert(arch_prctl(ARCH_REQ_XCOMP_GUEST_PERM, XFEATURE_XTILE_DATA) == 0, "guest granted");
  } thread other { assert(arch_prctl(ARCH_GET_XCOMP_PERM, 0) == 0x602e7, "permission is per thread group"); } }`;
  const e = load(src.replace('} thread other', 'spawn other; } thread other'));
  runAll(e);
  assert.deepEqual(e.state.failedAssertions, []);
  assert.equal(e.state.passedAssertions, 10);
  const icx = load('host p { thread main { r = arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILE_DATA); assert(r == -EOPNOTSUPP, "no AMX"); } }', 'icelake-server');
  runAll(icx);
  assert.deepEqual(icx.state.failedAssertions, []);
});

test('first AMX use with permission: #NM, XFD_ERR read and cleared, buffer grown to the CPUID size, XFD 0 for this task only (spec §2.3)', () => {
  const e = load(`host p {
  thread main {
    arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILE_DATA);
    spawn sibling;
    ldtilecfg(palette: 1);
    tileloadd(tmm0);
    assert(xgetbv(1) & XFEATURE_MASK_XTILE_DATA, "tiles in use");
  }
  thread sibling { x = 1; }
}`);
  const h = runAll(e);
  const nm = h.filter((x) => x.kind === 'exception');
  assert.equal(nm.length, 1);
  assert.deepEqual(e.state.failedAssertions, []);
  const fps = fpstateOf(e, 'p.main');
  assert.equal(fps.xfd, 0n);
  assert.equal(fps.xfeatures, 0x602e7n | 0xc00n);
  assert.equal(fps.size, BigInt(compactedSize(cpuModel('sapphire-rapids'), 0x602e7n | 0xc00n)));
  assert.equal(fps.is_valloc, 1n);
  // The sibling thread shares the permission but keeps its own armed XFD and default buffer.
  assert.equal(fpstateOf(e, 'p.sibling').xfd, 0x40000n);
  assert.equal(e.state.cpus[0]!.xfdErr, 0n);
});

test('without permission the task dies with SIGILL; a kernel-mode XFD #NM is an oops (spec §2.3, traps.c)', () => {
  const e = load('host p { thread main { ldtilecfg(palette: 1); tilezero(tmm1); x = 1; } }');
  const h = runAll(e);
  assert.deepEqual(h.filter((x) => x.kind === 'thread-end').map((x) => x.kind === 'thread-end' ? x.text : ''),
    ['kernel.start_kernel exited (0x0)', 'p.main killed by signal 4']);
  const k = load(`fn kernel_amx() { ldtilecfg(palette: 1); tilezero(tmm1); }
host p { thread main { kernel_amx(); } }`);
  const o = runAll(k).find((x) => x.kind === 'oops');
  assert.ok(o && o.kind === 'oops');
  assert.match(o.text, /fpu\.xsave:\d+:\d+: kernel oops \(die\)/);
});

test('context switches: every user statement runs with IA32_XFD equal to the running task\'s fpstate->xfd, and the per-CPU cache matches the MSR (spec §3.1-§3.2)', () => {
  const e = load(`host amx {
  thread main {
    arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILE_DATA);
    ldtilecfg(palette: 1);
    tileloadd(tmm0);
    a = 1;
    b = 2;
    assert(xgetbv(1) & XFEATURE_MASK_XTILE_DATA, "tiles survived the switches");
  }
}
host plain {
  thread main { x = 1; y = 2; z = 3; }
}
events {
  preempt at amx.main + 3;
  preempt at plain.main + 1;
}`);
  let userSteps = 0;
  e.run(() => {
    const th = e.currentThread();
    const top = th?.frames[th.frames.length - 1];
    if (th && top && top.cpl === 3 && e.state.running[0] === th.id) {
      userSteps++;
      assert.equal(e.state.cpus[0]!.xfd, fpstateOf(e, th.name).xfd, `${th.name} at step ${e.state.steps}`);
      assert.equal(e.state.heap[e.state.percpu[0]!]!.fields.xfd_state, e.state.cpus[0]!.xfd);
    }
    return false;
  }, 200000);
  assert.ok(userSteps > 5);
  assert.deepEqual(e.state.failedAssertions, []);
  const switches = e.state.trace.filter((t) => t.kind === 'sched').map((t) => t.text);
  assert.deepEqual(switches, ['run kernel.start_kernel', 'kernel.start_kernel exited (0x0)', 'run amx.main', 'amx.main switched out',
    'run plain.main', 'plain.main switched out', 'run amx.main', 'amx.main exited (0x0)', 'run plain.main', 'plain.main exited (0x0)']);
});

test('kernel_fpu_begin in an interrupt saves the interrupted task\'s registers and marks them for reload (core.c)', () => {
  const e = load(`fn handle_fpu_irq() {
  if (irq_fpu_usable()) {
    kernel_fpu_begin();
    ymm_write(1, 0xdead);
    kernel_fpu_end();
  }
}
host p {
  thread main {
    ymm_write(1, 0xbeef);
    x = 1;
    y = xgetbv(1);
  }
}
events { fpu_irq at p.main + 1; }`);
  runAll(e);
  const cpu = e.state.cpus[0]!;
  // The task's YMM1 came back from its fpstate on the way to user mode, over the handler's value.
  assert.equal(readYmm(cpu, 1), 0xbeefn * ((1n << 192n) + (1n << 128n) + (1n << 64n) + 1n));
  // kernel_fpu_begin saved the task's state (YMM in use) into its fpstate before the handler ran.
  const fps = fpstateOf(e, 'p.main');
  const hdr = readBytes(e.state.mem, (fps.regs as bigint) + 512n, 8)!;
  assert.equal(hdr[0]! & 0x6, 0x6);
});

test('guest permission is locked by the first vCPU: a later ARCH_REQ_XCOMP_GUEST_PERM is -EBUSY; KVM_SET_CPUID2 with AMX but no permission is -EPERM (spec §2.1, §4.2-§4.3, §7e)', () => {
  const policy = join(root, 'src', 'kernel', 'policies', 'linux-5.17.xsave');
  const path = join(root, 'test', 'fixtures', '__inline__.xsave');
  const src = `host late { thread main {
    v = kvm_create_vcpu();
    assert(arch_prctl(ARCH_REQ_XCOMP_GUEST_PERM, XFEATURE_XTILE_DATA) == -EBUSY, "locked by the first vCPU");
    assert(kvm_set_cpuid(v, XFEATURE_MASK_FPSSE | XFEATURE_MASK_XTILE) == -EPERM, "no permission for AMX");
    assert(kvm_set_cpuid(v, XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM) == 0, "without AMX it is fine");
  } }`;
  const files = { read: (p: string) => (p === path ? src : nodeFiles.read(p)), resolve: nodeFiles.resolve };
  const r = loadScenario(path, files, { imports: [policy] });
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
  runAll(r.engine!);
  assert.deepEqual(r.engine!.state.failedAssertions, []);
  assert.equal(r.engine!.state.passedAssertions, 3);
});

test('a host #NM handler runs with interrupts disabled; IRET restores them: an interrupt placed at the handler waits for the return (SDM Vol3 6.12.1.3; traps.c handle_xfd_event)', () => {
  const e = load(`fn handle_fpu_irq() {}
host p {
  thread main {
    arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILE_DATA);
    ldtilecfg(palette: 1);
    tileloadd(tmm0);
    x = 1;
  }
}
events { fpu_irq at host exc_device_not_available; }`);
  const trace = (): string[] => e.state.trace.filter((t) => t.kind === 'event' || t.kind === 'exception').map((t) => t.text);
  let inHandler = false;
  e.run(() => {
    const th = e.currentThread();
    const top = th?.frames[th.frames.length - 1];
    if (top && e.fn(top)?.name === 'exc_device_not_available' && top.pc === 0) {
      inHandler = true;
      assert.equal(e.state.irqOff[0], true, 'IF = 0 at the handler\'s first statement');
    }
    return false;
  }, 200000);
  assert.ok(inHandler);
  const t = trace();
  assert.match(t[0]!, /#NM/);
  assert.match(t[1]!, /fpu_irq held: interrupts disabled$/);
  assert.match(t[2]!, /fpu_irq$/); // after handle_xfd_event's local_irq_enable(), before the reallocation
  assert.equal(e.state.irqOff[0], false);
});

test('fpregs_lock() holds a preemption back and makes irq_fpu_usable() false until fpregs_unlock() (asm/fpu/api.h, core.c irq_fpu_usable)', () => {
  const e = load(`fn locked_work() {
  fpregs_lock();
  assert(!irq_fpu_usable(), "no FPU for an interrupt inside fpregs_lock");
  let b = 2;
  fpregs_unlock();
  assert(irq_fpu_usable(), "usable again after fpregs_unlock");
  return b;
}
host p {
  thread main {
    r = locked_work();
    x = 1;
  }
}
host q {
  thread main { y = 1; }
}
events { preempt at host locked_work + 2; }`);
  runAll(e);
  assert.deepEqual(e.state.failedAssertions, []);
  assert.equal(e.state.passedAssertions, 2);
  const t = e.state.trace.filter((x) => x.kind === 'event').map((x) => x.text);
  assert.deepEqual(t, ['cpu0 event preempt held: preemption disabled', 'cpu0 event preempt']);
  assert.equal(e.state.preemptCount[0], 0);
});

test('exit_to_user_mode() and switch_fpu() run with interrupts disabled: an interrupt placed in them waits (entry/common.c exit_to_user_mode_prepare, sched/core.c __schedule)', () => {
  const e = load(`fn handle_fpu_irq() {}
host p {
  thread main { x = 1; y = 2; z = 3; }
}
host q {
  thread main { w = 1; }
}
events {
  fpu_irq at host exit_to_user_mode;
  preempt at p.main + 1;
  fpu_irq at host switch_fpu;
}`);
  runAll(e);
  const t = e.state.trace.filter((x) => x.kind === 'event').map((x) => x.text.replace(/^cpu0 /, ''));
  assert.deepEqual(t, [
    'event fpu_irq held: interrupts disabled', 'event fpu_irq', // exit_to_user_mode on p.main's first return to user mode
    'event preempt',
    'event fpu_irq held: interrupts disabled', 'event fpu_irq', // inside switch_fpu(p.main)
  ]);
});
