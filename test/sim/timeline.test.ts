// The run timeline's recorder (src/sim/timeline.ts): spans, marks and value tracks at exact steps
// of the seed scenario, what it ignores (replayed positions) and what it cuts (an edit), the
// windows over a long run (aggregated per column, their size independent of the run's length), and
// a counterexample's placed events. Exits with an exception vector are SDM Vol3 27.2.2 (exit
// reason 0, interruption type 3); a VM-entry injection is KVM's (`inject vector 7`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explore } from '../../src/host/explore-runner';
import { FileGate, nodeFiles } from '../../src/host/files';
import type { Engine } from '../../src/sim/engine';
import { placedEvents } from '../../src/sim/explore/counterexample';
import { History } from '../../src/sim/history';
import { loadScenario } from '../../src/sim/scenario';
import { MAX_BUCKETS, TimelineRecorder, type WindowSpan } from '../../src/sim/timeline';

const root = join(__dirname, '..', '..', '..');
const example = join(root, 'examples', 'xfd-err-leak.xsave');
const policy = (name: string) => join(root, 'src', 'kernel', 'policies', `${name}.xsave`);

function engine(file: string, p: string, files = nodeFiles): Engine {
  const loaded = loadScenario(file, files, { policy: policy(p) });
  assert.ok(loaded.engine, loaded.diagnostics.map((d) => d.message).join('\n'));
  return loaded.engine;
}

/** Runs to the end, recording every step. */
function recorded(e: Engine, injected?: Set<number>): TimelineRecorder {
  const r = new TimelineRecorder(e.state, e.program, injected);
  while (!e.state.halted) r.record(e.state, e.step());
  return r;
}

const spans = (r: TimelineRecorder, lane: string, kind: 'run' | 'guest', buckets = MAX_BUCKETS): Array<[number, number, string]> =>
  r.window(0, r.end + 1, buckets).lanes.find((l) => l.id === lane)!.spans.filter((s) => s.kind === kind).map((s) => [s.from, s.to, s.label]);

test('linux-5.17: guest spans from VM entry to exit with the exit reason, the threads that ran, and the intercepted guest #NM at step 2156', () => {
  const r = recorded(engine(example, 'linux-5.17'));
  assert.equal(r.end, 2752);
  assert.deepEqual(spans(r, 'cpu0', 'guest'), [
    [2035, 2036, 'XSETBV'], [2083, 2085, 'MSR_WRITE'], [2153, 2156, 'EXCEPTION_NMI'], [2213, 2214, 'EXTERNAL_INTERRUPT'], [2627, 2630, 'MSR_WRITE'], [2682, 2685, 'HLT'],
  ]);
  assert.deepEqual(spans(r, 'thread2', 'guest'), spans(r, 'cpu0', 'guest'), 'the vCPU thread ran every guest stretch');
  assert.deepEqual(spans(r, 'cpu0', 'run'), [
    [1, 405, 'kernel.start_kernel'], [406, 674, 'qemu.main'], [675, 2243, 'qemu.vcpu0'], [2243, 2585, 'other.main'], [2586, 2752, 'qemu.vcpu0'],
  ]);
  assert.deepEqual(spans(r, 'thread3', 'run'), [[2243, 2585, 'cpu0']]);
  const marks = r.marksOf('cpu0').filter((m) => m.kind !== 'switch');
  assert.deepEqual(marks.map((m) => [m.step, m.kind]), [[2156, 'nm'], [2213, 'nm'], [2214, 'interrupt'], [2232, 'event'], [2524, 'nm']]);
  assert.equal(marks[0]!.text, 'guest #NM, intercepted: VM exit EXCEPTION_NMI (#NM: TILELOADD uses XTILEDATA, disabled by IA32_XFD; IA32_XFD_ERR := 0x40000)');
  assert.equal(marks[1]!.text, 'cpu0 inject vector 7 into the guest (#NM)');
  assert.equal(marks[4]!.text, 'host #NM: TILELOADD uses XTILEDATA, disabled by IA32_XFD; IA32_XFD_ERR := 0x40000');
  assert.deepEqual(r.marksOf('cpu0').filter((m) => m.kind === 'switch').map((m) => [m.step, m.text]), [
    [1, 'cpu0 runs kernel.start_kernel'], [406, 'cpu0 runs qemu.main (after kernel.start_kernel)'], [675, 'cpu0 runs qemu.vcpu0 (after qemu.main)'],
    [2243, 'cpu0 runs other.main (after qemu.vcpu0)'], [2586, 'cpu0 runs qemu.vcpu0 (after other.main)'],
  ]);
  assert.deepEqual(r.marksOf('thread3').map((m) => [m.step, m.kind]), [[2524, 'nm'], [2585, 'thread-end']]);
});

test('linux-5.17: IA32_XFD_ERR, IA32_XFD, XCR0 and XINUSE after exact steps (SDM Vol1 13.14: the #NM writes XFD_ERR)', () => {
  const r = recorded(engine(example, 'linux-5.17'));
  const at = (reg: 'XCR0' | 'IA32_XFD' | 'IA32_XFD_ERR' | 'XINUSE', s: number) => r.valueAt(0, reg, s);
  assert.equal(at('IA32_XFD_ERR', 2155), 0n);
  assert.equal(at('IA32_XFD_ERR', 2156), 0x40000n, 'the guest TILELOADD #NM sets XFD_ERR[18]');
  assert.equal(at('IA32_XFD_ERR', 2175), 0n, 'KVM saved and cleared it before enabling interrupts');
  assert.equal(at('IA32_XFD_ERR', 2208), 0x40000n, 'restored for the guest before the next entry');
  assert.equal(at('IA32_XFD', 2122), 0n);
  assert.equal(at('IA32_XFD', 2123), 0x40000n);
  assert.equal(at('XCR0', 0), 1n, 'RESET: XCR0 = 1 (SDM Vol3A 2.6)');
  assert.equal(at('XCR0', 2082), 0x60007n, "the guest's XCR0 loaded for entry");
  assert.equal(at('XCR0', 2162), 0x602e7n, "the host's again after the exit");
  assert.equal(at('XINUSE', 2154), 0n);
  assert.equal(at('XINUSE', 2155), 0x20000n, 'LDTILECFG: XTILECFG leaves its initial configuration');
  // In a window, the segment that starts at 2156 holds 0x40000 as hex text.
  const w = r.window(0, r.end + 1, MAX_BUCKETS);
  const t = w.tracks.find((x) => x.id === 'cpu0.IA32_XFD_ERR')!;
  const seg = t.segments.find((s) => s.from === 2156)!;
  assert.deepEqual([seg.to, t.values[seg.value]], [2175, { hex: '0x40000', text: '0x40000 [XTILEDATA]' }]);
  assert.deepEqual(w.tracks.map((x) => x.id), ['cpu0.XCR0', 'cpu0.IA32_XFD', 'cpu0.IA32_XFD_ERR', 'cpu0.XINUSE']);
});

test('naive: the guest #NM delivered to the guest, then invariant violations and the failed assertion as red marks at their steps', () => {
  const r = recorded(engine(example, 'naive'));
  const m = r.marksOf('thread2').filter((x) => x.kind !== 'switch');
  assert.deepEqual(m.map((x) => [x.step, x.kind]), [
    [2127, 'nm'], [2129, 'interrupt'], [2139, 'invariant'], [2140, 'event'], [2537, 'invariant'], [2538, 'invariant'], [2539, 'assertion'], [2646, 'thread-end'],
  ]);
  assert.equal(m[0]!.text, 'guest #NM: TILELOADD uses XTILEDATA, disabled by IA32_XFD; IA32_XFD_ERR := 0x40000');
  assert.match(m[2]!.text, /^invariant host-sees-guest-xfd-err violated: interrupts are enabled with IA32_XFD_ERR = 0x40000/);
  assert.equal(m[6]!.text, 'assertion failed: guest lost its XFD_ERR (xfd-err-leak.xsave:16)');
  assert.deepEqual(r.marksOf('thread3').map((x) => [x.step, x.kind]), [[2190, 'invariant'], [2435, 'nm'], [2496, 'thread-end']]);
});

test('replayed positions are not recorded twice; an edit cuts the recording at its step and records the edited value there', () => {
  const e = engine(example, 'linux-5.17');
  const r = new TimelineRecorder(e.state, e.program);
  const h = new History(e, { save: () => 0, load: () => {} }, 64);
  const step = () => { const x = e.step(); h.afterStep(); r.record(e.state, x); };
  while (e.state.steps < 2300 && !e.state.halted) step();
  const before = JSON.stringify(r.window(0, 2301, 500));
  h.travel(2100, step);
  assert.equal(e.state.steps, 2100);
  h.travel(2300, step);
  assert.equal(JSON.stringify(r.window(0, 2301, 500)), before, 'travelling back and forth changed nothing');
  h.travel(2160, step);
  e.state.cpus[0]!.xfdErr = 0x40000n | 0x20000n;
  h.edited();
  r.edited(e.state);
  assert.equal(r.end, 2160);
  assert.equal(r.valueAt(0, 'IA32_XFD_ERR', 2160), 0x60000n);
  assert.equal(r.valueAt(0, 'IA32_XFD_ERR', 2159), 0x40000n);
  assert.deepEqual(r.marksOf('cpu0').filter((m) => m.step > 2160), []);
  // The vCPU thread still runs at 2160: its span is open again, and the edited run (which goes
  // elsewhere: XFD_ERR now has a bit no #NM set) closes it where it next switches.
  while (e.state.steps < 2300 && !e.state.halted) step();
  const run = spans(r, 'cpu0', 'run').find((s) => s[2] === 'qemu.vcpu0' && s[0] === 675)!;
  assert.ok(run[1] > 2160, `${run}`);
  assert.ok(r.marksOf('cpu0').some((m) => m.step === run[1] && (m.kind === 'switch' || m.kind === 'error')) || run[1] === r.end + 1, `${run} ends where the new run switches`);
  assert.ok(r.end > 2160);
});

/** A guest that writes XCR0 `n` times: each XSETBV exits to KVM (SDM Vol3 25.1.2: XSETBV always exits). */
function longScenario(n: number): string {
  return `cpu "sapphire-rapids";
guest {
  fn main() {
    let i = 0;
    while (i != ${n}) {
      xsetbv(0, XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM);
      i = i + 1;
    }
    hlt();
  }
}
host qemu {
  thread vcpu0 {
    vcpu = kvm_create_vcpu();
    kvm_set_cpuid(vcpu, kvm_cpuid_xcr0(XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM));
    while (kvm_run(vcpu) != KVM_EXIT_HLT) {}
  }
}
`;
}

test('windows over a long run: one aggregate per column, counts that add up, and the same answer size whatever the run length', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xsave-timeline-'));
  const file = join(dir, 'long.xsave');
  writeFileSync(file, longScenario(1500));
  const e = engine(file, 'linux-5.17', new FileGate([dir]));
  let entries = 0;
  const r = new TimelineRecorder(e.state, e.program);
  while (!e.state.halted) {
    const h = e.step();
    entries += h.filter((x) => x.kind === 'vmentry').length;
    r.record(e.state, h);
  }
  assert.ok(entries > 1500, `${entries} VM entries`);
  const sum = (xs: WindowSpan[]) => xs.reduce((k, s) => k + s.count, 0);
  for (const buckets of [1, 7, 100, 1000]) {
    const w = r.window(0, r.end + 1, buckets);
    const guest = w.lanes[0]!.spans.filter((s) => s.kind === 'guest');
    assert.equal(sum(guest), entries, `${buckets} columns: every VM entry counted once`);
    assert.ok(guest.length <= 2 * buckets + 2, `${buckets} columns: ${guest.length} spans`);
    for (let k = 1; k < guest.length; k++) assert.ok(guest[k]!.from >= guest[k - 1]!.to, 'spans in order, not overlapping');
    // XCR0 changes at every exit and entry: the segments' changes add up to all of them.
    const xcr0 = w.tracks.find((t) => t.id === 'cpu0.XCR0')!;
    const plain = xcr0.segments.filter((s) => s.changes === 0).length;
    const changes = xcr0.segments.reduce((k, s) => k + s.changes, 0);
    assert.ok(xcr0.segments.length <= 2 * buckets + 2);
    assert.ok(changes + plain >= 2 * entries - 1, `${buckets} columns: ${changes} aggregated + ${plain} plain XCR0 segments for ${entries} entries`);
  }
  // At full resolution over a short stretch, the spans are exactly those recorded.
  const fine = r.window(20_000, 20_400, 400).lanes[0]!.spans.filter((s) => s.kind === 'guest');
  assert.ok(fine.length > 3 && fine.every((s) => s.count === 1 && s.label === 'XSETBV'));
  // The answer's size depends on the columns, not on the run: 100 columns of the long run are
  // about as big as 100 columns of its first tenth.
  const size = (a: number, b: number) => JSON.stringify(r.window(a, b, 100)).length;
  const all = size(0, r.end + 1);
  const tenth = size(0, Math.floor(r.end / 10));
  assert.ok(all < 2 * tenth, `${all} characters for the whole run, ${tenth} for a tenth`);
});

test('bad windows are refused with what to send', () => {
  const r = new TimelineRecorder(engine(example, 'linux-5.17').state, engine(example, 'linux-5.17').program);
  assert.throws(() => r.window(5, 5, 10), /0 <= from < to \(got from 5, to 5\)/);
  assert.throws(() => r.window(-1, 5, 10), /0 <= from < to/);
  assert.throws(() => r.window(0, 5, 0), /buckets must be a whole number from 1 to 10000 \(got 0\)/);
  assert.throws(() => r.window(0, 5, 1.5), /buckets must be a whole number/);
  assert.throws(() => r.marksOf('gpu0'), /no lane 'gpu0'/);
});

test("a counterexample's placed events are found in its file and drawn as 'injected' marks", async () => {
  const res = await explore({
    file: join(root, 'test', 'fixtures', 'xfd-err-leak-no-events.xsave'), policy: policy('naive'),
    bounds: { interrupts: 1, preemptions: 0, fpuIrqs: 0 }, invariants: ['host-sees-guest-xfd-err'], workers: 0,
  });
  const c = res.counterexample!;
  const dir = mkdtempSync(join(tmpdir(), 'xsave-ce-'));
  const file = join(dir, 'leak.counterexample.xsave');
  writeFileSync(file, c.text);
  const e = engine(file, 'naive', new FileGate([dir]));
  const placed = placedEvents(e.program, c.text);
  assert.deepEqual([...placed], [0]);
  assert.deepEqual([...placedEvents(e.program, c.text.replace(/^\/\/ Counterexample/, '// An example'))], [], 'only a counterexample file has placed events');
  const r = recorded(e, placed);
  const injected = r.marksOf('cpu0').filter((m) => m.kind === 'injected');
  assert.deepEqual(injected.map((m) => [m.step, m.text]), [[c.placements[0]!.depth + 1, 'event external_interrupt (vector 32) (placed by the explorer)']]);
});
