// The pictures' custom requests through a real DAP client (the adapter as its own process):
// `xsave/timeline` (a window of the run's timeline with the position), `xsave/travel` (to any
// recorded step, before or after the present, with a stop there), `xsave/layout` (an XSAVE area's
// blocks at the model's offsets), and error responses for bad arguments. On
// examples/xfd-err-leak.xsave under linux-5.17: the guest's TILELOADD #NM is intercepted (VM exit
// EXCEPTION_NMI at step 2156, SDM Vol3 27.2.2) and KVM injects it back at step 2213.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { LayoutData } from '../../src/runtime/layout-view';
import type { TimelineBody } from '../../src/runtime/timeline-view';
import { example, launchStopped, scope, stack, stopAfter, withClient } from './support';

async function custom<T>(dc: DebugClient, command: string, args?: unknown): Promise<T> {
  const r = await dc.customRequest(command, args);
  return r.body as T;
}

/** Sends a request and returns its error message (the request must fail). */
async function refused(dc: DebugClient, command: string, args?: unknown): Promise<string> {
  try {
    await dc.customRequest(command, args);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${command} succeeded`);
}

/** Stopped at the guest #NM handler's first line (15), step 2214 of the run. */
async function atHandler(dc: DebugClient): Promise<number> {
  await launchStopped(dc, 'linux-5.17');
  await dc.setBreakpointsRequest({ source: { path: example }, breakpoints: [{ line: 15 }] });
  const ev = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
  assert.equal(ev.body.reason, 'breakpoint');
  return ev.body.threadId!;
}

test('xsave/timeline: lanes, the guest #NM mark at its step, IA32_XFD_ERR set at that step, the cursor at the stop', async () => {
  await withClient(async (dc) => {
    const t = await atHandler(dc);
    const w = await custom<TimelineBody>(dc, 'xsave/timeline');
    assert.equal(w.start, 0);
    assert.equal(w.from, 0);
    assert.equal(w.to, w.end + 1);
    assert.equal(w.position, w.end, 'the machine stands at the last recorded step');
    assert.deepEqual(w.lanes.map((l) => l.title), ['cpu0', 'kernel.start_kernel', 'qemu.main', 'qemu.vcpu0', 'other.main']);
    const cpu0 = w.lanes[0]!;
    const nm = cpu0.marks.find((m) => m.kind === 'nm' && m.step === 2156);
    assert.ok(nm, JSON.stringify(cpu0.marks));
    assert.match(nm.text, /^guest #NM, intercepted: VM exit EXCEPTION_NMI \(#NM: TILELOADD uses XTILEDATA/);
    // The guest ran [2153, 2156) and left with that exit.
    assert.ok(cpu0.spans.some((s) => s.kind === 'guest' && s.from === 2153 && s.to === 2156 && s.label === 'EXCEPTION_NMI' && s.count === 1));
    const xfdErr = w.tracks.find((x) => x.id === 'cpu0.IA32_XFD_ERR')!;
    const seg = xfdErr.segments.find((s) => s.from === 2156)!;
    assert.equal(xfdErr.values[seg.value]!.hex, '0x40000');
    assert.equal(xfdErr.values[seg.value]!.text, '0x40000 [XTILEDATA]');
    assert.equal(typeof xfdErr.values[seg.value]!.hex, 'string', '64-bit values travel as hex text');
    assert.deepEqual(await stack(dc, t).then((s) => s[0]), 'guest:exc_device_not_available:15');
  });
});

test('xsave/travel: back to the guest #NM (a goto stop with the state of that step), forward again to where it was, and the bounds', async () => {
  await withClient(async (dc) => {
    const t = await atHandler(dc);
    const before = await custom<TimelineBody>(dc, 'xsave/timeline', { buckets: 10 });
    const [ev, r] = await Promise.all([dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>, dc.customRequest('xsave/travel', { step: 2156 })]);
    assert.deepEqual(r.body, { position: 2156 });
    assert.equal(ev.body.reason, 'goto');
    assert.equal(ev.body.description, 'step 2156');
    // After the VM exit: the host's run loop, IA32_XFD_ERR holding the guest's bit (linux-5.17 saves it next).
    assert.equal((await stack(dc, t))[0], 'vcpu_enter_guest:199'); // `let reason = vmenter(vcpu);` completes next step
    assert.equal((await scope(dc, t, 'CPU 0')).IA32_XFD_ERR!.value, '0x40000 [XTILEDATA]');
    const w = await custom<TimelineBody>(dc, 'xsave/timeline', { buckets: 10 });
    assert.equal(w.position, 2156);
    assert.equal(w.end, before.end, 'the recording keeps the steps after the travel');
    // One step before: the guest at its TILELOADD, XFD_ERR still clear.
    await stopAfter(dc, () => dc.customRequest('xsave/travel', { step: 2155 }));
    assert.equal((await stack(dc, t))[0], 'guest:main:24');
    assert.equal((await scope(dc, t, 'CPU 0')).IA32_XFD_ERR!.value, '0x0');
    // Forward to the step of the breakpoint stop: the same line and values as before.
    await stopAfter(dc, () => dc.customRequest('xsave/travel', { step: before.end }));
    assert.equal((await stack(dc, t))[0], 'guest:exc_device_not_available:15');
    assert.equal((await scope(dc, t, 'CPU 0')).IA32_XFD_ERR!.value, '0x40000 [XTILEDATA]');
    assert.equal(await refused(dc, 'xsave/travel', { step: before.end + 1 }), `xsave/travel: step ${before.end + 1} is after the last step run (${before.end}): continue to run further first`);
    // Continuing from a travelled-to step runs on as the run did: the session ends normally.
    await stopAfter(dc, () => dc.customRequest('xsave/travel', { step: 900 }));
    await dc.setBreakpointsRequest({ source: { path: example }, breakpoints: [] });
    await Promise.all([dc.waitForEvent('terminated'), dc.continueRequest({ threadId: t })]);
  });
});

test('xsave/travel to a step whose exception filter holds reports that exception', async () => {
  await withClient(async (dc) => {
    const t = await atHandler(dc);
    await dc.setExceptionBreakpointsRequest({ filters: ['vmexit'] });
    const ev = await stopAfter(dc, () => dc.customRequest('xsave/travel', { step: 2156 }));
    assert.equal(ev.body.reason, 'exception');
    assert.match(ev.body.text ?? '', /EXCEPTION_NMI/);
    const info = await dc.exceptionInfoRequest({ threadId: t });
    assert.match(info.body.description ?? '', /EXCEPTION_NMI/);
  });
});

test('xsave/layout: cpu0 standard (TILEDATA at 2816, XFD-disabled), the guest fpstate compacted (TILEDATA at 2560), XCOMP_BV as hex', async () => {
  await withClient(async (dc) => {
    await atHandler(dc);
    const cpu = await custom<LayoutData>(dc, 'xsave/layout');
    assert.equal(cpu.area.id, 'cpu:0');
    assert.equal(cpu.area.format, 'standard');
    const td = cpu.blocks.find((b) => b.name === 'XTILEDATA')!;
    assert.deepEqual([td.offset, td.size], [2816, 8192]);
    assert.equal(td.xfdDisabled, true, 'the guest set IA32_XFD = XTILEDATA');
    assert.ok(td.classes.includes('xfd'));
    assert.equal(cpu.registers.IA32_XFD.hex, '0x40000');
    assert.equal(td.memoryReference, 'cpu0/XTILEDATA');
    const guest = cpu.areas.find((a) => /^vcpu 0: arch\.guest_fpu\.fpstate /.test(a.title));
    assert.ok(guest, cpu.areas.map((a) => a.title).join('\n'));
    const g = await custom<LayoutData>(dc, 'xsave/layout', { area: guest.id });
    assert.equal(g.area.format, 'compacted');
    assert.equal(g.header.XCOMP_BV.hex, '0x8000000000060ee7');
    assert.equal(g.header.XCOMP_BV.text, '0x8000000000060ee7 [x87 SSE YMM OPMASK ZMM_Hi256 Hi16_ZMM PKRU PASID CET_U XTILECFG XTILEDATA COMPACTED]');
    const gtd = g.blocks.find((b) => b.name === 'XTILEDATA')!;
    assert.deepEqual([gtd.offset, gtd.size, gtd.xfdDisabled], [2560, 8192, true]);
    assert.equal(g.xfd.source, 'fpstate->xfd');
    // Stopped in guest code, no local names the vcpu: the task's fpu points to the guest fpstate
    // while the guest runs (fpu_swap_kvm_fpstate), and `current` reaches it from any frame.
    assert.equal(g.area.evaluateName, 'current.thread.fpu.fpstate');
    const watched = await dc.evaluateRequest({ expression: g.area.evaluateName!, context: 'watch' });
    assert.match(watched.body.result, /^fpstate @0x10e000 size 10752/);
    // Its bytes through the memory reference the block names.
    const mem = await dc.customRequest('readMemory', { memoryReference: gtd.memoryReference, count: 16 }) as DebugProtocol.ReadMemoryResponse;
    assert.equal(mem.body!.address, `0x${(BigInt(g.area.address!) + 2560n).toString(16)}`);
    // The Variables view's memory reference of the buffer names the same area.
    const same = await custom<LayoutData>(dc, 'xsave/layout', { area: g.area.address! });
    assert.equal(same.area.id, guest.id);
  });
});

test('the pictures answer bad arguments with what to send', async () => {
  await withClient(async (dc) => {
    assert.equal(await refused(dc, 'xsave/layout'), 'no scenario is running: launch one first');
    assert.equal(await refused(dc, 'xsave/timeline'), 'no scenario is running: launch one first');
    await launchStopped(dc, 'linux-5.17');
    const entry = (await custom<TimelineBody>(dc, 'xsave/timeline', { buckets: 1 })).end;
    const cases: Array<[string, unknown, string]> = [
      ['xsave/timeline', { from: 10, to: 5 }, "xsave/timeline: 'to' (5) must be greater than 'from' (10)"],
      ['xsave/timeline', { buckets: 0 }, "xsave/timeline: 'buckets' must be an integer from 1 to 10000 (got 0)"],
      ['xsave/timeline', { from: -1 }, "xsave/timeline: 'from' must be an integer >= 0 (got -1)"],
      ['xsave/timeline', { to: 'end' }, "xsave/timeline: 'to' must be an integer (got \"end\")"],
      ['xsave/travel', {}, "xsave/travel: 'step' is required: an integer >= 0"],
      ['xsave/travel', { step: 1.5 }, "xsave/travel: 'step' must be an integer >= 0 (got 1.5)"],
      ['xsave/travel', { step: 99_999 }, `xsave/travel: step 99999 is after the last step run (${entry}): continue to run further first`],
      ['xsave/layout', { area: 'cpu:9' }, 'xsave/layout: no cpu9 (the machine has 1)'],
      ['xsave/layout', { area: 'fpstate:3' }, "xsave/layout: 'fpstate:3': no fpstate with that id"],
      ['xsave/layout', { area: 'nowhere' }, "xsave/layout: 'nowhere' names no area: use cpu:N, fpstate:ID, mem:0xADDRESS or a memory reference"],
      ['xsave/layout', { area: '0xdead0000' }, 'xsave/layout: 0xdead0000 is not mapped: no XSAVE area there'],
      ['xsave/layout', { area: 'fpstate:1', format: 'compacted' }, "xsave/layout: format: only a CPU's registers can be shown in either format; a buffer is shown in the format its XCOMP_BV says"],
      ['xsave/layout', { format: 'packed' }, "xsave/layout: 'format' must be one of 'standard', 'compacted' (got \"packed\")"],
      ['xsave/layout', { threadId: 99 }, 'xsave/layout: no thread 99'],
      ['xsave/layout', { area: 'x'.repeat(300) }, "xsave/layout: 'area' is too long: at most 200 characters (got 300)"],
    ];
    for (const [command, args, message] of cases) assert.equal(await refused(dc, command, args), message, `${command} ${JSON.stringify(args)}`);
  });
});

test('a step edited by hand cuts the timeline there: later steps are run again and recorded anew', async () => {
  await withClient(async (dc) => {
    const t = await atHandler(dc);
    await stopAfter(dc, () => dc.customRequest('xsave/travel', { step: 900 }));
    const cpu = (await dc.scopesRequest({ frameId: (await dc.stackTraceRequest({ threadId: t })).body.stackFrames[0]!.id })).body.scopes.find((s) => s.name === 'CPU 0')!;
    await dc.setVariableRequest({ variablesReference: cpu.variablesReference, name: 'IA32_XFD_ERR', value: '0x40000' });
    const w = await custom<TimelineBody>(dc, 'xsave/timeline');
    assert.equal(w.end, 900);
    const xfdErr = w.tracks.find((x) => x.id === 'cpu0.IA32_XFD_ERR')!;
    const last = xfdErr.segments[xfdErr.segments.length - 1]!;
    assert.equal(xfdErr.values[last.value]!.hex, '0x40000');
    assert.equal(last.from, 900);
    assert.equal(await refused(dc, 'xsave/travel', { step: 901 }), 'xsave/travel: step 901 is after the last step run (900): continue to run further first');
  });
});
