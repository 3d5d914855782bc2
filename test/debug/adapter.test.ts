// The debug adapter as its own process (node dist/adapter.js) driven by a real DAP client
// (@vscode/debugadapter-testsupport's DebugClient): launch, breakpoints, the guest's stack above
// [VM entry], the CPU registers scope, exceptions, bad launches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';

const root = join(__dirname, '..', '..', '..');
const adapter = join(root, 'dist', 'adapter.js');
const example = join(root, 'examples', 'xfd-err-leak.xsave');

async function client(): Promise<DebugClient> {
  const dc = new DebugClient('node', adapter, 'xsave');
  await dc.start();
  return dc;
}

/** Launches the seed example under linux-5.17 and waits for the stop on entry. */
async function launchStopped(dc: DebugClient): Promise<void> {
  await Promise.all([
    dc.configurationSequence(),
    dc.launch({ program: example, policy: 'linux-5.17', stopOnEntry: true } as never),
    dc.assertStoppedLocation('entry', {}),
  ]);
}

test('launch stops on entry; a breakpoint in the guest #NM handler shows guest frames above [VM entry] and the CPU registers', async () => {
  const dc = await client();
  try {
    await launchStopped(dc);
    const bps = await dc.setBreakpointsRequest({ source: { path: example }, breakpoints: [{ line: 15 }, { line: 9 }] });
    assert.deepEqual(bps.body.breakpoints.map((b) => b.verified), [true, false]);
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.assertStoppedLocation('breakpoint', { path: example, line: 15 })]);
    const threads = await dc.threadsRequest();
    const vcpu = threads.body.threads.find((t) => t.name === 'qemu.vcpu0')!;
    const st = await dc.stackTraceRequest({ threadId: vcpu.id });
    const frames = st.body.stackFrames.map((f) => `${f.name}${f.line ? `:${f.line}` : ''}`);
    assert.equal(frames[0], 'guest:exc_device_not_available:15');
    assert.equal(frames[1], 'guest:main:24'); // the TILELOADD that raised #NM, to run again after the handler
    assert.equal(frames[2], '[VM entry]');
    assert.ok(frames.slice(3).some((f) => f.startsWith('vcpu_enter_guest:')));
    assert.equal(frames[frames.length - 1], 'qemu.vcpu0:37'); // while (kvm_run(vcpu) != KVM_EXIT_HLT)
    const scopes = await dc.scopesRequest({ frameId: st.body.stackFrames[0]!.id });
    assert.deepEqual(scopes.body.scopes.map((s) => s.name), ['Locals', 'CPU 0']);
    const regs = await dc.variablesRequest({ variablesReference: scopes.body.scopes[1]!.variablesReference });
    const v = Object.fromEntries(regs.body.variables.map((x) => [x.name, x.value]));
    assert.equal(v.mode, 'guest (VMX non-root)');
    assert.equal(v.XCR0, '0x60007 [x87 SSE YMM XTILECFG XTILEDATA]');
    assert.equal(v.IA32_XFD_ERR, '0x40000 [XTILEDATA]'); // linux-5.17 loaded the guest's value back before entry
    // A mask expands into its named bits.
    const xcr0 = regs.body.variables.find((x) => x.name === 'XCR0')!;
    const bits = await dc.variablesRequest({ variablesReference: xcr0.variablesReference });
    assert.deepEqual(bits.body.variables.map((b) => b.name), ['[0]', '[1]', '[2]', '[17]', '[18]']);
    // The other task's first AMX use stops as an exception (host #NM).
    await Promise.all([dc.continueRequest({ threadId: vcpu.id }), dc.waitForEvent('stopped').then((e) => assert.equal(e.body.reason, 'exception'))]);
  } finally {
    await dc.stop();
  }
});

test('step over, into and out move by statements', async () => {
  const dc = await client();
  try {
    await launchStopped(dc);
    const top = async () => {
      const f = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
      return f.map((x) => `${x.name}:${x.line}`);
    };
    assert.deepEqual((await top()).slice(0, 1), ['start_kernel:103']);
    await Promise.all([dc.stepInRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.deepEqual((await top()).map((x) => x.split(':')[0]), ['fpu__init_system_xstate', 'start_kernel']);
    await Promise.all([dc.nextRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.equal((await top()).length, 2);
    await Promise.all([dc.stepOutRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    assert.deepEqual((await top()).map((x) => x.split(':')[0]), ['start_kernel']);
  } finally {
    await dc.stop();
  }
});

test('a scenario with errors is refused with its diagnostics; a missing program is an error response', async () => {
  const dc = await client();
  try {
    await dc.initializeRequest();
    await assert.rejects(dc.launch({ program: join(root, 'examples', 'nope.xsave') } as never), /cannot read/);
    await assert.rejects(dc.launch({ program: example, policy: 'nope' } as never), /unknown policy 'nope'/);
  } finally {
    await dc.stop();
  }
});
