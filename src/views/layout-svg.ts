// An XSAVE area as SVG, drawn to scale: rows of 256 bytes, each block (the legacy region's x87 and
// SSE, the reserved bytes, the header, every component) a rectangle at its offset spanning as many
// rows as its size, labelled with its name, offset and size. What matters now is drawn on it: a
// filled block is in XSTATE_BV, an outlined one is in its initial configuration; a bar on top is
// XINUSE; hatching is IA32_XFD; red is past the allocation; a yellow outline differs from the other
// side of a comparison. Offsets and sizes are the layout data's (the model's), never recomputed.
// Each block's group carries `data-name`, `data-offset`, `data-size` and its classes: the view's
// hover, click and tests read them.
import type { LayoutBlock, LayoutData } from '../runtime/layout-view';
import { esc, fit, n } from './svg';

/** Bytes per row of the picture. */
export const ROW_BYTES = 256;
const ROW = 17;
const LEFT = 52;
/** The caption and two lines of facts above the legend. */
const TOP = 52;
/** Height of a line of the legend. */
const LEGEND_LINE = 17;
/** Width of a legend label's character, about. */
const CHAR = 6.8;

export interface LayoutSvgOptions {
  width: number;
  /** Names of blocks that differ from the other side of a comparison. */
  differs?: ReadonlySet<string>;
  /** A line naming the side ("now", "pinned at step 2156"). */
  caption?: string;
  /** SVG <title>s for the hovers (a file); a view shows `data-tip` itself. */
  titles?: boolean;
}

/**
 * Blocks that differ between two areas, by name: present in one only, or different XSTATE_BV, or
 * different content (digests; a component in its initial configuration compares as such).
 */
export function differingBlocks(a: LayoutData, b: LayoutData): Set<string> {
  const out = new Set<string>();
  const key = (x: LayoutBlock): string => `${x.inXstateBv}:${x.digest}`;
  const bm = new Map(b.blocks.map((x) => [x.name, x]));
  const am = new Map(a.blocks.map((x) => [x.name, x]));
  for (const x of a.blocks) {
    if (x.kind === 'header' || x.kind === 'reserved') continue;
    const y = bm.get(x.name);
    if (!y || key(x) !== key(y)) out.add(x.name);
  }
  for (const y of b.blocks) if (y.kind !== 'header' && y.kind !== 'reserved' && !am.has(y.name)) out.add(y.name);
  return out;
}

/** What a block's hover says: its place, its state and its registers. */
export function blockTip(d: LayoutData, b: LayoutBlock): string {
  const lines = [`${b.title}: offset ${b.offset} (0x${b.offset.toString(16)}), ${b.size} bytes, to ${b.offset + b.size - 1}`];
  const facts: string[] = [];
  if (b.inXstateBv !== null) facts.push(b.inXstateBv ? 'in XSTATE_BV' : 'not in XSTATE_BV: XRSTOR loads its initial configuration');
  if (b.inXinuse !== null) facts.push(`cpu${d.registers.cpu} XINUSE[${b.index}] = ${b.inXinuse ? 1 : 0}`);
  if (b.xfdDisabled) facts.push(`disabled by ${d.xfd.source} (${d.xfd.text}): a use raises #NM`);
  if (b.outsideBytes) facts.push(`${b.outsideBytes} bytes past the end of the allocation (${d.area.allocated} bytes)`);
  if (b.beyondSizeBytes) facts.push(`${b.beyondSizeBytes} bytes past fpstate->size (${d.area.fpstateSize})`);
  if (b.supervisor) facts.push('supervisor state (XSAVES only)');
  if (b.align64) facts.push('64-byte aligned in the compacted format');
  if (facts.length) lines.push(facts.join('; '));
  for (const r of b.registers.slice(0, 24)) lines.push(`  ${r.name} = ${r.value}`);
  if (b.registers.length > 24) lines.push(`  … ${b.registers.length - 24} more`);
  return lines.join('\n');
}

export function layoutSvg(d: LayoutData, opts: LayoutSvgOptions): string {
  const W = Math.max(240, opts.width);
  const plot = W - LEFT - 8;
  const bw = plot / ROW_BYTES;
  const end = Math.max(d.area.size, ...d.blocks.map((b) => b.offset + b.size));
  const rows = Math.ceil(end / ROW_BYTES);
  // The legend, wrapped to the width: its lines decide where the rows start.
  const items: Array<[string, string]> = [['xstate', 'in XSTATE_BV'], ['init', 'initial (XSTATE_BV = 0)'], ['xinuse', 'XINUSE (bar)'], ['xfd', 'disabled by XFD'], ['outside', 'past the allocation']];
  if (opts.differs) items.push(['differs', 'differs']);
  const legend: Array<{ c: string; t: string; x: number; y: number }> = [];
  let lx = 4;
  let ly = TOP;
  for (const [c, t] of items) {
    const w = 24 + t.length * CHAR;
    if (lx > 4 && lx + w > W) { lx = 4; ly += LEGEND_LINE; }
    legend.push({ c, t, x: lx, y: ly });
    lx += w + 8;
  }
  const HEAD = ly + LEGEND_LINE + 6;
  const H = HEAD + rows * ROW + 8;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="xsave-layout" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" data-area="${esc(d.area.id)}" data-format="${d.area.format}">`);
  out.push(`<defs><pattern id="lv-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line class="lv-hatch-line" x1="0" y1="0" x2="0" y2="6"/></pattern></defs>`);
  out.push(`<rect class="lv-bg" x="0" y="0" width="${W}" height="${H}"/>`);
  const caption = `${opts.caption ? `${opts.caption}: ` : ''}${d.area.title}`;
  out.push(`<text class="lv-title" x="4" y="14">${esc(fit(caption, W - 8, 7))}<title>${esc(caption)}</title></text>`);
  const sizes = `${d.area.format} format, ${d.area.size} bytes${d.area.allocated !== null ? `, ${d.area.allocated} allocated` : ''}${d.area.fpstateSize !== null ? `, fpstate->size ${d.area.fpstateSize}` : ''}; step ${d.position}`;
  out.push(`<text class="lv-sub" x="4" y="30">${esc(fit(sizes, W - 8, 6.2))}</text>`);
  const hdr = `XSTATE_BV ${d.header.XSTATE_BV.text}  XCOMP_BV ${d.header.XCOMP_BV.text}`;
  out.push(`<text class="lv-sub" x="4" y="45">${esc(fit(hdr, W - 8, 6.2))}<title>${esc(`${hdr}\n${d.xfd.source} = ${d.xfd.text}`)}</title></text>`);
  for (const { c, t, x, y } of legend) {
    out.push(`<g class="lv-legend ${c === 'xinuse' || c === 'xfd' || c === 'differs' ? 'init' : c}" transform="translate(${n(x)} ${y})"><rect class="lv-fill" width="14" height="12"/>` +
      `${c === 'xfd' ? '<rect class="lv-xfd" width="14" height="12" fill="url(#lv-hatch)"/>' : ''}${c === 'xinuse' ? '<rect class="lv-xinuse" width="14" height="3"/>' : ''}` +
      `${c === 'outside' ? '<rect class="lv-outside" width="14" height="12"/>' : ''}${c === 'differs' ? '<rect class="lv-differs" x="1" y="1" width="12" height="10"/>' : ''}` +
      `<text x="18" y="10">${esc(t)}</text></g>`);
  }
  // Row offsets at the left, and the rows' backgrounds.
  for (let r = 0; r < rows; r++) {
    const y = HEAD + r * ROW;
    out.push(`<rect class="lv-row" x="${LEFT}" y="${y}" width="${n(plot)}" height="${ROW - 2}"/><text class="lv-offset" x="${LEFT - 4}" y="${y + 12}" text-anchor="end">${r * ROW_BYTES}</text>`);
  }
  const seg = (from: number, to: number): Array<{ x: number; y: number; w: number }> => {
    const s: Array<{ x: number; y: number; w: number }> = [];
    for (let a = from; a < to;) {
      const r = Math.floor(a / ROW_BYTES);
      const b = Math.min(to, (r + 1) * ROW_BYTES);
      s.push({ x: LEFT + (a - r * ROW_BYTES) * bw, y: HEAD + r * ROW, w: (b - a) * bw });
      a = b;
    }
    return s;
  };

  for (const b of d.blocks) {
    const parts = seg(b.offset, b.offset + b.size);
    const differs = opts.differs?.has(b.name) ?? false;
    const cls = `lv-block ${b.classes.join(' ')}${differs ? ' differs' : ''}`;
    const tip = blockTip(d, b);
    out.push(`<g class="${cls}" data-name="${esc(b.name)}" data-offset="${b.offset}" data-size="${b.size}"${b.index !== null ? ` data-index="${b.index}"` : ''} data-ref="${esc(b.memoryReference)}" data-tip="${esc(tip)}">`);
    for (const p of parts) {
      out.push(`<rect class="lv-fill" x="${n(p.x + 0.5)}" y="${p.y}" width="${n(Math.max(1, p.w - 1))}" height="${ROW - 2}"/>`);
      if (b.xfdDisabled) out.push(`<rect class="lv-xfd" x="${n(p.x + 0.5)}" y="${p.y}" width="${n(Math.max(1, p.w - 1))}" height="${ROW - 2}" fill="url(#lv-hatch)"/>`);
      if (b.inXinuse) out.push(`<rect class="lv-xinuse" x="${n(p.x + 0.5)}" y="${p.y}" width="${n(Math.max(1, p.w - 1))}" height="3"/>`);
      if (differs) out.push(`<rect class="lv-differs" x="${n(p.x + 1.5)}" y="${p.y + 1}" width="${n(Math.max(1, p.w - 3))}" height="${ROW - 4}"/>`);
    }
    // Past the allocation: that part in red.
    if (b.outsideBytes > 0 && d.area.allocated !== null) {
      for (const p of seg(Math.max(b.offset, d.area.allocated), b.offset + b.size)) {
        out.push(`<rect class="lv-outside" x="${n(p.x + 0.5)}" y="${p.y}" width="${n(Math.max(1, p.w - 1))}" height="${ROW - 2}"/>`);
      }
    }
    // The label in the widest piece: name, offset and size.
    const widest = parts.reduce((a, p) => (p.w > a.w ? p : a), parts[0]!);
    const label = fit(`${b.name} @${b.offset} (${b.size})`, widest.w - 4, 6) || fit(b.name, widest.w - 4, 6);
    if (label) out.push(`<text class="lv-label" x="${n(widest.x + 3)}" y="${widest.y + 12}">${esc(label)}</text>`);
    out.push(`${opts.titles ? `<title>${esc(tip)}</title>` : ''}</g>`);
  }

  // Where the allocation and fpstate->size end.
  const marker = (at: number, cls: string, text: string): void => {
    if (at <= 0 || at >= rows * ROW_BYTES) return;
    const r = Math.floor(at / ROW_BYTES);
    const x = LEFT + (at - r * ROW_BYTES) * bw;
    const y = HEAD + r * ROW;
    out.push(`<g class="${cls}"><line x1="${n(x)}" y1="${y - 2}" x2="${n(x)}" y2="${y + ROW}"/><title>${esc(text)}</title></g>`);
  };
  if (d.area.allocated !== null && d.area.allocated < end) marker(d.area.allocated, 'lv-alloc-end', `end of the allocation: ${d.area.allocated} bytes`);
  if (d.area.fpstateSize !== null && d.area.fpstateSize < end) marker(d.area.fpstateSize, 'lv-size-end', `fpstate->size = ${d.area.fpstateSize}`);

  out.push('</svg>');
  return out.join('');
}
