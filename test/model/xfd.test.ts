// XFD (IA32_XFD[18] on SPR) with the XSAVE feature set: the save instructions treat an XFD-armed
// TILEDATA as if XINUSE[18]=0, the restore instructions #NM only when they would load it, CR0.TS
// wins over XFD, and a full SPR state survives XSAVES -> XRSTORS.
// (spec = shared/spec/hardware.md; SDM = Intel SDM.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type CpuState, type Memory, MSR_IA32_XFD, MSR_IA32_XFD_ERR, MSR_IA32_XSS, UNCERTAIN, createMemory, fld, kmovq, ldmxcsr, ldtilecfg,
  mapRegion, movdqa, noteWrite, readU64, tileRow, tileloadd, tilerelease, vmovdqa64Zmm, vmovdqaYmm, wrmsr, wrpkru,
  writeU32, writeU64, xgetbv, xrstor, xrstors, xsave, xsavec, xsaveopt, xsaves, } from '../../src/model';
import { C, ALL, AREA, ok, fault, spr, withArea, bytes, fill, fromLe, pat, cfgBytes, tileBytes } from './support';

const XTILEDATA = 0x40000n;



/** LDTILECFG palette 1 (8 tiles of 16 rows x 64 bytes) and TILELOADD of every tile: XINUSE[18:17] = 11b. */
function loadTiles(cpu: CpuState, mem: Memory): void {
  if (!mem.regions.some((r) => r.name === 'tilecfg')) {
    mapRegion(mem, 0x1000n, 64, 'tilecfg').bytes.set(cfgBytes);
    mapRegion(mem, 0x4000n, 8192, 'tiles').bytes.set(tileBytes);
  }
  ok(ldtilecfg(cpu, mem, 0x1000n));
  for (let t = 0; t < 8; t++) ok(tileloadd(cpu, mem, t, 0x4000n + BigInt(1024 * t), 64n));
  assert.equal(cpu.xinuse & 0x60000n, 0x60000n);
}
const tilesHoldData = (cpu: CpuState) => assert.deepEqual(Array.from(cpu.ext[18]!), tileBytes);

// ---- save instructions -------------------------------------------------------------------------

test('XSAVEC of released tiles (after TILERELEASE): XSTATE_BV[18]=0 and XCOMP_BV[18]=1 (spec §5.5, KVM amx_test [S18])', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  loadTiles(cpu, mem);
  ok(tilerelease(cpu));
  assert.equal(cpu.xinuse & 0x60000n, 0n);
  a.fill(0xcc);
  ok(xsavec(cpu, mem, AREA, XTILEDATA));
  assert.equal(readU64(a, 512), 0n);
  assert.equal(readU64(a, 520), 0x8000000000040000n);
  assert.deepEqual(bytes(a, 576, 8192), fill(8192, 0xcc)); // init: not written
  ok(xsavec(cpu, mem, AREA, ALL));
  assert.equal(readU64(a, 512) & 0x60000n, 0n);
  assert.equal(readU64(a, 520), 0x80000000000602e7n);
});

test('XSAVEC with XFD[18]=1 over live tiles: XSTATE_BV[18]=0, XCOMP_BV[18]=1, TILEDATA slot untouched, tiles and XINUSE[18] unchanged, no #NM (spec §5.5 [S15][S18])', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  loadTiles(cpu, mem);
  ok(wrmsr(cpu, MSR_IA32_XFD, XTILEDATA));
  a.fill(0xcc);
  ok(xsavec(cpu, mem, AREA, 0x60000n));
  assert.equal(readU64(a, 512), 0x20000n); // TILECFG saved, TILEDATA "as if XINUSE[18]=0"
  assert.equal(readU64(a, 520), 0x8000000000060000n);
  assert.deepEqual(bytes(a, 576, 64), cfgBytes);
  assert.deepEqual(bytes(a, 640, 8192), fill(8192, 0xcc));
  tilesHoldData(cpu);
  assert.equal(cpu.xinuse, 0x60000n);
  assert.equal(cpu.xfdErr, 0n);
  // RFBM = TILEDATA alone
  a.fill(0xcc);
  ok(xsavec(cpu, mem, AREA, XTILEDATA));
  assert.equal(readU64(a, 512), 0n);
  assert.equal(readU64(a, 520), 0x8000000000040000n);
  assert.deepEqual(bytes(a, 576, 8192), fill(8192, 0xcc));
});

test('XSAVE with XFD[18]=1 writes the init value (zeros) to the TILEDATA slot at 2816 and XSTATE_BV[18]=0; the tiles keep their data, XINUSE[18] stays 1 (spec §5.5 [S15])', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  loadTiles(cpu, mem);
  ok(wrmsr(cpu, MSR_IA32_XFD, XTILEDATA));
  a.fill(0xcc);
  writeU64(a, 512, 0x40000n); // old XSTATE_BV[18] = 1
  writeU64(a, 520, 0n);
  a.fill(0, 528, 576);
  ok(xsave(cpu, mem, AREA, ALL));
  assert.deepEqual(bytes(a, 2752, 64), cfgBytes);
  assert.deepEqual(bytes(a, 2816, 8192), fill(8192, 0));
  assert.deepEqual(bytes(a, 11008, 1280), fill(1280, 0xcc));
  assert.equal(readU64(a, 512), 0x20000n);
  tilesHoldData(cpu);
  assert.equal(cpu.xinuse, 0x60000n);
  // XGETBV(1) still reports XINUSE[18]=1 (UNCERTAIN xgetbv1MasksXfdArmed = false, spec §5.6)
  assert.deepEqual(xgetbv(cpu, 1), { kind: 'ok', value: 0x60000n });
  assert.equal(cpu.xfdErr, 0n);
});

test('XSAVE with XFD[18]=1 but RFBM[18]=0 leaves the TILEDATA slot and keeps old XSTATE_BV[18] (SDM Vol2 XSAVE, spec §5.5)', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  loadTiles(cpu, mem);
  ok(wrmsr(cpu, MSR_IA32_XFD, XTILEDATA));
  a.fill(0xcc);
  writeU64(a, 512, 0x40000n);
  ok(xsave(cpu, mem, AREA, 0x20000n));
  assert.equal(readU64(a, 512), 0x60000n);
  assert.deepEqual(bytes(a, 2752, 64), cfgBytes);
  assert.deepEqual(bytes(a, 2816, 8192), fill(8192, 0xcc));
});

test('XSAVEOPT with XFD[18]=1 leaves the TILEDATA slot untouched and writes XSTATE_BV[18]=0 (spec §5.5, Linux xstate_op_valid)', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  loadTiles(cpu, mem);
  ok(wrmsr(cpu, MSR_IA32_XFD, XTILEDATA));
  a.fill(0xcc);
  writeU64(a, 512, 0x40000n);
  ok(xsaveopt(cpu, mem, AREA, ALL));
  assert.equal(readU64(a, 512), 0x20000n);
  assert.equal(readU64(a, 520), 0xccccccccccccccccn); // XSAVEOPT writes only XSTATE_BV
  assert.deepEqual(bytes(a, 2752, 64), cfgBytes);
  assert.deepEqual(bytes(a, 2816, 8192), fill(8192, 0xcc));
  tilesHoldData(cpu);
});

test('XSAVES with XFD[18]=1 leaves the TILEDATA slot untouched, XSTATE_BV[18]=0, XCOMP_BV[18]=1 (spec §5.5)', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  loadTiles(cpu, mem);
  ok(wrmsr(cpu, MSR_IA32_XSS, 0x400n));
  cpu.ext[10]!.set(pat(8, 10));
  noteWrite(cpu, 10);
  ok(wrmsr(cpu, MSR_IA32_XFD, XTILEDATA));
  a.fill(0xcc);
  ok(xsaves(cpu, mem, AREA, ALL)); // RFBM 0x606e7: PKRU 2432, PASID 2440, TILECFG 2496, TILEDATA 2560
  assert.equal(readU64(a, 512), 0x20400n);
  assert.equal(readU64(a, 520), 0x80000000000606e7n);
  assert.deepEqual(bytes(a, 2440, 8), pat(8, 10));
  assert.deepEqual(bytes(a, 2496, 64), cfgBytes);
  assert.deepEqual(bytes(a, 2560, 8192), fill(8192, 0xcc));
  tilesHoldData(cpu);
  assert.equal(cpu.xinuse, 0x60400n);
});

test('XFD has no effect when XCR0[18]=0: XSAVE/XSAVEC never touch component 18 (spec §5.2 "XCR0[i]=0 => XFD[i] irrelevant")', () => {
  const cpu = spr(0x2e7n);
  ok(wrmsr(cpu, MSR_IA32_XFD, XTILEDATA));
  ok(vmovdqaYmm(cpu, 0, (1n << 255n) | 1n));
  const { mem, a } = withArea();
  a.fill(0xcc);
  writeU64(a, 512, 0x40000n);
  ok(xsave(cpu, mem, AREA, ALL));
  assert.equal(readU64(a, 512), 0x40006n);
  assert.deepEqual(bytes(a, 2816, 64), fill(64, 0xcc));
  ok(xsavec(cpu, mem, AREA, ALL));
  assert.equal(readU64(a, 520), 0x80000000000002e7n);
});

// ---- restore instructions ----------------------------------------------------------------------

/** An XSAVES image of live tiles (XSTATE_BV[18]=1), then IA32_XFD[18] := 1. */
function xfdArmedWithImage(): { cpu: CpuState; mem: Memory; a: Uint8Array } {
  const cpu = spr();
  const { mem, a } = withArea();
  loadTiles(cpu, mem);
  ok(vmovdqaYmm(cpu, 0, (0x1234n << 128n) | 0x5678n));
  ok(xsaves(cpu, mem, AREA, ALL));
  assert.equal(readU64(a, 512), 0x60006n);
  ok(tilerelease(cpu));
  ok(wrmsr(cpu, MSR_IA32_XFD, XTILEDATA));
  return { cpu, mem, a };
}

test('XRSTORS of an image with XSTATE_BV[18]=1 while XFD[18]=1: #NM (xfd), IA32_XFD_ERR = 0x40000, no other state change (spec §5.5; silicon.md agreements: XRSTOR with XSTATE_BV[18]=1 faults #NM)', () => {
  const { cpu, mem, a } = xfdArmedWithImage();
  ok(vmovdqaYmm(cpu, 0, 0x9999n));
  const before = structuredClone(cpu);
  const memBefore = a.slice();
  const f = fault(xrstors(cpu, mem, AREA, ALL));
  assert.equal(f.mnemonic, '#NM');
  assert.equal(f.vector, 7);
  assert.equal(f.nmCause, 'xfd');
  assert.equal(f.errorCode, undefined);
  assert.deepEqual(f.xfd, { xfd: 0x40000n, xfdErr: 0x40000n });
  assert.equal(cpu.xfdErr, 0x40000n);
  assert.deepEqual({ ...cpu, xfdErr: 0n }, { ...before, xfdErr: 0n });
  assert.deepEqual(a, memBefore);
});

test('XRSTOR (standard and compacted) loading TILEDATA while XFD[18]=1: #NM (xfd), IA32_XFD_ERR = 0x40000, state unchanged (spec §5.5 [S15])', () => {
  for (const save of [xsave, xsavec]) {
    const cpu = spr();
    const { mem, a } = withArea();
    loadTiles(cpu, mem);
    ok(save(cpu, mem, AREA, ALL));
    ok(tilerelease(cpu));
    ok(wrmsr(cpu, MSR_IA32_XFD, XTILEDATA));
    const before = structuredClone(cpu);
    const memBefore = a.slice();
    const f = fault(xrstor(cpu, mem, AREA, ALL));
    assert.equal(f.mnemonic, '#NM');
    assert.equal(f.nmCause, 'xfd');
    assert.deepEqual(f.xfd, { xfd: 0x40000n, xfdErr: 0x40000n });
    assert.equal(cpu.xfdErr, 0x40000n);
    assert.deepEqual({ ...cpu, xfdErr: 0n }, { ...before, xfdErr: 0n });
    assert.deepEqual(a, memBefore);
  }
});

test('XRSTORS with XSTATE_BV[18]=0 while XFD[18]=1 initializes the tiles without a fault; XCOMP_BV[18]=0 (FORCE_INIT) likewise (spec §5.5, Linux init_fpstate)', () => {
  // Live tiles, an image with XSTATE_BV[18]=0, then XFD armed.
  for (const clearXcomp of [false, true]) {
    const cpu = spr();
    const { mem, a } = withArea();
    loadTiles(cpu, mem);
    ok(xsaves(cpu, mem, AREA, ALL));
    writeU64(a, 512, readU64(a, 512) & ~XTILEDATA);
    if (clearXcomp) {
      // XCOMP_BV without bit 18: same layout below 2560, TILEDATA forced to init.
      writeU64(a, 520, C | 0x202e7n);
    }
    ok(wrmsr(cpu, MSR_IA32_XFD, XTILEDATA));
    ok(xrstors(cpu, mem, AREA, ALL));
    assert.deepEqual(Array.from(cpu.ext[18]!), fill(8192, 0), `clearXcomp=${clearXcomp}`);
    assert.deepEqual(Array.from(cpu.ext[17]!), cfgBytes);
    assert.equal(cpu.xinuse & 0x60000n, 0x20000n);
    assert.equal(cpu.xfdErr, 0n);
  }
});

test('XRSTOR with RFBM[18]=0 does not #NM for an image with XSTATE_BV[18]=1 while XFD[18]=1; tiles untouched (spec §5.5: only components it would load)', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  loadTiles(cpu, mem);
  ok(xsave(cpu, mem, AREA, ALL));
  assert.equal(readU64(a, 512) & XTILEDATA, XTILEDATA);
  ok(wrmsr(cpu, MSR_IA32_XFD, XTILEDATA));
  ok(xrstor(cpu, mem, AREA, 0x3n));
  tilesHoldData(cpu);
  assert.equal(cpu.xfdErr, 0n);
});

test('XRSTOR with CR0.TS=1 and XFD[18] armed: #NM for CR0.TS, IA32_XFD_ERR unchanged (spec §5.3 [S17], UNCERTAIN cr0TsBeforeXfd)', () => {
  assert.equal(UNCERTAIN.cr0TsBeforeXfd, true);
  for (const insn of [xrstor, xrstors]) {
    for (const xfdErr of [0n, 0x40000n]) {
      const { cpu, mem, a } = xfdArmedWithImage();
      ok(wrmsr(cpu, MSR_IA32_XFD_ERR, xfdErr));
      cpu.cr0.ts = true;
      const before = structuredClone(cpu);
      const memBefore = a.slice();
      const f = fault(insn(cpu, mem, AREA, ALL));
      assert.equal(f.mnemonic, '#NM');
      assert.equal(f.nmCause, 'cr0.ts');
      assert.equal(f.xfd, undefined);
      assert.equal(cpu.xfdErr, xfdErr);
      assert.deepEqual(cpu, before);
      assert.deepEqual(a, memBefore);
    }
  }
});

test('XRSTORS with XFD[18] armed: the header #GP comes before the XFD #NM, the MXCSR #GP after it (silicon.md R5)', () => {
  {
    const { cpu, mem, a } = xfdArmedWithImage();
    a[512 + 24] = 1; // header byte 24
    const before = structuredClone(cpu);
    const f = fault(xrstors(cpu, mem, AREA, ALL));
    assert.equal(f.mnemonic, '#GP');
    assert.match(f.reason, /header bytes 16\.\.63/);
    assert.deepEqual(cpu, before);
  }
  {
    const { cpu, mem, a } = xfdArmedWithImage();
    writeU32(a, 24, 0x10000);
    const before = structuredClone(cpu);
    const f = fault(xrstors(cpu, mem, AREA, ALL));
    assert.equal(f.mnemonic, '#NM');
    assert.equal(f.nmCause, 'xfd');
    assert.equal(cpu.xfdErr, 0x40000n);
    assert.deepEqual({ ...cpu, xfdErr: 0n }, { ...before, xfdErr: 0n });
  }
});

// ---- round trip ---------------------------------------------------------------------------------

const zmmBytes = (n: number) => pat(64, n + 1);
const SUP: Record<number, number[]> = {
  8: [0x2c, ...pat(71, 8), ...fill(56, 0)], // IA32_RTIT_CTL.TraceEn = 0; bytes 72..127 reserved
  10: pat(8, 10), 11: pat(16, 11), 12: pat(24, 12), 14: pat(48, 14), 15: pat(808, 15),
};

/** Every component of XCR0 = 0x602E7 and IA32_XSS = 0xDD00 out of its initial configuration. */
function fullSpr(mem: Memory): CpuState {
  const cpu = spr();
  ok(wrmsr(cpu, MSR_IA32_XSS, 0xdd00n));
  ok(fld(cpu, 0x3fff8000000000000000n));
  ok(fld(cpu, 0x4000c90fdaa22168c000n));
  ok(fld(cpu, 0xc002a000000000000000n));
  ok(ldmxcsr(cpu, 0x9fc0));
  for (let n = 0; n < 32; n++) ok(vmovdqa64Zmm(cpu, n, fromLe(zmmBytes(n))));
  ok(movdqa(cpu, 9, 0x0f0e0d0c0b0a09080706050403020100n));
  for (let k = 0; k < 8; k++) ok(kmovq(cpu, k, 0x0101010101010101n * BigInt(k + 1)));
  cpu.cr4.pke = true;
  ok(wrpkru(cpu, 0x55555554));
  loadTiles(cpu, mem);
  for (const [i, b] of Object.entries(SUP)) {
    cpu.ext[Number(i)]!.set(b);
    noteWrite(cpu, Number(i));
  }
  assert.equal(cpu.xinuse, 0x6dfe7n);
  return cpu;
}

test('full round trip XSAVES -> XRSTORS of a complete SPR state (XCR0=0x602E7, XSS=0xDD00, every component non-init) restores every byte (SDM Vol2 XSAVES/XRSTORS, spec §3.3, §4.3)', () => {
  const mem = createMemory();
  const a = mapRegion(mem, AREA, 12288, 'area').bytes;
  const b = mapRegion(mem, 0x20000n, 12288, 'area2').bytes;
  const src = fullSpr(mem);
  ok(xsaves(src, mem, AREA, ALL));
  assert.equal(readU64(a, 512), 0x6dfe7n);
  assert.equal(readU64(a, 520), 0x800000000006dfe7n);
  assert.deepEqual(bytes(a, 3584, 8192), tileBytes); // TILEDATA at its compacted offset
  // A fresh CPU with the same XCR0/XSS restores everything.
  const dst = spr();
  ok(wrmsr(dst, MSR_IA32_XSS, 0xdd00n));
  ok(xrstors(dst, mem, AREA, ALL));
  assert.deepEqual(dst.legacy, src.legacy);
  assert.equal(dst.ext.length, src.ext.length);
  for (let i = 0; i < src.ext.length; i++) assert.deepEqual(dst.ext[i], src.ext[i], `component ${i}`);
  assert.equal(dst.xinuse, 0x6dfe7n);
  assert.equal(dst.xmodified, 0xfffffffffff92018n);
  assert.deepEqual(dst.xrstorInfo, { cpl: 0, vmxnr: false, laxa: AREA, compmask: 0x800000000006dfe7n });
  for (let t = 0; t < 8; t++) assert.deepEqual(Array.from(tileRow(dst, t, 15)), tileBytes.slice(t * 1024 + 960, t * 1024 + 1024));
  // Saving the restored CPU gives the same image, byte for byte.
  ok(xsaves(dst, mem, 0x20000n, ALL));
  assert.deepEqual(b.subarray(0, 11776), a.subarray(0, 11776));
});

test('round trip with XFD[18] armed during XSAVES: TILEDATA is dropped (XSTATE_BV[18]=0) and XRSTORS initializes it without #NM (spec §5.5)', () => {
  const mem = createMemory();
  const a = mapRegion(mem, AREA, 12288, 'area').bytes;
  const src = fullSpr(mem);
  ok(wrmsr(src, MSR_IA32_XFD, XTILEDATA));
  a.fill(0xcc);
  ok(xsaves(src, mem, AREA, ALL));
  assert.equal(readU64(a, 512), 0x2dfe7n);
  assert.equal(readU64(a, 520), 0x800000000006dfe7n);
  assert.deepEqual(bytes(a, 3584, 8192), fill(8192, 0xcc));
  a.fill(0, 528, 576);
  ok(xrstors(src, mem, AREA, ALL));
  assert.deepEqual(Array.from(src.ext[18]!), fill(8192, 0));
  assert.deepEqual(Array.from(src.ext[17]!), cfgBytes);
  assert.equal(src.xinuse, 0x2dfe7n);
  assert.equal(src.xfdErr, 0n);
});
