// Time travel as a user feels it: request → stopped latency of step back and reverse step against a
// forward step, at 1M and 10M statements deep, through a real DAP client and the adapter process.
// The stop position varies (a conditional breakpoint at several loop iterations) so the measure
// covers stops that fall anywhere between two checkpoints; each position is measured in TT_REPS
// adapter processes (default 3) and reported as the median of those, so that one noisy sample is
// not taken for where the stop fell (the single worst sample is printed too). Each process first
// goes through WARM_CYCLES short continue / step back / step cycles at a shallow depth: the first
// cycles of a process pay for V8 compiling and optimizing the reverse path and the stop's replay
// (History.atStop), which is reported apart (the process's very first step back) from where the
// stop falls. After every stop the client asks what VS Code asks (threads, stack, scopes,
// variables) before the next request, untimed. Prints medians and ratios measured in one run;
// writes .bench/time-travel.json. Asserts nothing about speed.
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const adapter = join(root, 'dist', 'adapter.js');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const max = (xs: number[]) => Math.max(...xs);

/**
 * A host loop of `iterations` iterations, 3 statements each (the while header and the two of the
 * body). The stop at `acc = ...` with i == k is at position 3k + 3 (the two lets, k iterations, the
 * header of the next): positionOf(k).
 */
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
const positionOf = (k: number): number => 3 * k + 3;
/**
 * Shallow continue / step back / step cycles before the measured stop (see measure()). Driving the
 * runtime in-process, the first step back after a continue took 404, 150, 68, 45, 50 µs in the
 * first five cycles of a process and 20-70 µs after (an unrecorded harness over this scenario).
 */
const WARM_CYCLES = 4;
/** Step backs and forward steps in each warm-up cycle. */
const WARM = 5;
/** Adapter processes per stop position (TT_REPS). */
const REPS = Math.max(1, Number(process.env.TT_REPS ?? 3));

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

interface Figures {
  depth: number; forward: number[]; back: number[];
  /** Per stop position, the first step back after the continue in each process. */
  firstBack: number[][];
  coldBack: number[]; continueMs: number[];
}

async function measure(iterations: number, stops: number[]): Promise<Figures> {
  mkdirSync(join(root, '.bench'), { recursive: true });
  const program = join(root, '.bench', `time-travel-${iterations}.xsave`);
  writeFileSync(program, scenario(iterations));
  const f: Figures = { depth: 0, forward: [], back: [], firstBack: stops.map(() => []), coldBack: [], continueMs: [] };
  // Positions interleaved across reps: a slow spell of the machine spreads over all of them.
  for (let rep = 0; rep < REPS; rep++) {
    for (const [at, k] of stops.entries()) {
      const dc = new DebugClient('node', adapter, 'xsave');
      dc.defaultTimeout = 300_000; // a continue to 10M statements deep takes seconds
      await dc.start();
      try {
        await Promise.all([
          dc.configurationSequence(),
          dc.launch({ program, stopOnEntry: true, trace: false, maxSteps: 4 * iterations + 100 } as never),
          dc.waitForEvent('stopped'),
        ]);
        // Warm-up, shallow: V8 compiles the reverse path lazily on its first use and optimizes it
        // after a few more, once per process, as the forward path was during the launch. The very
        // first step back is measured apart (coldBack).
        for (let c = 1; c <= WARM_CYCLES; c++) {
          await dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [{ line: BODY_LINE, condition: `i == ${1000 * c}` }] });
          await timed(dc, () => dc.continueRequest({ threadId: 1 }));
          const cold = await timed(dc, () => dc.stepBackRequest({ threadId: 1 }));
          if (c === 1) f.coldBack.push(cold);
          for (let n = 1; n < WARM; n++) await timed(dc, () => dc.stepBackRequest({ threadId: 1 }));
          for (let n = 0; n < WARM; n++) await timed(dc, () => dc.nextRequest({ threadId: 1 }));
        }
        await dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [{ line: BODY_LINE, condition: `i == ${k}` }] });
        f.continueMs.push(await timed(dc, () => dc.continueRequest({ threadId: 1 })));
        await dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [] });
        // The first step back from where the continue stopped: wherever that falls between checkpoints.
        f.firstBack[at]!.push(await timed(dc, () => dc.stepBackRequest({ threadId: 1 })));
        for (let n = 0; n < 10; n++) f.back.push(await timed(dc, () => dc.stepBackRequest({ threadId: 1 })));
        for (let n = 0; n < 10; n++) f.forward.push(await timed(dc, () => dc.nextRequest({ threadId: 1 })));
      } finally {
        await dc.stop();
      }
    }
  }
  f.depth = positionOf(stops[0]!);
  return f;
}

async function main(): Promise<void> {
  const out: Record<string, unknown> = {};
  for (const [label, iterations, stops] of [
    // Stops at about 1M and 10M statements: one 63 iterations before the round number, one at it,
    // two after, so that they fall at different places between checkpoints.
    ['1M', 400_000, [333_270, 333_333, 333_846, 335_110]],
    ['10M', 4_000_000, [3_333_270, 3_333_333, 3_333_846, 3_335_110]],
  ] as const) {
    if (process.env.TT_ONLY && process.env.TT_ONLY !== label) continue;
    const f = await measure(iterations, [...stops]);
    const fw = median(f.forward);
    const byStop = f.firstBack.map(median);
    const allFirst = f.firstBack.flat();
    const row = {
      depthStatements: f.depth,
      processesPerStop: REPS,
      forwardStepMs: +fw.toFixed(3),
      stepBackMedianMs: +median(f.back).toFixed(3),
      stepBackMaxMs: +max(f.back).toFixed(3),
      firstStepBackMedianMs: +median(allFirst).toFixed(3),
      firstStepBackMaxMs: +max(allFirst).toFixed(3),
      firstStepBackByStopMs: Object.fromEntries(stops.map((k, i) => [positionOf(k), +byStop[i]!.toFixed(3)])),
      stepBackOverForward: +(median(f.back) / fw).toFixed(2),
      firstStepBackOverForward: +(median(allFirst) / fw).toFixed(2),
      worstStopFirstStepBackOverForward: +(max(byStop) / fw).toFixed(2),
      worstSampleFirstStepBackOverForward: +(max(allFirst) / fw).toFixed(2),
      coldFirstStepBackMedianMs: +median(f.coldBack).toFixed(3),
      continueMs: +median(f.continueMs).toFixed(1),
      statementsPerSecond: Math.round(f.depth / (median(f.continueMs) / 1000)),
    };
    out[label] = row;
    console.log(`time travel at ~${label} statements deep (${f.depth}):`);
    console.log(`  continue from entry      median ${row.continueMs} ms (${row.statementsPerSecond} statements/s with a conditional breakpoint)`);
    console.log(`  forward step (next)      median ${row.forwardStepMs} ms`);
    console.log(`  step back                median ${row.stepBackMedianMs} ms (max ${row.stepBackMaxMs}), ${row.stepBackOverForward}x forward`);
    console.log(`  first step back after a stop anywhere: median ${row.firstStepBackMedianMs} ms, ${row.firstStepBackOverForward}x forward`);
    console.log(`    by stop position (median of ${REPS} processes each): ${stops.map((k, i) => `${positionOf(k)}: ${byStop[i]!.toFixed(3)} ms`).join(', ')}`);
    console.log(`    worst stop position ${row.worstStopFirstStepBackOverForward}x forward; worst single sample ${row.firstStepBackMaxMs} ms (${row.worstSampleFirstStepBackOverForward}x)`);
    console.log(`  the process's very first step back (1,000 iterations deep; V8 compiling the reverse path): median ${row.coldFirstStepBackMedianMs} ms`);
  }
  writeFileSync(join(root, '.bench', 'time-travel.json'), JSON.stringify(out, null, 2));
}

void main().catch((e) => { console.error(e); process.exit(1); });
