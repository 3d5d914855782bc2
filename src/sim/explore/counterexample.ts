// A counterexample as a scenario the user can run and step through: the original source with its
// `events { }` block replaced by the placements the search found, each written as
// `KIND at POINT [hit N] [on cpuN];`, and a leading comment saying which invariant broke, what it
// means, and the chain of steps that led there. The hit counts come from replaying the placements
// on a program whose events have their points: the engine counts arrivals exactly as it will when
// the written file runs, so the file reproduces the run step for step.
import type { CompiledEvent, Program } from '../../lang/code';
import { parse } from '../../lang/parser';
import { Engine, type EngineOptions } from '../engine';
import { INVARIANTS } from '../invariants';
import type { Failure, Found, Placement } from './options';

export interface Counterexample {
  /** The scenario text to write. */
  text: string;
  failure: Failure;
  placements: Array<Placement & { hit: number; line: string }>;
  /** Steps that led to the failure: each `step N: function (file:line)`. */
  chain: string[];
}

function pointText(program: Program, p: Placement): string {
  const f = program.functions[p.fn]!;
  const at = f.context === 'guest' ? `guest ${f.shortName}` : f.context === 'kernel' ? `host ${f.shortName}` : `host ${f.process}.${f.shortName}`;
  return p.stmt > 0 ? `${at} + ${p.stmt}` : at;
}

function stmtWhere(program: Program, fn: number, stmt: number): string {
  const f = program.functions[fn]!;
  const st = f.stmts[stmt];
  return st ? `${f.name} (${st.file.split('/').pop()}:${st.range.start.line})` : f.name;
}

/** The program with the placements as point events (before the kept ones, as in the search). */
function replayProgram(program: Program, kept: readonly CompiledEvent[], placements: Placement[], cpus: number): Program {
  const events: CompiledEvent[] = placements.map((p) => {
    const [proc, thread] = (p.target ?? '.').split('.');
    return {
      kind: p.kind, vector: 32, target: p.target ? { process: proc!, thread: thread! } : null,
      at: { fn: p.fn, stmt: p.stmt, range: program.functions[p.fn]!.range }, afterPrevious: false,
      cpu: p.cpu, cpuExplicit: cpus > 1, hit: Number.MAX_SAFE_INTEGER, range: program.functions[p.fn]!.range, file: program.files[0] ?? '',
    };
  });
  return { ...program, events: [...events, ...kept] };
}

export interface RenderInput {
  /** The compiled scenario, with its own events. */
  program: Program;
  /** The scenario's source text and path (the main file). */
  source: string;
  path: string;
  found: Found;
  keepEvents: boolean;
  engineOptions?: EngineOptions;
  /** A `policy "...";` line to put in place of the file's own (when the policy was chosen from outside). */
  policyLine?: string | null;
}

export function renderCounterexample(input: RenderInput): Counterexample {
  const { program, found } = input;
  const kept = input.keepEvents ? program.events : [];
  const cpus = new Engine({ ...program, events: [] }, input.engineOptions).state.cpus.length;
  const rp = replayProgram(program, kept, found.placements, cpus);
  const e = new Engine(rp, input.engineOptions);
  const where: string[] = [''];
  let k = 0;
  let failure: Failure | null = null;
  while (!e.state.halted && e.state.steps < found.failure.step) {
    const p = e.nextPoint();
    where.push(p ? stmtWhere(program, p.fn, p.stmt) : where[where.length - 1]!);
    if (k < found.placements.length && found.placements[k]!.depth === e.state.steps) e.inject(k++);
    const h = e.step();
    for (const x of h) {
      if (x.kind === 'invariant' && x.violation.name === found.failure.name && !x.violation.deviation) failure = found.failure;
    }
  }
  if (k !== found.placements.length) throw new Error('internal: the replay did not reach every placement');
  const placements = found.placements.map((p, i) => ({ ...p, hit: e.state.events[i]!.hits, line: stmtWhere(program, p.fn, p.stmt) }));
  const violation = e.state.violations.find((v) => v.name === found.failure.name && !v.deviation);
  const setup = violation ? violation.setup : [];
  const steps = new Set<number>([...placements.map((p) => p.depth + 1), ...setup, found.failure.step]);
  const chain = [...steps].filter((s) => s >= 1 && s < where.length).sort((a, b) => a - b).map((s) => {
    const pl = placements.find((p) => p.depth + 1 === s);
    const what = pl ? `: ${pl.kind}${pl.target ? ` ${pl.target}` : ''} placed here` : s === found.failure.step ? `: ${found.failure.name} breaks` : '';
    return `step ${s}: ${where[s]}${what}`;
  });
  void failure;

  const lines = placements.map((p) => {
    const kind = p.kind === 'run' ? `run ${p.target}` : p.kind;
    const hit = p.hit > 1 ? ` hit ${p.hit}` : '';
    const on = cpus > 1 ? ` on cpu${p.cpu}` : '';
    return `  ${kind} at ${pointText(program, p)}${hit}${on};   // step ${p.depth + 1}, ${p.line}`;
  });
  const f = found.failure;
  const explanation = f.kind === 'invariant' ? (INVARIANTS as Record<string, string>)[f.name] ?? '' : f.kind === 'oops' ? 'The kernel oopsed.' : 'A scenario assertion failed.';
  const header = [
    `// Counterexample found by \`xsave-sim explore\`: ${f.kind === 'invariant' ? `invariant ${f.name}` : f.name} breaks at step ${f.step}`,
    `// (${f.where || 'no statement'}).`,
    `// ${explanation}`,
    `// ${f.message}`,
    `//`,
    `// The steps that led to it:`,
    ...chain.map((c) => `//   ${c}`),
    `//`,
    `// Run it: xsave-sim run ${input.path.split('/').pop()!.replace(/\.xsave$/, '')}.counterexample.xsave`,
    '',
  ].join('\n');

  const block = `events {\n${[...lines, ...(input.keepEvents ? ['  // the scenario\'s own events follow'] : [])].join('\n')}\n${input.keepEvents ? keptText(input) : ''}}`;
  const text = header + replaceBlocks(input, block);
  return { text, failure: f, placements, chain };
}

/** The kept events, as the source wrote them. */
function keptText(input: RenderInput): string {
  const ast = parse(input.path, input.source).ast;
  const out: string[] = [];
  for (const item of ast.items) {
    if (item.kind !== 'events') continue;
    for (const ev of item.events) out.push('  ' + input.source.slice(ev.range.start.offset, ev.range.end.offset));
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** The source with every events block removed and `block` in place of the first (or at the end). */
function replaceBlocks(input: RenderInput, block: string): string {
  const ast = parse(input.path, input.source).ast;
  const cuts: Array<{ from: number; to: number; text: string }> = [];
  let placed = false;
  for (const item of ast.items) {
    if (item.kind === 'events') {
      cuts.push({ from: item.range.start.offset, to: item.range.end.offset, text: placed ? '' : block });
      placed = true;
    } else if (item.kind === 'policy' && input.policyLine) {
      cuts.push({ from: item.range.start.offset, to: item.range.end.offset, text: input.policyLine });
    }
  }
  let text = input.source;
  for (const c of cuts.sort((a, b) => b.from - a.from)) text = text.slice(0, c.from) + c.text + text.slice(c.to);
  if (input.policyLine && !ast.items.some((i) => i.kind === 'policy')) text = `${input.policyLine}\n${text}`;
  if (!placed) text = `${text.replace(/\s*$/, '')}\n\n${block}\n`;
  return text;
}

/** The first words of every counterexample file (renderCounterexample's header). */
const HEADER = '// Counterexample found by `xsave-sim explore`';

/**
 * The program events that a counterexample's search placed, by index: in a file that starts with
 * renderCounterexample's header, the events whose line ends with its `// step N, where` comment
 * (the scenario's own kept events follow without one). Empty for any other file.
 */
export function placedEvents(program: Program, source: string): Set<number> {
  const out = new Set<number>();
  if (!source.startsWith(HEADER)) return out;
  const lines = source.split('\n');
  program.events.forEach((e, i) => {
    if (e.file !== program.files[0]) return;
    const line = lines[e.range.start.line - 1] ?? '';
    if (/;\s*\/\/ step \d+, /.test(line)) out.add(i);
  });
  return out;
}
