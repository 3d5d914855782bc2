// Benchmarks of the simulation engine:
// 1. statements per second of an arithmetic loop in the interpreter, as a ratio to the same loop
//    written by hand in JavaScript with the same 64-bit BigInt semantics, in the same run;
// 2. snapshot and restore time of a machine with 4 vCPU threads whose guests loaded AMX tiles.
// Prints medians; asserts nothing about speed.
import type { FileAccessor } from '../src/lang/compiler';
import { loadScenario } from '../src/sim/scenario';
import type { Engine } from '../src/sim/engine';
import { mkdirSync, writeFileSync } from 'node:fs';

function load(src: string): Engine {
  const files: FileAccessor = { read: (p) => (p === '/bench.xsave' ? src : null), resolve: (_f, r) => r };
  const r = loadScenario('/bench.xsave', files);
  if (!r.engine) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.engine;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const N = 200_000;

// The loop: 3 statements per iteration (while header, two assignments).
const LOOP = `host p { thread main {
  let i = 0;
  let acc = 0x12345;
  while (i != ${N}) {
    acc = (acc * 6364136223846793005 + 1442695040888963407) ^ (acc >> 17);
    i = i + 1;
  }
} }`;

function handWritten(): bigint {
  const M = (1n << 64n) - 1n;
  let i = 0n;
  let acc = 0x12345n;
  while (i !== BigInt(N)) {
    acc = (((acc * 6364136223846793005n + 1442695040888963407n) & M) ^ (acc >> 17n)) & M;
    i = (i + 1n) & M;
  }
  return acc;
}

function interpreted(): { ms: number; steps: number; acc: bigint } {
  const e = load(LOOP);
  const t0 = process.hrtime.bigint();
  const r = e.run(() => false, 10 * N);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.reason !== 'end') throw new Error('loop did not end');
  return { ms, steps: e.state.steps, acc: e.state.threads[0]!.frames.length === 0 ? 0n : 0n };
}

const jsTimes: number[] = [];
const interpTimes: number[] = [];
let steps = 0;
handWritten();
interpreted();
for (let k = 0; k < 5; k++) {
  const t0 = process.hrtime.bigint();
  handWritten();
  jsTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
  const r = interpreted();
  interpTimes.push(r.ms);
  steps = r.steps;
}
const jsMs = median(jsTimes);
const inMs = median(interpTimes);
const stmtsPerSec = steps / (inMs / 1000);

// Four vCPU threads, each entering a guest that configures and loads AMX tiles, then halting.
const VCPU = (n: number) => `  thread vcpu${n} { v = make_vcpu(); r = run_twice(v); }`;
const FOUR = `
guest {
  fn main() {
    xsetbv(0, XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM | XFEATURE_MASK_XTILE);
    ldtilecfg(palette: 1, rows: 16, colsb: 64);
    tileloadd(tmm0); tileloadd(tmm1); tileloadd(tmm2); tileloadd(tmm3);
    hlt();
  }
}
fn run_twice(v) {
  r = vmenter(v);
  xsetbv(kvm_rcx_read(v), kvm_read_edx_eax(v));
  guest_complete_insn(v);
  return vmenter(v);
}
fn make_vcpu() {
  v = vcpu_alloc();
  v->vmcs = vmcs_alloc();
  v->arch = kvm_vcpu_arch_alloc();
  v->arch->guest_fpu = fpu_guest_alloc();
  v->arch->guest_fpu->fpstate = fpstate_alloc(0x602e7);
  return v;
}
host qemu {
  thread main { spawn vcpu0; spawn vcpu1; spawn vcpu2; spawn vcpu3; }
${[0, 1, 2, 3].map(VCPU).join('\n')}
}`;
const e4 = load(FOUR);
// Run until every vCPU thread is inside its second vmenter (guests halted, tile state loaded).
e4.run(() => false, 100000);
const entries = e4.state.trace.filter((t) => t.kind === 'vmentry').length;
const nm = e4.state.trace.filter((t) => t.kind === 'exception').length;
if (entries !== 8 || nm !== 0 || e4.state.guests.length !== 4 || (e4.state.cpus[0]!.xinuse & 0x40000n) === 0n) {
  throw new Error(`the 4-vCPU scenario did not run as intended: ${entries} entries, ${nm} exceptions`);
}
const snapTimes: number[] = [];
const restoreTimes: number[] = [];
let snap = e4.snapshot();
for (let k = 0; k < 50; k++) {
  const t0 = process.hrtime.bigint();
  snap = e4.snapshot();
  const t1 = process.hrtime.bigint();
  e4.restore(snap);
  const t2 = process.hrtime.bigint();
  snapTimes.push(Number(t1 - t0) / 1e6);
  restoreTimes.push(Number(t2 - t1) / 1e6);
}
const bytes = JSON.stringify(snap, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? v.length : v)).length;
const memBytes = snap.mem.regions.reduce((s, r) => s + r.bytes.length, 0);

const result = {
  node: process.version,
  loop: { statements: steps, interpreterMs: +inMs.toFixed(2), handWrittenJsMs: +jsMs.toFixed(2), ratio: +(inMs / jsMs).toFixed(2), statementsPerSecond: Math.round(stmtsPerSec) },
  snapshot: { vcpuThreads: 4, memoryBytes: memBytes, heapObjects: snap.heap.length, snapshotMsMedian: +median(snapTimes).toFixed(3), restoreMsMedian: +median(restoreTimes).toFixed(3), jsonishSize: bytes },
};
console.log(`engine benchmarks, Node ${process.version}`);
console.log(`  arithmetic loop: ${steps.toLocaleString('en')} statements in ${inMs.toFixed(1)} ms = ${Math.round(stmtsPerSec).toLocaleString('en')} statements/s;` +
  ` hand-written JS ${jsMs.toFixed(1)} ms; ratio ${(inMs / jsMs).toFixed(2)}x (target within 10x)`);
console.log(`  snapshot of 4 vCPU threads with AMX guests (${memBytes} bytes of memory, ${snap.heap.length} objects): snapshot ${median(snapTimes).toFixed(3)} ms, restore ${median(restoreTimes).toFixed(3)} ms (median of 50; target under 1 ms each)`);
mkdirSync('.bench', { recursive: true });
writeFileSync('.bench/engine.json', JSON.stringify(result, null, 2) + '\n');
