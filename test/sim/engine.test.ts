// The simulation engine: statement stepping, calls, exceptions delivered to guest and host handlers
// with the faulting instruction restarted, VM entry and exit keeping the guest's stack, the
// scheduler and events, determinism, snapshot/restore, step budget and scenario errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine, Happening } from '../../src/sim/engine';
import { load } from './support';

/** `function:line` of every frame of the running thread, innermost first ("[VM entry]" for the label). */
function stack(e: Engine): string[] {
  const th = e.currentThread()!;
  return [...th.frames].reverse().map((f) => {
    const fn = e.fn(f);
    const k = e.stmtOf(f);
    return fn ? `${fn.name}:${k >= 0 ? fn.stmts[k]!.range.start.line : 'end'}` : '[VM entry]';
  });
}
function runAll(e: Engine, budget = 100000): Happening[] {
  const all: Happening[] = [];
  const r = e.run((h) => { all.push(...h); return false; }, budget);
  if (r.reason === 'end') all.push(...r.happenings);
  return all;
}
const traceText = (e: Engine) => e.state.trace.map((t) => `[${t.step}] ${t.text}`);

const KVM = `
fn run_vcpu(vcpu) {
  while (1) {
    reason = vmenter(vcpu);
    if (reason == EXIT_REASON_XSETBV) {
      xsetbv(kvm_rcx_read(vcpu), kvm_read_edx_eax(vcpu));
      guest_complete_insn(vcpu);
    } else if (reason == EXIT_REASON_EXCEPTION_NMI) {
      // Re-inject the intercepted exception (KVM's kvm_queue_exception).
      vmcs_write(vcpu->vmcs, VM_ENTRY_INTR_INFO_FIELD, vmcs_read(vcpu->vmcs, VM_EXIT_INTR_INFO));
    } else if (reason == EXIT_REASON_EXTERNAL_INTERRUPT) {
    } else {
      guest_complete_insn(vcpu);
      return reason;
    }
  }
}
fn make_vcpu(exception_bitmap) {
  vcpu = vcpu_alloc();
  vcpu->vmcs = vmcs_alloc();
  vmcs_set_msr_intercept(vcpu->vmcs, MSR_IA32_XFD, 0, 0);
  vmcs_set_msr_intercept(vcpu->vmcs, MSR_IA32_XFD_ERR, 0, 0);
  vmcs_write(vcpu->vmcs, EXCEPTION_BITMAP, exception_bitmap);
  return vcpu;
}`;

const GUEST = `
guest {
  fn exc_device_not_available() {
    err = rdmsr(MSR_IA32_XFD_ERR);
    assert(err == XFEATURE_MASK_XTILEDATA, "guest lost its XFD_ERR");
    wrmsr(MSR_IA32_XFD_ERR, 0);
    wrmsr(MSR_IA32_XFD, 0);
  }
  fn main() {
    xsetbv(0, XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM | XFEATURE_MASK_XTILE);
    wrmsr(MSR_IA32_XFD, XFEATURE_MASK_XTILEDATA);
    ldtilecfg(palette: 1, rows: 16, colsb: 64);
    tileloadd(tmm0);
    hlt();
  }
}`;

test('a step is one statement; a call stops at the callee\'s first statement and returns mid-statement', () => {
  const e = load(`fn add(a, b) {
  return a + b;
}
host p {
  thread main {
    let x = 1;
    x = add(x, 2) * 10;
    assert(x == 30, "x");
  }
}`);
  assert.deepEqual(stack(e), ['p.main:6']);
  e.step();
  assert.deepEqual(stack(e), ['p.main:7']);
  const entered = e.step();
  assert.deepEqual(entered.map((x) => (x.kind === 'call' ? `call ${x.name}` : x.kind)), ['call add']); // a function-entry stop reason
  assert.deepEqual(stack(e), ['add:2', 'p.main:7']);
  e.step(); // return a + b; back in main, the rest of line 7 runs, stopping before line 8
  assert.deepEqual(stack(e), ['p.main:8']);
  assert.equal(e.state.threads[0]!.frames[0]!.locals[0], 30n);
  const h = e.step();
  assert.deepEqual(h.map((x) => x.kind), ['thread-end']);
  assert.equal(e.state.passedAssertions, 1);
});

test('a host user #NM goes to the kernel exc_device_not_available; the instruction restarts when it returns (spec §5.3)', () => {
  const e = load(readFileSync(join(__dirname, '..', '..', '..', 'test', 'fixtures', 'host-first-amx-use.xsave'), 'utf8'));
  const h = runAll(e);
  const nm = h.find((x) => x.kind === 'exception');
  assert.ok(nm && nm.kind === 'exception');
  assert.equal(nm.guest, false);
  assert.equal(nm.fault.mnemonic, '#NM');
  assert.deepEqual(nm.fault.xfd, { xfd: 0x40000n, xfdErr: 0x40000n });
  assert.equal(e.state.failedAssertions.length, 0);
  assert.equal(e.state.passedAssertions, 1);
  assert.equal(e.state.cpus[0]!.xfdErr, 0n);
});

test('vmenter runs the guest; a thread stopped in the guest shows guest frames above [VM entry] above the host frames', () => {
  const e = load(`${KVM}${GUEST}
host qemu {
  thread vcpu0 {
    r = run_vcpu(make_vcpu(0));
    assert(r == EXIT_REASON_HLT, "halted");
  }
}`);
  const seen: string[][] = [];
  let delivered: string[] | null = null;
  e.run((h) => {
    if (seen.length === 1 && delivered === null) delivered = stack(e);
    if (h.some((x) => x.kind === 'exception')) seen.push(stack(e));
    return false;
  }, 1000);
  // Recognized: the step that raised #NM stops at the faulting TILELOADD (XFD_ERR already written),
  // above the label and the run loop; the thread's next step delivers it to the handler's first line.
  assert.deepEqual(seen, [['guest:main:37', '[VM entry]', 'run_vcpu:4', 'qemu.vcpu0:43']]);
  assert.deepEqual(delivered, ['guest:exc_device_not_available:28', 'guest:main:37', '[VM entry]', 'run_vcpu:4', 'qemu.vcpu0:43']);
  assert.equal(e.state.failedAssertions.length, 0);
  assert.equal(e.state.passedAssertions, 2);
  assert.deepEqual(traceText(e).filter((t) => /VM (entry|exit)/.test(t)).map((t) => t.replace(/^\[\d+\] /, '')), [
    'cpu0 VM entry (vcpu 0)',
    'cpu0 VM exit: XSETBV (XSETBV XCR0 := 0x60007)',
    'cpu0 VM entry (vcpu 0)',
    'cpu0 VM exit: HLT (HLT)',
  ]);
});

test('an intercepted guest #NM exits with reason 0 and intr-info 0x80000307, XFD_ERR already loaded; re-injection runs the guest handler (spec §7.3)', () => {
  const e = load(`${KVM}${GUEST}
host qemu {
  thread vcpu0 {
    r = run_vcpu(make_vcpu(1 << X86_TRAP_NM));
    assert(r == EXIT_REASON_HLT, "halted");
  }
}`);
  const h = runAll(e);
  const exits = h.filter((x) => x.kind === 'vmexit').map((x) => x.kind === 'vmexit' ? [x.exit.reason, x.exit.intrInfo >>> 0] : []);
  assert.deepEqual(exits, [[55, 0], [0, 0x80000307], [12, 0]]);
  const msr = h.filter((x) => x.kind === 'msr-write').map((x) => x.kind === 'msr-write' ? `${x.guest ? 'guest' : 'host'} ${x.name} ${x.old} -> ${x.value}` : '');
  assert.deepEqual(msr, [
    'guest IA32_XFD 0 -> 262144',
    'guest IA32_XFD_ERR 0 -> 262144', // loaded by the #NM before the exit
    'guest IA32_XFD_ERR 262144 -> 0',
    'guest IA32_XFD 262144 -> 0',
  ]);
  assert.equal(e.state.failedAssertions.length, 0);
  assert.equal(e.state.passedAssertions, 2); // the guest handler's and the host's
});

test('external_interrupt at a guest function: a VM exit before its first statement; the guest resumes there', () => {
  const e = load(`${KVM}${GUEST}
host qemu {
  thread vcpu0 {
    r = run_vcpu(make_vcpu(0));
  }
}
events {
  external_interrupt at guest exc_device_not_available;
}`);
  const h = runAll(e);
  const kinds = h.filter((x) => x.kind === 'vmexit' || x.kind === 'event' || x.kind === 'exception')
    .map((x) => x.kind === 'vmexit' ? `exit ${x.exit.name}` : x.kind === 'event' ? x.text : 'exception');
  assert.deepEqual(kinds, ['exit XSETBV', 'exception', 'event external_interrupt (vector 32)', 'exit EXTERNAL_INTERRUPT', 'exit HLT']);
  const ext = h.find((x) => x.kind === 'vmexit' && x.exit.name === 'EXTERNAL_INTERRUPT');
  assert.ok(ext && ext.kind === 'vmexit');
  assert.equal(ext.exit.intrInfo >>> 0, 0x80000020); // acknowledge-on-exit: valid, type 0, vector 32
  assert.equal(e.state.failedAssertions.length, 0); // nothing touched XFD_ERR on this host
});

test('scheduler: spawn queues a thread; run P.T after previous runs it right after the event', () => {
  const e = load(`host a {
  thread main {
    spawn second;
    x = 1;
  }
  thread second {
    y = 2;
  }
}
host b {
  thread main {
    z = 3;
  }
}
events {
  external_interrupt at a.main + 1;
  run b.main after previous;
}`);
  runAll(e);
  assert.deepEqual(traceText(e).map((t) => t.replace(/^\[\d+\] /, '')).filter((t) => !t.startsWith('cpu0')), [
    'run a.main', 'a.main spawns a.second', 'run b.main', 'b.main exited (0x0)', 'run a.main', 'a.main exited (0x0)',
    'run a.second', 'a.second exited (0x0)',
  ]);
});

test('determinism: the same scenario twice gives the same trace; snapshot/restore equals an uninterrupted run (DESIGN §4)', () => {
  const src = `${KVM}${GUEST}
host qemu { thread vcpu0 { r = run_vcpu(make_vcpu(1 << X86_TRAP_NM)); } }`;
  const a = load(src);
  runAll(a);
  const b = load(src);
  for (let i = 0; i < 15; i++) b.step();
  const snap = b.snapshot();
  runAll(b);
  assert.deepEqual(traceText(b), traceText(a));
  b.restore(snap);
  runAll(b);
  assert.deepEqual(traceText(b), traceText(a));
  assert.deepEqual(b.state.cpus, a.state.cpus);
});

test('a runaway loop stops at the step budget; deep recursion and NULL dereference are scenario errors, not crashes', () => {
  const loop = load('host p { thread main {\n  while (1) {\n    x = 1;\n  }\n} }');
  const r = loop.run(() => false, 500);
  assert.equal(r.reason, 'budget');
  assert.match(loop.where(loop.currentThread()!), /^\/t\.xsave:[23]:/);
  const rec = load('fn f(n) { return f(n + 1); }\nhost p { thread main { f(0); } }');
  const h = runAll(rec);
  assert.deepEqual(h.filter((x) => x.kind === 'error').map((x) => x.kind === 'error' ? x.text : ''),
    ['/t.xsave:1:11: error: call depth exceeds 256 frames (runaway recursion?)']);
  const nul = load('fn f() { v = vcpu_alloc(); x = v->arch->xcr0; }\nhost p { thread main { f(); } }');
  assert.deepEqual(runAll(nul).filter((x) => x.kind === 'error').map((x) => x.kind === 'error' ? x.text : ''),
    ["/t.xsave:1:28: error: NULL dereference reading 'xcr0'"]);
});

test('a guest exception without a guest handler is a scenario error naming the handler to define', () => {
  const e = load(`${KVM}
guest { fn main() { xsetbv(0, 0x60007); wrmsr(MSR_IA32_XFD, 0x40000); ldtilecfg(palette: 1); tilezero(tmm0); } }
host q { thread t { run_vcpu(make_vcpu(0)); } }`);
  const err = runAll(e).find((x) => x.kind === 'error');
  assert.ok(err && err.kind === 'error');
  assert.match(err.text, /#NM: TILEZERO uses XTILEDATA, disabled by IA32_XFD; IA32_XFD_ERR := 0x40000, and the guest block defines no handler \(fn exc_device_not_available\)/);
});

test('a guest runs on top of the host\'s frames from VM entry to VM exit; the exit saves its frames and completes vmenter() mid-statement', () => {
  const e = load(`${KVM}${GUEST}
host qemu {
  thread vcpu0 {
    v = make_vcpu(0);
    r = run_vcpu(v);
    assert(r == EXIT_REASON_HLT, "halted");
  }
}`);
  /** Steps until `done` holds (at most `budget` steps). */
  const stepUntil = (done: () => boolean, budget = 1000) => {
    for (let n = 0; n < budget && !done(); n++) e.step();
    assert.ok(done());
  };
  assert.deepEqual(stack(e), ['qemu.vcpu0:43']);
  e.step(); // into make_vcpu
  assert.equal(stack(e).length, 2);
  stepUntil(() => stack(e).length === 1); // make_vcpu returned: line 43 completed with its value
  assert.deepEqual(stack(e), ['qemu.vcpu0:44']);
  e.step(); // into run_vcpu
  assert.deepEqual(stack(e), ['run_vcpu:3', 'qemu.vcpu0:44']);
  e.step(); // while (1)
  assert.deepEqual(stack(e), ['run_vcpu:4', 'qemu.vcpu0:44']);
  e.step(); // reason = vmenter(vcpu): into the guest, its frames above the [VM entry] label
  assert.deepEqual(stack(e), ['guest:main:34', '[VM entry]', 'run_vcpu:4', 'qemu.vcpu0:44']);
  assert.equal(e.state.cpus[0]!.vmx.mode, 'non-root');
  stepUntil(() => !stack(e).includes('[VM entry]')); // the guest leaves only through a VM exit
  // The exit (XSETBV, SDM Vol3 26.1.3) completed vmenter() with its reason, still in line 4; the
  // guest's frame waits in its context, at the instruction the VMM is to complete.
  assert.deepEqual(stack(e), ['run_vcpu:4', 'qemu.vcpu0:44']);
  assert.equal(e.state.cpus[0]!.vmx.mode, 'root');
  assert.match(e.state.trace[e.state.trace.length - 1]!.text, /^cpu0 VM exit: XSETBV/);
  assert.deepEqual(e.state.guests.map((g) => g.frames.map((f) => `${e.fn(f)!.name}:${e.fn(f)!.stmts[e.stmtOf(f)]!.range.start.line}`)), [['guest:main:34']]);
  e.step(); // the rest of line 4 (reason = ...)
  assert.deepEqual(stack(e), ['run_vcpu:5', 'qemu.vcpu0:44']);
  stepUntil(() => stack(e).length === 1); // the rest of the run loop, guest included, to the HLT exit and return
  assert.deepEqual(stack(e), ['qemu.vcpu0:45']);
  assert.equal(e.state.passedAssertions, 1); // the guest's handler ran on the way
});

test('several CPUs: each has its own registers; CPUs take turns one statement each; run ... on cpu1 places a thread', () => {
  const e = load(`fn start_kernel() {
  cr4_set_osxsave();
  xsetbv(0, 0x60007);
  wrmsr(MSR_IA32_XFD, XFEATURE_MASK_XTILE_DATA);
}
fn start_secondary() { start_kernel(); }
fn set_xfd(v) { wrmsr(MSR_IA32_XFD, v); }
host a { thread main { set_xfd(0); x = 1; y = 2; } }
host b { thread main { z = 1; set_xfd(0); } }
events { run b.main at a.main on cpu1; }`);
  assert.equal(e.state.cpus.length, 2);
  runAll(e);
  const lines = traceText(e).map((t) => t.replace(/^\[\d+\] /, ''));
  assert.deepEqual(lines.filter((t) => /XFD|run b|run a/.test(t)), [
    'cpu0 host XFD 0x0 -> 0x40000', // start_kernel on each CPU
    'cpu1 host XFD 0x0 -> 0x40000',
    'run a.main',
    'cpu0 event run b.main',
    'run b.main',
    'cpu0 host XFD 0x40000 -> 0x0',
    'cpu1 host XFD 0x40000 -> 0x0',
  ]);
  const b = e.state.threads.find((t) => t.name === 'b.main')!;
  assert.equal(b.cpu, 1);
  assert.equal(e.state.cpus[0]!.xfd, 0n);
  assert.equal(e.state.cpus[1]!.xfd, 0n);
});

test('preempt puts the thread at the back of its CPU\'s queue; fpu_irq and a host external_interrupt run the kernel\'s handlers', () => {
  const e = load(`fn handle_fpu_irq() { xmm_write(0, 0x1234); }
fn common_interrupt(vector) { x = vector; }
host a { thread main { spawn t2; x = 1; y = 2; z = 3; } thread t2 { w = 1; } }
events {
  preempt at a.main + 1;
  fpu_irq at a.main + 2;
  external_interrupt(40) at a.main + 3;
}`);
  runAll(e);
  assert.deepEqual(traceText(e).map((t) => t.replace(/^\[\d+\] /, '')), [
    'run a.main', 'a.main spawns a.t2',
    'cpu0 event preempt', 'a.main switched out', 'run a.t2', 'a.t2 exited (0x0)', 'run a.main',
    'cpu0 event fpu_irq', 'cpu0 event external_interrupt (vector 40)', 'a.main exited (0x0)',
  ]);
  assert.equal(e.state.cpus[0]!.legacy[160], 0x34); // the interrupt handler's XMM0 write
});

test('force_sig kills the user thread; die() is a kernel oops that stops the run', () => {
  const sig = load(`fn exc_device_not_available() { force_sig(SIGILL); }
fn start_kernel() { cr4_set_osxsave(); xsetbv(0, 0x60007); wrmsr(MSR_IA32_XFD, 0x40000); }
host a { thread main { ldtilecfg(palette: 1); tilezero(tmm0); x = 1; } }`);
  const h = runAll(sig);
  assert.deepEqual(h.filter((x) => x.kind === 'thread-end').map((x) => x.kind === 'thread-end' ? x.text : ''),
    ['kernel.start_kernel exited (0x0)', 'a.main killed by signal 4']);
  const oops = load(`fn exc_general_protection(code) { die(); }
host a { thread main { ldmxcsr(0x10000); } }`);
  const o = runAll(oops).find((x) => x.kind === 'oops');
  assert.ok(o && o.kind === 'oops');
  assert.equal(o.text, '/t.xsave:1:35: kernel oops (die)');
  assert.match(oops.state.halted!, /kernel oops/);
});

test('VMCS MSR lists: the entry list loads the guest XFD, the exit lists store it and restore the host value; a refused entry fails the VM entry (SDM Vol3 27.8; spec §7.2)', () => {
  const e = load(`guest { fn main() { x = rdmsr(MSR_IA32_XFD); hlt(); } }
fn go(value) {
  v = vcpu_alloc();
  v->vmcs = vmcs_alloc();
  vmcs_set_msr_intercept(v->vmcs, MSR_IA32_XFD, 0, 0);
  vmcs_msr_list_add(v->vmcs, VM_ENTRY_MSR_LOAD, MSR_IA32_XFD, value);
  vmcs_msr_list_add(v->vmcs, VM_EXIT_MSR_STORE, MSR_IA32_XFD);
  vmcs_msr_list_add(v->vmcs, VM_EXIT_MSR_LOAD, MSR_IA32_XFD, 0);
  r = vmenter(v);
  assert(rdmsr(MSR_IA32_XFD) == 0, "host XFD restored by the exit list");
  assert(vmcs_msr_list_read(v->vmcs, VM_EXIT_MSR_STORE, 0) == value, "guest XFD stored at exit");
  return r;
}
fn bad() {
  v = vcpu_alloc();
  v->vmcs = vmcs_alloc();
  vmcs_msr_list_add(v->vmcs, VM_ENTRY_MSR_LOAD, MSR_IA32_XFD, 0x20000);
  return vmenter(v);
}
host q { thread t { a = go(0x40000); assert(a == EXIT_REASON_HLT, "hlt"); b = bad(); assert(b == (EXIT_REASON_MSR_LOAD_FAIL | VMX_EXIT_REASONS_FAILED_VMENTRY), "entry failed"); } }`);
  const h = runAll(e);
  assert.deepEqual(e.state.failedAssertions, []);
  assert.equal(e.state.passedAssertions, 4);
  const exits = h.filter((x) => x.kind === 'vmexit').map((x) => x.kind === 'vmexit' ? `${x.exit.name} q=${x.exit.qualification}` : '');
  assert.deepEqual(exits, ['HLT q=0', 'MSR_LOAD_FAIL (VM-entry failure) q=1']);
});
