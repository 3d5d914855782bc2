// Small helpers the pictures share: escaping text for SVG/HTML, numbers as SVG writes them, and
// the tick steps of an axis. Pure functions of their arguments.

/** Text safe inside an SVG/HTML element or a double-quoted attribute. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A coordinate with at most two decimals (keeps the markup short and deterministic). */
export function n(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** A tick spacing of 1, 2 or 5 times a power of ten that gives about `count` ticks over `span`. */
export function tickStep(span: number, count: number): number {
  const raw = Math.max(1, span / Math.max(1, count));
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/** Text cut to fit `px` pixels at about `charPx` per character (with an ellipsis), or '' if nothing fits. */
export function fit(text: string, px: number, charPx = 6.2): string {
  const max = Math.floor(px / charPx);
  if (max >= text.length) return text;
  if (max < 3) return '';
  return `${text.slice(0, max - 1)}…`;
}
