// `xsave-sim explore FILE ...`: tries every placement of asynchronous events within the bounds and
// writes the shortest run that breaks an invariant as a scenario (src/host/explore-runner.ts).
// Exit status: 0 nothing broke within the bounds, 1 a counterexample was written, 2 bad usage or a
// scenario with errors (its diagnostics printed as file:line:col: error: message).
import { resolve } from 'node:path';
import { formatDiagnostic } from '../lang/source';
import { type ExploreResult, explore } from '../host/explore-runner';
import { WriteRefused, counterexamplePath, writeNewFile } from '../host/files';
import { DEFAULT_BOUNDS, MAX_BOUNDS, MAX_VISITED_STATES } from '../sim/explore/options';
import { INVARIANTS } from '../sim/invariants';
import { UsageError, parseArgs } from './args';
import { HOST_CPU_MODEL, cpuModelNames, isCpuModelName } from '../model';
import { hostCpuProblem } from '../host/cpu';

export const EXPLORE_USAGE = `usage: xsave-sim explore FILE [--policy NAME] [--cpu NAME] [--max-interrupts N] [--max-preemptions N] [--max-fpu-irqs N]
                            [--max-steps N] [--workers N] [--out FILE] [--invariant NAME,...] [--assertions] [--keep-events]
                            [--first] [--no-reduction] [--json]
  --policy           run-loop policy: a shipped name or a .xsave file, a relative path read from the
                     scenario's folder (default: the scenario's policy line)
  --cpu              CPU model: ${cpuModelNames().join(', ')} (default: the scenario's cpu line)
  --max-interrupts   external interrupts (VM exits) per run (default ${DEFAULT_BOUNDS.interrupts})
  --max-preemptions  preemptions and other tasks run (preempt, run P.T) per run (default ${DEFAULT_BOUNDS.preemptions})
  --max-fpu-irqs     host interrupts that use the FPU per run (default ${DEFAULT_BOUNDS.fpuIrqs})
  --max-steps        statements per run (default ${DEFAULT_BOUNDS.steps})
  --workers          worker threads (default 0: this thread, which is faster on 2 cores; N: N workers)
  --out              where to write the counterexample (default: FILE's folder, NAME.counterexample.xsave)
  --invariant        only these invariants count (default: all; a kernel oops always counts)
  --assertions       a failed assert of the scenario counts too
  --keep-events      keep the scenario's own events block and place events in addition
  --first            stop at the first counterexample found and print it at once (not necessarily the shortest; this thread)
  --no-reduction     search without the reductions (same verdicts and counterexamples, more states; to compare)
  --json             the result as one JSON object on stdout (counts, bounds hit, the counterexample and its file)`;

function count(name: string, text: string | undefined, dflt: number, min: number, max = 1024): number {
  if (text === undefined) return dflt;
  if (!/^[0-9]{1,16}$/.test(text) || Number(text) < min || Number(text) > max) throw new UsageError(`--${name}: '${text.slice(0, 40)}' is not a number from ${min} to ${max}`);
  return Number(text);
}

export interface ExploreOutput {
  status: number;
  stdout: string;
  stderr: string;
}

export async function exploreCommand(argv: string[], progress: ((line: string) => void) | null): Promise<ExploreOutput> {
  const args = parseArgs(argv, ['policy', 'cpu', 'max-interrupts', 'max-preemptions', 'max-fpu-irqs', 'max-steps', 'workers', 'out', 'invariant'], ['assertions', 'keep-events', 'json', 'first', 'no-reduction']);
  if (args.positional.length !== 1) throw new UsageError('explore takes exactly one scenario file');
  const file = resolve(args.positional[0]!);
  const o = args.options;
  const bounds = {
    interrupts: count('max-interrupts', o.get('max-interrupts'), DEFAULT_BOUNDS.interrupts, 0, MAX_BOUNDS.interrupts),
    preemptions: count('max-preemptions', o.get('max-preemptions'), DEFAULT_BOUNDS.preemptions, 0, MAX_BOUNDS.preemptions),
    fpuIrqs: count('max-fpu-irqs', o.get('max-fpu-irqs'), DEFAULT_BOUNDS.fpuIrqs, 0, MAX_BOUNDS.fpuIrqs),
    steps: count('max-steps', o.get('max-steps'), DEFAULT_BOUNDS.steps, 1, MAX_BOUNDS.steps),
  };
  const invariants = o.get('invariant')?.split(',').map((x) => x.trim()).filter(Boolean) ?? null;
  for (const i of invariants ?? []) if (!Object.hasOwn(INVARIANTS, i)) throw new UsageError(`--invariant: unknown invariant '${i}' (known: ${Object.keys(INVARIANTS).join(', ')})`);
  const workers = o.has('workers') ? count('workers', o.get('workers'), 0, 0) : undefined;
  const cpu = o.get('cpu');
  if (cpu !== undefined && !isCpuModelName(cpu)) throw new UsageError(`--cpu: unknown CPU model '${cpu}' (known: ${cpuModelNames().join(', ')})`);
  if (cpu === HOST_CPU_MODEL) {
    const problem = hostCpuProblem();
    if (problem !== null) throw new UsageError(`--cpu host: ${problem}`);
  }
  const out = o.get('out') ? resolve(o.get('out')!) : counterexamplePath(file);

  const r: ExploreResult = await explore({
    file, workspace: process.cwd(), ...(o.has('policy') ? { policy: o.get('policy')!, policyOrigin: '--policy' } : {}), ...(cpu !== undefined ? { cpu } : {}), bounds, invariants, failOnAssertions: args.flags.has('assertions'),
    keepEvents: args.flags.has('keep-events'), ...(workers !== undefined ? { workers } : {}),
    ...(args.flags.has('first') ? { stopAtFirst: true } : {}), ...(args.flags.has('no-reduction') ? { reduction: false } : {}),
  }, {
    onProgress: progress ? (p) => progress(`explored ${p.states.toLocaleString('en')} states (${p.statesPerSecond.toLocaleString('en')}/s), placements ${p.unitsDone}/${p.units}`) : undefined,
  });
  if (r.status === 'error') return { status: 2, stdout: '', stderr: r.diagnostics.map((d) => formatDiagnostic(d) + '\n').join('') };

  const lines: string[] = [];
  const hit = Object.entries(r.boundsHit).filter(([, v]) => v).map(([k]) => ({ interrupts: '--max-interrupts', preemptions: '--max-preemptions', fpuIrqs: '--max-fpu-irqs', steps: '--max-steps', memory: `the memory ceiling (${MAX_VISITED_STATES.toLocaleString('en')} visited states)` })[k]);
  lines.push(`explored ${r.states.toLocaleString('en')} states (${r.distinctStates.toLocaleString('en')} distinct) in ${(r.elapsedMs / 1000).toFixed(2)} s on ${r.workers || 1} thread${r.workers > 1 ? 's' : ''}` +
    `${r.elapsedMs > 0 ? `, ${Math.round(r.states / (r.elapsedMs / 1000)).toLocaleString('en')} states/s` : ''}; deepest run ${r.maxDepth} steps`);
  lines.push(hit.length ? `bounds hit: ${hit.join(', ')} (a larger bound may find more)`
    : r.stoppedAtFirst || r.cancelled ? 'bounds hit: none so far' : 'bounds hit: none (every placement was tried)');
  if (r.errors) lines.push(`runs that ended in a scenario error: ${r.errors}; the first: ${r.firstError}`);
  if (r.cancelled) lines.push(`cancelled after ${r.unitsDone} of ${r.units} units`);
  if (r.stoppedAtFirst) lines.push('stopped at the first counterexample found (--first): a shorter one may exist');
  let status = 0;
  if (r.counterexample) {
    const c = r.counterexample;
    try {
      writeNewFile(out, c.text);
    } catch (e) {
      if (!(e instanceof WriteRefused)) throw e;
      return { status: 2, stdout: lines.join('\n') + '\n', stderr: `${out}:1:1: error: ${e.message}\n` };
    }
    lines.push(`${c.where ? `${c.where}: ` : ''}${c.invariant === 'oops' || c.invariant === 'assertion' ? c.invariant : `invariant violated: ${c.invariant}`}: ${c.message} (step ${c.step})`);
    for (const p of c.placements) lines.push(`  ${p.kind}${p.target ? ` ${p.target}` : ''} before step ${p.depth + 1}: ${p.line}`);
    lines.push(`counterexample written to ${out}`);
    status = 1;
  } else {
    lines.push('no invariant broke within the bounds');
  }
  if (args.flags.has('json')) {
    const c = r.counterexample;
    const report = {
      file, status: r.status, states: r.states, distinctStates: r.distinctStates, units: r.units, unitsDone: r.unitsDone,
      elapsedMs: Math.round(r.elapsedMs), boundsHit: r.boundsHit, cancelled: r.cancelled, stoppedAtFirst: r.stoppedAtFirst,
      errors: r.errors, firstError: r.firstError,
      counterexample: c ? {
        file: out, invariant: c.invariant, message: c.message, step: c.step, where: c.where,
        placements: c.placements.map((p) => ({ kind: p.kind, target: p.target ?? null, beforeStep: p.depth + 1, line: p.line })),
      } : null,
    };
    return { status, stdout: JSON.stringify(report, null, 2) + '\n', stderr: '' };
  }
  return { status, stdout: lines.join('\n') + '\n', stderr: '' };
}
