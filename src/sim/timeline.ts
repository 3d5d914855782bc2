// The run timeline (DESIGN §7): what a run did, step by step, kept compactly enough to draw a run
// of millions of steps. A `TimelineRecorder` is fed after every step with what `Engine.step()`
// returned (VM entries and exits, exceptions, events, assertions, invariants, thread ends) and reads
// a few plain values of the state (each CPU's XCR0, IA32_XFD, IA32_XFD_ERR, XINUSE and running
// thread). It keeps:
// - value tracks: one per CPU and register, only the steps where the value changed (values interned);
// - span lists: per CPU and per thread, the stretches a thread ran and the stretches in the guest
//   (VM entry to VM exit, labelled with the exit reason);
// - mark lists: per lane and per kind (faults, #NM, interrupts, events, switches, failures).
// All of them are sorted by step, so `window(from, to, buckets)` answers with binary searches: a
// bucket holding many spans, marks or changes becomes one aggregate, and the answer's size depends
// on the number of buckets, not on the length of the run.
//
// Positions are step counts (`state.steps`): a span [from, to) starts at the position after the step
// that entered it; a mark at step s happened during step s; a track's value at s is the value after
// step s. A replay of positions already recorded (time travel) is ignored; an edit of the state
// (setVariable) cuts the recording at its position, as History.edited() cuts the checkpoints.
import type { Program } from '../lang/code';
import { formatMask } from '../model';
import type { Happening } from './engine';
import type { MachineState } from './machine';

/** Kinds of marks, most severe first: a bucket of several marks is drawn as its most severe kind. */
export const MARK_KINDS = [
  'invariant', 'assertion', 'error', 'nm', 'fault', 'injected', 'interrupt', 'event', 'deviation', 'switch', 'thread-end',
] as const;
export type MarkKind = (typeof MARK_KINDS)[number];

/** The per-CPU registers drawn as step-wise value tracks. */
export const TRACK_REGISTERS = ['XCR0', 'IA32_XFD', 'IA32_XFD_ERR', 'XINUSE'] as const;
export type TrackRegister = (typeof TRACK_REGISTERS)[number];

/** Most buckets one window may ask for (a screen's width in pixels, with room to spare). */
export const MAX_BUCKETS = 10_000;
/** Distinct mark and label texts kept; past it new texts fall back to their kind's generic text. */
const MAX_TEXTS = 1 << 16;

/** A growable column of step numbers: Float64, so positions stay exact past 2^31. */
class Steps {
  data = new Float64Array(16);
  length = 0;

  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Float64Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }

  at(i: number): number {
    return this.data[i]!;
  }

  /** The first index whose value is >= v (length if none). */
  lowerBound(v: number, lo = 0): number {
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.data[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first index whose value is > v (length if none). */
  upperBound(v: number, lo = 0): number {
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.data[mid]! <= v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** A growable column of small integers (interned texts, interned values). */
class Ints {
  data = new Uint32Array(16);
  length = 0;

  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Uint32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }

  at(i: number): number {
    return this.data[i]!;
  }

  set(i: number, v: number): void {
    this.data[i] = v;
  }
}

/** Interned strings: each distinct text is kept once. */
class Texts {
  private readonly list: string[] = [];
  private readonly index = new Map<string, number>();

  intern(text: string, fallback: string): number {
    let i = this.index.get(text);
    if (i !== undefined) return i;
    if (this.list.length >= MAX_TEXTS) {
      if (text === fallback) throw new Error('timeline: the fallback text must be interned first');
      return this.intern(fallback, fallback);
    }
    i = this.list.length;
    this.list.push(text);
    this.index.set(text, i);
    return i;
  }

  get(i: number): string {
    return this.list[i]!;
  }

  chars(): number {
    let n = 0;
    for (const t of this.list) n += t.length;
    return n;
  }
}

/** A step-wise value: the steps where it changed and the value from each on (interned). */
class Track {
  readonly steps = new Steps();
  readonly values = new Ints();
  readonly table: bigint[] = [];
  private readonly index = new Map<bigint, number>();
  last: bigint;

  constructor(at: number, v: bigint) {
    this.last = v;
    this.steps.push(at);
    this.values.push(this.intern(v));
  }

  private intern(v: bigint): number {
    let i = this.index.get(v);
    if (i === undefined) {
      i = this.table.length;
      this.table.push(v);
      this.index.set(v, i);
    }
    return i;
  }

  set(step: number, v: bigint): void {
    if (v === this.last) return;
    this.last = v;
    const n = this.steps.length;
    // A change at the position of the last one (an edit where a step changed it) replaces it.
    if (n > 0 && this.steps.at(n - 1) === step) {
      this.values.set(n - 1, this.intern(v));
      return;
    }
    this.steps.push(step);
    this.values.push(this.intern(v));
  }

  valueAt(step: number): bigint {
    const k = this.steps.upperBound(step) - 1;
    return this.table[this.values.at(Math.max(0, k))]!;
  }

  cut(step: number): void {
    const keep = Math.max(1, this.steps.upperBound(step));
    this.steps.length = keep;
    this.values.length = keep;
    this.last = this.table[this.values.at(keep - 1)]!;
  }
}

/** Non-overlapping spans in step order, and the one still open. */
class Spans {
  readonly from = new Steps();
  readonly to = new Steps();
  readonly label = new Ints();
  readonly detail = new Ints();
  open: { from: number; label: number; detail: number } | null = null;

  begin(step: number, label: number, detail: number): void {
    this.open = { from: step, label, detail };
  }

  end(step: number, label?: number, detail?: number): void {
    const o = this.open;
    if (!o) return;
    this.open = null;
    if (step <= o.from) return; // nothing ran in it
    this.from.push(o.from);
    this.to.push(step);
    this.label.push(label ?? o.label);
    this.detail.push(detail ?? o.detail);
  }

  cut(step: number): void {
    // Spans that began after `step` go; the one that covered it is open again.
    if (this.open && this.open.from > step) this.open = null;
    let n = this.from.upperBound(step);
    if (n > 0 && this.to.at(n - 1) > step) {
      this.open = { from: this.from.at(n - 1), label: this.label.at(n - 1), detail: this.detail.at(n - 1) };
      n--;
    }
    this.truncate(n);
  }

  private truncate(n: number): void {
    this.from.length = n;
    this.to.length = n;
    this.label.length = n;
    this.detail.length = n;
  }
}

/** Marks of one kind on one lane, in step order. */
class Marks {
  readonly steps = new Steps();
  readonly text = new Ints();

  add(step: number, text: number): void {
    this.steps.push(step);
    this.text.push(text);
  }

  cut(step: number): void {
    const n = this.steps.upperBound(step);
    this.steps.length = n;
    this.text.length = n;
  }
}

interface Lane {
  readonly kind: 'cpu' | 'thread';
  readonly index: number;
  readonly run: Spans;
  readonly guest: Spans;
  readonly marks: Map<MarkKind, Marks>;
}

// ---- the window: what a view asks for ----------------------------------------------------------

export interface WindowSpan {
  /** run: a thread running (on a CPU lane, labelled with the thread; on a thread lane, with the CPU); guest: VM entry to VM exit. */
  readonly kind: 'run' | 'guest';
  readonly from: number;
  readonly to: number;
  /** The thread or CPU that ran; for a guest span the exit reason that ended it (or `in guest` while open). */
  readonly label: string;
  /** A guest span: what caused the exit. */
  readonly detail: string;
  /** Spans aggregated into this one (1 for a single span); `label` is then the first one's. */
  readonly count: number;
  /** Still open at the end of the recording. */
  readonly open: boolean;
}

export interface WindowMark {
  /** The kind drawn: the most severe in the bucket. */
  readonly kind: MarkKind;
  /** The step of the (first mark of the) drawn kind: where a click travels. */
  readonly step: number;
  readonly text: string;
  /** Marks in the bucket (1: this mark alone). */
  readonly count: number;
  /** For an aggregate: the bucket it covers and how many marks of each kind it holds. */
  readonly from: number;
  readonly to: number;
  readonly kinds: Readonly<Partial<Record<MarkKind, number>>>;
}

export interface WindowLane {
  /** `cpu0`, `thread2`. */
  readonly id: string;
  readonly kind: 'cpu' | 'thread';
  readonly index: number;
  readonly title: string;
  readonly spans: WindowSpan[];
  readonly marks: WindowMark[];
}

export interface WindowSegment {
  readonly from: number;
  readonly to: number;
  /** Index into the track's `values`: the value over the segment (for an aggregate, the value at its end). */
  readonly value: number;
  /** Changes inside an aggregate segment (0: a plain segment of one value). */
  readonly changes: number;
}

export interface WindowTrack {
  readonly id: string;
  readonly cpu: number;
  readonly register: TrackRegister;
  /** The values this window shows: exact 64-bit hex (never a JS number) and decoded. */
  readonly values: Array<{ readonly hex: string; readonly text: string }>;
  readonly segments: WindowSegment[];
}

export interface TimelineWindow {
  readonly from: number;
  readonly to: number;
  readonly buckets: number;
  /** First and last recorded positions. */
  readonly start: number;
  readonly end: number;
  readonly lanes: WindowLane[];
  readonly tracks: WindowTrack[];
}

export class TimelineError extends Error {}

/** The text a fired event's happening carries (Engine's event text), to tell events apart. */
function eventText(e: Program['events'][number]): string {
  return `event ${e.kind}${e.kind === 'external_interrupt' ? ` (vector ${e.vector})` : ''}${e.target ? ` ${e.target.process}.${e.target.thread}` : ''}`;
}

/** Exception vectors by number, as the SDM names them (Vol3 Table 6-1). */
const VECTORS: Readonly<Record<number, string>> = { 0: '#DE', 1: '#DB', 3: '#BP', 6: '#UD', 7: '#NM', 8: '#DF', 13: '#GP', 14: '#PF', 17: '#AC', 18: '#MC', 19: '#XM' };

export class TimelineRecorder {
  private readonly texts = new Texts();
  private readonly lanes: Lane[] = [];
  private readonly cpuLanes: Lane[] = [];
  private readonly threadLanes: Lane[] = [];
  private readonly threadNames: string[] = [];
  private readonly tracks: Track[][] = [];
  private readonly running: number[] = [];
  /** The last thread that ran on each CPU (for a switch's text). */
  private readonly lastRan: number[] = [];
  private readonly cpuNames: number[] = [];
  /** Program events that have acted (their happening seen): tells which one a happening is. */
  private acted: boolean[];
  private readonly eventTexts: string[];
  private first: number;
  private last: number;

  /**
   * `injected`: program events placed by the explorer (a counterexample's), drawn highlighted.
   * Records the state as it is now as the first position.
   */
  constructor(state: MachineState, private readonly program: Program, private readonly injected: ReadonlySet<number> = new Set()) {
    this.first = state.steps;
    this.last = state.steps;
    this.texts.intern('', '');
    this.eventTexts = program.events.map(eventText);
    this.acted = program.events.map(() => false);
    state.cpus.forEach((cpu, c) => {
      const lane = this.lane('cpu', c);
      this.cpuLanes.push(lane);
      this.cpuNames.push(this.texts.intern(`cpu${c}`, ''));
      this.tracks.push([
        new Track(this.first, cpu.xcr0), new Track(this.first, cpu.xfd), new Track(this.first, cpu.xfdErr), new Track(this.first, cpu.xinuse),
      ]);
      this.running.push(-1);
      this.lastRan.push(-1);
    });
    if (state.threads.length) this.threadLane(state.threads.length - 1, state);
    this.sync(state);
  }

  /** The first and last recorded positions. */
  get start(): number {
    return this.first;
  }

  get end(): number {
    return this.last;
  }

  private lane(kind: 'cpu' | 'thread', index: number): Lane {
    const l: Lane = { kind, index, run: new Spans(), guest: new Spans(), marks: new Map() };
    this.lanes.push(l);
    return l;
  }

  private threadLane(id: number, s: MachineState): Lane {
    while (this.threadLanes.length <= id) {
      const k = this.threadLanes.length;
      this.threadLanes.push(this.lane('thread', k));
      this.threadNames.push(s.threads[k]?.name ?? `thread ${k}`);
    }
    return this.threadLanes[id]!;
  }

  private mark(lane: Lane, kind: MarkKind, step: number, text: string): void {
    let m = lane.marks.get(kind);
    if (!m) lane.marks.set(kind, (m = new Marks()));
    m.add(step, this.texts.intern(text, kind));
  }

  /** Running threads and guest mode as the state has them now: spans open or close at `this.last`. */
  private sync(s: MachineState): void {
    const p = this.last;
    for (let c = 0; c < s.cpus.length; c++) {
      const now = s.running[c]!;
      if (now !== this.running[c]) this.switchTo(s, c, now, p);
      // Guest mode: a span opens at a VM entry and closes at the exit; an edit may have changed neither.
      const inGuest = s.cpus[c]!.vmx.mode === 'non-root';
      const g = this.cpuLanes[c]!.guest;
      if (inGuest && !g.open && now >= 0) this.enterGuest(s, c, now, p, '');
      if (!inGuest && g.open) this.leaveGuest(s, c, this.running[c]!, p, this.texts.intern('left the guest', ''), 0);
    }
  }

  private switchTo(s: MachineState, c: number, now: number, p: number): void {
    const before = this.running[c]!;
    const cpuLane = this.cpuLanes[c]!;
    cpuLane.run.end(p);
    if (before >= 0) this.threadLane(before, s).run.end(p);
    this.running[c] = now;
    if (now < 0) return;
    const th = this.threadLane(now, s);
    cpuLane.run.begin(p, this.texts.intern(this.threadNames[now]!, ''), 0);
    th.run.begin(p, this.cpuNames[c]!, 0);
    const prev = this.lastRan[c]!;
    if (prev !== now && p > this.first) {
      this.mark(cpuLane, 'switch', p, `cpu${c} runs ${this.threadNames[now]}${prev >= 0 ? ` (after ${this.threadNames[prev]})` : ''}`);
    }
    this.lastRan[c] = now;
  }

  private enterGuest(s: MachineState, c: number, thread: number, p: number, vcpu: string): void {
    const label = this.texts.intern(vcpu ? `guest (${vcpu})` : 'guest', 'guest');
    this.cpuLanes[c]!.guest.begin(p, label, 0);
    if (thread >= 0) this.threadLane(thread, s).guest.begin(p, label, 0);
  }

  private leaveGuest(s: MachineState, c: number, thread: number, p: number, label: number, detail: number): void {
    this.cpuLanes[c]!.guest.end(p, label, detail);
    if (thread >= 0) this.threadLane(thread, s).guest.end(p, label, detail);
  }

  /** Call after every step with what the step returned. Positions already recorded are ignored. */
  record(s: MachineState, h: readonly Happening[]): void {
    const p = s.steps;
    if (p <= this.last) return;
    this.last = p;
    if (s.threads.length > this.threadLanes.length) this.threadLane(s.threads.length - 1, s);
    const cpus = s.cpus;
    for (let c = 0; c < cpus.length; c++) {
      const cpu = cpus[c]!;
      const t = this.tracks[c]!;
      if (cpu.xcr0 !== t[0]!.last) t[0]!.set(p, cpu.xcr0);
      if (cpu.xfd !== t[1]!.last) t[1]!.set(p, cpu.xfd);
      if (cpu.xfdErr !== t[2]!.last) t[2]!.set(p, cpu.xfdErr);
      if (cpu.xinuse !== t[3]!.last) t[3]!.set(p, cpu.xinuse);
      const now = s.running[c]!;
      if (now !== this.running[c]) this.switchTo(s, c, now, p);
    }
    if (h.length) this.happenings(s, p, h);
    // KVM's event injection (a VM entry delivering an exception to the guest) is in the trace only.
    const tr = s.trace;
    for (let k = tr.length - 1; k >= 0 && tr[k]!.step === p; k--) {
      const x = tr[k]!;
      if (x.kind !== 'inject') continue;
      const v = /vector (\d+)/.exec(x.text);
      const vector = v ? Number(v[1]) : -1;
      const th = s.running[x.cpu]!;
      const text = `${x.text}${VECTORS[vector] ? ` (${VECTORS[vector]})` : ''}`;
      this.mark(this.cpuLanes[x.cpu]!, vector === 7 ? 'nm' : 'fault', p, text);
      if (th >= 0) this.mark(this.threadLane(th, s), vector === 7 ? 'nm' : 'fault', p, text);
    }
  }

  private happenings(s: MachineState, p: number, h: readonly Happening[]): void {
    for (const x of h) {
      switch (x.kind) {
        case 'vmentry': {
          const vcpu = s.heap[x.vcpu]?.fields.vcpu_id;
          this.enterGuest(s, x.cpu, x.thread, p, typeof vcpu === 'bigint' ? `vcpu ${vcpu}` : '');
          break;
        }
        case 'vmexit': {
          const failed = (x.exit.reason & 0x80000000) !== 0 || !this.cpuLanes[x.cpu]!.guest.open;
          const cause = x.exit.cause ?? '';
          if (failed) {
            const text = `VM entry failed: ${x.exit.name}${cause ? ` (${cause})` : ''}`;
            this.both(s, x.cpu, x.thread, 'fault', p, text);
            break;
          }
          this.leaveGuest(s, x.cpu, x.thread, p, this.texts.intern(x.exit.name, 'VM exit'), this.texts.intern(cause, ''));
          // An exception the VMCS intercepts (SDM Vol3 27.2.2: exit reason 0, interruption type 3
          // hardware or 6 software exception, vector in bits 7:0): the guest's fault, as a mark.
          const type = (x.exit.intrInfo >>> 8) & 7;
          if ((x.exit.reason & 0xffff) === 0 && (x.exit.intrInfo & 0x80000000) !== 0 && (type === 3 || type === 6)) {
            const vector = x.exit.intrInfo & 0xff;
            const text = `guest ${VECTORS[vector] ?? `vector ${vector}`}, intercepted: VM exit ${x.exit.name}${cause ? ` (${cause})` : ''}`;
            this.both(s, x.cpu, x.thread, vector === 7 ? 'nm' : 'fault', p, text);
          }
          break;
        }
        case 'exception':
          this.both(s, x.cpu, x.thread, x.fault.vector === 7 ? 'nm' : 'fault', p, `${x.guest ? 'guest' : 'host'} ${x.fault.reason}`);
          break;
        case 'event': {
          const i = this.eventOf(s, x.text);
          const kind: MarkKind = i >= 0 && this.injected.has(i) ? 'injected'
            : /external_interrupt|fpu_irq/.test(x.text) ? 'interrupt' : 'event';
          this.both(s, x.cpu, x.thread, kind, p, `${x.text}${kind === 'injected' ? ' (placed by the explorer)' : ''}`);
          break;
        }
        case 'assertion':
          this.both(s, x.cpu, x.thread, 'assertion', p, `assertion failed: ${x.message} (${x.file.split('/').pop()}:${x.line})`);
          break;
        case 'invariant': {
          const v = x.violation;
          const th = s.threads.findIndex((t) => t.name === v.thread);
          const text = v.deviation ? `known deviation: ${v.name}: ${v.text}` : `invariant ${v.name} violated: ${v.text}`;
          this.both(s, v.cpu, th, v.deviation ? 'deviation' : 'invariant', p, text);
          break;
        }
        case 'thread-end':
          this.mark(this.threadLane(x.thread, s), 'thread-end', p, x.text);
          break;
        case 'error':
        case 'oops': {
          const th = s.lastThread;
          const c = th >= 0 ? s.threads[th]!.cpu : 0;
          this.both(s, c, th, 'error', p, x.text);
          break;
        }
        default:
          break;
      }
    }
  }

  /** A mark on a CPU's lane and on a thread's. */
  private both(s: MachineState, cpu: number, thread: number, kind: MarkKind, p: number, text: string): void {
    const lane = this.cpuLanes[cpu];
    if (lane) this.mark(lane, kind, p, text);
    if (thread >= 0) this.mark(this.threadLane(thread, s), kind, p, text);
  }

  /**
   * Which program event a happening is: one that has fired and is no longer held back, that has
   * not acted before, and whose text is the happening's (-1 when none fits).
   */
  private eventOf(s: MachineState, text: string): number {
    let fallback = -1;
    for (let i = 0; i < this.acted.length; i++) {
      if (this.acted[i] || !s.events[i]?.fired || s.deferred.some((q) => q.includes(i))) continue;
      if (this.eventTexts[i] === text) { this.acted[i] = true; return i; }
      if (fallback < 0) fallback = i;
    }
    if (fallback >= 0) this.acted[fallback] = true;
    return fallback;
  }

  /**
   * The state was changed by hand at its position (setVariable, writeMemory): what was recorded
   * after it goes, and the edited values become the values from there on.
   */
  edited(s: MachineState): void {
    const p = s.steps;
    for (const t of this.tracks) for (const x of t) x.cut(p);
    for (const l of this.lanes) {
      l.run.cut(p);
      l.guest.cut(p);
      for (const m of l.marks.values()) m.cut(p);
    }
    this.last = Math.max(this.first, Math.min(this.last, p));
    s.cpus.forEach((cpu, c) => {
      const t = this.tracks[c]!;
      t[0]!.set(p, cpu.xcr0);
      t[1]!.set(p, cpu.xfd);
      t[2]!.set(p, cpu.xfdErr);
      t[3]!.set(p, cpu.xinuse);
      // The running thread as the spans say it at p (thread names are unique: process.thread).
      const open = this.cpuLanes[c]!.run.open;
      this.running[c] = open ? this.threadNames.indexOf(this.texts.get(open.label)) : -1;
      if (this.running[c]! >= 0) this.lastRan[c] = this.running[c]!;
    });
    this.acted = this.program.events.map((_, i) => (s.events[i]?.fired ?? false) && !s.deferred.some((q) => q.includes(i)));
    this.sync(s);
  }

  /** Bytes the recording holds, about: its columns and its texts (for the benchmark). */
  storedBytes(): number {
    let n = 0;
    for (const t of this.tracks) for (const x of t) n += x.steps.data.byteLength + x.values.data.byteLength + x.table.length * 16;
    for (const l of this.lanes) {
      for (const sp of [l.run, l.guest]) n += sp.from.data.byteLength + sp.to.data.byteLength + sp.label.data.byteLength + sp.detail.data.byteLength;
      for (const m of l.marks.values()) n += m.steps.data.byteLength + m.text.data.byteLength;
    }
    return n + this.texts.chars() * 2;
  }

  /** A register's value after step `step` (for tests and hovers). */
  valueAt(cpu: number, register: TrackRegister, step: number): bigint {
    const t = this.tracks[cpu];
    if (!t) throw new TimelineError(`no cpu${cpu}`);
    return t[TRACK_REGISTERS.indexOf(register)]!.valueAt(step);
  }

  /** Marks recorded, of every kind and lane (for tests: a lane's marks in step order). */
  marksOf(lane: string): Array<{ kind: MarkKind; step: number; text: string }> {
    const l = this.laneById(lane);
    const out: Array<{ kind: MarkKind; step: number; text: string }> = [];
    for (const [kind, m] of l.marks) for (let i = 0; i < m.steps.length; i++) out.push({ kind, step: m.steps.at(i), text: this.texts.get(m.text.at(i)) });
    return out.sort((a, b) => a.step - b.step || MARK_KINDS.indexOf(a.kind) - MARK_KINDS.indexOf(b.kind));
  }

  private laneById(id: string): Lane {
    const m = /^(cpu|thread)(\d+)$/.exec(id);
    const l = m ? (m[1] === 'cpu' ? this.cpuLanes : this.threadLanes)[Number(m[2])] : undefined;
    if (!l) throw new TimelineError(`no lane '${id}'`);
    return l;
  }

  // ---- windows --------------------------------------------------------------------------------

  /**
   * What a view of [from, to) at `buckets` columns shows: spans, marks and value segments, with
   * everything that shares a bucket aggregated. Cost: O(buckets · log n) per list, whatever the run's length.
   */
  window(from: number, to: number, buckets: number): TimelineWindow {
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to <= from) {
      throw new TimelineError(`a window needs whole steps with 0 <= from < to (got from ${from}, to ${to})`);
    }
    if (!Number.isInteger(buckets) || buckets < 1 || buckets > MAX_BUCKETS) {
      throw new TimelineError(`buckets must be a whole number from 1 to ${MAX_BUCKETS} (got ${buckets})`);
    }
    const width = (to - from) / buckets;
    const lanes: WindowLane[] = [];
    const laneOut = (l: Lane): WindowLane => ({
      id: `${l.kind}${l.index}`, kind: l.kind, index: l.index,
      title: l.kind === 'cpu' ? `cpu${l.index}` : this.threadNames[l.index]!,
      spans: [...this.spanWindow(l.run, 'run', from, to, width), ...this.spanWindow(l.guest, 'guest', from, to, width)],
      marks: this.markWindow(l, from, to, width),
    });
    for (const l of this.cpuLanes) lanes.push(laneOut(l));
    for (const l of this.threadLanes) lanes.push(laneOut(l));
    const tracks: WindowTrack[] = [];
    this.tracks.forEach((t, c) => t.forEach((x, r) => tracks.push(this.trackWindow(x, c, TRACK_REGISTERS[r]!, from, to, width))));
    return { from, to, buckets, start: this.first, end: this.last, lanes, tracks };
  }

  /** The bucket boundary after step s. */
  private static bucketEnd(s: number, from: number, width: number): number {
    const e = from + (Math.floor((s - from) / width) + 1) * width;
    // Rounding may put the boundary at or before s: the bucket must hold s.
    return e > s ? e : e + width > s ? e + width : s + width;
  }

  private spanWindow(sp: Spans, kind: 'run' | 'guest', from: number, to: number, width: number): WindowSpan[] {
    const out: WindowSpan[] = [];
    const n = sp.from.length;
    const single = (k: number): WindowSpan => ({
      kind, from: sp.from.at(k), to: sp.to.at(k), label: this.texts.get(sp.label.at(k)), detail: this.texts.get(sp.detail.at(k)), count: 1, open: false,
    });
    if (!(width > 0)) return out;
    // The first closed span that ends after `from`: spans do not overlap, so their ends ascend too.
    // A span of a column or more is drawn as it is; shorter ones closer than a column to each other
    // become one aggregate (a dense stretch is one bar, whatever its length). Each pass takes the
    // short spans that start in one column, so the passes are at most twice the columns.
    let k = sp.to.upperBound(from);
    while (k < n && sp.from.at(k) < to) {
      const a = sp.from.at(k);
      const b = sp.to.at(k);
      if (b - a >= width) { out.push(single(k)); k++; continue; }
      const end = TimelineRecorder.bucketEnd(Math.max(a, from), from, width);
      let j = sp.from.lowerBound(end, k);
      // The last one of the column reaches into the next: it goes with the next column.
      if (j > k + 1 && sp.to.at(j - 1) > end) j--;
      const prev = out[out.length - 1];
      if (prev && (prev.count > 1 || prev.to - prev.from < width) && a - prev.to < width) {
        out[out.length - 1] = { ...prev, to: sp.to.at(j - 1), count: prev.count + j - k, detail: '' };
      } else if (j === k + 1) {
        out.push(single(k));
      } else {
        out.push({ kind, from: a, to: sp.to.at(j - 1), label: this.texts.get(sp.label.at(k)), detail: '', count: j - k, open: false });
      }
      k = j;
    }
    const o = sp.open;
    if (o && o.from < to && this.last + 1 > from) {
      out.push({ kind, from: o.from, to: this.last + 1, label: kind === 'guest' ? 'in guest' : this.texts.get(o.label), detail: '', count: 1, open: true });
    }
    return out;
  }

  private markWindow(l: Lane, from: number, to: number, width: number): WindowMark[] {
    // Walk the buckets that hold a mark: the next mark of any kind, then count each kind in its bucket.
    const lists = MARK_KINDS.map((kind) => ({ kind, m: l.marks.get(kind) })).filter((x): x is { kind: MarkKind; m: Marks } => x.m !== undefined && x.m.steps.length > 0);
    if (!lists.length) return [];
    const at = lists.map((x) => x.m.steps.lowerBound(from));
    const out: WindowMark[] = [];
    for (;;) {
      let next = Infinity;
      lists.forEach((x, i) => { if (at[i]! < x.m.steps.length) next = Math.min(next, x.m.steps.at(at[i]!)); });
      if (next >= to) break;
      const end = Math.min(to, TimelineRecorder.bucketEnd(next, from, width));
      const begin = end - width;
      const kinds: Partial<Record<MarkKind, number>> = {};
      let count = 0;
      let drawn: { kind: MarkKind; step: number; text: string } | null = null;
      lists.forEach((x, i) => {
        const j = x.m.steps.lowerBound(end, at[i]!);
        const c = j - at[i]!;
        if (c > 0) {
          kinds[x.kind] = c;
          count += c;
          // Lists are in severity order: the first kind with marks here is the one drawn.
          if (!drawn) drawn = { kind: x.kind, step: x.m.steps.at(at[i]!), text: this.texts.get(x.m.text.at(at[i]!)) };
        }
        at[i] = j;
      });
      const d = drawn as { kind: MarkKind; step: number; text: string } | null;
      if (!d) break;
      out.push({ kind: d.kind, step: d.step, text: d.text, count, from: count > 1 ? Math.max(from, begin) : d.step, to: count > 1 ? end : d.step + 1, kinds });
    }
    return out;
  }

  private trackWindow(t: Track, cpu: number, register: TrackRegister, from: number, to: number, width: number): WindowTrack {
    const values: Array<{ hex: string; text: string }> = [];
    const index = new Map<number, number>();
    const valueIndex = (k: number): number => {
      const v = t.values.at(k);
      let i = index.get(v);
      if (i === undefined) {
        const x = t.table[v]!;
        i = values.length;
        values.push({ hex: `0x${x.toString(16)}`, text: register === 'XCR0' || register === 'XINUSE' || register.startsWith('IA32_XFD') ? formatMask(x) : `0x${x.toString(16)}` });
        index.set(v, i);
      }
      return i;
    };
    const segments: WindowSegment[] = [];
    const push = (a: number, b: number, value: number, changes: number): void => {
      if (b <= a) return;
      const prev = segments[segments.length - 1];
      if (prev && prev.changes === 0 && changes === 0 && prev.value === value && prev.to === a) {
        segments[segments.length - 1] = { ...prev, to: b };
        return;
      }
      // Aggregates in neighbouring columns merge (a value that changes in every column is one stretch).
      if (prev && prev.changes > 0 && changes > 0 && a - prev.to < width) {
        segments[segments.length - 1] = { from: prev.from, to: b, value, changes: prev.changes + changes };
        return;
      }
      segments.push({ from: a, to: b, value, changes });
    };
    const n = t.steps.length;
    // The value at the last position is drawn over [end, end + 1), like every other position.
    const stop = Math.min(to, Math.max(this.last + 1, from + 1));
    let k = t.steps.upperBound(from); // the first change after `from`
    let cur = valueIndex(Math.max(0, k - 1));
    let cursor = from;
    while (k < n && t.steps.at(k) < stop) {
      const s = t.steps.at(k);
      const end = TimelineRecorder.bucketEnd(s, from, width);
      const j = t.steps.lowerBound(end, k);
      if (j === k + 1 || width <= 1) {
        push(cursor, s, cur, 0);
        cursor = s;
        cur = valueIndex(k);
        k++;
        continue;
      }
      // Several changes in this bucket: one aggregate segment over the bucket, then the value it ends with.
      // (A boundary a rounding error away from the cursor is the cursor: no sliver of a segment.)
      const a = end - width - cursor > 1e-9 * width ? end - width : cursor;
      push(cursor, a, cur, 0);
      const b = Math.min(end, stop);
      push(a, b, valueIndex(j - 1), j - k);
      cursor = b;
      cur = valueIndex(j - 1);
      k = j;
    }
    push(cursor, stop, cur, 0);
    return { id: `cpu${cpu}.${register}`, cpu, register, values, segments };
  }
}
