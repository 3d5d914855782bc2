// Combining unit results into one answer, in unit order, so that the answer does not depend on how
// the units were spread over workers: counts add up, the first counterexample is the one of the
// lowest unit that has one, the shortest is the shortest with ties going to the lower unit.
import { type UnitResult, noBoundsHit } from './options';
import { Search, type SearchHooks } from './search';

/** Every unit's result merged: the same fields as one unit's, and how many units there were and ran. */
export interface Totals extends Omit<UnitResult, 'unit'> {
  units: number;
  unitsDone: number;
}

export function mergeUnits(results: UnitResult[], unitCount: number): Totals {
  const sorted = [...results].sort((a, b) => a.unit - b.unit);
  const t: Totals = {
    states: 0, distinct: 0, maxDepth: 0, units: unitCount, unitsDone: 0, first: null, shortest: null,
    boundsHit: noBoundsHit(), errors: 0, firstError: null, cancelled: false,
  };
  for (const r of sorted) {
    t.states += r.states;
    t.distinct += r.distinct;
    t.maxDepth = Math.max(t.maxDepth, r.maxDepth);
    if (!r.cancelled) t.unitsDone++;
    t.first ??= r.first;
    if (r.shortest && (!t.shortest || r.shortest.failure.step < t.shortest.failure.step)) t.shortest = r.shortest;
    t.boundsHit = {
      interrupts: t.boundsHit.interrupts || r.boundsHit.interrupts, preemptions: t.boundsHit.preemptions || r.boundsHit.preemptions,
      fpuIrqs: t.boundsHit.fpuIrqs || r.boundsHit.fpuIrqs, steps: t.boundsHit.steps || r.boundsHit.steps,
      memory: t.boundsHit.memory || r.boundsHit.memory,
    };
    t.errors += r.errors;
    t.firstError ??= r.firstError;
    t.cancelled ||= r.cancelled;
  }
  if (results.length < unitCount) t.cancelled = true;
  return t;
}

/**
 * The whole search on this thread: unit 0, then every unit in order. `hooks.onProgress` gets the
 * running totals. Units after a cancellation are not started.
 */
export function searchAll(search: Search, hooks: SearchHooks & { onUnit?: (r: UnitResult) => void } = {}): Totals {
  let before = 0;
  const progress = (p: { states: number; depth: number }) => hooks.onProgress?.({ states: before + p.states, depth: p.depth });
  const sub: SearchHooks = { ...(hooks.isCancelled ? { isCancelled: hooks.isCancelled } : {}), ...(hooks.onFound ? { onFound: hooks.onFound } : {}), onProgress: progress };
  const results: UnitResult[] = [search.rootLines(sub)];
  hooks.onUnit?.(results[0]!);
  const n = search.units().length;
  for (let k = 1; k <= n && !results[results.length - 1]!.cancelled; k++) {
    before += results[results.length - 1]!.states;
    const r = search.unit(k, sub);
    results.push(r);
    hooks.onUnit?.(r);
  }
  return mergeUnits(results, n + 1);
}
