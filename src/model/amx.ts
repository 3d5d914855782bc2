// AMX palette 1 as on Sapphire Rapids: LDTILECFG, STTILECFG, TILELOADD, TILESTORED, TILEZERO,
// TILERELEASE and TDPBSSD, with their exception classes AMX-E1..E6 (SDM Vol2 instruction pages
// and §2.10; spec §6). TILECFG lives in component 17's image and tile t, row r, byte b at
// t*1024 + r*64 + b of component 18's image (spec §6.2), so XSAVE sees exactly what the tiles hold.
// XFD: TILELOADD/TILESTORED/TILEZERO/TDP* raise #NM when IA32_XFD[18]=1, after the #UDs the tile
// configuration decides (silicon.md R8); LDTILECFG, STTILECFG and
// TILERELEASE never do, and LDTILECFG/TILERELEASE still zero TILEDATA (SDM Vol1 13.14 [S22]).
import { type U64, U64_MAX, readU16 } from './bits';
import { ModelArgumentError } from './cpu-model';
import { type CpuState, extImage, modelOf } from './cpu-state';
import { noteInitialized, noteSideEffect, noteWrite } from './component-state';
import { checkExtendedUse } from './extended-use';
import { type Outcome, OK, gp, pf, ud } from './fault';
import { type Memory, locate } from './memory';
import { checkU64 } from './msr';
import { COLSB0, PALETTE_ID, ROWS0, START_ROW, TILECFG_SIZE, tilecfgProblem, tilesConfigured } from './tilecfg';
import { UNCERTAIN } from './uncertain';
import { raise } from './vmx';
import {
  XFEATURE_MASK_XTILE, XFEATURE_MASK_XTILE_DATA, XFEATURE_XTILE_CFG, XFEATURE_XTILE_DATA,
} from './xfeatures';

const BYTES_PER_ROW = 64;
const MAX_ROWS = 16;
const BYTES_PER_TILE = 1024;

function checkTmm(name: string, t: unknown): asserts t is number {
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > 7) {
    throw new ModelArgumentError(name, `not a tile register number 0..7: ${String(t)}`);
  }
}

/**
 * AMX exception-class checks that come before anything else: #UD without AMX, CR4.OSXSAVE=0 or
 * XCR0[18:17] != 11b; for AMX-E4 the #UD for tile operands that are not all different (spec §5.7, §6.5).
 */
function amxChecks(cpu: CpuState, insn: string, sameRegs: string | null = null): Outcome<never> | null {
  if (!modelOf(cpu).amx) return raise(cpu, ud(insn, `on ${cpu.model}, which has no AMX`));
  const generic = checkExtendedUse(cpu, insn, { enabled: XFEATURE_MASK_XTILE, uses: 0n, checksTs: false });
  if (generic) return generic;
  if (sameRegs) return raise(cpu, ud(insn, sameRegs));
  return null;
}

/**
 * The XFD #NM of an instruction that uses TILEDATA. It comes after every #UD the tile configuration
 * decides (tiles not configured, a tile invalid for the configuration): silicon.md R8, TILEZERO and
 * TILELOADD with tiles unconfigured raise #UD even when IA32_XFD[18] = 1.
 */
function tiledataXfdCheck(cpu: CpuState, insn: string): Outcome<never> | null {
  return checkExtendedUse(cpu, insn, {
    enabled: XFEATURE_MASK_XTILE,
    uses: XFEATURE_MASK_XTILE_DATA,
    checksTs: UNCERTAIN.amxChecksCr0Ts,
  });
}

const cfg = (cpu: CpuState) => extImage(cpu, XFEATURE_XTILE_CFG);
const data = (cpu: CpuState) => extImage(cpu, XFEATURE_XTILE_DATA);
const colsbOf = (c: Uint8Array, t: number) => readU16(c, COLSB0 + 2 * t);
const rowsOf = (c: Uint8Array, t: number) => c[ROWS0 + t]!;

/** #UD unless tiles are configured and tile t is valid (rows and colsb non-zero), colsb a multiple of 4. */
function tileProblem(c: Uint8Array, t: number, needColsb4 = true): string | null {
  if (!tilesConfigured(c)) return 'with TILES_CONFIGURED=0 (no LDTILECFG of palette 1)';
  if (rowsOf(c, t) === 0 || colsbOf(c, t) === 0) return `of tmm${t}, which the tile configuration leaves invalid`;
  if (needColsb4 && colsbOf(c, t) % 4 !== 0) return `of tmm${t}, whose colsb ${colsbOf(c, t)} is not a multiple of 4`;
  return null;
}

function zeroRowsFrom(cpu: CpuState, t: number, from: number): void {
  data(cpu).fill(0, t * BYTES_PER_TILE + from * BYTES_PER_ROW, (t + 1) * BYTES_PER_TILE);
}

function setStartRow(cpu: CpuState, r: number): void {
  cfg(cpu)[START_ROW] = r;
}

/**
 * A write of tile data: XINUSE[18] := 1 whatever the rows now hold (silicon.md R1b: TILEZERO sets
 * it even when every tile is zero); start_row, in TILECFG, is rewritten as a side effect.
 */
function finishTileWrite(cpu: CpuState): void {
  noteSideEffect(cpu, XFEATURE_XTILE_CFG);
  noteWrite(cpu, XFEATURE_XTILE_DATA);
}

/**
 * LDTILECFG m512 (AMX-E1): validate and load the configuration, zero all tile data. No XFD #NM.
 * XINUSE[17] := 1 and XINUSE[18] := 0 (silicon.md R1b); palette 0 puts both into their INIT state.
 */
export function ldtilecfg(cpu: CpuState, mem: Memory, addr: U64): Outcome {
  checkU64('addr', addr);
  const early = amxChecks(cpu, 'LDTILECFG');
  if (early) return early;
  const at = locate(mem, addr, TILECFG_SIZE);
  if (!at) return raise(cpu, pf('LDTILECFG', addr, false, 'reads a 64-byte configuration that is not mapped'));
  const img = at.region.bytes.subarray(at.offset, at.offset + TILECFG_SIZE);
  const problem = tilecfgProblem(img, 0, modelOf(cpu).amx!);
  if (problem) return raise(cpu, gp('LDTILECFG', `of a configuration whose ${problem}`));
  const c = cfg(cpu);
  // Palette 0 is the INIT state of TILECFG and TILEDATA; the rest of the image is not looked at.
  if (img[PALETTE_ID] === 0) {
    c.fill(0);
    noteInitialized(cpu, XFEATURE_XTILE_CFG);
  } else {
    c.set(img);
    noteWrite(cpu, XFEATURE_XTILE_CFG);
  }
  data(cpu).fill(0);
  noteInitialized(cpu, XFEATURE_XTILE_DATA);
  return OK;
}

/** STTILECFG m512 (AMX-E2): 64 zero bytes when tiles are not configured. No XFD #NM. */
export function sttilecfg(cpu: CpuState, mem: Memory, addr: U64): Outcome {
  checkU64('addr', addr);
  const early = amxChecks(cpu, 'STTILECFG');
  if (early) return early;
  const at = locate(mem, addr, TILECFG_SIZE);
  if (!at) return raise(cpu, pf('STTILECFG', addr, true, 'writes a 64-byte configuration that is not mapped'));
  const c = cfg(cpu);
  if (tilesConfigured(c)) at.region.bytes.set(c, at.offset);
  else at.region.bytes.fill(0, at.offset, at.offset + TILECFG_SIZE);
  return OK;
}

/** TILERELEASE (AMX-E6): TILECFG and TILEDATA to their INIT state; XINUSE[18:17] := 0. No XFD #NM. */
export function tilerelease(cpu: CpuState): Outcome {
  const early = amxChecks(cpu, 'TILERELEASE');
  if (early) return early;
  cfg(cpu).fill(0);
  data(cpu).fill(0);
  noteInitialized(cpu, XFEATURE_XTILE_CFG);
  noteInitialized(cpu, XFEATURE_XTILE_DATA);
  return OK;
}

/** TILEZERO tmm (AMX-E5): zero all 16 rows of 64 bytes, start_row := 0. */
export function tilezero(cpu: CpuState, tmm: number): Outcome {
  checkTmm('tmm', tmm);
  const early = amxChecks(cpu, 'TILEZERO');
  if (early) return early;
  const problem = tileProblem(cfg(cpu), tmm, false);
  if (problem) return raise(cpu, ud('TILEZERO', problem));
  const nm = tiledataXfdCheck(cpu, 'TILEZERO');
  if (nm) return nm;
  zeroRowsFrom(cpu, tmm, 0);
  setStartRow(cpu, 0);
  finishTileWrite(cpu);
  return OK;
}

function rowAddress(base: U64, stride: bigint, r: number): U64 {
  return (base + stride * BigInt(r)) & U64_MAX;
}

function checkStride(stride: unknown): asserts stride is bigint {
  // The index register is a signed 64-bit value.
  if (typeof stride !== 'bigint' || stride < -(1n << 63n) || stride >= 1n << 63n) {
    throw new ModelArgumentError('stride', `not a signed 64-bit stride: ${String(stride)}`);
  }
}

/**
 * TILELOADD tmm, [base + stride*row] (AMX-E3). Rows from start_row up are zeroed, then loaded one by
 * one (colsb bytes each, the rest of the 64-byte row zeroed). A #PF on row r leaves start_row = r so
 * the instruction restarts there (SDM Vol2 TILELOADD pseudocode): the rows before r stay loaded.
 */
export function tileloadd(cpu: CpuState, mem: Memory, tmm: number, base: U64, stride: bigint): Outcome {
  checkTmm('tmm', tmm);
  checkU64('base', base);
  checkStride(stride);
  const early = amxChecks(cpu, 'TILELOADD');
  if (early) return early;
  const c = cfg(cpu);
  const problem = tileProblem(c, tmm);
  if (problem) return raise(cpu, ud('TILELOADD', problem));
  const rows = rowsOf(c, tmm);
  const colsb = colsbOf(c, tmm);
  let r = c[START_ROW]!;
  if (r >= rows) return raise(cpu, ud('TILELOADD', `with start_row ${r} >= rows ${rows} of tmm${tmm}`));
  const nm = tiledataXfdCheck(cpu, 'TILELOADD');
  if (nm) return nm;
  const d = data(cpu);
  zeroRowsFrom(cpu, tmm, r);
  for (; r < rows; r++) {
    const a = rowAddress(base, stride, r);
    const at = locate(mem, a, colsb);
    if (!at) {
      setStartRow(cpu, r);
      finishTileWrite(cpu);
      return raise(cpu, pf('TILELOADD', a, false, `reads row ${r} of tmm${tmm}, not mapped,`));
    }
    const off = tmm * BYTES_PER_TILE + r * BYTES_PER_ROW;
    d.set(at.region.bytes.subarray(at.offset, at.offset + colsb), off);
    d.fill(0, off + colsb, off + BYTES_PER_ROW);
  }
  setStartRow(cpu, 0);
  finishTileWrite(cpu);
  return OK;
}

/** TILESTORED [base + stride*row], tmm (AMX-E3): colsb bytes of each row from start_row; restartable. */
export function tilestored(cpu: CpuState, mem: Memory, base: U64, stride: bigint, tmm: number): Outcome {
  checkTmm('tmm', tmm);
  checkU64('base', base);
  checkStride(stride);
  const early = amxChecks(cpu, 'TILESTORED');
  if (early) return early;
  const c = cfg(cpu);
  const problem = tileProblem(c, tmm);
  if (problem) return raise(cpu, ud('TILESTORED', problem));
  const rows = rowsOf(c, tmm);
  const colsb = colsbOf(c, tmm);
  let r = c[START_ROW]!;
  if (r >= rows) return raise(cpu, ud('TILESTORED', `with start_row ${r} >= rows ${rows} of tmm${tmm}`));
  const nm = tiledataXfdCheck(cpu, 'TILESTORED');
  if (nm) return nm;
  const d = data(cpu);
  for (; r < rows; r++) {
    const a = rowAddress(base, stride, r);
    const at = locate(mem, a, colsb);
    if (!at) {
      setStartRow(cpu, r);
      noteSideEffect(cpu, XFEATURE_XTILE_CFG);
      return raise(cpu, pf('TILESTORED', a, true, `writes row ${r} of tmm${tmm}, not mapped,`));
    }
    const off = tmm * BYTES_PER_TILE + r * BYTES_PER_ROW;
    at.region.bytes.set(d.subarray(off, off + colsb), at.offset);
  }
  setStartRow(cpu, 0);
  noteSideEffect(cpu, XFEATURE_XTILE_CFG);
  return OK;
}

/**
 * TDPBSSD tdst, tsrc1, tsrc2 (AMX-E4): dst.dword[m][n] += Σk Σb s8(src1[m].byte[4k+b]) ·
 * s8(src2[k].byte[4n+b]), 32-bit wrap-around, then the rest of each row and the rows past
 * dst.rows zeroed (SDM Vol2 TDPBSSD; spec §6.4). The same-register #UD comes before the XFD #NM.
 */
export function tdpbssd(cpu: CpuState, dst: number, src1: number, src2: number): Outcome {
  checkTmm('tdst', dst);
  checkTmm('tsrc1', src1);
  checkTmm('tsrc2', src2);
  const same = dst === src1 || dst === src2 || src1 === src2;
  const early = amxChecks(cpu, 'TDPBSSD', same ? `with tmm${dst}, tmm${src1}, tmm${src2} not all different` : null);
  if (early) return early;
  const c = cfg(cpu);
  for (const t of [dst, src1, src2]) {
    const problem = tileProblem(c, t);
    if (problem) return raise(cpu, ud('TDPBSSD', problem));
  }
  const [dr, dc] = [rowsOf(c, dst), colsbOf(c, dst)];
  const [ar, ac] = [rowsOf(c, src1), colsbOf(c, src1)];
  const [br, bc] = [rowsOf(c, src2), colsbOf(c, src2)];
  if (dc !== bc) return raise(cpu, ud('TDPBSSD', `with dst colsb ${dc} != src2 colsb ${bc}`));
  if (dr !== ar) return raise(cpu, ud('TDPBSSD', `with dst rows ${dr} != src1 rows ${ar}`));
  if (ac / 4 !== br) return raise(cpu, ud('TDPBSSD', `with src1 colsb/4 ${ac / 4} != src2 rows ${br}`));
  if (dc > 64 || bc > 64 || ac / 4 > 16 || br > 16) return raise(cpu, ud('TDPBSSD', 'beyond tmul_maxn/tmul_maxk'));
  const nm = tiledataXfdCheck(cpu, 'TDPBSSD');
  if (nm) return nm;
  const d = data(cpu);
  const s8 = (off: number) => (d[off]! << 24) >> 24;
  for (let m = 0; m < dr; m++) {
    const drow = dst * BYTES_PER_TILE + m * BYTES_PER_ROW;
    const arow = src1 * BYTES_PER_TILE + m * BYTES_PER_ROW;
    const acc = new Int32Array(dc / 4);
    for (let n = 0; n < dc / 4; n++) {
      acc[n] = d[drow + 4 * n]! | (d[drow + 4 * n + 1]! << 8) | (d[drow + 4 * n + 2]! << 16) | (d[drow + 4 * n + 3]! << 24);
    }
    for (let k = 0; k < ac / 4; k++) {
      const brow = src2 * BYTES_PER_TILE + k * BYTES_PER_ROW;
      for (let n = 0; n < dc / 4; n++) {
        let sum = 0;
        for (let b = 0; b < 4; b++) sum += s8(arow + 4 * k + b) * s8(brow + 4 * n + b);
        acc[n] = (acc[n]! + sum) | 0;
      }
    }
    for (let n = 0; n < dc / 4; n++) {
      const v = acc[n]!;
      d[drow + 4 * n] = v & 0xff; d[drow + 4 * n + 1] = (v >>> 8) & 0xff;
      d[drow + 4 * n + 2] = (v >>> 16) & 0xff; d[drow + 4 * n + 3] = (v >>> 24) & 0xff;
    }
    d.fill(0, drow + dc, drow + BYTES_PER_ROW);
  }
  zeroRowsFrom(cpu, dst, dr);
  setStartRow(cpu, 0);
  finishTileWrite(cpu);
  return OK;
}

/** The 64 bytes of tile t, row r: for the debugger and tests. */
export function tileRow(cpu: CpuState, t: number, r: number): Uint8Array {
  checkTmm('tmm', t);
  if (!Number.isInteger(r) || r < 0 || r >= MAX_ROWS) throw new ModelArgumentError('row', `not a row 0..15: ${r}`);
  const off = t * BYTES_PER_TILE + r * BYTES_PER_ROW;
  return data(cpu).slice(off, off + BYTES_PER_ROW);
}

