// DAP conventions a client expects: breakpointLocations (where a breakpoint can stand on a line),
// loadedSources (the kernel and policy files the scenario runs with), restartFrame (back in time to
// where a frame was entered, with a stopped event of reason 'restart').
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { example, launchStopped, stack, stopAfter, withClient } from './support';

test('breakpointLocations lists the statements that start on the lines asked for', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc);
    const r = await dc.customRequest('breakpointLocations', { source: { path: example }, line: 14, endLine: 17 });
    assert.deepEqual(r.body.breakpoints, [{ line: 15, column: 5 }, { line: 16, column: 5 }, { line: 17, column: 5 }]);
    const none = await dc.customRequest('breakpointLocations', { source: { path: example }, line: 13 });
    assert.deepEqual(none.body.breakpoints, []);
  });
});

test('loadedSources names the scenario, its policy and the kernel files', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc, 'linux-5.17');
    const r = await dc.customRequest('loadedSources', {}) as { body: { sources: Array<{ name: string; path?: string }> } };
    assert.deepEqual(r.body.sources.map((s) => s.name), ['xfd-err-leak.xsave', 'signal.xsave', 'fork.xsave', 'ptrace.xsave', 'fpu.xsave', 'kvm-cpuid.xsave', 'kvm.xsave', 'kvm-merged.xsave', 'linux-5.17.xsave']);
    assert.ok(r.body.sources.every((s) => s.path && basename(s.path) === s.name));
  });
});

test('restartFrame goes back to where the frame was entered, with reason restart', async () => {
  await withClient(async (dc) => {
    const t = await launchStopped(dc);
    await dc.setBreakpointsRequest({ source: { path: example }, breakpoints: [{ line: 16 }] });
    const ev = await stopAfter(dc, () => dc.continueRequest({ threadId: t }));
    const th = ev.body.threadId!;
    assert.deepEqual((await stack(dc, th)).slice(0, 2), ['guest:exc_device_not_available:16', 'guest:main:24']);
    const frameId = (await dc.stackTraceRequest({ threadId: th })).body.stackFrames[0]!.id;
    await dc.setBreakpointsRequest({ source: { path: example }, breakpoints: [] });
    const restarted = await stopAfter(dc, () => dc.restartFrameRequest({ frameId }));
    assert.equal(restarted.body.reason, 'restart');
    assert.deepEqual((await stack(dc, th)).slice(0, 2), ['guest:exc_device_not_available:15', 'guest:main:24']);
  });
});
