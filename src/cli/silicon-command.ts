// `xsave-sim silicon LOG...`: replays logs recorded by silicon/probe.c on a real CPU against the
// model and prints what disagrees, by rule. Exit 0 when nothing disagrees outside the
// context-switch class, 1 when something does, 2 for a log that cannot be read.
import { parseSiliconLog, SiliconLogError } from '../silicon/log';
import { countByKey, countByRule, replayLog, type ReplayReport } from '../silicon/replay';
import { RULE_TITLES } from '../silicon/rules';
import { UsageError, parseArgs } from './args';
import { hostCpuProblem } from '../host/cpu';
import { LogFileError, readLogText } from '../host/log-files';

export const SILICON_USAGE = `usage: xsave-sim silicon LOG.jsonl[.gz]... [--cpu NAME] [--verbose]
  replays silicon/probe.c logs on the model and counts the differences by rule of spec/silicon.md;
  --verbose adds counts by operation and observable and lists every difference`;

export function formatReport(file: string, r: ReplayReport, verbose: boolean): string {
  const rules = r.differences.filter((d) => !d.noise);
  const noise = r.differences.length - rules.length;
  const out: string[] = [];
  out.push(`${file}: mode ${r.mode}, ${r.sequences} sequences, ${r.runs} runs, ${r.instructions} instructions replayed`);
  out.push(`  ${r.noisySequences} sequences whose runs disagree (context switches); ${noise} differences there`);
  out.push(`  ${rules.length} differences outside them, first in ${r.firstDifferences.filter((d) => !d.noise).length} sequences`);
  for (const e of countByRule(r.differences)) {
    out.push(`    ${e.rule.padEnd(12)} ${RULE_TITLES[e.rule].padEnd(66)} ${String(e.rules).padStart(5)}${e.noise ? `  (+${e.noise} noise)` : ''}`);
  }
  if (!verbose) return out.join('\n') + '\n';
  for (const e of countByKey(r.firstDifferences)) {
    out.push(`    first: ${e.key.padEnd(44)} ${String(e.rules).padStart(5)}${e.noise ? `  (+${e.noise} noise)` : ''}`);
  }
  for (const e of countByKey(r.differences)) {
    out.push(`    all:   ${e.key.padEnd(44)} ${String(e.rules).padStart(5)}${e.noise ? `  (+${e.noise} noise)` : ''}`);
  }
  for (const d of r.differences) {
    out.push(`    seq ${d.seq} (${d.name}) op ${d.i} ${d.rule} ${d.key}${d.noise ? ' [noise]' : ''}: ${d.detail}`);
  }
  return out.join('\n') + '\n';
}

export function siliconCommand(argv: string[]): { stdout: string; status: number } {
  const args = parseArgs(argv, ['cpu'], ['verbose']);
  if (args.positional.length === 0) throw new UsageError('silicon: name at least one log file');
  if (args.options.get('cpu') === 'host') {
    const problem = hostCpuProblem();
    if (problem !== null) throw new UsageError(`--cpu host: ${problem}`);
  }
  let out = '';
  let failed = false;
  for (const file of args.positional) {
    let report: ReplayReport;
    try {
      const log = parseSiliconLog(readLogText(file));
      report = replayLog(log, { model: args.options.get('cpu') });
    } catch (e) {
      if (e instanceof LogFileError) throw new UsageError(e.message);
      if (e instanceof SiliconLogError) throw new UsageError(`${file}:${e.line}: error: ${e.message.replace(/^line \d+: /, '')}`);
      throw e;
    }
    out += formatReport(file, report, args.flags.has('verbose'));
    if (report.differences.some((d) => !d.noise)) failed = true;
  }
  return { stdout: out, status: failed ? 1 : 0 };
}
