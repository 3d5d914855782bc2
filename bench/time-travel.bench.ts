// Time travel as a user feels it: request → stopped latency of step back and reverse step against a
// forward step, at 1M and 10M statements deep, through a real DAP client and the adapter process.
// The stop position varies (a conditional breakpoint at several loop iterations) so the measure
// covers stops that fall anywhere between two checkpoints. Each adapter process first steps back
// a few times at a shallow stop: the first step backs of a process pay for V8 compiling and
// optimizing the reverse path, which is reported apart from where the stop falls. After every
// stop the client asks what VS Code asks (threads, stack, scopes, variables) before the next
// request, untimed. Prints medians and ratios measured in one run;
// writes .bench/time-travel.json. Asserts nothing about speed.
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const adapter = join(root, 'dist', 'adapter.js');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const max = (xs: number[]) => Math.max(...xs);

/** A host loop of `iterations` iterations, 2 statements each (the while header and the body). */
function scenario(iterations: number): string {
  return `// time-travel bench: ${iterations} iterations
host p {
  thread main {
    let i = 0;
    let acc = 1;
    while (i != ${iterations}) {
      acc = acc * 3 + i;
      i = i + 1;
    }
    acc = 0;
  }
}
`;
}
const BODY_LINE = 7; // `acc = acc * 3 + i;`
/** Step backs (and forward steps) at a shallow stop before the measured ones (see measure()). */
const WARM = 10;

/**
 * The latency of one request that ends in a stop (request → both its response and `stopped`);
 * then, not timed, what VS Code asks at every stop before the user can press anything again:
 * threads, the top of the stack, its scopes and the variables of those not marked expensive. A
 * step back right after a stop with nothing asked in between is a case no editor produces.
 */
async function timed(dc: DebugClient, req: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await Promise.all([dc.waitForEvent('stopped'), req()]);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await dc.threadsRequest();
  const st = await dc.stackTraceRequest({ threadId: 1, startFrame: 0, levels: 20 });
  const top = st.body.stackFrames[0];
  if (top) {
    const sc = await dc.scopesRequest({ frameId: top.id });
    for (const s of sc.body.scopes) if (!s.expensive) await dc.variablesRequest({ variablesReference: s.variablesReference });
  }
  return ms;
}

interface Figures { depth: number; forward: number[]; back: number[]; firstBack: number[]; coldBack: number[]; continueMs: number[] }

async function measure(iterations: number, stops: number[]): Promise<Figures> {
  mkdirSync(join(root, '.bench'), { recursive: true });
  const program = join(root, '.bench', `time-travel-${iterations}.xsave`);
  writeFileSync(program, scenario(iterations));
  const f: Figures = { depth: 0, forward: [], back: [], firstBack: [], coldBack: [], continueMs: [] };
  for (const k of stops) {
    const dc = new DebugClient('node', adapter, 'xsave');
    dc.defaultTimeout = 300_000; // a continue to 10M statements deep takes seconds
    await dc.start();
    try {
      await Promise.all([
        dc.configurationSequence(),
        dc.launch({ program, stopOnEntry: true, trace: false, maxSteps: 4 * iterations + 100 } as never),
        dc.waitForEvent('stopped'),
      ]);
      // The process's first step backs, shallow: V8 compiles the reverse path lazily on its first
      // use and optimizes it after a few more, once per process (the first is measured apart, as
      // coldBack), as the forward path was during the launch and the continue; then as many
      // forward steps, so that the continue below starts from where the run had gone.
      await dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [{ line: BODY_LINE, condition: 'i == 1000' }] });
      await timed(dc, () => dc.continueRequest({ threadId: 1 }));
      f.coldBack.push(await timed(dc, () => dc.stepBackRequest({ threadId: 1 })));
      for (let n = 0; n < WARM; n++) await timed(dc, () => dc.stepBackRequest({ threadId: 1 }));
      for (let n = 0; n <= WARM; n++) await timed(dc, () => dc.nextRequest({ threadId: 1 }));
      await dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [{ line: BODY_LINE, condition: `i == ${k}` }] });
      f.continueMs.push(await timed(dc, () => dc.continueRequest({ threadId: 1 })));
      await dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [] });
      // The first step back from where the continue stopped: wherever that falls between checkpoints.
      f.firstBack.push(await timed(dc, () => dc.stepBackRequest({ threadId: 1 })));
      for (let n = 0; n < 10; n++) f.back.push(await timed(dc, () => dc.stepBackRequest({ threadId: 1 })));
      for (let n = 0; n < 10; n++) f.forward.push(await timed(dc, () => dc.nextRequest({ threadId: 1 })));
    } finally {
      await dc.stop();
    }
  }
  f.depth = 2 * stops[0]!;
  return f;
}

async function main(): Promise<void> {
  const out: Record<string, unknown> = {};
  for (const [label, iterations, stops] of [
    ['1M', 600_000, [499_937, 500_000, 500_513, 501_777]],
    ['10M', 6_000_000, [4_999_937, 5_000_000, 5_000_513, 5_001_777]],
  ] as const) {
    if (process.env.TT_ONLY && process.env.TT_ONLY !== label) continue;
    const f = await measure(iterations, [...stops]);
    const fw = median(f.forward);
    const row = {
      depthStatements: f.depth,
      forwardStepMs: +fw.toFixed(3),
      stepBackMedianMs: +median(f.back).toFixed(3),
      stepBackMaxMs: +max(f.back).toFixed(3),
      firstStepBackMedianMs: +median(f.firstBack).toFixed(3),
      firstStepBackMaxMs: +max(f.firstBack).toFixed(3),
      firstStepBackByStopMs: Object.fromEntries(stops.map((k, i) => [2 * k, +f.firstBack[i]!.toFixed(3)])),
      stepBackOverForward: +(median(f.back) / fw).toFixed(2),
      firstStepBackOverForward: +(median(f.firstBack) / fw).toFixed(2),
      worstFirstStepBackOverForward: +(max(f.firstBack) / fw).toFixed(2),
      coldFirstStepBackMedianMs: +median(f.coldBack).toFixed(3),
      continueMs: +median(f.continueMs).toFixed(1),
      statementsPerSecond: Math.round(f.depth / (median(f.continueMs) / 1000)),
    };
    out[label] = row;
    console.log(`time travel at ~${label} statements deep (${f.depth}):`);
    console.log(`  continue from entry      median ${row.continueMs} ms (${row.statementsPerSecond} statements/s with a conditional breakpoint)`);
    console.log(`  forward step (next)      median ${row.forwardStepMs} ms`);
    console.log(`  step back                median ${row.stepBackMedianMs} ms (max ${row.stepBackMaxMs}), ${row.stepBackOverForward}x forward`);
    console.log(`  first step back after a stop anywhere: median ${row.firstStepBackMedianMs} ms (max ${row.firstStepBackMaxMs}), ${row.firstStepBackOverForward}x forward, worst ${row.worstFirstStepBackOverForward}x`);
    console.log(`  the process's very first step back (1,000 iterations deep; V8 compiling the reverse path): median ${row.coldFirstStepBackMedianMs} ms`);
  }
  writeFileSync(join(root, '.bench', 'time-travel.json'), JSON.stringify(out, null, 2));
}

void main().catch((e) => { console.error(e); process.exit(1); });
