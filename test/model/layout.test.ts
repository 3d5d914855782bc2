// CPUID leaf 0DH and the standard/compacted layouts, against the real Sapphire Rapids dump and
// dmesg (spec §1.1-1.4 [S1][S9]).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CPU_MODELS, compactedLayout, compactedOffset, compactedSize, cpuidLeafD, standardSize } from '../../src/model';

const spr = CPU_MODELS['sapphire-rapids'];

test('SPR CPUID.(0DH,i) matches the real dump for every sub-leaf (spec §1.1, Appendix A [S1])', () => {
  // [subleaf, eax, ebx, ecx, edx] as dumped with XCR0 = 0x602e7 and an XSS of PASID | LBR.
  const dump: Array<[number, number, number, number, number]> = [
    [0x00, 0x000602e7, 0x00002b00, 0x00002b00, 0],
    [0x01, 0x0000001f, 0x00002d00, 0x0000dd00, 0],
    [0x02, 0x00000100, 0x00000240, 0, 0],
    [0x05, 0x00000040, 0x00000440, 0, 0],
    [0x06, 0x00000200, 0x00000480, 0, 0],
    [0x07, 0x00000400, 0x00000680, 0, 0],
    [0x08, 0x00000080, 0, 1, 0],
    [0x09, 0x00000008, 0x00000a80, 0, 0],
    [0x0a, 0x00000008, 0, 1, 0],
    [0x0b, 0x00000010, 0, 1, 0],
    [0x0c, 0x00000018, 0, 1, 0],
    [0x0e, 0x00000030, 0, 1, 0],
    [0x0f, 0x00000328, 0, 1, 0],
    [0x11, 0x00000040, 0x00000ac0, 2, 0],
    [0x12, 0x00002000, 0x00000b00, 6, 0],
  ];
  for (const [sub, eax, ebx, ecx, edx] of dump) {
    assert.deepEqual(cpuidLeafD(spr, 0x602e7n, 0x8400n, sub), { eax, ebx, ecx, edx }, `sub-leaf ${sub}`);
  }
  for (const absent of [3, 4, 13, 16, 19, 20, 62, 63]) {
    assert.deepEqual(cpuidLeafD(spr, 0x602e7n, 0x8400n, absent), { eax: 0, ebx: 0, ecx: 0, edx: 0 }, `sub-leaf ${absent}`);
  }
});

test('(0DH,0).EBX follows the current XCR0: 0x2E7 needs 2696 bytes (spec §1.2)', () => {
  assert.equal(cpuidLeafD(spr, 0x2e7n, 0n, 0).ebx, 2696);
  assert.equal(cpuidLeafD(spr, 0x3n, 0n, 0).ebx, 576);
  assert.equal(standardSize(spr, 0x602e7n), 11008);
});

test('compacted offsets of the kernel feature set on SPR: TILECFG at 2496, TILEDATA at 2560 (spec §1.4, dmesg [S9])', () => {
  const want: Record<number, number> = { 2: 576, 5: 832, 6: 896, 7: 1408, 9: 2432, 17: 2496, 18: 2560 };
  for (const [i, off] of Object.entries(want)) assert.equal(compactedOffset(spr, 0x602e7n, Number(i)), off, `xfeature ${i}`);
  assert.equal(compactedSize(spr, 0x602e7n), 10752);
  const layout = compactedLayout(spr, 0x602e7n | (1n << 63n));
  assert.deepEqual(layout.map((e) => [e.name, e.offset, e.size]), [
    ['x87', 0, 160], ['SSE', 160, 256], ['YMM', 576, 256], ['OPMASK', 832, 64], ['ZMM_Hi256', 896, 512],
    ['Hi16_ZMM', 1408, 1024], ['PKRU', 2432, 8], ['XTILECFG', 2496, 64], ['XTILEDATA', 2560, 8192],
  ]);
});

test('the 64-byte alignment of TILECFG follows PKRU and the supervisor components (spec §1.2 arithmetic)', () => {
  // XCR0 | PASID | LBR: ... PKRU@2432+8, PASID@2440+8, LBR@2448+808 = 3256 -> TILECFG aligned to 3264.
  assert.equal(compactedOffset(spr, 0x602e7n | 0x8400n, 10), 2440);
  assert.equal(compactedOffset(spr, 0x602e7n | 0x8400n, 15), 2448);
  assert.equal(compactedOffset(spr, 0x602e7n | 0x8400n, 17), 3264);
  assert.equal(compactedSize(spr, 0x602e7n | 0x8400n), 11520);
});
