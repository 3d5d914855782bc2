// The core rules of the hardware model, each citing its source: XSETBV's #GP cases, XGETBV(1),
// WRMSR of XFD, XFD with TILELOADD/LDTILECFG and the XSAVE family, and the XRSTOR/XRSTORS header
// #GP cases. (spec = shared/spec/hardware.md.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type CpuState, type Memory, type Outcome, MSR_IA32_XFD, MSR_IA32_XFD_ERR, MSR_IA32_XSS, createCpu, createMemory,
  ldtilecfg, mapRegion, readU64, rdmsr, tileloadd, tilerelease, vmovdqaYmm, vzeroupper, wrmsr, writeU64, xgetbv,
  xrstor, xrstors, xsave, xsavec, xsaveopt, xsaves, xsetbv, fld, fninit, writeU32, ModelArgumentError, wrpkru,
} from '../../src/model';

const ALL = 0xffffffffffffffffn;

function spr(xcr0 = 0x602e7n): CpuState {
  const cpu = createCpu('sapphire-rapids', { osxsave: true });
  ok(xsetbv(cpu, 0, xcr0));
  return cpu;
}
function ok<T>(o: Outcome<T>): T {
  assert.equal(o.kind, 'ok', JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)));
  return (o as { value: T }).value;
}
function fault(o: Outcome<unknown>) {
  assert.equal(o.kind, 'fault');
  return (o as { fault: { mnemonic: string; vector: number; reason: string; nmCause?: string } }).fault;
}
/** LDTILECFG of palette 1 (8 tiles of 16 x 64 bytes) and TILELOADD of tmm0 from 0x5a bytes. */
function withTiles(cpu: CpuState, mem: Memory): void {
  if (!mem.regions.some((r) => r.name === 'tilecfg')) {
    const cfg = mapRegion(mem, 0x1000n, 64, 'tilecfg');
    cfg.bytes[0] = 1;
    for (let t = 0; t < 8; t++) { cfg.bytes[16 + 2 * t] = 64; cfg.bytes[48 + t] = 16; }
    mapRegion(mem, 0x2000n, 1024, 'src').bytes.fill(0x5a);
  }
  ok(ldtilecfg(cpu, mem, 0x1000n));
  ok(tileloadd(cpu, mem, 0, 0x2000n, 64n));
}
const clone = (c: CpuState) => structuredClone(c);

test('XSETBV #GP: every XCR0 rule of SDM Vol3A 2.6 and KVM __kvm_set_xcr, XCR0 unchanged (spec §2.1)', () => {
  const cases: Array<[bigint, RegExp]> = [
    [0x2n, /clears XCR0\.x87/],
    [0x5n, /AVX state without SSE/],
    [0x100n | 0x3n, /does not enumerate/], // PT is a supervisor bit: never in XCR0
    [(1n << 63n) | 0x3n, /does not enumerate/],
    [0x18n | 0x7n, /does not enumerate/], // MPX: not on SPR
    [0xe3n, /AVX-512 state without AVX/],
    [0x27n, /only part of AVX-512/],
    [0x67n, /only part of AVX-512/],
    [0x20007n, /only one of XTILECFG and XTILEDATA/],
    [0x40007n, /only one of XTILECFG and XTILEDATA/],
  ];
  for (const [v, why] of cases) {
    const cpu = spr(0x7n);
    const f = fault(xsetbv(cpu, 0, v));
    assert.equal(f.mnemonic, '#GP');
    assert.equal(f.vector, 13);
    assert.match(f.reason, why, `XCR0 0x${v.toString(16)}`);
    assert.equal(cpu.xcr0, 0x7n);
  }
  const cpu = spr(0x7n);
  assert.match(fault(xsetbv(cpu, 1, 0x7n)).reason, /only XCR0 can be written/);
  cpu.cpl = 3;
  assert.match(fault(xsetbv(cpu, 0, 0x7n)).reason, /at CPL 3/);
  const off = createCpu('sapphire-rapids');
  assert.equal(fault(xsetbv(off, 0, 0x3n)).mnemonic, '#UD'); // CR4.OSXSAVE=0
});

test('XSETBV accepts 0x602e7 on SPR; icelake-server refuses the AMX bits; haswell stops at 0x7 (spec §1.2 bitmaps)', () => {
  assert.equal(spr(0x602e7n).xcr0, 0x602e7n);
  const icx = createCpu('icelake-server', { osxsave: true });
  ok(xsetbv(icx, 0, 0x2e7n));
  assert.match(fault(xsetbv(icx, 0, 0x602e7n)).reason, /0x60000 \[XTILECFG XTILEDATA\] that CPUID/);
  const hsw = createCpu('haswell', { osxsave: true });
  ok(xsetbv(hsw, 0, 0x7n));
  assert.equal(fault(xsetbv(hsw, 0, 0x207n)).mnemonic, '#GP');
});

test('XGETBV(1) = XCR0 AND XINUSE across init/non-init transitions (SDM Vol2 XGETBV, spec §2.2, §3.1)', () => {
  const cpu = spr();
  cpu.cr4.pke = true;
  const mem = createMemory();
  assert.equal(ok(xgetbv(cpu, 1)), 0n);
  ok(vmovdqaYmm(cpu, 3, (1n << 200n) | 1n));
  assert.equal(ok(xgetbv(cpu, 1)), 0x6n); // SSE (XMM3 low half) and AVX (upper half)
  ok(vzeroupper(cpu));
  assert.equal(ok(xgetbv(cpu, 1)), 0x2n); // VZEROUPPER returns AVX to init
  ok(fld(cpu, 0x3fff8000000000000000n));
  assert.equal(ok(xgetbv(cpu, 1)) & 1n, 1n);
  ok(wrpkru(cpu, 4));
  withTiles(cpu, mem);
  assert.equal(ok(xgetbv(cpu, 1)), 0x60203n);
  ok(tilerelease(cpu));
  assert.equal(ok(xgetbv(cpu, 1)), 0x203n); // TILERELEASE: XINUSE[18:17] = 0 (spec §6.4)
  // XRSTOR with XSTATE_BV[i] = 0 initializes component i and clears XINUSE[i] (spec §3.4).
  mapRegion(mem, 0x10000n, 11008, 'area');
  ok(xrstor(cpu, mem, 0x10000n, 0x200n));
  assert.equal(ok(xgetbv(cpu, 1)), 0x3n);
  // XINUSE is ANDed with XCR0: a component the CPU holds but XCR0 disables does not appear.
  const hsw = createCpu('haswell', { osxsave: true });
  ok(xsetbv(hsw, 0, 0x7n));
  assert.match(fault(xgetbv(hsw, 1)).reason, /ECX=1 on a CPU without/); // no XGETBV1 before Skylake
  assert.equal(fault(xgetbv(cpu, 2)).mnemonic, '#GP');
  fninit(cpu);
});

test('WRMSR IA32_XFD/IA32_XFD_ERR: only bit 18 on SPR; bit 17 or others #GP; no XFD MSRs on icelake-server (spec §5.1)', () => {
  const cpu = spr();
  ok(wrmsr(cpu, MSR_IA32_XFD, 0x40000n));
  ok(wrmsr(cpu, MSR_IA32_XFD_ERR, 0x40000n));
  assert.equal(ok(rdmsr(cpu, MSR_IA32_XFD)), 0x40000n);
  for (const msr of [MSR_IA32_XFD, MSR_IA32_XFD_ERR]) {
    for (const v of [0x20000n, 0x60000n, 1n, 1n << 63n]) {
      const f = fault(wrmsr(cpu, msr, v));
      assert.equal(f.mnemonic, '#GP');
      assert.match(f.reason, /without XFD support/);
    }
  }
  assert.equal(cpu.xfd, 0x40000n);
  const icx = createCpu('icelake-server', { osxsave: true });
  assert.equal(fault(wrmsr(icx, MSR_IA32_XFD, 0n)).mnemonic, '#GP');
  assert.equal(fault(rdmsr(icx, MSR_IA32_XFD_ERR)).mnemonic, '#GP');
  assert.equal(fault(rdmsr(cpu, 0x12345)).mnemonic, '#GP'); // an MSR the model does not implement
  assert.equal(fault(wrmsr(cpu, MSR_IA32_XSS, 0x1n)).mnemonic, '#GP'); // XSS bit 0 is never supervisor
  assert.throws(() => rdmsr(cpu, -1), ModelArgumentError);
  assert.throws(() => wrmsr(cpu, MSR_IA32_XFD, -1n), ModelArgumentError);
});

test('TILELOADD with XFD[18]=1: #NM with IA32_XFD_ERR := 0x40000 (loaded, not ORed); LDTILECFG does not fault (spec §5.2, §5.3 [S14][S16])', () => {
  const cpu = spr();
  const mem = createMemory();
  withTiles(cpu, mem);
  ok(wrmsr(cpu, MSR_IA32_XFD, 0x40000n));
  ok(ldtilecfg(cpu, mem, 0x1000n)); // no #NM, and it zeroes TILEDATA (SDM Vol1 13.14 [S22])
  assert.equal(cpu.ext[18]!.every((b) => b === 0), true);
  const before = clone(cpu);
  const f = fault(tileloadd(cpu, mem, 2, 0x2000n, 64n));
  assert.equal(f.mnemonic, '#NM');
  assert.equal(f.vector, 7);
  assert.equal(f.nmCause, 'xfd');
  assert.equal(cpu.xfdErr, 0x40000n);
  assert.deepEqual({ ...cpu, xfdErr: 0n }, { ...before, xfdErr: 0n }); // nothing else changed
  // Loaded, not ORed: software cannot make XFD_ERR hold another bit (bit 17 is #GP), so check it
  // is rewritten after a clear.
  ok(wrmsr(cpu, MSR_IA32_XFD_ERR, 0n));
  fault(tileloadd(cpu, mem, 2, 0x2000n, 64n));
  assert.equal(cpu.xfdErr, 0x40000n);
  // A CR0.TS #NM from the XSAVE family leaves XFD_ERR alone (spec §5.3).
  ok(wrmsr(cpu, MSR_IA32_XFD_ERR, 0n));
  cpu.cr0.ts = true;
  mapRegion(mem, 0x10000n, 11008, 'area');
  const ts = fault(xsave(cpu, mem, 0x10000n, ALL));
  assert.equal(ts.nmCause, 'cr0.ts');
  assert.equal(cpu.xfdErr, 0n);
});

test('XSAVEC of released tiles: XSTATE_BV[18]=0, XCOMP_BV[18]=1, also with XFD[18]=1 over live tiles (spec §5.5 [S18])', () => {
  const cpu = spr();
  const mem = createMemory();
  const area = mapRegion(mem, 0x10000n, 10752, 'area');
  withTiles(cpu, mem);
  ok(tilerelease(cpu));
  ok(xsavec(cpu, mem, 0x10000n, 0x40000n));
  assert.equal(readU64(area.bytes, 512) & 0x40000n, 0n);
  assert.equal(readU64(area.bytes, 520), 0x40000n | (1n << 63n));
  withTiles(cpu, mem);
  ok(wrmsr(cpu, MSR_IA32_XFD, 0x40000n));
  area.bytes.fill(0xee, 2560, 2560 + 8192);
  ok(xsavec(cpu, mem, 0x10000n, ALL));
  assert.equal(readU64(area.bytes, 512) & 0x60000n, 0x20000n); // TILECFG saved, TILEDATA "as if init"
  assert.equal(readU64(area.bytes, 520), 0x602e7n | (1n << 63n));
  assert.equal(area.bytes[2560], 0xee); // XSAVEC does not write the disabled component's bytes
  assert.equal(cpu.xinuse & 0x40000n, 0x40000n); // the real XINUSE and tiles are untouched
  assert.equal(cpu.ext[18]![0], 0x5a);
  // Standard XSAVE writes the initial configuration (zeros) instead (spec §5.5).
  const std = mapRegion(mem, 0x20000n, 11008, 'std');
  std.bytes.fill(0xee);
  writeU64(std.bytes, 520, 0n);
  for (let i = 528; i < 576; i++) std.bytes[i] = 0;
  ok(xsave(cpu, mem, 0x20000n, ALL));
  assert.equal(std.bytes.subarray(2816, 2816 + 8192).every((b) => b === 0), true);
  assert.equal(readU64(std.bytes, 512) & 0x40000n, 0n);
});

test('XRSTORS with XFD[18]=1: XSTATE_BV[18]=1 gives #NM and XFD_ERR=0x40000 with no other change; XSTATE_BV[18]=0 initializes the tiles (spec §5.5)', () => {
  const cpu = spr();
  const mem = createMemory();
  const area = mapRegion(mem, 0x10000n, 10752, 'area');
  withTiles(cpu, mem);
  ok(xsaves(cpu, mem, 0x10000n, ALL));
  assert.equal(readU64(area.bytes, 512) & 0x40000n, 0x40000n);
  ok(wrmsr(cpu, MSR_IA32_XFD, 0x40000n));
  const before = clone(cpu);
  const f = fault(xrstors(cpu, mem, 0x10000n, ALL));
  assert.equal(f.mnemonic, '#NM');
  assert.equal(f.nmCause, 'xfd');
  assert.deepEqual({ ...cpu, xfdErr: 0n }, { ...before, xfdErr: 0n });
  assert.equal(cpu.xfdErr, 0x40000n);
  writeU64(area.bytes, 512, readU64(area.bytes, 512) & ~0x40000n);
  ok(wrmsr(cpu, MSR_IA32_XFD_ERR, 0n));
  ok(xrstors(cpu, mem, 0x10000n, ALL));
  assert.equal(cpu.ext[18]!.every((b) => b === 0), true);
  assert.equal(cpu.xinuse & 0x40000n, 0n);
  assert.equal(cpu.xfdErr, 0n);
});

test('XRSTOR/XRSTORS header #GP cases, each leaving the CPU unchanged (spec §4.2, SDM Vol2 XRSTOR/XRSTORS)', () => {
  const cpu = spr();
  ok(wrmsr(cpu, MSR_IA32_XSS, 0x400n));
  const mem = createMemory();
  const area = mapRegion(mem, 0x10000n, 12288, 'area');
  const h = area.bytes;
  const reset = (xstate: bigint, xcomp: bigint) => { h.fill(0, 512, 576); writeU64(h, 512, xstate); writeU64(h, 520, xcomp); writeU32(h, 24, 0x1f80); };
  const C = 1n << 63n;
  const cases: Array<[string, () => void, 'XRSTOR' | 'XRSTORS', RegExp]> = [
    ['standard: XSTATE_BV bit not in XCR0', () => reset(0x100n, 0n), 'XRSTOR', /XSTATE_BV sets 0x100 \[PT\], not enabled in XCR0/],
    ['standard: XCOMP_BV != 0', () => reset(0x3n, 0x3n), 'XRSTOR', /header bytes 8\.\.23/],
    ['standard: header bytes 16..23 != 0', () => { reset(0x3n, 0n); h[528] = 1; }, 'XRSTOR', /header bytes 8\.\.23/],
    ['compacted: XCOMP_BV bit not in XCR0', () => reset(0n, C | 0x400n), 'XRSTOR', /XCOMP_BV sets 0x400 \[PASID\], not enabled in XCR0/],
    ['compacted: XSTATE_BV bit not in XCOMP_BV', () => reset(0x4n, C | 0x3n), 'XRSTOR', /XSTATE_BV sets 0x4 \[YMM\], absent from XCOMP_BV/],
    ['compacted: header bytes 16..63 != 0', () => { reset(0x3n, C | 0x3n); h[575] = 1; }, 'XRSTOR', /header bytes 16\.\.63/],
    ['XRSTORS of a standard image', () => reset(0x3n, 0n), 'XRSTORS', /standard-format image/],
    ['XRSTORS: XCOMP_BV bit outside XCR0|XSS', () => reset(0n, C | 0x800n), 'XRSTORS', /0x800 \[CET_U\], not enabled in XCR0 \| IA32_XSS/],
    ['standard: MXCSR reserved bit, loaded although XSTATE_BV[1]=0', () => { reset(0n, 0n); writeU32(h, 24, 0x10000); }, 'XRSTOR', /loads MXCSR 0x10000/],
  ];
  for (const [name, prep, insn, why] of cases) {
    prep();
    const before = clone(cpu);
    const f = fault((insn === 'XRSTOR' ? xrstor : xrstors)(cpu, mem, 0x10000n, ALL));
    assert.equal(f.mnemonic, '#GP', name);
    assert.match(f.reason, why, name);
    assert.deepEqual(cpu, before, name);
  }
  // Standard form: header bytes 24..63 are not checked.
  reset(0x3n, 0n);
  h[540] = 0xff;
  ok(xrstor(cpu, mem, 0x10000n, ALL));
  // Alignment: #GP for an area not 64-byte aligned.
  assert.match(fault(xrstor(cpu, mem, 0x10020n, ALL)).reason, /not 64-byte aligned/);
  // A compacted image on a CPU without XSAVEC: #GP.
  const hsw = createCpu('haswell', { osxsave: true });
  ok(xsetbv(hsw, 0, 0x7n));
  reset(0x3n, C | 0x3n);
  assert.match(fault(xrstor(hsw, mem, 0x10000n, ALL)).reason, /compacted image on a CPU without XSAVEC/);
});

test('XSAVES then XRSTORS of a full SPR state restores every register byte (SDM Vol2 XSAVES/XRSTORS; spec §3.3, §4.3)', () => {
  const cpu = spr();
  ok(wrmsr(cpu, MSR_IA32_XSS, 0xdd00n));
  const mem = createMemory();
  withTiles(cpu, mem);
  ok(vmovdqaYmm(cpu, 7, (0xabcdn << 240n) | 0x1234n));
  ok(fld(cpu, 0x4000c90fdaa22168c000n));
  for (const i of [8, 10, 11, 12, 14, 15]) { cpu.ext[i]!.fill(i); cpu.xinuse |= 1n << BigInt(i); }
  mapRegion(mem, 0x10000n, 11776, 'area');
  ok(xsaves(cpu, mem, 0x10000n, ALL));
  const saved = clone(cpu);
  // Scramble every register, then restore.
  const other = spr();
  ok(wrmsr(other, MSR_IA32_XSS, 0xdd00n));
  Object.assign(cpu, { legacy: other.legacy, ext: other.ext, xinuse: 0n });
  ok(xrstors(cpu, mem, 0x10000n, ALL));
  assert.deepEqual(cpu.legacy, saved.legacy);
  assert.deepEqual(cpu.ext, saved.ext);
  assert.equal(cpu.xinuse, saved.xinuse);
  assert.equal(cpu.xrstorInfo?.compmask, 0x602e7n | 0xdd00n | (1n << 63n));
});

test('XSAVEOPT skips components unmodified since an XRSTOR of the same area (modified optimization, SDM Vol1 13.6; spec §3.2)', () => {
  const cpu = spr(0x7n);
  const mem = createMemory();
  const area = mapRegion(mem, 0x10000n, 832, 'area');
  ok(vmovdqaYmm(cpu, 0, (1n << 255n) | 1n));
  ok(xsave(cpu, mem, 0x10000n, ALL));
  ok(xrstor(cpu, mem, 0x10000n, ALL));
  area.bytes[576] = 0x77; // software edits the saved image after the restore
  ok(xsaveopt(cpu, mem, 0x10000n, ALL));
  assert.equal(area.bytes[576], 0x77); // AVX unmodified since that XRSTOR: not written
  ok(vmovdqaYmm(cpu, 0, (1n << 255n) | 1n)); // now modified
  ok(xsaveopt(cpu, mem, 0x10000n, ALL));
  assert.equal(area.bytes[576], 0x00);
  assert.equal(area.bytes[591], 0x80);
  // Plain XSAVE never uses the optimization.
  ok(xrstor(cpu, mem, 0x10000n, ALL));
  area.bytes[576] = 0x77;
  ok(xsave(cpu, mem, 0x10000n, ALL));
  assert.equal(area.bytes[576], 0x00);
});
