// The debug adapter: Debug Adapter Protocol requests translated to the engine, engine happenings
// translated to DAP events. It knows nothing of VS Code; it runs inline in the extension host or
// as `node dist/adapter.js` over stdio for any DAP client. The runtime is the engine (src/sim);
// this file only translates. Each handler sits under the `static { capability(...) }` block that
// declares what it implements, and the initialize response is assembled from those blocks.
// A continue runs in slices that yield to the event loop, so pause (and anything else) is answered
// while it runs; stepBack and reverseContinue replay from time-travel checkpoints (src/sim/history).
import {
  ErrorDestination, Event, InitializedEvent, InvalidatedEvent, LoggingDebugSession, OutputEvent, ProgressEndEvent, ProgressStartEvent, ProgressUpdateEvent,
  Response, Source, StackFrame, StoppedEvent, TerminatedEvent, Thread,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { basename } from 'node:path';
import { formatDiagnostic } from '../lang/source';
import { formatMask } from '../model';
import { type Engine, type Happening, allocationSteps } from '../sim/engine';
import {
  type ExprContext, type Place, ExpressionError, REGISTER_NAMES, evaluate, fieldsOf, namesInScope, parseDebugExpression,
  placeOf, registerValue,
} from '../sim/expression';
import { History } from '../sim/history';
import { TimelineError, type TimelineRecorder } from '../sim/timeline';
import type { ThreadState } from '../sim/machine';
import { loadScenario } from '../sim/scenario';
import type { Value } from '../sim/value';
import { Breakpoints, EXCEPTION_FILTERS, type StopDecision } from './breakpoints';
import { capabilities, capability } from './capabilities';
import { readLe } from './components';
import { EditRefused, parseValue, writeSlot } from './edits';
import { type ExploreResult, explore } from './explore-runner';
import { FileGate, WriteRefused, counterexamplePath, policyImports, writeNewFile } from './host-files';
import { prepareHostCpu } from './host-cpu';
import { LayoutError, buildLayout } from './layout-view';
import { type MemoryRef, formatMemoryRef, parseMemoryRef, readMemory, writeMemory } from './memory-references';
import { validateRequest } from './request-validation';
import { type TimelineArguments, timelineFor, timelineWindow } from './timeline-view';
import { TravelRefused, travelTo } from './travel';
import { type Slot, VariableTree } from './variables';

export interface XsaveLaunchArguments extends DebugProtocol.LaunchRequestArguments {
  /** The scenario file. */
  program: string;
  /** Overrides the scenario's `policy` line: a shipped name or a .xsave file. */
  policy?: string;
  /** Overrides the scenario's `cpu` line. */
  cpu?: string;
  stopOnEntry?: boolean;
  /** Step budget of one continue or step request (default 1,000,000 statements). */
  maxSteps?: number;
  /** Print the hardware trace to the Debug Console, grouped per VM entry (default true). */
  trace?: boolean;
  /**
   * Explore interleavings first (as `xsave-sim explore`): on a violation, debug the counterexample
   * (written next to the scenario) and stop at the violation; when nothing breaks, debug `program`.
   */
  explore?: boolean;
  /** Bounds of that search (defaults as `xsave-sim explore`). */
  exploreBounds?: { interrupts?: number; preemptions?: number; fpuIrqs?: number; steps?: number };
  /** The folder the client opened: scenarios may import files from it (besides their own folder tree). */
  workspaceFolder?: string;
}

const FRAME_STRIDE = 1000;
/** Longest slice a running request takes before it yields to the event loop. */
const SLICE_MS = 10;

/** Error ids of the responses (the message says what to do). */
const ERR = {
  notLaunched: 2001, badFrame: 2002, badReference: 2003, expression: 2004, edit: 2005, launch: 2006, busy: 2007, memory: 2008,
  badArguments: 2009, internal: 2999,
} as const;

/** Run requests; 'entry' runs the kernel's boot to the scenario's first statement (stopOnEntry). */
type Mode = 'continue' | 'over' | 'in' | 'out' | 'entry';

class RequestError extends Error {
  constructor(readonly id: number, message: string) {
    super(message);
  }
}

export class XsaveDebugSession extends LoggingDebugSession {
  private engine: Engine | null = null;
  private history: History<Map<number, number>> | null = null;
  /** The run timeline (xsave/timeline), fed by every forward step. */
  private timeline: TimelineRecorder | null = null;
  private args: XsaveLaunchArguments | null = null;
  private readonly bps = new Breakpoints();
  private readonly vars = new VariableTree(() => this.engine);
  private traceSent = 0;
  private groupOpen = false;
  /** A step back or reverse continue is reporting its stop (History.atStop keeps less then). */
  private reversing = false;
  /** A stop closed the group of a VM entry still in progress: its next trace line reopens one. */
  private groupContinues = false;
  private running = false;
  private pauseRequested = false;
  private lastStop: StopDecision | null = null;
  private configured!: () => void;
  private readonly configurationDone = new Promise<void>((r) => (this.configured = r));
  private clientProgress = false;
  // Made once: the breakpoints' check runs after every step of a continue.
  private readonly contextFn = (th: ThreadState, f: number, b?: ReadonlyMap<string, Value>): ExprContext => this.contextOf(th, f, b);
  private readonly logFn = (text: string, th: ThreadState): void => this.logpoint(text, th);
  private exploring: AbortController | null = null;
  /** Which resume() loop owns the machine: a restart or a new run makes older loops stop quietly. */
  private runId = 0;
  private disconnected = false;

  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  // ---- lifecycle ----------------------------------------------------------------------------------

  /** The one place requests come in: arguments are checked against the protocol's schema first. */
  protected override dispatchRequest(request: DebugProtocol.Request): void {
    const v = validateRequest(request.command, request.arguments);
    if (!v.ok) {
      const response = new Response(request);
      this.fail(response, new RequestError(ERR.badArguments, v.message));
      return;
    }
    request.arguments = v.args;
    super.dispatchRequest(request);
  }

  /** An exception that escaped a handler (DebugSession answers it with code 1104): one line, no stack. */
  protected override sendErrorResponse(response: DebugProtocol.Response, codeOrMessage: number | DebugProtocol.Message, format?: string, variables?: unknown, dest?: ErrorDestination): void {
    if (codeOrMessage === 1104) {
      const what = String((variables as { _exception?: unknown } | undefined)?._exception ?? 'unknown').split('\n')[0]!;
      const text = `internal error of the adapter in '${response.command}' (please report it): ${what}`;
      super.sendErrorResponse(response, { id: ERR.internal, format: text.replace(/\{/g, '{{').replace(/\}/g, '}}'), showUser: false });
      return;
    }
    super.sendErrorResponse(response, codeOrMessage, format, variables, dest);
  }

  protected override initializeRequest(response: DebugProtocol.InitializeResponse, args: DebugProtocol.InitializeRequestArguments): void {
    this.clientProgress = args.supportsProgressReporting === true;
    response.body = capabilities();
    this.sendResponse(response);
    this.sendEvent(new InitializedEvent());
  }

  static {
    capability({ supportsConfigurationDoneRequest: true });
  }
  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.sendResponse(response);
    this.configured();
  }

  protected override async launchRequest(response: DebugProtocol.LaunchResponse, args: XsaveLaunchArguments): Promise<void> {
    this.disconnected = false;
    try {
      if (args.explore) args = await this.exploreFirst(args);
      this.load(args);
    } catch (e) {
      // A launch that fails (a scenario with errors, a file that cannot be read) is the user's to
      // see: VS Code shows an error response with showUser in a notification.
      this.fail(response, e, true);
      return;
    }
    this.sendResponse(response);
    await this.configurationDone;
    if (this.disconnected || !this.engine) return;
    this.begin();
  }

  static {
    capability({ supportsCancelRequest: true });
  }
  /** Cancels the exploration of a launch with `explore: true` (its progress is cancellable). */
  protected override cancelRequest(response: DebugProtocol.CancelResponse, args: DebugProtocol.CancelArguments): void {
    if (args.progressId === 'explore') this.exploring?.abort();
    this.sendResponse(response);
  }

  /**
   * `explore: true`: search the interleavings, report progress (cancellable) and the result, and
   * return the launch to debug: the counterexample, run to its violation, or the scenario itself.
   */
  private async exploreFirst(args: XsaveLaunchArguments): Promise<XsaveLaunchArguments> {
    if (typeof args.program !== 'string' || args.program === '') {
      throw new RequestError(ERR.launch, "launch: 'program' must name a scenario file (.xsave)");
    }
    const abort = new AbortController();
    this.exploring = abort;
    const say = (text: string): void => this.sendEvent(new OutputEvent(`${text}\n`, 'console'));
    if (this.clientProgress) {
      const start = new ProgressStartEvent('explore', 'Exploring interleavings', basename(args.program)) as DebugProtocol.ProgressStartEvent;
      start.body.cancellable = true;
      this.sendEvent(start);
    }
    let last = 0;
    let r: ExploreResult;
    try {
      r = await explore({
        file: args.program, ...(args.workspaceFolder ? { workspace: args.workspaceFolder } : {}), ...(args.policy ? { policy: args.policy } : {}), ...(args.cpu ? { cpu: args.cpu } : {}),
        ...(args.exploreBounds ? { bounds: args.exploreBounds } : {}),
      }, {
        signal: abort.signal,
        onProgress: (p) => {
          if (!this.clientProgress || p.elapsedMs - last < 200) return;
          last = p.elapsedMs;
          // The share of top-level placements done: what moves as the search goes (its depth is
          // that of one branch at one moment, which said nothing).
          const ev = new ProgressUpdateEvent('explore', `${p.states.toLocaleString('en-US')} states, ${Math.round(p.statesPerSecond).toLocaleString('en-US')}/s, ${p.unitsDone}/${p.units} placements`) as DebugProtocol.ProgressUpdateEvent;
          if (p.units > 0) ev.body.percentage = Math.min(100, Math.round((100 * p.unitsDone) / p.units));
          this.sendEvent(ev);
        },
      });
    } finally {
      this.exploring = null;
      if (this.clientProgress) this.sendEvent(new ProgressEndEvent('explore'));
    }
    if (r.status === 'error') {
      throw new RequestError(ERR.launch, `the scenario has errors:\n${r.diagnostics.map(formatDiagnostic).join('\n')}`);
    }
    const hit = Object.entries(r.boundsHit).filter(([, v]) => v).map(([k]) => k);
    say(`explored ${r.states.toLocaleString('en-US')} states (${r.distinctStates.toLocaleString('en-US')} distinct) in ${(r.elapsedMs / 1000).toFixed(2)} s` +
      `${r.cancelled ? ', cancelled' : ''}${hit.length ? `; bounds hit: ${hit.join(', ')}` : ''}`);
    const c = r.counterexample;
    if (!c) {
      say(r.cancelled ? 'exploration cancelled before a violation was found: debugging the scenario as written'
        : 'no invariant breaks within the bounds: debugging the scenario as written');
      return { ...args, explore: false };
    }
    const out = counterexamplePath(args.program);
    try {
      writeNewFile(out, c.text);
    } catch (e) {
      if (e instanceof WriteRefused) throw new RequestError(ERR.launch, `explore found a violation but ${e.message}`);
      throw e;
    }
    say(`${c.where}: ${c.invariant}: ${c.message} (step ${c.step})`);
    for (const line of c.chain) say(`  ${line}`);
    say(`counterexample written to ${out}; running it to the violation (step back walks to its cause)`);
    // Named where the user looks (a notification: 'important' output) and opened by the extension
    // (the custom event), since the stop may be in kernel code rather than in the new file.
    this.sendEvent(new OutputEvent(`Explore found ${c.invariant} broken: the counterexample is ${out}\n`, 'important'));
    this.sendEvent(new Event('xsave/counterexample', { path: out, invariant: c.invariant, where: c.where }));
    const { policy: _policy, ...rest } = args;
    void _policy;
    return { ...rest, program: out, explore: false, stopOnEntry: false };
  }

  static {
    capability({ supportsRestartRequest: true });
  }
  protected override restartRequest(response: DebugProtocol.RestartResponse, args: DebugProtocol.RestartArguments): void {
    const launch = (args.arguments as XsaveLaunchArguments | undefined) ?? this.args;
    if (!launch) { this.fail(response, new RequestError(ERR.notLaunched, 'restart: nothing was launched')); return; }
    try {
      this.load(launch);
    } catch (e) {
      this.fail(response, e, true);
      return;
    }
    this.sendResponse(response);
    this.begin();
  }

  static {
    capability({ supportsTerminateRequest: true });
  }
  protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
    this.pauseRequested = true;
    this.sendResponse(response);
    this.sendEvent(new TerminatedEvent());
  }

  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse): void {
    this.pauseRequested = true;
    this.disconnected = true;
    this.runId++;
    this.exploring?.abort();
    this.engine = null;
    this.history = null;
    this.timeline = null;
    this.sendResponse(response);
  }

  /** Compiles the scenario with its policy and makes a fresh machine; errors are RequestErrors. */
  private load(args: XsaveLaunchArguments): void {
    if (typeof args.program !== 'string' || args.program === '') {
      throw new RequestError(ERR.launch, "launch: 'program' must name a scenario file (.xsave)");
    }
    const gate = FileGate.forScenario(args.program, args.workspaceFolder);
    const refused = gate.refused(args.program);
    const text = refused === null ? gate.read(args.program) : null;
    if (text === null) throw new RequestError(ERR.launch, `launch: ${refused ?? `cannot read '${args.program}'`}`);
    const policy = policyImports(args.program, text, args.policy, gate);
    if (policy.diagnostic) throw new RequestError(ERR.launch, `launch: ${policy.diagnostic.message}`);
    const imports = policy.imports;
    // `cpu: "host"` or the scenario's `cpu "host";`: this machine's CPUID, read before compiling.
    const host = prepareHostCpu(args.program, text, args.cpu);
    if (host.message !== null) throw new RequestError(ERR.launch, `launch: cpu "host": ${host.message}`);
    if (host.diagnostic) throw new RequestError(ERR.launch, `the scenario has errors:\n${formatDiagnostic(host.diagnostic)}`);
    const loaded = loadScenario(args.program, gate, { ...(args.cpu ? { cpu: args.cpu } : {}), imports });
    if (!loaded.engine) {
      throw new RequestError(ERR.launch, `the scenario has errors:\n${loaded.diagnostics.map(formatDiagnostic).join('\n')}`);
    }
    this.runId++; // any running loop of the previous machine stops
    this.running = false;
    this.engine = loaded.engine;
    this.args = args;
    this.traceSent = 0;
    this.groupOpen = false;
    this.groupContinues = false;
    this.lastStop = null;
    this.bps.loadHits(new Map());
    this.history = new History(loaded.engine, { save: () => this.bps.saveHits(), load: (h) => this.bps.loadHits(h) });
    this.timeline = timelineFor(loaded.engine, text);
  }

  /**
   * After configurationDone. stopOnEntry stops at the first statement of the scenario the user
   * launched, after the kernel has booted: the boot code lives in the shipped kernel files, which
   * are not what the user opened (a breakpoint there still stops in it). A scenario with no
   * statement of its own stops where it ends, like a run.
   */
  private begin(): void {
    if (!this.args?.stopOnEntry) void this.resume('continue');
    else if (this.inScenario()) this.reportStop({ reason: 'entry' });
    else void this.resume('entry');
  }

  /** Whether the thread that last ran stands on a statement of the launched scenario's own file. */
  private inScenario(): boolean {
    const e = this.engine;
    if (!e) return false;
    const s = e.state;
    const th = s.lastThread >= 0 ? s.threads[s.lastThread] : e.currentThread();
    if (!th || th.pendingFault) return false;
    const top = th.frames[th.frames.length - 1];
    const fn = top ? e.fn(top) : null;
    return fn !== null && fn !== undefined && fn.file === e.program.files[0];
  }

  // ---- breakpoints --------------------------------------------------------------------------------

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    const path = args.source.path ?? '';
    const bps = args.breakpoints ?? (args.lines ?? []).map((line) => ({ line }));
    response.body = { breakpoints: this.bps.setLines(path, bps, this.statementLines(path)) };
    this.sendResponse(response);
  }

  static {
    capability({ supportsBreakpointLocationsRequest: true });
  }
  /** Where a breakpoint can stand in a range of lines: the start of every statement there. */
  protected override breakpointLocationsRequest(response: DebugProtocol.BreakpointLocationsResponse, args: DebugProtocol.BreakpointLocationsArguments): void {
    const e = this.engine;
    const path = args.source.path ?? '';
    const last = args.endLine ?? args.line;
    const seen = new Set<string>();
    const breakpoints: DebugProtocol.BreakpointLocation[] = [];
    for (const f of e?.program.functions ?? []) {
      for (const st of f.stmts) {
        const { line, column } = st.range.start;
        if (st.file !== path || line < args.line || line > last) continue;
        if (line === args.line && args.column !== undefined && column < args.column) continue;
        if (line === last && args.endColumn !== undefined && column > args.endColumn) continue;
        const key = `${line}:${column}`;
        if (seen.has(key)) continue;
        seen.add(key);
        breakpoints.push({ line, column });
      }
    }
    breakpoints.sort((a, b) => a.line - b.line || (a.column ?? 0) - (b.column ?? 0));
    response.body = { breakpoints };
    this.sendResponse(response);
  }

  static {
    capability({ supportsLoadedSourcesRequest: true });
  }
  /** Every file the program was compiled from: the scenario, its imports, its policy and the kernel. */
  protected override loadedSourcesRequest(response: DebugProtocol.LoadedSourcesResponse): void {
    const files = this.engine?.program.files ?? [];
    response.body = { sources: files.map((f) => new Source(basename(f), f) as DebugProtocol.Source) };
    this.sendResponse(response);
  }

  static {
    capability({ supportsConditionalBreakpoints: true, supportsHitConditionalBreakpoints: true, supportsLogPoints: true });
  }
  // (conditions, hit conditions and log messages are parsed in setLines above, evaluated in Breakpoints.check)

  static {
    capability({ supportsFunctionBreakpoints: true });
  }
  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    const e = this.engine;
    const known = (name: string): boolean => !e || e.program.functions.some((f) => f.name === name || f.shortName === name);
    response.body = { breakpoints: this.bps.setFunctions(args.breakpoints, known) };
    this.sendResponse(response);
  }

  static {
    capability({ exceptionBreakpointFilters: EXCEPTION_FILTERS, supportsExceptionFilterOptions: true, supportsExceptionOptions: false });
  }
  protected override setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse, args: DebugProtocol.SetExceptionBreakpointsArguments): void {
    response.body = { breakpoints: this.bps.setExceptions(args) };
    this.sendResponse(response);
  }

  static {
    capability({ supportsExceptionInfoRequest: true });
  }
  protected override exceptionInfoRequest(response: DebugProtocol.ExceptionInfoResponse): void {
    const x = this.lastStop?.exception;
    if (!x) { this.fail(response, new RequestError(ERR.badReference, 'exceptionInfo: the last stop was not an exception')); return; }
    response.body = {
      exceptionId: x.exceptionId, description: x.description, breakMode: 'always',
      details: { message: x.details, typeName: x.exceptionId },
    };
    this.sendResponse(response);
  }

  static {
    capability({ supportsDataBreakpoints: true });
  }
  protected override dataBreakpointInfoRequest(response: DebugProtocol.DataBreakpointInfoResponse, args: DebugProtocol.DataBreakpointInfoArguments): void {
    try {
      const slot = this.slotOf(args.variablesReference, args.name, args.frameId);
      const id = slot ? dataIdOf(slot, this.engine!) : null;
      response.body = id
        ? { dataId: id, description: `${args.name} (${id})`, accessTypes: ['write'], canPersist: true }
        : { dataId: null, description: slot?.kind === 'local' ? 'a local lives only as long as its frame: watch a register, an MSR or a field' : `'${args.name}' cannot be watched` };
      this.sendResponse(response);
    } catch (e) {
      this.fail(response, e);
    }
  }

  protected override setDataBreakpointsRequest(response: DebugProtocol.SetDataBreakpointsResponse, args: DebugProtocol.SetDataBreakpointsArguments): void {
    response.body = { breakpoints: this.bps.setData(args.breakpoints.map((b) => ({ ...b, read: this.watcher(b.dataId) }))) };
    this.sendResponse(response);
  }

  /** Reads the value a dataId names, as text (compared between steps). */
  private watcher(dataId: string): (() => string | null) | null {
    const reg = /^cpu(\d+)\.([A-Z0-9_]+)$/.exec(dataId);
    if (reg && (REGISTER_NAMES as readonly string[]).includes(reg[2]!)) {
      const k = Number(reg[1]);
      const name = reg[2] as (typeof REGISTER_NAMES)[number];
      return () => {
        const c = this.engine?.state.cpus[k];
        return c ? formatMask(registerValue(c, name)) : null;
      };
    }
    const field = /^([a-z_]+)#(\d+)\.([A-Za-z0-9_]+)$/.exec(dataId);
    if (field) {
      const id = Number(field[2]);
      return () => {
        const o = this.engine?.state.heap[id];
        if (!o || o.type !== field[1]) return null;
        const v = Object.hasOwn(o.fields, field[3]!) ? o.fields[field[3]!] : undefined;
        return v === undefined ? null : typeof v === 'bigint' ? `0x${v.toString(16)}` : `&obj${v.ref}`;
      };
    }
    const bytes = /^(.+):(\d+)$/.exec(dataId);
    const mem = bytes ? parseMemoryRef(bytes[1]!) : null;
    if (bytes && mem && Number(bytes[2]) <= 64) {
      const size = Number(bytes[2]);
      return () => {
        const s = this.engine?.state;
        if (!s) return null;
        const r = readMemory(s, mem, 0, size);
        return r.unreadable ? null : `0x${readLe(r.data, 0, size).toString(16)}`;
      };
    }
    return null;
  }

  // ---- threads and frames -------------------------------------------------------------------------

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    const threads = this.engine?.state.threads ?? [];
    response.body = { threads: threads.filter((t) => t.status !== 'exited' && t.status !== 'killed').map((t) => new Thread(t.id + 1, t.name)) };
    if (response.body.threads.length === 0) response.body.threads = [new Thread(1, 'machine')];
    this.sendResponse(response);
  }

  static {
    capability({ supportsDelayedStackTraceLoading: true });
  }
  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    const e = this.engine;
    if (!e) { this.fail(response, notLaunched()); return; }
    const th = e.state.threads[args.threadId - 1];
    if (!th) { response.body = { stackFrames: [], totalFrames: 0 }; this.sendResponse(response); return; }
    const frames: DebugProtocol.StackFrame[] = [];
    for (let k = th.frames.length - 1; k >= 0; k--) {
      const f = th.frames[k]!;
      const fn = e.fn(f);
      const id = th.id * FRAME_STRIDE + k;
      if (!fn) {
        const label = new StackFrame(id, '[VM entry]') as DebugProtocol.StackFrame;
        label.presentationHint = 'label';
        frames.push(label);
        continue;
      }
      let stmt = fn.stmts[e.stmtOf(f)] ?? null;
      // A stop on a failed assertion or a broken invariant comes after the statement ran: the top
      // frame shows that statement, not the next one.
      const at = this.lastStop?.at;
      if (at && k === th.frames.length - 1 && at.thread === th.id && at.file === fn.file) {
        stmt = fn.stmts.find((x) => x.range.start.line === at.line && x.range.start.column === at.column) ?? stmt;
      }
      const line = stmt?.range.start.line ?? fn.range.start.line;
      const column = stmt?.range.start.column ?? fn.range.start.column;
      const frame = new StackFrame(id, fn.name, new Source(basename(fn.file), fn.file), line, column) as DebugProtocol.StackFrame;
      if (stmt) { frame.endLine = stmt.range.end.line; frame.endColumn = stmt.range.end.column; }
      frames.push(frame);
    }
    const start = args.startFrame ?? 0;
    const levels = args.levels || frames.length;
    response.body = { stackFrames: frames.slice(start, start + levels), totalFrames: frames.length };
    this.sendResponse(response);
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    try {
      const { th, frame } = this.frame(args.frameId);
      response.body = { scopes: this.vars.scopes(th, frame, this.lastStop?.vmexit ?? null) };
      this.sendResponse(response);
    } catch (e) {
      this.fail(response, e);
    }
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    if (!this.engine) { this.fail(response, notLaunched()); return; }
    const vars = this.vars.variables(args.variablesReference);
    if (vars === null) {
      this.fail(response, new RequestError(ERR.badReference, `no variables reference ${args.variablesReference} (references are valid until the next stop)`));
      return;
    }
    const start = args.start ?? 0;
    response.body = { variables: args.count ? vars.slice(start, start + args.count) : vars.slice(start) };
    this.sendResponse(response);
  }

  // ---- editing ------------------------------------------------------------------------------------

  static {
    capability({ supportsSetVariable: true });
  }
  protected override setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): void {
    try {
      const slot = this.slotOf(args.variablesReference, args.name);
      if (!slot) throw new RequestError(ERR.edit, `${args.name} cannot be changed here`);
      const value = this.write(slot, args.value, this.contextForRef(args.variablesReference));
      response.body = { value };
      this.sendResponse(response);
      this.sendEvent(new InvalidatedEvent(['variables']));
    } catch (e) {
      this.fail(response, e);
    }
  }

  static {
    capability({ supportsSetExpression: true });
  }
  protected override setExpressionRequest(response: DebugProtocol.SetExpressionResponse, args: DebugProtocol.SetExpressionArguments): void {
    try {
      const ctx = this.context(args.frameId);
      const value = this.write(slotOfPlace(placeOf(parseDebugExpression(args.expression), ctx), ctx), args.value, ctx);
      response.body = { value };
      this.sendResponse(response);
      this.sendEvent(new InvalidatedEvent(['variables']));
    } catch (e) {
      this.fail(response, e);
    }
  }

  /** Applies an edit with the model's rules; the history keeps the edited present (History.edited). */
  private write(slot: Slot, text: string, ctx: ExprContext): string {
    const e = this.need();
    const v = parseValue(text, slot, ctx);
    writeSlot(e, slot, v);
    this.history!.edited();
    this.timeline?.edited(e.state);
    this.bps.resyncData();
    return this.show(slot, v);
  }

  private show(slot: Slot, v: Value): string {
    if (typeof v !== 'bigint') return `&obj${v.ref}`;
    if (slot.kind === 'register' && slot.name !== 'CR0.TS') return this.vars.mask(v);
    if (slot.kind === 'bytes' && slot.size > 8) return `0x${v.toString(16).padStart(2 * slot.size, '0')}`;
    return this.vars.int(v);
  }

  // ---- evaluation ---------------------------------------------------------------------------------

  static {
    capability({ supportsEvaluateForHovers: true });
  }
  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    try {
      const ctx = this.context(args.frameId);
      // An assignment typed in the Debug Console is the one side effect asked for explicitly.
      const assign = args.context === 'repl' ? /^\s*([A-Za-z_][\w.>-]*)\s*=(?!=)\s*(.+)$/.exec(args.expression) : null;
      if (assign) {
        const value = this.write(slotOfPlace(placeOf(parseDebugExpression(assign[1]!), ctx), ctx), assign[2]!, ctx);
        response.body = { result: value, variablesReference: 0 };
        this.sendResponse(response);
        this.sendEvent(new InvalidatedEvent(['variables']));
        return;
      }
      const expr = parseDebugExpression(args.expression);
      const v = evaluate(expr, ctx);
      const field = expr.kind === 'field' ? expr.field.name : expr.kind === 'name' && (REGISTER_NAMES as readonly string[]).includes(expr.name) ? 'xfeatures' : null;
      const shown = this.vars.value(args.expression, v, args.expression, field);
      response.body = { result: shown.value, variablesReference: shown.variablesReference };
      this.sendResponse(response);
    } catch (e) {
      this.fail(response, e);
    }
  }

  static {
    capability({ supportsCompletionsRequest: true, completionTriggerCharacters: ['.', '>'] });
  }
  protected override completionsRequest(response: DebugProtocol.CompletionsResponse, args: DebugProtocol.CompletionsArguments): void {
    try {
      const ctx = this.context(args.frameId);
      const before = args.text.slice(0, Math.max(0, args.column - 1));
      const m = /([A-Za-z_][\w]*)?$/.exec(before)!;
      const prefix = m[1] ?? '';
      const head = before.slice(0, before.length - prefix.length);
      let items: DebugProtocol.CompletionItem[];
      const member = /([A-Za-z_][\w.>-]*?)(\.|->)$/.exec(head);
      if (member) {
        const v = evaluate(parseDebugExpression(member[1]!), ctx);
        const type = typeof v === 'bigint' ? '' : this.engine!.state.heap[v.ref]?.type ?? '';
        items = fieldsOf(type).filter((f) => f.startsWith(prefix)).map((f) => ({ label: f, type: 'property' }));
      } else {
        items = namesInScope(ctx).filter((n) => n.startsWith(prefix)).sort().slice(0, 200)
          .map((n) => ({ label: n, type: /^[A-Z0-9_]+$/.test(n) ? (REGISTER_NAMES as readonly string[]).includes(n) ? 'variable' : 'value' : 'variable' }));
      }
      response.body = { targets: items.map((i) => ({ ...i, length: prefix.length })) };
      this.sendResponse(response);
    } catch (e) {
      this.fail(response, e);
    }
  }

  // ---- memory -------------------------------------------------------------------------------------

  static {
    capability({ supportsReadMemoryRequest: true });
  }
  protected override readMemoryRequest(response: DebugProtocol.ReadMemoryResponse, args: DebugProtocol.ReadMemoryArguments): void {
    try {
      const s = this.need().state;
      const ref = memoryRef(args.memoryReference, args.offset ?? 0);
      const r = readMemory(s, ref, args.offset ?? 0, args.count);
      response.body = { address: r.address, data: Buffer.from(r.data).toString('base64'), unreadableBytes: r.unreadable };
      this.sendResponse(response);
    } catch (e) {
      this.fail(response, e);
    }
  }

  static {
    capability({ supportsWriteMemoryRequest: true });
  }
  protected override writeMemoryRequest(response: DebugProtocol.WriteMemoryResponse, args: DebugProtocol.WriteMemoryArguments): void {
    try {
      const s = this.need().state;
      const ref = memoryRef(args.memoryReference, args.offset ?? 0);
      const data = new Uint8Array(Buffer.from(args.data, 'base64'));
      const n = writeMemory(s, ref, args.offset ?? 0, data);
      if (n === 0 && data.length) throw new RequestError(ERR.memory, `${formatMemoryRef(ref)}+${args.offset ?? 0}: not mapped`);
      if (ref.kind === 'cpu' && n) {
        // A register image written by hand: XINUSE/XMODIFIED follow as after a register write.
        writeSlot(this.engine!, { kind: 'bytes', mem: { ...ref, offset: ref.offset + (args.offset ?? 0) }, size: 0, name: 'memory' }, 0n);
      }
      this.history!.edited();
      this.timeline?.edited(s);
      this.bps.resyncData();
      response.body = { bytesWritten: n };
      this.sendResponse(response);
      this.sendEvent(new InvalidatedEvent(['variables']));
    } catch (e) {
      this.fail(response, e);
    }
  }

  // ---- display ------------------------------------------------------------------------------------

  /** `xsave/toggleHex`: numbers in hex (default) or decimal; masks keep their decoded names. */
  protected override customRequest(command: string, response: DebugProtocol.Response, args: unknown): void {
    if (command === 'xsave/toggleHex' || command === 'xsave/setFormat') {
      const want = (args as { hex?: boolean } | undefined)?.hex;
      this.vars.decimal = command === 'xsave/setFormat' && typeof want === 'boolean' ? !want : !this.vars.decimal;
      response.body = { hex: !this.vars.decimal };
      this.sendResponse(response);
      this.sendEvent(new InvalidatedEvent(['variables']));
      return;
    }
    // The pictures (layout view, run timeline): custom requests any DAP client can send.
    if (command === 'xsave/layout') { this.layoutRequest(response, args as { area?: string; format?: 'standard' | 'compacted'; threadId?: number }); return; }
    if (command === 'xsave/timeline') { this.timelineRequest(response, args as TimelineArguments); return; }
    if (command === 'xsave/travel') { this.travelRequest(response, args as { step: number }); return; }
    this.fail(response, new RequestError(ERR.badReference, `unknown request '${command}'`));
  }

  // ---- pictures: the layout view and the run timeline -------------------------------------------

  /** `xsave/layout`: an XSAVE area's blocks at their offsets (src/debug/layout-view.ts). */
  private layoutRequest(response: DebugProtocol.Response, args: { area?: string; format?: 'standard' | 'compacted'; threadId?: number }): void {
    try {
      const e = this.need();
      const thread = args.threadId !== undefined ? args.threadId - 1 : e.currentThread()?.id ?? null;
      if (thread !== null && !e.state.threads[thread]) throw new RequestError(ERR.badArguments, `xsave/layout: no thread ${args.threadId}`);
      response.body = buildLayout(e, { ...(args.area !== undefined ? { area: args.area } : {}), ...(args.format ? { format: args.format } : {}), thread });
      this.sendResponse(response);
    } catch (e) {
      this.fail(response, e instanceof LayoutError ? new RequestError(ERR.badArguments, `xsave/layout: ${e.message}`) : e);
    }
  }

  /** `xsave/timeline`: a window of the run's timeline (src/sim/timeline.ts), with the position now. */
  private timelineRequest(response: DebugProtocol.Response, args: TimelineArguments): void {
    try {
      this.need();
      response.body = timelineWindow(this.timeline!, args, this.history!.position);
      this.sendResponse(response);
    } catch (e) {
      this.fail(response, e instanceof TimelineError ? new RequestError(ERR.badArguments, e.message.startsWith('xsave/') ? e.message : `xsave/timeline: ${e.message}`) : e);
    }
  }

  /** `xsave/travel`: to any step the run has recorded, before or after this one; then a stop there. */
  private travelRequest(response: DebugProtocol.Response, args: { step: number }): void {
    if (!this.ready(response)) return;
    const e = this.engine!;
    let decision: StopDecision | null;
    this.reversing = true;
    try {
      decision = travelTo(e, this.history!, args.step, this.timeline!.end, () => this.stepOnce(true).stop);
    } catch (err) {
      this.reversing = false;
      this.fail(response, err instanceof TravelRefused ? new RequestError(ERR.badArguments, err.message) : err);
      return;
    }
    response.body = { position: e.state.steps };
    this.sendResponse(response);
    try {
      this.traceSent = e.state.trace.length;
      if (this.groupOpen) { this.sendEvent(groupEnd()); this.groupOpen = false; }
      this.groupContinues = false;
      // What held at the step that arrived there (an exception filter) is the stop; else a goto.
      this.reportStop(decision?.exception ? decision : { reason: 'goto', description: `step ${args.step}` });
    } catch (err) {
      this.internalError(err);
    } finally {
      this.reversing = false;
    }
  }

  // ---- running ------------------------------------------------------------------------------------

  protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
    if (!this.ready(response)) return;
    response.body = { allThreadsContinued: true };
    this.sendResponse(response);
    void this.resume('continue');
  }

  protected override nextRequest(response: DebugProtocol.NextResponse): void {
    if (!this.ready(response)) return;
    this.sendResponse(response);
    void this.resume('over');
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse): void {
    if (!this.ready(response)) return;
    this.sendResponse(response);
    void this.resume('in');
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse): void {
    if (!this.ready(response)) return;
    this.sendResponse(response);
    void this.resume('out');
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.sendResponse(response);
    if (this.running) this.pauseRequested = true;
  }

  static {
    capability({ supportsStepBack: true });
  }
  protected override stepBackRequest(response: DebugProtocol.StepBackResponse): void {
    if (!this.ready(response)) return;
    this.sendResponse(response);
    this.reverse('step');
  }

  static {
    capability({ supportsRestartFrame: true });
  }
  /**
   * Restart a frame: back in time to the statement where the frame was entered (the last position
   * before now at which the thread had no frame at that depth, then one step), as a step back
   * does; the machine replays from there. The [VM entry] label and the outermost frame of a thread
   * (its entry at the start of the run) go back to where they began too.
   */
  protected override restartFrameRequest(response: DebugProtocol.RestartFrameResponse, args: DebugProtocol.RestartFrameArguments): void {
    if (!this.ready(response)) return;
    let target: { th: ThreadState; depth: number };
    try {
      const { th, frame } = this.frame(args.frameId);
      target = { th, depth: frame };
    } catch (e) {
      this.fail(response, e);
      return;
    }
    this.sendResponse(response);
    this.reversing = true;
    try {
      const e = this.engine!;
      const h = this.history!;
      const id = target.th.id;
      const before = h.lastMatching(h.position, () => {
        this.stepOnce(true);
        return e.state.threads[id]!.frames.length <= target.depth;
      });
      h.travel(before === null ? h.start : before + 1, () => { this.stepOnce(true); });
      this.traceSent = e.state.trace.length;
      if (this.groupOpen) { this.sendEvent(groupEnd()); this.groupOpen = false; }
      this.groupContinues = false;
      this.reportStop({ reason: 'restart', description: 'frame restarted' });
    } catch (err) {
      this.internalError(err);
    } finally {
      this.reversing = false;
    }
  }

  protected override reverseContinueRequest(response: DebugProtocol.ReverseContinueResponse): void {
    if (!this.ready(response)) return;
    this.sendResponse(response);
    this.reverse('continue');
  }

  /** Whether a run request can start now; if not, the response is an error. */
  private ready(response: DebugProtocol.Response): boolean {
    if (!this.engine) { this.fail(response, notLaunched()); return false; }
    if (this.running) { this.fail(response, new RequestError(ERR.busy, 'the machine is running: pause it first')); return false; }
    return true;
  }

  /** One forward step with its bookkeeping: history checkpoint, then the breakpoints' decision. */
  private stepOnce(quiet: boolean): { h: Happening[]; stop: StopDecision | null } {
    const e = this.engine!;
    const h = e.step();
    this.history!.afterStep();
    this.timeline?.record(e.state, h);
    // Run without debugging (noDebug): no breakpoint stops; the run ends or hits its budget.
    if (this.args?.noDebug) return { h, stop: null };
    const stop = this.bps.check(e, h, this.contextFn, quiet ? QUIET : this.logFn);
    return { h, stop };
  }

  private async resume(mode: Mode): Promise<void> {
    const e = this.engine!;
    const budget = this.args?.maxSteps ?? 1_000_000;
    const th = mode === 'continue' || mode === 'entry' ? null : e.currentThread();
    const depth = th?.frames.length ?? 0;
    const id = ++this.runId;
    this.running = true;
    this.pauseRequested = false;
    let taken = 0;
    try {
      for (;;) {
        const sliceEnd = Date.now() + SLICE_MS;
        for (let k = 0; ; k++) {
          if (this.runId !== id || this.engine !== e) return; // disconnected or restarted meanwhile
          const before = e.state.nextAddr;
          const { h, stop } = this.stepOnce(false);
          taken += 1 + allocationSteps(before, e.state.nextAddr);
          const end = h.find((x): x is Extract<Happening, { kind: 'end' | 'error' | 'oops' }> => x.kind === 'end' || x.kind === 'error' || x.kind === 'oops');
          if (end) { this.ended(end); return; }
          if (stop) { this.reportStop(stop); return; }
          if (mode === 'entry' && this.inScenario()) { this.reportStop({ reason: 'entry' }); return; }
          if (th && this.stepDone(mode, th, depth)) { this.reportStop({ reason: 'step' }); return; }
          if (taken >= budget) {
            this.sendEvent(new OutputEvent(`the step budget of ${budget} statements ran out (launch attribute maxSteps)\n`, 'stderr'));
            this.reportStop({ reason: 'pause', description: 'step budget exhausted' });
            return;
          }
          if ((k & 255) === 255 && Date.now() >= sliceEnd) break;
        }
        this.flushTrace();
        await new Promise<void>((r) => setImmediate(r));
        if (this.runId !== id) return;
        if (this.pauseRequested) { this.reportStop({ reason: 'pause' }); return; }
      }
    } catch (err) {
      if (this.runId === id) this.internalError(err);
    } finally {
      if (this.runId === id) this.running = false;
    }
  }

  /** A defect of the adapter or the engine: reported and stopped on, never a crashed adapter. */
  private internalError(err: unknown): void {
    const text = `internal error (please report it): ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
    this.sendEvent(new OutputEvent(`${text}\n`, 'stderr'));
    this.reportStop({ reason: 'exception', text, description: 'internal error', exception: { exceptionId: 'internal error', description: text, details: text } });
  }

  /** Whether a step request is done: the stepping thread is back at a statement of the right depth. */
  private stepDone(mode: Mode, th: ThreadState, depth: number): boolean {
    const s = this.engine!.state;
    if (th.status === 'exited' || th.status === 'killed') return true;
    if (s.lastThread !== th.id || th.pendingFault) return false;
    switch (mode) {
      case 'in': return true;
      case 'over': return th.frames.length <= depth;
      case 'out': return th.frames.length < depth;
      default: return false;
    }
  }

  /**
   * Step back (the last earlier position where the stepping thread stood at a statement of the same
   * or a shallower frame, or any breakpoint held) and reverse continue (the last earlier position
   * where a breakpoint held; else the start).
   */
  private reverse(mode: 'step' | 'continue'): void {
    this.reversing = true;
    try {
      this.reverseUnguarded(mode);
    } catch (err) {
      this.internalError(err);
    } finally {
      this.reversing = false;
    }
  }

  private reverseUnguarded(mode: 'step' | 'continue'): void {
    const e = this.engine!;
    const h = this.history!;
    const here = h.position;
    const th = e.currentThread();
    const depth = th?.frames.length ?? 0;
    let decision: StopDecision | null = null;
    const decisions = new Map<number, StopDecision>();
    const found = h.lastMatching(here, () => {
      const { stop } = this.stepOnce(true);
      if (stop) { decisions.set(e.state.steps, stop); return true; }
      if (mode === 'step' && th) {
        const t = e.state.threads[th.id]!;
        return e.state.lastThread === th.id && t.frames.length > 0 && t.frames.length <= depth && !t.pendingFault;
      }
      return false;
    });
    const target = found ?? h.start;
    h.travel(target, () => { this.stepOnce(true); });
    decision = found !== null ? decisions.get(found) ?? null : null;
    this.traceSent = e.state.trace.length;
    if (this.groupOpen) { this.sendEvent(groupEnd()); this.groupOpen = false; }
    this.groupContinues = false;
    this.reportStop(decision ?? { reason: found === null ? 'entry' : 'step' });
  }

  private ended(h: Extract<Happening, { kind: 'end' | 'error' | 'oops' }>): void {
    this.flushTrace();
    if ((h.kind === 'error' || h.kind === 'oops') && !this.args?.noDebug) {
      this.sendEvent(new OutputEvent(`${h.text}\n`, 'stderr'));
      this.reportStop({
        reason: 'exception', text: h.text, description: h.kind === 'oops' ? 'kernel oops' : 'scenario error',
        exception: { exceptionId: h.kind === 'oops' ? 'oops' : 'scenario error', description: h.text, details: h.text },
      });
      return;
    }
    const s = this.engine!.state;
    if (h.kind !== 'end') this.sendEvent(new OutputEvent(`${h.text}\n`, 'stderr'));
    for (const v of s.violations) {
      this.sendEvent(new OutputEvent(`${v.where}: ${v.deviation ? 'known deviation' : 'invariant violated'}: ${v.name}: ${v.text}\n`, v.deviation ? 'console' : 'stderr'));
    }
    for (const a of s.failedAssertions) this.sendEvent(new OutputEvent(`${a.file}:${a.line}:${a.column}: assertion failed: ${a.message}\n`, 'stderr'));
    this.sendEvent(new OutputEvent(
      `${h.kind === 'end' ? h.text : 'ended'}: ${s.passedAssertions} assertion(s) held, ${s.failedAssertions.length} failed; ${s.violations.filter((v) => !v.deviation).length} invariant violation(s)\n`,
      'console'));
    this.sendEvent(new TerminatedEvent());
  }

  private reportStop(d: StopDecision | { reason: 'entry' | 'step' | 'pause' | 'restart' | 'goto'; description?: string }): void {
    this.flushTrace();
    // No group stays open while stopped: the Debug Console's answers (evaluate) go at top level,
    // not inside a collapsed VM entry; the entry's later lines open a "continued" group.
    if (this.groupOpen) {
      this.sendEvent(groupEnd());
      this.groupOpen = false;
      this.groupContinues = true;
    }
    this.vars.reset();
    this.lastStop = 'exception' in d ? d as StopDecision : null;
    const th = this.engine?.currentThread();
    const ev = new StoppedEvent(d.reason, (th?.id ?? 0) + 1, 'text' in d ? d.text : undefined) as DebugProtocol.StoppedEvent;
    ev.body.allThreadsStopped = true;
    if (d.description) ev.body.description = d.description;
    if ('hitBreakpointIds' in d && d.hitBreakpointIds) ev.body.hitBreakpointIds = d.hitBreakpointIds;
    this.sendEvent(ev);
    // With the stop on its way: keep this state, and fine checkpoints behind it, so that a step back
    // from here replays a few dozen statements at any depth (History.atStop).
    if (this.history && this.engine) {
      try {
        this.history.atStop(() => { this.stepOnce(true); }, this.reversing);
      } catch (err) {
        this.sendEvent(new OutputEvent(`time travel: could not keep this stop (${err instanceof Error ? err.message : String(err)}); step back replays from an older checkpoint\n`, 'stderr'));
      }
    }
  }

  private logpoint(text: string, th: ThreadState): void {
    const e = this.engine!;
    const top = th.frames[th.frames.length - 1];
    const fn = top ? e.fn(top) : null;
    const ev = new OutputEvent(`${text}\n`, 'console') as DebugProtocol.OutputEvent;
    if (fn && top) {
      const st = fn.stmts[e.stmtOf(top)];
      ev.body.source = new Source(basename(fn.file), fn.file);
      if (st) ev.body.line = st.range.start.line;
    }
    this.sendEvent(ev);
  }

  /** The hardware trace to the Debug Console, each VM entry..exit as a collapsible group. */
  private flushTrace(): void {
    const e = this.engine;
    if (!e || this.args?.trace === false) return;
    const t = e.state.trace;
    for (; this.traceSent < t.length; this.traceSent++) {
      const x = t[this.traceSent]!;
      const line = `[${x.step}] ${x.text}`;
      if (x.kind === 'vmentry') {
        if (this.groupOpen) this.sendEvent(groupEnd());
        const ev = new OutputEvent(`${line}\n`, 'stdout') as DebugProtocol.OutputEvent;
        ev.body.group = 'startCollapsed';
        this.sendEvent(ev);
        this.groupOpen = true;
        this.groupContinues = false;
        continue;
      }
      if (this.groupContinues) {
        const ev = new OutputEvent(`[${x.step}] VM entry continued\n`, 'stdout') as DebugProtocol.OutputEvent;
        ev.body.group = 'startCollapsed';
        this.sendEvent(ev);
        this.groupOpen = true;
        this.groupContinues = false;
      }
      this.sendEvent(new OutputEvent(`${line}\n`, 'stdout'));
      if (x.kind === 'vmexit' && this.groupOpen) { this.sendEvent(groupEnd()); this.groupOpen = false; }
    }
  }

  // ---- helpers ------------------------------------------------------------------------------------

  private need(): Engine {
    if (!this.engine) throw notLaunched();
    return this.engine;
  }

  /** Lines of `path` on which a statement starts, or null if the program does not include the file. */
  private statementLines(path: string): Set<number> | null {
    const e = this.engine;
    if (!e) return null;
    const lines = new Set<number>();
    let seen = false;
    for (const f of e.program.functions) {
      for (const s of f.stmts) {
        if (s.file === path) { seen = true; lines.add(s.range.start.line); }
      }
    }
    return seen ? lines : null;
  }

  private frame(frameId: number): { th: ThreadState; frame: number } {
    const e = this.need();
    const th = e.state.threads[Math.floor(frameId / FRAME_STRIDE)];
    const frame = frameId % FRAME_STRIDE;
    if (!th || !Number.isInteger(frameId) || frameId < 0 || !th.frames[frame]) {
      throw new RequestError(ERR.badFrame, `no frame ${frameId} (frame ids are valid until the next stop)`);
    }
    return { th, frame };
  }

  /** The expression context of a frame, or of the stopped thread's top frame. */
  private context(frameId: number | undefined): ExprContext {
    const e = this.need();
    if (frameId !== undefined) {
      const { th, frame } = this.frame(frameId);
      return this.contextOf(th, frame);
    }
    const th = e.currentThread();
    if (!th) return { state: e.state, program: e.program, cpu: 0, thread: null, locals: null, guest: false };
    return this.contextOf(th, th.frames.length - 1);
  }

  private contextOf(th: ThreadState, frame: number, bindings?: ReadonlyMap<string, Value>): ExprContext {
    const e = this.engine!;
    const f = th.frames[frame];
    const fn = f ? e.fn(f) : null;
    return {
      state: e.state, program: e.program, cpu: th.cpu, thread: th,
      locals: f && fn ? { names: fn.locals, values: f.locals } : null,
      guest: fn?.context === 'guest',
      ...(bindings ? { bindings } : {}),
    };
  }

  /** The context a variables reference's children are evaluated in (its frame, for locals). */
  private contextForRef(ref: number): ExprContext {
    const r = this.vars.get(ref);
    if (r?.kind === 'locals') {
      const th = this.engine!.state.threads[r.thread];
      if (th) return this.contextOf(th, r.frame);
    }
    return this.context(undefined);
  }

  /** The slot behind `name` under a variables reference, or behind the expression `name`. */
  private slotOf(ref: number | undefined, name: string, frameId?: number): Slot | null {
    this.need();
    if (ref === undefined || ref === 0) {
      const ctx = this.context(frameId);
      return slotOfPlace(placeOf(parseDebugExpression(name), ctx), ctx);
    }
    const r = this.vars.get(ref);
    if (!r) throw new RequestError(ERR.badReference, `no variables reference ${ref} (references are valid until the next stop)`);
    const child = this.vars.children(r).find((c) => c.variable.name === name);
    if (!child) throw new RequestError(ERR.badReference, `no variable '${name}' here`);
    return child.slot;
  }

  /** An error response; `showUser` for the failures a person must see (launch, restart), not for a client's lookups. */
  private fail(response: DebugProtocol.Response, e: unknown, showUser = false): void {
    const id = e instanceof RequestError ? e.id : e instanceof ExpressionError ? ERR.expression : e instanceof EditRefused ? ERR.edit : 2999;
    const message = e instanceof Error ? e.message : String(e);
    this.sendErrorResponse(response, { id, format: message.replace(/\{/g, '{{').replace(/\}/g, '}}'), showUser });
  }
}

/** A logpoint during replay (step back, reverse continue) prints nothing: it printed when it ran. */
const QUIET = (): void => {};

/** A memory reference, with `offset` added still a 64-bit address (or a byte of a register image). */
function memoryRef(text: string, offset: number): MemoryRef {
  const ref = parseMemoryRef(text);
  if (!ref) throw new RequestError(ERR.memory, `memory reference '${text}': expected 0xADDRESS or cpuN/COMPONENT+0xOFFSET`);
  const at = ref.kind === 'mem' ? ref.addr + BigInt(offset) : BigInt(ref.offset + offset);
  if (at < 0n || at >= 1n << 64n) throw new RequestError(ERR.memory, `memory reference '${text}' + ${offset}: not an address (0 to 0xffffffffffffffff)`);
  return ref;
}

function notLaunched(): RequestError {
  return new RequestError(ERR.notLaunched, 'no scenario is running: launch one first');
}

function groupEnd(): DebugProtocol.OutputEvent {
  const ev = new OutputEvent('', 'stdout') as DebugProtocol.OutputEvent;
  ev.body.group = 'end';
  return ev;
}

function slotOfPlace(p: Place, ctx: ExprContext): Slot {
  switch (p.kind) {
    case 'local': {
      const th = ctx.thread!;
      const frame = th.frames.findIndex((f) => f.locals === ctx.locals?.values);
      return { kind: 'local', thread: th.id, frame, index: p.index };
    }
    case 'register': return { kind: 'register', cpu: p.cpu, name: p.name };
    case 'field': return { kind: 'field', object: p.object, field: p.field };
  }
}

/** A data breakpoint's id: the same place gets the same id in every run of the scenario. */
function dataIdOf(slot: Slot, e: Engine): string | null {
  switch (slot.kind) {
    case 'register': return slot.name === 'CR0.TS' ? null : `cpu${slot.cpu}.${slot.name}`;
    case 'field': return `${e.state.heap[slot.object]!.type}#${slot.object}.${slot.field}`;
    case 'bytes': return `${formatMemoryRef(slot.mem)}:${slot.size}`;
    case 'local': return null;
  }
}
