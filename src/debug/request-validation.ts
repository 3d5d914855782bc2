// Every DAP request's arguments are checked here, before any handler runs, against a schema per
// command. The schemas are typed against @vscode/debugprotocol's argument interfaces (`Shape<T>`
// lists every property of T, optional exactly where the protocol makes it optional), so a protocol
// update that adds or changes a property fails the typecheck here. An answer is a message that
// says what to send (`readMemory: 'count' must be an integer from 0 to 1048576 (got 0.5)`); the
// handlers can then trust the types of what they get. Bounds (text lengths, counts) are the
// adapter's own limits, documented in README "Limits".
import type { DebugProtocol } from '@vscode/debugprotocol';
import { MAX_BOUNDS } from '../sim/explore/options';
import { MAX_BUCKETS } from '../sim/timeline';

/** Longest expression, variable name, value or condition accepted (characters). */
export const MAX_EXPRESSION = 10_000;
/** Longest path accepted (characters). */
export const MAX_PATH = 4096;
/** Most bytes one readMemory returns. */
export const MAX_READ = 1 << 20;
/** Most breakpoints in one set*Breakpoints request. */
export const MAX_BREAKPOINTS = 10_000;
/** Largest id, reference, line or count: what a JavaScript number holds exactly. */
const MAX_INT = Number.MAX_SAFE_INTEGER;

/** Explorer bounds a launch may ask for (README "Limits"). */
const MAX_EXPLORE_BOUNDS = MAX_BOUNDS;
/** Largest step budget of one continue or step. */
export const MAX_STEPS = 1_000_000_000_000;

type Field =
  | { type: 'string'; max?: number; optional?: boolean; values?: readonly string[] }
  | { type: 'boolean'; optional?: boolean }
  | { type: 'integer'; min?: number; max?: number; optional?: boolean }
  | { type: 'object'; fields?: Readonly<Record<string, Field>>; optional?: boolean }
  | { type: 'array'; items: Field; max?: number; optional?: boolean }
  | { type: 'any'; optional?: boolean };

/** A schema with one entry per property of T, `optional: true` exactly where T's property is optional. */
type Shape<T> = { [K in keyof Required<T>]-?: Field & ({} extends Pick<T, K> ? { optional: true } : { optional?: false }) };

const str = (max = MAX_EXPRESSION) => ({ type: 'string', max }) as const;
const ostr = (max = MAX_EXPRESSION) => ({ type: 'string', max, optional: true }) as const;
const obool = { type: 'boolean', optional: true } as const;
const int = (min = 0, max = MAX_INT) => ({ type: 'integer', min, max }) as const;
const oint = (min = 0, max = MAX_INT) => ({ type: 'integer', min, max, optional: true }) as const;
const oany = { type: 'any', optional: true } as const;
const obj = <T>(fields: Shape<T>) => ({ type: 'object', fields }) as const;
const oobj = <T>(fields: Shape<T>) => ({ type: 'object', fields, optional: true }) as const;

const valueFormat: Shape<DebugProtocol.ValueFormat> = { hex: obool };
const stackFrameFormat: Shape<DebugProtocol.StackFrameFormat> = {
  hex: obool, parameters: obool, parameterTypes: obool, parameterNames: obool, parameterValues: obool, line: obool, module: obool, includeAll: obool,
};
const source: Shape<DebugProtocol.Source> = {
  name: ostr(MAX_PATH), path: ostr(MAX_PATH), sourceReference: oint(), presentationHint: ostr(100), origin: ostr(MAX_PATH),
  sources: oany, adapterData: oany, checksums: oany,
};
const sourceBreakpoint: Shape<DebugProtocol.SourceBreakpoint> = {
  line: int(0), column: oint(0), condition: ostr(), hitCondition: ostr(), logMessage: ostr(), mode: ostr(100),
};
const functionBreakpoint: Shape<DebugProtocol.FunctionBreakpoint> = { name: str(), condition: ostr(), hitCondition: ostr() };
const filterOptions: Shape<DebugProtocol.ExceptionFilterOptions> = { filterId: str(100), condition: ostr(), mode: ostr(100) };
const dataBreakpoint: Shape<DebugProtocol.DataBreakpoint> = {
  dataId: str(), accessType: { type: 'string', values: ['read', 'write', 'readWrite'], optional: true }, condition: ostr(), hitCondition: ostr(),
};
const threadOnly = { threadId: int(), singleThread: obool };
const stepping = { ...threadOnly, granularity: { type: 'string', values: ['statement', 'line', 'instruction'], optional: true } } as const;

/** The launch attributes of package.json's `configurationAttributes.launch`, plus DAP's own. */
export interface LaunchShape {
  program: string; policy?: string; cpu?: string; stopOnEntry?: boolean; maxSteps?: number; trace?: boolean; explore?: boolean;
  exploreBounds?: { interrupts?: number; preemptions?: number; fpuIrqs?: number; steps?: number }; workspaceFolder?: string;
  noDebug?: boolean; __restart?: unknown;
}
const exploreBounds: Shape<NonNullable<LaunchShape['exploreBounds']>> = {
  interrupts: oint(0, MAX_EXPLORE_BOUNDS.interrupts), preemptions: oint(0, MAX_EXPLORE_BOUNDS.preemptions),
  fpuIrqs: oint(0, MAX_EXPLORE_BOUNDS.fpuIrqs), steps: oint(1, MAX_EXPLORE_BOUNDS.steps),
};
const launch: Shape<LaunchShape> = {
  program: str(MAX_PATH), policy: ostr(MAX_PATH), cpu: ostr(100), stopOnEntry: obool, maxSteps: oint(1, MAX_STEPS), trace: obool, explore: obool,
  exploreBounds: oobj(exploreBounds), workspaceFolder: ostr(MAX_PATH), noDebug: obool, __restart: oany,
};

const SCHEMAS = new Map<string, Readonly<Record<string, Field>>>([
  ['initialize', {
    clientID: ostr(1000), clientName: ostr(1000), adapterID: str(1000), locale: ostr(100), linesStartAt1: obool, columnsStartAt1: obool,
    pathFormat: { type: 'string', values: ['path'], optional: true }, supportsVariableType: obool, supportsVariablePaging: obool, supportsRunInTerminalRequest: obool,
    supportsMemoryReferences: obool, supportsProgressReporting: obool, supportsInvalidatedEvent: obool, supportsMemoryEvent: obool,
    supportsArgsCanBeInterpretedByShell: obool, supportsStartDebuggingRequest: obool, supportsANSIStyling: obool,
  } satisfies Shape<DebugProtocol.InitializeRequestArguments>],
  ['configurationDone', {} satisfies Shape<DebugProtocol.ConfigurationDoneArguments>],
  ['launch', launch],
  ['restart', { arguments: oobj(launch) } satisfies Record<keyof DebugProtocol.RestartArguments, Field>],
  ['disconnect', { restart: obool, terminateDebuggee: obool, suspendDebuggee: obool } satisfies Shape<DebugProtocol.DisconnectArguments>],
  ['terminate', { restart: obool } satisfies Shape<DebugProtocol.TerminateArguments>],
  ['cancel', { requestId: oint(), progressId: ostr(1000) } satisfies Shape<DebugProtocol.CancelArguments>],
  ['setBreakpoints', {
    source: obj(source), breakpoints: { type: 'array', items: obj(sourceBreakpoint), max: MAX_BREAKPOINTS, optional: true },
    lines: { type: 'array', items: int(0), max: MAX_BREAKPOINTS, optional: true }, sourceModified: obool,
  } satisfies Shape<DebugProtocol.SetBreakpointsArguments>],
  ['setFunctionBreakpoints', {
    breakpoints: { type: 'array', items: obj(functionBreakpoint), max: MAX_BREAKPOINTS },
  } satisfies Shape<DebugProtocol.SetFunctionBreakpointsArguments>],
  ['setExceptionBreakpoints', {
    filters: { type: 'array', items: str(100), max: 100 }, filterOptions: { type: 'array', items: obj(filterOptions), max: 100, optional: true },
    exceptionOptions: { type: 'array', items: { type: 'any' }, max: 100, optional: true },
  } satisfies Shape<DebugProtocol.SetExceptionBreakpointsArguments>],
  ['exceptionInfo', { threadId: int() } satisfies Shape<DebugProtocol.ExceptionInfoArguments>],
  ['dataBreakpointInfo', {
    variablesReference: oint(), name: str(), frameId: oint(), bytes: oint(), asAddress: obool, mode: ostr(100),
  } satisfies Shape<DebugProtocol.DataBreakpointInfoArguments>],
  ['setDataBreakpoints', {
    breakpoints: { type: 'array', items: obj(dataBreakpoint), max: MAX_BREAKPOINTS },
  } satisfies Shape<DebugProtocol.SetDataBreakpointsArguments>],
  ['threads', {}],
  ['stackTrace', {
    threadId: int(), startFrame: oint(), levels: oint(), format: oobj(stackFrameFormat),
  } satisfies Shape<DebugProtocol.StackTraceArguments>],
  ['scopes', { frameId: int() } satisfies Shape<DebugProtocol.ScopesArguments>],
  ['variables', {
    variablesReference: int(), filter: { type: 'string', values: ['indexed', 'named'], optional: true }, start: oint(), count: oint(),
    format: oobj(valueFormat),
  } satisfies Shape<DebugProtocol.VariablesArguments>],
  ['setVariable', {
    variablesReference: int(), name: str(), value: str(), format: oobj(valueFormat),
  } satisfies Shape<DebugProtocol.SetVariableArguments>],
  ['setExpression', { expression: str(), value: str(), frameId: oint(), format: oobj(valueFormat) } satisfies Shape<DebugProtocol.SetExpressionArguments>],
  ['evaluate', {
    expression: str(), frameId: oint(), line: oint(), column: oint(), source: oobj(source), context: ostr(100), format: oobj(valueFormat),
  } satisfies Shape<DebugProtocol.EvaluateArguments>],
  ['completions', { frameId: oint(), text: str(), column: int(0), line: oint() } satisfies Shape<DebugProtocol.CompletionsArguments>],
  ['readMemory', { memoryReference: str(200), offset: oint(-MAX_INT), count: int(0, MAX_READ) } satisfies Shape<DebugProtocol.ReadMemoryArguments>],
  ['writeMemory', {
    memoryReference: str(200), offset: oint(-MAX_INT), allowPartial: obool, data: str(4 * MAX_READ),
  } satisfies Shape<DebugProtocol.WriteMemoryArguments>],
  ['continue', threadOnly satisfies Shape<DebugProtocol.ContinueArguments>],
  ['next', stepping satisfies Shape<DebugProtocol.NextArguments>],
  ['stepIn', { ...stepping, targetId: oint() } satisfies Shape<DebugProtocol.StepInArguments>],
  ['stepOut', stepping satisfies Shape<DebugProtocol.StepOutArguments>],
  ['stepBack', stepping satisfies Shape<DebugProtocol.StepBackArguments>],
  ['reverseContinue', threadOnly satisfies Shape<DebugProtocol.ReverseContinueArguments>],
  ['pause', { threadId: int() } satisfies Shape<DebugProtocol.PauseArguments>],
  ['breakpointLocations', {
    source: obj(source), line: int(0), column: oint(0), endLine: oint(0), endColumn: oint(0),
  } satisfies Shape<DebugProtocol.BreakpointLocationsArguments>],
  ['loadedSources', {} satisfies Shape<DebugProtocol.LoadedSourcesArguments>],
  ['restartFrame', { frameId: int() } satisfies Shape<DebugProtocol.RestartFrameArguments>],
  ['xsave/toggleHex', {}],
  ['xsave/setFormat', { hex: obool }],
  // The pictures (src/runtime/layout-view.ts, timeline-view.ts, travel.ts).
  ['xsave/layout', { area: ostr(200), format: { type: 'string', values: ['standard', 'compacted'], optional: true }, threadId: oint(1) }],
  ['xsave/timeline', { from: oint(0), to: oint(1), buckets: oint(1, MAX_BUCKETS) }],
  ['xsave/travel', { step: int(0) }],
]);

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string': return v.length > 40 ? `a string of ${v.length} characters` : JSON.stringify(v);
    case 'number': return Number.isFinite(v) ? String(v) : 'a number that is not finite';
    case 'boolean': return String(v);
    case 'object': return 'an object';
    default: return typeof v;
  }
}

function expected(f: Field): string {
  switch (f.type) {
    case 'string': return f.values ? `one of ${f.values.map((x) => `'${x}'`).join(', ')}` : `a string${f.max !== undefined ? ` of at most ${f.max} characters` : ''}`;
    case 'boolean': return 'true or false';
    case 'integer': return f.min !== undefined && f.max !== undefined && f.max < MAX_INT ? `an integer from ${f.min} to ${f.max}` : f.min === 0 ? 'an integer >= 0' : 'an integer';
    case 'object': return 'an object';
    case 'array': return `an array${f.max !== undefined ? ` of at most ${f.max} items` : ''}`;
    case 'any': return 'a value';
  }
}

function check(f: Field, v: unknown, at: string): string | null {
  const bad = () => `'${at}' must be ${expected(f)} (got ${describe(v)})`;
  switch (f.type) {
    case 'any': return null;
    case 'string':
      if (typeof v !== 'string') return bad();
      if (f.values && !f.values.includes(v)) return bad();
      if (f.max !== undefined && v.length > f.max) return `'${at}' is too long: at most ${f.max} characters (got ${v.length})`;
      return null;
    case 'boolean': return typeof v === 'boolean' ? null : bad();
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < (f.min ?? -MAX_INT) || v > (f.max ?? MAX_INT)) return bad();
      return null;
    case 'array': {
      if (!Array.isArray(v)) return bad();
      if (f.max !== undefined && v.length > f.max) return `'${at}' has too many items: at most ${f.max} (got ${v.length})`;
      for (let i = 0; i < v.length; i++) {
        const p = check(f.items, v[i], `${at}[${i}]`);
        if (p) return p;
      }
      return null;
    }
    case 'object': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad();
      return f.fields ? checkFields(f.fields, v as Record<string, unknown>, `${at}.`) : null;
    }
  }
}

function checkFields(fields: Readonly<Record<string, Field>>, o: Record<string, unknown>, prefix: string): string | null {
  for (const [name, f] of Object.entries(fields)) {
    const v = Object.hasOwn(o, name) ? o[name] : undefined;
    if (v === undefined) {
      if (f.optional) continue;
      return `'${prefix}${name}' is required: ${expected(f)}`;
    }
    const p = check(f, v, `${prefix}${name}`);
    if (p) return p;
  }
  return null;
}

/**
 * Checks a request's arguments. Returns the arguments to hand to the handler (`{}` where the
 * protocol lets them be left out) or the message of what is wrong. Commands without a schema
 * (requests this adapter does not implement) pass as they are.
 */
export function validateRequest(command: string, args: unknown): { ok: true; args: unknown } | { ok: false; message: string } {
  const schema = SCHEMAS.get(command);
  if (schema === undefined) return { ok: true, args };
  // Left out: as if empty, so that the message names the first property that is required.
  if (args === undefined) args = {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    return { ok: false, message: `${command}: the arguments must be an object (got ${describe(args)})` };
  }
  const p = checkFields(schema, args as Record<string, unknown>, '');
  return p === null ? { ok: true, args } : { ok: false, message: `${command}: ${p}` };
}
