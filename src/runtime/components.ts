// Decoding a state component's bytes into the registers a person reads: x87 FCW..ST7, MXCSR and
// XMM0-15, the upper halves YMM and ZMM keep in their own components, k0-k7, PKRU, TILECFG and
// tmm0-7. The same decoder serves a CPU's live registers (the legacy region and the standard-format
// component images the model keeps) and a component inside an XSAVE buffer at its offset, so both
// read the same. Offsets are those of SDM Vol1 Table 13-1 / 10-2 (legacy region) and the component
// layouts of CPUID leaf 0DH; TILECFG as LDTILECFG reads it (SDM Vol2 Table 3-10).
import { type XFeature, FCW, FDP, FIP, FOP, FSW, FTW, MXCSR, MXCSR_MASK, ST0, XMM0, decodeTilecfg, xfeatureName } from '../model';

export interface ComponentField {
  readonly name: string;
  /** Byte offset within the component (for i = 0, 1: within the legacy region). */
  readonly offset: number;
  readonly size: number;
  /** Shown as a mask (decoded names) rather than a number. */
  readonly mask?: boolean;
  /** A tile register: shown as its shape, its bytes through a memory reference. */
  readonly tile?: { readonly rows: number; readonly colsb: number } | null;
  /** A short note instead of the value (TILECFG's decoded shape). */
  readonly note?: string;
}

/** Little-endian integer of `size` bytes at `off` (exact, any width). */
export function readLe(b: Uint8Array, off: number, size: number): bigint {
  let v = 0n;
  for (let k = size - 1; k >= 0; k--) v = (v << 8n) | BigInt(b[off + k] ?? 0);
  return v;
}

export function writeLe(b: Uint8Array, off: number, size: number, v: bigint): void {
  for (let k = 0; k < size; k++) { b[off + k] = Number(v & 0xffn); v >>= 8n; }
}

/** The fields of component i, given its bytes starting at `off` (TILECFG is read for tile shapes). */
export function componentFields(i: XFeature, b: Uint8Array, off: number, size: number, tilecfg: Uint8Array | null = null): ComponentField[] {
  const f: ComponentField[] = [];
  const n = (count: number, name: (k: number) => string, at: (k: number) => number, sz: number): void => {
    for (let k = 0; k < count; k++) f.push({ name: name(k), offset: at(k), size: sz });
  };
  switch (i) {
    case 0:
      f.push({ name: 'FCW', offset: FCW, size: 2 }, { name: 'FSW', offset: FSW, size: 2 },
        { name: 'FTW (abridged)', offset: FTW, size: 1 }, { name: 'FOP', offset: FOP, size: 2 },
        { name: 'FIP', offset: FIP, size: 8 }, { name: 'FDP', offset: FDP, size: 8 });
      // Stored in stack order: ST(i) at 32 + 16i, 10 bytes of each 16 (SDM Vol2 FXSAVE).
      n(8, (k) => `ST${k}`, (k) => ST0 + 16 * k, 10);
      return f;
    case 1:
      f.push({ name: 'MXCSR', offset: MXCSR, size: 4 }, { name: 'MXCSR_MASK', offset: MXCSR_MASK, size: 4 });
      n(16, (k) => `XMM${k}`, (k) => XMM0 + 16 * k, 16);
      return f;
    case 2: n(16, (k) => `YMM${k}[255:128]`, (k) => 16 * k, 16); return f;
    case 5: n(8, (k) => `k${k}`, (k) => 8 * k, 8); return f;
    case 6: n(16, (k) => `ZMM${k}[511:256]`, (k) => 32 * k, 32); return f;
    case 7: n(16, (k) => `ZMM${16 + k}`, (k) => 64 * k, 64); return f;
    case 9: f.push({ name: 'PKRU', offset: 0, size: 4 }); return f;
    case 17: {
      const cfg = decodeTilecfg(b, off);
      f.push({ name: 'palette_id', offset: 0, size: 1 }, { name: 'start_row', offset: 1, size: 1 });
      for (let k = 0; k < 8; k++) {
        f.push({ name: `tmm${k}`, offset: 16 + 2 * k, size: 2, note: `${cfg.rows[k]} rows × ${cfg.colsb[k]} bytes` });
      }
      return f;
    }
    case 18: {
      const cfg = tilecfg ? decodeTilecfg(tilecfg, 0) : null;
      for (let k = 0; k < 8; k++) {
        f.push({ name: `tmm${k}`, offset: 1024 * k, size: 1024, tile: cfg ? { rows: cfg.rows[k]!, colsb: cfg.colsb[k]! } : null });
      }
      return f;
    }
    default:
      // Components without a register view (PT, PASID, CET, ...): their qwords.
      n(Math.ceil(size / 8), (k) => `[0x${(8 * k).toString(16)}]`, (k) => 8 * k, 8);
      return f;
  }
}

/** Display name of a component: `XTILEDATA (18)`. */
export function componentTitle(i: XFeature): string {
  return `${xfeatureName(i)} (${i})`;
}

/** A tile register's value line: its configured shape and how many of its bytes are non-zero. */
export function tileSummary(b: Uint8Array, off: number, shape: { rows: number; colsb: number } | null | undefined): string {
  let nz = 0;
  for (let k = 0; k < 1024; k++) if (b[off + k] !== 0) nz++;
  const sh = shape ? (shape.rows ? `${shape.rows}×${shape.colsb} bytes` : 'unconfigured') : '1024 bytes';
  return `${sh}, ${nz} non-zero byte${nz === 1 ? '' : 's'}`;
}

