// Instructions that write the x87, SSE, AVX, AVX-512 and PKRU registers, and the ones that return
// them to their initial configuration, each with the faults that decide whether it runs: CR0.TS
// (#NM), XCR0 and CR4.OSXSAVE (#UD), XFD (#NM with IA32_XFD_ERR). They stand for the guest and
// host code that makes a component leave its init state; what matters here is which bytes of
// which component change and what XINUSE then says. Plus readers that decode the images for the
// debugger. Register layouts: SDM Vol1 13.5 (component formats), 8.1 (x87 stack), 15.1 (AVX-512).
import { type U64, readLE, readU16, writeLE, writeU16, writeU32 } from './bits';
import { ModelArgumentError } from './cpu-model';
import { type CpuState, extImage, modelOf } from './cpu-state';
import { noteInitialized, noteSideEffect, noteWrite } from './component-state';
import { checkExtendedUse } from './extended-use';
import { type Outcome, OK, gp, nmTs, ud } from './fault';
import { FCW, FCW_DEFAULT, FIP, FSW, FTW, MXCSR, ST0, XMM0, fcwAsStored } from './legacy-region';
import { raise } from './vmx';
import {
  XFEATURE_MASK_AVX512, XFEATURE_MASK_SSE, XFEATURE_MASK_YMM, XFEATURE_FP,
  XFEATURE_Hi16_ZMM, XFEATURE_OPMASK, XFEATURE_PKRU, XFEATURE_SSE, XFEATURE_YMM, XFEATURE_ZMM_Hi256,
} from './xfeatures';
import { readU32 } from './bits';

const M128 = (1n << 128n) - 1n;

function checkReg(name: string, n: unknown, max: number): asserts n is number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) {
    throw new ModelArgumentError(name, `not a register number 0..${max}: ${String(n)}`);
  }
}
function checkWidth(name: string, v: unknown, bits: number): asserts v is bigint {
  if (typeof v !== 'bigint' || v < 0n || v >= 1n << BigInt(bits)) {
    throw new ModelArgumentError(name, `not an unsigned ${bits}-bit value: ${String(v)}`);
  }
}

// ---- x87 -------------------------------------------------------------------------------------

function top(cpu: CpuState): number {
  return (readU16(cpu.legacy, FSW) >> 11) & 7;
}
function setTop(cpu: CpuState, t: number): void {
  writeU16(cpu.legacy, FSW, (readU16(cpu.legacy, FSW) & ~0x3800) | (t << 11));
}

/** x87 instructions raise #NM when CR0.TS=1 (SDM Vol3A 2.5; CR0.EM is not modelled). */
function x87Checks(cpu: CpuState, insn: string): Outcome<never> | null {
  return cpu.cr0.ts ? raise(cpu, nmTs(insn)) : null;
}

/** The QNaN floating-point indefinite, loaded on a masked stack overflow (SDM Vol1 8.5.1.1). */
const X87_INDEFINITE = 0xffffc000000000000000n;

/**
 * FLD m80: push an 80-bit value. TOP decrements; the image keeps ST(i) in stack order, so its
 * slots shift by one. Pushing onto a non-empty register is a stack overflow: with FCW.IM masked
 * (the default) the indefinite is loaded and FSW.IE, SF and C1 set; unmasked, only FSW.ES and B
 * are set and the stack is left alone.
 *
 * FIP := the instruction's linear address `rip` (silicon.md R11; SDM Vol1 8.1.8, "last instruction
 * pointer"). FOP and FDP are left as they are: on this CPU they are updated only on an unmasked x87
 * exception (CPUID.(EAX=07H,ECX=0):EBX[6] FDP_EXCPTN_ONLY, and FOP compatibility mode off, SDM Vol1
 * 8.1.9), and the recorded saves show them unchanged by FLD. Scenario code has no linear addresses:
 * the simulator passes 0.
 */
export function fld(cpu: CpuState, value80: bigint, at: { rip?: U64 } = {}): Outcome {
  checkWidth('value', value80, 80);
  if (at.rip !== undefined) checkWidth('rip', at.rip, 64);
  const early = x87Checks(cpu, 'FLD');
  if (early) return early;
  const l = cpu.legacy;
  writeLE(l, FIP, 8, at.rip ?? 0n);
  const t = (top(cpu) - 1) & 7;
  let fsw = readU16(l, FSW);
  let v = value80;
  if ((l[FTW]! >> t) & 1) {
    fsw |= 0x0001 | 0x0040 | 0x0200; // IE, SF, C1 = 1: overflow
    if ((readU16(l, FCW) & 1) === 0) {
      writeU16(l, FSW, fsw | 0x0080 | 0x8000); // ES, B: an unmasked exception is pending
      noteWrite(cpu, XFEATURE_FP);
      return OK;
    }
    v = X87_INDEFINITE;
  }
  writeU16(l, FSW, fsw);
  l.copyWithin(ST0 + 16, ST0, ST0 + 16 * 7);
  l.fill(0, ST0, ST0 + 16);
  writeLE(l, ST0, 10, v);
  setTop(cpu, t);
  l[FTW] = l[FTW]! | (1 << t);
  noteWrite(cpu, XFEATURE_FP);
  return OK;
}

/** FSTP ST(0) to nowhere (FSTP ST0): pop. Underflow on an empty ST(0) sets IE and SF. */
export function fstp(cpu: CpuState): Outcome {
  const early = x87Checks(cpu, 'FSTP');
  if (early) return early;
  const l = cpu.legacy;
  const t = top(cpu);
  if (((l[FTW]! >> t) & 1) === 0) {
    writeU16(l, FSW, (readU16(l, FSW) | 0x0041) & ~0x0200);
    noteWrite(cpu, XFEATURE_FP);
    return OK;
  }
  const st0 = l.slice(ST0, ST0 + 16);
  l.copyWithin(ST0, ST0 + 16, ST0 + 16 * 8);
  l.set(st0, ST0 + 16 * 7); // the physical register keeps its contents, now tagged empty
  l[FTW] = l[FTW]! & ~(1 << t);
  setTop(cpu, (t + 1) & 7);
  noteWrite(cpu, XFEATURE_FP);
  return OK;
}

/**
 * FNINIT: FCW = 037FH, FSW = 0 (TOP = 0), all tags empty, FOP/FIP/FDP = 0 (SDM Vol2 FINIT). The
 * data registers keep their contents; with TOP = 0, ST(i) is now Ri, so the slots are reordered.
 * x87 is back in its initial configuration only if those contents are zero.
 */
export function fninit(cpu: CpuState): Outcome {
  const early = x87Checks(cpu, 'FNINIT');
  if (early) return early;
  const l = cpu.legacy;
  const t = top(cpu);
  const old = l.slice(ST0, ST0 + 128);
  for (let i = 0; i < 8; i++) {
    const from = (i - t) & 7; // physical Ri was ST((i - TOP) & 7)
    l.set(old.subarray(16 * from, 16 * from + 16), ST0 + 16 * i);
  }
  l.fill(0, 0, 24);
  writeU16(l, FCW, FCW_DEFAULT);
  noteWrite(cpu, XFEATURE_FP);
  return OK;
}

export function fldcw(cpu: CpuState, cw: number): Outcome {
  checkWidth('cw', BigInt(cw), 16);
  const early = x87Checks(cpu, 'FLDCW');
  if (early) return early;
  writeU16(cpu.legacy, FCW, fcwAsStored(cw));
  noteWrite(cpu, XFEATURE_FP);
  return OK;
}

// ---- SSE --------------------------------------------------------------------------------------

/** Legacy-SSE write of XMMn (MOVDQA xmm, m128): bits 255:128 of YMMn are left unchanged. */
export function movdqa(cpu: CpuState, n: number, value128: bigint): Outcome {
  checkReg('xmm', n, 15);
  checkWidth('value', value128, 128);
  if (cpu.cr0.ts) return raise(cpu, nmTs('MOVDQA'));
  writeLE(cpu.legacy, XMM0 + 16 * n, 16, value128);
  noteWrite(cpu, XFEATURE_SSE);
  return OK;
}

/** LDMXCSR: #GP(0) for a reserved bit (one clear in MXCSR_MASK, SDM Vol1 11.6.6). */
export function ldmxcsr(cpu: CpuState, value: number): Outcome {
  checkWidth('mxcsr', BigInt(value), 32);
  if (cpu.cr0.ts) return raise(cpu, nmTs('LDMXCSR'));
  const reserved = value & ~modelOf(cpu).mxcsrMask;
  if (reserved) return raise(cpu, gp('LDMXCSR', `of 0x${value.toString(16)}, setting reserved MXCSR bits`));
  writeU32(cpu.legacy, MXCSR, value);
  // MXCSR belongs to the SSE component: LDMXCSR of any value, 1F80H included, sets XINUSE[1] and
  // XMODIFIED[1] (silicon.md R6; SDM Vol1 13.6 allows it).
  noteWrite(cpu, XFEATURE_SSE);
  return OK;
}

// ---- AVX and AVX-512 ----------------------------------------------------------------------------

const hasAvx512 = (cpu: CpuState) => (modelOf(cpu).xcr0Supported & XFEATURE_MASK_AVX512) !== 0n;

/** VEX- and EVEX-encoded writes of XMMn/YMMn zero the destination up to the maximum vector length. */
function zeroAbove(cpu: CpuState, n: number, fromBit: 128 | 256): void {
  if (fromBit === 128) extImage(cpu, XFEATURE_YMM).fill(0, 16 * n, 16 * n + 16);
  if (hasAvx512(cpu)) extImage(cpu, XFEATURE_ZMM_Hi256).fill(0, 32 * n, 32 * n + 32);
}

/**
 * A vector write of `width` bits to register 0..15: the components it writes become in use; the
 * ones it only zeroes (bits MAXVL-1:width) are modified but keep their XINUSE bit (silicon.md R1:
 * "a VEX.128 write zeroes the upper half but neither sets nor clears XINUSE[2]").
 */
function noteVector(cpu: CpuState, width: 128 | 256 | 512): void {
  noteWrite(cpu, XFEATURE_SSE);
  if (width >= 256) noteWrite(cpu, XFEATURE_YMM);
  else noteSideEffect(cpu, XFEATURE_YMM);
  if (hasAvx512(cpu)) {
    if (width === 512) noteWrite(cpu, XFEATURE_ZMM_Hi256);
    else noteSideEffect(cpu, XFEATURE_ZMM_Hi256);
  }
}

const AVX_USE = { enabled: XFEATURE_MASK_SSE | XFEATURE_MASK_YMM, uses: XFEATURE_MASK_SSE | XFEATURE_MASK_YMM, checksTs: true };
const AVX512_USE = {
  enabled: XFEATURE_MASK_SSE | XFEATURE_MASK_YMM | XFEATURE_MASK_AVX512,
  uses: XFEATURE_MASK_SSE | XFEATURE_MASK_YMM | XFEATURE_MASK_AVX512,
  checksTs: true,
};

function avxChecks(cpu: CpuState, insn: string): Outcome<never> | null {
  if (!(modelOf(cpu).xcr0Supported & XFEATURE_MASK_YMM)) return raise(cpu, ud(insn, `on ${cpu.model}, which has no AVX`));
  return checkExtendedUse(cpu, insn, AVX_USE);
}
function avx512Checks(cpu: CpuState, insn: string): Outcome<never> | null {
  if (!hasAvx512(cpu)) return raise(cpu, ud(insn, `on ${cpu.model}, which has no AVX-512`));
  return checkExtendedUse(cpu, insn, AVX512_USE);
}

/** VMOVDQA xmm (VEX.128): writes XMMn and zeroes bits MAXVL-1:128. */
export function vmovdqaXmm(cpu: CpuState, n: number, value128: bigint): Outcome {
  checkReg('xmm', n, 15);
  checkWidth('value', value128, 128);
  const early = avxChecks(cpu, 'VMOVDQA');
  if (early) return early;
  writeLE(cpu.legacy, XMM0 + 16 * n, 16, value128);
  zeroAbove(cpu, n, 128);
  noteVector(cpu, 128);
  return OK;
}

/** VMOVDQA ymm (VEX.256): writes YMMn (XMMn and the AVX component's upper half) and zeroes MAXVL-1:256. */
export function vmovdqaYmm(cpu: CpuState, n: number, value256: bigint): Outcome {
  checkReg('ymm', n, 15);
  checkWidth('value', value256, 256);
  const early = avxChecks(cpu, 'VMOVDQA');
  if (early) return early;
  writeLE(cpu.legacy, XMM0 + 16 * n, 16, value256 & M128);
  writeLE(extImage(cpu, XFEATURE_YMM), 16 * n, 16, value256 >> 128n);
  zeroAbove(cpu, n, 256);
  noteVector(cpu, 256);
  return OK;
}

/** VMOVDQA64 zmm (EVEX.512): ZMM0-15 span SSE, AVX and ZMM_Hi256; ZMM16-31 are Hi16_ZMM. */
export function vmovdqa64Zmm(cpu: CpuState, n: number, value512: bigint): Outcome {
  checkReg('zmm', n, 31);
  checkWidth('value', value512, 512);
  const early = avx512Checks(cpu, 'VMOVDQA64');
  if (early) return early;
  if (n < 16) {
    writeLE(cpu.legacy, XMM0 + 16 * n, 16, value512 & M128);
    writeLE(extImage(cpu, XFEATURE_YMM), 16 * n, 16, (value512 >> 128n) & M128);
    writeLE(extImage(cpu, XFEATURE_ZMM_Hi256), 32 * n, 32, value512 >> 256n);
    noteVector(cpu, 512);
  } else {
    writeLE(extImage(cpu, XFEATURE_Hi16_ZMM), 64 * (n - 16), 64, value512);
    noteWrite(cpu, XFEATURE_Hi16_ZMM);
  }
  return OK;
}

/** KMOVQ k, r64: writes opmask register kn. */
export function kmovq(cpu: CpuState, k: number, value64: U64): Outcome {
  checkReg('k', k, 7);
  checkWidth('value', value64, 64);
  const early = avx512Checks(cpu, 'KMOVQ');
  if (early) return early;
  writeLE(extImage(cpu, XFEATURE_OPMASK), 8 * k, 8, value64);
  noteWrite(cpu, XFEATURE_OPMASK);
  return OK;
}

/** AVX and ZMM_Hi256 back to their initial configuration: XINUSE[2] and [6] := 0 (silicon.md R1). */
function initUpperHalves(cpu: CpuState): void {
  extImage(cpu, XFEATURE_YMM).fill(0);
  noteInitialized(cpu, XFEATURE_YMM);
  if (hasAvx512(cpu)) {
    extImage(cpu, XFEATURE_ZMM_Hi256).fill(0);
    noteInitialized(cpu, XFEATURE_ZMM_Hi256);
  }
}

/**
 * VZEROUPPER: bits MAXVL-1:128 of YMM/ZMM0-15 := 0 (SDM Vol2 VZEROUPPER). XINUSE[2] and [6] := 0;
 * XINUSE[1] is left as it is (silicon.md R1).
 */
export function vzeroupper(cpu: CpuState): Outcome {
  const early = avxChecks(cpu, 'VZEROUPPER');
  if (early) return early;
  initUpperHalves(cpu);
  return OK;
}

/**
 * VZEROALL: YMM/ZMM0-15 := 0 entirely (XMM included); ZMM16-31 unchanged. XINUSE[1], [2] and [6]
 * := 0. silicon.md R1 says VZEROALL leaves XINUSE[1] set, but the logs recorded on that CPU
 * (test/fixtures/silicon) disagree: of 130 VZEROALLs, 88 clear a set XGETBV(1)[1], and the 2 after
 * which it reads 1 had MXCSR != 1F80H, which XGETBV(1) reports there (R6). The recordings win.
 */
export function vzeroall(cpu: CpuState): Outcome {
  const early = avxChecks(cpu, 'VZEROALL');
  if (early) return early;
  cpu.legacy.fill(0, XMM0, XMM0 + 256);
  noteInitialized(cpu, XFEATURE_SSE);
  initUpperHalves(cpu);
  return OK;
}

// ---- PKRU ---------------------------------------------------------------------------------------

/** WRPKRU: #UD without PKU or with CR4.PKE=0 (SDM Vol2 WRPKRU). PKRU = 0 is its init state. */
export function wrpkru(cpu: CpuState, value: number): Outcome {
  checkWidth('pkru', BigInt(value), 32);
  if (!modelOf(cpu).pku) return raise(cpu, ud('WRPKRU', `on ${cpu.model}, which has no protection keys`));
  if (!cpu.cr4.pke) return raise(cpu, ud('WRPKRU', 'with CR4.PKE=0'));
  writeU32(extImage(cpu, XFEATURE_PKRU), 0, value);
  noteWrite(cpu, XFEATURE_PKRU);
  return OK;
}

// ---- Readers (no faults: the debugger's view of the registers) -----------------------------------

export function x87Top(cpu: CpuState): number {
  return top(cpu);
}
/** ST(i) as an 80-bit value. */
export function readSt(cpu: CpuState, i: number): bigint {
  checkReg('st', i, 7);
  return readLE(cpu.legacy, ST0 + 16 * i, 10);
}
export function readXmm(cpu: CpuState, n: number): bigint {
  checkReg('xmm', n, 15);
  return readLE(cpu.legacy, XMM0 + 16 * n, 16);
}
export function readYmm(cpu: CpuState, n: number): bigint {
  checkReg('ymm', n, 15);
  const hi = cpu.ext[XFEATURE_YMM] ? readLE(cpu.ext[XFEATURE_YMM]!, 16 * n, 16) : 0n;
  return (hi << 128n) | readXmm(cpu, n);
}
export function readZmm(cpu: CpuState, n: number): bigint {
  checkReg('zmm', n, 31);
  if (n >= 16) return cpu.ext[XFEATURE_Hi16_ZMM] ? readLE(cpu.ext[XFEATURE_Hi16_ZMM]!, 64 * (n - 16), 64) : 0n;
  const hi = cpu.ext[XFEATURE_ZMM_Hi256] ? readLE(cpu.ext[XFEATURE_ZMM_Hi256]!, 32 * n, 32) : 0n;
  return (hi << 256n) | readYmm(cpu, n);
}
export function readOpmask(cpu: CpuState, k: number): bigint {
  checkReg('k', k, 7);
  return cpu.ext[XFEATURE_OPMASK] ? readLE(cpu.ext[XFEATURE_OPMASK]!, 8 * k, 8) : 0n;
}
export function readPkru(cpu: CpuState): number {
  return cpu.ext[XFEATURE_PKRU] ? readU32(cpu.ext[XFEATURE_PKRU]!, 0) : 0;
}
export function readMxcsr(cpu: CpuState): number {
  return readU32(cpu.legacy, MXCSR);
}

