// The run timeline at a million steps: what recording costs per step, what a window of the run
// costs to compute (src/sim/timeline.ts) and to draw (src/views/timeline-svg.ts), for the whole run
// and for zoomed-in windows, and what a view waits for through the adapter (`xsave/timeline` and
// `xsave/travel` round trips with a real DAP client). The scenario is a guest that writes XCR0 in
// a loop, so every iteration is a VM exit handled by KVM (a span, XCR0 swapped twice). Prints
// medians; writes .bench/timeline.json. Asserts nothing about speed.
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileGate } from '../src/debug/host-files';
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
    kvm_set_cpuid(vcpu, XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM | XFEATURE_MASK_XTILE);
    while (kvm_run(vcpu) != KVM_EXIT_HLT) {}
  }
}
`;
}
const HLT_LINE = 11;

function load(file: string) {
  const loaded = loadScenario(file, new FileGate([dir]), { imports: [join(root, 'src', 'kernel', 'policies', 'linux-5.17.xsave')] });
  if (!loaded.engine) throw new Error(loaded.diagnostics.map((d) => d.message).join('\n'));
  return loaded.engine;
}

async function main(): Promise<void> {
  mkdirSync(dir, { recursive: true });
  // Steps per iteration, from a short run; then enough iterations for a million steps.
  const probe = join(dir, 'timeline-probe.xsave');
  writeFileSync(probe, scenario(200));
  const p = load(probe);
  while (!p.state.halted) p.step();
  const perIteration = p.state.steps / 200;
  const n = Math.ceil(1_000_000 / perIteration);
  const file = join(dir, 'timeline-1m.xsave');
  writeFileSync(file, scenario(n));

  // The engine alone, then with the recorder: the recording's cost per step.
  let t0 = process.hrtime.bigint();
  const bare = load(file);
  while (!bare.state.halted) bare.step();
  const bareMs = ms(t0);
  const steps = bare.state.steps;
  const e = load(file);
  const heapBefore = process.memoryUsage().heapUsed;
  const r = new TimelineRecorder(e.state, e.program);
  t0 = process.hrtime.bigint();
  while (!e.state.halted) r.record(e.state, e.step());
  const recordedMs = ms(t0);
  const heapAfter = process.memoryUsage().heapUsed;

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
    recorderHeapMB: +((heapAfter - heapBefore) / 2 ** 20).toFixed(1),
    buckets,
    windows: rows,
    dap: {
      continueToEndMs: +dap.continueMs.toFixed(0),
      timelineWholeRunMedianMs: +median(dap.wholeRunMs).toFixed(1),
      timeline5000StepsMedianMs: +median(dap.zoomedMs).toFixed(1),
      travelMedianMs: +median(dap.travelMs).toFixed(1),
      travelMaxMs: +Math.max(...dap.travelMs).toFixed(1),
    },
  };
  console.log(`timeline of a ${steps}-step run (${n} VM exits), Node ${process.version}:`);
  console.log(`  engine ${out.engineMs} ms; with the recorder ${out.engineWithRecorderMs} ms (${out.recordingNsPerStep} ns per step); recorder heap ~${out.recorderHeapMB} MB`);
  for (const [label, x] of Object.entries(rows)) {
    console.log(`  window ${label.padEnd(14)} data ${String(x.dataMs).padStart(7)} ms, SVG ${String(x.svgMs).padStart(7)} ms (${x.svgKB} KB, ${x.spans} spans, ${x.marks} marks) at ${buckets} columns`);
  }
  console.log(`  through the adapter: continue to the end ${out.dap.continueToEndMs} ms; xsave/timeline whole run ${out.dap.timelineWholeRunMedianMs} ms, 5000 steps ${out.dap.timeline5000StepsMedianMs} ms; xsave/travel median ${out.dap.travelMedianMs} ms (max ${out.dap.travelMaxMs})`);
  writeFileSync(join(dir, 'timeline.json'), JSON.stringify(out, null, 2));
}

void main().catch((err) => { console.error(err); process.exit(1); });
