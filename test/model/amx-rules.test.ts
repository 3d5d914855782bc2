// AMX palette 1 (SDM Vol2 LDTILECFG, TILELOADD, TILESTORED, TILEZERO, TDPBSSD; spec §6) and the
// VMX MSR-bitmap positions of the XFD MSRs (SDM Vol3 24.6.9; spec §7.4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type CpuState, type Memory, createCpu, createMemory, createVmcs, ldtilecfg, mapRegion, msrBitmapPosition, msrIntercepted,
  setMsrIntercept, sttilecfg, tdpbssd, tileRow, tileloadd, tilestored, tilezero, wrmsr, MSR_IA32_XFD, MSR_IA32_XFD_ERR,
} from '../../src/model';
import { fault, ok, spr } from './support';

const CFG = 0x1000n;
const SRC = 0x2000n;

/** Memory with a 64-byte configuration at CFG (palette 1, `rows` x `colsb` for every tile) and source rows at SRC. */
function setup(rows = 16, colsb = 64): { cpu: CpuState; mem: Memory; cfg: Uint8Array; src: Uint8Array } {
  const cpu = spr();
  const mem = createMemory();
  const cfg = mapRegion(mem, CFG, 64, 'cfg').bytes;
  cfg[0] = 1;
  for (let t = 0; t < 8; t++) { cfg[16 + 2 * t] = colsb; cfg[48 + t] = rows; }
  const src = mapRegion(mem, SRC, 4096, 'src').bytes;
  src.forEach((_, i) => (src[i] = (i * 3 + 1) & 0xff));
  return { cpu, mem, cfg, src };
}

test('LDTILECFG #GP for every invalid configuration, with no state change (SDM Vol2 LDTILECFG pseudocode, spec §6.3)', () => {
  const cases: Array<[string, (c: Uint8Array) => void, RegExp]> = [
    ['palette 2', (c) => { c[0] = 2; }, /palette_id 2 exceeds max_palette 1/],
    ['reserved byte 2', (c) => { c[2] = 1; }, /reserved bytes 2\.\.15/],
    ['reserved byte 40', (c) => { c[40] = 1; }, /reserved bytes 32\.\.47/],
    ['reserved byte 60', (c) => { c[60] = 1; }, /reserved bytes 56\.\.63/],
    ['colsb 65', (c) => { c[16] = 65; }, /colsb 65 exceeds bytes_per_row 64/],
    ['rows 17', (c) => { c[48] = 17; }, /rows 17 exceeds max_rows 16/],
    ['rows 0 with colsb 64', (c) => { c[48] = 0; }, /exactly one of rows \(0\) and colsb \(64\) is zero/],
  ];
  for (const [label, bad, why] of cases) {
    const { cpu, mem, cfg } = setup();
    bad(cfg);
    const before = structuredClone(cpu);
    const f = fault(ldtilecfg(cpu, mem, CFG));
    assert.equal(f.mnemonic, '#GP', label);
    assert.match(f.reason, why, label);
    assert.deepEqual(cpu, before, label);
  }
  // Palette 0: the other 63 bytes are not looked at; the result is the INIT state.
  const { cpu, mem, cfg } = setup();
  cfg.fill(0xff);
  cfg[0] = 0;
  ok(ldtilecfg(cpu, mem, CFG));
  assert.equal(cpu.ext[17]!.every((b) => b === 0), true);
});

test('TILELOADD: colsb bytes per row, the rest of the row and the rows past `rows` zeroed (SDM Vol2 TILELOADD, spec §6.2/§6.4)', () => {
  const { cpu, mem, src } = setup(3, 8);
  ok(ldtilecfg(cpu, mem, CFG));
  ok(tileloadd(cpu, mem, 5, SRC, 100n));
  for (let r = 0; r < 3; r++) {
    assert.deepEqual(Array.from(tileRow(cpu, 5, r)), [...src.subarray(100 * r, 100 * r + 8), ...new Array(56).fill(0)], `row ${r}`);
  }
  assert.equal(tileRow(cpu, 5, 3).every((b) => b === 0), true);
  // Tile t row r byte b lives at t*1024 + r*64 + b of component 18.
  assert.equal(cpu.ext[18]![5 * 1024 + 2 * 64 + 7], src[207]);
});

test('TILELOADD #PF on row r leaves start_row = r with the rows before it loaded, and restarts there (SDM Vol2 TILELOADD)', () => {
  const { cpu, mem } = setup(16, 64);
  ok(ldtilecfg(cpu, mem, CFG));
  // With a stride of 300, row r reads [r*300, r*300 + 64) of the 4096-byte source: row 14 (4200) is
  // the first that is not mapped.
  const f = fault(tileloadd(cpu, mem, 1, SRC, 300n));
  assert.equal(f.mnemonic, '#PF');
  assert.equal(cpu.ext[17]![1], 14); // start_row
  assert.notEqual(tileRow(cpu, 1, 13)[0], 0);
  mapRegion(mem, SRC + 4096n, 4096, 'more');
  ok(tileloadd(cpu, mem, 1, SRC, 300n));
  assert.equal(cpu.ext[17]![1], 0);
});

test('TILESTORED writes only colsb bytes of each row; TILEZERO zeroes the whole tile; STTILECFG writes the configuration (SDM Vol2)', () => {
  const { cpu, mem } = setup(2, 4);
  ok(ldtilecfg(cpu, mem, CFG));
  ok(tileloadd(cpu, mem, 0, SRC, 64n));
  const dst = mapRegion(mem, 0x8000n, 256, 'dst').bytes;
  dst.fill(0xee);
  ok(tilestored(cpu, mem, 0x8000n, 16n, 0));
  assert.deepEqual(Array.from(dst.subarray(0, 20)), [1, 4, 7, 10, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 193, 196, 199, 202]);
  ok(tilezero(cpu, 0));
  assert.equal(tileRow(cpu, 0, 0).every((b) => b === 0), true);
  const out = mapRegion(mem, 0x9000n, 64, 'out').bytes;
  ok(sttilecfg(cpu, mem, 0x9000n));
  assert.deepEqual([out[0], out[16], out[17], out[48]], [1, 4, 0, 2]);
});

test('TDPBSSD: signed int8 dot products accumulated into int32 with wrap-around (SDM Vol2 TDPBSSD, spec §6.4)', () => {
  // dst 1 row x 4 bytes (one dword), src1 1 row x 4 bytes (k = 1), src2 1 row x 4 bytes.
  const { cpu, mem, src } = setup(1, 4);
  ok(ldtilecfg(cpu, mem, CFG));
  src.set([0xff, 2, 3, 0x80], 0);      // src1: -1, 2, 3, -128
  src.set([5, 0xfe, 7, 0x7f], 64);     // src2:  5, -2, 7, 127
  src.set([0xff, 0xff, 0xff, 0x7f], 128); // dst: 0x7fffffff
  ok(tileloadd(cpu, mem, 1, SRC, 0n));
  ok(tileloadd(cpu, mem, 2, SRC + 64n, 0n));
  ok(tileloadd(cpu, mem, 0, SRC + 128n, 0n));
  ok(tdpbssd(cpu, 0, 1, 2));
  // -5 - 4 + 21 - 16256 = -16244; 0x7fffffff + (-16244) = 0x7fffc08b.
  assert.deepEqual(Array.from(tileRow(cpu, 0, 0).subarray(0, 4)), [0x8b, 0xc0, 0xff, 0x7f]);
  const same = fault(tdpbssd(cpu, 0, 0, 2));
  assert.equal(same.mnemonic, '#UD');
  // With XFD armed the same-register #UD still comes first; a valid TDPBSSD then raises #NM.
  ok(wrmsr(cpu, MSR_IA32_XFD, 0x40000n));
  assert.equal(fault(tdpbssd(cpu, 1, 1, 2)).mnemonic, '#UD');
  assert.equal(fault(tdpbssd(cpu, 0, 1, 2)).mnemonic, '#NM');
  assert.equal(cpu.xfdErr, 0x40000n);
});

test('AMX instructions #UD on a CPU without AMX and with XCR0[18:17] != 11b (spec §6.5)', () => {
  const icx = createCpu('icelake-server', { osxsave: true });
  const mem = createMemory();
  mapRegion(mem, CFG, 64, 'cfg');
  assert.match(fault(ldtilecfg(icx, mem, CFG)).reason, /has no AMX/);
  const cpu = spr(0x7n);
  assert.match(fault(ldtilecfg(cpu, mem, CFG)).reason, /not enabling XTILECFG XTILEDATA/);
});

test('MSR bitmap bits of IA32_XFD and IA32_XFD_ERR: read byte 56, write byte 2104, bits 4 and 5 (SDM Vol3 24.6.9, spec §7.4)', () => {
  assert.deepEqual(msrBitmapPosition(MSR_IA32_XFD, false), { byte: 56, bit: 4 });
  assert.deepEqual(msrBitmapPosition(MSR_IA32_XFD, true), { byte: 2104, bit: 4 });
  assert.deepEqual(msrBitmapPosition(MSR_IA32_XFD_ERR, false), { byte: 56, bit: 5 });
  assert.deepEqual(msrBitmapPosition(MSR_IA32_XFD_ERR, true), { byte: 2104, bit: 5 });
  assert.equal(msrBitmapPosition(0x40000000, false), null); // outside both ranges: always exits
  const v = createVmcs();
  setMsrIntercept(v, MSR_IA32_XFD, true, false);
  assert.equal(v.msrBitmap[2104]! & 0x10, 0);
  assert.equal(msrIntercepted(v, MSR_IA32_XFD, true), false);
  assert.equal(msrIntercepted(v, MSR_IA32_XFD, false), true);
  assert.equal(msrIntercepted(v, 0x40000000, false), true);
});
