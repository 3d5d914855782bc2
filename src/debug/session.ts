// The debug adapter: Debug Adapter Protocol requests translated to the engine, engine happenings
// translated to DAP events. It knows nothing of VS Code; it runs inline in the extension host or
// as `node dist/adapter.js` over stdio for any DAP client. This version covers launching a
// scenario, threads, stack traces (guest frames above a [VM entry] label above the host frames),
// Locals and CPU register scopes, line breakpoints, and step in/over/out and continue.
import {
  Handles, InitializedEvent, LoggingDebugSession, OutputEvent, Scope, Source, StackFrame, StoppedEvent, TerminatedEvent,
  Thread,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { basename, dirname } from 'node:path';
import { Op } from '../lang/code';
import { parse } from '../lang/parser';
import { formatDiagnostic } from '../lang/source';
import { formatMask, msrName, MSR_IA32_XFD, MSR_IA32_XFD_ERR } from '../model';
import type { Engine, Happening } from '../sim/engine';
import type { ThreadState } from '../sim/machine';
import { loadScenario } from '../sim/scenario';
import { showValue } from '../sim/value';
import { nodeFiles, policyFile, unknownPolicyMessage } from './host-files';

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
  /** Print the hardware trace to the Debug Console. */
  trace?: boolean;
}

/** What a variablesReference stands for (tagged handles, not number ranges). */
type VarRef =
  | { kind: 'locals'; thread: number; frame: number }
  | { kind: 'cpu'; cpu: number }
  | { kind: 'mask'; value: bigint };

const FRAME_STRIDE = 1000;

export class XsaveDebugSession extends LoggingDebugSession {
  private engine: Engine | null = null;
  private args: XsaveLaunchArguments | null = null;
  private readonly breakpoints = new Map<string, Set<number>>();
  private vars = new Handles<VarRef>();
  private traceSent = 0;
  private configured!: () => void;
  private readonly configurationDone = new Promise<void>((r) => (this.configured = r));

  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = {
      supportsConfigurationDoneRequest: true,
    };
    this.sendResponse(response);
    this.sendEvent(new InitializedEvent());
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.sendResponse(response);
    this.configured();
  }

  protected override async launchRequest(response: DebugProtocol.LaunchResponse, args: XsaveLaunchArguments): Promise<void> {
    if (typeof args.program !== 'string' || args.program === '') {
      this.sendErrorResponse(response, 1001, "launch: 'program' must name a scenario file");
      return;
    }
    const text = nodeFiles.read(args.program);
    if (text === null) {
      this.sendErrorResponse(response, 1002, `launch: cannot read '${args.program}'`);
      return;
    }
    const policyItem = parse(args.program, text).ast.items.find((i) => i.kind === 'policy') as { policy: string } | undefined;
    const policy = args.policy ?? policyItem?.policy;
    const imports: string[] = [];
    if (policy !== undefined) {
      const file = policyFile(policy, dirname(args.program));
      if (file === null) {
        this.sendErrorResponse(response, 1003, `launch: ${unknownPolicyMessage(policy)}`);
        return;
      }
      imports.push(file);
    }
    const loaded = loadScenario(args.program, nodeFiles, { ...(args.cpu ? { cpu: args.cpu } : {}), imports });
    if (!loaded.engine) {
      this.sendErrorResponse(response, 1004, `the scenario has errors:\n${loaded.diagnostics.map(formatDiagnostic).join('\n')}`);
      return;
    }
    this.engine = loaded.engine;
    this.args = args;
    this.sendResponse(response);
    await this.configurationDone;
    if (args.stopOnEntry) this.reportStop('entry');
    else this.resume('continue');
  }

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    const path = args.source.path ?? '';
    const lines = (args.breakpoints ?? []).map((b) => b.line);
    this.breakpoints.set(path, new Set(lines));
    const known = this.statementLines(path);
    response.body = {
      breakpoints: lines.map((line) => ({
        verified: known === null || known.has(line),
        line,
        ...(known !== null && !known.has(line) ? { message: 'no statement starts on this line' } : {}),
      })),
    };
    this.sendResponse(response);
  }

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    const threads = this.engine?.state.threads ?? [];
    response.body = { threads: threads.filter((t) => t.status !== 'exited' && t.status !== 'killed').map((t) => new Thread(t.id + 1, t.name)) };
    if (response.body.threads.length === 0) response.body.threads = [new Thread(1, 'machine')];
    this.sendResponse(response);
  }

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    const e = this.engine;
    const th = e?.state.threads[args.threadId - 1];
    if (!e || !th) { response.body = { stackFrames: [], totalFrames: 0 }; this.sendResponse(response); return; }
    const frames: DebugProtocol.StackFrame[] = [];
    for (let k = th.frames.length - 1; k >= 0; k--) {
      const f = th.frames[k]!;
      const fn = e.fn(f);
      const id = th.id * FRAME_STRIDE + k;
      if (!fn) {
        const label = new StackFrame(id, '[VM entry]');
        label.presentationHint = 'label';
        frames.push(label);
        continue;
      }
      const stmt = fn.stmts[e.stmtOf(f)] ?? null;
      const line = stmt?.range.start.line ?? fn.range.start.line;
      const column = stmt?.range.start.column ?? fn.range.start.column;
      frames.push(new StackFrame(id, fn.name, new Source(basename(fn.file), fn.file), line, column));
    }
    const start = args.startFrame ?? 0;
    const levels = args.levels ?? frames.length;
    response.body = { stackFrames: frames.slice(start, start + levels), totalFrames: frames.length };
    this.sendResponse(response);
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    const thread = Math.floor(args.frameId / FRAME_STRIDE);
    const frame = args.frameId % FRAME_STRIDE;
    const th = this.engine?.state.threads[thread];
    const scopes: DebugProtocol.Scope[] = [new Scope('Locals', this.vars.create({ kind: 'locals', thread, frame }), false)];
    if (th) {
      const cpu = new Scope(`CPU ${th.cpu}`, this.vars.create({ kind: 'cpu', cpu: th.cpu }), false) as DebugProtocol.Scope;
      cpu.presentationHint = 'registers';
      scopes.push(cpu);
    }
    response.body = { scopes };
    this.sendResponse(response);
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    const ref = this.vars.get(args.variablesReference);
    response.body = { variables: ref ? this.variables(ref) : [] };
    this.sendResponse(response);
  }

  protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
    response.body = { allThreadsContinued: true };
    this.sendResponse(response);
    this.resume('continue');
  }

  protected override nextRequest(response: DebugProtocol.NextResponse): void {
    this.sendResponse(response);
    this.resume('over');
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse): void {
    this.sendResponse(response);
    this.resume('in');
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse): void {
    this.sendResponse(response);
    this.resume('out');
  }

  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse): void {
    this.engine = null;
    this.sendResponse(response);
  }

  // ---- running ----------------------------------------------------------------------------------

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

  /** Whether the thread that just stepped stands at a breakpoint line. */
  private atBreakpoint(): boolean {
    const e = this.engine!;
    const th = e.currentThread();
    const top = th?.frames[th.frames.length - 1];
    if (!th || !top || top.fn < 0) return false;
    const fn = e.fn(top)!;
    const k = e.stmtOf(top);
    const ins = fn.code[top.pc];
    // At a STMT op: the statement has not started yet (a breakpoint stops before its line runs).
    if (k < 0 || !ins || ins.op !== Op.STMT) return false;
    const st = fn.stmts[k]!;
    return this.breakpoints.get(st.file)?.has(st.range.start.line) ?? false;
  }

  private resume(mode: 'continue' | 'over' | 'in' | 'out'): void {
    const e = this.engine;
    if (!e) return;
    const budget = this.args?.maxSteps ?? 1_000_000;
    let stopReason: { reason: string; text?: string } | null = null;
    const stop = (h: Happening[]): boolean => {
      for (const x of h) {
        if (x.kind === 'exception') { stopReason = { reason: 'exception', text: x.fault.reason }; return true; }
        if (x.kind === 'invariant' && !x.violation.deviation) { stopReason = { reason: 'exception', text: `invariant ${x.violation.name}: ${x.violation.text}` }; return true; }
        if (x.kind === 'assertion') { stopReason = { reason: 'exception', text: `assertion failed: ${x.message}` }; return true; }
      }
      if (this.atBreakpoint()) { stopReason = { reason: 'breakpoint' }; return true; }
      return false;
    };
    const r = mode === 'in' ? e.run(() => true, 1)
      : mode === 'over' ? e.stepOver(stop, budget)
        : mode === 'out' ? e.stepOut(stop, budget)
          : e.run(stop, budget);
    this.flushTrace();
    const ended = r.reason === 'end' || (e.state.halted !== null && !e.currentThread()?.frames.length);
    if (r.reason === 'end' || ended) {
      const last = r.happenings.find((x) => x.kind === 'error' || x.kind === 'oops' || x.kind === 'end');
      if (last && (last.kind === 'error' || last.kind === 'oops')) {
        this.sendEvent(new OutputEvent(`${last.text}\n`, 'stderr'));
        this.reportStop('exception', last.text);
        return;
      }
      this.sendEvent(new TerminatedEvent());
      return;
    }
    if (r.reason === 'budget') {
      this.sendEvent(new OutputEvent(`the step budget of ${budget} ran out\n`, 'stderr'));
      this.reportStop('pause', 'step budget exhausted');
      return;
    }
    const sr = stopReason as { reason: string; text?: string } | null;
    if (sr) this.reportStop(sr.reason, sr.text);
    else this.reportStop('step');
  }

  private reportStop(reason: string, text?: string): void {
    this.vars.reset();
    const th = this.engine?.currentThread();
    const ev = new StoppedEvent(reason, (th?.id ?? 0) + 1, text) as DebugProtocol.StoppedEvent;
    ev.body.allThreadsStopped = true;
    this.sendEvent(ev);
  }

  private flushTrace(): void {
    const e = this.engine;
    if (!e || !this.args?.trace) return;
    const t = e.state.trace;
    for (; this.traceSent < t.length; this.traceSent++) {
      this.sendEvent(new OutputEvent(`[${t[this.traceSent]!.step}] ${t[this.traceSent]!.text}\n`, 'console'));
    }
  }

  // ---- variables -----------------------------------------------------------------------------------

  private variables(ref: VarRef): DebugProtocol.Variable[] {
    const e = this.engine;
    if (!e) return [];
    switch (ref.kind) {
      case 'locals': {
        const th: ThreadState | undefined = e.state.threads[ref.thread];
        const f = th?.frames[ref.frame];
        const fn = f ? e.fn(f) : null;
        if (!f || !fn) return [];
        return fn.locals.map((name, i) => ({ name, value: showValue(f.locals[i]!), variablesReference: 0 }));
      }
      case 'cpu': {
        const c = e.state.cpus[ref.cpu];
        if (!c) return [];
        const mask = (name: string, v: bigint): DebugProtocol.Variable => ({
          name, value: formatMask(v), variablesReference: v ? this.vars.create({ kind: 'mask', value: v }) : 0,
        });
        return [
          { name: 'mode', value: c.vmx.mode === 'non-root' ? 'guest (VMX non-root)' : c.vmx.mode === 'root' ? 'host (VMX root)' : 'host', variablesReference: 0 },
          { name: 'CPL', value: String(c.cpl), variablesReference: 0 },
          mask('XCR0', c.xcr0),
          mask('IA32_XSS', c.xss),
          mask(msrName(MSR_IA32_XFD), c.xfd),
          mask(msrName(MSR_IA32_XFD_ERR), c.xfdErr),
          mask('XINUSE', c.xinuse),
          { name: 'CR0.TS', value: c.cr0.ts ? '1' : '0', variablesReference: 0 },
          { name: 'CR4.OSXSAVE', value: c.cr4.osxsave ? '1' : '0', variablesReference: 0 },
        ];
      }
      case 'mask': {
        const out: DebugProtocol.Variable[] = [];
        for (let i = 0; i < 64; i++) {
          if ((ref.value >> BigInt(i)) & 1n) out.push({ name: `[${i}]`, value: formatMask(1n << BigInt(i)), variablesReference: 0 });
        }
        return out;
      }
    }
  }
}

