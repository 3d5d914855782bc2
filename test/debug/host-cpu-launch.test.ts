// The launch attribute `cpu: "host"` and a scenario's `cpu "host";` over DAP: the adapter reads the
// machine's CPUID before compiling, the CPU scope shows the host model, and where the cpuid
// driver cannot be read the launch is answered with an error that says why (no stack trace).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { cpuModelNames } from '../../src/model';
import { HostCpuError, readCpuid } from '../../src/host/cpu';
import { adapter, errorOf, fixture, scope, withClient } from './support';

/** Launches without a policy (the scenario boots the CPU itself) and waits for the stop on entry. */
async function launch(dc: DebugClient, args: Record<string, unknown>): Promise<void> {
  await Promise.all([dc.configurationSequence(), dc.launch(args as never), dc.assertStoppedLocation('entry', {})]);
}

const MISSING = "cannot read this machine's CPUID: /nonexistent/cpuid does not exist; load Linux's cpuid driver (sudo modprobe cpuid) and try again";

function unreadable(): string | null {
  try {
    readCpuid('/dev/cpu/0/cpuid');
    return null;
  } catch (e) {
    if (e instanceof HostCpuError) return e.message;
    throw e;
  }
}

test('launch with cpu "host" on this machine: the scenario runs on the host model', async (t) => {
  const why = unreadable();
  if (why !== null) { t.skip(why); return; }
  await withClient(async (dc) => {
    // The attribute, on a scenario of its own (no policy: the scenario boots the CPU itself).
    await launch(dc, { program: fixture('host-cpu.xsave'), cpu: 'host', stopOnEntry: true });
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('terminated')]);
  });
  await withClient(async (dc) => {
    // The scenario's own cpu line, no attribute: stopped on entry, XCR0 is still its RESET value.
    await launch(dc, { program: fixture('host-cpu.xsave'), stopOnEntry: true });
    const regs = await scope(dc, 1, 'CPU 0');
    assert.equal(regs.XCR0!.value, '0x1 [x87]');
  });
});

test('launch with cpu "host" where the cpuid driver cannot be read: an error response with the reason', async (t) => {
  if (process.platform !== 'linux') { t.skip(`the cpuid driver is Linux's; this is ${process.platform}`); return; }
  const dc = new DebugClient('node', adapter, 'xsave', { env: { ...process.env, XSAVE_SIM_CPUID_DEVICE: '/nonexistent/cpuid' } });
  await dc.start();
  try {
    await dc.initializeRequest();
    assert.equal(await errorOf(dc.launch({ program: fixture('host-first-amx-use.xsave'), cpu: 'host' } as never)), `launch: cpu "host": ${MISSING}`);
    assert.equal(await errorOf(dc.launch({ program: fixture('host-cpu.xsave') } as never)),
      `the scenario has errors:\n${fixture('host-cpu.xsave')}:3:5: error: ${MISSING}`);
  } finally {
    await dc.stop();
  }
});

test('the cpu launch attribute\'s enum in package.json is every model name, host included', () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
  const cpu = pkg.contributes.debuggers[0].configurationAttributes.launch.properties.cpu;
  assert.deepEqual(cpu.enum, cpuModelNames());
  assert.equal(cpu.enumDescriptions.length, cpu.enum.length);
});
