// Running through a real DAP client: pause interrupts a long continue (the run loop yields to the
// event loop), the step budget stops a runaway loop with a reason, the hardware trace arrives in the
// Debug Console grouped per VM entry, and the end of the run terminates the session with a summary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { example, fixture, launchStopped, root, stack, stopAfter, withClient } from './support';

test('pause stops a continue that would never end, inside the loop', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc, 'naive', fixture('runaway.xsave'), { maxSteps: 1e12 });
    await dc.continueRequest({ threadId: 1 });
    await new Promise((r) => setTimeout(r, 100));
    const [ev] = await Promise.all([dc.waitForEvent('stopped'), dc.pauseRequest({ threadId: 1 })]);
    assert.equal((ev as DebugProtocol.StoppedEvent).body.reason, 'pause');
    const top = (await stack(dc, (ev as DebugProtocol.StoppedEvent).body.threadId!))[0]!;
    assert.match(top, /^spin\.main:[567]$/);
  });
});

test('the step budget stops a runaway loop with a reason in the stop and on stderr', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc, 'naive', fixture('runaway.xsave'), { maxSteps: 5000 });
    const err = dc.assertOutput('stderr', 'the step budget of 5000 statements ran out');
    const ev = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal(ev.body.reason, 'pause');
    assert.equal(ev.body.description, 'step budget exhausted');
    await err;
  });
});

test('the hardware trace is grouped per VM entry in the Debug Console; the end terminates with a summary', async () => {
  await withClient(async (dc) => {
    const out: DebugProtocol.OutputEvent['body'][] = [];
    dc.on('output', (e: DebugProtocol.OutputEvent) => out.push(e.body));
    await launchStopped(dc, 'linux-6.19', example, { trace: true });
    await dc.setExceptionBreakpointsRequest({ filters: [] });
    await Promise.all([dc.waitForEvent('terminated'), dc.continueRequest({ threadId: 1 })]);
    const firstEntry = out.findIndex((o) => o.group === 'startCollapsed');
    assert.ok(firstEntry >= 0);
    assert.match(out[firstEntry]!.output, /^\[\d+\] cpu0 VM entry \(vcpu 0\)\n$/);
    const end = out.findIndex((o, i) => i > firstEntry && o.group === 'end');
    assert.match(out[end - 1]!.output, /VM exit/);
    assert.ok(out.slice(firstEntry + 1, end).every((o) => o.group === undefined));
    assert.match(out[out.length - 1]!.output, /^every thread has finished: 1 assertion\(s\) held, 0 failed; 0 invariant violation\(s\)\n$/);
  });
});

test('launch with explore: true searches the interleavings, writes the counterexample and stops at its violation; step back walks to its cause', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xsave-dap-explore-'));
  const program = join(dir, 'leak.xsave');
  copyFileSync(fixture('xfd-err-leak-no-events.xsave'), program);
  await withClient(async (dc) => {
    const out: string[] = [];
    const important: string[] = [];
    dc.on('output', (e: DebugProtocol.OutputEvent) => { out.push(e.body.output); if (e.body.category === 'important') important.push(e.body.output); });
    await dc.initializeRequest({ adapterID: 'xsave', pathFormat: 'path', supportsProgressReporting: true });
    const progress = dc.waitForEvent('progressStart');
    const named = dc.waitForEvent('xsave/counterexample', 20000);
    const updates: string[] = [];
    dc.on('progressUpdate', (e: DebugProtocol.ProgressUpdateEvent) => updates.push(e.body.message ?? ''));
    const [stopped] = await Promise.all([
      dc.waitForEvent('stopped', 20000),
      dc.configurationDoneRequest(),
      dc.launchRequest({ program, policy: join(root, 'src', 'kernel', 'policies', 'naive.xsave'), explore: true, exploreBounds: { interrupts: 1, preemptions: 0, fpuIrqs: 0 } } as never),
    ]);
    assert.equal(((await progress) as DebugProtocol.ProgressStartEvent).body.title, 'Exploring interleavings');
    const ev = stopped as DebugProtocol.StoppedEvent;
    assert.equal(ev.body.reason, 'exception');
    assert.match(ev.body.text!, /^invariant host-sees-guest-xfd-err: interrupts are enabled with IA32_XFD_ERR = 0x40000/);
    assert.ok(existsSync(join(dir, 'leak.counterexample.xsave')));
    assert.ok(out.some((o) => /^explored [\d,]+ states/.test(o)), out.join(''));
    assert.ok(out.some((o) => o.startsWith('counterexample written to ')), out.join(''));
    // Named where VS Code shows it (an 'important' output is a notification), and sent to the
    // extension, which opens it.
    assert.deepEqual(important, [`Explore found host-sees-guest-xfd-err broken: the counterexample is ${join(dir, 'leak.counterexample.xsave')}\n`]);
    assert.deepEqual((await named).body, { path: join(dir, 'leak.counterexample.xsave'), invariant: 'host-sees-guest-xfd-err', where: (await named).body.where });
    assert.match((await named).body.where, /leak\.counterexample\.xsave:\d+:\d+|kvm\.xsave:\d+:\d+/);
    for (const u of updates) assert.match(u, /^[\d,]+ states, [\d,]+\/s, \d+\/\d+ placements$/);
    const back = await stopAfter(dc, () => dc.stepBackRequest({ threadId: ev.body.threadId! }));
    assert.equal(back.body.reason, 'step');
  });
});
