// A CPU model from raw CPUID leaves, and the leaves of a model: what `--cpu host` rests on. The host
// layer reads the leaves from the machine (src/host/cpu.ts); this file only interprets them,
// as plain data, and refuses leaves that contradict each other with a message naming the leaf.
// Which bit means what: SDM Vol2 CPUID (leaves 01H, 07H, 0DH, 1DH), SDM Vol1 13.2-13.4; spec
// hardware.md §1.1-1.2.
import { type Mask, type XFeature, bit, bitsOf, hasBit } from './bits';
import {
  type AmxPalette1, type ComponentInfo, type CpuModel, type CpuModelName, type CpuidLeaf, CPUID_D1_EAX_XSAVES,
  HOST_CPU_MODEL, ModelArgumentError, hasFeature,
} from './cpu-model';
import { compactedSize, cpuidLeafD, standardSize, XSAVE_EXTENDED_OFFSET } from './layout';
import { formatMask, xfeatureName } from './xfeatures';

export type { CpuidLeaf } from './cpu-model';
/** A set of CPUID results, at most one per (leaf, subleaf), as plain data. */
export type CpuidLeaves = readonly CpuidLeaf[];

/** CPUID.01H:ECX.VMX[5] and .XSAVE[26]. */
export const CPUID_01_ECX_VMX = 1 << 5;
export const CPUID_01_ECX_XSAVE = 1 << 26;
/** CPUID.(EAX=07H,ECX=0).ECX.PKU[3] and .EDX.AMX-TILE[24]. */
export const CPUID_07_ECX_PKU = 1 << 3;
export const CPUID_07_EDX_AMX_TILE = 1 << 24;

/**
 * The leaves the host layer reads: 0 (vendor, highest basic leaf), 01H, 07H.0, every sub-leaf of
 * 0DH (0..63), 1DH.0-1 (AMX palettes), 1EH.0 (TMUL), 80000000H and the brand string 80000002H-4H.
 */
export function wantedCpuidLeaves(): Array<{ leaf: number; subleaf: number }> {
  const out: Array<{ leaf: number; subleaf: number }> = [{ leaf: 0, subleaf: 0 }, { leaf: 1, subleaf: 0 }, { leaf: 7, subleaf: 0 }];
  for (let i = 0; i < 64; i++) out.push({ leaf: 0xd, subleaf: i });
  out.push({ leaf: 0x1d, subleaf: 0 }, { leaf: 0x1d, subleaf: 1 }, { leaf: 0x1e, subleaf: 0 });
  for (const l of [0x80000000, 0x80000002, 0x80000003, 0x80000004]) out.push({ leaf: l, subleaf: 0 });
  return out;
}

/** `CPUID.(EAX=0DH,ECX=18)`, as the SDM writes a leaf. */
export function leafName(leaf: number, subleaf?: number): string {
  const l = leaf.toString(16).toUpperCase().padStart(2, '0');
  const eax = `${/^[0-9]/.test(l) ? '' : '0'}${l}H`;
  return subleaf === undefined ? `CPUID.${eax}` : `CPUID.(EAX=${eax},ECX=${subleaf})`;
}

const fail = (message: string): never => { throw new ModelArgumentError('cpuid', message); };
const u32 = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
const mask64 = (hi: number, lo: number): Mask => (BigInt(hi) << 32n) | BigInt(lo);

function ascii(words: number[]): string {
  let s = '';
  for (const w of words) for (let k = 0; k < 4; k++) s += String.fromCharCode((w >>> (8 * k)) & 0xff);
  return s.replace(/\0/g, '').replace(/\s+/g, ' ').trim();
}

/** "AuthenticAMD AMD EPYC": the vendor (leaf 0) and brand string (80000002H-4H) where given. */
export function cpuidBrand(leaves: CpuidLeaves): string {
  const at = index(leaves);
  const l0 = at.get(key(0, 0));
  const vendor = l0 ? ascii([l0.ebx, l0.edx, l0.ecx]) : '';
  const parts = [0x80000002, 0x80000003, 0x80000004].map((l) => at.get(key(l, 0)));
  const max = at.get(key(0x80000000, 0));
  const brand = parts.every((p) => p) && (!max || max.eax >= 0x80000004) ? ascii(parts.flatMap((p) => [p!.eax, p!.ebx, p!.ecx, p!.edx])) : '';
  return [vendor, brand].filter(Boolean).join(' ');
}

const key = (leaf: number, subleaf: number) => `${leaf}:${subleaf}`;

function index(leaves: CpuidLeaves): Map<string, CpuidLeaf> {
  const at = new Map<string, CpuidLeaf>();
  for (const l of leaves) at.set(key(l.leaf, l.subleaf), l);
  return at;
}

/**
 * The CPU model the leaves describe (SDM Vol2 CPUID):
 * - XSAVE from 01H:ECX[26], VMX from 01H:ECX[5]; PKU from (07H,0).ECX[3];
 * - the XCR0 bits from (0DH,0).EDX:EAX, the XSS bits from (0DH,1).EDX:ECX, the XSAVE features from (0DH,1).EAX;
 * - each component i >= 2 of those masks from (0DH,i): EAX size, EBX standard offset, ECX[0]
 *   supervisor, ECX[1] 64-byte aligned in the compacted format, ECX[2] XFD-capable;
 * - AMX palette 1 from (1DH,1) when (07H,0).EDX.AMX-TILE[24] = 1 and (1DH,0).EAX (max_palette) >= 1.
 * MXCSR_MASK is 0xFFFF: every CPU with XSAVE has DAZ (SDM Vol1 11.6.3: DAZ arrived with the later
 * Pentium 4s, long before XSAVE), and CPUID cannot tell otherwise; only FXSAVE could, and the host
 * layer executes no instruction but reads the cpuid driver.
 * Leaves that contradict each other are a ModelArgumentError that names the leaf.
 */
export function cpuModelFromCpuid(leaves: CpuidLeaves, name: CpuModelName = HOST_CPU_MODEL): CpuModel {
  const seen = new Set<string>();
  for (const l of leaves) {
    if (!u32(l.leaf) || !u32(l.subleaf)) fail(`leaf ${l.leaf}, sub-leaf ${l.subleaf}: not an unsigned 32-bit number`);
    for (const r of ['eax', 'ebx', 'ecx', 'edx'] as const) {
      if (!u32(l[r])) fail(`${leafName(l.leaf, l.subleaf)}.${r.toUpperCase()} = ${l[r]}: not an unsigned 32-bit number`);
    }
    const k = key(l.leaf, l.subleaf);
    if (seen.has(k)) fail(`${leafName(l.leaf, l.subleaf)} is given twice`);
    seen.add(k);
  }
  const at = index(leaves);
  const need = (leaf: number, subleaf: number, why: string): CpuidLeaf =>
    at.get(key(leaf, subleaf)) ?? fail(`${leafName(leaf, subleaf)} is missing (${why})`);
  const zero = (leaf: number, subleaf: number): CpuidLeaf => at.get(key(leaf, subleaf)) ?? { leaf, subleaf, eax: 0, ebx: 0, ecx: 0, edx: 0 };

  const l1 = need(1, 0, 'it says whether the CPU has XSAVE');
  const xsave = (l1.ecx & CPUID_01_ECX_XSAVE) !== 0;
  const vmx = (l1.ecx & CPUID_01_ECX_VMX) !== 0;
  const l7 = zero(7, 0);
  const pku = (l7.ecx & CPUID_07_ECX_PKU) !== 0;
  const brand = cpuidBrand(leaves);
  const sorted = [...leaves].sort((a, b) => a.leaf - b.leaf || a.subleaf - b.subleaf).map((l) => ({ ...l }));

  if (!xsave) {
    // Without XSAVE leaf 0DH means nothing; x87 and SSE state still exist (FXSAVE).
    return {
      name, description: `${brand || 'this machine'} (from CPUID): no XSAVE (CPUID.01H:ECX.XSAVE[26] = 0)`,
      xsave: false, d1Eax: 0, xcr0Supported: 0x3n, xssSupported: 0n, components: new Map(), pku, amx: null,
      mxcsrMask: 0xffff, vmx, cpuid: sorted,
    };
  }
  const l0 = at.get(key(0, 0));
  if (l0 && l0.eax < 0xd) fail(`${leafName(0)}.EAX = 0x${l0.eax.toString(16)}: the highest basic leaf is below 0DH, yet CPUID.01H:ECX.XSAVE[26] = 1`);

  const d0 = need(0xd, 0, 'it enumerates the XCR0 bits');
  const d1 = need(0xd, 1, 'it enumerates the XSAVE features and the IA32_XSS bits');
  const xcr0Supported = mask64(d0.edx, d0.eax);
  const xssSupported = mask64(d1.edx, d1.ecx);
  const d0Name = leafName(0xd, 0);
  const d1Name = leafName(0xd, 1);
  if ((xcr0Supported & 0x3n) !== 0x3n) fail(`${d0Name}.EAX = 0x${d0.eax.toString(16)}: bits 0 (x87) and 1 (SSE) must be 1 on a CPU with XSAVE`);
  if (hasBit(xcr0Supported, 63)) fail(`${d0Name}.EDX[31] = 1: XCR0 bit 63 is reserved`);
  if (xssSupported & 0x3n) fail(`${d1Name}.ECX = 0x${d1.ecx.toString(16)}: x87 and SSE are not supervisor state (bits 0 and 1 must be 0)`);
  if (hasBit(xssSupported, 63)) fail(`${d1Name}.EDX[31] = 1: IA32_XSS bit 63 is reserved`);
  const both = xcr0Supported & xssSupported;
  if (both) fail(`${d0Name} and ${d1Name} both enumerate ${formatMask(both)}: a component is user (XCR0) or supervisor (IA32_XSS) state, not both`);

  const components = new Map<XFeature, ComponentInfo>();
  for (const i of bitsOf(xcr0Supported | xssSupported)) {
    if (i < 2) continue;
    const user = hasBit(xcr0Supported, i);
    const where = user ? `${d0Name}.${i < 32 ? 'EAX' : 'EDX'}` : `${d1Name}.${i < 32 ? 'ECX' : 'EDX'}`;
    const c = need(0xd, i, `${where} enumerates component ${i} (${xfeatureName(i)})`);
    const n = `${leafName(0xd, i)} (${xfeatureName(i)})`;
    if (c.eax === 0) fail(`${n}: EAX (size) is 0, yet ${where} enumerates the component`);
    const supervisor = (c.ecx & 1) !== 0;
    if (supervisor === user) {
      fail(`${n}: ECX[0] = ${supervisor ? 1 : 0} says ${supervisor ? 'supervisor' : 'user'} state, yet ${where} enumerates it as ${user ? 'user (XCR0)' : 'supervisor (IA32_XSS)'} state`);
    }
    if (user) {
      if (c.ebx < XSAVE_EXTENDED_OFFSET) fail(`${n}: EBX (offset) = ${c.ebx} lies in the legacy region or the header (below ${XSAVE_EXTENDED_OFFSET})`);
      if (c.ebx + c.eax > d0.ecx) {
        fail(`${n}: offset ${c.ebx} + size ${c.eax} = ${c.ebx + c.eax} is beyond the XSAVE area size ${d0Name}.ECX = ${d0.ecx}`);
      }
    }
    components.set(i, { index: i, size: c.eax, offset: c.ebx, supervisor, align64: (c.ecx & 2) !== 0, xfd: (c.ecx & 4) !== 0 });
  }
  const users = [...components.values()].filter((c) => !c.supervisor).sort((a, b) => a.offset - b.offset);
  for (let k = 1; k < users.length; k++) {
    const a = users[k - 1]!, b = users[k]!;
    if (a.offset + a.size > b.offset) {
      fail(`${leafName(0xd, b.index)} (${xfeatureName(b.index)}): offset ${b.offset} overlaps ${xfeatureName(a.index)} at ${a.offset}-${a.offset + a.size - 1}`);
    }
  }

  let amx: AmxPalette1 | null = null;
  if ((l7.edx & CPUID_07_EDX_AMX_TILE) !== 0) {
    const p0 = need(0x1d, 0, '(07H,0).EDX.AMX-TILE[24] = 1 and leaf 1DH enumerates the tile palettes');
    if (p0.eax >= 1) {
      const p1 = need(0x1d, 1, `${leafName(0x1d, 0)}.EAX (max_palette) = ${p0.eax} and sub-leaf 1 describes palette 1`);
      amx = {
        totalTileBytes: p1.eax & 0xffff, bytesPerTile: p1.eax >>> 16, bytesPerRow: p1.ebx & 0xffff, maxNames: p1.ebx >>> 16, maxRows: p1.ecx & 0xffff,
      };
      const zeroField = Object.entries(amx).find(([, v]) => v === 0);
      if (zeroField) fail(`${leafName(0x1d, 1)}: palette 1 has ${zeroField[0]} = 0`);
    }
  }

  const model: CpuModel = {
    name, description: '', xsave, d1Eax: d1.eax, xcr0Supported, xssSupported, components, pku, amx, mxcsrMask: 0xffff, vmx, cpuid: sorted,
  };
  const summary = [
    `XCR0 may hold ${formatMask(xcr0Supported)}`,
    `IA32_XSS ${formatMask(xssSupported)}`,
    `XFD ${hasFeature(model, 1 << 4) ? 'yes' : 'no'}`,
    `PKRU ${pku ? 'yes' : 'no'}`,
    `AMX ${amx ? 'yes' : 'no'}`,
    `VMX ${vmx ? 'yes' : 'no'}`,
  ].join('; ');
  return { ...model, description: `${brand || 'this machine'} (from CPUID): ${summary}` };
}

/**
 * The CPUID leaves a model enumerates: the leaves it was built from (the host model), or for a
 * constant model the leaves cpuModelFromCpuid would build it from again: 0 (highest basic leaf,
 * vendor), 01H, (07H,0), 0DH for sub-leaves 0, 1 and every component, and 1DH and 1EH with AMX.
 * (0DH,0).EBX and (0DH,1).EBX, which depend on the current XCR0 and IA32_XSS, are given for every
 * supported bit enabled.
 */
export function cpuidOf(model: CpuModel): CpuidLeaves {
  return model.cpuid ?? synthesizedCpuidOf(model);
}

/**
 * Leaves built from a model's fields, by model: a model is immutable and modelOf keeps one object
 * per narrowed model, so the CPUID instruction, which asks on every execution, builds them once.
 */
const synthesized = new WeakMap<CpuModel, CpuidLeaves>();

/**
 * The leaves cpuModelFromCpuid would build `model` from, ignoring any raw leaves it carries (a host
 * model narrowed by a VMM's CPUID answers from its narrowed fields). Frozen: shared by every caller.
 */
export function synthesizedCpuidOf(model: CpuModel): CpuidLeaves {
  let leaves = synthesized.get(model);
  if (!leaves) {
    leaves = Object.freeze(buildCpuid(model).map((l) => Object.freeze(l)));
    synthesized.set(model, leaves);
  }
  return leaves;
}

function buildCpuid(model: CpuModel): CpuidLeaf[] {
  const r = (leaf: number, subleaf: number, eax = 0, ebx = 0, ecx = 0, edx = 0): CpuidLeaf => ({ leaf, subleaf, eax, ebx, ecx, edx });
  // Leaf 0: the highest basic leaf these leaves reach, and the vendor string "GenuineIntel" in
  // EBX, EDX, ECX (the constant models are Intel CPUs).
  const maxBasic = model.amx ? 0x1e : model.xsave ? 0xd : 7;
  const out: CpuidLeaf[] = [
    r(0, 0, maxBasic, 0x756e6547, 0x6c65746e, 0x49656e69),
    r(1, 0, 0, 0, (model.xsave ? CPUID_01_ECX_XSAVE : 0) | (model.vmx ? CPUID_01_ECX_VMX : 0), 0),
    r(7, 0, 0, 0, model.pku ? CPUID_07_ECX_PKU : 0, model.amx ? CPUID_07_EDX_AMX_TILE : 0),
  ];
  if (model.xsave) {
    const all = model.xcr0Supported | model.xssSupported;
    const d0 = cpuidLeafD(model, model.xcr0Supported, model.xssSupported, 0);
    const d1 = cpuidLeafD(model, model.xcr0Supported, model.xssSupported, 1);
    out.push(r(0xd, 0, d0.eax, standardSize(model, model.xcr0Supported), d0.ecx, d0.edx));
    out.push(r(0xd, 1, d1.eax, hasFeature(model, CPUID_D1_EAX_XSAVES) ? compactedSize(model, all) : 0, d1.ecx, d1.edx));
    for (const i of bitsOf(all & ~bit(0) & ~bit(1))) {
      const d = cpuidLeafD(model, model.xcr0Supported, model.xssSupported, i);
      out.push(r(0xd, i, d.eax, d.ebx, d.ecx, d.edx));
    }
  }
  if (model.amx) {
    const a = model.amx;
    out.push(r(0x1d, 0, 1), r(0x1d, 1, (a.bytesPerTile << 16 | a.totalTileBytes) >>> 0, (a.maxNames << 16 | a.bytesPerRow) >>> 0, a.maxRows, 0));
    // Leaf 1EH (TMUL): EBX[7:0] tmul_maxk = 16, EBX[23:8] tmul_maxn = 64 (SDM Vol2 CPUID; Sapphire Rapids).
    out.push(r(0x1e, 0, 0, 0x4010));
  }
  return out;
}
