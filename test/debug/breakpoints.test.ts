// Every breakpoint kind through a real DAP client against node dist/adapter.js, on the seed example
// (examples/xfd-err-leak.xsave): data breakpoints on IA32_XFD_ERR, the exception filters with their
// conditions and exceptionInfo, function breakpoints, and line breakpoints with conditions, hit
// counts and log messages in the language's expression syntax.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { example, launchStopped, scope, stack, stopAfter, withClient } from './support';

test('a data breakpoint on IA32_XFD_ERR (naive) stops at the guest TILELOADD that raised #NM, with IA32_XFD_ERR = 0x40000 (SDM Vol1 13.14)', async () => {
  await withClient(async (dc) => {
    const t = await launchStopped(dc, 'naive');
    const regs = await scope(dc, t, 'CPU 0');
    const cpuRef = (await dc.scopesRequest({ frameId: (await dc.stackTraceRequest({ threadId: t })).body.stackFrames[0]!.id })).body.scopes[1]!.variablesReference;
    const info = await dc.dataBreakpointInfoRequest({ variablesReference: cpuRef, name: 'IA32_XFD_ERR' });
    assert.deepEqual(info.body, { dataId: 'cpu0.IA32_XFD_ERR', description: 'IA32_XFD_ERR (cpu0.IA32_XFD_ERR)', accessTypes: ['write'], canPersist: true });
    assert.equal(regs.IA32_XFD_ERR!.value, '0x0');
    await dc.setExceptionBreakpointsRequest({ filters: [] }); // the invariant stops would come between
    const set = await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: 'cpu0.IA32_XFD_ERR', accessType: 'write' }] });
    assert.equal(set.body.breakpoints[0]!.verified, true);
    const ev = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal(ev.body.reason, 'data breakpoint', JSON.stringify(ev.body));
    assert.deepEqual(ev.body.hitBreakpointIds, [set.body.breakpoints[0]!.id]);
    assert.equal(ev.body.text, 'cpu0.IA32_XFD_ERR: 0x0 -> 0x40000 [XTILEDATA]');
    const frames = await stack(dc, ev.body.threadId!);
    assert.deepEqual(frames.slice(0, 2), ['guest:main:24', '[VM entry]']); // tileloadd(tmm0): recognized, not yet delivered
    assert.equal((await scope(dc, ev.body.threadId!, 'CPU 0')).IA32_XFD_ERR!.value, '0x40000 [XTILEDATA]');
    // Next change: the host's own #NM path (other.main) reads and clears it under naive.
    const next = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal(next.body.reason, 'data breakpoint');
    assert.match(next.body.text!, /^cpu0\.IA32_XFD_ERR: 0x40000 \[XTILEDATA\] -> /);
  });
});

test('the data breakpoint id is stable across runs and takes a condition and a hit count', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc, 'linux-5.17');
    await dc.setExceptionBreakpointsRequest({ filters: [] });
    // The second change of XFD_ERR to a non-zero value: a hit count over the condition.
    const set = await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: 'cpu0.IA32_XFD_ERR', condition: 'IA32_XFD_ERR != 0', hitCondition: '2' }] });
    assert.equal(set.body.breakpoints[0]!.verified, true);
    const ev = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal(ev.body.reason, 'data breakpoint');
    assert.equal(ev.body.text, 'cpu0.IA32_XFD_ERR: 0x0 -> 0x40000 [XTILEDATA]');
    // The guest's #NM set it (1), KVM saved and cleared it, and loads it back before the next
    // entry (2): vcpu_enter_guest's wrmsr of the saved guest value (linux-5.17).
    assert.equal((await stack(dc, ev.body.threadId!))[0], 'vcpu_enter_guest:198');
    const bad = await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: 'cpu7.IA32_XFD_ERR' }, { dataId: 'cpu0.IA32_XFD_ERR', condition: 'IA32_XFD_ERR !=' }] });
    assert.deepEqual(bad.body.breakpoints.map((b) => b.verified), [true, false]);
    assert.match(bad.body.breakpoints[1]!.message!, /expected an expression/);
  });
});

test('the VM exit filter with a condition on the reason stops at the external interrupt: EXTERNAL_INTERRUPT, with exceptionInfo', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc, 'naive');
    await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'vmexit', condition: 'reason == EXIT_REASON_EXTERNAL_INTERRUPT' }] });
    const ev = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal(ev.body.reason, 'exception');
    assert.equal(ev.body.text, 'VM exit: EXTERNAL_INTERRUPT');
    const frames = await stack(dc, ev.body.threadId!);
    assert.match(frames[0]!, /^vcpu_enter_guest:\d+$/); // back in the host, vmenter() completing
    const info = await dc.exceptionInfoRequest({ threadId: ev.body.threadId! });
    assert.equal(info.body.exceptionId, 'VM exit');
    assert.equal(info.body.description, 'EXTERNAL_INTERRUPT (1)');
    assert.match(info.body.details!.message!, /exit reason: 1 \(EXTERNAL_INTERRUPT\)\nexit qualification: 0x0\nexit interruption info: 0x800000/);
    const vcpu = await scope(dc, ev.body.threadId!, 'VMCS');
    assert.equal(vcpu['exit reason']!.value, '1 (EXTERNAL_INTERRUPT)');
  });
});

test('the invariant filter stops where the host runs with the guest\'s XFD_ERR bit (naive): host-sees-guest-xfd-err', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc, 'naive');
    await dc.setExceptionBreakpointsRequest({ filters: ['invariant'] });
    const ev = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal(ev.body.reason, 'exception');
    assert.equal(ev.body.description, 'invariant violated');
    assert.match(ev.body.text!, /^invariant host-sees-guest-xfd-err: interrupts are enabled with IA32_XFD_ERR = 0x40000, set by the guest at step \d+$/);
    const frames = await stack(dc, ev.body.threadId!);
    assert.deepEqual(frames, ['vcpu_enter_guest:204', 'vcpu_run:209', 'kvm_run:239', 'qemu.vcpu0:37']); // local_irq_enable() after the exit
    const info = await dc.exceptionInfoRequest({ threadId: ev.body.threadId! });
    assert.equal(info.body.exceptionId, 'host-sees-guest-xfd-err');
    assert.match(info.body.details!.message!, /^The host runs with interrupts enabled while IA32_XFD_ERR holds a bit the guest set\.\n.*kvm\.xsave:204:3: /);
  });
});

test('#NM with the condition `host` skips the guest\'s #NM and stops at the host task\'s first TILELOADD, with its component and XFD', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc, 'linux-5.17');
    await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'nm', condition: 'host' }] });
    const ev = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal(ev.body.description, 'host #NM');
    assert.deepEqual((await stack(dc, ev.body.threadId!)).slice(0, 1), ['other.main:45']);
    const info = await dc.exceptionInfoRequest({ threadId: ev.body.threadId! });
    assert.equal(info.body.exceptionId, '#NM');
    assert.equal(info.body.details!.message, [
      'instruction: TILELOADD', 'context: host on cpu0', 'cause: XFD (IA32_XFD disables a component the instruction uses)',
      'component: XTILEDATA (18)', 'IA32_XFD: 0x40000 [XTILEDATA]', 'IA32_XFD_ERR: 0x40000 [XTILEDATA]',
    ].join('\n'));
    // Stepping in from the faulting instruction enters the kernel's handler.
    await stopAfter(dc, () => dc.stepInRequest({ threadId: ev.body.threadId! }));
    assert.deepEqual((await stack(dc, ev.body.threadId!)).slice(0, 2).map((f) => f.split(':')[0]), ['exc_device_not_available', 'other.main']);
  });
});

test('XFD_ERR set stops at the guest TILELOADD under naive, and at the #NM VM exit under linux-5.17, which intercepts #NM', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc, 'naive');
    await dc.setExceptionBreakpointsRequest({ filters: ['xfd-err'] });
    const ev = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal(ev.body.description, 'XFD_ERR set');
    assert.equal((await stack(dc, ev.body.threadId!))[0], 'guest:main:24');
    const info = await dc.exceptionInfoRequest({ threadId: ev.body.threadId! });
    assert.equal(info.body.description, 'IA32_XFD_ERR 0x0 -> 0x40000 [XTILEDATA] (guest, cpu0)');
    // #NM with `guest && xfd`: the same instruction.
    await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'nm', condition: 'guest && xfd' }] });
    const again = await stopAfter(dc, () => dc.customRequest('restart', { arguments: { program: example, policy: 'naive' } }));
    assert.equal(again.body.description, 'guest #NM');
    assert.equal((await stack(dc, again.body.threadId!))[0], 'guest:main:24');
  });
  await withClient(async (dc) => {
    await launchStopped(dc, 'linux-5.17');
    await dc.setExceptionBreakpointsRequest({ filters: ['xfd-err'] });
    const ev = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    // The guest's TILELOADD set XFD_ERR and exited (exception bitmap bit 7): KVM's vmenter() returns.
    assert.match((await stack(dc, ev.body.threadId!))[0]!, /^vcpu_enter_guest:\d+$/);
    const vmcs = await scope(dc, ev.body.threadId!, 'VMCS');
    assert.equal(vmcs['exit reason']!.value, '0 (EXCEPTION_NMI)');
  });
});

test('a function breakpoint stops at the first line of the function, for a call and for an exception handler', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc, 'linux-5.17');
    const set = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'exc_device_not_available', condition: '1' }, { name: 'no_such_fn' }] });
    assert.deepEqual(set.body.breakpoints.map((b) => [b.verified, b.message]), [[true, undefined], [false, "no function 'no_such_fn' in the scenario or its policy"]]);
    const ev = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal(ev.body.reason, 'function breakpoint');
    const frames = await stack(dc, ev.body.threadId!);
    assert.deepEqual(frames.slice(0, 2), ['guest:exc_device_not_available:15', 'guest:main:24']);
    // The handler's WRMSRs and HLT exit; the second VM entry after this point stops.
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'vcpu_enter_guest', hitCondition: '>= 2' }] });
    const ev2 = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal(ev2.body.reason, 'function breakpoint');
    assert.deepEqual((await stack(dc, ev2.body.threadId!)).map((f) => f.split(':')[0]), ['vcpu_enter_guest', 'vcpu_run', 'kvm_run', 'qemu.vcpu0']);
  });
});

test('line breakpoints: a condition in the language, a hit count, and a log message with {expression} holes', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc, 'linux-5.17');
    const outputs: string[] = [];
    dc.on('output', (e: DebugProtocol.OutputEvent) => { if (e.body.source) outputs.push(e.body.output); });
    const set = await dc.setBreakpointsRequest({
      source: { path: example },
      breakpoints: [
        { line: 15, logMessage: 'guest #NM: XFD_ERR={IA32_XFD_ERR} XFD={IA32_XFD} vector {7 + 0}' },
        { line: 16, condition: 'err == XFEATURE_MASK_XTILEDATA' },
        { line: 45, hitCondition: 'nonsense' },
      ],
    });
    assert.deepEqual(set.body.breakpoints.map((b) => b.verified), [true, true, false]);
    assert.match(set.body.breakpoints[2]!.message!, /hit condition 'nonsense': expected N, == N, >= N/);
    const ev = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal(ev.body.reason, 'breakpoint');
    assert.equal((await stack(dc, ev.body.threadId!))[0], 'guest:exc_device_not_available:16');
    const locals = await scope(dc, ev.body.threadId!, 'Locals');
    assert.equal(locals.err!.value, '0x40000');
    // The logpoint on the line before printed and did not stop; twice, because the scenario's
    // external interrupt exits before that line runs and the guest arrives at it again.
    assert.deepEqual(outputs, Array(2).fill('guest #NM: XFD_ERR=0x40000 XFD=0x40000 vector 0x7\n'));
  });
});

test('a condition that fails at run time stops at its breakpoint and says why, rather than hiding it or crashing', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc, 'linux-5.17');
    await dc.setBreakpointsRequest({ source: { path: example }, breakpoints: [{ line: 16, condition: 'err.xfd == 0' }] });
    const ev = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal(ev.body.reason, 'breakpoint');
    assert.equal(ev.body.description, "condition failed: 'xfd' of an integer (0x40000), not an object");
    assert.equal((await stack(dc, ev.body.threadId!))[0], 'guest:exc_device_not_available:16');
    // The adapter goes on answering.
    assert.equal((await dc.threadsRequest()).body.threads.length > 0, true);
  });
});
