// Bad DAP requests, through a real client against the adapter as its own process: every request
// with missing, null, wrong-typed or oversized arguments gets an error that says what to send
// (src/debug/request-validation.ts); restart, disconnect and pause are safe in any order; readMemory
// answers only sense; prototype names are unknown names; the explorer's bounds have maxima.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import { errorOf, example, fixture, launchStopped, stack, withClient } from './support';

/** Sends a raw request (arguments as given, even none) and returns the response. */
function raw(dc: DebugClient, command: string, args?: unknown): Promise<DebugProtocol.Response> {
  return new Promise((resolve) => {
    (dc as unknown as { send(c: string, a: unknown, t: number): Promise<DebugProtocol.Response> }).send(command, args, 5000).then(resolve, (e: Error) => resolve({ success: false, message: e.message } as DebugProtocol.Response));
  });
}

test('requests with missing, null, empty or wrong-typed arguments answer what to send', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc);
    const cases: Array<[string, unknown, string]> = [
      ['stackTrace', undefined, "stackTrace: 'threadId' is required: an integer >= 0"],
      ['scopes', {}, "scopes: 'frameId' is required: an integer >= 0"],
      ['scopes', { frameId: 'x' }, "scopes: 'frameId' must be an integer >= 0 (got \"x\")"],
      ['variables', { variablesReference: 1.5 }, "variables: 'variablesReference' must be an integer >= 0 (got 1.5)"],
      ['setBreakpoints', { source: null }, "setBreakpoints: 'source' must be an object (got null)"],
      ['setBreakpoints', { source: { path: example }, breakpoints: [{ line: 'ten' }] }, "setBreakpoints: 'breakpoints[0].line' must be an integer >= 0 (got \"ten\")"],
      ['setFunctionBreakpoints', { breakpoints: {} }, "setFunctionBreakpoints: 'breakpoints' must be an array of at most 10000 items (got an object)"],
      ['setExceptionBreakpoints', {}, "setExceptionBreakpoints: 'filters' is required: an array of at most 100 items"],
      ['setDataBreakpoints', { breakpoints: [{}] }, "setDataBreakpoints: 'breakpoints[0].dataId' is required: a string of at most 10000 characters"],
      ['evaluate', { expression: null }, "evaluate: 'expression' must be a string of at most 10000 characters (got null)"],
      ['setVariable', { variablesReference: 1, name: 'x' }, "setVariable: 'value' is required: a string of at most 10000 characters"],
      ['completions', { text: 'IA' }, "completions: 'column' is required: an integer >= 0"],
      ['continue', { threadId: -1 }, "continue: 'threadId' must be an integer >= 0 (got -1)"],
      ['readMemory', {}, "readMemory: 'memoryReference' is required: a string of at most 200 characters"],
      ['readMemory', { memoryReference: '0x100000' }, "readMemory: 'count' is required: an integer from 0 to 1048576"],
      ['readMemory', { memoryReference: '0x100000', count: 0.5 }, "readMemory: 'count' must be an integer from 0 to 1048576 (got 0.5)"],
      ['writeMemory', { memoryReference: '0x100000', data: 5 }, "writeMemory: 'data' must be a string of at most 4194304 characters (got 5)"],
      ['xsave/setFormat', { hex: 'yes' }, "xsave/setFormat: 'hex' must be true or false (got \"yes\")"],
    ];
    for (const [command, args, message] of cases) {
      const r = await raw(dc, command, args);
      assert.equal(r.success, false, command);
      assert.equal(r.message, message);
    }
  });
});

test('names of a megabyte are refused at once, not looked up (evaluate, setExpression, dataBreakpointInfo)', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc);
    const big = 'A'.repeat(1 << 20);
    assert.equal(await errorOf(dc.evaluateRequest({ expression: big })), "evaluate: 'expression' is too long: at most 10000 characters (got 1048576)");
    assert.equal((await raw(dc, 'setExpression', { expression: big, value: '1' })).message, "setExpression: 'expression' is too long: at most 10000 characters (got 1048576)");
    assert.equal(await errorOf(dc.dataBreakpointInfoRequest({ name: big })), "dataBreakpointInfo: 'name' is too long: at most 10000 characters (got 1048576)");
    // The longest accepted name is answered as an unknown name (no suggestion search over it).
    const long = 'A'.repeat(10_000);
    assert.equal(await errorOf(dc.evaluateRequest({ expression: long })), "a name of 10000 characters: names have at most 255 (column 1)");
    const pause = await raw(dc, 'pause', { threadId: 1 });
    assert.equal(pause.success, true);
  });
});

test('prototype names are unknown names, never properties of an object', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc);
    assert.equal(await errorOf(dc.evaluateRequest({ expression: '__proto__' })), "unknown name '__proto__'");
    assert.equal(await errorOf(dc.evaluateRequest({ expression: 'constructor' })), "unknown name 'constructor'");
    const fields = await errorOf(dc.evaluateRequest({ expression: 'current.__proto__' }));
    assert.equal(fields, "task has no field '__proto__' (fields: pid, tgid, flags, thread_info, thread, group_leader, parent, data_page, sighand, sig_pending, si_code, si_addr, sig_sp, user_sp, sas_ss_sp, sas_ss_size, sas_ss_flags, ptrace, ptrace_stopped, ptrace_reported, exit_state, exit_code)");
    const info = await dc.dataBreakpointInfoRequest({ name: 'toString' }).catch((e: Error) => e.message);
    assert.equal(info, "unknown name 'toString'");
  });
});

test('restart without arguments relaunches; before a launch it says nothing was launched', async () => {
  await withClient(async (dc) => {
    await dc.initializeRequest();
    const r = await raw(dc, 'restart');
    assert.equal(r.success, false);
    assert.equal(r.message, 'restart: nothing was launched');
  });
  await withClient(async (dc) => {
    await launchStopped(dc);
    const [ev] = await Promise.all([dc.waitForEvent('stopped'), raw(dc, 'restart')]);
    assert.equal((ev as DebugProtocol.StoppedEvent).body.reason, 'entry');
  });
});

test('launch, disconnect, configurationDone: no run starts and nothing fails', async () => {
  await withClient(async (dc) => {
    const stops: DebugProtocol.StoppedEvent[] = [];
    dc.on('stopped', (e: DebugProtocol.StoppedEvent) => stops.push(e));
    await dc.initializeRequest();
    await dc.launch({ program: example, policy: 'naive', stopOnEntry: false } as never);
    await dc.disconnectRequest({});
    const r = await raw(dc, 'configurationDone', {});
    assert.equal(r.success, true);
    await new Promise((res) => setTimeout(res, 200));
    assert.deepEqual(stops, []);
  });
});

test('pause stops the run of a restart made while a continue was running', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc, 'naive', fixture('runaway.xsave'), { maxSteps: 1e12 });
    await dc.continueRequest({ threadId: 1 });
    await new Promise((r) => setTimeout(r, 50));
    await dc.restartRequest({ arguments: { program: fixture('runaway.xsave'), policy: 'naive', maxSteps: 1e12, stopOnEntry: false } } as never);
    await new Promise((r) => setTimeout(r, 50));
    const [ev] = await Promise.all([dc.waitForEvent('stopped'), dc.pauseRequest({ threadId: 1 })]);
    assert.equal((ev as DebugProtocol.StoppedEvent).body.reason, 'pause');
    assert.match((await stack(dc, (ev as DebugProtocol.StoppedEvent).body.threadId!))[0]!, /^spin\.main:[567]$/);
  });
});

test('readMemory answers sense: unreadable bytes counted, addresses past 2^64 refused', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc);
    const none = await raw(dc, 'readMemory', { memoryReference: '0x0', count: 4 });
    assert.deepEqual(none.body, { address: '0x0', data: '', unreadableBytes: 4 });
    assert.equal((await raw(dc, 'readMemory', { memoryReference: '0x10000000000000000', count: 1 })).message,
      "memory reference '0x10000000000000000' + 0: not an address (0 to 0xffffffffffffffff)");
    assert.equal((await raw(dc, 'readMemory', { memoryReference: '0xffffffffffffffff', offset: 1, count: 1 })).message,
      "memory reference '0xffffffffffffffff' + 1: not an address (0 to 0xffffffffffffffff)");
  });
});

test('explore bounds have maxima: a billion interrupts is refused before anything runs', async () => {
  await withClient(async (dc) => {
    await dc.initializeRequest();
    const msg = await errorOf(dc.launchRequest({ program: example, explore: true, exploreBounds: { interrupts: 1_000_000_000, steps: 1 } } as never));
    assert.equal(msg, "launch: 'exploreBounds.interrupts' must be an integer from 0 to 8 (got 1000000000)");
    const cpu = await errorOf(dc.launchRequest({ program: example, cpu: '__proto__' } as never));
    assert.equal(cpu, "the scenario has errors:\n" + `${example}:1:1: error: unknown CPU model '__proto__' (known: sapphire-rapids, icelake-server, haswell, host)`);
  });
});
