// The x87 image the XSAVE family stores: abridged tag word in physical-register order (bit j = Rj),
// data registers in stack order (ST(i)), TOP in FSW[13:11] (SDM Vol2 FXSAVE "saved in physical
// register order (R0 through R7), rather than in top-of-stack (TOS) order"; SDM Vol1 8.1; spec §1.3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FSW, FTW, ST0, fld, fninit, fstp, readSt, readU16, xsave, x87Top } from '../../src/model';
import { AREA, ok, spr, withArea } from './support';

const ONE = 0x3fff8000000000000000n; // 1.0
const TWO = 0x40008000000000000000n; // 2.0

test('FLD pushes: TOP 7, ST(0) = the value, abridged tag bit 7 (physical R7) set (SDM Vol1 8.1.2, FXSAVE)', () => {
  const cpu = spr(0x3n);
  ok(fld(cpu, ONE));
  assert.equal(x87Top(cpu), 7);
  assert.equal((readU16(cpu.legacy, FSW) >> 11) & 7, 7);
  assert.equal(cpu.legacy[FTW], 0x80);
  assert.equal(readSt(cpu, 0), ONE);
  ok(fld(cpu, TWO));
  assert.equal(cpu.legacy[FTW], 0xc0);
  assert.equal(readSt(cpu, 0), TWO);
  assert.equal(readSt(cpu, 1), ONE);
  // XSAVE stores exactly this image: FTW byte 4 = 0xC0, ST0 at byte 32.
  const { mem, a } = withArea();
  ok(xsave(cpu, mem, AREA, 0x1n));
  assert.equal(a[4], 0xc0);
  assert.equal(a[32 + 9], 0x40);
  ok(fstp(cpu));
  assert.equal(cpu.legacy[FTW], 0x80);
  assert.equal(readSt(cpu, 0), ONE);
});

test('a ninth FLD overflows: with FCW.IM masked the indefinite is loaded and IE, SF, C1 set (SDM Vol1 8.5.1.1)', () => {
  const cpu = spr(0x3n);
  for (let i = 0; i < 8; i++) ok(fld(cpu, ONE));
  ok(fld(cpu, TWO));
  assert.equal(readSt(cpu, 0), 0xffffc000000000000000n);
  assert.equal(readU16(cpu.legacy, FSW) & 0x0241, 0x0241);
});

test('FNINIT: FCW 037FH, FSW 0, all tags empty; the data registers keep their contents, now in slots by Ri (SDM Vol2 FINIT)', () => {
  const cpu = spr(0x3n);
  ok(fld(cpu, ONE)); // R7
  ok(fninit(cpu));
  assert.equal(readU16(cpu.legacy, 0), 0x037f);
  assert.equal(readU16(cpu.legacy, FSW), 0);
  assert.equal(cpu.legacy[FTW], 0);
  assert.equal(readSt(cpu, 7), ONE); // TOP = 0: ST(7) is R7
  assert.equal(cpu.legacy[ST0 + 7 * 16 + 9], 0x3f);
  assert.equal(cpu.xinuse & 1n, 1n); // a non-zero data register keeps x87 out of its initial configuration
});
