// The restore instructions: XRSTOR (standard or compacted form, chosen by XCOMP_BV[63]) and
// XRSTORS (compacted only, supervisor components too), transcribing the SDM Vol2 pseudocode
// (spec §4) with XFD (spec §5.5): loading a component with XCR0[i] = IA32_XFD[i] = 1 raises #NM
// and loads IA32_XFD_ERR; initializing one is allowed. Every fault is raised before any register,
// XINUSE, XMODIFIED or XRSTOR_INFO changes, except one that silicon shows: the compacted form's
// MXCSR #GP comes after the other components are loaded (silicon.md R10).
import { type Mask, type U64, U64_MAX, XCOMP_BV_COMPACTED, allZero, bitsOf, hasBit, readU32, readU64, writeU32 } from './bits';
import { type CpuModel, CPUID_D1_EAX_XSAVEC, hasFeature } from './cpu-model';
import { type CpuState, inNonRoot, modelOf, xfdEffective } from './cpu-state';
import { initializeComponent, resetMxcsr } from './component-state';
import { loadComponent } from './component-copy';
import { type Outcome, OK, gp, nmXfd } from './fault';
import { MXCSR } from './legacy-region';
import { XSAVE_HEADER_OFFSET } from './layout';
import { type Memory, locate } from './memory';
import { checkU64 } from './msr';
import { PALETTE_ID, tilecfgProblem } from './tilecfg';
import { raise } from './vmx';
import { type RestoreInstruction, slotTable, unmapped, xsaveFamilyChecks } from './xsave';
import { XFEATURE_MASK_SSE, XFEATURE_MASK_XTILE_CFG, XFEATURE_PT, XFEATURE_XTILE_CFG, decodeMask, formatMask } from './xfeatures';

const hx = (v: bigint) => '0x' + v.toString(16);

export function xrstorInsn(cpu: CpuState, mem: Memory, insn: RestoreInstruction, addr: U64, edxeax: Mask): Outcome {
  checkU64('addr', addr);
  checkU64('edxeax', edxeax);
  const early = xsaveFamilyChecks(cpu, insn, addr, edxeax);
  if (early) return early;
  const model = modelOf(cpu);

  // The header first: it decides the form and what is read next.
  const hdr = locate(mem, addr + BigInt(XSAVE_HEADER_OFFSET), 64);
  if (!hdr) return raise(cpu, unmapped(insn, addr, XSAVE_HEADER_OFFSET + 64, false));
  const h = hdr.region.bytes;
  const xstateBv = readU64(h, hdr.offset);
  const xcompBv = readU64(h, hdr.offset + 8);
  const enabled = insn === 'XRSTORS' ? cpu.xcr0 | cpu.xss : cpu.xcr0;
  const rfbm = enabled & edxeax;
  const compacted = (xcompBv & XCOMP_BV_COMPACTED) !== 0n;

  let toBeRestored: Mask;
  let toBeInitialized: Mask;
  let format = 0n;
  if (insn === 'XRSTORS' && !compacted) {
    return raise(cpu, gp(insn, `of a standard-format image (XCOMP_BV ${hx(xcompBv)} has bit 63 clear)`));
  }
  if (compacted) {
    if (!hasFeature(model, CPUID_D1_EAX_XSAVEC)) {
      return raise(cpu, gp(insn, 'of a compacted image on a CPU without XSAVEC (CPUID.(EAX=0DH,ECX=1).EAX[1]=0)'));
    }
    format = xcompBv & ~XCOMP_BV_COMPACTED;
    const notEnabled = format & ~enabled;
    if (notEnabled) {
      return raise(cpu, gp(insn, `of an image whose XCOMP_BV sets ${formatMask(notEnabled)}, not enabled in ${insn === 'XRSTORS' ? 'XCR0 | IA32_XSS' : 'XCR0'}`));
    }
    // XSTATE_BV[63] = 1 is outside XCOMP_BV[62:0] and faults like any other such bit (silicon.md R4).
    const outside = xstateBv & ~format;
    if (outside) return raise(cpu, gp(insn, `of an image whose XSTATE_BV sets ${formatMask(outside)}, absent from XCOMP_BV`));
    if (!allZero(h, hdr.offset + 16, hdr.offset + 64)) return raise(cpu, gp(insn, 'of an image whose header bytes 16..63 are not zero'));
    toBeRestored = format & rfbm & xstateBv;
    // FORCE_INIT: requested components the image does not hold are initialized (SDM Vol1 13.8.2).
    toBeInitialized = (rfbm & ~xstateBv) | (rfbm & ~format);
  } else {
    const notEnabled = xstateBv & ~cpu.xcr0;
    if (notEnabled) return raise(cpu, gp(insn, `of an image whose XSTATE_BV sets ${formatMask(notEnabled)}, not enabled in XCR0`));
    // "bytes 23:8 of the XSAVE header are not all zero": XCOMP_BV and the next 8 bytes.
    if (xcompBv !== 0n || !allZero(h, hdr.offset + 16, hdr.offset + 24)) {
      return raise(cpu, gp(insn, 'of a standard-format image whose header bytes 8..23 (XCOMP_BV and the next quadword) are not zero'));
    }
    toBeRestored = rfbm & xstateBv;
    toBeInitialized = rfbm & ~xstateBv;
  }
  // "XRSTORS causes a general-protection exception if it would restore or initialize PT state
  // while IA32_RTIT_CTL.TraceEn = 1" (SDM Vol1 13.5.6). PT state begins with IA32_RTIT_CTL.
  if (insn === 'XRSTORS' && hasBit(toBeRestored | toBeInitialized, XFEATURE_PT) && (cpu.ext[XFEATURE_PT]![0]! & 1)) {
    return raise(cpu, gp(insn, 'would restore or initialize PT state while IA32_RTIT_CTL.TraceEn=1'));
  }
  const slots = slotTable(model, compacted, format);
  const slot = (i: number) => slots[i]!;

  // The standard form loads MXCSR whenever RFBM[1] or RFBM[2], whatever XSTATE_BV says (the XRSTOR
  // footnote); the compacted form only with the rest of SSE state.
  const loadsMxcsr = compacted ? hasBit(toBeRestored, 1) : hasBit(rfbm, 1) || hasBit(rfbm, 2);
  let end = XSAVE_HEADER_OFFSET + 64;
  if (loadsMxcsr) end = Math.max(end, MXCSR + 4);
  for (const i of bitsOf(toBeRestored)) {
    if (i === 0) end = Math.max(end, 160);
    else if (i === 1) end = Math.max(end, 416);
    else end = Math.max(end, slot(i) + model.components.get(i)!.size);
  }
  const at = locate(mem, addr, end);
  if (!at) return raise(cpu, unmapped(insn, addr, end, false));
  const area = at.region.bytes;
  const base = at.offset;

  // The XFD #NM comes after the header #GPs but before the MXCSR #GP (silicon.md R5).
  const xfdLoads = toBeRestored & xfdEffective(cpu);
  if (xfdLoads) {
    cpu.xfdErr = xfdLoads;
    return raise(cpu, nmXfd(insn, cpu.xfd, xfdLoads, decodeMask(xfdLoads).join(' ')));
  }

  let mxcsr = 0;
  let mxcsrFault: string | null = null;
  if (loadsMxcsr) {
    mxcsr = readU32(area, base + MXCSR);
    const reserved = mxcsr & ~model.mxcsrMask;
    if (reserved) mxcsrFault = `loads MXCSR ${hx(BigInt(mxcsr))}, setting reserved bits ${hx(BigInt(reserved >>> 0))}`;
  }
  // The standard form raises the MXCSR #GP with the state untouched; the compacted form (where
  // MXCSR is loaded only with SSE state) loads and initializes every other component first, then
  // faults (silicon.md R10: a save after the fault shows x87, opmask, ZMM and tile registers changed).
  if (mxcsrFault && !compacted) return raise(cpu, gp(insn, mxcsrFault));
  const sse = mxcsrFault ? XFEATURE_MASK_SSE : 0n;
  loadAndInitialize(cpu, model, area, base, slot, toBeRestored & ~sse, toBeInitialized & ~sse);
  if (mxcsrFault) return raise(cpu, gp(insn, `${mxcsrFault}, after loading the other components (compacted form)`));

  if (loadsMxcsr) writeU32(cpu.legacy, MXCSR, mxcsr);
  else if (compacted && hasBit(toBeInitialized, 1)) resetMxcsr(cpu); // "initializes MXCSR to 1F80H"
  cpu.xmodified = ~rfbm & U64_MAX;
  cpu.xrstorInfo = { cpl: cpu.cpl, vmxnr: inNonRoot(cpu), laxa: addr, compmask: compacted ? xcompBv : 0n };
  return OK;
}

/**
 * Loads `restore` from the image and initializes `init`, with XINUSE[i] := 1 for every loaded
 * component (even one whose image is its init value) and 0 for every initialized one, as the
 * pseudocode says and silicon agrees ("XRSTOR of all-zero data with XSTATE_BV = 0x600e7 gives
 * XINUSE = 0x400e7"), except TILECFG: an image with palette 0 (silicon.md R2) or one LDTILECFG would
 * refuse (R3) puts TILECFG into its INIT state without a fault, XINUSE[17] := 0, while TILEDATA is
 * still loaded from the image when requested. start_row is kept as loaded.
 */
function loadAndInitialize(
  cpu: CpuState, model: CpuModel, area: Uint8Array, base: number, slot: (i: number) => number, restore: Mask, init: Mask,
): void {
  for (const i of bitsOf(restore)) loadComponent(cpu, i, area, base, i < 2 ? 0 : slot(i));
  for (const i of bitsOf(init)) initializeComponent(cpu, i);
  cpu.xinuse = (cpu.xinuse | restore) & ~init;
  if (hasBit(restore, XFEATURE_XTILE_CFG) && model.amx) {
    const off = base + slot(XFEATURE_XTILE_CFG);
    if (area[off + PALETTE_ID] === 0 || tilecfgProblem(area, off, model.amx) !== null) {
      initializeComponent(cpu, XFEATURE_XTILE_CFG);
      cpu.xinuse &= ~XFEATURE_MASK_XTILE_CFG;
    }
  }
}

export const xrstor = (cpu: CpuState, mem: Memory, addr: U64, edxeax: Mask) => xrstorInsn(cpu, mem, 'XRSTOR', addr, edxeax);
export const xrstors = (cpu: CpuState, mem: Memory, addr: U64, edxeax: Mask) => xrstorInsn(cpu, mem, 'XRSTORS', addr, edxeax);

