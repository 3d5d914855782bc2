// The debugger runtime driven directly under Node, without DAP: every run-control verb with its
// exact stop reason and the lines the stopped thread stands on. The scenario is the engine's own
// small KVM (no shipped kernel, so no boot runs before the scenario's first statement): a vCPU
// thread that makes a vCPU and runs it until the guest's HLT; the guest enables AMX, takes an XFD
// #NM on its first TILELOADD (SDM Vol1 13.14: XFD arms #NM for a disabled component; IA32_XFD_ERR
// gets the component's bit) and its handler grants itself the tiles. This KVM does not swap XCR0:
// the host runs with the guest's, which starts at its RESET value 1 (SDM Vol1 13.3), so the guest
// sees what bare metal would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeError } from '../../src/runtime/errors';
import { Driven, fixture, lineOf, scenario } from './support';

const TEXT = `fn run_vcpu(vcpu) {
  while (1) {
    reason = vmenter(vcpu);
    if (reason == EXIT_REASON_XSETBV) {
      xsetbv(kvm_rcx_read(vcpu), kvm_read_edx_eax(vcpu));
      guest_complete_insn(vcpu);
    } else if (reason == EXIT_REASON_EXTERNAL_INTERRUPT) {
    } else {
      guest_complete_insn(vcpu);
      return reason;
    }
  }
}
fn make_vcpu(exception_bitmap) {
  xsetbv(0, 1);
  vcpu = vcpu_alloc();
  vcpu->vmcs = vmcs_alloc();
  vmcs_set_msr_intercept(vcpu->vmcs, MSR_IA32_XFD, 0, 0);
  vmcs_set_msr_intercept(vcpu->vmcs, MSR_IA32_XFD_ERR, 0, 0);
  vmcs_write(vcpu->vmcs, EXCEPTION_BITMAP, exception_bitmap);
  return vcpu;
}
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
}
host qemu {
  thread vcpu0 {
    v = make_vcpu(0);
    r = run_vcpu(v);
    assert(r == EXIT_REASON_HLT, "halted");
  }
}
`;
const FILE = scenario('kvm.xsave', TEXT);
const L = (marker: string): number => lineOf(TEXT, marker);

async function atEntry(extra: Record<string, unknown> = {}): Promise<Driven> {
  const d = new Driven();
  await d.launch({ program: FILE, stopOnEntry: true, ...extra });
  assert.deepEqual(d.lastStop(), { reason: 'entry', thread: 0 });
  assert.deepEqual(d.stack(), [`qemu.vcpu0:${L('v = make_vcpu(0)')}`]);
  d.take();
  return d;
}

test('stopOnEntry stops at the scenario\'s first statement; continue runs to the end: terminated, with the summary last', async () => {
  const d = await atEntry();
  await d.rt.continue();
  const events = d.take();
  assert.deepEqual(events.filter((e) => e.type === 'stopped'), []);
  assert.deepEqual(events[events.length - 1], { type: 'terminated' });
  const summary = events[events.length - 2];
  assert.deepEqual(summary, { type: 'output', category: 'console', text: 'every thread has finished: 2 assertion(s) held, 0 failed; 0 invariant violation(s)' });
});

test('step over steps over a call and a whole guest run; step in enters the callee and the guest; step out of the guest stops after its VM exit', async () => {
  const d = await atEntry();
  const loop = L('reason = vmenter(vcpu)');
  await d.rt.stepOver(); // v = make_vcpu(0): the call stepped over
  assert.deepEqual([d.lastStop().reason, ...d.stack()], ['step', `qemu.vcpu0:${L('r = run_vcpu(v)')}`]);
  await d.rt.stepIn(); // into run_vcpu
  assert.deepEqual([d.lastStop().reason, ...d.stack()], ['step', `run_vcpu:${L('while (1)')}`, `qemu.vcpu0:${L('r = run_vcpu(v)')}`]);
  await d.rt.stepIn();
  assert.deepEqual(d.stack(), [`run_vcpu:${loop}`, `qemu.vcpu0:${L('r = run_vcpu(v)')}`]);
  await d.rt.stepIn(); // vmenter: the guest's first statement, above the [VM entry] label
  assert.deepEqual(d.stack(), [`guest:main:${L('xsetbv(0, XFEATURE_MASK_FPSSE')}`, '[VM entry]', `run_vcpu:${loop}`, `qemu.vcpu0:${L('r = run_vcpu(v)')}`]);
  await d.rt.stepOut(); // the guest is left only through a VM exit (its XSETBV): back on the vmenter line
  assert.deepEqual([d.lastStop().reason, ...d.stack()], ['step', `run_vcpu:${loop}`, `qemu.vcpu0:${L('r = run_vcpu(v)')}`]);
  await d.rt.stepOver(); // the rest of that line: reason = ...
  assert.deepEqual(d.stack(), [`run_vcpu:${L('if (reason == EXIT_REASON_XSETBV)')}`, `qemu.vcpu0:${L('r = run_vcpu(v)')}`]);
  await d.rt.stepOut(); // the rest of the run loop, guest and its #NM handler included, to the HLT exit
  assert.deepEqual([d.lastStop().reason, ...d.stack()], ['step', `qemu.vcpu0:${L('assert(r == EXIT_REASON_HLT')}`]);
  assert.equal(d.rt.engine!.state.passedAssertions, 1); // the guest's handler ran on the way
});

test('a line breakpoint stops with its id; an exception filter stops at the guest #NM on the faulting TILELOADD', async () => {
  const d = await atEntry();
  const [bp] = d.rt.setLineBreakpoints(FILE, [{ line: L('wrmsr(MSR_IA32_XFD, XFEATURE_MASK_XTILEDATA)') }, { line: L('fn main()') }]);
  assert.equal(bp!.verified, true);
  assert.deepEqual(d.rt.setLineBreakpoints(FILE, [{ line: L('wrmsr(MSR_IA32_XFD, XFEATURE_MASK_XTILEDATA)') }, { line: L('fn main()') }])[1],
    { id: 2, verified: false, line: L('fn main()'), message: 'no statement starts on this line' });
  await d.rt.continue();
  assert.deepEqual(d.lastStop(), { reason: 'breakpoint', thread: 0, hitBreakpointIds: [bp!.id!] });
  assert.equal(d.stack()[0], `guest:main:${L('wrmsr(MSR_IA32_XFD, XFEATURE_MASK_XTILEDATA)')}`);
  d.rt.setLineBreakpoints(FILE, []);
  d.rt.setExceptionFilters(['nm']);
  await d.rt.continue();
  const stop = d.lastStop();
  assert.equal(stop.reason, 'exception');
  assert.equal(stop.description, 'guest #NM');
  assert.equal(stop.exception?.exceptionId, '#NM');
  assert.equal(d.stack()[0], `guest:main:${L('tileloadd(tmm0)')}`);
  assert.equal(d.rt.lastStop?.exception?.exceptionId, '#NM');
});

test('step back returns to the previous statement with the previous values; reverse continue stops at the last earlier breakpoint hit, then at the start', async () => {
  const d = await atEntry();
  const ldtilecfg = L('ldtilecfg(palette: 1');
  d.rt.setLineBreakpoints(FILE, [{ line: ldtilecfg }]);
  await d.rt.continue();
  assert.deepEqual([d.lastStop().reason, d.stack()[0]], ['breakpoint', `guest:main:${ldtilecfg}`]);
  await d.rt.stepOver(); // LDTILECFG: TILECFG leaves its init state (XINUSE bit 17)
  assert.equal(d.stack()[0], `guest:main:${L('tileloadd(tmm0)')}`);
  assert.equal(d.rt.engine!.state.cpus[0]!.xinuse & (1n << 17n), 1n << 17n);
  d.rt.stepBack();
  assert.deepEqual([d.lastStop().reason, d.stack()[0]], ['breakpoint', `guest:main:${ldtilecfg}`]); // the breakpoint holds there again
  assert.equal(d.rt.engine!.state.cpus[0]!.xinuse & (1n << 17n), 0n);
  d.rt.setLineBreakpoints(FILE, []);
  d.rt.stepBack();
  assert.deepEqual([d.lastStop().reason, d.stack()[0]], ['step', `guest:main:${L('wrmsr(MSR_IA32_XFD, XFEATURE_MASK_XTILEDATA)')}`]);
  d.rt.setLineBreakpoints(FILE, [{ line: L('v = make_vcpu(0)') }, { line: L('vcpu->vmcs = vmcs_alloc()') }]);
  d.rt.reverseContinue();
  assert.deepEqual([d.lastStop().reason, d.stack()[0]], ['breakpoint', `make_vcpu:${L('vcpu->vmcs = vmcs_alloc()')}`]);
  d.rt.reverseContinue(); // line 'v = make_vcpu(0)' held at the start, before any step: nothing earlier holds
  assert.deepEqual([d.lastStop().reason, ...d.stack()], ['entry', `qemu.vcpu0:${L('v = make_vcpu(0)')}`]);
});

test('restart frame goes back to the statement where the frame was entered, with reason restart', async () => {
  const d = await atEntry();
  d.rt.setLineBreakpoints(FILE, [{ line: L('vmcs_write(vcpu->vmcs, EXCEPTION_BITMAP') }]);
  await d.rt.continue();
  assert.deepEqual(d.stack(), [`make_vcpu:${L('vmcs_write(vcpu->vmcs, EXCEPTION_BITMAP')}`, `qemu.vcpu0:${L('v = make_vcpu(0)')}`]);
  d.rt.setLineBreakpoints(FILE, []);
  // make_vcpu's frame, entered by the run's very first step: back to its first statement, with the
  // machine as it was there (no vCPU allocated yet).
  d.rt.restartFrame(0, 1);
  assert.deepEqual([d.lastStop().reason, d.lastStop().description, ...d.stack()],
    ['restart', 'frame restarted', `make_vcpu:${L('xsetbv(0, 1)')}`, `qemu.vcpu0:${L('v = make_vcpu(0)')}`]);
  assert.equal(d.rt.engine!.state.steps, 1);
  // The outermost frame goes back to where the thread began: the start of the run.
  d.rt.restartFrame(0, 0);
  assert.deepEqual([d.lastStop().reason, ...d.stack()], ['restart', `qemu.vcpu0:${L('v = make_vcpu(0)')}`]);
  assert.equal(d.rt.engine!.state.steps, 0);
  assert.throws(() => d.rt.restartFrame(0, 7), (e: unknown) => e instanceof RuntimeError && e.kind === 'badFrame');
});

test('a function breakpoint stops on entry to the function; a data breakpoint when IA32_XFD_ERR changes, with old and new value', async () => {
  const d = await atEntry();
  const [fn] = d.rt.setFunctionBreakpoints([{ name: 'exc_device_not_available' }]);
  await d.rt.continue();
  assert.deepEqual(d.lastStop(), { reason: 'function breakpoint', thread: 0, hitBreakpointIds: [fn!.id!], description: 'entered guest:exc_device_not_available' });
  assert.equal(d.stack()[0], `guest:exc_device_not_available:${L('err = rdmsr(MSR_IA32_XFD_ERR)')}`);
  d.rt.setFunctionBreakpoints([]);
  const id = d.rt.dataIdOf({ kind: 'register', cpu: 0, name: 'IA32_XFD_ERR' });
  assert.equal(id, 'cpu0.IA32_XFD_ERR');
  const [data] = d.rt.setDataBreakpoints([{ dataId: id! }]);
  await d.rt.continue();
  assert.deepEqual(d.lastStop(), {
    reason: 'data breakpoint', thread: 0, hitBreakpointIds: [data!.id!], description: 'cpu0.IA32_XFD_ERR changed',
    text: 'cpu0.IA32_XFD_ERR: 0x40000 [XTILEDATA] -> 0x0',
  });
  // The handler's WRMSR of 0 has run: the thread stands on the next statement.
  assert.equal(d.stack()[0], `guest:exc_device_not_available:${L('wrmsr(MSR_IA32_XFD, 0)')}`);
});

test('pause stops a continue that would never end, inside the loop; the step budget stops it with a reason and a line on stderr', async () => {
  const spin = fixture('runaway.xsave');
  const d = new Driven();
  await d.launch({ program: spin, stopOnEntry: true, maxSteps: 1e12 });
  d.take();
  const run = d.rt.continue();
  assert.equal(d.rt.isRunning, true);
  await new Promise((r) => setTimeout(r, 50));
  d.rt.pause();
  await run;
  assert.equal(d.lastStop().reason, 'pause');
  assert.match(d.stack()[0]!, /^spin\.main:[567]$/);

  const b = new Driven();
  await b.launch({ program: spin, stopOnEntry: true, maxSteps: 5000 });
  b.take();
  await b.rt.continue();
  assert.deepEqual(b.lastStop(), { reason: 'pause', thread: 0, description: 'step budget exhausted' });
  assert.deepEqual(b.lines('stderr'), ['the step budget of 5000 statements ran out (launch attribute maxSteps)']);
});

test('a run request while the machine runs is refused (busy), and before a launch (nothing launched)', async () => {
  const idle = new Driven();
  assert.throws(() => idle.rt.stepIn(), (e: unknown) => e instanceof RuntimeError && e.kind === 'notLaunched');
  assert.throws(() => idle.rt.restart(), (e: unknown) => e instanceof RuntimeError && e.kind === 'notLaunched' && e.message === 'restart: nothing was launched');
  const d = new Driven();
  await d.launch({ program: fixture('runaway.xsave'), stopOnEntry: true, maxSteps: 1e12 });
  const run = d.rt.continue();
  assert.throws(() => d.rt.stepOver(), (e: unknown) => e instanceof RuntimeError && e.kind === 'busy' && e.message === 'the machine is running: pause it first');
  assert.throws(() => d.rt.stepBack(), (e: unknown) => e instanceof RuntimeError && e.kind === 'busy');
  d.rt.pause();
  await run;
  assert.equal(d.lastStop().reason, 'pause');
});

test('the hardware trace goes to the console as stdout lines, each VM entry..exit a collapsed group closed at its exit', async () => {
  const d = await atEntry();
  await d.rt.stepOver();
  await d.rt.stepOver(); // r = run_vcpu(v): the whole guest run
  const out = d.take().filter((e) => e.type === 'output');
  const entry = out.findIndex((e) => e.type === 'output' && e.group === 'startCollapsed');
  assert.ok(entry >= 0);
  assert.match(out[entry]!.type === 'output' ? out[entry]!.text : '', /^\[\d+\] cpu0 VM entry \(vcpu 0\)$/);
  const end = out.findIndex((e, k) => k > entry && e.type === 'output' && e.group === 'end');
  assert.ok(end > entry + 1);
  assert.match(out[end - 1]!.type === 'output' ? out[end - 1]!.text : '', /VM exit/);
});

test('a scenario with errors is refused at launch with file:line:col diagnostics; so is a missing program', async () => {
  const d = new Driven();
  await assert.rejects(d.rt.launch({ program: fixture('broken.xsave') }), (e: unknown) => e instanceof RuntimeError && e.kind === 'launch' &&
    /^the scenario has errors:\n.*broken\.xsave:4:9: error: unknown name 'undefined_thing'/.test(e.message));
  await assert.rejects(d.rt.launch({ program: '' }), (e: unknown) => e instanceof RuntimeError && e.message === "launch: 'program' must name a scenario file (.xsave)");
  assert.equal(d.rt.engine, null);
});
