// A stop on a VM exit says what the guest did: the MSR and the value of a WRMSR exit, the XCR and
// the value of an XSETBV exit (the operands hardware leaves in the guest's ECX and EDX:EAX, SDM
// Vol3 28.1), in the stop text, in exceptionInfo and in a "VM exit" scope, since the host has not
// read the reason into its locals yet. The filter's condition can name the operands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { children, launchStopped, root, stopAfter, withClient } from './support';
import { join } from 'node:path';

const example = join(root, 'examples', 'guest-amx-enable.xsave');

test('XSETBV and WRMSR exits name their operands; the "VM exit" scope comes first at that stop only', async () => {
  await withClient(async (dc) => {
    const t0 = await launchStopped(dc, 'linux-5.17', example);
    await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'vmexit', condition: 'reason == 55 || (reason == 32 && msr == MSR_IA32_XFD)' }] });
    const xsetbv = await stopAfter(dc, () => dc.continueRequest({ threadId: t0 }));
    assert.equal(xsetbv.body.text, 'VM exit: XSETBV: XCR0 := 0x60007 [x87 SSE YMM XTILECFG XTILEDATA]');
    const t = xsetbv.body.threadId!;
    const info = await dc.exceptionInfoRequest({ threadId: t });
    assert.equal(info.body.description, 'XSETBV (55): XCR0 := 0x60007 [x87 SSE YMM XTILECFG XTILEDATA]');
    const wrmsr = await stopAfter(dc, () => dc.continueRequest({ threadId: t }));
    assert.equal(wrmsr.body.text, 'VM exit: MSR_WRITE: IA32_XFD := 0x40000 [XTILEDATA]');
    const frameId = (await dc.stackTraceRequest({ threadId: t })).body.stackFrames[0]!.id;
    const scopes = (await dc.scopesRequest({ frameId })).body.scopes;
    assert.deepEqual(scopes.map((s) => s.name).slice(0, 2), ['VM exit', 'Locals']);
    const exit = await children(dc, scopes[0]!.variablesReference);
    assert.deepEqual(Object.fromEntries(Object.entries(exit).map(([k, v]) => [k, v.value])), {
      'exit reason': '32 (MSR_WRITE)', 'exit qualification': '0x0', 'exit interruption info': '0x0',
      'MSR (ECX)': '0x1c4 (IA32_XFD)', 'value (EDX:EAX)': '0x40000 [XTILEDATA]', cause: 'WRMSR IA32_XFD := 0x40000', cpu: '0',
    });
    // A step later the stop is no VM exit: the scope is gone.
    await stopAfter(dc, () => dc.nextRequest({ threadId: t }));
    const after = (await dc.scopesRequest({ frameId: (await dc.stackTraceRequest({ threadId: t })).body.stackFrames[0]!.id })).body.scopes;
    assert.equal(after[0]!.name, 'Locals');
  });
});
