// A scenario opened from disk, the same way for every front end: `xsave-sim run`, `xsave-sim
// explore`, a launch of the debug adapter. The scenario is read through the file gate of its own
// folder tree, the workspace (the CLI's working directory, the folder the editor opened) and the
// shipped kernel folder; the compiler chooses the policy (the scenario's `policy` line or the
// override, a relative .xsave path read from the scenario's folder, src/lang/compiler.ts) and
// parses each file once; the `host` CPU model is read from this machine when the override or the
// compiled `cpu` line names it. Each front end words the failures its own way, so they come back
// as data.
import { dirname, resolve } from 'node:path';
import type { Program } from '../lang/code';
import type { FileAccessor } from '../lang/compiler';
import type { Diagnostic } from '../lang/source';
import { HOST_CPU_MODEL } from '../model';
import type { Engine, EngineOptions } from '../sim/engine';
import { compileScenario, cpuModelDiagnostic, engineFor } from '../sim/scenario';
import { hostCpuDiagnostic, hostCpuProblem } from './cpu';
import { FileGate } from './files';

export interface ScenarioRequest {
  /** The scenario file (relative to the working directory, or absolute). */
  readonly file: string;
  /** A folder the scenario may read besides its own folder tree and the kernel folder. */
  readonly workspace?: string | null | undefined;
  /** Replaces the scenario's `policy` line: a shipped name or a .xsave file (relative: from the scenario's folder). */
  readonly policy?: string | undefined;
  /** What gave `policy` (`--policy`, `launch attribute 'policy'`), for the error when it names nothing. */
  readonly policyOrigin?: string;
  /** Replaces the scenario's `cpu` line. */
  readonly cpu?: string | undefined;
}

/** The scenario compiled, or why not. */
export type CompiledScenario =
  | {
    readonly kind: 'compiled'; readonly file: string; readonly roots: readonly string[]; readonly program: Program;
    /** The scenario's text as compiled (a counterexample is rendered from it). */
    readonly source: string;
  }
  /** The scenario file itself may not be read (the gate's message, naming the path). */
  | { readonly kind: 'refused'; readonly file: string; readonly message: string }
  /** The override asks for the `host` CPU and this machine's CPUID cannot be read. */
  | { readonly kind: 'host-cpu'; readonly file: string; readonly message: string }
  /** The scenario, its policy or an import has errors, or names a CPU model that cannot be used. */
  | { readonly kind: 'errors'; readonly file: string; readonly diagnostics: Diagnostic[] };

/** The folders a scenario may read: its own folder tree and the workspace (the gate adds the kernel folder). */
export function scenarioRoots(file: string, workspace?: string | null): string[] {
  return [dirname(resolve(file)), ...(workspace ? [workspace] : [])];
}

export function compileScenarioFile(req: ScenarioRequest): CompiledScenario {
  const file = resolve(req.file);
  const roots = scenarioRoots(file, req.workspace);
  const gate = new FileGate(roots);
  const refused = gate.refused(file);
  if (refused !== null) return { kind: 'refused', file, message: refused };
  if (req.cpu === HOST_CPU_MODEL) {
    const problem = hostCpuProblem();
    if (problem !== null) return { kind: 'host-cpu', file, message: problem };
  }
  // The scenario's text as the compiler read it: what a counterexample is made of is what ran.
  let source = '';
  const files: FileAccessor = {
    read: (p) => { const t = gate.read(p); if (p === file && t !== null) source = t; return t; },
    resolve: (from, rel) => gate.resolve(from, rel),
    refused: (p) => gate.refused(p),
    shippedPolicies: () => gate.shippedPolicies(),
  };
  const { program, diagnostics } = compileScenario(file, files, {
    ...(req.policy !== undefined ? { policy: req.policy } : {}), ...(req.policyOrigin !== undefined ? { policyOrigin: req.policyOrigin } : {}),
  });
  if (!program) return { kind: 'errors', file, diagnostics };
  // The scenario's own `cpu "host";`: read now, so the engine (and explorer workers, given the
  // leaves as data) find the model registered.
  const host = req.cpu === undefined ? hostCpuDiagnostic(program) : null;
  if (host) return { kind: 'errors', file, diagnostics: [host] };
  const model = cpuModelDiagnostic(file, program, req.cpu);
  if (model) return { kind: 'errors', file, diagnostics: [model] };
  return { kind: 'compiled', file, roots, program, source };
}

/** The scenario compiled and a machine made for it, or why not. */
export type LoadedScenario =
  | {
    readonly kind: 'loaded'; readonly file: string; readonly program: Program; readonly engine: Engine;
    /** The scenario's text as compiled (the timeline finds a counterexample's placed events in it). */
    readonly source: string;
  }
  | Exclude<CompiledScenario, { kind: 'compiled' }>;

export function loadScenarioFile(req: ScenarioRequest, options: Omit<EngineOptions, 'cpu'> = {}): LoadedScenario {
  const c = compileScenarioFile(req);
  if (c.kind !== 'compiled') return c;
  const { engine, diagnostics } = engineFor(c.file, c.program, { ...options, ...(req.cpu !== undefined ? { cpu: req.cpu } : {}) });
  if (!engine) return { kind: 'errors', file: c.file, diagnostics };
  return { kind: 'loaded', file: c.file, program: c.program, engine, source: c.source };
}
