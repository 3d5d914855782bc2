// `xsave-sim timeline FILE [--out run.svg|run.html] ...`: runs a scenario as `run` does and draws
// its timeline (src/views/timeline-svg.ts, the picture VS Code's timeline view shows) into an SVG
// file or an HTML page, for a run without an editor (CI artefacts, reviews, mails). Exit status as
// `run`: 0 the picture is written and the run was clean, 1 it is written and an assertion, an
// invariant or the kernel failed, 2 bad input (the scenario's errors as file:line:col: error: ...,
// or a run past its step budget, whose picture is still written), 3 an internal error.
import { basename, extname, resolve } from 'node:path';
import { cpuModelNames, isCpuModelName } from '../model';
import { PictureWriteError, writePictureFile } from '../host/picture-file';
import { timelineFor } from '../runtime/timeline-view';
import { bucketsFor, timelineSvg } from '../views/timeline-svg';
import pictureCss from '../../media/pictures.css';
import { UsageError, parseArgs } from './args';
import { loadForCommand } from './load-scenario';
import { MAX_RUN_STEPS, type RunOutput } from './run-command';

export const TIMELINE_USAGE = `usage: xsave-sim timeline FILE [--out FILE.svg|FILE.html] [--policy NAME] [--cpu NAME] [--max-steps N]
                             [--from STEP] [--to STEP] [--width PX]
  --out        the picture: an .svg file or an .html page (default: NAME.timeline.svg in the working directory)
  --policy     run-loop policy: a shipped name or a .xsave file (default: the scenario's policy line)
  --cpu        CPU model: ${cpuModelNames().join(', ')} (default: the scenario's cpu line)
  --max-steps  step budget (default 1000000)
  --from/--to  the steps drawn (default: the whole run)
  --width      width of the picture in pixels (default 1400; 400 to 20000)`;

function intOption(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,13}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`--${name}: '${text.slice(0, 40)}' is not a number from ${min} to ${max}`);
  }
  return Number(text);
}

/** Runs the scenario and writes its timeline; `write` is the file writer (tests pass their own). */
export function timelineCommand(argv: string[], write: (path: string, text: string) => void = writePictureFile): RunOutput {
  const args = parseArgs(argv, ['out', 'policy', 'cpu', 'max-steps', 'from', 'to', 'width'], []);
  if (args.positional.length !== 1) throw new UsageError('timeline takes exactly one scenario file');
  const file = resolve(args.positional[0]!);
  const cpu = args.options.get('cpu');
  if (cpu !== undefined && !isCpuModelName(cpu)) throw new UsageError(`--cpu: unknown CPU model '${cpu}' (known: ${cpuModelNames().join(', ')})`);
  const maxSteps = intOption('max-steps', args.options.get('max-steps'), 1, MAX_RUN_STEPS) ?? 1_000_000;
  const width = intOption('width', args.options.get('width'), 400, 20_000) ?? 1400;
  const from = intOption('from', args.options.get('from'), 0, MAX_RUN_STEPS);
  const to = intOption('to', args.options.get('to'), 1, MAX_RUN_STEPS);
  if (from !== undefined && to !== undefined && to <= from) throw new UsageError(`--to (${to}) must be greater than --from (${from})`);
  const out = resolve(args.options.get('out') ?? `${basename(file, extname(file))}.timeline.svg`);
  const kind = extname(out).toLowerCase();
  if (kind !== '.svg' && kind !== '.html') throw new UsageError(`--out: '${args.options.get('out')}' must end in .svg or .html`);

  const loaded = loadForCommand(file, args.options.get('policy'), cpu);
  if (!('engine' in loaded)) return loaded;
  const engine = loaded.engine;
  const rec = timelineFor(engine, loaded.source);
  const t0 = performance.now();
  const result = engine.run((h) => { rec.record(engine.state, h); return false; }, maxSteps);
  rec.record(engine.state, result.happenings);
  const runMs = performance.now() - t0;
  const s = engine.state;

  const t1 = performance.now();
  const a = from ?? rec.start;
  const b = to ?? Math.max(rec.end + 1, a + 1);
  if (b <= a) throw new UsageError(`--from ${a}: the run has ${rec.end} steps`);
  const w = rec.window(a, b, bucketsFor(width));
  const title = `${basename(file)}${s.halted ? `: ${s.halted}` : ''} (steps ${a}-${b - 1} of ${rec.end})`;
  const svg = timelineSvg(w, { width, position: null, title, standalone: kind === '.svg' ? { css: pictureCss } : null });
  const text = kind === '.svg' ? svg : htmlPage(basename(file), svg);
  try {
    write(out, text);
  } catch (e) {
    if (e instanceof PictureWriteError) throw new UsageError(`--out: ${e.message}`);
    throw e;
  }
  const renderMs = performance.now() - t1;

  const broken = s.violations.filter((v) => !v.deviation);
  const lines: string[] = [];
  for (const v of broken) lines.push(`${v.where}: invariant violated: ${v.name}: ${v.text} (${v.thread}, step ${v.step})`);
  for (const f of s.failedAssertions) lines.push(`${f.file}:${f.line}:${f.column}: assertion failed: ${f.message} (${f.thread}, step ${f.step})`);
  const marks = w.lanes.reduce((n, l) => n + l.marks.reduce((k, m) => k + m.count, 0), 0);
  lines.push(`wrote ${out}: steps ${a}-${b - 1} of ${rec.end}, ${w.lanes.length} lanes, ${marks} marks (run ${runMs.toFixed(0)} ms, picture ${renderMs.toFixed(0)} ms)`);
  let status = s.failedAssertions.length || broken.length || s.halted?.startsWith('shutdown') || result.happenings.some((h) => h.kind === 'oops') ? 1 : 0;
  let err = '';
  if (result.reason === 'budget') {
    const th = engine.currentThread();
    err = `${th ? engine.where(th) : `${file}:1:1: `}error: the step budget of ${maxSteps} ran out here (the picture shows the steps run)\n`;
    status = 2;
  } else if (s.halted?.startsWith('scenario error')) {
    const h = result.happenings.find((x) => x.kind === 'error');
    err = `${h && h.kind === 'error' ? h.text : s.halted}\n`;
    status = 2;
  }
  return { status, stdout: lines.join('\n') + '\n', stderr: err };
}

/** The picture in a page of its own: the stylesheet, the SVG and a line on how to read it. */
function htmlPage(name: string, svg: string): string {
  const esc = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(name)}: run timeline</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>${pictureCss}
body { margin: 12px; font-family: sans-serif; }</style></head>
<body><h1 style="font-size: 16px">${esc(name)}: run timeline</h1>
<p style="font-size: 12px">One lane per CPU and per thread: light bars are a thread running, dark bars the guest (VM entry to
VM exit, labelled with the exit reason); diamonds are #NM (orange) and other faults, triangles interrupts and events, red
marks failed assertions and invariants, a star an event the explorer placed. Below, IA32_XFD, IA32_XFD_ERR, XCR0 and XINUSE of
each CPU. Hover anything for its step and value.</p>
${svg}
</body></html>
`;
}
