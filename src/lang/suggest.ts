// "Did you mean" suggestions for unknown names: the closest known name by edit distance (a swap of
// neighbours counts as one edit), if it is a plausible typo: at most a third of the name's length
// and at most 3 edits, and never for names shorter than 3 characters.

export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let prevprev = prev;
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      // A swap of two neighbours counts as one edit (rdmrs -> rdmsr).
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) cur[j] = Math.min(cur[j]!, prevprev[j - 2]! + 1);
    }
    prevprev = prev;
    prev = cur;
  }
  return prev[n]!;
}

export function suggest(name: string, candidates: Iterable<string>): string | null {
  // Names of one or two letters are too short for a guess to mean anything.
  if (name.length < 3) return null;
  const limit = Math.min(3, Math.max(1, Math.floor(name.length / 3)));
  let best: string | null = null;
  let bestD = Infinity;
  const lower = name.toLowerCase();
  for (const c of candidates) {
    // The distance is at least the difference in length: a long name costs no more than a short one.
    if (Math.abs(c.length - name.length) > limit) continue;
    const d = c.toLowerCase() === lower ? 0.5 : editDistance(name, c);
    if (d < bestD || (d === bestD && best !== null && c < best)) { best = c; bestD = d; }
  }
  return best !== null && bestD <= limit ? best : null;
}

/** " (did you mean 'X'?)" or "". */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const s = suggest(name, candidates);
  return s ? ` (did you mean '${s}'?)` : '';
}
