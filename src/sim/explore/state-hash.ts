// The identity of a machine state for the explorer's visited set: a 53-bit hash of everything that
// decides what the machine does next and which invariants can still break, and of nothing that
// only records the past. Left out: the step counter, the trace, assertion counts, recorded
// violations (the explorer stops at the first one it is after), the step at which the guest set
// XFD_ERR (only named in messages), the thread that ran last (the debugger's), and the objects
// that never change after boot (globals, per-CPU object ids). Two runs that reach the same state
// by different placements therefore meet here, which is what makes the search finite in practice.
import type { CpuState, Vmcs } from '../../model';
import type { Shadow } from '../invariants';
import type { MachineState } from '../machine';

const MAX = (1n << 64n) - 1n;

/** Two 32-bit multiplicative lanes; combined into a safe integer for Map keys. */
class Hasher {
  /** Skip byte arrays (they are hashed apart, see arraysHash). */
  constructor(private readonly withBytes: boolean) {}
  private a = 0x811c9dc5 | 0;
  private b = 0x3c6ef372 | 0;

  int(x: number): void {
    this.a = Math.imul(this.a ^ x, 0x01000193);
    this.b = Math.imul(this.b ^ x, 0x5bd1e995);
    this.b ^= this.b >>> 13;
  }

  num(x: number): void {
    if ((x | 0) === x) this.int(x);
    else { this.int(0x7f000001); this.str(String(x)); }
  }

  big(x: bigint): void {
    // Most values fit in 31 bits (a comparison allocates nothing); the rest go through two halves.
    if (x < 0x80000000n && x >= 0n) { this.int(Number(x)); return; }
    if (x === MAX) { this.int(0x7f000003); return; }
    this.int(0x7f000002);
    this.int(Number(BigInt.asUintN(32, x)) | 0);
    this.int(Number(BigInt.asUintN(32, x >> 32n)) | 0);
    if (x >> 64n !== 0n) this.str(x.toString(16));
  }

  str(s: string): void {
    this.int(s.length);
    for (let i = 0; i < s.length; i++) this.int(s.charCodeAt(i));
  }

  bytes(arr: Uint8Array): void {
    // The value depends on the bytes alone, not on where they sit in their buffer: an array that
    // does not start on a word boundary is hashed from an aligned copy of it.
    const u = (arr.byteOffset & 3) === 0 ? arr : arr.slice();
    const n = u.length;
    this.int(n);
    const words = n >>> 2;
    const w = new Int32Array(u.buffer, u.byteOffset, words);
    let a = this.a;
    let b = this.b;
    // Most of these bytes are zero (registers in their initial state, fresh buffers): a run of
    // zero words is mixed in once, as its length, before the next non-zero word.
    let zeros = 0;
    for (let i = 0; i < words; i++) {
      const x = w[i]!;
      if (x === 0) { zeros++; continue; }
      if (zeros !== 0) {
        a = Math.imul(a ^ zeros, 0x01000193);
        b = Math.imul(b + zeros + 0x9e3779b9, 0x5bd1e995) ^ (b >>> 15);
        zeros = 0;
      }
      a = Math.imul(a ^ x, 0x01000193);
      b = Math.imul(b + x, 0x5bd1e995) ^ (b >>> 15);
    }
    if (zeros !== 0) {
      a = Math.imul(a ^ zeros, 0x01000193);
      b = Math.imul(b + zeros + 0x9e3779b9, 0x5bd1e995) ^ (b >>> 15);
    }
    this.a = a;
    this.b = b;
    for (let i = words * 4; i < n; i++) this.int(u[i]!);
  }

  /** Any plain-data value. */
  value(v: unknown): void {
    switch (typeof v) {
      case 'bigint': this.big(v); return;
      case 'number': this.num(v); return;
      case 'boolean': this.int(v ? 0x7f000011 : 0x7f000010); return;
      case 'string': this.str(v); return;
      case 'undefined': this.int(0x7f000012); return;
      case 'object': break;
      default: throw new Error(`state-hash: unexpected ${typeof v}`);
    }
    if (v === null) { this.int(0x7f000013); return; }
    if (v instanceof Uint8Array) { if (this.withBytes) this.bytes(v); return; }
    if (Array.isArray(v)) {
      this.int(0x7f000014 ^ v.length);
      for (const x of v) this.value(x);
      return;
    }
    const o = v as Record<string, unknown>;
    // `{ ref }`: a kernel object reference, by far the most common object in frames.
    if ('ref' in o && typeof o.ref === 'number') { this.int(0x7f000015); this.int(o.ref); return; }
    // Objects of the state have fixed shapes (keys in creation order): their values suffice.
    this.int(0x7f000016);
    for (const k in o) this.value(o[k]);
  }

  /** A non-negative safe integer. */
  digest(): number {
    return (this.a >>> 0) * 0x200000 + ((this.b >>> 0) & 0x1fffff);
  }
}

const FRAME_KINDS = ['thread', 'call', 'syscall', 'exception', 'vmentry', 'guest', 'hook', 'exit-to-user', 'switch', 'signal'];
const STATUS = ['waiting', 'runnable', 'exited', 'killed'];

/**
 * The hash of every byte array of the state: registers kept as XSAVE images, memory, the reference
 * CPUs and their memory, MSR bitmaps. They are most of the state's bytes and change only when an
 * instruction runs, so the explorer computes this only after steps that ran a builtin.
 */
export function arraysHash(s: MachineState): number {
  const h = new Hasher(true);
  const cpu = (c: MachineState['cpus'][number]) => {
    h.bytes(c.legacy);
    for (const a of c.ext) if (a) h.bytes(a);
  };
  const mem = (m: MachineState['mem']) => { for (const r of m.regions) { h.big(r.base); h.bytes(r.bytes); } };
  for (const c of s.cpus) cpu(c);
  mem(s.mem);
  for (const t of s.threads) if (t.shadow) { h.int(t.id); cpu(t.shadow.cpu); mem(t.shadow.mem); }
  for (const g of s.guests) if (g.shadow) { h.int(g.vcpu); cpu(g.shadow.cpu); mem(g.shadow.mem); }
  for (const v of s.vmcss) h.bytes(v.msrBitmap);
  return h.digest();
}

/**
 * The hash of what decides the machine's future: `arrays` is arraysHash(s) (possibly cached), and
 * `extra` mixes in the explorer's own state (its remaining budgets, or 0 when the visited set keeps
 * them beside the key). The first `anonymous` events are left out: the explorer's interchangeable
 * interrupts, preemptions and FPU interrupts, which fire only when injected and whose fired flags
 * nothing reads (which of them fires next follows from the budget, not from the flags).
 */
export function stateHash(s: MachineState, arrays: number, extra: number, anonymous = 0): number {
  const h = new Hasher(false);
  h.num(arrays);
  h.int(extra);
  const vmcsIndex = (v: Vmcs | null) => (v === null ? -1 : s.vmcss.indexOf(v));
  for (const c of s.cpus) cpu(h, c, vmcsIndex(c.vmx.vmcs));
  for (const r of s.mem.regions) h.big(r.base);
  h.big(s.nextAddr);
  for (const o of s.heap) {
    const f = o.fields;
    for (const k in f) {
      const v = f[k]!;
      if (typeof v === 'bigint') h.big(v);
      else { h.int(0x7f000015); h.int(v.ref); }
    }
  }
  for (const t of s.threads) {
    h.int(t.cpu);
    h.int(STATUS.indexOf(t.status));
    h.big(t.exitValue);
    h.int(t.signal);
    h.int(t.switchTo);
    h.int(t.afterBoot ? 1 : 0);
    h.int(t.moveTo);
    h.int(t.stopped ? 1 : 0);
    h.int(t.referenceFromTask ? 1 : 0);
    h.int(t.signalFrames.length);
    for (const sf of t.signalFrames) { h.big(sf.ip); h.int(sf.fn); h.int(sf.entered ? 1 : 0); h.value(sf.args); }
    shadow(h, t.shadow);
    h.int(t.frames.length);
    for (const f of t.frames) frame(h, f);
  }
  for (const r of s.running) h.int(r);
  for (const q of s.runQueues) { h.int(0x7f000020 ^ q.length); for (const x of q) h.int(x); }
  h.int(s.nextCpu);
  for (const g of s.guests) {
    h.int(g.vcpu);
    h.int(g.started ? 1 : 0);
    h.int(g.finished ? 1 : 0);
    shadow(h, g.shadow);
    h.int(g.frames.length);
    for (const f of g.frames) frame(h, f);
  }
  h.value(s.vmcss);
  for (const x of s.irqOff) h.int(x ? 1 : 0);
  for (const x of s.preemptCount) h.int(x);
  for (const q of s.deferred) { h.int(0x7f000021 ^ q.length); for (const x of q) h.int(x); }
  for (let i = anonymous; i < s.events.length; i++) { const e = s.events[i]!; h.int(e.fired ? 1 : 0); h.int(e.hits); }
  for (const x of s.xfdErrGuestBits) h.big(x);
  h.value(s.halted);
  return h.digest();
}

const VMX_MODES = ['off', 'root', 'non-root'];

/** A CPU's scalar state (its register images are in arraysHash). */
function cpu(h: Hasher, c: CpuState, vmcs: number): void {
  h.int((c.cr0.ts ? 1 : 0) | (c.cr4.osxsave ? 2 : 0) | (c.cr4.pke ? 4 : 0) | (c.halted ? 8 : 0));
  h.int(c.cpl);
  h.big(c.xcr0);
  h.big(c.xss);
  h.big(c.xfd);
  h.big(c.xfdErr);
  h.big(c.xinuse);
  h.big(c.xmodified);
  const x = c.xrstorInfo;
  if (x) { h.int(x.cpl); h.int(x.vmxnr ? 1 : 0); h.big(x.laxa); h.big(x.compmask); } else h.int(0x7f000022);
  const l = c.cpuidLimit;
  if (l) {
    h.big(l.xcr0); h.int(l.xfd ? 1 : 0);
    if (l.leaves) for (const e of l.leaves) { h.int(e.leaf); h.int(e.subleaf); h.int(e.eax); h.int(e.ebx); h.int(e.ecx); h.int(e.edx); }
  } else h.int(0x7f000023);
  h.int(VMX_MODES.indexOf(c.vmx.mode));
  h.int(vmcs);
}

function shadow(h: Hasher, sh: Shadow | null): void {
  if (!sh) { h.int(0x7f000024); return; }
  cpu(h, sh.cpu, -1);
  h.big(sh.xfdUndefined);
  for (const r of sh.mem.regions) h.big(r.base);
  // The outcome waiting for the VMM, not where its exit was (provenance is history, not state).
  h.value(sh.pending ? { insn: sh.pending.insn, outcome: sh.pending.outcome } : null);
}

function frame(h: Hasher, f: { fn: number; pc: number; stmt: number; locals: unknown[]; stack: unknown[]; kind: string; cpl: number; vector: number; vcpu: number }): void {
  h.int(f.fn);
  h.int(f.pc);
  h.int(f.stmt);
  h.int(FRAME_KINDS.indexOf(f.kind));
  h.int(f.cpl);
  h.int(f.vector);
  h.int(f.vcpu);
  h.value(f.locals);
  h.value(f.stack);
}
