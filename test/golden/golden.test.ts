// Golden DAP transcripts: every example under every shipped policy, driven through the adapter
// process (node dist/adapter.js) by a real DAP client, as an editor would. Each session stops on
// entry, runs to a breakpoint on the guest's first statement (or stays on entry when the scenario
// has no guest), steps from there (next, stepIn, stepOut, stepBack), then continues from stop to
// stop with the exception filters on (VM exit, #NM, XFD_ERR set, assertion failed, invariant
// violated) to the end.
// At each stop it records the reason, the top frames and the CPU's XCR0, IA32_XFD, IA32_XFD_ERR and
// XINUSE; the Debug Console's text comes last. The transcripts in test/golden/ are the reference;
// a difference fails with a line diff. `npm run golden:update` writes them anew.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';

const root = join(__dirname, '..', '..', '..');
const adapter = join(root, 'dist', 'adapter.js');
const goldenDir = join(root, 'test', 'golden');
const UPDATE = process.env.GOLDEN_UPDATE === '1';

const POLICIES = ['naive', 'tglx-2021', 'linux-5.17', 'linux-6.19'];
const EXAMPLES = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.xsave')).sort();
const FILTERS = ['vmexit', 'nm', 'xfd-err', 'assertion', 'invariant'];
/** Stops recorded after the stepping; past them the filters are cleared and the run goes to its end. */
const MAX_STOPS = 12;
const FRAMES = 4;
const REGISTERS = ['XCR0', 'IA32_XFD', 'IA32_XFD_ERR', 'XINUSE'];
/** The stepping recorded in every session, from the guest's first statement. */
const STEPS = ['next', 'stepIn', 'next', 'stepIn', 'stepOut', 'next', 'stepBack'] as const;

interface Stop {
  after: string;
  reason: string;
  description?: string;
  text?: string;
  frames: string[];
  cpu?: Record<string, string>;
}

interface Transcript {
  example: string;
  policy: string;
  stops: Stop[];
  limited?: string;
  output: string[];
}

/** Machine-independent text: the checkout's absolute path removed. */
function clean(s: string): string {
  return s.split(root + '/').join('').split(root).join('.');
}

class Session {
  private readonly events: Array<{ event: string; body: unknown }> = [];
  private waiter: (() => void) | null = null;
  readonly output: string[] = [];

  constructor(readonly dc: DebugClient) {
    const push = (event: string) => (e: { body: unknown }): void => {
      this.events.push({ event, body: e.body });
      this.waiter?.();
    };
    dc.on('stopped', push('stopped'));
    dc.on('terminated', push('terminated'));
    dc.on('output', (e: DebugProtocol.OutputEvent) => {
      if (e.body.category !== 'telemetry') this.output.push(clean(e.body.output));
    });
  }

  /** The next stopped or terminated event (30 s at most: a hang fails the test, it does not block it). */
  async next(): Promise<{ event: string; body: unknown }> {
    const deadline = Date.now() + 30_000;
    while (this.events.length === 0) {
      if (Date.now() > deadline) throw new Error('no stopped or terminated event');
      await new Promise<void>((r) => {
        const t = setTimeout(r, 1000);
        this.waiter = () => { clearTimeout(t); r(); };
      });
      this.waiter = null;
    }
    return this.events.shift()!;
  }
}

async function stopOf(s: Session, after: string, body: DebugProtocol.StoppedEvent['body']): Promise<Stop> {
  const dc = s.dc;
  const stop = { after, reason: body.reason } as Stop;
  if (body.description !== undefined) stop.description = body.description;
  if (body.text !== undefined) stop.text = clean(body.text);
  const st = await dc.stackTraceRequest({ threadId: body.threadId! });
  const frames = st.body.stackFrames;
  stop.frames = frames.slice(0, FRAMES).map((f) => (f.source?.path ? `${f.name} (${basename(f.source.path)}:${f.line})` : f.name));
  if (frames.length > FRAMES) stop.frames.push(`... ${frames.length - FRAMES} more`);
  const top = frames[0];
  if (top) {
    const scopes = await dc.scopesRequest({ frameId: top.id });
    const cpu = scopes.body.scopes.find((x) => /^CPU \d+$/.test(x.name));
    if (cpu) {
      const vars = await dc.variablesRequest({ variablesReference: cpu.variablesReference });
      const byName = new Map(vars.body.variables.map((v) => [v.name, v.value]));
      stop.cpu = { scope: cpu.name };
      for (const r of REGISTERS) stop.cpu[r] = byName.get(r) ?? '(absent)';
    }
  }
  return stop;
}

async function run(example: string, policy: string): Promise<Transcript> {
  const dc = new DebugClient('node', adapter, 'xsave');
  await dc.start();
  const s = new Session(dc);
  const t: Transcript = { example, policy, stops: [], output: [] };
  try {
    const configured = (async () => {
      await dc.waitForEvent('initialized');
      await dc.setExceptionBreakpointsRequest({ filters: [] });
      await dc.configurationDoneRequest();
    })();
    const program = join(root, 'examples', example);
    await Promise.all([configured, dc.launch({ program, policy, stopOnEntry: true, trace: false } as never)]);
    let ev = await s.next();
    let stopsLeft = MAX_STOPS;
    const record = async (after: string): Promise<number | null> => {
      if (ev.event === 'terminated') return null;
      const body = ev.body as DebugProtocol.StoppedEvent['body'];
      t.stops.push(await stopOf(s, after, body));
      return body.threadId!;
    };
    let thread = await record('launch');
    const line = guestMainLine(readFileSync(program, 'utf8'));
    if (thread !== null && line !== null) {
      await dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [{ line }] });
      await dc.continueRequest({ threadId: thread });
      ev = await s.next();
      thread = await record(`continue to the breakpoint at line ${line}`);
      await dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [] });
    }
    for (const step of STEPS) {
      if (thread === null) break;
      const threadId = thread;
      if (step === 'stepIn') await dc.stepInRequest({ threadId });
      else if (step === 'next') await dc.nextRequest({ threadId });
      else if (step === 'stepOut') await dc.stepOutRequest({ threadId });
      else await dc.stepBackRequest({ threadId });
      ev = await s.next();
      thread = await record(step);
    }
    await dc.setExceptionBreakpointsRequest({ filters: FILTERS });
    while (thread !== null) {
      if (stopsLeft-- === 0) {
        t.limited = `after ${MAX_STOPS} stops the exception filters were cleared`;
        await dc.setExceptionBreakpointsRequest({ filters: [] });
      }
      await dc.continueRequest({ threadId: thread });
      ev = await s.next();
      thread = await record('continue');
    }
  } finally {
    await dc.stop();
  }
  t.output = s.output.join('').split('\n').filter((l) => l !== '');
  return t;
}

/** The line of the first statement of the guest's main(), or null when the scenario has no guest. */
function guestMainLine(text: string): number | null {
  const lines = text.split('\n');
  const guest = lines.findIndex((l) => /^guest\s*\{/.test(l));
  if (guest < 0) return null;
  const main = lines.findIndex((l, i) => i > guest && /^\s*fn main\(\)\s*\{\s*$/.test(l));
  return main < 0 ? null : main + 2;
}

/** A line diff (longest common subsequence) with two lines of context: `-` checked in, `+` live. */
function diff(expected: string, actual: string): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  const n = a.length;
  const m = b.length;
  // lcs[i][j]: the common subsequence length of a[i..] and b[j..].
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const ops: Array<{ op: ' ' | '-' | '+'; text: string; line: number }> = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { ops.push({ op: ' ', text: a[i]!, line: i + 1 }); i++; j++; }
    else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) { ops.push({ op: '-', text: a[i]!, line: i + 1 }); i++; }
    else { ops.push({ op: '+', text: b[j]!, line: i + 1 }); j++; }
  }
  const near = (k: number): boolean => ops.slice(Math.max(0, k - 2), k + 3).some((o) => o.op !== ' ');
  const out: string[] = [];
  let last = -1;
  ops.forEach((o, k) => {
    if (!near(k)) return;
    if (k !== last + 1) out.push(`@@ line ${o.line} of the checked-in file`);
    out.push(`${o.op} ${o.text}`);
    last = k;
  });
  return out.length > 80 ? [...out.slice(0, 80), `... ${out.length - 80} more diff lines`].join('\n') : out.join('\n');
}

describe('golden DAP transcripts', { concurrency: 3 }, () => {
  for (const example of EXAMPLES) {
    for (const policy of POLICIES) {
      const name = `${example.replace(/\.xsave$/, '')}.${policy}.json`;
      test(name, async () => {
        const live = `${JSON.stringify(await run(example, policy), null, 2)}\n`;
        const file = join(goldenDir, name);
        if (UPDATE) { writeFileSync(file, live); return; }
        assert.ok(existsSync(file), `test/golden/${name} is missing: run npm run golden:update`);
        const expected = readFileSync(file, 'utf8');
        if (expected !== live) assert.fail(`test/golden/${name} differs from the live session (npm run golden:update rewrites it)\n${diff(expected, live)}`);
      });
    }
  }
});
