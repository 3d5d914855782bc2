// The debug adapter: Debug Adapter Protocol requests translated to calls of the debugger runtime
// (src/runtime/runtime.ts, which owns the machine, its history, the breakpoints and every
// run-control verb), and the runtime's events translated to DAP events. It knows nothing of VS Code;
// it runs inline in the extension host or as `node dist/adapter.js` over stdio for any DAP client.
// What is DAP's alone lives here: frame ids, variables references (the Variables view,
// variables.ts), error ids, capabilities. Each handler sits under the `static { capability(...) }`
// block that declares what it implements, and the initialize response is assembled from those
// blocks.
import {
  DebugSession, ErrorDestination, Event, InitializedEvent, InvalidatedEvent, OutputEvent, ProgressEndEvent, ProgressStartEvent, ProgressUpdateEvent,
  Response, Source, StackFrame, StoppedEvent, TerminatedEvent, Thread,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { basename } from 'node:path';
import { type ExprContext, ExpressionError, REGISTER_NAMES, evaluate, parseDebugExpression, placeOf } from '../sim/expression';
import type { ThreadState } from '../sim/machine';
import type { Value } from '../sim/value';
import { EXCEPTION_FILTERS } from '../runtime/breakpoints';
import { EditRefused } from '../runtime/edits';
import { RuntimeError, type RuntimeErrorKind, notLaunched } from '../runtime/errors';
import type { RuntimeEvent } from '../runtime/events';
import { DebugRuntime } from '../runtime/runtime';
import { type Slot, slotOfPlace } from '../runtime/slots';
import type { TimelineArguments } from '../runtime/timeline-view';
import { BatchedWriter } from './batched-writer';
import { capabilities, capability } from './capabilities';
import { validateRequest } from './request-validation';
import { VariableTree } from './variables';

export interface XsaveLaunchArguments extends DebugProtocol.LaunchRequestArguments {
  /** The scenario file. */
  program: string;
  /** Overrides the scenario's `policy` line: a shipped name or a .xsave file (relative: from the scenario's folder). */
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

/** A frame id is thread * FRAME_STRIDE + the frame's index in the thread (valid until the next stop). */
const FRAME_STRIDE = 1000;

/** Error ids of the responses (the message says what to do). */
const ERR = {
  notLaunched: 2001, badFrame: 2002, badReference: 2003, expression: 2004, edit: 2005, launch: 2006, busy: 2007, memory: 2008,
  badArguments: 2009, internal: 2999,
} as const;

const RUNTIME_ERRORS: Readonly<Record<RuntimeErrorKind, number>> = {
  notLaunched: ERR.notLaunched, busy: ERR.busy, launch: ERR.launch, badFrame: ERR.badFrame, badReference: ERR.badReference, memory: ERR.memory,
  badArguments: ERR.badArguments,
};

class RequestError extends Error {
  constructor(readonly id: number, message: string) {
    super(message);
  }
}

// DebugSession, not LoggingDebugSession: the latter turns every message into JSON a second time
// for a log nobody set up (bench/dap.mjs measured it as the largest cost of a variables request
// after the pipe write itself).
export class XsaveDebugSession extends DebugSession {
  private readonly runtime = new DebugRuntime((e) => this.onRuntimeEvent(e));
  private readonly vars = new VariableTree(() => this.runtime.engine);
  private configured!: () => void;
  private readonly configurationDone = new Promise<void>((r) => (this.configured = r));
  private clientProgress = false;
  /** Over stdio (not inline in the extension host): the output, one write per request (batched-writer.ts). */
  private writer: BatchedWriter | null = null;

  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
    // What the protocol layer reports (a message that is not JSON, a stream error): one line on
    // stderr, which a client shows as the adapter's log; the session goes on.
    this.on('error', (e: DebugProtocol.Event) => process.stderr.write(`xsave-debug adapter: ${String(e.body).split('\n')[0]}\n`));
  }

  // ---- runtime events -----------------------------------------------------------------------------

  private onRuntimeEvent(e: RuntimeEvent): void {
    switch (e.type) {
      case 'stopped': {
        // Old variables references must not name new things.
        this.vars.reset();
        const s = e.stop;
        const ev = new StoppedEvent(s.reason, s.thread + 1, s.text) as DebugProtocol.StoppedEvent;
        ev.body.allThreadsStopped = true;
        if (s.description) ev.body.description = s.description;
        if (s.hitBreakpointIds) ev.body.hitBreakpointIds = [...s.hitBreakpointIds];
        this.sendEvent(ev);
        // Out now, with the response before it: the runtime keeps this state for time travel
        // after emitting the stop (History.atStop), while the client reads it.
        this.writer?.flush();
        return;
      }
      case 'output': {
        const ev = new OutputEvent(e.group === 'end' ? e.text : `${e.text}\n`, e.category) as DebugProtocol.OutputEvent;
        if (e.group) ev.body.group = e.group;
        if (e.source) {
          ev.body.source = new Source(basename(e.source.path), e.source.path);
          if (e.source.line !== undefined) ev.body.line = e.source.line;
        }
        this.sendEvent(ev);
        return;
      }
      case 'terminated':
        this.sendEvent(new TerminatedEvent());
        return;
      case 'counterexample':
        this.sendEvent(new Event('xsave/counterexample', { path: e.path, invariant: e.invariant, where: e.where }));
        return;
      case 'progress': {
        if (!this.clientProgress) return;
        if (e.phase === 'start') {
          const ev = new ProgressStartEvent('explore', e.title, basename(e.file)) as DebugProtocol.ProgressStartEvent;
          ev.body.cancellable = true;
          this.sendEvent(ev);
        } else if (e.phase === 'update') {
          const ev = new ProgressUpdateEvent('explore', e.message) as DebugProtocol.ProgressUpdateEvent;
          if (e.percentage !== undefined) ev.body.percentage = e.percentage;
          this.sendEvent(ev);
        } else {
          this.sendEvent(new ProgressEndEvent('explore'));
        }
        return;
      }
    }
  }

  // ---- lifecycle ----------------------------------------------------------------------------------

  override start(inStream: NodeJS.ReadableStream, outStream: NodeJS.WritableStream): void {
    this.writer = new BatchedWriter(outStream);
    super.start(inStream, this.writer as unknown as NodeJS.WritableStream);
  }

  /** The one place requests come in: arguments are checked against the protocol's schema first. */
  protected override dispatchRequest(request: DebugProtocol.Request): void {
    if (this.writer) this.writer.batch(() => this.dispatchChecked(request));
    else this.dispatchChecked(request);
  }

  private dispatchChecked(request: DebugProtocol.Request): void {
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
    try {
      await this.runtime.launch(args);
    } catch (e) {
      // A launch that fails (a scenario with errors, a file that cannot be read) is the user's to
      // see: VS Code shows an error response with showUser in a notification.
      this.fail(response, e, true);
      return;
    }
    this.sendResponse(response);
    await this.configurationDone;
    this.runtime.start();
  }

  static {
    capability({ supportsCancelRequest: true });
  }
  /** Cancels the exploration of a launch with `explore: true` (its progress is cancellable). */
  protected override cancelRequest(response: DebugProtocol.CancelResponse, args: DebugProtocol.CancelArguments): void {
    if (args.progressId === 'explore') this.runtime.cancelExplore();
    this.sendResponse(response);
  }

  static {
    capability({ supportsRestartRequest: true });
  }
  protected override restartRequest(response: DebugProtocol.RestartResponse, args: DebugProtocol.RestartArguments): void {
    try {
      this.runtime.restart(args.arguments as XsaveLaunchArguments | undefined);
    } catch (e) {
      // Nothing launched is the client's mistake; a scenario that no longer loads is the user's to see.
      this.fail(response, e, !(e instanceof RuntimeError && e.kind === 'notLaunched'));
      return;
    }
    this.sendResponse(response);
    this.runtime.start();
  }

  static {
    capability({ supportsTerminateRequest: true });
  }
  protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
    this.runtime.terminate();
    this.sendResponse(response);
    this.sendEvent(new TerminatedEvent());
  }

  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse): void {
    this.runtime.disconnect();
    this.sendResponse(response);
  }

  // ---- breakpoints --------------------------------------------------------------------------------

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    const bps = args.breakpoints ?? (args.lines ?? []).map((line) => ({ line }));
    response.body = { breakpoints: this.runtime.setLineBreakpoints(args.source.path ?? '', bps) };
    this.sendResponse(response);
  }

  static {
    capability({ supportsBreakpointLocationsRequest: true });
  }
  /** Where a breakpoint can stand in a range of lines: the start of every statement there. */
  protected override breakpointLocationsRequest(response: DebugProtocol.BreakpointLocationsResponse, args: DebugProtocol.BreakpointLocationsArguments): void {
    response.body = { breakpoints: this.runtime.breakpointLocations(args.source.path ?? '', args.line, args.endLine ?? args.line, args.column, args.endColumn) };
    this.sendResponse(response);
  }

  static {
    capability({ supportsLoadedSourcesRequest: true });
  }
  /** Every file the program was compiled from: the scenario, its imports, its policy and the kernel. */
  protected override loadedSourcesRequest(response: DebugProtocol.LoadedSourcesResponse): void {
    response.body = { sources: this.runtime.loadedFiles().map((f) => new Source(basename(f), f) as DebugProtocol.Source) };
    this.sendResponse(response);
  }

  static {
    capability({ supportsConditionalBreakpoints: true, supportsHitConditionalBreakpoints: true, supportsLogPoints: true });
  }
  // (conditions, hit conditions and log messages are parsed when set, evaluated by the runtime's Breakpoints.check)

  static {
    capability({ supportsFunctionBreakpoints: true });
  }
  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    response.body = { breakpoints: this.runtime.setFunctionBreakpoints(args.breakpoints) };
    this.sendResponse(response);
  }

  static {
    capability({ exceptionBreakpointFilters: [...EXCEPTION_FILTERS], supportsExceptionFilterOptions: true, supportsExceptionOptions: false });
  }
  protected override setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse, args: DebugProtocol.SetExceptionBreakpointsArguments): void {
    response.body = { breakpoints: this.runtime.setExceptionFilters(args.filters, args.filterOptions) };
    this.sendResponse(response);
  }

  static {
    capability({ supportsExceptionInfoRequest: true });
  }
  protected override exceptionInfoRequest(response: DebugProtocol.ExceptionInfoResponse): void {
    const x = this.runtime.lastStop?.exception;
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
      const id = slot ? this.runtime.dataIdOf(slot) : null;
      response.body = id
        ? { dataId: id, description: `${args.name} (${id})`, accessTypes: ['write'], canPersist: true }
        : { dataId: null, description: slot?.kind === 'local' ? 'a local lives only as long as its frame: watch a register, an MSR or a field' : `'${args.name}' cannot be watched` };
      this.sendResponse(response);
    } catch (e) {
      this.fail(response, e);
    }
  }

  protected override setDataBreakpointsRequest(response: DebugProtocol.SetDataBreakpointsResponse, args: DebugProtocol.SetDataBreakpointsArguments): void {
    response.body = { breakpoints: this.runtime.setDataBreakpoints(args.breakpoints) };
    this.sendResponse(response);
  }

  // ---- threads and frames -------------------------------------------------------------------------

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    const threads = this.runtime.threads().map((t) => new Thread(t.id + 1, t.name));
    response.body = { threads: threads.length ? threads : [new Thread(1, 'machine')] };
    this.sendResponse(response);
  }

  static {
    capability({ supportsDelayedStackTraceLoading: true });
  }
  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    if (!this.runtime.engine) { this.fail(response, notLaunched()); return; }
    const shown = this.runtime.stack(args.threadId - 1);
    if (!shown) { response.body = { stackFrames: [], totalFrames: 0 }; this.sendResponse(response); return; }
    const frames = shown.map((f): DebugProtocol.StackFrame => {
      const id = (args.threadId - 1) * FRAME_STRIDE + f.depth;
      if (f.kind === 'label') {
        const label = new StackFrame(id, f.name) as DebugProtocol.StackFrame;
        label.presentationHint = 'label';
        return label;
      }
      const frame = new StackFrame(id, f.name, new Source(basename(f.file), f.file), f.line, f.column) as DebugProtocol.StackFrame;
      if (f.endLine !== undefined) { frame.endLine = f.endLine; frame.endColumn = f.endColumn; }
      return frame;
    });
    const start = args.startFrame ?? 0;
    const levels = args.levels || frames.length;
    response.body = { stackFrames: frames.slice(start, start + levels), totalFrames: frames.length };
    this.sendResponse(response);
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    try {
      const { th, frame } = this.frame(args.frameId);
      response.body = { scopes: this.vars.scopes(th, frame, this.runtime.lastStop?.vmexit ?? null) };
      this.sendResponse(response);
    } catch (e) {
      this.fail(response, e);
    }
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    if (!this.runtime.engine) { this.fail(response, notLaunched()); return; }
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
      response.body = { value: this.write(slot, args.value, this.contextForRef(args.variablesReference)) };
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
      response.body = { value: this.write(slotOfPlace(placeOf(parseDebugExpression(args.expression), ctx), ctx), args.value, ctx) };
      this.sendResponse(response);
      this.sendEvent(new InvalidatedEvent(['variables']));
    } catch (e) {
      this.fail(response, e);
    }
  }

  /** An edit through the runtime, answered with the new value as the Variables view shows it. */
  private write(slot: Slot, text: string, ctx: ExprContext): string {
    return this.show(slot, this.runtime.edit(slot, text, ctx));
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
      const { prefix, items } = this.runtime.completions(args.text, args.column, this.context(args.frameId));
      response.body = { targets: items.map((i) => ({ label: i.label, type: i.type, length: prefix.length })) };
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
      const r = this.runtime.readMemory(args.memoryReference, args.offset ?? 0, args.count);
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
      const n = this.runtime.writeMemory(args.memoryReference, args.offset ?? 0, new Uint8Array(Buffer.from(args.data, 'base64')));
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
    // The pictures (src/runtime/layout-view.ts, timeline-view.ts, travel.ts): custom requests any DAP client can send.
    if (command === 'xsave/layout' || command === 'xsave/timeline' || command === 'xsave/travel') { this.pictureRequest(command, response, args); return; }
    this.fail(response, new RequestError(ERR.badReference, `unknown request '${command}'`));
  }

  /** `xsave/layout`, `xsave/timeline`, `xsave/travel` (arguments checked in request-validation.ts); a travel's stop follows its response. */
  private pictureRequest(command: string, response: DebugProtocol.Response, args: unknown): void {
    try {
      if (command === 'xsave/layout') {
        const a = args as { area?: string; format?: 'standard' | 'compacted'; threadId?: number };
        if (a.threadId !== undefined && !this.runtime.threads().some((t) => t.id === a.threadId! - 1)) throw new RuntimeError('badArguments', `no thread ${a.threadId}`);
        response.body = this.runtime.layout({ ...(a.area !== undefined ? { area: a.area } : {}), ...(a.format ? { format: a.format } : {}), ...(a.threadId !== undefined ? { thread: a.threadId - 1 } : {}) });
      } else if (command === 'xsave/timeline') {
        response.body = this.runtime.timelineWindow(args as TimelineArguments);
      } else {
        const { step } = args as { step: number };
        this.runtime.checkTravel(step);
        response.body = { position: step };
        this.sendResponse(response);
        this.runtime.travel(step);
        return;
      }
      this.sendResponse(response);
    } catch (e) {
      this.fail(response, e instanceof RuntimeError && e.kind === 'badArguments' ? new RuntimeError('badArguments', `${command}: ${e.message}`) : e);
    }
  }

  // ---- running ------------------------------------------------------------------------------------
  // Each request is answered first, then the runtime runs: the stop it reports comes after the response.

  protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
    if (!this.ready(response)) return;
    response.body = { allThreadsContinued: true };
    this.sendResponse(response);
    void this.runtime.continue();
  }

  protected override nextRequest(response: DebugProtocol.NextResponse): void {
    if (!this.ready(response)) return;
    this.sendResponse(response);
    void this.runtime.stepOver();
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse): void {
    if (!this.ready(response)) return;
    this.sendResponse(response);
    void this.runtime.stepIn();
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse): void {
    if (!this.ready(response)) return;
    this.sendResponse(response);
    void this.runtime.stepOut();
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.sendResponse(response);
    this.runtime.pause();
  }

  static {
    capability({ supportsStepBack: true });
  }
  protected override stepBackRequest(response: DebugProtocol.StepBackResponse): void {
    if (!this.ready(response)) return;
    this.sendResponse(response);
    this.runtime.stepBack();
  }

  protected override reverseContinueRequest(response: DebugProtocol.ReverseContinueResponse): void {
    if (!this.ready(response)) return;
    this.sendResponse(response);
    this.runtime.reverseContinue();
  }

  static {
    capability({ supportsRestartFrame: true });
  }
  /** Restart a frame: back in time to where the frame was entered (DebugRuntime.restartFrame). */
  protected override restartFrameRequest(response: DebugProtocol.RestartFrameResponse, args: DebugProtocol.RestartFrameArguments): void {
    if (!this.ready(response)) return;
    let target: { th: ThreadState; frame: number };
    try {
      target = this.frame(args.frameId);
    } catch (e) {
      this.fail(response, e);
      return;
    }
    this.sendResponse(response);
    this.runtime.restartFrame(target.th.id, target.frame);
  }

  /** Whether a run request can start now; if not, the response is an error. */
  private ready(response: DebugProtocol.Response): boolean {
    try {
      this.runtime.checkReady();
      return true;
    } catch (e) {
      this.fail(response, e);
      return false;
    }
  }

  // ---- helpers ------------------------------------------------------------------------------------

  /** A frame id's thread and frame index. */
  private frame(frameId: number): { th: ThreadState; frame: number } {
    if (!this.runtime.engine) throw notLaunched();
    const frame = frameId % FRAME_STRIDE;
    const th = Number.isInteger(frameId) && frameId >= 0 ? this.runtime.frame(Math.floor(frameId / FRAME_STRIDE), frame) : null;
    if (!th) throw new RequestError(ERR.badFrame, `no frame ${frameId} (frame ids are valid until the next stop)`);
    return { th, frame };
  }

  /** The expression context of a frame, or of the stopped thread's top frame. */
  private context(frameId: number | undefined): ExprContext {
    if (frameId === undefined) return this.runtime.topContext();
    const { th, frame } = this.frame(frameId);
    return this.runtime.contextOf(th, frame);
  }

  /** The context a variables reference's children are evaluated in (its frame, for locals). */
  private contextForRef(ref: number): ExprContext {
    const r = this.vars.get(ref);
    if (r?.kind === 'locals') {
      const th = this.runtime.engine?.state.threads[r.thread];
      if (th) return this.runtime.contextOf(th, r.frame);
    }
    return this.context(undefined);
  }

  /** The slot behind `name` under a variables reference, or behind the expression `name`. */
  private slotOf(ref: number | undefined, name: string, frameId?: number): Slot | null {
    if (!this.runtime.engine) throw notLaunched();
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
    const id = e instanceof RequestError ? e.id : e instanceof RuntimeError ? RUNTIME_ERRORS[e.kind]
      : e instanceof ExpressionError ? ERR.expression : e instanceof EditRefused ? ERR.edit : ERR.internal;
    const message = e instanceof Error ? e.message : String(e);
    this.sendErrorResponse(response, { id, format: message.replace(/\{/g, '{{').replace(/\}/g, '}}'), showUser });
  }
}
