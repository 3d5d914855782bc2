// Loading a scenario: compile it with the engine's constants, builtins, kernel-object fields and
// globals, and make an Engine. Files come through a FileAccessor (the sim never touches fs); the
// policy is chosen by the compiler (CompileOptions.policy overrides the scenario's `policy` line).
import { type CompileEnv, type CompileOptions, type CompileResult, type FileAccessor, compile } from '../lang/compiler';
import type { Program } from '../lang/code';
import type { Diagnostic } from '../lang/source';
import { cpuModelProblem } from '../model';
import type { Range } from '../lang/source';
import { BUILTINS, ScenarioError } from './builtins';
import { CONSTANTS } from './constants';
import { Engine, type EngineOptions } from './engine';
import { allFieldNames } from './kernel-objects';
import { INVARIANTS } from './invariants';

export const COMPILE_ENV: CompileEnv = {
  constants: CONSTANTS,
  builtins: new Map(Object.entries(BUILTINS)),
  fields: allFieldNames(),
  invariants: new Set(Object.keys(INVARIANTS)),
  globals: new Map(['current', 'this_cpu', 'init_fpstate', 'fpu_kernel_cfg', 'fpu_user_cfg'].map((g) => [g, ['kernel'] as const])),
};

const ZERO: Range = { start: { offset: 0, line: 1, column: 1 }, end: { offset: 0, line: 1, column: 1 } };

export interface LoadResult {
  engine: Engine | null;
  diagnostics: Diagnostic[];
}

/** Compiles a scenario against the engine's names. */
export function compileScenario(path: string, files: FileAccessor, options: CompileOptions = {}): CompileResult {
  return compile(path, files, COMPILE_ENV, options);
}

/**
 * The CPU model a program runs on (`cpu`, else its `cpu` line), or a diagnostic at the line (or the
 * top of the main file, for `cpu`) when the model is unknown or not read yet (`host`).
 */
export function cpuModelDiagnostic(path: string, program: Program, cpu: string | undefined): Diagnostic | null {
  const model = cpu ?? program.cpuModel;
  const message = model !== null ? cpuModelProblem(model) : null;
  if (message === null) return null;
  const at = cpu === undefined && program.cpuAt ? program.cpuAt : { file: path, range: ZERO };
  return { file: at.file, range: at.range, severity: 'error', message };
}

/** A machine for a compiled program; a scenario error at start-up (too much memory) is a diagnostic. */
export function engineFor(path: string, program: Program, opts: EngineOptions = {}): LoadResult {
  const bad = cpuModelDiagnostic(path, program, opts.cpu);
  if (bad) return { engine: null, diagnostics: [bad] };
  try {
    return { engine: new Engine(program, opts), diagnostics: [] };
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    return { engine: null, diagnostics: [{ file: path, range: ZERO, severity: 'error', message: e.message }] };
  }
}

export function loadScenario(path: string, files: FileAccessor, opts: EngineOptions & CompileOptions = {}): LoadResult {
  const { program, diagnostics } = compileScenario(path, files, opts);
  if (!program) return { engine: null, diagnostics };
  return engineFor(path, program, opts);
}
