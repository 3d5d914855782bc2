// The pictures in VS Code (DESIGN §7): the XSAVE layout view and the run timeline, each a webview
// panel (media/layout.js, media/timeline.js) that the extension fills from the adapter's custom
// requests (`xsave/layout`, `xsave/timeline`, `xsave/travel`; src/debug/) and draws with the same
// renderers as the CLI (src/views/). They follow the debugger: a tracker sees every stop, time
// travel and edit and redraws them. A click on a block opens its bytes in the memory view (the Hex
// Editor when it is installed, else a read-only hex dump read with readMemory) and puts the area's
// owner in the Watch view; a click on the timeline travels there. A counterexample found by Explore
// opens with its timeline.
import * as vscode from 'vscode';
import type { LayoutBlock, LayoutData } from '../runtime/layout-view';
import type { TimelineBody } from '../runtime/timeline-view';
import { blockTip, differingBlocks, layoutSvg } from '../views/layout-svg';
import { bucketsFor, timelineGeometry, timelineSvg } from '../views/timeline-svg';
import { pageHtml } from './webview-page';

const DEBUG_TYPE = 'xsave';
const MEMORY_SCHEME = 'xsave-memory';
/** Most bytes the hex dump reads. */
const MAX_DUMP = 64 * 1024;

type Message = Record<string, unknown> & { type: string };

/** The session the pictures show: the xsave session that stopped last, and the thread it stopped on. */
class Follow {
  session: vscode.DebugSession | null = null;
  threadId: number | undefined;
  running = false;
  readonly sessions = new Map<string, vscode.DebugSession>();
}

export function registerPictures(context: vscode.ExtensionContext): void {
  const follow = new Follow();
  const memory = new MemoryDumps(follow);
  const layout = new LayoutPanel(context, follow, memory);
  const timeline = new TimelinePanel(context, follow);
  let pending: ReturnType<typeof setTimeout> | undefined;
  const refresh = (what: 'all' | 'layout'): void => {
    if (pending) clearTimeout(pending);
    pending = setTimeout(() => {
      pending = undefined;
      void layout.refresh();
      if (what === 'all') void timeline.refresh(true);
      memory.refresh();
    }, 30);
  };
  context.subscriptions.push(
    vscode.commands.registerCommand('xsave.showLayout', (arg?: unknown) => layout.show(areaOf(arg))),
    vscode.commands.registerCommand('xsave.showTimeline', () => timeline.show(false)),
    vscode.workspace.registerTextDocumentContentProvider(MEMORY_SCHEME, memory),
    vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, {
      createDebugAdapterTracker: (session) => {
        follow.sessions.set(session.id, session);
        return {
          onDidSendMessage: (m: { type?: string; event?: string; body?: { threadId?: number } }) => {
            if (m.type !== 'event') return;
            if (m.event === 'stopped') {
              follow.session = session;
              follow.threadId = m.body?.threadId;
              follow.running = false;
              refresh('all');
              timeline.afterStop(session);
            } else if (m.event === 'continued') {
              follow.running = true;
            } else if (m.event === 'invalidated' && follow.session === session) {
              refresh('layout');
            }
          },
          onWillStopSession: () => { follow.sessions.delete(session.id); },
        };
      },
    }),
    vscode.debug.onDidTerminateDebugSession((s) => {
      if (follow.session?.id !== s.id) return;
      follow.session = null;
      follow.running = false;
      layout.ended();
      timeline.ended();
    }),
    // Explore's counterexample (the adapter names it while it starts debugging it): its timeline
    // opens beside it and fills in at the first stop, the events the search placed highlighted.
    vscode.debug.onDidReceiveDebugSessionCustomEvent((e) => {
      if (e.session.type !== DEBUG_TYPE || e.event !== 'xsave/counterexample') return;
      follow.session = e.session;
      timeline.show(true);
      timeline.keepInSight(e.session);
    }),
    { dispose: () => { layout.dispose(); timeline.dispose(); } },
  );
}

/** The area a Variables-view context menu names: its memory reference (a buffer or a CPU's component). */
function areaOf(arg: unknown): string | undefined {
  const v = (arg as { variable?: { memoryReference?: unknown } } | undefined)?.variable;
  return typeof v?.memoryReference === 'string' ? v.memoryReference : undefined;
}

async function request<T>(session: vscode.DebugSession, command: string, args: Record<string, unknown>): Promise<T> {
  return await session.customRequest(command, args) as T;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A webview panel shared by both pictures: created on demand, posting and receiving messages. */
abstract class Panel {
  protected panel: vscode.WebviewPanel | null = null;
  protected width = 900;

  constructor(protected readonly context: vscode.ExtensionContext, protected readonly follow: Follow,
    private readonly viewType: string, private readonly title: string, private readonly script: string, private readonly body: string) {}

  protected open(preserveFocus: boolean): void {
    if (this.panel) { this.panel.reveal(undefined, preserveFocus); return; }
    const p = vscode.window.createWebviewPanel(this.viewType, this.title, { viewColumn: vscode.ViewColumn.Beside, preserveFocus }, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'media')],
    });
    p.webview.html = pageHtml(p.webview, this.context.extensionUri, this.script, this.title, this.body);
    p.webview.onDidReceiveMessage((m: Message) => { void this.receive(m); });
    p.onDidDispose(() => { this.panel = null; });
    this.panel = p;
  }

  protected post(m: Message): void {
    void this.panel?.webview.postMessage(m);
  }

  protected status(text: string, error = false): void {
    this.post({ type: 'status', text, error });
  }

  ended(): void {
    this.status('The debug session ended: the picture shows its last stop.');
  }

  dispose(): void {
    this.panel?.dispose();
  }

  protected abstract receive(m: Message): Promise<void>;
  abstract refresh(): Promise<void>;
}

// ---- the layout view ------------------------------------------------------------------------------

interface Side {
  data: LayoutData;
  svg: string;
}

class LayoutPanel extends Panel {
  /** The area shown (undefined: the registers of the CPU the debugger stopped on). */
  private area: string | undefined;
  private format: 'standard' | 'compacted' = 'standard';
  /** 'none', 'pinned' (this area as it was when pinned) or an area id to show beside it. */
  private compare = 'none';
  private pinned: LayoutData | null = null;
  private shown: Side[] = [];

  constructor(context: vscode.ExtensionContext, follow: Follow, private readonly memory: MemoryDumps) {
    super(context, follow, 'xsave.layout', 'XSAVE Layout', 'layout.js',
      '<div class="toolbar"><label for="area">Area</label><select id="area"></select>' +
      '<label for="format">Format</label><select id="format"><option value="standard">standard (XSAVE)</option><option value="compacted">compacted (XSAVES)</option></select>' +
      '<label for="compare">Compare with</label><select id="compare"></select><button id="pin" title="Keep this area as it is now, to compare it with later steps">Pin this step</button>' +
      '<span id="status" class="status"></span></div><div class="sides" id="sides"></div><div id="details"></div>');
  }

  show(area: string | undefined): void {
    if (area !== undefined) { this.area = area; this.format = 'standard'; }
    this.open(false);
    void this.refresh();
  }

  protected async receive(m: Message): Promise<void> {
    switch (m.type) {
      case 'ready':
        if (typeof m.width === 'number') this.width = m.width;
        await this.refresh();
        return;
      case 'resize':
        if (typeof m.width === 'number' && Math.abs(m.width - this.width) > 8) { this.width = m.width; await this.refresh(); }
        return;
      case 'select':
        this.area = typeof m.area === 'string' && m.area ? m.area : undefined;
        if (this.compare === 'pinned') this.compare = 'none';
        await this.refresh();
        return;
      case 'format':
        this.format = m.format === 'compacted' ? 'compacted' : 'standard';
        await this.refresh();
        return;
      case 'compare':
        this.compare = typeof m.compare === 'string' ? m.compare : 'none';
        await this.refresh();
        return;
      case 'pin':
        this.pinned = this.shown[0]?.data ?? null;
        this.compare = this.pinned ? 'pinned' : 'none';
        await this.refresh();
        return;
      case 'open': await this.openBlock(Number(m.side), String(m.name)); return;
      default:
    }
  }

  private async openBlock(side: number, name: string): Promise<void> {
    const data = this.shown[side]?.data;
    const b = data?.blocks.find((x) => x.name === name);
    const session = this.follow.session;
    if (!data || !b) return;
    this.post({ type: 'details', side, name, text: blockTip(data, b) });
    if (!session || (side === 1 && this.compare === 'pinned')) return;
    try {
      await this.memory.open(session, b, data);
      // The area's owner in the Watch view, where it expands to this block (the Variables view
      // cannot be scrolled to a variable from an extension).
      if (data.area.evaluateName) {
        await vscode.commands.executeCommand('debug.addToWatchExpressions', { variable: { evaluateName: data.area.evaluateName } });
      }
    } catch (e) {
      this.status(`could not open the bytes of ${b.name}: ${errorText(e)}`, true);
    }
  }

  async refresh(): Promise<void> {
    if (!this.panel) return;
    const session = this.follow.session;
    if (!session) { this.status('Start debugging a scenario: the layout shows the area at each stop.'); return; }
    if (this.follow.running) return;
    try {
      const args = { ...(this.area !== undefined ? { area: this.area } : {}), ...(this.threadArg()) };
      const isCpu = this.area === undefined || /^cpu(:\d+$|\d+\/)/.test(this.area);
      const left = await request<LayoutData>(session, 'xsave/layout', { ...args, ...(isCpu ? { format: this.format } : {}) });
      let right: LayoutData | null = null;
      if (this.compare === 'pinned' && this.pinned) right = this.pinned;
      else if (this.compare.startsWith('area:')) right = await request<LayoutData>(session, 'xsave/layout', { area: this.compare.slice(5), ...this.threadArg() });
      const differs = right ? differingBlocks(left, right) : undefined;
      const w = right ? Math.floor((this.width - 12) / 2) : this.width;
      const caption = right ? `step ${left.position}` : undefined;
      this.shown = [{ data: left, svg: layoutSvg(left, { width: w, ...(differs ? { differs } : {}), ...(caption ? { caption } : {}) }) }];
      if (right) {
        const rc = this.compare === 'pinned' ? `pinned at step ${right.position}` : `step ${right.position}`;
        this.shown.push({ data: right, svg: layoutSvg(right, { width: w, ...(differs ? { differs } : {}), caption: rc }) });
      }
      const compare = [{ id: 'none', title: 'nothing' }, ...(this.pinned ? [{ id: 'pinned', title: `this area pinned at step ${this.pinned.position}` }] : []),
        ...left.areas.filter((a) => a.id !== left.area.id).map((a) => ({ id: `area:${a.id}`, title: a.title }))];
      const summary = differs ? `${differs.size} block${differs.size === 1 ? '' : 's'} differ${differs.size === 1 ? 's' : ''}: ${[...differs].join(', ') || 'none'}` : '';
      this.post({
        type: 'render', sides: this.shown.map((s) => s.svg), areas: left.areas, area: left.area.id, format: left.area.format, isCpu: left.area.kind === 'cpu',
        compare: this.compare, compareChoices: compare, status: `step ${left.position}${summary ? `; ${summary}` : ''}`,
      });
    } catch (e) {
      this.status(errorText(e), true);
    }
  }

  private threadArg(): { threadId?: number } {
    return this.follow.threadId !== undefined ? { threadId: this.follow.threadId } : {};
  }
}

// ---- the run timeline -----------------------------------------------------------------------------

class TimelinePanel extends Panel {
  /** The steps shown; null: the whole run. */
  private view: { from: number; to: number } | null = null;
  private last: TimelineBody | null = null;
  /** A counterexample's session: its first stop must not hide the timeline behind the stop's editor. */
  private inSight: vscode.DebugSession | null = null;

  /** Keep the timeline visible through the first stop of `session` (a counterexample's). */
  keepInSight(session: vscode.DebugSession): void {
    this.inSight = session;
  }

  /**
   * At a stop of the session kept in sight: once VS Code has opened the stop's editor, a timeline
   * it covered comes back in another column, beside that editor.
   */
  afterStop(session: vscode.DebugSession): void {
    if (this.inSight?.id !== session.id) return;
    this.inSight = null;
    // VS Code opens the stop's editor once it has the stack: look again a few times meanwhile.
    for (const ms of [300, 1000, 2500, 5000]) {
      setTimeout(() => {
        const p = this.panel;
        if (!p || p.visible) return;
        const editor = vscode.window.activeTextEditor?.viewColumn;
        p.reveal(editor === vscode.ViewColumn.One ? vscode.ViewColumn.Two : vscode.ViewColumn.One, true);
      }, ms);
    }
  }

  constructor(context: vscode.ExtensionContext, follow: Follow) {
    super(context, follow, 'xsave.timeline', 'Run Timeline', 'timeline.js',
      '<div class="toolbar"><button id="fit" title="The whole run">Whole run</button><button id="zoom-in" title="Zoom in (wheel up)">+</button>' +
      '<button id="zoom-out" title="Zoom out (wheel down)">−</button><button id="cursor" title="Center on the step the machine is at">Go to cursor</button>' +
      '<span id="status" class="status"></span></div><div id="plot"></div>' +
      '<div class="status">Click a mark or anywhere on a lane to travel to that step (Alt+click: to the step before it). Wheel to zoom, drag to pan.</div>');
  }

  show(preserveFocus: boolean): void {
    this.open(preserveFocus);
    void this.refresh();
  }

  protected async receive(m: Message): Promise<void> {
    switch (m.type) {
      case 'ready':
        if (typeof m.width === 'number') this.width = m.width;
        await this.refresh();
        return;
      case 'view': {
        if (typeof m.width === 'number') this.width = m.width;
        if (m.fit === true) this.view = null;
        else if (typeof m.from === 'number' && typeof m.to === 'number') {
          const end = (this.last?.end ?? 0) + 1;
          let from = Math.max(0, Math.floor(m.from));
          let to = Math.min(Math.max(end, from + 10), Math.ceil(m.to));
          if (to - from < 10) { to = from + 10; }
          if (from >= to) from = Math.max(0, to - 10);
          this.view = { from, to };
        }
        await this.refresh();
        return;
      }
      case 'travel': await this.travel(Number(m.step)); return;
      default:
    }
  }

  private async travel(step: number): Promise<void> {
    const session = this.follow.session;
    if (!session || !Number.isInteger(step) || step < 0) return;
    if (this.follow.running) { this.status('The machine is running: pause it first.', true); return; }
    try {
      this.status(`travelling to step ${step}…`);
      await request(session, 'xsave/travel', { step });
    } catch (e) {
      this.status(errorText(e), true);
    }
  }

  /** `followCursor`: a stop outside the window shifts the window to it (not when the user moved the window). */
  async refresh(followCursor = false): Promise<void> {
    if (!this.panel) return;
    const session = this.follow.session;
    if (!session) { this.status('Start debugging a scenario: the timeline fills in at each stop.'); return; }
    if (this.follow.running) return;
    try {
      const buckets = bucketsFor(this.width);
      let body = await request<TimelineBody>(session, 'xsave/timeline', { ...(this.view ?? {}), buckets });
      // Follow the cursor: a stop outside the window shifts the window to it.
      if (followCursor && this.view && (body.position < body.from || body.position >= body.to)) {
        const span = this.view.to - this.view.from;
        const from = Math.max(0, body.position - Math.floor(span / 2));
        this.view = { from, to: from + span };
        body = await request<TimelineBody>(session, 'xsave/timeline', { ...this.view, buckets });
      }
      this.last = body;
      const t0 = Date.now();
      const svg = timelineSvg(body, { width: this.width, position: body.position });
      const g = timelineGeometry(body, this.width);
      const injected = body.lanes.some((l) => l.marks.some((m) => m.kind === 'injected' || (m.kinds.injected ?? 0) > 0));
      this.post({
        type: 'render', svg, from: body.from, to: body.to, start: body.start, end: body.end, position: body.position, left: g.left, plotWidth: g.plotWidth,
        status: `steps ${body.from}-${body.to - 1} of ${body.end}; the machine is at step ${body.position}${injected ? '; ★ marks the events the explorer placed' : ''} (drawn in ${Date.now() - t0} ms)`,
      });
    } catch (e) {
      this.status(errorText(e), true);
    }
  }
}

// ---- the bytes of a block -------------------------------------------------------------------------

/**
 * A block's bytes: in the Hex Editor's debug memory view when that extension is installed (VS Code's
 * `vscode-debug-memory` documents, read with readMemory), else as a read-only hex dump document
 * (`xsave-memory:`) this provider fills with readMemory and refreshes at every stop.
 */
class MemoryDumps implements vscode.TextDocumentContentProvider {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly follow: Follow) {}

  async open(session: vscode.DebugSession, b: LayoutBlock, d: LayoutData): Promise<void> {
    if (!b.memoryReference) return;
    const name = `${d.area.title} ${b.name}`.replace(/[^A-Za-z0-9_.@-]+/g, '_').slice(0, 100);
    if (vscode.extensions.getExtension('ms-vscode.hexeditor')) {
      const uri = vscode.Uri.from({
        scheme: 'vscode-debug-memory', authority: session.id, path: `/${encodeURIComponent(b.memoryReference)}/${encodeURIComponent(name)}.bin`, query: `range=0:${b.size}`,
      });
      await vscode.commands.executeCommand('vscode.openWith', uri, 'hexEditor.hexedit', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true });
      return;
    }
    const query = new URLSearchParams({ session: session.id, ref: b.memoryReference, count: String(Math.min(b.size, MAX_DUMP)), title: `${b.title} of ${d.area.title}` });
    const uri = vscode.Uri.from({ scheme: MEMORY_SCHEME, path: `/${name}.hexdump`, query: query.toString() });
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
  }

  /** Every open dump again (after a stop the bytes may differ). */
  refresh(): void {
    for (const d of vscode.workspace.textDocuments) if (d.uri.scheme === MEMORY_SCHEME) this.changed.fire(d.uri);
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const q = new URLSearchParams(uri.query);
    const session = this.follow.sessions.get(q.get('session') ?? '');
    const ref = q.get('ref') ?? '';
    const count = Math.min(MAX_DUMP, Number(q.get('count') ?? '0') || 0);
    if (!session) return `${q.get('title') ?? ref}: the debug session has ended.\n`;
    try {
      const r = await session.customRequest('readMemory', { memoryReference: ref, offset: 0, count }) as { address: string; data?: string; unreadableBytes?: number };
      const bytes = Buffer.from(r.data ?? '', 'base64');
      const lines = [`${q.get('title') ?? ref}: ${count} bytes at ${r.address} (${ref}), read with readMemory${r.unreadableBytes ? `; ${r.unreadableBytes} bytes cannot be read` : ''}`, ''];
      const base = /^0x[0-9a-f]+$/i.test(r.address) ? BigInt(r.address) : null;
      for (let off = 0; off < bytes.length; off += 16) {
        const row = bytes.subarray(off, off + 16);
        const hex = [...row].map((x) => x.toString(16).padStart(2, '0')).join(' ').padEnd(47);
        const ascii = [...row].map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
        const at = base !== null ? `0x${(base + BigInt(off)).toString(16).padStart(8, '0')}  ` : '';
        lines.push(`${at}+${off.toString(16).padStart(4, '0')}  ${hex}  |${ascii}|`);
      }
      return `${lines.join('\n')}\n`;
    } catch (e) {
      return `${ref}: ${errorText(e)}\n`;
    }
  }
}
