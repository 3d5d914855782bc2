// Loading a scenario: compile it with the engine's constants, builtins, kernel-object fields and
// globals, and make an Engine. Files come through a FileAccessor (the sim never touches fs).
import { type CompileEnv, type FileAccessor, compile } from '../lang/compiler';
import type { Diagnostic } from '../lang/source';
import { CPU_MODELS } from '../model';
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

export function loadScenario(path: string, files: FileAccessor, opts: EngineOptions & { imports?: string[] } = {}): LoadResult {
  const { program, diagnostics } = compile(path, files, COMPILE_ENV, opts.imports ?? []);
  if (!program) return { engine: null, diagnostics };
  const model = opts.cpu ?? program.cpuModel;
  if (model !== null && !Object.hasOwn(CPU_MODELS, model)) {
    const at = opts.cpu === undefined && program.cpuAt ? program.cpuAt : { file: path, range: ZERO };
    const message = `unknown CPU model '${model}' (known: ${Object.keys(CPU_MODELS).join(', ')})`;
    return { engine: null, diagnostics: [{ file: at.file, range: at.range, severity: 'error', message }] };
  }
  try {
    return { engine: new Engine(program, opts), diagnostics };
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    return { engine: null, diagnostics: [{ file: path, range: ZERO, severity: 'error', message: e.message }] };
  }
}
