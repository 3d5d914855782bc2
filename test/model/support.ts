// Shared helpers of the model tests: a booted Sapphire Rapids CPU, an XSAVE area in memory, and
// assertions on outcomes. Not a test file itself (the test runner picks *.test.ts).
import assert from 'node:assert/strict';
import {
  type CpuState, type Fault, type Memory, type Outcome, createCpu, createMemory, mapRegion, writeU32, xrstor, xsetbv,
} from '../../src/model';

/** XCOMP_BV[63]: the compacted format. */
export const C = 1n << 63n;
export const ALL = 0xffffffffffffffffn;
/** Where withArea() maps its XSAVE area. */
export const AREA = 0x10000n;

export const show = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `0x${x.toString(16)}` : x));

export function ok(o: Outcome<unknown>): void {
  assert.equal(o.kind, 'ok', show(o));
}

export function fault(o: Outcome<unknown>): Fault {
  if (o.kind !== 'fault') assert.fail(`expected a fault, got ${show(o)}`);
  return o.fault;
}

/** A Sapphire Rapids CPU with CR4.OSXSAVE=1 and XCR0 = `xcr0`. */
export function spr(xcr0 = 0x602e7n): CpuState {
  const cpu = createCpu('sapphire-rapids', { osxsave: true });
  ok(xsetbv(cpu, 0, xcr0));
  return cpu;
}

/** Memory with one region of `size` bytes at AREA. */
export function withArea(size = 12288): { mem: Memory; a: Uint8Array } {
  const mem = createMemory();
  return { mem, a: mapRegion(mem, AREA, size, 'area').bytes };
}

export const bytes = (b: Uint8Array, from: number, len: number) => Array.from(b.subarray(from, from + len));
export const fill = (len: number, v: number) => new Array<number>(len).fill(v);
export const le = (v: bigint, len: number) => Array.from({ length: len }, (_, j) => Number((v >> BigInt(8 * j)) & 0xffn));
export const fromLe = (b: number[]) => b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);
/** A never-zero byte pattern. */
export const pat = (len: number, seed: number) => Array.from({ length: len }, (_, j) => ((seed * 37 + j * 11) % 251) + 1);

/** A palette-1 TILECFG image: 8 tiles of 16 rows x 64 bytes. */
export const cfgBytes = (() => {
  const c = new Array<number>(64).fill(0);
  c[0] = 1;
  for (let t = 0; t < 8; t++) { c[16 + 2 * t] = 64; c[48 + t] = 16; }
  return c;
})();
/** 8192 never-zero bytes of tile data. */
export const tileBytes = Array.from({ length: 8192 }, (_, j) => ((j * 7 + (j >> 10)) % 255) + 1);

/**
 * MXCSR := `mxcsr` with XINUSE[1] = 0, the way software gets there: a standard-form XRSTOR with
 * RFBM[1] = 1 and XSTATE_BV[1] = 0 initializes the XMM registers but loads MXCSR (SDM Vol2 XRSTOR
 * footnote). LDMXCSR cannot, since it sets XINUSE[1] (silicon.md R6).
 */
export function mxcsrWithSseInit(cpu: CpuState, mxcsr: number): void {
  const mem = createMemory();
  const img = mapRegion(mem, 0x7f0000n, 576, 'sse init image').bytes;
  writeU32(img, 24, mxcsr);
  writeU32(img, 28, 0xffff);
  ok(xrstor(cpu, mem, 0x7f0000n, 0x2n));
}
