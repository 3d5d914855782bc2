// What a step touches (src/sim/footprint.ts), which the explorer's sleep sets rest on
// (docs/explorer.md, "Reductions" 5): a step that only computes, reads kernel objects, runs CPUID
// and loads or stores memory commutes with an event's handler that touches none of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ExploreResult, explore } from '../../src/host/explore-runner';
import { loadScenarioFile } from '../../src/host/scenario-file';
import { type Footprint, clearFootprint, independent, newFootprint } from '../../src/sim/footprint';
import { scenario } from '../runtime/support';

function fp(parts: Partial<{ objR: number[]; objW: number[]; regR: number[]; regW: number[]; cpu: boolean; other: boolean }>): Footprint {
  const f = newFootprint();
  for (const o of parts.objR ?? []) f.objR.add(o);
  for (const o of parts.objW ?? []) f.objW.add(o);
  for (const r of parts.regR ?? []) f.regR.add(r);
  for (const r of parts.regW ?? []) f.regW.add(r);
  f.cpu = parts.cpu ?? false;
  f.other = parts.other ?? false;
  return f;
}

test('independent: a step commutes with a handler unless one writes what the other reads or writes', () => {
  const handler = fp({ objR: [1], objW: [2], regR: [10], regW: [11], other: true });
  assert.equal(independent(fp({ objR: [1, 3], regR: [12], regW: [13] }), handler), true, 'both read object 1: no conflict');
  assert.equal(independent(fp({ objR: [2] }), handler), false, 'the handler writes object 2, which the step reads');
  assert.equal(independent(fp({ regR: [11] }), handler), false, 'the handler writes region 11, which the step reads');
  assert.equal(independent(fp({ regW: [10] }), handler), false, 'the step writes region 10, which the handler reads');
  assert.equal(independent(fp({ regW: [11] }), handler), false, 'both write region 11');
  assert.equal(independent(fp({ objW: [7] }), handler), false, 'a step that writes an object field is never taken as commuting');
  assert.equal(independent(fp({ other: true }), fp({})), false, 'a step that did anything else is never taken as commuting');
  assert.equal(independent(fp({ cpu: true }), fp({ cpu: true })), false, 'CPUID after a handler that left XCR0, XSS or CR4 changed');
  assert.equal(independent(fp({ cpu: true }), fp({ other: true })), true, 'CPUID after a handler that changed nothing CPUID reads');
});

test('the engine records what each step of KVM_GET_SUPPORTED_CPUID touches: the user buffer it fills, CPUID, the system call itself', () => {
  const file = scenario('footprint.xsave', `cpu "sapphire-rapids";
policy "linux-6.19";
host qemu {
  thread t {
    let cpuid2 = kvm_get_supported_cpuid();
  }
}
`);
  const loaded = loadScenarioFile({ file });
  assert.equal(loaded.kind, 'loaded');
  if (loaded.kind !== 'loaded') return;
  const e = loaded.engine;
  const f = newFootprint();
  const seen = { syscall: false, storeToUserBuffer: false, cpuid: false, fieldRead: false };
  for (let n = 0; n < 20_000 && !e.state.halted; n++) {
    const th = e.state.threads.find((t) => t.name === 'qemu.t')!;
    const top = th.frames[th.frames.length - 1];
    const fn = top ? e.fn(top)?.name : undefined;
    const stmt = top && fn ? e.fn(top)!.stmts[e.stmtOf(top)] : undefined;
    clearFootprint(f);
    e.footprint = f;
    e.step();
    e.footprint = null;
    if (e.state.lastThread !== th.id || !stmt) continue;
    const regionNames = [...f.regW].map((i) => e.state.mem.regions[i]!.name);
    if (fn === 'qemu.t') { assert.equal(f.other, true, 'the call into the kernel (a system call) is more than a computation'); seen.syscall = true; }
    if (fn === 'cpuid_entry_set') {
      assert.equal(f.other, false);
      assert.equal(f.objW.size, 0);
      assert.equal(regionNames.length, 1, 'one store32, one region');
      assert.match(regionNames[0]!, /^user buffer \d+$/);
      seen.storeToUserBuffer = true;
    }
    if (fn === 'xstate_required_size' && f.cpu) { assert.equal(f.other, false, 'CPUID in the host is noted, not taken as touching everything'); seen.cpuid = true; }
    if (fn === 'kvm_supported_xcr0' && f.objR.size) { assert.equal(f.objW.size, 0); seen.fieldRead = true; }
  }
  assert.deepEqual(seen, { syscall: true, storeToUserBuffer: true, cpuid: true, fieldRead: true });
});

test('nothing is recorded unless the explorer asks (Engine.footprint is null by default)', () => {
  const file = scenario('footprint-off.xsave', 'cpu "sapphire-rapids";\npolicy "linux-6.19";\nhost p { thread t { let b = kvm_get_supported_cpuid(); } }\n');
  const loaded = loadScenarioFile({ file });
  assert.equal(loaded.kind, 'loaded');
  if (loaded.kind !== 'loaded') return;
  assert.equal(loaded.engine.footprint, null);
});

// Found in review: a handler that reaches a kmalloc buffer through a builtin other than a load or
// store (an XSAVE header write or read) must count as touching it, or the interrupt sleeps past
// the statements that use the buffer and the run where it falls between them is never explored.
const HANDLER_TOUCHES_BUFFER = (handler: string, check: string): string => `cpu "sapphire-rapids";
policy "linux-5.17";

fn common_interrupt(vector) {
  let b = current->sas_ss_sp;
  if (b) { ${handler} }
}

fn my_setup() {
  current->sas_ss_sp = kmalloc(4096);
  return 0;
}

fn my_check() {
  let b = current->sas_ss_sp;
${check}
  return 0;
}

host p {
  thread main {
    my_setup();
    my_check();
  }
}
`;

/**
 * Explores `text` with and without the reductions (assertions count, with `invariants` when given)
 * and checks both find a violation with the same counterexample text; returns the search without them.
 */
async function sameViolation(file: string, bounds: { interrupts: number; preemptions: number; fpuIrqs: number }, invariants?: string[]): Promise<ExploreResult> {
  const opts = { file, workers: 0, failOnAssertions: true, bounds, ...(invariants ? { invariants } : {}) };
  const full = await explore({ ...opts, reduction: false });
  const reduced = await explore(opts);
  assert.equal(full.status, 'violation', JSON.stringify(full.diagnostics));
  assert.equal(reduced.status, 'violation');
  assert.equal(reduced.counterexample?.text, full.counterexample?.text);
  return full;
}

for (const [name, text] of [
  ['the handler writes the buffer (xsave_header_write) between two loads', HANDLER_TOUCHES_BUFFER('xsave_header_write(b, 0, 1);',
    '  let v = load64(b + 512);\n  let w = load64(b + 512);\n  assert(v == w, "the interrupt fell between the two loads");')],
  ['the handler reads the buffer (xsave_header_read) between two stores', HANDLER_TOUCHES_BUFFER('current->sas_ss_size = xsave_header_read(b, 0);',
    '  store64(b + 512, 7);\n  store64(b + 512, 9);\n  assert(current->sas_ss_size != 7, "the interrupt saw the first store only");')],
] as const) {
  test(`sleep sets: ${name}: the same verdict with and without the reductions`, async () => {
    await sameViolation(scenario(`sleep-${name.length}.xsave`, text), { interrupts: 1, preemptions: 0, fpuIrqs: 0 });
  });
}

// Reduction 6 (docs/explorer.md): a `run P.T` or a preemption sleeps after its branch by what its
// whole subtree did, the events placed inside it included. Here the other task's own code touches
// nothing the checking thread reads; an interrupt inside the other task's run does (it writes the
// field the two reads compare), so the run placed between the two reads must still be explored.
/** Two host tasks on one CPU: p.main runs my_check() and q.main (held back for `run`) my_other(), both defined in `kernel`. */
const TWO_TASKS = (kernel: string): string => `cpu "sapphire-rapids";
policy "linux-6.19";
${kernel}
host p {
  thread main {
    my_check();
  }
}

host q {
  thread main {
    my_other();
  }
}
`;
const SUBTREE_BOUNDS = { interrupts: 1, preemptions: 1, fpuIrqs: 0 };

const OTHER_TASK_INTERRUPTED = TWO_TASKS(`
fn common_interrupt(vector) {
  if (current->sas_ss_sp == 7) { fpu_user_cfg->independent_features = 5; }
}

fn my_other() {
  current->sas_ss_sp = 7;
  current->sas_ss_size = 1;
  return 0;
}

fn my_check() {
  let v = fpu_user_cfg->independent_features;
  let w = fpu_user_cfg->independent_features;
  assert(v == w, "an interrupt of the other task fell between the two reads");
  return 0;
}
`);

test("subtree sleep sets: an interrupt placed inside another task's run counts as that run's doing (same verdict and counterexample as without the reductions)", async () => {
  const full = await sameViolation(scenario('sleep-subtree.xsave', OTHER_TASK_INTERRUPTED), SUBTREE_BOUNDS, []);
  // The other task's run (a preemption, or a held-back task's run) needs the interrupt inside it.
  const kinds = full.counterexample!.placements.map((p) => p.kind);
  assert.equal(kinds.length, 2);
  assert.ok(kinds.includes('external_interrupt') && (kinds.includes('preempt') || kinds.includes('run')), kinds.join(', '));
});

// Found in review: a statement that jumps back to itself (a `while` with an empty body) leaves its
// frame where it was, so the thread's resumption is told from before its step, not from its frame
// afterwards. Here the other task changes XCR0; the loop resumes under the new XCR0, and the
// preemption placed between the loop and the next CPUID must still be explored.
const SELF_LOOP_CPUID = TWO_TASKS(`
fn my_other() {
  xsetbv(0, 3);
  return 0;
}

fn my_check() {
  let a = cpuid(0xd, 0, 1);
  while (cpuid(0xd, 0, 1) != a) { }
  let v = cpuid(0xd, 0, 1);
  assert(v == a, "XCR0 changed between the loop and the read");
  return 0;
}
`);

test('subtree sleep sets: a thread resuming at a statement that jumps back to itself is seen to resume (an XCR0 change by the other task wakes the CPUID after it)', async () => {
  const full = await sameViolation(scenario('sleep-self-loop.xsave', SELF_LOOP_CPUID), SUBTREE_BOUNDS, []);
  assert.equal(full.counterexample?.step, 525);
});

// Found in review: the first VM entry builds the guest's bare-metal reference from the vCPU's CPUID
// entries, which KVM_SET_CPUID2 copied into kmalloc memory; that read comes after the builtin's own
// work, and must count in the step's footprint as well (a statement writing those entries does not
// commute with a VM entry).
test('the VM entry step records the kmalloc region of the vCPU CPUID entries it reads', () => {
  const file = scenario('footprint-vmentry.xsave', `cpu "sapphire-rapids";
policy "linux-6.19";
guest {
  fn main() { hlt(); }
}
host qemu {
  thread vcpu0 {
    vcpu = kvm_create_vcpu();
    kvm_set_cpuid(vcpu, kvm_cpuid_xcr0(XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM));
    kvm_run(vcpu);
  }
}
`);
  const loaded = loadScenarioFile({ file });
  assert.equal(loaded.kind, 'loaded', loaded.kind === 'errors' ? loaded.diagnostics.map((d) => d.message).join('; ') : loaded.kind);
  if (loaded.kind !== 'loaded') return;
  const e = loaded.engine;
  const f = newFootprint();
  let checked = false;
  for (let n = 0; n < 50_000 && !e.state.halted && !checked; n++) {
    clearFootprint(f);
    e.footprint = f;
    const h = e.step();
    e.footprint = null;
    if (!h.some((x) => x.kind === 'vmentry')) continue;
    const arch = e.state.heap.find((o) => o.type === 'kvm_vcpu_arch' && typeof o.fields.cpuid_entries === 'bigint' && o.fields.cpuid_entries !== 0n);
    assert.ok(arch, 'KVM_SET_CPUID2 left the entries in vcpu->arch');
    const at = arch!.fields.cpuid_entries as bigint;
    const i = e.state.mem.regions.findIndex((r) => at >= r.base && at < r.base + BigInt(r.bytes.length));
    assert.ok(i >= 0);
    assert.match(e.state.mem.regions[i]!.name, /^kmalloc \d+$/);
    assert.ok(f.regR.has(i), `the VM entry read region ${i} (${e.state.mem.regions[i]!.name})`);
    checked = true;
  }
  assert.ok(checked, 'the run made a VM entry');
});
