// Exact 64-bit values. Every mask, MSR value and register field wider than 32 bits is a bigint:
// a JS number silently loses bit 63 (and everything above bit 52), which would make XCOMP_BV's
// compacted-format bit or a high XFD bit vanish. These aliases name what a value is.

/** A bitmap of XSAVE state components (XCR0, IA32_XSS, IA32_XFD, XSTATE_BV, XCOMP_BV, RFBM, ...). */
export type Mask = bigint;
/** An unsigned 64-bit value (an MSR's contents, EDX:EAX, a linear address). */
export type U64 = bigint;
/** The index of a model-specific register as RDMSR/WRMSR take it in ECX. */
export type MsrIndex = number;
/** A state-component number, the i of XCR0[i] and CPUID.(EAX=0DH,ECX=i). */
export type XFeature = number;

export const U64_MAX: U64 = (1n << 64n) - 1n;
/** XCOMP_BV[63]: the area is in the compacted format (SDM Vol1 13.4.3). */
export const XCOMP_BV_COMPACTED: Mask = 1n << 63n;

export function bit(i: number): Mask {
  return 1n << BigInt(i);
}

export function hasBit(m: Mask, i: number): boolean {
  return ((m >> BigInt(i)) & 1n) === 1n;
}

/** The set bit numbers of a 64-bit mask, ascending. */
export function bitsOf(m: Mask): number[] {
  const out: number[] = [];
  // Two 32-bit halves as numbers: a BigInt shift per bit costs more than the rest of an XSAVE.
  let lo = Number(m & 0xffffffffn);
  let hi = Number((m >> 32n) & 0xffffffffn);
  while (lo !== 0) { const b = 31 - Math.clz32(lo & -lo); out.push(b); lo &= lo - 1; }
  while (hi !== 0) { const b = 31 - Math.clz32(hi & -hi); out.push(32 + b); hi &= hi - 1; }
  return out;
}

export function hex(v: bigint | number, digits = 0): string {
  return '0x' + v.toString(16).padStart(digits, '0');
}

export function isU64(v: unknown): v is bigint {
  return typeof v === 'bigint' && v >= 0n && v <= U64_MAX;
}

export function roundUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/** Little-endian accessors on byte buffers: the XSAVE area and the register images are little-endian. */
export function readU64(b: Uint8Array, off: number): U64 {
  return (BigInt(readU32(b, off + 4)) << 32n) | BigInt(readU32(b, off));
}

export function writeU64(b: Uint8Array, off: number, v: U64): void {
  writeU32(b, off, Number(v & 0xffffffffn));
  writeU32(b, off + 4, Number((v >> 32n) & 0xffffffffn));
}

export function readU32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

export function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff; b[off + 1] = (v >>> 8) & 0xff; b[off + 2] = (v >>> 16) & 0xff; b[off + 3] = (v >>> 24) & 0xff;
}

export function readU16(b: Uint8Array, off: number): number {
  return b[off]! | (b[off + 1]! << 8);
}

export function writeU16(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff; b[off + 1] = (v >>> 8) & 0xff;
}

/** Reads `len` bytes (len <= 64) as one little-endian unsigned integer. */
export function readLE(b: Uint8Array, off: number, len: number): bigint {
  let v = 0n;
  for (let i = len - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[off + i]!);
  return v;
}

/** Writes the low `len` bytes of `v` little-endian. */
export function writeLE(b: Uint8Array, off: number, len: number, v: bigint): void {
  for (let i = 0; i < len; i++, v >>= 8n) b[off + i] = Number(v & 0xffn);
}

export function allZero(b: Uint8Array, from = 0, to = b.length): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}
