// The run timeline at a million steps: what recording costs per step, what a window of the run
// costs to compute (src/sim/timeline.ts) and to draw (src/views/timeline-svg.ts), for the whole run
// and for zoomed-in windows, and what a view waits for through the adapter (`xsave/timeline` and
// `xsave/travel` round trips with a real DAP client). The scenario is a guest that writes XCR0 in
// a loop, so every iteration is a VM exit handled by KVM (a span, XCR0 swapped twice). Prints
// medians; writes .bench/timeline.json. Asserts nothing about speed.
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileGate } from '../src/host/files';
import { loadScenario } from '../src/sim/scenario';
import { TimelineRecorder } from '../src/sim/timeline';
import { bucketsFor, timelineSvg } from '../src/views/timeline-svg';

const root = join(__dirname, '..', '..');
const adapter = join(root, 'dist', 'adapter.js');
const dir = join(root, '.bench');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

/** A guest that runs XSETBV `n` times (each an exit to KVM, SDM Vol3 25.1.2), then HLT. */
function scenario(n: number): string {
  return `// timeline bench: ${n} XSETBV exits
cpu "sapphire-rapids";
policy "linux-5.17";
guest {
  fn main() {
    let i = 0;
    while (i != ${n}) {
      xsetbv(0, XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM | XFEATURE_MASK_XTILE);
      i = i + 1;
    }
    hlt();
  }
}
host qemu {
  thread main {
    arch_prctl(ARCH_REQ_XCOMP_GUEST_PERM, XFEATURE_XTILEDATA);
    spawn vcpu0;
  }
  thread vcpu0 {
    vcpu = kvm_create_vcpu();
    kvm_set_cpuid(vcpu, kvm_cpuid_xcr0(XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM | XFEATURE_MASK_XTILE));
    while (kvm_run(vcpu) != KVM_EXIT_HLT) {}
  }
}
`;
}
const HLT_LINE = 11;

function load(file: string) {
  const loaded = loadScenario(file, new FileGate([dir]), { policy: join(root, 'src', 'kernel', 'policies', 'linux-5.17.xsave') });
  if (!loaded.engine) throw new Error(loaded.diagnostics.map((d) => d.message).join('\n'));
  return loaded.engine;
}

async function main(): Promise<void> {
  mkdirSync(dir, { recursive: true });
  // Steps per iteration and the rest, from two short runs; then enough iterations for a million steps.
  const stepsOf = (k: number): number => {
    const probe = join(dir, 'timeline-probe.xsave');
    writeFileSync(probe, scenario(k));
    const p = load(probe);
    while (!p.state.halted) p.step();
    return p.state.steps;
  };
  const s200 = stepsOf(200);
  const perIteration = (stepsOf(400) - s200) / 200;
  const n = Math.ceil((1_000_000 - (s200 - 200 * perIteration)) / perIteration);
  const file = join(dir, 'timeline-1m.xsave');
  writeFileSync(file, scenario(n));

  // The engine alone, then with the recorder, three times each in turn: the recording's cost per step.
  let t0 = process.hrtime.bigint();
  const bareRuns: number[] = [];
  const recordedRuns: number[] = [];
  let steps = 0;
  let r: TimelineRecorder | null = null;
  for (let rep = 0; rep < 3; rep++) {
    const bare = load(file);
    t0 = process.hrtime.bigint();
    while (!bare.state.halted) bare.step();
    bareRuns.push(ms(t0));
    steps = bare.state.steps;
    const e = load(file);
    const rec = new TimelineRecorder(e.state, e.program);
    t0 = process.hrtime.bigint();
    while (!e.state.halted) rec.record(e.state, e.step());
    recordedRuns.push(ms(t0));
    r = rec;
  }
  const bareMs = median(bareRuns);
  const recordedMs = median(recordedRuns);
  if (!r) throw new Error('no run');
  // The difference of two whole runs drowns in the machine's noise: the time inside record() itself,
  // timed around each call, less what an empty pair of clock reads costs.
  let empty = 0n;
  for (let k = 0; k < 100_000; k++) { const a = process.hrtime.bigint(); empty += process.hrtime.bigint() - a; }
  const perPair = Number(empty) / 100_000;
  const direct = load(file);
  const rec2 = new TimelineRecorder(direct.state, direct.program);
  let inside = 0n;
  while (!direct.state.halted) {
    const h = direct.step();
    const a = process.hrtime.bigint();
    rec2.record(direct.state, h);
    inside += process.hrtime.bigint() - a;
  }
  const recordNs = Math.max(0, Number(inside) / direct.state.steps - perPair);

  // Windows: the whole run and zoomed-in ones, at 1200 pixels (one column per pixel of the plot).
  const width = 1400;
  const buckets = bucketsFor(width);
  const windows: Array<[string, number, number]> = [['whole run', 0, r.end + 1]];
  for (const span of [100_000, 10_000, 1_000, 100]) {
    for (let k = 0; k < 5; k++) {
      const from = Math.floor(((k * 0.19 + 0.03) % 1) * (r.end - span));
      windows.push([`${span} steps`, from, from + span]);
    }
  }
  const rows: Record<string, { dataMs: number; svgMs: number; svgKB: number; spans: number; marks: number }> = {};
  for (const label of new Set(windows.map((w) => w[0]))) {
    const data: number[] = [];
    const draw: number[] = [];
    let kb = 0;
    let spans = 0;
    let marks = 0;
    for (let rep = 0; rep < 5; rep++) {
      for (const [l, a, b] of windows) {
        if (l !== label) continue;
        let t = process.hrtime.bigint();
        const w = r.window(a, b, buckets);
        data.push(ms(t));
        t = process.hrtime.bigint();
        const svg = timelineSvg(w, { width, position: b - 1 });
        draw.push(ms(t));
        kb = svg.length / 1024;
        spans = w.lanes.reduce((k, x) => k + x.spans.length, 0);
        marks = w.lanes.reduce((k, x) => k + x.marks.length, 0);
      }
    }
    rows[label] = { dataMs: +median(data).toFixed(2), svgMs: +median(draw).toFixed(2), svgKB: +kb.toFixed(1), spans, marks };
  }

  // In a browser (Debian's Chromium through playwright-core, as the real-VS-Code test drives it):
  // the SVG put into a page with the stylesheet, as the webview does, until it is laid out.
  const browser: Record<string, number> = {};
  const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (existsSync(chromiumPath)) {
    const { chromium } = await import('playwright-core');
    const b = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await b.newPage({ viewport: { width, height: 600 } });
      await page.setContent(`<html><head><style>${readFileSync(join(root, 'media', 'pictures.css'), 'utf8')}</style></head><body class="xsave-picture"><div id="plot"></div></body></html>`);
      for (const [label, a, z] of [['whole run', 0, r.end + 1], ['10000 steps', 400_000, 410_000]] as const) {
        const svg = timelineSvg(r.window(a, z, buckets), { width, position: z - 1 });
        const times: number[] = [];
        for (let rep = 0; rep < 5; rep++) {
          times.push(await page.evaluate((markup) => {
            // (Runs in the page: its DOM, which Node's typings do not describe.)
            const doc = (globalThis as unknown as { document: { getElementById(id: string): { innerHTML: string; getBoundingClientRect(): unknown }; body: { offsetHeight: number } } }).document;
            const plot = doc.getElementById('plot');
            const t = performance.now();
            plot.innerHTML = markup;
            plot.getBoundingClientRect();
            void doc.body.offsetHeight;
            return performance.now() - t;
          }, svg));
        }
        browser[label] = +median(times).toFixed(1);
      }
    } finally {
      await b.close();
    }
  }

  // Through the adapter: the session runs the scenario to its HLT, then a view asks for windows and travels.
  const dc = new DebugClient('node', adapter, 'xsave');
  dc.defaultTimeout = 600_000;
  await dc.start();
  const dap = { continueMs: 0, wholeRunMs: [] as number[], zoomedMs: [] as number[], travelMs: [] as number[] };
  try {
    await Promise.all([dc.configurationSequence(), dc.launch({ program: file, stopOnEntry: true, trace: false, maxSteps: 10_000_000 } as never), dc.waitForEvent('stopped')]);
    await dc.setBreakpointsRequest({ source: { path: file }, breakpoints: [{ line: HLT_LINE }] });
    t0 = process.hrtime.bigint();
    await Promise.all([dc.waitForEvent('stopped'), dc.continueRequest({ threadId: 1 })]);
    dap.continueMs = ms(t0);
    await dc.setBreakpointsRequest({ source: { path: file }, breakpoints: [] });
    for (let k = 0; k < 9; k++) {
      t0 = process.hrtime.bigint();
      await dc.customRequest('xsave/timeline', { buckets });
      dap.wholeRunMs.push(ms(t0));
      const from = Math.floor(((k * 0.23 + 0.05) % 1) * (steps - 5000));
      t0 = process.hrtime.bigint();
      await dc.customRequest('xsave/timeline', { from, to: from + 5000, buckets });
      dap.zoomedMs.push(ms(t0));
    }
    for (let k = 0; k < 5; k++) {
      const target = Math.floor(((k * 0.31 + 0.1) % 1) * steps);
      t0 = process.hrtime.bigint();
      await Promise.all([dc.waitForEvent('stopped'), dc.customRequest('xsave/travel', { step: target })]);
      dap.travelMs.push(ms(t0));
    }
  } finally {
    await dc.stop();
  }

  const out = {
    node: process.version,
    steps,
    vmExits: n,
    engineMs: +bareMs.toFixed(0),
    engineWithRecorderMs: +recordedMs.toFixed(0),
    recordingNsPerStep: +(((recordedMs - bareMs) * 1e6) / steps).toFixed(0),
    recordCallNsPerStep: +recordNs.toFixed(0),
    recordingKB: +(r.storedBytes() / 1024).toFixed(0),
    buckets,
    windows: rows,
    browserLayoutMs: browser,
    dap: {
      continueToEndMs: +dap.continueMs.toFixed(0),
      timelineWholeRunMedianMs: +median(dap.wholeRunMs).toFixed(1),
      timeline5000StepsMedianMs: +median(dap.zoomedMs).toFixed(1),
      travelMedianMs: +median(dap.travelMs).toFixed(1),
      travelMaxMs: +Math.max(...dap.travelMs).toFixed(1),
    },
  };
  console.log(`timeline of a ${steps}-step run (${n} VM exits), Node ${process.version}:`);
  console.log(`  engine ${out.engineMs} ms; with the recorder ${out.engineWithRecorderMs} ms (${out.recordingNsPerStep} ns per step by difference; ${out.recordCallNsPerStep} ns inside record() per step); the recording holds ${out.recordingKB} KB`);
  for (const [label, x] of Object.entries(rows)) {
    console.log(`  window ${label.padEnd(14)} data ${String(x.dataMs).padStart(7)} ms, SVG ${String(x.svgMs).padStart(7)} ms (${x.svgKB} KB, ${x.spans} spans, ${x.marks} marks) at ${buckets} columns`);
  }
  if (Object.keys(browser).length) console.log(`  in Chromium (innerHTML to layout): ${Object.entries(browser).map(([k, v]) => `${k} ${v} ms`).join(', ')}`);
  console.log(`  through the adapter: continue to the end ${out.dap.continueToEndMs} ms; xsave/timeline whole run ${out.dap.timelineWholeRunMedianMs} ms, 5000 steps ${out.dap.timeline5000StepsMedianMs} ms; xsave/travel median ${out.dap.travelMedianMs} ms (max ${out.dap.travelMaxMs})`);
  writeFileSync(join(dir, 'timeline.json'), JSON.stringify(out, null, 2));
}

void main().catch((err) => { console.error(err); process.exit(1); });
