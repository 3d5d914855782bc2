// Where each state component lives in an XSAVE area, in the standard format (fixed offsets from
// CPUID.(0DH,i).EBX) and the compacted format (packed in component order, 64-byte aligned where
// CPUID.(0DH,i).ECX[1]=1), and CPUID leaf 0DH itself. SDM Vol1 13.4.1-13.4.3; spec §1.2-1.4.
import { type Mask, type XFeature, bitsOf, hasBit, roundUp, XCOMP_BV_COMPACTED } from './bits';
import { type CpuModel, CPUID_D1_EAX_XSAVES, hasFeature } from './cpu-model';
import { xfeatureName } from './xfeatures';

/** The legacy region is bytes 0..511, the header 512..575; the extended region starts at 576. */
export const LEGACY_REGION_SIZE = 512;
export const XSAVE_HEADER_OFFSET = 512;
export const XSAVE_HEADER_SIZE = 64;
export const XSAVE_EXTENDED_OFFSET = 576;
/** Offsets inside the header: XSTATE_BV, XCOMP_BV, then 48 reserved bytes (SDM Vol1 13.4.2). */
export const XSTATE_BV_OFFSET = 512;
export const XCOMP_BV_OFFSET = 520;

/**
 * Linux's convention for the legacy components, which have no CPUID sub-leaf: x87 is "offset 0,
 * size 160", SSE "offset 160, size 256" (setup_xstate_cache() [S2]). Their real bytes are split
 * (x87 = 23:0 and 159:32, SSE = 31:24 and 415:160, SDM Vol1 13.4.1); see legacy-region.ts.
 */
const LEGACY_PSEUDO: Record<0 | 1, { offset: number; size: number }> = {
  0: { offset: 0, size: 160 },
  1: { offset: 160, size: 256 },
};

export interface LayoutEntry {
  readonly index: XFeature;
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly align64: boolean;
  readonly supervisor: boolean;
}

function componentSize(model: CpuModel, i: XFeature): number {
  if (i === 0 || i === 1) return LEGACY_PSEUDO[i].size;
  const c = model.components.get(i);
  if (!c) throw new Error(`XFEATURE ${i} is not enumerated by ${model.name}`);
  return c.size;
}

/** Standard-format layout of the user components in `mask` (supervisor bits have no standard slot). */
export function standardLayout(model: CpuModel, mask: Mask): LayoutEntry[] {
  const out: LayoutEntry[] = [];
  for (const i of bitsOf(mask)) {
    if (i === 0 || i === 1) {
      out.push({ index: i, name: xfeatureName(i), ...LEGACY_PSEUDO[i], align64: false, supervisor: false });
      continue;
    }
    const c = model.components.get(i);
    if (!c || c.supervisor) continue;
    out.push({ index: i, name: xfeatureName(i), offset: c.offset, size: c.size, align64: c.align64, supervisor: false });
  }
  return out;
}

/** Size XSAVE needs for the user components in `mask`: CPUID.(0DH,0).EBX when mask = XCR0. */
export function standardSize(model: CpuModel, mask: Mask): number {
  let end = XSAVE_EXTENDED_OFFSET;
  for (const i of bitsOf(mask)) {
    if (i < 2) continue;
    const c = model.components.get(i);
    if (c && !c.supervisor) end = Math.max(end, c.offset + c.size);
  }
  return end;
}

export interface Compacted {
  readonly offsets: Int32Array; // by component number, -1 when absent
  readonly size: number;
}
/**
 * Per component table, per XCOMP_BV: layouts are pure functions of the model's components, so
 * caching them is safe. Keyed by the table object, not the model's name: a re-registered host model
 * brings a new table, and a model narrowed by cpuidLimit shares its base's.
 */
const compactedCache = new WeakMap<CpuModel['components'], Map<Mask, Compacted>>();

/**
 * The compacted layout for XCOMP_BV[62:0] = `format` (SDM Vol1 13.4.3): components 2..62 whose bit
 * is set follow each other from byte 576 in ascending order, each rounded up to a 64-byte boundary
 * when CPUID.(0DH,i).ECX[1]=1. The SDM's Vol2 pseudocode leaves the alignment step out; real SPR
 * hardware does align (TILECFG at 2496, not 2440, in dmesg [S9]); Bochs does not, and is wrong.
 */
export function compacted(model: CpuModel, format: Mask): Compacted {
  let perModel = compactedCache.get(model.components);
  if (!perModel) compactedCache.set(model.components, (perModel = new Map()));
  let c = perModel.get(format);
  if (c) return c;
  const offsets = new Int32Array(64).fill(-1);
  let off = XSAVE_EXTENDED_OFFSET;
  for (const i of bitsOf(format & ~XCOMP_BV_COMPACTED)) {
    if (i < 2) continue;
    const info = model.components.get(i);
    if (!info) throw new Error(`XFEATURE ${i} is not enumerated by ${model.name}`);
    if (info.align64) off = roundUp(off, 64);
    offsets[i] = off;
    off += info.size;
  }
  c = { offsets, size: off };
  // Bounded: a scenario cannot grow the cache without limit by trying many masks.
  if (perModel.size >= 4096) perModel.clear();
  perModel.set(format, c);
  return c;
}

/** Offset of component i (>= 2) in a compacted area whose XCOMP_BV[62:0] is `format`; -1 if absent. */
export function compactedOffset(model: CpuModel, format: Mask, i: XFeature): number {
  if (i < 2) return LEGACY_PSEUDO[i as 0 | 1].offset;
  return compacted(model, format).offsets[i]!;
}

/** Size of a compacted area for `format`: CPUID.(0DH,1).EBX when format = XCR0 | IA32_XSS. */
export function compactedSize(model: CpuModel, format: Mask): number {
  return compacted(model, format).size;
}

export function compactedLayout(model: CpuModel, format: Mask): LayoutEntry[] {
  const out: LayoutEntry[] = [];
  for (const i of bitsOf(format & ~XCOMP_BV_COMPACTED)) {
    if (i === 0 || i === 1) {
      out.push({ index: i, name: xfeatureName(i), ...LEGACY_PSEUDO[i], align64: false, supervisor: false });
      continue;
    }
    const c = model.components.get(i)!;
    out.push({
      index: i, name: xfeatureName(i), offset: compactedOffset(model, format, i), size: componentSize(model, i),
      align64: c.align64, supervisor: c.supervisor,
    });
  }
  return out;
}

export interface CpuidRegs {
  readonly eax: number;
  readonly ebx: number;
  readonly ecx: number;
  readonly edx: number;
}

const lo32 = (m: Mask) => Number(m & 0xffffffffn);
const hi32 = (m: Mask) => Number((m >> 32n) & 0xffffffffn);

/**
 * CPUID.(EAX=0DH, ECX=subleaf) for the model with the given current XCR0 and IA32_XSS
 * (SDM Vol2 CPUID, spec §1.2). EBX of sub-leaves 0 and 1 depends on the current values.
 */
export function cpuidLeafD(model: CpuModel, xcr0: Mask, xss: Mask, subleaf: number): CpuidRegs {
  if (subleaf === 0) {
    return {
      eax: lo32(model.xcr0Supported), edx: hi32(model.xcr0Supported),
      ebx: standardSize(model, xcr0), ecx: standardSize(model, model.xcr0Supported),
    };
  }
  if (subleaf === 1) {
    // EBX is defined only with XSAVES (it sizes XCR0 | IA32_XSS); without it this model reports 0.
    const ebx = hasFeature(model, CPUID_D1_EAX_XSAVES) ? compactedSize(model, xcr0 | xss) : 0;
    return { eax: model.d1Eax, ebx, ecx: lo32(model.xssSupported), edx: hi32(model.xssSupported) };
  }
  const c = subleaf < 63 ? model.components.get(subleaf) : undefined;
  if (!c || !hasBit(model.xcr0Supported | model.xssSupported, subleaf)) return { eax: 0, ebx: 0, ecx: 0, edx: 0 };
  return {
    eax: c.size, ebx: c.offset, edx: 0,
    ecx: (c.supervisor ? 1 : 0) | (c.align64 ? 2 : 0) | (c.xfd ? 4 : 0),
  };
}

