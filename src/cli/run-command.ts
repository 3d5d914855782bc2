// `xsave-sim run FILE [--policy NAME] [--cpu NAME] [--trace] [--max-steps N]`: runs a scenario to
// its end and reports the trace, the invariant violations and the assertions. Exit status: 0 clean,
// 1 an invariant or assertion failed or the kernel oopsed, 2 the scenario has errors (printed as
// file:line:col: message) or ran past its step budget.
import { resolve } from 'node:path';
import { cpuModelNames, isCpuModelName } from '../model';
import { UsageError, parseArgs } from './args';
import { loadForCommand } from './load-scenario';

export const RUN_USAGE = `usage: xsave-sim run FILE [--policy NAME] [--cpu NAME] [--trace] [--max-steps N] [--json]
  --policy     run-loop policy: a shipped name or a .xsave file, a relative path read from the
               scenario's folder (default: the scenario's policy line)
  --cpu        CPU model: ${cpuModelNames().join(', ')} (default: the scenario's cpu line);
               host is this machine's CPUID (Linux, /dev/cpu/0/cpuid)
  --trace      print every hardware event with its step number
  --max-steps  step budget (default 1000000)
  --json       the result as one JSON object on stdout (assertions, violations, the end; the trace with --trace)`;

/** The largest step budget of a run (README "Limits"). */
export const MAX_RUN_STEPS = 1_000_000_000;

export interface RunOutput {
  status: number;
  stdout: string;
  stderr: string;
}

export function runCommand(argv: string[]): RunOutput {
  const args = parseArgs(argv, ['policy', 'cpu', 'max-steps'], ['trace', 'json']);
  if (args.positional.length !== 1) throw new UsageError('run takes exactly one scenario file');
  const file = resolve(args.positional[0]!);
  const cpu = args.options.get('cpu');
  if (cpu !== undefined && !isCpuModelName(cpu)) throw new UsageError(`--cpu: unknown CPU model '${cpu}' (known: ${cpuModelNames().join(', ')})`);
  const maxStepsText = args.options.get('max-steps') ?? '1000000';
  if (!/^[0-9]{1,13}$/.test(maxStepsText) || Number(maxStepsText) < 1 || Number(maxStepsText) > MAX_RUN_STEPS) {
    throw new UsageError(`--max-steps: '${maxStepsText.slice(0, 40)}' is not a number from 1 to ${MAX_RUN_STEPS}`);
  }
  const maxSteps = Number(maxStepsText);

  const loaded = loadForCommand(file, args.options.get('policy'), cpu);
  if (!('engine' in loaded)) return loaded;
  const engine = loaded.engine;
  const result = engine.run(() => false, maxSteps);
  const s = engine.state;
  const out: string[] = [];
  if (args.flags.has('trace')) for (const t of s.trace) out.push(`[${t.step}] ${t.text}`);
  const broken = s.violations.filter((v) => !v.deviation);
  for (const v of s.violations) {
    const setup = v.setup.length ? `; set up at step${v.setup.length > 1 ? 's' : ''} ${v.setup.join(', ')}` : '';
    if (v.deviation) {
      out.push(`${v.where}: known deviation of the policy: ${v.name}: ${v.text} (${v.thread}, step ${v.step}; declared at ${v.deviation.file}:${v.deviation.line}: ${v.deviation.why})`);
    } else {
      out.push(`${v.where}: invariant violated: ${v.name}: ${v.text} (${v.thread}, step ${v.step}${setup})`);
    }
  }
  for (const f of s.failedAssertions) out.push(`${f.file}:${f.line}:${f.column}: assertion failed: ${f.message} (${f.thread}, step ${f.step})`);
  const failed = s.failedAssertions.length;
  out.push(`assertions: ${s.passedAssertions} held, ${failed} failed; invariants: ${broken.length ? broken.map((v) => v.name).join(', ') + ' violated' : 'all held'}`);
  let status = failed || broken.length ? 1 : 0;
  let err = '';
  if (result.reason === 'budget') {
    const th = engine.currentThread();
    err = `${th ? engine.where(th) : `${file}:1:1: `}error: the step budget of ${maxSteps} ran out here (a loop that does not end?)\n`;
    status = 2;
  } else if (s.halted?.startsWith('scenario error')) {
    const h = result.happenings.find((x) => x.kind === 'error');
    err = `${h && h.kind === 'error' ? h.text : s.halted}\n`;
    status = 2;
  } else if (s.halted?.startsWith('shutdown') || result.happenings.some((h) => h.kind === 'oops')) {
    out.push(`stopped: ${s.halted}`);
    status = Math.max(status, 1);
  } else {
    out.push(`end: ${s.halted ?? 'stopped'} after ${s.steps} steps`);
  }
  if (args.flags.has('json')) {
    const report = {
      file, status, steps: s.steps,
      end: result.reason === 'budget' ? 'step budget' : s.halted ?? 'stopped',
      assertions: {
        held: s.passedAssertions,
        failed: s.failedAssertions.map((f) => ({ file: f.file, line: f.line, column: f.column, message: f.message, thread: f.thread, step: f.step })),
      },
      violations: s.violations.map((v) => ({
        invariant: v.name, text: v.text, where: v.where, step: v.step, cpu: v.cpu, thread: v.thread, setup: v.setup,
        deviation: v.deviation ? v.deviation.why : null,
      })),
      ...(args.flags.has('trace') ? { trace: s.trace.map((t) => ({ step: t.step, cpu: t.cpu, kind: t.kind, text: t.text })) } : {}),
    };
    return { status, stdout: JSON.stringify(report, null, 2) + '\n', stderr: err };
  }
  return { status, stdout: out.join('\n') + '\n', stderr: err };
}
