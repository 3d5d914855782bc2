// The layout view's data (src/runtime/layout-view.ts) and picture (src/views/layout-svg.ts) on the
// seed scenario under linux-5.17: every block at the model's offset and size (SDM Vol1 13.4.1-13.4.3;
// the SPR offsets `xsave-sim layout` prints and dmesg shows), the classes that colour it (XSTATE_BV,
// XINUSE, IA32_XFD or fpstate->xfd, past the allocation or fpstate->size), decoded registers, the
// comparison of one buffer at two steps, and the picture's markup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { LayoutError, buildLayout, resolveArea } from '../../src/runtime/layout-view';
import { nodeFiles } from '../../src/host/files';
import { XCOMP_BV_OFFSET, XSTATE_BV_OFFSET, writeU64 } from '../../src/model';
import type { Engine } from '../../src/sim/engine';
import { loadScenario } from '../../src/sim/scenario';
import { blockTip, differingBlocks, layoutSvg } from '../../src/views/layout-svg';

const root = join(__dirname, '..', '..', '..');
const example = join(root, 'examples', 'xfd-err-leak.xsave');

function at(step: number): Engine {
  const loaded = loadScenario(example, nodeFiles, { policy: join(root, 'src', 'kernel', 'policies', 'linux-5.17.xsave') });
  const e = loaded.engine!;
  while (e.state.steps < step && !e.state.halted) e.step();
  assert.equal(e.state.steps, step);
  return e;
}

const rows = (d: ReturnType<typeof buildLayout>) => d.blocks.map((b) => [b.name, b.offset, b.size, b.classes.join(' ')]);
/** The guest fpstate: the vCPU's guest_fpu.fpstate (heap object 35 in this run). */
const GUEST = 'fpstate:35';

test("cpu0's registers at the guest #NM (step 2156): the standard layout of the guest's XCR0 0x60007, XTILEDATA at 2816 disabled by IA32_XFD", () => {
  const d = buildLayout(at(2156));
  assert.equal(d.area.id, 'cpu:0');
  assert.equal(d.area.format, 'standard');
  assert.equal(d.area.size, 11008, 'CPUID.(0DH,0).EBX for XCR0 0x60007: XTILEDATA ends at 2816 + 8192');
  assert.deepEqual(rows(d), [
    ['x87', 0, 160, 'legacy init'],
    ['SSE', 160, 256, 'legacy init'],
    ['reserved', 416, 96, 'reserved'],
    ['header', 512, 64, 'header'],
    ['YMM', 576, 256, 'component init'],
    ['XTILECFG', 2752, 64, 'component xstate xinuse'],
    ['XTILEDATA', 2816, 8192, 'component init xfd'],
  ]);
  assert.deepEqual(d.registers.XCR0, { hex: '0x60007', text: '0x60007 [x87 SSE YMM XTILECFG XTILEDATA]' });
  assert.deepEqual(d.xfd, { hex: '0x40000', text: '0x40000 [XTILEDATA]', source: 'cpu0 IA32_XFD' });
  assert.equal(d.header.stored, false);
  assert.equal(d.header.XSTATE_BV.hex, '0x20000', 'what XSAVE would write: XINUSE & XCR0');
  // TILECFG as LDTILECFG loaded it (palette 1, 16 rows of 64 bytes; SDM Vol2 Table 3-10).
  const cfg = d.blocks.find((b) => b.name === 'XTILECFG')!;
  assert.deepEqual(cfg.registers.slice(0, 3), [{ name: 'palette_id', value: '0x1' }, { name: 'start_row', value: '0x0' }, { name: 'tmm0', value: '16 rows × 64 bytes' }]);
  assert.equal(cfg.memoryReference, 'cpu0/XTILECFG');
});

test("cpu0's registers in the compacted form XSAVES stores for the host's XCR0 | IA32_XSS (0x602e7 | 0xc00): XTILECFG 2496, XTILEDATA 2560, 10752 bytes", () => {
  const d = buildLayout(at(2170), { area: 'cpu:0', format: 'compacted' });
  assert.equal(d.registers.XCR0.hex, '0x602e7');
  assert.equal(d.registers.IA32_XSS.hex, '0xc00');
  assert.equal(d.header.XCOMP_BV.hex, '0x8000000000060ee7');
  assert.equal(d.area.size, 10752);
  assert.deepEqual(d.blocks.filter((b) => b.kind === 'component').map((b) => [b.name, b.offset, b.size]), [
    ['YMM', 576, 256], ['OPMASK', 832, 64], ['ZMM_Hi256', 896, 512], ['Hi16_ZMM', 1408, 1024], ['PKRU', 2432, 8],
    ['PASID', 2440, 8], ['CET_U', 2448, 16], ['XTILECFG', 2496, 64], ['XTILEDATA', 2560, 8192],
  ]);
  assert.ok(d.blocks.find((b) => b.name === 'PASID')!.classes.includes('supervisor'));
});

test("the guest fpstate: compacted by XSAVES (XCOMP_BV 0x8000000000060ee7), XTILEDATA at 2560 disabled by fpstate->xfd; at step 2524 it holds the guest's TILECFG", () => {
  const e = at(2524);
  const d = buildLayout(e, { area: GUEST });
  assert.equal(d.area.kind, 'fpstate');
  assert.equal(d.area.address, '0x10e000');
  assert.deepEqual([d.area.format, d.area.size, d.area.allocated, d.area.fpstateSize], ['compacted', 10752, 10752, 10752]);
  assert.equal(d.header.XSTATE_BV.hex, '0x20000');
  assert.deepEqual(d.header.xcompBits.map((b) => b.name), ['x87', 'SSE', 'YMM', 'OPMASK', 'ZMM_Hi256', 'Hi16_ZMM', 'PKRU', 'PASID', 'CET_U', 'XTILECFG', 'XTILEDATA', 'COMPACTED']);
  assert.deepEqual(d.xfd, { hex: '0x40000', text: '0x40000 [XTILEDATA]', source: 'fpstate->xfd' });
  const td = d.blocks.find((b) => b.name === 'XTILEDATA')!;
  assert.deepEqual([td.offset, td.size, td.classes.join(' ')], [2560, 8192, 'component init xfd']);
  assert.equal(td.memoryReference, `0x${(0x10e000 + 2560).toString(16)}`);
  const cfg = d.blocks.find((b) => b.name === 'XTILECFG')!;
  assert.deepEqual([cfg.offset, cfg.classes.join(' ')], [2496, 'component xstate xinuse']);
  assert.equal(cfg.registers[2]!.value, '16 rows × 64 bytes', "the guest's ldtilecfg(palette: 1, rows: 16, colsb: 64)");
  assert.equal(d.area.title, 'vcpu 0: arch.guest_fpu.fpstate (0x10e000)');
  assert.deepEqual(resolveArea(e.state, '0x10e000'), { kind: 'fpstate', object: 35 }, "the Variables view's memory reference of the buffer");
  assert.deepEqual(resolveArea(e.state, 'cpu0/XTILEDATA'), { kind: 'cpu', cpu: 0 });
  assert.deepEqual(resolveArea(e.state, 'mem:0x10e000'), { kind: 'fpstate', object: 35 });
  assert.deepEqual(resolveArea(e.state, '0x10ea00'), { kind: 'fpstate', object: 35 }, "XTILEDATA's memory reference inside the buffer");
  // The same buffer at two steps: before KVM saved the guest's state and after.
  const before = buildLayout(at(2156), { area: GUEST });
  assert.deepEqual([...differingBlocks(before, d)], ['XTILECFG']);
  assert.match(blockTip(d, cfg), /^XTILECFG \(17\): offset 2496 \(0x9c0\), 64 bytes, to 2559\nin XSTATE_BV; cpu0 XINUSE\[17\] = 1; 64-byte aligned in the compacted format\n {2}palette_id = 0x1\n/);
});

test('init_fpstate: its header names XTILEDATA past fpstate->size (2560 of a 10752-byte allocation); a header claiming more than the allocation is marked outside', () => {
  const e = at(2524);
  const init = buildLayout(e, { area: 'fpstate:1' });
  const td = init.blocks.find((b) => b.name === 'XTILEDATA')!;
  assert.deepEqual([td.offset, td.beyondSizeBytes, td.outsideBytes], [2560, 8192, 0]);
  assert.deepEqual(td.classes, ['component', 'init', 'xfd', 'beyond-size'], "init_fpstate's xfd is the default IA32_XFD (XTILEDATA)");
  // qemu.main's 2560-byte buffer with a header that claims XTILEDATA in use (as a buggy XSAVES into
  // a buffer sized without it would leave): the block lies wholly past the allocation.
  const fp = e.state.heap[28]!;
  const addr = fp.fields.regs as bigint;
  const region = e.state.mem.regions.find((r) => r.base === addr)!;
  writeU64(region.bytes, XSTATE_BV_OFFSET, 0x40000n);
  writeU64(region.bytes, XCOMP_BV_OFFSET, (1n << 63n) | 0x60ee7n);
  const d = buildLayout(e, { area: 'fpstate:28' });
  const out = d.blocks.find((b) => b.name === 'XTILEDATA')!;
  assert.deepEqual([out.offset, out.size, out.outsideBytes, d.area.allocated], [2560, 8192, 8192, 2560]);
  assert.deepEqual(out.classes, ['component', 'xstate', 'xfd', 'outside', 'beyond-size']);
  assert.deepEqual(out.registers, []);
  assert.equal(out.digest, 'partial:0');
  assert.match(blockTip(d, out), /8192 bytes past the end of the allocation \(2560 bytes\)/);
  // The picture marks it and where the allocation ends.
  const svg = layoutSvg(d, { width: 600 });
  assert.match(svg, /<g class="lv-block component xstate xfd outside beyond-size" data-name="XTILEDATA" data-offset="2560" data-size="8192" data-index="18" data-ref="0x107a00" data-tip="XTILEDATA \(18\): offset 2560/);
  assert.match(svg, /<rect class="lv-outside" /);
  assert.match(svg, /<g class="lv-alloc-end"><line /);
});

test('the picture: blocks to scale in rows of 256 bytes, the differing ones marked, no <title> unless asked', () => {
  const a = buildLayout(at(2156), { area: GUEST });
  const b = buildLayout(at(2524), { area: GUEST });
  const svg = layoutSvg(b, { width: 600, differs: differingBlocks(a, b), caption: 'step 2524' });
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" class="xsave-layout" width="600" height="\d+" viewBox="0 0 600 \d+" data-area="fpstate:35" data-format="compacted">/);
  assert.match(svg, /<g class="lv-block component xstate xinuse differs" data-name="XTILECFG" data-offset="2496" data-size="64"/);
  assert.match(svg, /<g class="lv-block component init xfd" data-name="XTILEDATA" data-offset="2560"/);
  assert.doesNotMatch(svg, /<title>XTILEDATA/);
  assert.match(layoutSvg(b, { width: 600, titles: true }), /<title>XTILEDATA \(18\): offset 2560/);
  // XTILEDATA starts on a row (2560 = 10 × 256) and covers 32 rows of 540 pixels each: 8192 bytes.
  const parts = svg.split('data-name="XTILEDATA"')[1]!.split('</g>')[0]!.match(/<rect class="lv-fill" /g)!;
  assert.equal(parts.length, 32);
});

test('bad areas are refused with what to send', () => {
  const e = at(2156);
  assert.throws(() => buildLayout(e, { area: 'cpu:3' }), (x: unknown) => x instanceof LayoutError && x.message === 'no cpu3 (the machine has 1)');
  assert.throws(() => buildLayout(e, { area: 'fpstate:0' }), /'fpstate:0': no fpstate with that id/);
  // A page that is no XSAVE area: its XCOMP_BV names components the CPU does not have.
  const scratch = e.state.mem.regions[0]!;
  writeU64(scratch.bytes, XCOMP_BV_OFFSET, (1n << 63n) | (1n << 40n) | 3n);
  assert.throws(() => buildLayout(e, { area: `0x${scratch.base.toString(16)}` }), (x: unknown) => x instanceof LayoutError &&
    x.message === `0x${scratch.base.toString(16)}: XCOMP_BV 0x8000010000000003 [x87 SSE bit40 COMPACTED] names components sapphire-rapids does not have (0x10000000000 [bit40]): not an XSAVE area in the compacted format`);
  writeU64(scratch.bytes, XCOMP_BV_OFFSET, 0n);
  assert.equal(buildLayout(e, { area: `0x${scratch.base.toString(16)}` }).area.kind, 'memory', 'any mapped page reads as a standard-format area');
  assert.throws(() => buildLayout(e, { area: GUEST, format: 'standard' }), /only a CPU's registers can be shown in either format/);
  assert.throws(() => buildLayout(e, { area: 'mem:0x1' }), /0x1 is not mapped/);
});
