// A launch with `explore: true`: search the interleavings first (as `xsave-sim explore`), with its
// progress reported and cancellable; on a violation write the counterexample next to the scenario
// and debug it, run to its violation; when nothing breaks within the bounds (or the search is
// cancelled first), debug the scenario as written. The search and the file write are the host
// layer's (src/host/explore-runner.ts, src/host/files.ts); this file decides what the user is told.
import { formatDiagnostic } from '../lang/source';
import type { Bounds } from '../sim/explore/options';
import { type ExploreResult, explore } from '../host/explore-runner';
import { WriteRefused, counterexamplePath, writeNewFile } from '../host/files';
import { RuntimeError } from './errors';
import type { RuntimeListener } from './events';

export interface ExploreRequest {
  readonly program: string;
  readonly policy?: string | undefined;
  readonly cpu?: string | undefined;
  readonly workspaceFolder?: string | undefined;
  readonly exploreBounds?: Partial<Bounds> | undefined;
}

/** Milliseconds between two progress updates. */
const PROGRESS_EVERY_MS = 200;

/**
 * Explores `req`; returns the counterexample file to debug instead of the scenario (its own
 * `policy` line names the policy the search used), or null to debug the scenario as written.
 * Throws RuntimeError('launch') when the scenario has errors or the counterexample cannot be written.
 */
export async function exploreFirst(req: ExploreRequest, emit: RuntimeListener, signal: AbortSignal): Promise<string | null> {
  const say = (text: string): void => emit({ type: 'output', category: 'console', text });
  emit({ type: 'progress', phase: 'start', title: 'Exploring interleavings', file: req.program });
  let last = 0;
  let r: ExploreResult;
  try {
    r = await explore({
      file: req.program, ...(req.workspaceFolder ? { workspace: req.workspaceFolder } : {}),
      ...(req.policy ? { policy: req.policy, policyOrigin: "launch attribute 'policy'" } : {}), ...(req.cpu ? { cpu: req.cpu } : {}),
      ...(req.exploreBounds ? { bounds: req.exploreBounds } : {}),
    }, {
      signal,
      onProgress: (p) => {
        if (p.elapsedMs - last < PROGRESS_EVERY_MS) return;
        last = p.elapsedMs;
        // The share of top-level placements done: what moves as the search goes (its depth is
        // that of one branch at one moment, which said nothing).
        emit({
          type: 'progress', phase: 'update',
          message: `${p.states.toLocaleString('en-US')} states, ${Math.round(p.statesPerSecond).toLocaleString('en-US')}/s, ${p.unitsDone}/${p.units} placements`,
          ...(p.units > 0 ? { percentage: Math.min(100, Math.round((100 * p.unitsDone) / p.units)) } : {}),
        });
      },
    });
  } finally {
    emit({ type: 'progress', phase: 'end' });
  }
  if (r.status === 'error') {
    throw new RuntimeError('launch', `the scenario has errors:\n${r.diagnostics.map(formatDiagnostic).join('\n')}`);
  }
  const hit = Object.entries(r.boundsHit).filter(([, v]) => v).map(([k]) => k);
  say(`explored ${r.states.toLocaleString('en-US')} states (${r.distinctStates.toLocaleString('en-US')} distinct) in ${(r.elapsedMs / 1000).toFixed(2)} s` +
    `${r.cancelled ? ', cancelled' : ''}${hit.length ? `; bounds hit: ${hit.join(', ')}` : ''}`);
  const c = r.counterexample;
  if (!c) {
    say(r.cancelled ? 'exploration cancelled before a violation was found: debugging the scenario as written'
      : 'no invariant breaks within the bounds: debugging the scenario as written');
    return null;
  }
  const out = counterexamplePath(req.program);
  try {
    writeNewFile(out, c.text);
  } catch (e) {
    if (e instanceof WriteRefused) throw new RuntimeError('launch', `explore found a violation but ${e.message}`);
    throw e;
  }
  say(`${c.where}: ${c.invariant}: ${c.message} (step ${c.step})`);
  for (const line of c.chain) say(`  ${line}`);
  say(`counterexample written to ${out}; running it to the violation (step back walks to its cause)`);
  // Named where the user looks (a notification) and opened by the editor (the counterexample
  // event), since the stop may be in kernel code rather than in the new file.
  emit({ type: 'output', category: 'important', text: `Explore found ${c.invariant} broken: the counterexample is ${out}` });
  emit({ type: 'counterexample', path: out, invariant: c.invariant, where: c.where });
  return out;
}
