// The Debug Console while stopped inside a guest run: no trace group is left open at a stop, so an
// evaluate's answer is shown at top level, and the VM entry's later trace lines open a group of
// their own ("VM entry continued") instead of landing in an old one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { example, launchStopped, stopAfter, withClient } from './support';

test('a stop in the guest closes the VM entry group; the evaluate answer is outside any group; the run goes on in a "continued" group', async () => {
  await withClient(async (dc) => {
    const events: Array<{ kind: 'output'; group?: string; text: string } | { kind: 'stopped' }> = [];
    dc.on('output', (e: DebugProtocol.OutputEvent) => events.push({ kind: 'output', group: e.body.group, text: e.body.output }));
    dc.on('stopped', () => events.push({ kind: 'stopped' }));
    await launchStopped(dc, 'linux-5.17');
    await dc.setBreakpointsRequest({ source: { path: example }, breakpoints: [{ line: 16 }] });
    const ev = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal(ev.body.reason, 'breakpoint');
    // Depth of open groups just before the breakpoint's stopped event: 0.
    const depthAt = (n: number) => events.slice(0, n).reduce((d, x) => d + (x.kind === 'output' && x.group?.startsWith('start') ? 1 : x.kind === 'output' && x.group === 'end' ? -1 : 0), 0);
    const stops = events.map((x, i) => (x.kind === 'stopped' ? i : -1)).filter((i) => i >= 0);
    for (const i of stops) assert.equal(depthAt(i), 0, `a group was open at the stop (event ${i})`);
    assert.ok(events.some((x) => x.kind === 'output' && x.group === 'startCollapsed' && /VM entry/.test(x.text)), 'the guest run had its group');
    const answer = await dc.evaluateRequest({ expression: 'IA32_XFD_ERR', context: 'repl', frameId: (await dc.stackTraceRequest({ threadId: ev.body.threadId! })).body.stackFrames[0]!.id });
    assert.match(answer.body.result, /^0x40000/);
    const before = events.length;
    await dc.setBreakpointsRequest({ source: { path: example }, breakpoints: [] });
    await Promise.all([dc.waitForEvent('terminated'), dc.continueRequest({ threadId: ev.body.threadId! })]);
    const after = events.slice(before).filter((x): x is { kind: 'output'; group?: string; text: string } => x.kind === 'output');
    const firstTrace = after.find((x) => /^\[\d+\]/.test(x.text));
    assert.ok(firstTrace, 'the run printed trace lines');
    assert.equal(firstTrace.group, 'startCollapsed');
    assert.match(firstTrace.text, /^\[\d+\] VM entry continued\n$/);
    assert.equal(depthAt(events.length), 0, 'every group is closed at the end');
  });
});
