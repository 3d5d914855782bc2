// The run timeline as SVG: one lane per CPU and per simulated thread with steps on the horizontal
// axis, the stretches each thread ran, VM entries to exits as spans labelled with the exit reason,
// faults, #NM, interrupts, events and context switches as marks (invariant violations and failed
// assertions in red, a counterexample's placed events highlighted), and IA32_XFD, IA32_XFD_ERR,
// XCR0 and XINUSE per CPU as step-wise value tracks; the current position as a cursor. The same
// markup serves the VS Code view (styled by the theme's colours, media/pictures.css) and
// `xsave-sim timeline --out run.svg` (the same stylesheet with its fallback colours). Every element
// a person can point at carries its step (`data-step`) and what it is (`data-tip`): the view turns
// a click into a travel there and a hover into a tooltip; the SVG file has <title>s.
import type { TimelineWindow, WindowMark, WindowSpan, WindowTrack } from '../sim/timeline';
import { esc, fit, n, tickStep } from './svg';

export interface TimelineSvgOptions {
  /** Total width in pixels (the plot is this minus the lane titles). */
  width: number;
  /** The step the machine stands at, drawn as the cursor; null for none. */
  position: number | null;
  /** A title line above the picture (the scenario), or null. */
  title?: string | null;
  /** Wrap the markup in a complete standalone document with the given stylesheet. */
  standalone?: { css: string } | null;
}

/** Width of the lane titles at the left. */
export const LABEL_WIDTH = 170;
const AXIS = 26;
const LANE = 30;
const TRACK = 18;
const GAP = 8;

export interface TimelineGeometry {
  readonly left: number;
  readonly plotWidth: number;
  readonly height: number;
}

/** Where the plot is: what a view needs to turn a pixel into a step. */
export function timelineGeometry(w: TimelineWindow, width: number): TimelineGeometry {
  const plotWidth = Math.max(50, width - LABEL_WIDTH - 10);
  const height = AXIS + w.lanes.length * LANE + GAP + w.tracks.length * TRACK + GAP;
  return { left: LABEL_WIDTH, plotWidth, height };
}

/** How a window's columns (buckets) should be chosen for a picture of `width` pixels: one per pixel of the plot. */
export function bucketsFor(width: number): number {
  return Math.max(1, Math.round(Math.max(50, width - LABEL_WIDTH - 10)));
}

function stepRange(a: number, b: number): string {
  const lo = Math.ceil(a);
  const hi = Math.ceil(b) - 1;
  return hi > lo ? `steps ${lo}-${hi}` : `step ${lo}`;
}

export function timelineSvg(w: TimelineWindow, opts: TimelineSvgOptions): string {
  const title: Title = opts.standalone ? (tip) => `<title>${esc(tip)}</title>` : () => '';
  const g = timelineGeometry(w, opts.width);
  const titleH = opts.title ? 22 : 0;
  const span = w.to - w.from;
  const x = (s: number): number => g.left + ((Math.min(Math.max(s, w.from), w.to) - w.from) / span) * g.plotWidth;
  const out: string[] = [];
  const H = g.height + titleH;
  const W = opts.width;
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="xsave-timeline" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" data-from="${w.from}" data-to="${w.to}" data-left="${g.left}" data-plot-width="${n(g.plotWidth)}" data-end="${w.end}">`);
  if (opts.standalone) out.push(`<style>${opts.standalone.css}</style>`);
  out.push('<defs><pattern id="tl-dense" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect class="tl-dense-bg" width="4" height="4"/><line class="tl-dense-line" x1="0" y1="0" x2="0" y2="4"/></pattern></defs>');
  out.push(`<rect class="tl-bg" x="0" y="0" width="${W}" height="${H}"/>`);
  if (opts.title) out.push(`<text class="tl-title" x="6" y="15">${esc(opts.title)}</text>`);
  out.push(`<g transform="translate(0 ${titleH})">`);

  // Axis: ticks at round step numbers.
  const every = tickStep(span, Math.max(2, Math.floor(g.plotWidth / 90)));
  out.push(`<g class="tl-axis"><line x1="${g.left}" y1="${AXIS - 4}" x2="${n(g.left + g.plotWidth)}" y2="${AXIS - 4}"/>`);
  for (let t = Math.ceil(w.from / every) * every; t <= w.to; t += every) {
    const tx = x(t);
    out.push(`<line x1="${n(tx)}" y1="${AXIS - 8}" x2="${n(tx)}" y2="${AXIS - 4}"/><text x="${n(tx)}" y="${AXIS - 11}" text-anchor="middle">${t}</text>`);
  }
  out.push(`<text class="tl-axis-label" x="6" y="${AXIS - 11}">step</text></g>`);

  // Lanes.
  let y = AXIS;
  for (const lane of w.lanes) {
    out.push(`<g class="tl-lane ${lane.kind}" data-lane="${esc(lane.id)}">`);
    out.push(`<rect class="tl-lane-bg" x="0" y="${y}" width="${W}" height="${LANE}"/>`);
    out.push(`<text class="tl-lane-title" x="6" y="${y + 19}">${esc(fit(lane.title, LABEL_WIDTH - 12, 6.6))}<title>${esc(lane.title)}</title></text>`);
    for (const s of lane.spans.filter((z) => z.kind === 'run')) out.push(spanSvg(s, lane.kind, x, y + 5, LANE - 10, title));
    for (const s of lane.spans.filter((z) => z.kind === 'guest')) out.push(spanSvg(s, lane.kind, x, y + 9, LANE - 18, title));
    for (const m of lane.marks) out.push(markSvg(m, x, y, title));
    out.push('</g>');
    y += LANE;
  }
  y += GAP;

  // Value tracks.
  for (const t of w.tracks) {
    out.push(trackSvg(t, x, y, W, title));
    y += TRACK;
  }

  // The cursor: where the machine stands.
  if (opts.position !== null && opts.position >= w.from && opts.position <= w.to) {
    const cx = x(opts.position);
    out.push(`<g class="tl-cursor" data-step="${opts.position}"><line x1="${n(cx)}" y1="${AXIS - 4}" x2="${n(cx)}" y2="${y}"/><path d="M${n(cx - 5)} ${AXIS - 10} h10 l-5 6 z"/>${title(`the machine is at step ${opts.position}`)}</g>`);
  }
  out.push('</g></svg>');
  const svg = out.join('');
  return opts.standalone ? `<?xml version="1.0" encoding="UTF-8"?>\n${svg}\n` : svg;
}

/** A hover's text as an SVG <title> (a file's hovers), or nothing (a view shows `data-tip` itself). */
type Title = (tip: string) => string;

function spanSvg(s: WindowSpan, lane: 'cpu' | 'thread', x: (s: number) => number, y: number, h: number, title: Title): string {
  const x0 = x(s.from);
  const x1 = Math.max(x(s.to), x0 + 1.5);
  const dense = s.count > 1;
  const what = s.kind === 'guest'
    ? dense ? `${s.count} VM entries (${stepRange(s.from, s.to)})` : s.open ? `in the guest since step ${s.from}` : `guest ${stepRange(s.from, s.to)}, VM exit: ${s.label}${s.detail ? ` (${s.detail})` : ''}`
    : dense ? `${s.count} runs (${stepRange(s.from, s.to)})` : `${lane === 'cpu' ? s.label : `on ${s.label}`} ${stepRange(s.from, s.to)}${s.open ? ' (running)' : ''}`;
  const cls = `tl-span ${s.kind}${dense ? ' dense' : ''}${s.open ? ' open' : ''}`;
  const label = dense ? '' : fit(s.label, x1 - x0 - 6);
  return `<g class="${cls}" data-step="${s.from}" data-tip="${esc(what)}"><rect x="${n(x0)}" y="${y}" width="${n(x1 - x0)}" height="${h}"${dense ? ' fill="url(#tl-dense)"' : ''}/>` +
    `${label ? `<text x="${n(x0 + 3)}" y="${y + h - 4}">${esc(label)}</text>` : ''}${title(what)}</g>`;
}

const GLYPH: Readonly<Record<string, string>> = {
  invariant: 'M0 -6 L6 6 L-6 6 Z', assertion: 'M0 -6 L6 6 L-6 6 Z', error: 'M-5 -5 L5 5 M5 -5 L-5 5',
  nm: 'M0 -6 L6 0 L0 6 L-6 0 Z', fault: 'M0 -6 L6 0 L0 6 L-6 0 Z', injected: 'M0 -7 L2 -2 L7 -2 L3 1 L5 7 L0 3 L-5 7 L-3 1 L-7 -2 L-2 -2 Z',
  interrupt: 'M-4 -6 L4 -6 L0 6 Z', event: 'M-4 -6 L4 -6 L0 6 Z', deviation: 'M0 -6 L6 6 L-6 6 Z', switch: 'M-1 -7 h2 v14 h-2 Z', 'thread-end': 'M-4 -4 h8 v8 h-8 Z',
};

function markSvg(m: WindowMark, x: (s: number) => number, laneY: number, title: Title): string {
  const cluster = m.count > 1;
  const cx = cluster ? (x(m.from) + x(m.to)) / 2 : x(m.step);
  const cy = laneY + (m.kind === 'switch' || m.kind === 'thread-end' ? 15 : 9);
  const others = cluster ? Object.entries(m.kinds).map(([k, c]) => `${c} ${k}`).join(', ') : '';
  const tip = cluster ? `${m.count} marks (${others}) in ${stepRange(m.from, m.to)}; first ${m.kind} at step ${m.step}: ${m.text}` : `step ${m.step}: ${m.text}`;
  return `<g class="tl-mark ${m.kind}${cluster ? ' cluster' : ''}" data-step="${m.step}" data-kind="${m.kind}" data-tip="${esc(tip)}" transform="translate(${n(cx)} ${cy})">` +
    `<rect class="tl-hit" x="-7" y="-8" width="14" height="16"/><path d="${GLYPH[m.kind] ?? GLYPH.event}"/>` +
    `${cluster ? `<text x="8" y="4">${m.count}</text>` : ''}${title(tip)}</g>`;
}

function trackSvg(t: WindowTrack, x: (s: number) => number, y: number, W: number, title: Title): string {
  const out: string[] = [`<g class="tl-track" data-track="${esc(t.id)}">`, `<rect class="tl-lane-bg" x="0" y="${y}" width="${W}" height="${TRACK}"/>`,
    `<text class="tl-track-title" x="6" y="${y + 13}">cpu${t.cpu} ${t.register}</text>`];
  for (const s of t.segments) {
    const x0 = x(s.from);
    const x1 = Math.max(x(s.to), x0 + 1);
    const v = t.values[s.value]!;
    const dense = s.changes > 0;
    const tip = dense ? `cpu${t.cpu} ${t.register}: ${s.changes} changes in ${stepRange(s.from, s.to)}, then ${v.text}` : `cpu${t.cpu} ${t.register} = ${v.text} (${stepRange(s.from, s.to)})`;
    // Zero gets its own look; other values alternate among a few shades by their order of appearance.
    const shade = v.hex === '0x0' ? 'zero' : `v${s.value % 4}`;
    const label = dense ? '' : fit(v.text, x1 - x0 - 6, 6);
    out.push(`<g class="tl-seg ${shade}${dense ? ' dense' : ''}" data-step="${Math.ceil(s.from)}" data-value="${esc(v.hex)}" data-tip="${esc(tip)}">` +
      `<rect x="${n(x0)}" y="${y + 2}" width="${n(x1 - x0)}" height="${TRACK - 4}"${dense ? ' fill="url(#tl-dense)"' : ''}/>` +
      `${label ? `<text x="${n(x0 + 3)}" y="${y + 13}">${esc(label)}</text>` : ''}${title(tip)}</g>`);
  }
  out.push('</g>');
  return out.join('');
}
