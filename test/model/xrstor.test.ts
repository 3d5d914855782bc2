// XRSTOR (standard and compacted forms) and XRSTORS: form selection, every header #GP case, the
// MXCSR #GP, fault order with no state change, TO_BE_INITIALIZED / FORCE_INIT, XINUSE, XMODIFIED,
// XRSTOR_INFO, and the reserved bytes of an image that never reach the registers.
// (spec = shared/spec/hardware.md; SDM = Intel SDM.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type CpuState, type Fault, type Outcome,
  MSR_IA32_XFD_ERR, MSR_IA32_XSS, createCpu, createMemory, kmovq, ldmxcsr, mapRegion, movdqa, noteWrite,
  readMxcsr, readOpmask, readXmm, readYmm, vmovdqaYmm, wrmsr, writeLE, writeU16, writeU32, writeU64,
  xrstor, xrstors, xsave, xsavec, xsetbv,
} from '../../src/model';
import { C, ALL, AREA, ok, fault, spr, withArea, bytes, fill } from './support';

const M128 = (1n << 128n) - 1n;


/** Writes a header: XSTATE_BV, XCOMP_BV, bytes 16..63 zero; MXCSR field 1F80H. */
function header(a: Uint8Array, xstate: bigint, xcomp: bigint): void {
  a.fill(0, 512, 576);
  writeU64(a, 512, xstate);
  writeU64(a, 520, xcomp);
  writeU32(a, 24, 0x1f80);
  writeU32(a, 28, 0xffff);
}

const Y0 = (0xc0c1c2c3c4c5c6c7c8c9cacbcccdcecfn << 128n) | 0xd0d1d2d3d4d5d6d7d8d9dadbdcdddedfn;
const Y3 = (0xe0e1e2e3e4e5e6e7e8e9eaebecedeeefn << 128n) | 0xf0f1f2f3f4f5f6f7f8f9fafbfcfdfeffn;
const K2 = 0x8877665544332211n;

/** A CPU whose x87, SSE, AVX and opmask are out of their initial configuration; MXCSR 9FC0H. */
function busyCpu(xcr0 = 0x602e7n): CpuState {
  const cpu = spr(xcr0);
  const l = cpu.legacy;
  writeU16(l, 0, 0x027f);
  writeU16(l, 2, 0x3800);
  l[4] = 0x80;
  writeLE(l, 32, 10, 0x4000c90fdaa22168c000n);
  noteWrite(cpu, 0);
  ok(vmovdqaYmm(cpu, 0, Y0));
  ok(ldmxcsr(cpu, 0x9fc0));
  if (xcr0 & 0x20n) ok(kmovq(cpu, 2, K2));
  return cpu;
}

/** Runs a restore that must fault, checking that neither the CPU nor the image changed. */
function expectFault(cpu: CpuState, a: Uint8Array, run: () => Outcome<unknown>, label: string): Fault {
  const before = structuredClone(cpu);
  const memBefore = a.slice();
  const f = fault(run());
  assert.deepEqual(cpu, before, `${label}: CPU state changed`);
  assert.deepEqual(a, memBefore, `${label}: memory changed`);
  return f;
}
function expectGp(cpu: CpuState, a: Uint8Array, run: () => Outcome<unknown>, label: string, why: RegExp): void {
  const f = expectFault(cpu, a, run, label);
  assert.equal(f.mnemonic, '#GP', label);
  assert.equal(f.vector, 13, label);
  assert.equal(f.errorCode, 0, label);
  assert.match(f.reason, why, label);
}

// ---- form selection ----------------------------------------------------------------------------

test('XRSTOR form selection: XCOMP_BV[63]=0 reads opmask at its standard offset 1088, XCOMP_BV[63]=1 at compacted offset 576 (spec §4.1, SDM Vol2 XRSTOR)', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  writeLE(a, 576 + 16, 8, 0x1111111111111111n); // k2 in a compacted image holding only opmask
  writeLE(a, 1088 + 16, 8, 0x2222222222222222n); // k2 in a standard image
  header(a, 0x20n, 0n);
  ok(xrstor(cpu, mem, AREA, 0x20n));
  assert.equal(readOpmask(cpu, 2), 0x2222222222222222n);
  header(a, 0x20n, C | 0x20n);
  ok(xrstor(cpu, mem, AREA, 0x20n));
  assert.equal(readOpmask(cpu, 2), 0x1111111111111111n);
  assert.equal(cpu.xrstorInfo!.compmask, 0x8000000000000020n);
});

test('XRSTOR compacted form lays the image out by XCOMP_BV, not RFBM: XCOMP_BV=0x80000000000602E7 puts PKRU at 2432 even with RFBM=PKRU (spec §1.4, §4.3)', () => {
  const cpu = spr();
  cpu.cr4.pke = true;
  const { mem, a } = withArea();
  header(a, 0x200n, C | 0x602e7n);
  writeU32(a, 2432, 0x12345678);
  ok(xrstor(cpu, mem, AREA, 0x200n));
  assert.deepEqual(bytes(cpu.ext[9]!, 0, 8), [0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0]);
  // the same with XCOMP_BV = PKRU only: PKRU at 576
  header(a, 0x200n, C | 0x200n);
  writeU32(a, 576, 0x0badf00d);
  ok(xrstor(cpu, mem, AREA, 0x200n));
  assert.deepEqual(bytes(cpu.ext[9]!, 0, 8), [0x0d, 0xf0, 0xad, 0x0b, 0, 0, 0, 0]);
});

test('XRSTORS lays out supervisor components by XCOMP_BV: PT 2432, PASID 2568 with XCOMP_BV 0x800000000006DFE7 (spec §1.4, §4.3)', () => {
  const cpu = spr();
  ok(wrmsr(cpu, MSR_IA32_XSS, 0xdd00n));
  const { mem, a } = withArea();
  header(a, 0x500n, C | 0x6dfe7n);
  for (let j = 0; j < 72; j++) a[2432 + j] = j * 2; // PT, IA32_RTIT_CTL.TraceEn = 0
  writeLE(a, 2568, 8, 0x00000000000fffffn); // PASID
  ok(xrstors(cpu, mem, AREA, ALL));
  assert.deepEqual(bytes(cpu.ext[8]!, 0, 128), [...Array.from({ length: 72 }, (_, j) => j * 2), ...fill(56, 0)]);
  assert.deepEqual(bytes(cpu.ext[10]!, 0, 8), [0xff, 0xff, 0x0f, 0, 0, 0, 0, 0]);
  assert.equal(cpu.xinuse, 0x500n);
});

// ---- header #GP, standard form -----------------------------------------------------------------

test('XRSTOR standard form #GP: an XSTATE_BV bit not in XCR0 (checked against XCR0, not RFBM) (spec §4.2, SDM Vol2 XRSTOR)', () => {
  const cases: Array<[string, bigint, bigint, bigint, RegExp]> = [
    // [label, XCR0, XSTATE_BV, EDX:EAX, reason]
    ['opmask with XCR0=0x7', 0x7n, 0x20n, ALL, /0x20 \[OPMASK\], not enabled in XCR0/],
    ['opmask with XCR0=0x7 and RFBM=x87', 0x7n, 0x21n, 0x1n, /0x20 \[OPMASK\], not enabled in XCR0/],
    ['PT (supervisor, never in XCR0) with XSS=0x100', 0x602e7n, 0x103n, ALL, /0x100 \[PT\], not enabled in XCR0/],
    ['bit 19 (not enumerated)', 0x602e7n, 0x80003n, ALL, /0x80000 \[APX\]/],
    ['bit 63', 0x602e7n, C | 0x3n, ALL, /0x8000000000000000 \[COMPACTED\]/],
  ];
  for (const [label, xcr0, xstate, edxeax, why] of cases) {
    const cpu = busyCpu(xcr0);
    ok(wrmsr(cpu, MSR_IA32_XSS, 0x100n));
    const { mem, a } = withArea();
    header(a, xstate, 0n);
    expectGp(cpu, a, () => xrstor(cpu, mem, AREA, edxeax), label, why);
  }
});

test('XRSTOR standard form #GP: XCOMP_BV != 0 with bit 63 clear (header bytes 8..15) (spec §4.2, SDM Vol2 XRSTOR)', () => {
  for (const xcomp of [0x1n, 0x3n, 0x602e7n, 0x4000000000000000n]) {
    const cpu = busyCpu();
    const { mem, a } = withArea();
    header(a, 0x3n, xcomp);
    expectGp(cpu, a, () => xrstor(cpu, mem, AREA, ALL), `XCOMP_BV 0x${xcomp.toString(16)}`, /header bytes 8\.\.23/);
  }
});

test('XRSTOR standard form #GP: any of header bytes 16..23 non-zero (spec §4.2, SDM Vol2 XRSTOR "bytes 23:8")', () => {
  for (let k = 16; k < 24; k++) {
    for (const v of [0x01, 0x80]) {
      const cpu = busyCpu();
      const { mem, a } = withArea();
      header(a, 0x3n, 0n);
      a[512 + k] = v;
      expectGp(cpu, a, () => xrstor(cpu, mem, AREA, ALL), `header byte ${k} = 0x${v.toString(16)}`, /header bytes 8\.\.23/);
    }
  }
});

test('XRSTOR standard form does NOT check header bytes 24..63 (spec §4.2, Bochs)', () => {
  for (let k = 24; k < 64; k++) {
    const cpu = busyCpu();
    const { mem, a } = withArea();
    header(a, 0x4n, 0n);
    writeLE(a, 576, 16, 0xabcdn);
    a[512 + k] = 0xff;
    ok(xrstor(cpu, mem, AREA, ALL));
    assert.equal(readYmm(cpu, 0), 0xabcdn << 128n, `header byte ${k}`);
  }
  const cpu = busyCpu();
  const { mem, a } = withArea();
  header(a, 0x4n, 0n);
  a.fill(0xff, 536, 576);
  ok(xrstor(cpu, mem, AREA, ALL));
});

// ---- header #GP, compacted form ----------------------------------------------------------------

test('XRSTOR compacted form #GP: an XCOMP_BV bit not in XCR0 (spec §4.2, SDM Vol2 XRSTOR)', () => {
  const cases: Array<[string, bigint, bigint, RegExp]> = [
    ['opmask with XCR0=0x7', 0x7n, C | 0x27n, /XCOMP_BV sets 0x20 \[OPMASK\], not enabled in XCR0/],
    ['PT with XSS=0x100: XRSTOR checks XCR0 only', 0x602e7n, C | 0x103n, /XCOMP_BV sets 0x100 \[PT\], not enabled in XCR0$/],
    ['bit 19', 0x602e7n, C | 0x80003n, /XCOMP_BV sets 0x80000 \[APX\]/],
    ['bit 62', 0x602e7n, C | (1n << 62n) | 0x3n, /XCOMP_BV sets 0x4000000000000000/],
  ];
  for (const [label, xcr0, xcomp, why] of cases) {
    const cpu = busyCpu(xcr0);
    ok(wrmsr(cpu, MSR_IA32_XSS, 0x100n));
    const { mem, a } = withArea();
    header(a, 0x0n, xcomp);
    expectGp(cpu, a, () => xrstor(cpu, mem, AREA, 0x1n), label, why);
  }
  // The PT image XRSTOR refuses, XRSTORS accepts (IA32_XSS[8]=1).
  const cpu = busyCpu();
  ok(wrmsr(cpu, MSR_IA32_XSS, 0x100n));
  const { mem, a } = withArea();
  header(a, 0x0n, C | 0x103n);
  ok(xrstors(cpu, mem, AREA, ALL));
});

test('XRSTORS #GP: an XCOMP_BV bit not in XCR0 | IA32_XSS (spec §4.2, SDM Vol2 XRSTORS)', () => {
  const cases: Array<[string, bigint, RegExp]> = [
    ['PASID with XSS=PT', C | 0x403n, /XCOMP_BV sets 0x400 \[PASID\], not enabled in XCR0 \| IA32_XSS/],
    ['bit 13 (HDC, not enumerated)', C | 0x2003n, /XCOMP_BV sets 0x2000 \[HDC\]/],
    ['bit 19', C | 0x80003n, /XCOMP_BV sets 0x80000 \[APX\]/],
  ];
  for (const [label, xcomp, why] of cases) {
    const cpu = busyCpu();
    ok(wrmsr(cpu, MSR_IA32_XSS, 0x100n));
    const { mem, a } = withArea();
    header(a, 0x0n, xcomp);
    expectGp(cpu, a, () => xrstors(cpu, mem, AREA, ALL), label, why);
  }
});

test('XRSTOR/XRSTORS compacted #GP: an XSTATE_BV bit absent from XCOMP_BV, whatever RFBM says (spec §4.2, SDM Vol2 XRSTOR/XRSTORS)', () => {
  const cases: Array<['XRSTOR' | 'XRSTORS', bigint, bigint, bigint, RegExp]> = [
    ['XRSTOR', 0x4n, C | 0x3n, ALL, /XSTATE_BV sets 0x4 \[YMM\], absent from XCOMP_BV/],
    ['XRSTOR', 0x4n, C | 0x3n, 0x3n, /XSTATE_BV sets 0x4 \[YMM\], absent from XCOMP_BV/],
    ['XRSTOR', 0x40000n, C | 0x20007n, ALL, /XSTATE_BV sets 0x40000 \[XTILEDATA\], absent/],
    ['XRSTORS', 0x100n, C | 0x3n, ALL, /XSTATE_BV sets 0x100 \[PT\], absent from XCOMP_BV/],
    ['XRSTORS', 0x1n, C | 0x2n, ALL, /XSTATE_BV sets 0x1 \[x87\], absent from XCOMP_BV/],
  ];
  for (const [insn, xstate, xcomp, edxeax, why] of cases) {
    const cpu = busyCpu();
    ok(wrmsr(cpu, MSR_IA32_XSS, 0x100n));
    const { mem, a } = withArea();
    header(a, xstate, xcomp);
    const run = insn === 'XRSTOR' ? () => xrstor(cpu, mem, AREA, edxeax) : () => xrstors(cpu, mem, AREA, edxeax);
    expectGp(cpu, a, run, `${insn} XSTATE_BV 0x${xstate.toString(16)}`, why);
  }
});

test('XRSTOR/XRSTORS compacted #GP: any of header bytes 16..63 non-zero (spec §4.2, SDM Vol2 XRSTOR "bytes 63:16")', () => {
  for (const insn of ['XRSTOR', 'XRSTORS'] as const) {
    for (let k = 16; k < 64; k++) {
      const cpu = busyCpu();
      const { mem, a } = withArea();
      header(a, 0x3n, C | 0x7n);
      a[512 + k] = 0x40;
      const run = insn === 'XRSTOR' ? () => xrstor(cpu, mem, AREA, ALL) : () => xrstors(cpu, mem, AREA, ALL);
      expectGp(cpu, a, run, `${insn} header byte ${k}`, /header bytes 16\.\.63 are not zero/);
    }
  }
});

test('XRSTOR compacted form #GP on a CPU without XSAVEC (haswell, CPUID.(0DH,1).EAX[1]=0) (spec §4.2, SDM Vol2 XRSTOR)', () => {
  const cpu = createCpu('haswell', { osxsave: true });
  ok(xsetbv(cpu, 0, 0x7n));
  ok(vmovdqaYmm(cpu, 0, Y0));
  const { mem, a } = withArea();
  header(a, 0x3n, C | 0x3n);
  expectGp(cpu, a, () => xrstor(cpu, mem, AREA, ALL), 'haswell', /compacted image on a CPU without XSAVEC/);
  header(a, 0x0n, C); // even an empty compacted image
  expectGp(cpu, a, () => xrstor(cpu, mem, AREA, ALL), 'haswell XCOMP_BV=bit 63', /without XSAVEC/);
  header(a, 0x0n, 0n); // the standard form works
  ok(xrstor(cpu, mem, AREA, ALL));
  assert.equal(readYmm(cpu, 0), 0n);
});

test('XRSTORS #GP for a standard-format image (XCOMP_BV[63]=0) (spec §4.1-4.2, SDM Vol2 XRSTORS)', () => {
  for (const xcomp of [0n, 0x3n, 0x602e7n]) {
    const cpu = busyCpu();
    const { mem, a } = withArea();
    header(a, 0x3n, xcomp);
    expectGp(cpu, a, () => xrstors(cpu, mem, AREA, ALL), `XCOMP_BV 0x${xcomp.toString(16)}`, /standard-format image/);
  }
});

test('compacted form with XSTATE_BV[63]=1: #GP, state unchanged (silicon.md R4; spec §4.2 had it pass)', () => {
  for (const restore of [xrstor, xrstors]) {
    const cpu = busyCpu();
    const { mem, a } = withArea();
    header(a, C | 0x4n, C | 0x7n);
    writeLE(a, 576, 16, 0x77n);
    expectGp(cpu, a, () => restore(cpu, mem, AREA, ALL), 'XSTATE_BV[63]', /XSTATE_BV sets .*absent from XCOMP_BV/);
  }
});

// ---- MXCSR #GP -----------------------------------------------------------------------------------

test('XRSTOR standard form loads MXCSR when RFBM[1] or RFBM[2], whatever XSTATE_BV says: reserved bit -> #GP (spec §4.3 footnote, SDM Vol1 11.6.6)', () => {
  for (const [edxeax, xstate] of [[0x2n, 0n], [0x4n, 0n], [0x6n, 0x6n], [0x4n, 0x4n], [ALL, 0n]] as const) {
    for (const bad of [0x10000, 0x80000000, 0xffff0000]) {
      const cpu = busyCpu();
      const { mem, a } = withArea();
      header(a, xstate, 0n);
      writeU32(a, 24, bad | 0x1f80);
      expectGp(cpu, a, () => xrstor(cpu, mem, AREA, edxeax),
        `RFBM 0x${edxeax.toString(16)} XSTATE_BV 0x${xstate.toString(16)} MXCSR 0x${(bad | 0x1f80).toString(16)}`, /loads MXCSR/);
    }
  }
});

test('XRSTOR standard form with RFBM[1]=RFBM[2]=0 does not read MXCSR: no #GP, MXCSR unchanged (spec §4.3)', () => {
  const cpu = busyCpu();
  const { mem, a } = withArea();
  header(a, 0x21n, 0n);
  writeU32(a, 24, 0xffffffff);
  ok(xrstor(cpu, mem, AREA, 0x21n));
  assert.equal(readMxcsr(cpu), 0x9fc0);
});

test('XRSTOR standard form with RFBM=AVX only loads MXCSR but leaves XMM (the RFBM[2] exception, SDM Vol2 XRSTOR footnote, spec §4.3)', () => {
  const cpu = busyCpu();
  const { mem, a } = withArea();
  header(a, 0x4n, 0n);
  writeU32(a, 24, 0x1fbf);
  writeLE(a, 160, 16, 0x5555n); // XMM0 in the image: not loaded
  writeLE(a, 576, 16, 0x6666n);
  ok(xrstor(cpu, mem, AREA, 0x4n));
  assert.equal(readMxcsr(cpu), 0x1fbf);
  assert.equal(readYmm(cpu, 0), (0x6666n << 128n) | (Y0 & M128));
});

test('XRSTOR compacted form loads MXCSR only with SSE state: RFBM=AVX ignores a reserved MXCSR; XSTATE_BV[1]=1 faults; XSTATE_BV[1]=0 sets 1F80H (spec §4.3, SDM Vol1 13.8.2)', () => {
  {
    const cpu = busyCpu();
    const { mem, a } = withArea();
    header(a, 0x4n, C | 0x6n);
    writeU32(a, 24, 0x10000);
    ok(xrstor(cpu, mem, AREA, 0x4n));
    assert.equal(readMxcsr(cpu), 0x9fc0);
  }
  {
    const { mem, a } = withArea();
    header(a, 0x6n, C | 0x6n);
    writeU32(a, 24, 0x10000);
    writeLE(a, 576, 16, 0x5555n);
    // The compacted form faults after loading the other components (silicon.md R10): YMM0's upper
    // half is loaded, x87 (in RFBM, not in XCOMP_BV) initialized, MXCSR and the XMM registers kept.
    for (const restore of [xrstor, xrstors]) {
      const cpu = busyCpu();
      const f = fault(restore(cpu, mem, AREA, ALL));
      assert.equal(f.mnemonic, '#GP');
      assert.match(f.reason, /loads MXCSR 0x10000/);
      assert.equal(readYmm(cpu, 0), (0x5555n << 128n) | (Y0 & M128));
      assert.equal(readMxcsr(cpu), 0x9fc0);
      assert.equal(cpu.xinuse & 0x7n, 0x6n);
    }
  }
  {
    const cpu = busyCpu();
    const { mem, a } = withArea();
    header(a, 0x4n, C | 0x6n);
    writeU32(a, 24, 0x10000);
    ok(xrstor(cpu, mem, AREA, ALL));
    assert.equal(readMxcsr(cpu), 0x1f80);
    assert.equal(readXmm(cpu, 0), 0n);
  }
});

test('XRSTOR ignores the MXCSR_MASK field of the image (SDM Vol1 Table 13-1, spec §1.3)', () => {
  for (const xcomp of [0n, C | 0x3n]) {
    const cpu = busyCpu();
    const { mem, a } = withArea();
    header(a, 0x2n, xcomp);
    writeU32(a, 24, 0x1fa0);
    writeU32(a, 28, 0x0);
    ok(xrstor(cpu, mem, AREA, ALL));
    assert.equal(readMxcsr(cpu), 0x1fa0);
    assert.deepEqual(bytes(cpu.legacy, 28, 4), [0xff, 0xff, 0, 0]);
  }
});

// ---- fault order ----------------------------------------------------------------------------------

test('XRSTOR/XRSTORS #UD with CR4.OSXSAVE=0, before #NM for CR0.TS=1 (SDM Vol2 XRSTOR, spec §4.2)', () => {
  for (const insn of [xrstor, xrstors]) {
    const cpu = createCpu('sapphire-rapids');
    const { mem, a } = withArea();
    cpu.cr0.ts = true;
    const f = expectFault(cpu, a, () => insn(cpu, mem, AREA, ALL), 'OSXSAVE=0');
    assert.equal(f.mnemonic, '#UD');
    assert.equal(f.vector, 6);
    assert.match(f.reason, /CR4\.OSXSAVE=0/);
  }
});

test('XRSTORS #UD on haswell (no CPUID.(0DH,1).EAX[3]) (SDM Vol2 XRSTORS, spec §4.2)', () => {
  const cpu = createCpu('haswell', { osxsave: true });
  ok(xsetbv(cpu, 0, 0x7n));
  const { mem, a } = withArea();
  header(a, 0n, C | 0x3n);
  const f = expectFault(cpu, a, () => xrstors(cpu, mem, AREA, ALL), 'haswell');
  assert.equal(f.mnemonic, '#UD');
  assert.match(f.reason, /EAX\[3\] \(XSAVES\)/);
});

test('#NM for CR0.TS=1 before #GP(CPL), #GP(alignment) and header #GP; IA32_XFD_ERR unchanged (spec §4.2 order, §5.3)', () => {
  for (const insn of [xrstor, xrstors]) {
    const cpu = busyCpu();
    ok(wrmsr(cpu, MSR_IA32_XFD_ERR, 0x40000n));
    const { mem, a } = withArea();
    header(a, 0x3n, 0x1n); // bad header for both
    cpu.cr0.ts = true;
    cpu.cpl = 3;
    const f = expectFault(cpu, a, () => insn(cpu, mem, AREA + 8n, ALL), 'TS');
    assert.equal(f.mnemonic, '#NM');
    assert.equal(f.vector, 7);
    assert.equal(f.nmCause, 'cr0.ts');
    assert.equal(cpu.xfdErr, 0x40000n);
  }
});

test('XRSTORS #GP(0) at CPL > 0, before the alignment and header checks; XRSTOR runs at CPL 3 (SDM Vol2 XRSTORS, spec §4.2)', () => {
  for (const cpl of [1, 2, 3]) {
    const cpu = busyCpu();
    const { mem, a } = withArea();
    header(a, 0x3n, 0n); // a standard image: its own #GP would say so
    cpu.cpl = cpl;
    expectGp(cpu, a, () => xrstors(cpu, mem, AREA + 8n, ALL), `CPL ${cpl}`, new RegExp(`at CPL ${cpl}`));
  }
  const cpu = busyCpu();
  const { mem, a } = withArea();
  header(a, 0x4n, 0n);
  cpu.cpl = 3;
  ok(xrstor(cpu, mem, AREA, ALL));
  assert.deepEqual(cpu.xrstorInfo, { cpl: 3, vmxnr: false, laxa: AREA, compmask: 0n });
});

test('#GP(0) for an area not 64-byte aligned, before the header is read (unmapped or bad header) (spec §1.3, §4.2)', () => {
  for (const insn of [xrstor, xrstors]) {
    for (const off of [1n, 8n, 32n, 63n]) {
      const cpu = busyCpu();
      const { mem, a } = withArea();
      header(a, 0x3n, 0x1n);
      expectGp(cpu, a, () => insn(cpu, mem, AREA + off, ALL), `+${off}`, /not 64-byte aligned/);
    }
    const cpu = busyCpu();
    const { mem, a } = withArea();
    expectGp(cpu, a, () => insn(cpu, mem, 0x900010n, ALL), 'unmapped', /not 64-byte aligned/);
  }
});

test('#PF for an unmapped header or unmapped component data, with no state change (spec §4.2 order)', () => {
  for (const insn of [xrstor, xrstors]) {
    const cpu = busyCpu();
    const { mem, a } = withArea();
    const f = expectFault(cpu, a, () => insn(cpu, mem, 0x900000n, ALL), 'unmapped');
    assert.equal(f.mnemonic, '#PF');
    assert.equal(f.vector, 14);
    assert.equal(f.errorCode, 0); // a read
    assert.equal(f.address, 0x900000n);
  }
  // A 640-byte region holds the header but not the YMM slot (576..831).
  for (const [insn, xcomp] of [[xrstor, 0n], [xrstors, C | 0x7n]] as const) {
    const cpu = busyCpu();
    const mem = createMemory();
    const a = mapRegion(mem, AREA, 640, 'short').bytes;
    header(a, 0x7n, xcomp);
    const f = expectFault(cpu, a, () => insn(cpu, mem, AREA, ALL), 'short');
    assert.equal(f.mnemonic, '#PF');
    assert.equal(f.address, AREA);
  }
});

test('header #GP comes before the MXCSR #GP (spec §4.2 SIM order)', () => {
  const cpu = busyCpu();
  const { mem, a } = withArea();
  header(a, 0x3n, 0n);
  a[528] = 1;
  writeU32(a, 24, 0xffffffff);
  expectGp(cpu, a, () => xrstor(cpu, mem, AREA, ALL), 'both', /header bytes 8\.\.23/);
});

test('XRSTORS #GP when it would restore or initialize PT with IA32_RTIT_CTL.TraceEn=1, before modifying state (SDM Vol1 13.5.6)', () => {
  for (const xstate of [0x100n, 0x0n]) {
    const cpu = busyCpu();
    ok(wrmsr(cpu, MSR_IA32_XSS, 0x100n));
    cpu.ext[8]![0] = 0x01; // TraceEn = 1
    noteWrite(cpu, 8);
    const { mem, a } = withArea();
    header(a, xstate, C | 0x103n);
    expectGp(cpu, a, () => xrstors(cpu, mem, AREA, ALL), `XSTATE_BV 0x${xstate.toString(16)}`, /TraceEn/);
  }
});

// ---- TO_BE_INITIALIZED, FORCE_INIT, XINUSE -------------------------------------------------------------

test('XRSTOR standard form: RFBM[i]=1 with XSTATE_BV[i]=0 initializes i (x87 FCW=037FH, XMM=0, YMM_H=0), MXCSR comes from the image, RFBM[i]=0 leaves i (spec §4.3)', () => {
  const cpu = busyCpu();
  assert.equal(cpu.xinuse, 0x27n);
  const { mem, a } = withArea();
  header(a, 0n, 0n);
  writeU32(a, 24, 0x1fa0);
  ok(xrstor(cpu, mem, AREA, 0x7n));
  assert.deepEqual(bytes(cpu.legacy, 0, 24), [0x7f, 0x03, ...fill(22, 0)]);
  assert.deepEqual(bytes(cpu.legacy, 32, 128), fill(128, 0));
  assert.deepEqual(bytes(cpu.legacy, 160, 256), fill(256, 0));
  assert.equal(readMxcsr(cpu), 0x1fa0); // not 1F80H: the standard form does not initialize MXCSR
  assert.deepEqual(bytes(cpu.ext[2]!, 0, 256), fill(256, 0));
  assert.equal(readOpmask(cpu, 2), K2); // RFBM[5]=0
  assert.equal(cpu.xinuse, 0x20n);
});

test('XRSTOR compacted FORCE_INIT: RFBM AND NOT XCOMP_BV is initialized even with XSTATE_BV[i]=0 implied; SSE init sets MXCSR=1F80H (spec §4.3, SDM Vol1 13.8.2)', () => {
  const cpu = busyCpu();
  const { mem, a } = withArea();
  header(a, 0x4n, C | 0x4n);
  writeU32(a, 24, 0x10000); // not read: SSE is not loaded
  writeLE(a, 576, 256, (1n << 2047n) | 0x99n);
  ok(xrstor(cpu, mem, AREA, 0x27n));
  assert.deepEqual(bytes(cpu.legacy, 0, 24), [0x7f, 0x03, ...fill(22, 0)]); // x87 forced to init
  assert.equal(readXmm(cpu, 0), 0n);
  assert.equal(readMxcsr(cpu), 0x1f80);
  assert.equal(readOpmask(cpu, 2), 0n); // opmask forced to init
  assert.deepEqual(bytes(cpu.ext[2]!, 0, 256), [0x99, ...fill(254, 0), 0x80]);
  assert.equal(cpu.xinuse, 0x4n);
});

test('XRSTOR compacted with XCOMP_BV[1]=1, XSTATE_BV[1]=0: XMM=0 and MXCSR=1F80H, ignoring the image MXCSR (SDM Vol1 13.8.2, spec §4.3)', () => {
  const cpu = busyCpu();
  const { mem, a } = withArea();
  header(a, 0x0n, C | 0x3n);
  writeU32(a, 24, 0x1fa0);
  ok(xrstor(cpu, mem, AREA, 0x2n));
  assert.equal(readMxcsr(cpu), 0x1f80);
  assert.deepEqual(bytes(cpu.legacy, 160, 256), fill(256, 0));
  assert.equal(cpu.xinuse, 0x25n);
});

test('XRSTORS FORCE_INIT of a supervisor component absent from XCOMP_BV (spec §4.3)', () => {
  const cpu = busyCpu();
  ok(wrmsr(cpu, MSR_IA32_XSS, 0x400n));
  cpu.ext[10]!.set([1, 2, 3, 4, 5, 6, 7, 8]);
  noteWrite(cpu, 10);
  const { mem, a } = withArea();
  header(a, 0x0n, C | 0x3n);
  ok(xrstors(cpu, mem, AREA, 0x400n));
  assert.deepEqual(bytes(cpu.ext[10]!, 0, 8), fill(8, 0));
  assert.equal(cpu.xinuse & 0x400n, 0n);
  assert.equal(cpu.xinuse, 0x27n);
});

test('XINUSE after XRSTOR: 1 for a loaded component even when its data is the init value, 0 for an initialized one, unchanged outside RFBM (spec §3.4, SDM Vol2 XRSTOR pseudocode)', () => {
  const cpu = busyCpu();
  const { mem, a } = withArea();
  header(a, 0x6n, 0n); // SSE and AVX loaded, both all-zero; x87 initialized
  a.fill(0, 160, 416);
  a.fill(0, 576, 832);
  writeU32(a, 24, 0x1f80);
  ok(xrstor(cpu, mem, AREA, 0x7n));
  assert.equal(readYmm(cpu, 0), 0n);
  assert.equal(cpu.xinuse, 0x26n);
  // x87 loaded with exactly its init values: XINUSE[0] = 1 anyway.
  header(a, 0x1n, 0n);
  writeU16(a, 0, 0x037f);
  ok(xrstor(cpu, mem, AREA, 0x1n));
  assert.equal(cpu.xinuse, 0x27n);
  // Compacted: loaded zeros -> 1, XSTATE_BV[i]=0 -> 0.
  header(a, 0x20n, C | 0x24n);
  a.fill(0, 576, 1024);
  ok(xrstor(cpu, mem, AREA, 0x24n));
  assert.equal(cpu.xinuse, 0x23n);
});

test('XMODIFIED := NOT RFBM after XRSTOR and XRSTORS (SDM Vol2 XRSTOR pseudocode, spec §3.2)', () => {
  const cases: Array<[string, bigint, bigint, bigint]> = [
    // [insn, XCOMP_BV, EDX:EAX, XMODIFIED]
    ['XRSTOR', 0n, 0x7n, 0xfffffffffffffff8n],
    ['XRSTOR', 0n, ALL, 0xfffffffffff9fd18n],
    ['XRSTOR', C | 0x3n, 0x6n, 0xfffffffffffffff9n],
    ['XRSTORS', C | 0x3n, ALL, 0xfffffffffff92018n],
  ];
  for (const [insn, xcomp, edxeax, want] of cases) {
    const cpu = busyCpu();
    ok(wrmsr(cpu, MSR_IA32_XSS, 0xdd00n));
    cpu.xmodified = 0n;
    const { mem, a } = withArea();
    header(a, 0x0n, xcomp);
    ok(insn === 'XRSTOR' ? xrstor(cpu, mem, AREA, edxeax) : xrstors(cpu, mem, AREA, edxeax));
    assert.equal(cpu.xmodified, want, `${insn} EDX:EAX 0x${edxeax.toString(16)}`);
  }
});

test('XRSTOR_INFO := (CPL, VMXNR, LAXA, COMPMASK): COMPMASK 0 for the standard form, the XCOMP_BV read for the compacted forms (SDM Vol2 XRSTOR/XRSTORS pseudocode, spec §3.2)', () => {
  const cpu = busyCpu();
  ok(wrmsr(cpu, MSR_IA32_XSS, 0x400n));
  const { mem, a } = withArea();
  header(a, 0x0n, 0n);
  ok(xrstor(cpu, mem, AREA, ALL));
  assert.deepEqual(cpu.xrstorInfo, { cpl: 0, vmxnr: false, laxa: 0x10000n, compmask: 0n });
  header(a, 0x0n, C | 0x6n);
  ok(xrstor(cpu, mem, AREA, 0x2n)); // COMPMASK is XCOMP_BV, not RFBM
  assert.deepEqual(cpu.xrstorInfo, { cpl: 0, vmxnr: false, laxa: 0x10000n, compmask: 0x8000000000000006n });
  a.fill(0, 0x1000 + 512, 0x1000 + 576);
  writeU64(a, 0x1000 + 520, C | 0x403n);
  ok(xrstors(cpu, mem, AREA + 0x1000n, ALL));
  assert.deepEqual(cpu.xrstorInfo, { cpl: 0, vmxnr: false, laxa: 0x11000n, compmask: 0x8000000000000403n });
  cpu.cpl = 3;
  ok(xrstor(cpu, mem, AREA, 0x1n));
  assert.deepEqual(cpu.xrstorInfo, { cpl: 3, vmxnr: false, laxa: 0x10000n, compmask: 0x8000000000000006n });
});

test('reserved bytes of the image never reach the registers: FOP bits 15:11, byte 5, ST slot bytes 10..15 (SDM Vol1 13.5.1, spec §1.3)', () => {
  for (const xcomp of [0n, C | 0x1n]) {
    const cpu = spr();
    const { mem, a } = withArea();
    header(a, 0x1n, xcomp);
    writeU16(a, 0, 0x027f);
    writeU16(a, 2, 0x3800);
    a[4] = 0x80;
    a[5] = 0xff;
    writeU16(a, 6, 0xffff);
    writeLE(a, 8, 8, 0x0123456789abcdefn);
    writeLE(a, 16, 8, 0xfedcba9876543210n);
    a.fill(0xff, 32, 160);
    ok(xrstor(cpu, mem, AREA, 0x1n));
    const st = [...fill(10, 0xff), ...fill(6, 0)];
    assert.deepEqual(bytes(cpu.legacy, 0, 24), [
      0x7f, 0x02, 0x00, 0x38, 0x80, 0x00, 0xff, 0x07,
      0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01,
      0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
    ]);
    assert.deepEqual(bytes(cpu.legacy, 32, 128), Array.from({ length: 8 }, () => st).flat());
    // and XSAVE then stores what the registers hold
    const { mem: m2, a: b } = withArea();
    b.fill(0xee, 0, 512);
    ok(xsave(cpu, m2, AREA, 0x1n));
    assert.deepEqual(bytes(b, 4, 4), [0x80, 0x00, 0xff, 0x07]);
    assert.deepEqual(bytes(b, 32, 16), st);
    assert.deepEqual(bytes(b, 144, 16), st);
  }
});

test('XRSTOR reads memory only: the image is unchanged after a successful restore (SDM Vol2 XRSTOR)', () => {
  const cpu = busyCpu();
  const { mem, a } = withArea();
  ok(xsavec(cpu, mem, AREA, ALL));
  const before = a.slice();
  ok(xrstor(cpu, mem, AREA, ALL));
  assert.deepEqual(a, before);
  assert.equal(readYmm(cpu, 0), Y0);
  assert.equal(readOpmask(cpu, 2), K2);
  assert.equal(readMxcsr(cpu), 0x9fc0);
  assert.equal(cpu.xinuse, 0x27n);
});

test('XSAVE then XRSTOR (standard) and XSAVEC then XRSTOR (compacted) restore x87, SSE, AVX, opmask and MXCSR exactly (spec §3.3, §4.3)', () => {
  for (const save of [xsave, xsavec]) {
    const src = busyCpu();
    ok(movdqa(src, 15, Y3 & M128));
    ok(vmovdqaYmm(src, 3, Y3));
    const { mem } = withArea();
    ok(save(src, mem, AREA, ALL));
    const dst = spr();
    ok(xrstor(dst, mem, AREA, ALL));
    assert.deepEqual(dst.legacy, src.legacy);
    assert.deepEqual(dst.ext, src.ext);
    assert.equal(dst.xinuse, src.xinuse);
  }
});
