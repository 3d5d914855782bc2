// Loads, stores and the block operations of memory (MOV, REP STOSB/MOVSB/CMPSB): what user code
// does to its buffers (a signal frame's sw_bytes, an XSAVE image's tile area, the memcmp of KVM's
// amx_test) and what kernel code does to user memory (copy_to_user of struct kvm_cpuid2). Little
// endian; an access to an address no region maps is a #PF, delivered like any other fault.
import { type Outcome, locate, ok, pf } from '../model';
import type { Context } from '../lang/code';
import type { BuiltinContext, BuiltinDef, BuiltinResult } from './builtins';
import { ScenarioError } from './scenario-error';
import type { Value } from './value';

const ALL: readonly Context[] = ['kernel', 'guest', 'user'];

/** The longest block a single memset/memcpy/memcmp may touch. */
export const MAX_BLOCK = 1 << 20;

const outcome = (o: Outcome<unknown>): BuiltinResult => ({ kind: 'outcome', outcome: o });

function bytesAt(c: BuiltinContext, insn: string, addr: bigint, len: number, write: boolean): Uint8Array | Outcome<never> {
  const at = locate(c.mem, addr, len);
  if (!at) return { kind: 'fault', fault: pf(insn, addr, write, `${write ? 'writes' : 'reads'} ${len} byte(s) not mapped`) };
  if (c.fp) {
    const i = c.mem.regions.indexOf(at.region);
    if (i < 0) c.fp.other = true;
    else (write ? c.fp.regW : c.fp.regR).add(i);
  }
  return at.region.bytes.subarray(at.offset, at.offset + len);
}

function blockLength(c: BuiltinContext, a: Value[], i: number): number {
  const n = c.u64(a, i, 'len');
  if (n > BigInt(MAX_BLOCK)) throw new ScenarioError(`len must be at most ${MAX_BLOCK} bytes, not ${n}`);
  return Number(n);
}

function load(size: number): BuiltinDef {
  return {
    params: ['addr'], contexts: ALL,
    run: (c, a) => {
      const b = bytesAt(c, 'MOV', c.u64(a, 0, 'addr'), size, false);
      if (!(b instanceof Uint8Array)) return outcome(b);
      let v = 0n;
      for (let k = size - 1; k >= 0; k--) v = (v << 8n) | BigInt(b[k]!);
      return outcome(ok(v));
    },
  };
}

function store(size: number): BuiltinDef {
  return {
    params: ['addr', 'value'], contexts: ALL,
    run: (c, a) => {
      const v = c.u64(a, 1, 'value');
      if (size < 8 && v >> BigInt(8 * size) !== 0n) throw new ScenarioError(`value 0x${v.toString(16)} does not fit in ${size} byte(s)`);
      const b = bytesAt(c, 'MOV', c.u64(a, 0, 'addr'), size, true);
      if (!(b instanceof Uint8Array)) return outcome(b);
      for (let k = 0; k < size; k++) b[k] = Number((v >> BigInt(8 * k)) & 0xffn);
      return outcome(ok(0n));
    },
  };
}

export const MEMORY_BUILTINS: Readonly<Record<string, BuiltinDef>> = {
  load8: load(1), load16: load(2), load32: load(4), load64: load(8),
  store8: store(1), store16: store(2), store32: store(4), store64: store(8),
  /** memset(addr, byte, len): REP STOSB. */
  memset: {
    params: ['addr', 'byte', 'len'], contexts: ALL,
    run: (c, a) => {
      const byte = c.u64(a, 1, 'byte');
      if (byte > 0xffn) throw new ScenarioError(`byte must be 0..255, not ${byte}`);
      const n = blockLength(c, a, 2);
      if (n === 0) return outcome(ok(0n));
      const b = bytesAt(c, 'REP STOSB', c.u64(a, 0, 'addr'), n, true);
      if (!(b instanceof Uint8Array)) return outcome(b);
      b.fill(Number(byte));
      return outcome(ok(0n));
    },
  },
  /** memcpy(dst, src, len): REP MOVSB (the ranges must not overlap, as in C). */
  memcpy: {
    params: ['dst', 'src', 'len'], contexts: ALL,
    run: (c, a) => {
      const n = blockLength(c, a, 2);
      if (n === 0) return outcome(ok(0n));
      const s = bytesAt(c, 'REP MOVSB', c.u64(a, 1, 'src'), n, false);
      if (!(s instanceof Uint8Array)) return outcome(s);
      const d = bytesAt(c, 'REP MOVSB', c.u64(a, 0, 'dst'), n, true);
      if (!(d instanceof Uint8Array)) return outcome(d);
      d.set(s.slice());
      return outcome(ok(0n));
    },
  },
  /**
   * memcmp(a, b, len): 0 when the bytes are equal; otherwise the first differing byte of `a` minus
   * that of `b` as C's memcmp returns it (a negative int reads as 2^64 - n here).
   */
  memcmp: {
    params: ['a', 'b', 'len'], contexts: ALL,
    run: (c, a) => {
      const n = blockLength(c, a, 2);
      if (n === 0) return outcome(ok(0n));
      const x = bytesAt(c, 'REPE CMPSB', c.u64(a, 0, 'a'), n, false);
      if (!(x instanceof Uint8Array)) return outcome(x);
      const y = bytesAt(c, 'REPE CMPSB', c.u64(a, 1, 'b'), n, false);
      if (!(y instanceof Uint8Array)) return outcome(y);
      for (let k = 0; k < n; k++) {
        if (x[k] !== y[k]) return outcome(ok(BigInt.asUintN(64, BigInt(x[k]! - y[k]!))));
      }
      return outcome(ok(0n));
    },
  },
};

/** Their names: the explorer follows these region by region (interpreter.ts, choice-points.ts). */
export const MEMORY_BUILTIN_NAMES: ReadonlySet<string> = new Set(Object.keys(MEMORY_BUILTINS));
