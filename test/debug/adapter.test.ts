// The adapter as its own process (node dist/adapter.js) driven by a real DAP client: launch,
// threads, the guest's stack above [VM entry], the scopes of DESIGN §7, capabilities, restart,
// terminate, and bad requests answered with errors a person can act on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { join } from 'node:path';
import { adapter, children, errorOf, example, fixture, launchStopped, root, scope, stack, stopAfter, withClient } from './support';

const fpuXsave = join(root, 'src', 'kernel', 'fpu.xsave');

test('initialize declares the capabilities the handlers implement, with the exception filters', async () => {
  await withClient(async (dc) => {
    const r = await dc.initializeRequest({ adapterID: 'xsave', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
    const c = r.body!;
    for (const k of ['supportsConfigurationDoneRequest', 'supportsConditionalBreakpoints', 'supportsHitConditionalBreakpoints', 'supportsLogPoints',
      'supportsFunctionBreakpoints', 'supportsDataBreakpoints', 'supportsStepBack', 'supportsSetVariable', 'supportsSetExpression',
      'supportsReadMemoryRequest', 'supportsWriteMemoryRequest', 'supportsExceptionInfoRequest', 'supportsEvaluateForHovers',
      'supportsCompletionsRequest', 'supportsRestartRequest', 'supportsTerminateRequest', 'supportsExceptionFilterOptions'] as const) {
      assert.equal(c[k], true, k);
    }
    assert.deepEqual(c.exceptionBreakpointFilters!.map((f) => f.label), ['#NM', '#GP', '#UD', 'VM exit', 'XFD_ERR set', 'assertion failed', 'invariant violated']);
    assert.deepEqual(c.exceptionBreakpointFilters!.filter((f) => f.default).map((f) => f.filter), ['assertion', 'invariant']);
  });
});

test('a breakpoint in the guest #NM handler: guest frames above [VM entry] above the run loop, with sources on disk', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc);
    const bps = await dc.setBreakpointsRequest({ source: { path: example }, breakpoints: [{ line: 15 }, { line: 9 }] });
    assert.deepEqual(bps.body.breakpoints.map((b) => [b.verified, b.message]), [[true, undefined], [false, 'no statement starts on this line']]);
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.assertStoppedLocation('breakpoint', { path: example, line: 15 })]);
    const threads = await dc.threadsRequest();
    assert.deepEqual(threads.body.threads.map((t) => t.name), ['qemu.vcpu0', 'other.main']); // qemu.main and the boot thread have exited
    const vcpu = threads.body.threads.find((t) => t.name === 'qemu.vcpu0')!;
    const frames = await stack(dc, vcpu.id);
    assert.equal(frames[0], 'guest:exc_device_not_available:15');
    assert.equal(frames[1], 'guest:main:24'); // the TILELOADD that raised #NM, to run again after the handler
    assert.equal(frames[2], '[VM entry]');
    assert.ok(frames.slice(3).some((f) => f.startsWith('vcpu_enter_guest:')));
    assert.equal(frames[frames.length - 1], 'qemu.vcpu0:37'); // while (kvm_run(vcpu) != KVM_EXIT_HLT)
    const st = await dc.stackTraceRequest({ threadId: vcpu.id });
    assert.equal(st.body.stackFrames[2]!.presentationHint, 'label');
    assert.match(st.body.stackFrames[3]!.source!.path!, /src[/\\]kernel[/\\]kvm\.xsave$/); // policy code opens from disk
    const scopes = await dc.scopesRequest({ frameId: st.body.stackFrames[0]!.id });
    assert.deepEqual(scopes.body.scopes.map((s) => [s.name, s.expensive, s.presentationHint]), [
      ['Locals', false, undefined], ['CPU 0', false, 'registers'], ['vCPU', false, undefined], ['Task', false, undefined],
      ['VMCS', false, undefined], ['Components (CPU 0)', true, 'registers'],
    ]);
    const regs = await scope(dc, vcpu.id, 'CPU 0');
    assert.equal(regs.mode!.value, 'guest (VMX non-root)');
    assert.equal(regs.XCR0!.value, '0x60007 [x87 SSE YMM XTILECFG XTILEDATA]');
    assert.equal(regs.IA32_XFD_ERR!.value, '0x40000 [XTILEDATA]'); // linux-5.17 loaded the guest's value back before entry
    assert.equal(regs.IA32_XFD!.value, '0x40000 [XTILEDATA]');
    const bits = await children(dc, regs.XCR0!.variablesReference);
    assert.deepEqual(Object.entries(bits).map(([k, v]) => `${k}=${v.value}`), ['[0]=x87', '[1]=SSE', '[2]=YMM', '[17]=XTILECFG', '[18]=XTILEDATA']);
  });
});

test('the vCPU scope shows KVM\'s view: guest_fpu with its xfd and xfd_err, and the fpstate decoded from its XSAVE buffer', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc);
    await dc.setBreakpointsRequest({ source: { path: example }, breakpoints: [{ line: 15 }] });
    const ev = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    const vcpu = await scope(dc, ev.body.threadId!, 'vCPU');
    assert.equal(vcpu.vcpu_id!.value, '0x0');
    assert.equal(vcpu.xcr0!.value, '0x60007 [x87 SSE YMM XTILECFG XTILEDATA]');
    const guestFpu = await children(dc, vcpu.guest_fpu!.variablesReference);
    assert.equal(guestFpu.xfeatures!.value, '0x602e7 [x87 SSE YMM OPMASK ZMM_Hi256 Hi16_ZMM PKRU XTILECFG XTILEDATA]');
    const fpstate = await children(dc, guestFpu.fpstate!.variablesReference);
    assert.equal(fpstate.is_guest!.value, 'true'); // a bool in struct fpstate
    // Sizes in decimal as the kernel prints them: the compacted (XSAVES) size of 0x602e7, XTILEDATA 64-byte aligned at 2560.
    assert.equal(fpstate.size!.value, '10752 (0x2a00)');
    assert.match(guestFpu.fpstate!.value, / size 10752 \(0x2a00\) xfeatures 0x/);
    assert.equal(fpstate.xfd!.value, '0x40000 [XTILEDATA]');
    assert.match(fpstate.regs!.memoryReference!, /^0x[0-9a-f]+$/);
    const buf = await children(dc, fpstate.regs!.variablesReference);
    assert.deepEqual(Object.keys(buf).slice(0, 3), ['XSTATE_BV', 'XCOMP_BV', 'format']);
    assert.equal(buf.format!.value, 'compacted');
    // XSAVES format: bit 63 and the kernel's features, supervisor PASID and CET_U included.
    assert.equal(buf.XCOMP_BV!.value, '0x8000000000060ee7 [x87 SSE YMM OPMASK ZMM_Hi256 Hi16_ZMM PKRU PASID CET_U XTILECFG XTILEDATA COMPACTED]');
    assert.match(buf['XTILEDATA (18)']!.value, /at \+0x/);
    const task = await scope(dc, ev.body.threadId!, 'Task');
    assert.equal(task.comm!.value, 'qemu.vcpu0');
    assert.ok(task.fpstate && task.guest_perm && task.perm);
    const vmcs = await scope(dc, ev.body.threadId!, 'VMCS');
    assert.equal(vmcs['MSR bitmap: IA32_XFD_ERR']!.value, 'write'); // reads pass through once the guest has XFD (vmx_vcpu_after_set_cpuid)
    assert.match(vmcs.EXCEPTION_BITMAP!.value, /#NM/); // linux-5.17 intercepts #NM once the guest's XFD is non-zero
  });
});

test('the Components scope decodes the live registers: TILECFG shapes and tile registers with memory references', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc);
    await dc.setBreakpointsRequest({ source: { path: example }, breakpoints: [{ line: 25 }] });
    const ev = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    const comps = await scope(dc, ev.body.threadId!, /^Components/);
    assert.deepEqual(Object.keys(comps), ['x87 (0)', 'SSE (1)', 'YMM (2)', 'OPMASK (5)', 'ZMM_Hi256 (6)', 'Hi16_ZMM (7)', 'PKRU (9)', 'XTILECFG (17)', 'XTILEDATA (18)']);
    assert.equal(comps['XTILECFG (17)']!.value, 'in use');
    const cfg = await children(dc, comps['XTILECFG (17)']!.variablesReference);
    assert.equal(cfg.palette_id!.value, '0x1');
    assert.equal(cfg.tmm0!.value, '16 rows × 64 bytes');
    const data = await children(dc, comps['XTILEDATA (18)']!.variablesReference);
    assert.equal(data.tmm1!.memoryReference, 'cpu0/XTILEDATA+0x400');
    assert.match(data.tmm0!.value, /^16×64 bytes, \d+ non-zero bytes?$/);
    const sse = await children(dc, comps['SSE (1)']!.variablesReference);
    assert.equal(sse.MXCSR!.value, '0x1f80');
    assert.equal(sse.XMM0!.value, '0x00000000000000000000000000000000');
  });
});

test('restart reloads the scenario and stops on entry again; terminate ends the session', async () => {
  await withClient(async (dc) => {
    const t = await launchStopped(dc);
    await stopAfter(dc, () => dc.nextRequest({ threadId: t }));
    const again = await stopAfter(dc, () => dc.customRequest('restart', { arguments: { program: example, policy: 'naive', stopOnEntry: true } }));
    assert.equal(again.body.reason, 'entry');
    // The entry is the scenario's first statement, after the kernel's boot.
    assert.deepEqual(await stack(dc, again.body.threadId!), ['qemu.main:31']);
    await Promise.all([dc.waitForEvent('terminated'), dc.terminateRequest({})]);
  });
});

test('bad requests get error responses a person can act on, and the adapter keeps answering', async () => {
  await withClient(async (dc) => {
    await dc.initializeRequest();
    assert.match(await errorOf(dc.stackTraceRequest({ threadId: 1 })), /no scenario is running: launch one first/);
    assert.match(await errorOf(dc.continueRequest({ threadId: 1 })), /launch one first/);
    const [, , entry] = await Promise.all([dc.configurationDoneRequest(), dc.launch({ program: example, policy: 'naive', stopOnEntry: true } as never), dc.waitForEvent('stopped')]);
    assert.match(await errorOf(dc.variablesRequest({ variablesReference: 987654 })), /no variables reference 987654 \(references are valid until the next stop\)/);
    assert.match(await errorOf(dc.scopesRequest({ frameId: 999999 })), /no frame 999999/);
    assert.match(await errorOf(dc.evaluateRequest({ expression: 'XCR0 +', context: 'repl' })), /expected an expression/);
    assert.match(await errorOf(dc.evaluateRequest({ expression: 'XFEATURE_MASK_XTILEDAT', context: 'watch' })), /unknown name 'XFEATURE_MASK_XTILEDAT'.*XFEATURE_MASK_XTILEDATA/);
    assert.match(await errorOf(dc.evaluateRequest({ expression: 'rdmsr(MSR_IA32_XFD_ERR)', context: 'watch' })), /is not evaluated: a call runs instructions/);
    assert.match(await errorOf(dc.customRequest('readMemory', { memoryReference: 'nowhere', count: 4 })), /expected 0xADDRESS or cpuN\/COMPONENT/);
    assert.match(await errorOf(dc.customRequest('xsave/nonsense')), /unknown request 'xsave\/nonsense'/);
    assert.match(await errorOf(dc.exceptionInfoRequest({ threadId: 1 })), /the last stop was not an exception/);
    const st = await dc.stackTraceRequest({ threadId: (entry as DebugProtocol.StoppedEvent).body.threadId! });
    assert.equal(st.body.stackFrames[0]!.name, 'qemu.main');
  });
});

test('a scenario with errors fails to launch with file:line:col diagnostics; a missing program is an error', async () => {
  const dc = new DebugClient('node', adapter, 'xsave');
  await dc.start();
  try {
    await dc.initializeRequest();
    const bad = await errorOf(dc.launch({ program: fixture('broken.xsave') } as never));
    assert.match(bad, /the scenario has errors:\n.*broken\.xsave:4:9: error: unknown name 'undefined_thing'/);
    assert.match(bad, /broken\.xsave:5:11: error: .*MSR_IA32_XFD_ERRR.*MSR_IA32_XFD_ERR/);
    assert.match(await errorOf(dc.launch({ program: fixture('nope.xsave') } as never)), /cannot read/);
    assert.match(await errorOf(dc.launch({ program: '' } as never)), /'program' must name a scenario file/);
    assert.match(await errorOf(dc.launch({ program: example, policy: 'linux-9.99' } as never)), /linux-9\.99/);
  } finally {
    await dc.stop();
  }
});

test('stopOnEntry stops at the scenario\'s first statement, after the boot; a breakpoint in the boot code still stops there', async () => {
  await withClient(async (dc) => {
    assert.deepEqual(await stack(dc, await launchStopped(dc)), ['qemu.main:31']);
  });
  await withClient(async (dc) => {
    const [, , ev] = await Promise.all([
      (async () => {
        await dc.waitForEvent('initialized');
        await dc.setBreakpointsRequest({ source: { path: fpuXsave }, breakpoints: [{ line: 107 }] });
        await dc.configurationDoneRequest();
      })(),
      dc.launch({ program: example, policy: 'linux-5.17', stopOnEntry: true } as never),
      dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>,
    ]);
    assert.equal(ev.body.reason, 'breakpoint');
    assert.deepEqual(await stack(dc, ev.body.threadId!), ['start_kernel:107']);
  });
});

test('step in, over and out move through the boot code frame by frame', async () => {
  await withClient(async (dc) => {
    const t = await launchStopped(dc);
    // Back to the start of the run: the kernel's boot.
    const start = await stopAfter(dc, () => dc.reverseContinueRequest({ threadId: t }));
    assert.equal(start.body.threadId, 1);
    assert.deepEqual(await stack(dc, 1), ['start_kernel:106']);
    await stopAfter(dc, () => dc.stepInRequest({ threadId: 1 }));
    assert.deepEqual((await stack(dc, 1)).map((x) => x.split(':')[0]), ['fpu__init_system_xstate', 'start_kernel']);
    const next = await stopAfter(dc, () => dc.nextRequest({ threadId: 1 }));
    assert.equal(next.body.reason, 'step');
    assert.equal((await stack(dc, 1)).length, 2);
    await stopAfter(dc, () => dc.stepOutRequest({ threadId: 1 }));
    assert.deepEqual((await stack(dc, 1)).map((x) => x.split(':')[0]), ['start_kernel']);
  });
});
