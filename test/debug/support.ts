// Shared by the adapter tests: the adapter runs as its own process (node dist/adapter.js) and a real
// DAP client (@vscode/debugadapter-testsupport's DebugClient) drives it over stdio.
import { join } from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';

export const root = join(__dirname, '..', '..', '..');
export const adapter = join(root, 'dist', 'adapter.js');
export const example = join(root, 'examples', 'xfd-err-leak.xsave');
export const fixture = (name: string): string => join(root, 'test', 'fixtures', name);

export async function client(): Promise<DebugClient> {
  const dc = new DebugClient('node', adapter, 'xsave');
  await dc.start();
  return dc;
}

/** Runs `body` with a started client and always stops the adapter. */
export async function withClient(body: (dc: DebugClient) => Promise<void>): Promise<void> {
  const dc = await client();
  try {
    await body(dc);
  } finally {
    await dc.stop();
  }
}

/**
 * Launches a scenario and waits for the stop on entry (the scenario's first statement, after the
 * kernel booted); returns the thread that stopped there.
 */
export async function launchStopped(dc: DebugClient, policy = 'linux-5.17', program = example, extra: Record<string, unknown> = {}): Promise<number> {
  const [, , ev] = await Promise.all([
    dc.configurationSequence(),
    dc.launch({ program, policy, stopOnEntry: true, ...extra } as never),
    dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>,
  ]);
  if (ev.body.reason !== 'entry') throw new Error(`expected a stop on entry, got ${JSON.stringify(ev.body)}`);
  return ev.body.threadId!;
}

/** Sends a run request and returns the stopped event that follows. */
export async function stopAfter(dc: DebugClient, run: () => Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
  const [ev] = await Promise.all([dc.waitForEvent('stopped'), run()]);
  return ev as DebugProtocol.StoppedEvent;
}

/** `name:line` of each frame of a thread, top first. */
export async function stack(dc: DebugClient, threadId: number): Promise<string[]> {
  const st = await dc.stackTraceRequest({ threadId });
  return st.body.stackFrames.map((f) => (f.line ? `${f.name}:${f.line}` : f.name));
}

/** The variables of the named scope of a thread's top frame, by name. */
export async function scope(dc: DebugClient, threadId: number, name: string | RegExp, frame = 0): Promise<Record<string, DebugProtocol.Variable>> {
  const st = await dc.stackTraceRequest({ threadId });
  const scopes = await dc.scopesRequest({ frameId: st.body.stackFrames[frame]!.id });
  const s = scopes.body.scopes.find((x) => (typeof name === 'string' ? x.name === name : name.test(x.name)));
  if (!s) throw new Error(`no scope ${name} in ${scopes.body.scopes.map((x) => x.name).join(', ')}`);
  return children(dc, s.variablesReference);
}

export async function children(dc: DebugClient, ref: number): Promise<Record<string, DebugProtocol.Variable>> {
  const vars = await dc.variablesRequest({ variablesReference: ref });
  return Object.fromEntries(vars.body.variables.map((v) => [v.name, v]));
}

/** The error message of a request expected to fail. */
export async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the request succeeded');
}
