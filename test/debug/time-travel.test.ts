// Step back and reverse continue (snapshots plus replay, src/sim/history.ts) through a real DAP
// client: the previous line with the previous values, breakpoints honoured in reverse, the start of
// the run as the floor, and going forward again after going back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { example, launchStopped, scope, stack, stopAfter, withClient } from './support';

test('stepBack returns to the previous line with the previous values (LDTILECFG undone: XINUSE loses XTILECFG)', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc, 'linux-5.17');
    await dc.setBreakpointsRequest({ source: { path: example }, breakpoints: [{ line: 23 }] });
    const at23 = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    const t = at23.body.threadId!;
    assert.equal((await stack(dc, t))[0], 'guest:main:23');
    await dc.setBreakpointsRequest({ source: { path: example }, breakpoints: [] }); // else step back lands on it as 'breakpoint'
    const before = (await scope(dc, t, 'CPU 0')).XINUSE!.value;
    assert.doesNotMatch(before, /XTILECFG/);
    const step = await stopAfter(dc, () => dc.nextRequest({ threadId: t }));
    assert.equal(step.body.reason, 'step');
    assert.equal((await stack(dc, t))[0], 'guest:main:24');
    assert.match((await scope(dc, t, 'CPU 0')).XINUSE!.value, /XTILECFG/); // LDTILECFG: TILECFG no longer in its init configuration
    const back = await stopAfter(dc, () => dc.stepBackRequest({ threadId: t }));
    assert.equal(back.body.reason, 'step');
    assert.equal((await stack(dc, t))[0], 'guest:main:23');
    assert.equal((await scope(dc, t, 'CPU 0')).XINUSE!.value, before);
    // Forward again: the same line and the same values as the first time.
    await stopAfter(dc, () => dc.nextRequest({ threadId: t }));
    assert.equal((await stack(dc, t))[0], 'guest:main:24');
    assert.match((await scope(dc, t, 'CPU 0')).XINUSE!.value, /XTILECFG/);
  });
});

test('reverseContinue stops at the last earlier hit of a line breakpoint, then at a data breakpoint, then at the start', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc, 'linux-5.17');
    await dc.setBreakpointsRequest({ source: { path: example }, breakpoints: [{ line: 25 }] });
    const hlt = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    const t = hlt.body.threadId!;
    assert.equal((await stack(dc, t))[0], 'guest:main:25');
    await dc.setBreakpointsRequest({ source: { path: example }, breakpoints: [{ line: 17 }] });
    const rev = await stopAfter(dc, () => dc.reverseContinueRequest({ threadId: t }));
    assert.equal(rev.body.reason, 'breakpoint');
    assert.equal((await stack(dc, t))[0], 'guest:exc_device_not_available:17');
    assert.equal((await scope(dc, t, 'Locals')).err!.value, '0x40000');
    await dc.setBreakpointsRequest({ source: { path: example }, breakpoints: [] });
    await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: 'cpu0.XCR0' }] });
    const xcr0 = await stopAfter(dc, () => dc.reverseContinueRequest({ threadId: t }));
    assert.equal(xcr0.body.reason, 'data breakpoint');
    assert.match(xcr0.body.text!, /^cpu0\.XCR0: .* -> 0x60007 \[x87 SSE YMM XTILECFG XTILEDATA\]$/); // the last XCR0 change before line 17
    await dc.setDataBreakpointsRequest({ breakpoints: [] });
    await dc.setExceptionBreakpointsRequest({ filters: [] });
    const start = await stopAfter(dc, () => dc.reverseContinueRequest({ threadId: t }));
    assert.equal(start.body.reason, 'entry');
    assert.deepEqual(await stack(dc, start.body.threadId!), ['start_kernel:106']);
  });
});
