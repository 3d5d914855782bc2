// The debugger without a protocol (as vscode-mock-debug's runtime is to its session): it owns the
// machine (the engine), its time-travel history, the breakpoints and the launch options, and it
// implements every run-control verb — continue, step in/over/out, step back, reverse continue,
// restart frame, pause, restart — with the step budget — and keeps the run's timeline, which with
// the XSAVE layouts and travel to a step makes the pictures' data. What happens is told to one listener as
// plain data (events.ts): stops, console lines, the end of the run, an exploration's progress. The
// DAP session (src/debug/session.ts) only translates requests to these calls and the events to DAP;
// tests drive it directly under Node.
//
// A continue runs in slices of SLICE_MS that yield to the event loop, so pause (and any request) is
// answered while it runs; step back and reverse continue replay from checkpoints (src/sim/history).
// A launch loads the scenario through the host layer (src/host/scenario-file.ts), exploring first
// when asked (explore-first.ts).
import { formatDiagnostic } from '../lang/source';
import type { Engine, Happening } from '../sim/engine';
import { allocationSteps } from '../sim/engine';
import { type ExprContext, fieldsOf, namesInScope, parseDebugExpression, evaluate, REGISTER_NAMES } from '../sim/expression';
import type { Bounds } from '../sim/explore/options';
import { History } from '../sim/history';
import type { ThreadState } from '../sim/machine';
import type { Value } from '../sim/value';
import { loadScenarioFile } from '../host/scenario-file';
import {
  type BreakpointAux, type BreakpointState, Breakpoints, type DataBreakpointRequest, type ExceptionFilterRequest, type FunctionBreakpointRequest,
  type LineBreakpointRequest, type StopDecision,
} from './breakpoints';
import { dataIdOf, dataReader } from './data-breakpoints';
import { parseValue, writeSlot } from './edits';
import { RuntimeError, notLaunched } from './errors';
import type { RuntimeEvent, RuntimeListener, Stop, StopReason } from './events';
import { exploreFirst } from './explore-first';
import { type MemoryRef, formatMemoryRef, parseMemoryRef, readMemory, writeMemory } from './memory-references';
import type { Slot } from './slots';
import { type StepKind, type StepOrigin, frameAbsent, stepEnds } from './stepping';
import { type ConsoleLine, TraceConsole } from './trace-console';
import { type LayoutData, LayoutError, type LayoutOptions, buildLayout } from './layout-view';
import { type TimelineArguments, type TimelineBody, timelineFor, timelineWindow } from './timeline-view';
import { TravelRefused, checkTravel, travelTo } from './travel';
import { TimelineError, type TimelineRecorder } from '../sim/timeline';

export interface RuntimeOptions {
  /** The scenario file. */
  readonly program: string;
  /** Overrides the scenario's `policy` line: a shipped name or a .xsave file (relative: from the scenario's folder). */
  readonly policy?: string;
  /** Overrides the scenario's `cpu` line. */
  readonly cpu?: string;
  /** Stop at the scenario's first statement, after the kernel's boot. */
  readonly stopOnEntry?: boolean;
  /** Step budget of one continue or step (default DEFAULT_MAX_STEPS statements). */
  readonly maxSteps?: number;
  /** Print the hardware trace to the console, grouped per VM entry (default true). */
  readonly trace?: boolean;
  /** Explore interleavings first and debug the counterexample (explore-first.ts). */
  readonly explore?: boolean;
  readonly exploreBounds?: Partial<Bounds>;
  /** A folder scenarios may read besides their own folder tree. */
  readonly workspaceFolder?: string;
  /** Run without debugging: no breakpoint stops; the run ends or hits its budget. */
  readonly noDebug?: boolean;
}

/** The step budget of one run request when the launch gives none. */
export const DEFAULT_MAX_STEPS = 1_000_000;
/** Longest slice a running request takes before it yields to the event loop. */
const SLICE_MS = 10;

/** Forward run modes; 'entry' runs the kernel's boot to the scenario's first statement (stopOnEntry). */
type Mode = 'continue' | StepKind | 'entry';

/** The frames of a thread as the debugger shows them, innermost first. */
export type ShownFrame =
  | { readonly kind: 'label'; readonly depth: number; readonly name: string }
  | {
    readonly kind: 'code'; readonly depth: number; readonly name: string; readonly file: string;
    readonly line: number; readonly column: number; readonly endLine?: number; readonly endColumn?: number;
  };

export interface CompletionItem {
  readonly label: string;
  readonly type: 'property' | 'variable' | 'value';
}

export class DebugRuntime {
  private machine: Engine | null = null;
  private history: History<BreakpointAux> | null = null;
  /** The run timeline (timeline-view.ts), fed by every forward step. */
  private timeline: TimelineRecorder | null = null;
  private options: RuntimeOptions | null = null;
  private readonly bps = new Breakpoints();
  private readonly traceConsole = new TraceConsole();
  /** A step back or reverse continue is reporting its stop (History.atStop keeps less then). */
  private reversing = false;
  private running = false;
  private pauseRequested = false;
  private stopped: StopDecision | null = null;
  // Made once: the breakpoints' check runs after every step of a continue.
  private readonly contextFn = (th: ThreadState, f: number, b?: ReadonlyMap<string, Value>): ExprContext => this.contextOf(th, f, b);
  private readonly logFn = (text: string, th: ThreadState): void => this.logpoint(text, th);
  private readonly emitLine = (line: ConsoleLine): void => this.emit({ type: 'output', category: 'stdout', ...line });
  private exploring: AbortController | null = null;
  /** Which run loop owns the machine: a restart or a new run makes older loops stop quietly. */
  private runId = 0;
  private disconnected = false;

  constructor(private readonly listener: RuntimeListener) {}

  private emit(e: RuntimeEvent): void {
    this.listener(e);
  }

  private say(text: string, category: 'console' | 'stderr' = 'console'): void {
    this.emit({ type: 'output', category, text });
  }

  /** The machine, while a scenario is loaded (read it to show state; change it through edit and writeMemory). */
  get engine(): Engine | null {
    return this.machine;
  }

  /** The last stop when it was an exception stop (a filter, an assertion, an invariant, an internal error): its details. */
  get lastStop(): StopDecision | null {
    return this.stopped;
  }

  get isRunning(): boolean {
    return this.running;
  }

  // ---- lifecycle ----------------------------------------------------------------------------------

  /**
   * Loads the scenario (exploring first when asked); the machine waits at its start until start().
   * Throws RuntimeError('launch') with a message for the user.
   */
  async launch(options: RuntimeOptions): Promise<void> {
    this.disconnected = false;
    this.load(options.explore ? await this.explored(options) : options);
  }

  private async explored(options: RuntimeOptions): Promise<RuntimeOptions> {
    checkProgram(options);
    const abort = new AbortController();
    this.exploring = abort;
    let counterexample: string | null;
    try {
      counterexample = await exploreFirst(options, (e) => this.emit(e), abort.signal);
    } finally {
      this.exploring = null;
    }
    if (counterexample === null) return { ...options, explore: false };
    // The counterexample's own policy line names the policy the search used.
    const { policy: _policy, ...rest } = options;
    void _policy;
    return { ...rest, program: counterexample, explore: false, stopOnEntry: false };
  }

  /** Cancels the exploration of a launch in progress (it then debugs the scenario as written). */
  cancelExplore(): void {
    this.exploring?.abort();
  }

  /**
   * Starts the loaded machine (after the client has set its breakpoints). stopOnEntry stops at the
   * first statement of the scenario the user launched, after the kernel has booted: the boot code
   * lives in the shipped kernel files, which are not what the user opened (a breakpoint there still
   * stops in it). A scenario with no statement of its own stops where it ends, like a run.
   */
  start(): void {
    if (this.disconnected || !this.machine) return;
    if (!this.options?.stopOnEntry) void this.resume('continue');
    else if (this.inScenario()) this.reportStop({ reason: 'entry' });
    else void this.resume('entry');
  }

  /**
   * Loads the scenario again, with new options or the last ones (never exploring again: after an
   * exploration they name the counterexample); start() runs it. Any run of the old machine stops.
   */
  restart(options?: RuntimeOptions): void {
    const launch = options ?? this.options;
    if (!launch) throw new RuntimeError('notLaunched', 'restart: nothing was launched');
    this.load(launch);
  }

  /** The client ends the session: a run in progress stops at its next slice. */
  terminate(): void {
    this.pauseRequested = true;
  }

  /** The client is gone: every run stops quietly, an exploration is cancelled, the machine is dropped. */
  disconnect(): void {
    this.pauseRequested = true;
    this.disconnected = true;
    this.runId++;
    this.exploring?.abort();
    this.machine = null;
    this.history = null;
    this.timeline = null;
  }

  /** Compiles the scenario with its policy and makes a fresh machine; errors are RuntimeErrors ('launch'). */
  private load(options: RuntimeOptions): void {
    checkProgram(options);
    const loaded = loadScenarioFile({
      file: options.program, workspace: options.workspaceFolder ?? null, cpu: options.cpu,
      ...(options.policy !== undefined ? { policy: options.policy, policyOrigin: "launch attribute 'policy'" } : {}),
    });
    switch (loaded.kind) {
      case 'refused': throw new RuntimeError('launch', `launch: ${loaded.message}`);
      case 'host-cpu': throw new RuntimeError('launch', `launch: cpu "host": ${loaded.message}`);
      case 'errors': throw new RuntimeError('launch', `the scenario has errors:\n${loaded.diagnostics.map(formatDiagnostic).join('\n')}`);
      case 'loaded': break;
    }
    this.runId++; // any running loop of the previous machine stops
    this.running = false;
    this.machine = loaded.engine;
    this.options = options;
    this.traceConsole.reset();
    this.stopped = null;
    this.bps.loadAux({ hits: new Map(), last: new Map() });
    this.history = new History(loaded.engine, { save: () => this.bps.saveAux(), load: (a) => this.bps.loadAux(a) });
    this.timeline = timelineFor(loaded.engine, loaded.source);
  }

  /** Whether the thread that last ran stands on a statement of the launched scenario's own file. */
  private inScenario(): boolean {
    const e = this.machine;
    if (!e) return false;
    const s = e.state;
    const th = s.lastThread >= 0 ? s.threads[s.lastThread] : e.currentThread();
    if (!th || th.pendingFault) return false;
    const top = th.frames[th.frames.length - 1];
    const fn = top ? e.fn(top) : null;
    return fn !== null && fn !== undefined && fn.file === e.program.files[0];
  }

  // ---- run control --------------------------------------------------------------------------------

  /** Throws unless a run request can start now: a machine is loaded and not running. */
  checkReady(): Engine {
    if (!this.machine) throw notLaunched();
    if (this.running) throw new RuntimeError('busy', 'the machine is running: pause it first');
    return this.machine;
  }

  /** Runs until a breakpoint, the end, pause or the step budget. Resolves when the run has stopped. */
  continue(): Promise<void> {
    this.checkReady();
    return this.resume('continue');
  }

  /** Step over: to the next statement of this frame or a shallower one (stepping.ts). */
  stepOver(): Promise<void> {
    this.checkReady();
    return this.resume('over');
  }

  /** Step in: to the next statement the stepping thread stands on. */
  stepIn(): Promise<void> {
    this.checkReady();
    return this.resume('in');
  }

  /** Step out: to the statement after the current frame returned. */
  stepOut(): Promise<void> {
    this.checkReady();
    return this.resume('out');
  }

  /** Asks a running request to stop at its next slice (a stop with reason 'pause'). */
  pause(): void {
    if (this.running) this.pauseRequested = true;
  }

  /** One forward step with its bookkeeping: history checkpoint, then the breakpoints' decision. */
  private stepOnce(quiet: boolean): { h: Happening[]; stop: StopDecision | null } {
    const e = this.machine!;
    const h = e.step();
    const left = this.history!.afterStep();
    this.timeline?.record(e.state, h);
    // Back before an edit and forward past it without it: the recorded future is the edited run's.
    if (left) this.timeline?.edited(e.state);
    if (this.options?.noDebug) return { h, stop: null };
    const stop = this.bps.check(e, h, this.contextFn, quiet ? QUIET : this.logFn);
    return { h, stop };
  }

  private async resume(mode: Mode): Promise<void> {
    const e = this.machine!;
    const budget = this.options?.maxSteps ?? DEFAULT_MAX_STEPS;
    const th = mode === 'continue' || mode === 'entry' ? null : e.currentThread();
    const origin: StepOrigin | null = th ? { thread: th.id, depth: th.frames.length } : null;
    const id = ++this.runId;
    this.running = true;
    this.pauseRequested = false;
    let taken = 0;
    try {
      for (;;) {
        const sliceEnd = Date.now() + SLICE_MS;
        for (let k = 0; ; k++) {
          if (this.runId !== id || this.machine !== e) return; // disconnected or restarted meanwhile
          const before = e.state.nextAddr;
          const { h, stop } = this.stepOnce(false);
          taken += 1 + allocationSteps(before, e.state.nextAddr);
          const end = h.find((x): x is Extract<Happening, { kind: 'end' | 'error' | 'oops' }> => x.kind === 'end' || x.kind === 'error' || x.kind === 'oops');
          if (end) { this.ended(end); return; }
          if (stop) { this.reportStop(stop); return; }
          if (mode === 'entry' && this.inScenario()) { this.reportStop({ reason: 'entry' }); return; }
          if (origin && mode !== 'continue' && mode !== 'entry' && stepEnds(mode, origin, e.state, true)) { this.reportStop({ reason: 'step' }); return; }
          if (taken >= budget) {
            this.say(`the step budget of ${budget} statements ran out (launch attribute maxSteps)`, 'stderr');
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

  /**
   * Step back: to the last earlier position where a step over from here would have ended (the
   * stepping thread at a statement of the same or a shallower frame), or where any breakpoint held;
   * the start when there is none.
   */
  stepBack(): void {
    this.checkReady();
    this.reverse('step');
  }

  /** Reverse continue: to the last earlier position where a breakpoint held; else the start. */
  reverseContinue(): void {
    this.checkReady();
    this.reverse('continue');
  }

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
    const e = this.machine!;
    const h = this.history!;
    const here = h.position;
    const th = e.currentThread();
    const origin: StepOrigin | null = mode === 'step' && th ? { thread: th.id, depth: th.frames.length } : null;
    const decisions = new Map<number, StopDecision>();
    const found = h.lastMatching(here, () => {
      const { stop } = this.stepOnce(true);
      if (stop) { decisions.set(e.state.steps, stop); return true; }
      return origin !== null && stepEnds('over', origin, e.state, false);
    });
    const target = found ?? h.start;
    h.travel(target, () => { this.stepOnce(true); });
    const decision = found !== null ? decisions.get(found) ?? null : null;
    this.traceConsole.jumped(e.state.trace.length, this.emitLine);
    this.reportStop(decision ?? { reason: found === null ? 'entry' : 'step' });
  }

  /**
   * Restart a frame: back in time to the statement where frame `depth` of `thread` was entered (the
   * last position before now at which the thread had no frame at that depth, then one step), as a
   * step back does; the machine replays from there. The [VM entry] label and the outermost frame of
   * a thread (its entry at the start of the run) go back to where they began too.
   */
  restartFrame(thread: number, depth: number): void {
    const e = this.checkReady();
    if (!this.frame(thread, depth)) throw new RuntimeError('badFrame', `no frame ${depth} in thread ${thread}`);
    this.reversing = true;
    try {
      const h = this.history!;
      const before = h.lastMatching(h.position, () => {
        this.stepOnce(true);
        return frameAbsent(thread, depth, e.state);
      });
      const replay = (): void => { this.stepOnce(true); };
      let target = before === null ? h.start : before + 1;
      if (before === null) {
        // Nothing before now lacked the frame but, perhaps, the start itself (which lastMatching
        // does not test): a frame entered by the run's first step restarts after that step.
        h.travel(h.start, replay);
        if (frameAbsent(thread, depth, e.state)) target = h.start + 1;
      }
      h.travel(target, replay);
      this.traceConsole.jumped(e.state.trace.length, this.emitLine);
      this.reportStop({ reason: 'restart', description: 'frame restarted' });
    } catch (err) {
      this.internalError(err);
    } finally {
      this.reversing = false;
    }
  }

  /** A defect of the runtime or the engine: reported and stopped on, never a crashed debugger. */
  private internalError(err: unknown): void {
    const text = `internal error (please report it): ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
    this.say(text, 'stderr');
    this.reportStop({ reason: 'exception', text, description: 'internal error', exception: { exceptionId: 'internal error', description: text, details: text } });
  }

  /** The run reached its end, a scenario error or an oops. */
  private ended(h: Extract<Happening, { kind: 'end' | 'error' | 'oops' }>): void {
    this.flushTrace();
    if ((h.kind === 'error' || h.kind === 'oops') && !this.options?.noDebug) {
      this.say(h.text, 'stderr');
      this.reportStop({
        reason: 'exception', text: h.text, description: h.kind === 'oops' ? 'kernel oops' : 'scenario error',
        exception: { exceptionId: h.kind === 'oops' ? 'oops' : 'scenario error', description: h.text, details: h.text },
      });
      return;
    }
    const s = this.machine!.state;
    if (h.kind !== 'end') this.say(h.text, 'stderr');
    for (const v of s.violations) {
      this.say(`${v.where}: ${v.deviation ? 'known deviation' : 'invariant violated'}: ${v.name}: ${v.text}`, v.deviation ? 'console' : 'stderr');
    }
    for (const a of s.failedAssertions) this.say(`${a.file}:${a.line}:${a.column}: assertion failed: ${a.message}`, 'stderr');
    this.say(`${h.kind === 'end' ? h.text : 'ended'}: ${s.passedAssertions} assertion(s) held, ${s.failedAssertions.length} failed; ` +
      `${s.violations.filter((v) => !v.deviation).length} invariant violation(s)`);
    this.emit({ type: 'terminated' });
  }

  private reportStop(d: StopDecision | { reason: 'entry' | 'step' | 'pause' | 'restart' | 'goto'; description?: string }): void {
    this.flushTrace();
    this.traceConsole.stop(this.emitLine);
    this.stopped = 'exception' in d ? d as StopDecision : null;
    const th = this.machine?.currentThread();
    const stop: Stop = {
      reason: d.reason as StopReason, thread: th?.id ?? 0,
      ...('text' in d && d.text !== undefined ? { text: d.text } : {}),
      ...(d.description ? { description: d.description } : {}),
      ...('hitBreakpointIds' in d && d.hitBreakpointIds ? { hitBreakpointIds: d.hitBreakpointIds } : {}),
      ...('exception' in d && d.exception ? { exception: d.exception } : {}),
      ...('vmexit' in d && d.vmexit ? { vmexit: d.vmexit } : {}),
      ...('at' in d && d.at ? { at: d.at } : {}),
    };
    this.emit({ type: 'stopped', stop });
    // With the stop on its way: keep this state, and fine checkpoints behind it, so that a step back
    // from here replays a few dozen statements at any depth (History.atStop).
    if (this.history && this.machine) {
      try {
        this.history.atStop(() => { this.stepOnce(true); }, this.reversing);
      } catch (err) {
        this.say(`time travel: could not keep this stop (${err instanceof Error ? err.message : String(err)}); step back replays from an older checkpoint`, 'stderr');
      }
    }
  }

  private logpoint(text: string, th: ThreadState): void {
    const e = this.machine!;
    const top = th.frames[th.frames.length - 1];
    const fn = top ? e.fn(top) : null;
    const st = fn && top ? fn.stmts[e.stmtOf(top)] : undefined;
    this.emit({
      type: 'output', category: 'console', text,
      ...(fn ? { source: { path: fn.file, ...(st ? { line: st.range.start.line } : {}) } } : {}),
    });
  }

  private flushTrace(): void {
    const e = this.machine;
    if (!e || this.options?.trace === false) return;
    this.traceConsole.flush(e.state.trace, this.emitLine);
  }

  // ---- pictures: the layout view and the run timeline -------------------------------------------

  /** An XSAVE area's blocks at the model's offsets (layout-view.ts); bad arguments are RuntimeError('badArguments'). */
  layout(options: LayoutOptions): LayoutData {
    const e = this.need();
    try {
      return buildLayout(e, options);
    } catch (err) {
      if (err instanceof LayoutError) throw new RuntimeError('badArguments', err.message);
      throw err;
    }
  }

  /** A window of the run's timeline with the step the machine stands at (timeline-view.ts). */
  timelineWindow(args: TimelineArguments): TimelineBody {
    this.need();
    try {
      return timelineWindow(this.timeline!, args, this.history!.position);
    } catch (err) {
      if (err instanceof TimelineError) throw new RuntimeError('badArguments', err.message);
      throw err;
    }
  }

  /** Throws unless travel(step) can run now: a machine that is not running, a step the run recorded. */
  checkTravel(step: number): void {
    this.checkReady();
    try {
      checkTravel(this.history!, step, this.timeline!.end);
    } catch (err) {
      if (err instanceof TravelRefused) throw new RuntimeError('badArguments', err.message);
      throw err;
    }
  }

  /**
   * Travel to a recorded step, before or after the present (travel.ts), and stop there: with the
   * exception a filter stops on at that step, else a `goto` stop. Call checkTravel first.
   */
  travel(step: number): void {
    this.checkTravel(step);
    const e = this.machine!;
    this.reversing = true;
    try {
      const decision = travelTo(e, this.history!, step, this.timeline!.end, () => this.stepOnce(true).stop);
      this.traceConsole.jumped(e.state.trace.length, this.emitLine);
      this.reportStop(decision?.exception ? decision : { reason: 'goto', description: `step ${step}` });
    } catch (err) {
      this.internalError(err);
    } finally {
      this.reversing = false;
    }
  }

  // ---- breakpoints --------------------------------------------------------------------------------

  /** Lines of `path` on which a statement starts, or null if the program does not include the file. */
  private statementLines(path: string): Set<number> | null {
    const e = this.machine;
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

  setLineBreakpoints(path: string, bps: readonly LineBreakpointRequest[]): BreakpointState[] {
    return this.bps.setLines(path, bps, this.statementLines(path));
  }

  /**
   * Where a breakpoint can stand in lines `line`..`endLine` of `path` (from `column` on the first,
   * up to `endColumn` on the last): the start of every statement there, in order.
   */
  breakpointLocations(path: string, line: number, endLine: number, column?: number, endColumn?: number): Array<{ line: number; column: number }> {
    const seen = new Set<string>();
    const out: Array<{ line: number; column: number }> = [];
    for (const f of this.machine?.program.functions ?? []) {
      for (const st of f.stmts) {
        const at = st.range.start;
        if (st.file !== path || at.line < line || at.line > endLine) continue;
        if (at.line === line && column !== undefined && at.column < column) continue;
        if (at.line === endLine && endColumn !== undefined && at.column > endColumn) continue;
        const key = `${at.line}:${at.column}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ line: at.line, column: at.column });
      }
    }
    return out.sort((a, b) => a.line - b.line || a.column - b.column);
  }

  /** Every file the program was compiled from: the scenario, its imports, its policy and the kernel. */
  loadedFiles(): readonly string[] {
    return this.machine?.program.files ?? [];
  }

  setFunctionBreakpoints(bps: readonly FunctionBreakpointRequest[]): BreakpointState[] {
    const e = this.machine;
    const known = (name: string): boolean => !e || e.program.functions.some((f) => f.name === name || f.shortName === name);
    return this.bps.setFunctions(bps, known);
  }

  /** Exception filters: `filters` on without a condition, `options` with one. */
  setExceptionFilters(filters: readonly string[], options: readonly ExceptionFilterRequest[] = []): BreakpointState[] {
    return this.bps.setExceptions(filters, options);
  }

  /** The data breakpoint id of a slot (data-breakpoints.ts), or null when it cannot be watched. */
  dataIdOf(slot: Slot): string | null {
    return dataIdOf(slot, this.need().state);
  }

  setDataBreakpoints(bps: readonly DataBreakpointRequest[]): BreakpointState[] {
    return this.bps.setData(bps.map((b) => ({ ...b, read: dataReader(b.dataId, () => this.machine?.state ?? null) })));
  }

  // ---- inspection ---------------------------------------------------------------------------------

  private need(): Engine {
    if (!this.machine) throw notLaunched();
    return this.machine;
  }

  /** The threads that have not ended. */
  threads(): Array<{ id: number; name: string }> {
    return (this.machine?.state.threads ?? []).filter((t) => t.status !== 'exited' && t.status !== 'killed').map((t) => ({ id: t.id, name: t.name }));
  }

  /** A thread, when its frame `depth` exists. */
  frame(thread: number, depth: number): ThreadState | null {
    const th = this.need().state.threads[thread];
    return th && Number.isInteger(depth) && depth >= 0 && th.frames[depth] ? th : null;
  }

  /**
   * The frames of a thread, innermost first. A stop on a failed assertion or a broken invariant
   * comes after the statement ran: the top frame shows that statement, not the next one.
   */
  stack(thread: number): ShownFrame[] | null {
    const e = this.need();
    const th = e.state.threads[thread];
    if (!th) return null;
    const frames: ShownFrame[] = [];
    for (let k = th.frames.length - 1; k >= 0; k--) {
      const f = th.frames[k]!;
      const fn = e.fn(f);
      if (!fn) { frames.push({ kind: 'label', depth: k, name: '[VM entry]' }); continue; }
      let stmt = fn.stmts[e.stmtOf(f)] ?? null;
      const at = this.stopped?.at;
      if (at && k === th.frames.length - 1 && at.thread === th.id && at.file === fn.file) {
        stmt = fn.stmts.find((x) => x.range.start.line === at.line && x.range.start.column === at.column) ?? stmt;
      }
      frames.push({
        kind: 'code', depth: k, name: fn.name, file: fn.file,
        line: stmt?.range.start.line ?? fn.range.start.line, column: stmt?.range.start.column ?? fn.range.start.column,
        ...(stmt ? { endLine: stmt.range.end.line, endColumn: stmt.range.end.column } : {}),
      });
    }
    return frames;
  }

  /** The expression context of frame `frame` of a thread (with `bindings`: an exception filter's names). */
  contextOf(th: ThreadState, frame: number, bindings?: ReadonlyMap<string, Value>): ExprContext {
    const e = this.machine!;
    const f = th.frames[frame];
    const fn = f ? e.fn(f) : null;
    return {
      state: e.state, program: e.program, cpu: th.cpu, thread: th,
      locals: f && fn ? { names: fn.locals, values: f.locals } : null,
      guest: fn?.context === 'guest',
      ...(bindings ? { bindings } : {}),
    };
  }

  /** The expression context of the stopped thread's top frame (or of the machine, with no thread). */
  topContext(): ExprContext {
    const e = this.need();
    const th = e.currentThread();
    if (!th) return { state: e.state, program: e.program, cpu: 0, thread: null, locals: null, guest: false };
    return this.contextOf(th, th.frames.length - 1);
  }

  /**
   * Completions of the expression `text` with the cursor after `column - 1` characters: the fields
   * of a kernel object after `.` or `->`, else the names in scope, each starting with the word
   * before the cursor (returned as `prefix`).
   */
  completions(text: string, column: number, ctx: ExprContext): { prefix: string; items: CompletionItem[] } {
    const e = this.need();
    const before = text.slice(0, Math.max(0, column - 1));
    const prefix = /([A-Za-z_][\w]*)?$/.exec(before)![1] ?? '';
    const head = before.slice(0, before.length - prefix.length);
    const member = /([A-Za-z_][\w.>-]*?)(\.|->)$/.exec(head);
    if (member) {
      const v = evaluate(parseDebugExpression(member[1]!), ctx);
      const type = typeof v === 'bigint' ? '' : e.state.heap[v.ref]?.type ?? '';
      return { prefix, items: fieldsOf(type).filter((f) => f.startsWith(prefix)).map((f) => ({ label: f, type: 'property' })) };
    }
    const registers = REGISTER_NAMES as readonly string[];
    return {
      prefix,
      items: namesInScope(ctx).filter((n) => n.startsWith(prefix)).sort().slice(0, 200)
        .map((n) => ({ label: n, type: /^[A-Z0-9_]+$/.test(n) && !registers.includes(n) ? 'value' : 'variable' })),
    };
  }

  // ---- changing the machine -----------------------------------------------------------------------

  /**
   * Writes `text` (an expression) into a slot with the model's rules (edits.ts); the history keeps
   * the edited present (History.edited) and data breakpoints compare with the new value.
   */
  edit(slot: Slot, text: string, ctx: ExprContext): Value {
    const e = this.need();
    const v = parseValue(text, slot, ctx);
    writeSlot(e, slot, v);
    this.history!.edited();
    this.timeline?.edited(e.state);
    this.bps.resyncData();
    return v;
  }

  /** Reads `count` bytes at a memory reference (`0xADDR` or `cpuN/COMPONENT+0xOFF`) plus `offset`. */
  readMemory(reference: string, offset: number, count: number): { address: string; data: Uint8Array; unreadable: number } {
    const s = this.need().state;
    return readMemory(s, memoryRef(reference, offset), offset, count);
  }

  /** Writes bytes at a memory reference plus `offset`; returns how many were written. */
  writeMemory(reference: string, offset: number, data: Uint8Array): number {
    const e = this.need();
    const ref = memoryRef(reference, offset);
    const n = writeMemory(e.state, ref, offset, data);
    if (n === 0 && data.length) throw new RuntimeError('memory', `${formatMemoryRef(ref)}+${offset}: not mapped`);
    if (ref.kind === 'cpu' && n) {
      // A register image written by hand: XINUSE/XMODIFIED follow as after a register write.
      writeSlot(e, { kind: 'bytes', mem: { ...ref, offset: ref.offset + offset }, size: 0, name: 'memory' }, 0n);
    }
    this.history!.edited();
    this.timeline?.edited(e.state);
    this.bps.resyncData();
    return n;
  }
}

/** A logpoint during replay (step back, reverse continue) prints nothing: it printed when it ran. */
const QUIET = (): void => {};

function checkProgram(options: RuntimeOptions): void {
  if (typeof options.program !== 'string' || options.program === '') {
    throw new RuntimeError('launch', "launch: 'program' must name a scenario file (.xsave)");
  }
}

/** A memory reference, with `offset` added still a 64-bit address (or a byte of a register image). */
function memoryRef(text: string, offset: number): MemoryRef {
  const ref = parseMemoryRef(text);
  if (!ref) throw new RuntimeError('memory', `memory reference '${text}': expected 0xADDRESS or cpuN/COMPONENT+0xOFFSET`);
  const at = ref.kind === 'mem' ? ref.addr + BigInt(offset) : BigInt(ref.offset + offset);
  if (at < 0n || at >= 1n << 64n) throw new RuntimeError('memory', `memory reference '${text}' + ${offset}: not an address (0 to 0xffffffffffffffff)`);
  return ref;
}
