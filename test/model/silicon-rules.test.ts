// The rules a real AMX Xeon showed where the model (and the SDM's wording) had been looser, one test
// per row of spec/silicon.md (R1..R11), each asserting the exact value silicon showed. The recorded
// logs themselves are replayed by test/silicon/replay.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type CpuState, MSR_IA32_XFD, createMemory, fld, fldcw, fninit, kmovq, ldmxcsr, ldtilecfg, mapRegion, movdqa,
  readLE, readMxcsr, readU16, readU64, readYmm, tileRow, tileloadd, tilerelease, tilezero, vmovdqa64Zmm, vmovdqaXmm,
  vmovdqaYmm, vzeroall, vzeroupper, wrmsr, writeLE, writeU16, writeU32, writeU64, xgetbv, xrstor, xsave, xsavec, xsaveopt, xrstors, xsaves,
} from '../../src/model';
import { C, AREA, ok, fault, spr, withArea, cfgBytes, tileBytes, mxcsrWithSseInit } from './support';

const XCR0 = 0x600e7n; // the recording CPU's
const x1 = (cpu: CpuState) => {
  const r = xgetbv(cpu, 1);
  assert.equal(r.kind, 'ok');
  return r.kind === 'ok' ? r.value : -1n;
};

/** An all-init standard image with FCW 037FH and MXCSR 1F80H at `a`, header `xstate`/`xcomp`. */
function image(a: Uint8Array, xstate: bigint, xcomp = 0n): void {
  a.fill(0);
  writeU16(a, 0, 0x037f);
  writeU32(a, 24, 0x1f80);
  writeU32(a, 28, 0xffff);
  writeU64(a, 512, xstate);
  writeU64(a, 520, xcomp);
}

function withConfig(cpu: CpuState, cfg = cfgBytes) {
  const { mem, a } = withArea();
  const c = mapRegion(mem, 0x40000n, 64, 'tilecfg').bytes;
  c.set(cfg);
  ok(ldtilecfg(cpu, mem, 0x40000n));
  return { mem, a };
}

test('R1: a write sets XINUSE[i] whatever the value: zeros to XMM, YMM, ZMM0-15, ZMM16-31, opmask; FNINIT; FLD (silicon.md R1)', () => {
  const cases: Array<[string, (cpu: CpuState) => unknown, bigint]> = [
    ['MOVDQA xmm1, 0', (cpu) => ok(movdqa(cpu, 1, 0n)), 0x2n],
    ['VMOVDQU ymm0, 0 (VEX.256)', (cpu) => ok(vmovdqaYmm(cpu, 0, 0n)), 0x6n],
    ['VMOVDQU64 zmm1, 0', (cpu) => ok(vmovdqa64Zmm(cpu, 1, 0n)), 0x46n],
    ['VMOVDQU64 zmm31, 0', (cpu) => ok(vmovdqa64Zmm(cpu, 31, 0n)), 0x80n],
    ['KMOVQ k7, 0', (cpu) => ok(kmovq(cpu, 7, 0n)), 0x20n],
    ['FNINIT', (cpu) => ok(fninit(cpu)), 0x1n],
    ['FLD +0.0', (cpu) => ok(fld(cpu, 0n)), 0x1n],
  ];
  for (const [what, run, expected] of cases) {
    const cpu = spr(XCR0);
    assert.equal(x1(cpu), 0n, what);
    run(cpu);
    assert.equal(x1(cpu), expected, what);
  }
});

test('R1: a VEX.128 write zeroes bits 255:128 but neither sets nor clears XINUSE[2]; VZEROUPPER clears [2] and [6], not [1] (silicon.md R1)', () => {
  const cpu = spr(XCR0);
  ok(vmovdqaXmm(cpu, 0, 0x11n));
  assert.equal(x1(cpu), 0x2n); // [2] stays 0
  ok(vmovdqa64Zmm(cpu, 1, 0x33n << 300n));
  assert.equal(x1(cpu), 0x46n);
  ok(vmovdqaXmm(cpu, 1, 0x22n));
  assert.equal(readYmm(cpu, 1), 0x22n); // upper half zeroed ...
  assert.equal(x1(cpu), 0x46n); // ... [2] and [6] stay 1
  ok(vzeroupper(cpu));
  assert.equal(x1(cpu), 0x2n);
});

test('R1: VZEROALL clears XINUSE[1], [2] and [6], as the recorded logs show (128 of 130 VZEROALLs read [1] = 0 after, the other 2 with MXCSR != 1F80H); silicon.md R1 says [1] stays', () => {
  const cpu = spr(XCR0);
  ok(vmovdqa64Zmm(cpu, 0, 1n << 500n));
  ok(kmovq(cpu, 1, 5n));
  assert.equal(x1(cpu), 0x66n);
  ok(vzeroall(cpu));
  assert.equal(x1(cpu), 0x20n);
});

test('R1b: TILEZERO sets XINUSE[18] though every tile is zero; LDTILECFG sets [17] and leaves [18] at 0; TILERELEASE clears both (silicon.md R1b)', () => {
  const cpu = spr(XCR0);
  withConfig(cpu);
  assert.equal(x1(cpu), 0x20000n);
  ok(tilezero(cpu, 3));
  assert.equal(x1(cpu), 0x60000n);
  assert.deepEqual(Array.from(tileRow(cpu, 3, 0)), new Array(64).fill(0));
  withConfig(cpu); // a second LDTILECFG zeroes TILEDATA: [18] back to 0
  assert.equal(x1(cpu), 0x20000n);
  ok(tilerelease(cpu));
  assert.equal(x1(cpu), 0n);
});

test('R2: XRSTOR of a TILECFG image with palette 0 initializes TILECFG, XINUSE[17] = 0, whatever its other bytes; also an all-zero image (silicon.md R2)', () => {
  for (const other of [0x00, 0x5a]) {
    for (const form of ['standard', 'compacted'] as const) {
      const cpu = spr(XCR0);
      withConfig(cpu);
      const { mem, a } = withArea();
      const slot = form === 'standard' ? 2752 : 2432;
      image(a, 0x20000n, form === 'standard' ? 0n : C | XCR0);
      a.fill(other, slot, slot + 64);
      a[slot] = 0; // palette 0
      ok(xrstor(cpu, mem, AREA, 0x20000n));
      assert.equal(x1(cpu), 0n, `${form} ${other}`);
      ok(xsave(cpu, mem, AREA, 0x20000n));
      assert.equal(readU64(a, 512) & 0x20000n, 0n);
      assert.deepEqual(Array.from(a.subarray(2752, 2816)), new Array(64).fill(0), `${form} ${other}: the init value is saved`);
    }
  }
});

test('R3: XRSTOR of an invalid TILECFG image: no fault, TILECFG initialized, TILEDATA still loaded from the image (silicon.md R3)', () => {
  const invalid: Array<[string, (c: number[]) => void]> = [
    ['palette 2', (c) => { c[0] = 2; }],
    ['reserved byte 5', (c) => { c[5] = 1; }],
    ['reserved byte 60', (c) => { c[60] = 1; }],
    ['colsb 65', (c) => { c[16] = 65; }],
    ['rows 17', (c) => { c[48] = 17; }],
  ];
  for (const [what, spoil] of invalid) {
    for (const form of ['standard', 'compacted'] as const) {
      const cpu = spr(XCR0);
      const { mem, a } = withArea();
      const [cfgAt, dataAt] = form === 'standard' ? [2752, 2816] : [2432, 2496];
      image(a, 0x60000n, form === 'standard' ? 0n : C | XCR0);
      const cfg = [...cfgBytes];
      spoil(cfg);
      a.set(cfg, cfgAt);
      a.set(tileBytes, dataAt);
      ok(xrstor(cpu, mem, AREA, 0x60000n));
      assert.equal(x1(cpu), 0x40000n, `${what}, ${form}`);
      assert.deepEqual(Array.from(cpu.ext[17]!), new Array(64).fill(0), `${what}, ${form}: TILECFG initialized`);
      assert.deepEqual(Array.from(cpu.ext[18]!), tileBytes, `${what}, ${form}: TILEDATA loaded`);
    }
  }
});

test('R3: start_row != 0 is accepted and kept, by XRSTOR and by LDTILECFG (silicon.md R3)', () => {
  const cfg = [...cfgBytes];
  cfg[1] = 7;
  const cpu = spr(XCR0);
  withConfig(cpu, cfg);
  assert.equal(cpu.ext[17]![1], 7);
  const { mem, a } = withArea();
  image(a, 0x20000n);
  a.set(cfg, 2752);
  const other = spr(XCR0);
  ok(xrstor(other, mem, AREA, 0x20000n));
  assert.equal(other.ext[17]![1], 7);
  assert.equal(x1(other), 0x20000n);
});

test('R4: compacted XRSTOR with XSTATE_BV[63] = 1 raises #GP (silicon.md R4)', () => {
  const cpu = spr(XCR0);
  const { mem, a } = withArea();
  image(a, C | 0x3n, C | XCR0);
  const f = fault(xrstor(cpu, mem, AREA, XCR0));
  assert.equal(f.mnemonic, '#GP');
});

test('R5: with XFD[18] armed, the header #GPs come before the XFD #NM and the MXCSR #GP after it, both forms (silicon.md R5)', () => {
  for (const form of ['standard', 'compacted'] as const) {
    const cpu = spr(XCR0);
    ok(wrmsr(cpu, MSR_IA32_XFD, 0x40000n));
    const { mem, a } = withArea();
    image(a, 0x40003n, form === 'standard' ? 0n : C | XCR0);
    writeU32(a, 24, 0xffff0000); // reserved MXCSR bits
    const nm = fault(xrstor(cpu, mem, AREA, XCR0));
    assert.equal(nm.mnemonic, '#NM', form);
    assert.equal(cpu.xfdErr, 0x40000n);
    a[512 + 20] = 1; // header byte 20: #GP before the #NM
    cpu.xfdErr = 0n;
    assert.equal(fault(xrstor(cpu, mem, AREA, XCR0)).mnemonic, '#GP', form);
    assert.equal(cpu.xfdErr, 0n);
  }
});

test('R6: LDMXCSR of any value, 1F80H included, sets XINUSE[1]; XSAVE then stores XSTATE_BV[1] = 1 (silicon.md R6)', () => {
  const cpu = spr(XCR0);
  ok(ldmxcsr(cpu, 0x1f80));
  assert.equal(x1(cpu), 0x2n);
  const { mem, a } = withArea();
  ok(xsave(cpu, mem, AREA, XCR0));
  assert.equal(readU64(a, 512), 0x2n);
});

test('R6: after an XRSTOR that initializes SSE but loads MXCSR != 1F80H, XGETBV(1)[1] = 1 while XSAVE and XSAVEOPT store XSTATE_BV[1] = 0 (silicon.md R6)', () => {
  const cpu = spr(XCR0);
  mxcsrWithSseInit(cpu, 0x9fc0);
  assert.equal(cpu.xinuse, 0n);
  assert.equal(readMxcsr(cpu), 0x9fc0);
  assert.equal(x1(cpu), 0x2n);
  for (const save of [xsave, xsaveopt]) {
    const { mem, a } = withArea();
    ok(save(cpu, mem, AREA, XCR0));
    assert.equal(readU64(a, 512), 0n);
    assert.equal(readLE(a, 24, 4), 0x9fc0n);
  }
  const { mem, a } = withArea();
  ok(xsavec(cpu, mem, AREA, XCR0)); // XSAVEC's own MXCSR rule (SDM Vol2 XSAVEC)
  assert.equal(readU64(a, 512), 0x2n);
});

test('R7: XSAVEOPT right after XRSTOR of the same area, nothing modified, still writes an in-use TILECFG, MXCSR and XSTATE_BV; another area gets every in-use component and the optimization stays (silicon.md R7)', () => {
  const cpu = spr(XCR0);
  const { mem, a } = withArea();
  image(a, 0x20006n);
  a.set(cfgBytes, 2752);
  writeLE(a, 576, 16, 0x77n);
  ok(xrstor(cpu, mem, AREA, XCR0));
  a.fill(0xcc, 2752, 2816); // TILECFG slot
  a.fill(0xcc, 576, 832); // AVX slot
  a.fill(0xcc, 24, 32);
  ok(xsaveopt(cpu, mem, AREA, XCR0));
  assert.deepEqual(Array.from(a.subarray(2752, 2816)), cfgBytes);
  assert.equal(a[576], 0xcc); // YMM not modified: skipped
  assert.equal(readLE(a, 24, 4), 0x1f80n);
  assert.equal(readU64(a, 512), 0x20006n);
  const other = mapRegion(mem, 0x80000n, 12288, 'other').bytes;
  ok(xsaveopt(cpu, mem, 0x80000n, XCR0));
  assert.equal(readLE(other, 576, 16), 0x77n);
  a.fill(0xcc, 576, 832);
  ok(xsaveopt(cpu, mem, AREA, XCR0));
  assert.equal(a[576], 0xcc);
  // After a register write, that component is written too.
  ok(vmovdqaYmm(cpu, 0, 0x99n << 128n));
  ok(xsaveopt(cpu, mem, AREA, XCR0));
  assert.equal(readLE(a, 576, 16), 0x99n);
});

test('R7 extended to XSAVES (UNCERTAIN xsavesSharesXsaveoptTracking): right after XRSTORS of the same area it still writes an in-use TILECFG, and skips an unmodified AVX', () => {
  const cpu = spr(XCR0);
  const { mem, a } = withArea();
  image(a, 0x20006n, C | XCR0); // compacted for XCR0 0x600e7: AVX at 576, TILECFG at 2432
  a.set(cfgBytes, 2432);
  writeLE(a, 576, 16, 0x77n);
  ok(xrstors(cpu, mem, AREA, XCR0));
  a.fill(0xcc, 2432, 2496);
  a.fill(0xcc, 576, 832);
  ok(xsaves(cpu, mem, AREA, XCR0));
  assert.deepEqual(Array.from(a.subarray(2432, 2496)), cfgBytes);
  assert.equal(a[576], 0xcc);
  assert.equal(readU64(a, 512), 0x20006n);
});

test('R8: TILEZERO and TILELOADD with tiles unconfigured raise #UD even with IA32_XFD[18] = 1; configured, #NM (silicon.md R8)', () => {
  const cpu = spr(XCR0);
  ok(wrmsr(cpu, MSR_IA32_XFD, 0x40000n));
  const mem = createMemory();
  mapRegion(mem, 0x50000n, 1024, 'src');
  for (const run of [() => tilezero(cpu, 0), () => tileloadd(cpu, mem, 1, 0x50000n, 64n)]) {
    const f = fault(run());
    assert.equal(f.mnemonic, '#UD');
    assert.equal(cpu.xfdErr, 0n);
  }
  const cfg = [...cfgBytes];
  cfg[48 + 2] = 0; cfg[16 + 4] = 0; // tmm2 invalid for the configuration
  withConfig(cpu, cfg);
  assert.equal(fault(tilezero(cpu, 2)).mnemonic, '#UD');
  assert.equal(cpu.xfdErr, 0n);
  const nm = fault(tilezero(cpu, 0));
  assert.equal(nm.mnemonic, '#NM');
  assert.equal(cpu.xfdErr, 0x40000n);
});

test('R9: FCW bit 6 reads 1 and bits 7, 13-15 read 0: XRSTOR of 0000H gives 0040H, of FFFFH 1F7FH; FLDCW the same (silicon.md R9)', () => {
  for (const [loaded, stored] of [[0x0000, 0x0040], [0xffff, 0x1f7f], [0x037f, 0x037f]] as const) {
    const cpu = spr(XCR0);
    const { mem, a } = withArea();
    image(a, 0x1n);
    writeU16(a, 0, loaded);
    ok(xrstor(cpu, mem, AREA, 0x1n));
    assert.equal(readU16(cpu.legacy, 0), stored);
    ok(fldcw(cpu, loaded));
    assert.equal(readU16(cpu.legacy, 0), stored);
  }
});

test('R10: compacted XRSTOR with an invalid MXCSR changes x87, opmask, ZMM and tiles before its #GP; the standard form leaves the state untouched (silicon.md R10)', () => {
  for (const form of ['standard', 'compacted'] as const) {
    const cpu = spr(XCR0);
    const { mem, a } = withArea();
    image(a, 0x600e3n, form === 'standard' ? 0n : C | XCR0);
    const [k, hi16, cfgAt, dataAt] = form === 'standard' ? [1088, 1664, 2752, 2816] : [832, 1408, 2432, 2496];
    writeU16(a, 0, 0x027f);
    writeLE(a, k, 8, 0xabcdn);
    writeLE(a, hi16, 8, 0x1234n);
    a.set(cfgBytes, cfgAt);
    a.set(tileBytes, dataAt);
    writeU32(a, 24, 0x10000);
    const before = structuredClone(cpu);
    assert.equal(fault(xrstor(cpu, mem, AREA, XCR0)).mnemonic, '#GP');
    if (form === 'standard') {
      assert.deepEqual(cpu, before);
      continue;
    }
    assert.equal(readU16(cpu.legacy, 0), 0x027f);
    assert.equal(readLE(cpu.ext[5]!, 0, 8), 0xabcdn);
    assert.equal(readLE(cpu.ext[7]!, 0, 8), 0x1234n);
    assert.deepEqual(Array.from(cpu.ext[18]!), tileBytes);
    assert.equal(readMxcsr(cpu), 0x1f80); // SSE, with MXCSR, is what did not load
    assert.equal(x1(cpu), 0x600e1n);
  }
});

test("R11: FLD records FIP = the instruction's address and leaves FOP and FDP (silicon.md R11)", () => {
  const cpu = spr(XCR0);
  writeLE(cpu.legacy, 16, 8, 0x5555n); // FDP from an earlier state
  ok(fld(cpu, 0x3fff8000000000000000n, { rip: 0x404197n }));
  assert.equal(readLE(cpu.legacy, 8, 8), 0x404197n);
  assert.equal(readLE(cpu.legacy, 6, 2), 0n);
  assert.equal(readLE(cpu.legacy, 16, 8), 0x5555n);
  ok(fninit(cpu));
  assert.equal(readLE(cpu.legacy, 8, 8), 0n);
});
