// The save instructions XSAVE, XSAVEOPT, XSAVEC and XSAVES: the bytes each writes, the header
// values, the init and modified optimizations, and the faults in their order.
// (spec = shared/spec/hardware.md; SDM = Intel SDM.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type CpuState, type Fault, type Memory, type Outcome,
  MSR_IA32_XFD, MSR_IA32_XFD_ERR, MSR_IA32_XSS, createCpu, createMemory, kmovq, ldmxcsr, ldtilecfg, mapRegion,
  movdqa, noteWrite, readU64, tileloadd, vmovdqa64Zmm, vmovdqaYmm, wrmsr, wrpkru, writeLE, writeU16, writeU64,
  xrstor, xrstors, xsave, xsavec, xsaveopt, xsaves, xsetbv,
} from '../../src/model';
import { C, ALL, AREA, ok, fault, spr, withArea, bytes, fill, le, fromLe, pat, cfgBytes, tileBytes, mxcsrWithSseInit } from './support';

type SaveFn = typeof xsave;
const NAME = new Map<SaveFn, string>([[xsave, 'XSAVE'], [xsaveopt, 'XSAVEOPT'], [xsavec, 'XSAVEC'], [xsaves, 'XSAVES']]);
const nameOf = (f: SaveFn) => NAME.get(f)!;


// ---- register contents used throughout -------------------------------------------------------

/** x87 as a program leaves it: FCW 027FH, TOP=6 with R6/R7 valid, FOP, FIP and FDP (64-bit forms). */
const X87_0_23 = [
  0x7f, 0x02, 0x00, 0x30, 0xc0, 0x00, 0xd9, 0x01,
  0x34, 0x12, 0x55, 0x55, 0x55, 0x55, 0x00, 0x00, // FIP 0x0000555555551234
  0x78, 0x56, 0x34, 0x12, 0xfd, 0x7f, 0x00, 0x00, // FDP 0x00007ffd12345678
];
const ST0 = 0x3fff8000000000000000n; // 1.0
const ST1 = 0x4000c90fdaa22168c000n; // pi
const X87_32_159 = [...le(ST0, 10), ...fill(6, 0), ...le(ST1, 10), ...fill(6, 0), ...fill(96, 0)];
function setX87(cpu: CpuState): void {
  cpu.legacy.set(X87_0_23, 0);
  cpu.legacy.set(X87_32_159, 32);
  noteWrite(cpu, 0);
}
const XMM0 = 0x00112233445566778899aabbccddeeffn;
const XMM15 = 0xf0e0d0c0b0a090807060504030201000n;
const SSE_160_415 = [...le(XMM0, 16), ...fill(224, 0), ...le(XMM15, 16)];
function setSse(cpu: CpuState): void {
  ok(movdqa(cpu, 0, XMM0));
  ok(movdqa(cpu, 15, XMM15));
}
const MXCSR_9FC0 = [0xc0, 0x9f, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00]; // MXCSR 9FC0H, MXCSR_MASK FFFFH
const MXCSR_1F80 = [0x80, 0x1f, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00];

const zmmBytes = (n: number) => pat(64, n + 1);
const kval = (k: number) => 0x0101010101010101n * BigInt(k + 1) + 0x8000000000000000n;
const PKRU = 0x55555554;

/** Every user component of SPR out of its initial configuration (XINUSE = 0x602e7). */
function fillUser(cpu: CpuState, mem: Memory): void {
  setX87(cpu);
  ok(ldmxcsr(cpu, 0x9fc0));
  for (let n = 0; n < 32; n++) ok(vmovdqa64Zmm(cpu, n, fromLe(zmmBytes(n))));
  for (let k = 0; k < 8; k++) ok(kmovq(cpu, k, kval(k)));
  cpu.cr4.pke = true;
  ok(wrpkru(cpu, PKRU));
  const cfg = mapRegion(mem, 0x1000n, 64, 'tilecfg');
  cfg.bytes.set(cfgBytes);
  const src = mapRegion(mem, 0x4000n, 8192, 'tiles');
  src.bytes.set(tileBytes);
  ok(ldtilecfg(cpu, mem, 0x1000n));
  for (let t = 0; t < 8; t++) ok(tileloadd(cpu, mem, t, 0x4000n + BigInt(1024 * t), 64n));
  assert.equal(cpu.xinuse, 0x602e7n);
}
/** The images of the user components 2..18, as the test built them. */
const ymmH = () => Array.from({ length: 16 }, (_, n) => zmmBytes(n).slice(16, 32)).flat();
const zmmH = () => Array.from({ length: 16 }, (_, n) => zmmBytes(n).slice(32, 64)).flat();
const hi16 = () => Array.from({ length: 16 }, (_, n) => zmmBytes(16 + n)).flat();
const opmask = () => Array.from({ length: 8 }, (_, k) => le(kval(k), 8)).flat();
const pkruImg = [...le(BigInt(PKRU), 4), 0, 0, 0, 0];
const xmmAll = () => Array.from({ length: 16 }, (_, n) => zmmBytes(n).slice(0, 16)).flat();

/** Supervisor components: bytes written directly, then noteWrite (PT with TraceEn = 0, reserved bytes 72..127 zero). */
const SUP: Record<number, number[]> = {
  8: [0x2c, ...pat(71, 8), ...fill(56, 0)],
  10: pat(8, 10), 11: pat(16, 11), 12: pat(24, 12), 14: pat(48, 14), 15: pat(808, 15),
};
function fillSupervisor(cpu: CpuState): void {
  ok(wrmsr(cpu, MSR_IA32_XSS, 0xdd00n));
  for (const [i, b] of Object.entries(SUP)) {
    cpu.ext[Number(i)]!.set(b);
    noteWrite(cpu, Number(i));
  }
}

// ---- legacy region ---------------------------------------------------------------------------

test('XSAVE with RFBM=x87 writes bytes 0..23 and 32..159 only (legacy region split, spec §1.3, SDM Vol1 13.4.1)', () => {
  const cpu = spr();
  setX87(cpu);
  setSse(cpu);
  ok(ldmxcsr(cpu, 0x9fc0));
  const { mem, a } = withArea();
  a.fill(0xee, 0, 1024);
  writeU64(a, 512, 0n);
  ok(xsave(cpu, mem, AREA, 0x1n));
  assert.deepEqual(bytes(a, 0, 24), X87_0_23);
  assert.deepEqual(bytes(a, 24, 8), fill(8, 0xee)); // MXCSR and MXCSR_MASK belong to SSE
  assert.deepEqual(bytes(a, 32, 128), X87_32_159);
  assert.deepEqual(bytes(a, 160, 352), fill(352, 0xee));
  assert.equal(readU64(a, 512), 0x1n);
  assert.deepEqual(bytes(a, 520, 504), fill(504, 0xee));
});

test('XSAVE with RFBM=SSE writes MXCSR, MXCSR_MASK (24..31) and XMM0-15 (160..415) only (spec §1.3, §3.3)', () => {
  const cpu = spr();
  setX87(cpu);
  setSse(cpu);
  ok(ldmxcsr(cpu, 0x9fc0));
  const { mem, a } = withArea();
  a.fill(0xee, 0, 1024);
  writeU64(a, 512, 0n);
  ok(xsave(cpu, mem, AREA, 0x2n));
  assert.deepEqual(bytes(a, 0, 24), fill(24, 0xee));
  assert.deepEqual(bytes(a, 24, 8), MXCSR_9FC0);
  assert.deepEqual(bytes(a, 32, 128), fill(128, 0xee));
  assert.deepEqual(bytes(a, 160, 256), SSE_160_415);
  assert.deepEqual(bytes(a, 416, 96), fill(96, 0xee));
  assert.equal(readU64(a, 512), 0x2n);
  assert.deepEqual(bytes(a, 520, 504), fill(504, 0xee));
});

test('XSAVE and XSAVEOPT with RFBM=AVX store MXCSR+MXCSR_MASK but not XMM; XSAVEC/XSAVES store MXCSR only with SSE (SDM Vol2 XSAVE/XSAVEC pseudocode, spec §3.3)', () => {
  const Y1 = (0xa1a2a3a4a5a6a7a8a9aaabacadaeafb0n << 128n) | 0x1n;
  for (const insn of [xsave, xsaveopt, xsavec, xsaves]) {
    const cpu = spr();
    ok(vmovdqaYmm(cpu, 1, Y1));
    ok(ldmxcsr(cpu, 0x9fc0));
    const { mem, a } = withArea();
    a.fill(0xee, 0, 1024);
    writeU64(a, 512, 0n);
    ok(insn(cpu, mem, AREA, 0x4n));
    const name = nameOf(insn);
    assert.deepEqual(bytes(a, 160, 256), fill(256, 0xee), name); // XMM never stored without RFBM[1]
    assert.deepEqual(bytes(a, 576, 16), fill(16, 0), name); // YMM_H0
    assert.deepEqual(bytes(a, 592, 16), le(0xa1a2a3a4a5a6a7a8a9aaabacadaeafb0n, 16), name); // YMM_H1
    assert.deepEqual(bytes(a, 608, 224), fill(224, 0), name);
    assert.equal(readU64(a, 512), 0x4n, name);
    if (insn === xsave || insn === xsaveopt) {
      assert.deepEqual(bytes(a, 24, 8), MXCSR_9FC0, name);
      assert.deepEqual(bytes(a, 520, 8), fill(8, 0xee), name);
    } else {
      assert.deepEqual(bytes(a, 24, 8), fill(8, 0xee), name);
      assert.equal(readU64(a, 520), C | 0x4n, name);
    }
  }
});

test('no XSAVE* instruction writes bytes 416..511 of the legacy region (SDM Vol1 13.4.1, spec §1.3)', () => {
  for (const insn of [xsave, xsaveopt, xsavec, xsaves]) {
    const cpu = spr();
    const { mem, a } = withArea();
    fillUser(cpu, mem);
    fillSupervisor(cpu);
    a.fill(0xee);
    writeU64(a, 512, 0n);
    ok(insn(cpu, mem, AREA, ALL));
    assert.deepEqual(bytes(a, 416, 96), fill(96, 0xee), nameOf(insn));
    assert.deepEqual(bytes(a, 0, 24), X87_0_23, nameOf(insn));
    assert.deepEqual(bytes(a, 24, 8), MXCSR_9FC0, nameOf(insn));
    assert.deepEqual(bytes(a, 160, 256), xmmAll(), nameOf(insn));
  }
});

// ---- standard and compacted offsets ----------------------------------------------------------

test('XSAVE stores each component at its CPUID.(0DH,i).EBX offset: AVX 576, opmask 1088, ZMM_Hi256 1152, Hi16_ZMM 1664, PKRU 2688, TILECFG 2752, TILEDATA 2816 (spec §1.1)', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  fillUser(cpu, mem);
  ok(xsave(cpu, mem, AREA, ALL));
  assert.deepEqual(bytes(a, 0, 24), X87_0_23);
  assert.deepEqual(bytes(a, 32, 128), X87_32_159);
  assert.deepEqual(bytes(a, 160, 256), xmmAll());
  assert.deepEqual(bytes(a, 576, 256), ymmH());
  assert.deepEqual(bytes(a, 832, 256), fill(256, 0)); // MPX slots 960..1087 and the gap: not on SPR, untouched
  assert.deepEqual(bytes(a, 1088, 64), opmask());
  assert.deepEqual(bytes(a, 1152, 512), zmmH());
  assert.deepEqual(bytes(a, 1664, 1024), hi16());
  assert.deepEqual(bytes(a, 2688, 8), pkruImg);
  assert.deepEqual(bytes(a, 2696, 56), fill(56, 0));
  assert.deepEqual(bytes(a, 2752, 64), cfgBytes);
  assert.deepEqual(bytes(a, 2816, 8192), tileBytes);
  assert.equal(readU64(a, 512), 0x602e7n);
  assert.equal(readU64(a, 520), 0n);
  assert.deepEqual(bytes(a, 11008, 1280), fill(1280, 0));
});

test('XSAVEC packs RFBM=0x602E7 at 576/832/896/1408/2432/2496/2560 and writes XCOMP_BV = RFBM | bit 63 (spec §1.4, SDM Vol1 13.4.3)', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  fillUser(cpu, mem);
  a.fill(0xee);
  ok(xsavec(cpu, mem, AREA, ALL));
  assert.deepEqual(bytes(a, 0, 24), X87_0_23);
  assert.deepEqual(bytes(a, 24, 8), MXCSR_9FC0);
  assert.deepEqual(bytes(a, 32, 128), X87_32_159);
  assert.deepEqual(bytes(a, 160, 256), xmmAll());
  assert.deepEqual(bytes(a, 576, 256), ymmH());
  assert.deepEqual(bytes(a, 832, 64), opmask());
  assert.deepEqual(bytes(a, 896, 512), zmmH());
  assert.deepEqual(bytes(a, 1408, 1024), hi16());
  assert.deepEqual(bytes(a, 2432, 8), pkruImg);
  assert.deepEqual(bytes(a, 2440, 56), fill(56, 0xee)); // the alignment padding before TILECFG is not written
  assert.deepEqual(bytes(a, 2496, 64), cfgBytes);
  assert.deepEqual(bytes(a, 2560, 8192), tileBytes);
  assert.deepEqual(bytes(a, 10752, 1536), fill(1536, 0xee));
  assert.equal(readU64(a, 512), 0x602e7n);
  assert.equal(readU64(a, 520), 0x80000000000602e7n);
  assert.deepEqual(bytes(a, 528, 48), fill(48, 0xee)); // header bytes 16..63 not written
});

test('XSAVEC rounds 64-byte-aligned components up: RFBM=0x60207 puts PKRU at 832, TILECFG at 896, TILEDATA at 960 (spec §1.4, CPUID.(0DH,i).ECX[1])', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  fillUser(cpu, mem);
  a.fill(0xee);
  ok(xsavec(cpu, mem, AREA, 0x60207n));
  assert.deepEqual(bytes(a, 576, 256), ymmH());
  assert.deepEqual(bytes(a, 832, 8), pkruImg);
  assert.deepEqual(bytes(a, 840, 56), fill(56, 0xee));
  assert.deepEqual(bytes(a, 896, 64), cfgBytes);
  assert.deepEqual(bytes(a, 960, 8192), tileBytes);
  assert.deepEqual(bytes(a, 9152, 3136), fill(3136, 0xee));
  assert.equal(readU64(a, 512), 0x60207n);
  assert.equal(readU64(a, 520), 0x8000000000060207n);
});

test('XSAVEC ignores IA32_XSS: RFBM = XCR0 AND EDX:EAX, XCOMP_BV = 0x80000000000602E7 with XSS=0xDD00 (SDM Vol2 XSAVEC, spec §3.3)', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  fillUser(cpu, mem);
  fillSupervisor(cpu);
  ok(xsavec(cpu, mem, AREA, ALL));
  assert.equal(readU64(a, 512), 0x602e7n);
  assert.equal(readU64(a, 520), 0x80000000000602e7n);
  assert.deepEqual(bytes(a, 2432, 8), pkruImg); // no PT slot before PKRU
});

// ---- XSAVES and supervisor state ---------------------------------------------------------------

test('XSAVES includes supervisor components (RFBM = (XCR0|IA32_XSS) AND EDX:EAX): PT 2432, PASID 2568, CET_U 2576, CET_S 2592, UINTR 2616, LBR 2664, TILECFG 3520, TILEDATA 3584 (spec §1.4, §3.3)', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  fillUser(cpu, mem);
  fillSupervisor(cpu);
  a.fill(0xee);
  ok(xsaves(cpu, mem, AREA, ALL));
  assert.equal(readU64(a, 512), 0x6dfe7n);
  assert.equal(readU64(a, 520), 0x800000000006dfe7n);
  assert.deepEqual(bytes(a, 576, 256), ymmH());
  assert.deepEqual(bytes(a, 832, 64), opmask());
  assert.deepEqual(bytes(a, 896, 512), zmmH());
  assert.deepEqual(bytes(a, 1408, 1024), hi16());
  assert.deepEqual(bytes(a, 2432, 128), SUP[8]);
  assert.deepEqual(bytes(a, 2560, 8), pkruImg);
  assert.deepEqual(bytes(a, 2568, 8), SUP[10]);
  assert.deepEqual(bytes(a, 2576, 16), SUP[11]);
  assert.deepEqual(bytes(a, 2592, 24), SUP[12]);
  assert.deepEqual(bytes(a, 2616, 48), SUP[14]);
  assert.deepEqual(bytes(a, 2664, 808), SUP[15]);
  assert.deepEqual(bytes(a, 3472, 48), fill(48, 0xee)); // 3472 rounded up to 3520
  assert.deepEqual(bytes(a, 3520, 64), cfgBytes);
  assert.deepEqual(bytes(a, 3584, 8192), tileBytes);
  assert.deepEqual(bytes(a, 11776, 512), fill(512, 0xee));
});

test('XSAVES with EDX:EAX selecting PT and YMM: RFBM=0x104 gives YMM at 576, PT at 832, XCOMP_BV 0x8000000000000104 (spec §1.4, §3.3)', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  fillUser(cpu, mem);
  fillSupervisor(cpu);
  a.fill(0xee);
  ok(xsaves(cpu, mem, AREA, 0x104n));
  assert.deepEqual(bytes(a, 576, 256), ymmH());
  assert.deepEqual(bytes(a, 832, 128), SUP[8]);
  assert.deepEqual(bytes(a, 960, 64), fill(64, 0xee));
  assert.deepEqual(bytes(a, 0, 512), fill(512, 0xee));
  assert.equal(readU64(a, 512), 0x104n);
  assert.equal(readU64(a, 520), 0x8000000000000104n);
});

test('XSAVE and XSAVEOPT never save supervisor components: XSTATE_BV bits 8..15 keep their old value with XSS=0xDD00 (SDM Vol2 XSAVE, spec §3.3)', () => {
  for (const insn of [xsave, xsaveopt]) {
    const cpu = spr();
    const { mem, a } = withArea();
    fillUser(cpu, mem);
    fillSupervisor(cpu);
    writeU64(a, 512, 0x0000000000000500n); // old bits 8 and 10 set, 9 (PKRU) clear
    ok(insn(cpu, mem, AREA, ALL));
    assert.equal(readU64(a, 512), 0x602e7n | 0x500n, nameOf(insn));
  }
});

test('XSAVES of PT state clears IA32_RTIT_CTL.TraceEn after saving it with TraceEn=1 (spec §3.3, SDM Vol1 13.5.6)', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  ok(wrmsr(cpu, MSR_IA32_XSS, 0x100n));
  cpu.ext[8]!.set([0x2d, 0x20, 0, 0, 0, 0, 0, 0]); // IA32_RTIT_CTL with TraceEn (bit 0) = 1
  noteWrite(cpu, 8);
  ok(xsaves(cpu, mem, AREA, 0x100n));
  assert.deepEqual(bytes(a, 576, 8), [0x2d, 0x20, 0, 0, 0, 0, 0, 0]); // saved with TraceEn = 1
  assert.deepEqual(bytes(cpu.ext[8]!, 0, 8), [0x2c, 0x20, 0, 0, 0, 0, 0, 0]); // then TraceEn := 0
});

// ---- header values ---------------------------------------------------------------------------

test('XSAVE header: XSTATE_BV := (OLD_BV AND NOT RFBM) OR (XINUSE AND RFBM); XCOMP_BV and bytes 528..575 untouched (SDM Vol2 XSAVE, spec §3.3)', () => {
  for (const [edxeax, want] of [[0x7n, 0x800000000004001fn], [ALL, 0x800000000000001fn], [0x0n, 0x8000000000040018n]] as const) {
    const cpu = spr();
    setX87(cpu);
    setSse(cpu);
    ok(vmovdqaYmm(cpu, 2, (1n << 255n) | 1n));
    assert.equal(cpu.xinuse, 0x7n);
    const { mem, a } = withArea();
    writeU64(a, 512, 0x8000000000040018n); // old bits 3, 4, 18, 63
    writeU64(a, 520, 0x0123456789abcdefn);
    a.fill(0xa5, 528, 576);
    ok(xsave(cpu, mem, AREA, edxeax));
    assert.equal(readU64(a, 512), want, `EDX:EAX 0x${edxeax.toString(16)}`);
    assert.equal(readU64(a, 520), 0x0123456789abcdefn);
    assert.deepEqual(bytes(a, 528, 48), fill(48, 0xa5));
  }
});

test('XSAVEOPT header: XSTATE_BV := (OLD_BV AND NOT RFBM) OR (XINUSE AND RFBM); XCOMP_BV and bytes 528..575 untouched (SDM Vol2 XSAVEOPT, spec §3.3)', () => {
  const cpu = spr();
  ok(vmovdqaYmm(cpu, 2, (1n << 255n) | 1n));
  assert.equal(cpu.xinuse, 0x6n);
  const { mem, a } = withArea();
  writeU64(a, 512, 0xffffffffffffffffn);
  writeU64(a, 520, 0x0123456789abcdefn);
  a.fill(0xa5, 528, 576);
  ok(xsaveopt(cpu, mem, AREA, 0x602e7n));
  assert.equal(readU64(a, 512), 0xfffffffffff9fd1en);
  assert.equal(readU64(a, 520), 0x0123456789abcdefn);
  assert.deepEqual(bytes(a, 528, 48), fill(48, 0xa5));
});

test('XSAVEC/XSAVES header: XSTATE_BV := RFBM AND XINUSE, XCOMP_BV := RFBM | bit 63, bytes 528..575 untouched (SDM Vol2 XSAVEC/XSAVES, spec §3.3)', () => {
  for (const insn of [xsavec, xsaves]) {
    const cpu = spr();
    setX87(cpu);
    ok(vmovdqaYmm(cpu, 2, (1n << 255n) | 1n));
    assert.equal(cpu.xinuse, 0x7n);
    const { mem, a } = withArea();
    writeU64(a, 512, 0xffffffffffffffffn);
    writeU64(a, 520, 0x0123456789abcdefn);
    a.fill(0xa5, 528, 576);
    ok(insn(cpu, mem, AREA, 0x60025n)); // x87, AVX, opmask, TILECFG, TILEDATA
    assert.equal(readU64(a, 512), 0x5n, nameOf(insn));
    assert.equal(readU64(a, 520), 0x8000000000060025n, nameOf(insn));
    assert.deepEqual(bytes(a, 528, 48), fill(48, 0xa5), nameOf(insn));
  }
});

// ---- init optimization and MXCSR ---------------------------------------------------------------

test('init optimization: XSAVEC, XSAVEOPT and XSAVES leave the bytes of init components untouched; XSAVE writes their init values (SDM Vol1 13.6, spec §3.3-3.4)', () => {
  const results: Record<string, { x87: number[]; xmm: number[]; avx: number[]; bv: bigint }> = {};
  for (const insn of [xsave, xsaveopt, xsavec, xsaves]) {
    const cpu = spr();
    assert.equal(cpu.xinuse, 0n);
    const { mem, a } = withArea();
    a.fill(0xee, 0, 832);
    writeU64(a, 512, 0xffn);
    writeU64(a, 520, 0n);
    ok(insn(cpu, mem, AREA, 0x7n));
    results[nameOf(insn)] = { x87: bytes(a, 0, 24), xmm: bytes(a, 160, 16), avx: bytes(a, 576, 256), bv: readU64(a, 512) };
    // MXCSR = 1F80H: no component is saved by the optimizing forms, but XSAVE and XSAVEOPT store MXCSR.
    assert.deepEqual(bytes(a, 24, 8), insn === xsave || insn === xsaveopt ? MXCSR_1F80 : fill(8, 0xee), nameOf(insn));
  }
  assert.deepEqual(results.XSAVE, {
    x87: [0x7f, 0x03, ...fill(22, 0)], xmm: fill(16, 0), avx: fill(256, 0), bv: 0xf8n,
  });
  assert.deepEqual(results.XSAVEOPT, { x87: fill(24, 0xee), xmm: fill(16, 0xee), avx: fill(256, 0xee), bv: 0xf8n });
  assert.deepEqual(results.XSAVEC, { x87: fill(24, 0xee), xmm: fill(16, 0xee), avx: fill(256, 0xee), bv: 0n });
  assert.deepEqual(results.XSAVES, { x87: fill(24, 0xee), xmm: fill(16, 0xee), avx: fill(256, 0xee), bv: 0n });
});

test('XSAVE writes the init value of an init component over old data: AVX slot zeroed, x87 FCW=037FH (SDM Vol2 XSAVE: no init optimization, spec §3.4 observed)', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  a.fill(0xee, 0, 1088);
  writeU64(a, 512, 0x7n);
  writeU64(a, 520, 0n);
  a.fill(0, 528, 576);
  ok(xsave(cpu, mem, AREA, 0x7n));
  assert.deepEqual(bytes(a, 0, 24), [0x7f, 0x03, ...fill(22, 0)]);
  assert.deepEqual(bytes(a, 24, 8), MXCSR_1F80);
  assert.deepEqual(bytes(a, 32, 384), fill(384, 0));
  assert.deepEqual(bytes(a, 576, 256), fill(256, 0));
  assert.deepEqual(bytes(a, 832, 256), fill(256, 0xee)); // not in RFBM
  assert.equal(readU64(a, 512), 0n);
});

test('MXCSR != 1F80H forces XSTATE_BV[1]=1 and an SSE store for XSAVEC and XSAVES even with XINUSE[1]=0 (SDM Vol2 XSAVEC/XSAVES, spec §3.3)', () => {
  for (const insn of [xsavec, xsaves]) {
    const cpu = spr();
    mxcsrWithSseInit(cpu, 0x9fc0);
    assert.equal(cpu.xinuse, 0n);
    const { mem, a } = withArea();
    a.fill(0xee, 0, 1024);
    ok(insn(cpu, mem, AREA, 0x7n));
    assert.equal(readU64(a, 512), 0x2n, nameOf(insn));
    assert.equal(readU64(a, 520), 0x8000000000000007n, nameOf(insn));
    assert.deepEqual(bytes(a, 0, 24), fill(24, 0xee), nameOf(insn));
    assert.deepEqual(bytes(a, 24, 8), MXCSR_9FC0, nameOf(insn));
    assert.deepEqual(bytes(a, 160, 256), fill(256, 0), nameOf(insn)); // the (init) XMM registers are stored
    assert.deepEqual(bytes(a, 576, 256), fill(256, 0xee), nameOf(insn));
  }
});

test('MXCSR = 1F80H with XINUSE[1]=0: XSAVEC/XSAVES write XSTATE_BV[1]=0 and leave bytes 24..31 and 160..415 (SDM Vol2 XSAVEC, spec §3.3)', () => {
  for (const insn of [xsavec, xsaves]) {
    const cpu = spr();
    const { mem, a } = withArea();
    a.fill(0xee, 0, 1024);
    ok(insn(cpu, mem, AREA, 0x3n));
    assert.equal(readU64(a, 512), 0n, nameOf(insn));
    assert.equal(readU64(a, 520), 0x8000000000000003n, nameOf(insn));
    assert.deepEqual(bytes(a, 24, 8), fill(8, 0xee), nameOf(insn));
    assert.deepEqual(bytes(a, 160, 256), fill(256, 0xee), nameOf(insn));
  }
});

test('the MXCSR rule needs RFBM[1]: XSAVEC with RFBM=0x5 and MXCSR=9FC0H writes XSTATE_BV=0 and no MXCSR (SDM Vol2 XSAVEC, spec §3.3)', () => {
  const cpu = spr();
  mxcsrWithSseInit(cpu, 0x9fc0);
  const { mem, a } = withArea();
  a.fill(0xee, 0, 1024);
  ok(xsavec(cpu, mem, AREA, 0x5n));
  assert.equal(readU64(a, 512), 0n);
  assert.equal(readU64(a, 520), 0x8000000000000005n);
  assert.deepEqual(bytes(a, 24, 8), fill(8, 0xee));
});

test('XSAVE and XSAVEOPT do not apply the MXCSR rule to XSTATE_BV: MXCSR=9FC0H with XINUSE[1]=0 gives XSTATE_BV[1]=0, MXCSR still stored (SDM Vol2 XSAVE/XSAVEOPT, spec §3.3)', () => {
  for (const insn of [xsave, xsaveopt]) {
    const cpu = spr();
    mxcsrWithSseInit(cpu, 0x9fc0);
    const { mem, a } = withArea();
    a.fill(0xee, 160, 416);
    writeU64(a, 512, 0x2n);
    ok(insn(cpu, mem, AREA, 0x3n));
    assert.equal(readU64(a, 512), 0n, nameOf(insn));
    assert.deepEqual(bytes(a, 24, 8), MXCSR_9FC0, nameOf(insn));
    assert.deepEqual(bytes(a, 160, 256), insn === xsave ? fill(256, 0) : fill(256, 0xee), nameOf(insn));
  }
});

test('the save instructions change no register, XINUSE, XMODIFIED or XRSTOR_INFO (spec §3.3)', () => {
  for (const insn of [xsave, xsaveopt, xsavec, xsaves]) {
    const cpu = spr();
    const { mem } = withArea();
    fillUser(cpu, mem);
    ok(wrmsr(cpu, MSR_IA32_XSS, 0xdc00n)); // no PT (saving PT touches TraceEn)
    for (const i of [10, 11, 12, 14, 15]) { cpu.ext[i]!.set(SUP[i]!); noteWrite(cpu, i); }
    cpu.xmodified = 0x1234n;
    cpu.xrstorInfo = { cpl: 0, vmxnr: false, laxa: 0x20000n, compmask: 0n };
    const before = structuredClone(cpu);
    ok(insn(cpu, mem, AREA, ALL));
    assert.deepEqual(cpu, before, nameOf(insn));
  }
});

// ---- modified optimization ---------------------------------------------------------------------

const Y0 = (0xc0c1c2c3c4c5c6c7c8c9cacbcccdcecfn << 128n) | 0xd0d1d2d3d4d5d6d7d8d9dadbdcdddedfn;
const Y1 = (0xe0e1e2e3e4e5e6e7e8e9eaebecedeeefn << 128n) | 0xf0f1f2f3f4f5f6f7f8f9fafbfcfdfeffn;

test('XSAVEOPT after XRSTOR of the same standard area at the same CPL skips unmodified components, still stores MXCSR (modified optimization, SDM Vol2 XSAVEOPT, spec §3.2-3.3)', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  ok(vmovdqaYmm(cpu, 0, Y0));
  ok(xsave(cpu, mem, AREA, ALL));
  ok(xrstor(cpu, mem, AREA, ALL));
  assert.deepEqual(cpu.xrstorInfo, { cpl: 0, vmxnr: false, laxa: AREA, compmask: 0n });
  a.fill(0xab, 160, 416);
  a.fill(0xab, 576, 832);
  a.fill(0xab, 24, 32);
  writeU64(a, 512, 0n);
  ok(xsaveopt(cpu, mem, AREA, ALL));
  assert.deepEqual(bytes(a, 160, 256), fill(256, 0xab));
  assert.deepEqual(bytes(a, 576, 256), fill(256, 0xab));
  assert.deepEqual(bytes(a, 24, 8), MXCSR_1F80); // "The init and modified optimizations do not apply to MXCSR"
  assert.equal(readU64(a, 512), 0x6n); // XSTATE_BV still reflects XINUSE
  // Writing YMM1 modifies SSE and AVX: both are stored again.
  ok(vmovdqaYmm(cpu, 1, Y1));
  ok(xsaveopt(cpu, mem, AREA, ALL));
  assert.deepEqual(bytes(a, 160, 32), [...le(Y0 & ((1n << 128n) - 1n), 16), ...le(Y1 & ((1n << 128n) - 1n), 16)]);
  assert.deepEqual(bytes(a, 192, 224), fill(224, 0));
  assert.deepEqual(bytes(a, 576, 32), [...le(Y0 >> 128n, 16), ...le(Y1 >> 128n, 16)]);
  assert.deepEqual(bytes(a, 608, 224), fill(224, 0));
});

test('XSAVEOPT uses the modified optimization only when XRSTOR_INFO matches: another area, another CPL, or a compacted XRSTOR store everything (SDM Vol2 XSAVEOPT, spec §3.2)', () => {
  const setup = () => {
    const cpu = spr();
    const w = withArea();
    ok(vmovdqaYmm(cpu, 0, Y0));
    ok(xsave(cpu, w.mem, AREA, ALL));
    ok(xrstor(cpu, w.mem, AREA, ALL));
    return { cpu, ...w };
  };
  // Another area.
  {
    const { cpu, mem, a } = setup();
    a.fill(0xab, 0x1000, 0x1000 + 832);
    ok(xsaveopt(cpu, mem, AREA + 0x1000n, ALL));
    assert.deepEqual(bytes(a, 0x1000 + 576, 16), le(Y0 >> 128n, 16));
    assert.deepEqual(bytes(a, 0x1000 + 160, 16), le(Y0 & ((1n << 128n) - 1n), 16));
  }
  // Another CPL.
  {
    const { cpu, mem, a } = setup();
    a.fill(0xab, 576, 832);
    cpu.cpl = 3;
    ok(xsaveopt(cpu, mem, AREA, ALL));
    assert.deepEqual(bytes(a, 576, 16), le(Y0 >> 128n, 16));
  }
  // The last restore was a compacted XRSTOR of the same address (COMPMASK != 0).
  {
    const cpu = spr();
    const { mem, a } = withArea();
    ok(vmovdqaYmm(cpu, 0, Y0));
    ok(xsavec(cpu, mem, AREA, ALL));
    ok(xrstor(cpu, mem, AREA, ALL));
    assert.equal(cpu.xrstorInfo!.compmask, 0x80000000000602e7n);
    a.fill(0, 512, 576);
    a.fill(0xab, 576, 832);
    ok(xsaveopt(cpu, mem, AREA, ALL));
    assert.deepEqual(bytes(a, 576, 16), le(Y0 >> 128n, 16));
  }
});

test('XSAVEOPT after XRSTOR with RFBM=SSE: XMODIFIED = NOT RFBM, so AVX is stored and XMM is skipped (SDM Vol2 XRSTOR pseudocode, spec §3.2)', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  ok(vmovdqaYmm(cpu, 0, Y0));
  ok(xsave(cpu, mem, AREA, ALL));
  ok(xrstor(cpu, mem, AREA, 0x2n));
  assert.equal(cpu.xmodified, 0xfffffffffffffffdn);
  a.fill(0xab, 160, 416);
  a.fill(0xab, 576, 832);
  ok(xsaveopt(cpu, mem, AREA, ALL));
  assert.deepEqual(bytes(a, 160, 256), fill(256, 0xab));
  assert.deepEqual(bytes(a, 576, 256), [...le(Y0 >> 128n, 16), ...fill(240, 0)]);
});

test('XSAVES after XRSTORS of the same area and COMPMASK skips unmodified data but still sets XSTATE_BV = RFBM AND XINUSE (SDM Vol2 XSAVES, spec §3.3)', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  ok(wrmsr(cpu, MSR_IA32_XSS, 0x400n));
  ok(vmovdqaYmm(cpu, 0, Y0));
  cpu.ext[10]!.set(SUP[10]!);
  noteWrite(cpu, 10);
  ok(xsaves(cpu, mem, AREA, ALL)); // RFBM 0x606e7: YMM 576, opmask 832, ZMM_Hi256 896, Hi16 1408, PKRU 2432, PASID 2440
  assert.equal(readU64(a, 520), 0x80000000000606e7n);
  ok(xrstors(cpu, mem, AREA, ALL));
  assert.deepEqual(cpu.xrstorInfo, { cpl: 0, vmxnr: false, laxa: AREA, compmask: 0x80000000000606e7n });
  assert.equal(cpu.xinuse, 0x406n);
  a.fill(0xab, 160, 416);
  a.fill(0xab, 576, 832);
  a.fill(0xab, 2440, 2448);
  writeU64(a, 512, 0n);
  writeU64(a, 520, 0n);
  ok(xsaves(cpu, mem, AREA, ALL));
  assert.deepEqual(bytes(a, 160, 256), fill(256, 0xab));
  assert.deepEqual(bytes(a, 576, 256), fill(256, 0xab));
  assert.deepEqual(bytes(a, 2440, 8), fill(8, 0xab));
  assert.equal(readU64(a, 512), 0x406n);
  assert.equal(readU64(a, 520), 0x80000000000606e7n);
  // A different RFBM is a different COMPMASK: everything in RFBM is stored, at the 0x406 layout.
  writeU64(a, 512, 0n);
  ok(xsaves(cpu, mem, AREA, 0x406n));
  assert.deepEqual(bytes(a, 160, 16), le(Y0 & ((1n << 128n) - 1n), 16));
  assert.deepEqual(bytes(a, 576, 256), [...le(Y0 >> 128n, 16), ...fill(240, 0)]);
  assert.deepEqual(bytes(a, 832, 8), SUP[10]);
  assert.equal(readU64(a, 512), 0x406n);
  assert.equal(readU64(a, 520), 0x8000000000000406n);
});

test('XSAVES modified optimization does not skip SSE when MXCSR != 1F80H (SDM Vol2 XSAVES, spec §3.3)', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  ok(vmovdqaYmm(cpu, 0, Y0));
  ok(ldmxcsr(cpu, 0x9fc0));
  ok(xsaves(cpu, mem, AREA, ALL));
  ok(xrstors(cpu, mem, AREA, ALL));
  a.fill(0xab, 24, 32);
  a.fill(0xab, 160, 416);
  a.fill(0xab, 576, 832);
  ok(xsaves(cpu, mem, AREA, ALL));
  assert.deepEqual(bytes(a, 24, 8), MXCSR_9FC0);
  assert.deepEqual(bytes(a, 160, 256), [...le(Y0 & ((1n << 128n) - 1n), 16), ...fill(240, 0)]);
  assert.deepEqual(bytes(a, 576, 256), fill(256, 0xab)); // AVX still skipped
  assert.equal(readU64(a, 512), 0x6n);
});

test('LDMXCSR modifies SSE state: XSAVES after XRSTORS then LDMXCSR 1F80H stores the new MXCSR (XMODIFIED[1], SDM Vol1 13.6/13.11, spec §3.2)', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  ok(vmovdqaYmm(cpu, 0, Y0));
  ok(ldmxcsr(cpu, 0x9fc0));
  ok(xsaves(cpu, mem, AREA, ALL));
  ok(xrstors(cpu, mem, AREA, ALL));
  ok(ldmxcsr(cpu, 0x1f80)); // SSE state changed since the XRSTORS
  ok(xsaves(cpu, mem, AREA, ALL));
  // XSTATE_BV[1]=1 says the image holds SSE state, so its MXCSR must be the current one.
  assert.equal(readU64(a, 512), 0x6n);
  assert.deepEqual(bytes(a, 24, 8), MXCSR_1F80);
});

// ---- faults --------------------------------------------------------------------------------------

const SAVES = [xsave, xsaveopt, xsavec, xsaves] as const;

function expectFault(cpu: CpuState, a: Uint8Array, run: () => Outcome<unknown>, label: string): Fault {
  const before = structuredClone(cpu);
  const memBefore = a.slice();
  const f = fault(run());
  assert.deepEqual(cpu, before, `${label}: CPU state changed`);
  assert.deepEqual(a, memBefore, `${label}: memory written`);
  return f;
}

test('#UD with CR4.OSXSAVE=0, for all four save instructions (SDM Vol2 XSAVE* exceptions, spec §3.3)', () => {
  for (const insn of SAVES) {
    const cpu = createCpu('sapphire-rapids');
    const { mem, a } = withArea();
    const f = expectFault(cpu, a, () => insn(cpu, mem, AREA, ALL), nameOf(insn));
    assert.equal(f.mnemonic, '#UD');
    assert.equal(f.vector, 6);
    assert.equal(f.errorCode, undefined);
    assert.match(f.reason, /CR4\.OSXSAVE=0/);
  }
});

test('#UD for XSAVEC and XSAVES on haswell, which lacks CPUID.(0DH,1).EAX[1] and [3]; XSAVE and XSAVEOPT run (SDM Vol2 XSAVEC/XSAVES, spec §3.3)', () => {
  const cpu = createCpu('haswell', { osxsave: true });
  ok(xsetbv(cpu, 0, 0x7n));
  const { mem, a } = withArea();
  for (const [insn, why] of [[xsavec, /EAX\[1\] \(XSAVEC\)/], [xsaves, /EAX\[3\] \(XSAVES\)/]] as const) {
    const f = expectFault(cpu, a, () => insn(cpu, mem, AREA, ALL), nameOf(insn));
    assert.equal(f.mnemonic, '#UD');
    assert.match(f.reason, why);
  }
  ok(vmovdqaYmm(cpu, 0, Y0));
  ok(xsave(cpu, mem, AREA, ALL));
  assert.equal(readU64(a, 512), 0x6n);
  ok(xsaveopt(cpu, mem, AREA, ALL));
  assert.deepEqual(bytes(a, 576, 16), le(Y0 >> 128n, 16));
});

test('#UD (CR4.OSXSAVE=0) comes before #NM (CR0.TS=1) (spec §3.3 fault order)', () => {
  for (const insn of SAVES) {
    const cpu = createCpu('sapphire-rapids');
    cpu.cr0.ts = true;
    const { mem, a } = withArea();
    assert.equal(expectFault(cpu, a, () => insn(cpu, mem, AREA, ALL), nameOf(insn)).mnemonic, '#UD');
  }
});

test('#NM with CR0.TS=1: nmCause cr0.ts, IA32_XFD_ERR unchanged, nothing written (SDM Vol2 XSAVE*, spec §3.3, §5.3)', () => {
  for (const insn of SAVES) {
    const cpu = spr();
    const { mem, a } = withArea();
    fillUser(cpu, mem);
    ok(wrmsr(cpu, MSR_IA32_XFD, 0x40000n));
    ok(wrmsr(cpu, MSR_IA32_XFD_ERR, 0x40000n));
    cpu.cr0.ts = true;
    const f = expectFault(cpu, a, () => insn(cpu, mem, AREA, ALL), nameOf(insn));
    assert.equal(f.mnemonic, '#NM');
    assert.equal(f.vector, 7);
    assert.equal(f.nmCause, 'cr0.ts');
    assert.equal(f.errorCode, undefined);
    assert.equal(cpu.xfdErr, 0x40000n);
    // and with IA32_XFD_ERR = 0 it stays 0
    ok(wrmsr(cpu, MSR_IA32_XFD_ERR, 0n));
    assert.equal(fault(insn(cpu, mem, AREA, ALL)).nmCause, 'cr0.ts');
    assert.equal(cpu.xfdErr, 0n);
  }
});

test('#NM (CR0.TS) comes before #GP for XSAVES at CPL 3 and before #GP for a misaligned area (spec §3.3 fault order, SDM Vol3A Table 6-2)', () => {
  for (const insn of SAVES) {
    const cpu = spr();
    const { mem, a } = withArea();
    cpu.cr0.ts = true;
    cpu.cpl = 3;
    const f = expectFault(cpu, a, () => insn(cpu, mem, AREA + 8n, ALL), nameOf(insn));
    assert.equal(f.mnemonic, '#NM', nameOf(insn));
  }
});

test('#GP(0) for XSAVES at CPL > 0; XSAVE, XSAVEOPT and XSAVEC run at CPL 3 (SDM Vol2 XSAVES, spec §3.3)', () => {
  for (const cpl of [1, 2, 3]) {
    const cpu = spr();
    const { mem, a } = withArea();
    cpu.cpl = cpl;
    const f = expectFault(cpu, a, () => xsaves(cpu, mem, AREA, ALL), `CPL ${cpl}`);
    assert.equal(f.mnemonic, '#GP');
    assert.equal(f.vector, 13);
    assert.equal(f.errorCode, 0);
    assert.match(f.reason, new RegExp(`at CPL ${cpl}`));
    // CPL is checked before alignment.
    assert.match(fault(xsaves(cpu, mem, AREA + 8n, ALL)).reason, new RegExp(`at CPL ${cpl}`));
  }
  for (const insn of [xsave, xsaveopt, xsavec]) {
    const cpu = spr();
    const { mem, a } = withArea();
    ok(vmovdqaYmm(cpu, 0, Y0));
    cpu.cpl = 3;
    ok(insn(cpu, mem, AREA, ALL));
    assert.deepEqual(bytes(a, 576, 16), le(Y0 >> 128n, 16), nameOf(insn));
  }
});

test('#GP(0) for an area not 64-byte aligned, nothing written (SDM Vol2 XSAVE* exceptions, spec §1.3)', () => {
  for (const insn of SAVES) {
    for (const off of [1n, 8n, 16n, 32n, 48n, 63n]) {
      const cpu = spr();
      const { mem, a } = withArea();
      ok(vmovdqaYmm(cpu, 0, Y0));
      const f = expectFault(cpu, a, () => insn(cpu, mem, AREA + off, ALL), `${nameOf(insn)} +${off}`);
      assert.equal(f.mnemonic, '#GP');
      assert.equal(f.errorCode, 0);
      assert.match(f.reason, /not 64-byte aligned/);
    }
    const cpu = spr();
    const { mem, a } = withArea();
    ok(vmovdqaYmm(cpu, 0, Y0));
    ok(insn(cpu, mem, AREA + 64n, ALL));
    assert.deepEqual(bytes(a, 64 + 576, 16), le(Y0 >> 128n, 16), nameOf(insn));
  }
});

test('#GP for alignment comes before #PF for an unmapped area (spec §3.3 fault order)', () => {
  for (const insn of SAVES) {
    const cpu = spr();
    const { mem, a } = withArea();
    const f = expectFault(cpu, a, () => insn(cpu, mem, 0x900008n, ALL), nameOf(insn));
    assert.equal(f.mnemonic, '#GP');
  }
});

test('#PF when the area is not fully mapped, and nothing is written (spec §3.3 memory faults; UNCERTAIN memoryFaultBeforeAnyAccess)', () => {
  for (const insn of SAVES) {
    const cpu = spr();
    const mem = createMemory();
    const a = mapRegion(mem, AREA, 1024, 'short').bytes; // the TILEDATA slot is beyond it in every format
    a.fill(0xee);
    fillUser(cpu, mem);
    const f = expectFault(cpu, a, () => insn(cpu, mem, AREA, ALL), nameOf(insn));
    assert.equal(f.mnemonic, '#PF');
    assert.equal(f.vector, 14);
    assert.equal(f.errorCode, 2); // write, not present
    assert.equal(f.address, AREA);
    // Wholly unmapped.
    const g = fault(insn(cpu, mem, 0x900000n, 0x3n));
    assert.equal(g.mnemonic, '#PF');
    assert.equal(g.address, 0x900000n);
  }
});

test('XSAVE64 stores FIP/FDP as 64-bit fields and the abridged FTW byte (SDM Vol1 13.5.1, spec §1.3)', () => {
  const cpu = spr();
  const { mem, a } = withArea();
  const l = cpu.legacy;
  writeU16(l, 0, 0x037f);
  writeU16(l, 2, 0x0800); // TOP = 1
  l[4] = 0x02; // only R1 valid
  writeU16(l, 6, 0x0123);
  writeLE(l, 8, 8, 0xfedcba9876543210n);
  writeLE(l, 16, 8, 0x8877665544332211n);
  writeLE(l, 32, 10, ST1);
  noteWrite(cpu, 0);
  ok(xsave(cpu, mem, AREA, 0x1n));
  assert.deepEqual(bytes(a, 0, 24), [
    0x7f, 0x03, 0x00, 0x08, 0x02, 0x00, 0x23, 0x01,
    0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
  ]);
  assert.deepEqual(bytes(a, 32, 16), [...le(ST1, 10), ...fill(6, 0)]);
  assert.equal(readU64(a, 512), 0x1n);
});
