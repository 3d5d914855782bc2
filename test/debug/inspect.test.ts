// Reading and changing the stopped machine through a real DAP client: setVariable and setExpression
// with the model's WRMSR/XSETBV rules, evaluate for repl, watch and hover, completions, readMemory
// and writeMemory on XSAVE buffers and tile registers, and the hex/decimal toggle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import { children, errorOf, example, launchStopped, scope, stopAfter, withClient } from './support';

/** Stops in the guest #NM handler at line 16 (err read) under linux-5.17; returns the thread. */
async function inHandler(dc: DebugClient): Promise<{ t: number; frameId: number; cpuRef: number }> {
  await launchStopped(dc, 'linux-5.17');
  await dc.setBreakpointsRequest({ source: { path: example }, breakpoints: [{ line: 16 }] });
  const ev = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
  const t = ev.body.threadId!;
  const frameId = (await dc.stackTraceRequest({ threadId: t })).body.stackFrames[0]!.id;
  const cpuRef = (await dc.scopesRequest({ frameId })).body.scopes.find((s) => s.name === 'CPU 0')!.variablesReference;
  return { t, frameId, cpuRef };
}

test('setVariable applies WRMSR and XSETBV rules: refused values carry the #GP reason; accepted ones invalidate the views', async () => {
  await withClient(async (dc) => {
    const { cpuRef } = await inHandler(dc);
    assert.match(await errorOf(dc.setVariableRequest({ variablesReference: cpuRef, name: 'IA32_XFD', value: '1' })),
      /^#GP\(0\): WRMSR sets IA32_XFD bits 0x1 without XFD support \(CPUID\.\(EAX=0DH,ECX=i\)\.ECX\[2\]=0\)$/);
    assert.match(await errorOf(dc.setVariableRequest({ variablesReference: cpuRef, name: 'XCR0', value: 'XFEATURE_MASK_SSE' })),
      /^#GP\(0\): XSETBV clears XCR0\.x87 \(bit 0\)$/);
    assert.match(await errorOf(dc.setVariableRequest({ variablesReference: cpuRef, name: 'XINUSE', value: '0' })), /XINUSE is not writable/);
    assert.match(await errorOf(dc.setVariableRequest({ variablesReference: cpuRef, name: 'IA32_XFD_ERR', value: 'XFEATURE_MASK_XTILEDAT' })), /did you mean 'XFEATURE_MASK_XTILEDATA'/);
    const [inv, set] = await Promise.all([dc.waitForEvent('invalidated'), dc.setVariableRequest({ variablesReference: cpuRef, name: 'IA32_XFD_ERR', value: '0' })]);
    assert.equal(set.body.value, '0x0');
    assert.deepEqual((inv as DebugProtocol.InvalidatedEvent).body.areas, ['variables']);
  });
});

test('setVariable on a local and on a kernel-object field; setExpression on a field path; a REPL assignment', async () => {
  await withClient(async (dc) => {
    const { t, frameId } = await inHandler(dc);
    const localsRef = (await dc.scopesRequest({ frameId })).body.scopes[0]!.variablesReference;
    const r = await dc.setVariableRequest({ variablesReference: localsRef, name: 'err', value: '0' });
    assert.equal(r.body.value, '0x0');
    assert.equal((await scope(dc, t, 'Locals')).err!.value, '0x0');
    const vcpu = await scope(dc, t, 'vCPU');
    const gfpu = vcpu.guest_fpu!;
    const set = await dc.setVariableRequest({ variablesReference: gfpu.variablesReference, name: 'xfd_err', value: 'XFEATURE_MASK_XTILEDATA' });
    assert.equal(set.body.value, '0x40000');
    const se = await dc.customRequest('setExpression', { expression: 'vcpu.arch.guest_fpu.xfd_err', value: '0', frameId: (await dc.stackTraceRequest({ threadId: t })).body.stackFrames[4]!.id });
    assert.equal(se.body.value, '0x0');
    assert.match(await errorOf(dc.customRequest('setExpression', { expression: 'XFEATURE_MASK_XTILEDATA', value: '0', frameId })), /is a constant, not a variable/);
    const repl = await dc.evaluateRequest({ expression: 'err = 7', context: 'repl', frameId });
    assert.equal(repl.body.result, '0x7');
  });
});

test('evaluate: expressions of the language in the selected frame for repl, watch and hover, without side effects', async () => {
  await withClient(async (dc) => {
    const { frameId } = await inHandler(dc);
    const e = (expression: string, context: string) => dc.evaluateRequest({ expression, context, frameId }).then((r) => r.body);
    assert.equal((await e('err == XFEATURE_MASK_XTILEDATA', 'watch')).result, '0x1');
    assert.equal((await e('IA32_XFD_ERR', 'repl')).result, '0x40000 [XTILEDATA]');
    assert.equal((await e('MSR_IA32_XFD_ERR', 'hover')).result, '0x1c5');
    assert.equal((await e('XCR0 & ~XFEATURE_MASK_XTILE', 'watch')).result, '0x7');
    const cur = await e('current', 'watch');
    assert.match(cur.result, /^task qemu\.vcpu0$/);
    const fields = await children(dc, cur.variablesReference);
    assert.ok('thread' in fields && 'pid' in fields);
    assert.equal((await e('this_cpu.xfd_state', 'watch')).result, '0x40000 [XTILEDATA]');
  });
});

test('completions in the Debug Console: names in scope by prefix, fields after . and ->', async () => {
  await withClient(async (dc) => {
    const { frameId } = await inHandler(dc);
    const c1 = await dc.completionsRequest({ text: 'XFEATURE_MASK_XT', column: 17, frameId });
    assert.deepEqual(c1.body.targets.map((x) => x.label), ['XFEATURE_MASK_XTILE', 'XFEATURE_MASK_XTILECFG', 'XFEATURE_MASK_XTILEDATA', 'XFEATURE_MASK_XTILE_CFG', 'XFEATURE_MASK_XTILE_DATA'].filter((n) => c1.body.targets.some((x) => x.label === n)));
    assert.ok(c1.body.targets.some((x) => x.label === 'XFEATURE_MASK_XTILEDATA'));
    assert.ok(c1.body.targets.every((x) => x.label.startsWith('XFEATURE_MASK_XT')));
    const c2 = await dc.completionsRequest({ text: 'current->thread.f', column: 18, frameId });
    assert.deepEqual(c2.body.targets.map((x) => x.label), ['fpu']);
    const c3 = await dc.completionsRequest({ text: 'er', column: 3, frameId });
    assert.ok(c3.body.targets.some((x) => x.label === 'err'));
  });
});

test('readMemory shows an fpstate\'s XSAVE buffer at its real offsets: XSTATE_BV at +0x200, XCOMP_BV at +0x208; writeMemory changes a tile', async () => {
  await withClient(async (dc) => {
    const { t } = await inHandler(dc);
    const vcpu = await scope(dc, t, 'vCPU');
    const fpstate = await children(dc, (await children(dc, vcpu.guest_fpu!.variablesReference)).fpstate!.variablesReference);
    const buf = await children(dc, fpstate.regs!.variablesReference);
    const mem = await dc.customRequest('readMemory', { memoryReference: fpstate.regs!.memoryReference, offset: 0x200, count: 16 });
    const bytes = Buffer.from(mem.body.data, 'base64');
    assert.equal(mem.body.address, `0x${(BigInt(fpstate.regs!.memoryReference!) + 0x200n).toString(16)}`);
    assert.equal(`0x${bytes.readBigUInt64LE(0).toString(16)}`, buf.XSTATE_BV!.value.split(' ')[0]);
    assert.equal(bytes.readBigUInt64LE(8), 0x8000000000060ee7n);
    // A tile register's bytes: 1 KB at cpu0/XTILEDATA+0x400 (tmm1); a write makes XINUSE[18] follow.
    const tile = await dc.customRequest('readMemory', { memoryReference: 'cpu0/XTILEDATA+0x400', count: 2048 });
    assert.equal(Buffer.from(tile.body.data, 'base64').length, 2048); // tmm1 and tmm2
    assert.equal(tile.body.unreadableBytes, 0);
    const w = await dc.customRequest('writeMemory', { memoryReference: 'cpu0/XTILEDATA+0x400', data: Buffer.from([1, 2, 3]).toString('base64') });
    assert.equal(w.body.bytesWritten, 3);
    assert.match((await scope(dc, t, 'CPU 0')).XINUSE!.value, /XTILEDATA/);
    const past = await dc.customRequest('readMemory', { memoryReference: 'cpu0/XTILEDATA', offset: 8190, count: 4 });
    assert.equal(Buffer.from(past.body.data, 'base64').length, 2);
    assert.equal(past.body.unreadableBytes, 2);
  });
});

test('the hex/decimal toggle (xsave/toggleHex) switches every number; masks keep their decoded names', async () => {
  await withClient(async (dc) => {
    const { t } = await inHandler(dc);
    const [, r] = await Promise.all([dc.waitForEvent('invalidated'), dc.customRequest('xsave/toggleHex')]);
    assert.deepEqual(r.body, { hex: false });
    const regs = await scope(dc, t, 'CPU 0');
    assert.equal(regs.XCR0!.value, '393223 [x87 SSE YMM XTILECFG XTILEDATA]');
    assert.equal((await scope(dc, t, 'Locals')).err!.value, '262144');
    const back = await dc.customRequest('xsave/toggleHex');
    assert.deepEqual(back.body, { hex: true });
    assert.equal((await scope(dc, t, 'CPU 0')).XCR0!.value, '0x60007 [x87 SSE YMM XTILECFG XTILEDATA]');
  });
});
