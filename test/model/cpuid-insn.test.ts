// The CPUID and OUT instructions (src/model/cpuid-insn.ts, io.ts): leaves answered from the model or
// from a virtual CPU's own leaves, the bits that follow CR4 and XCR0, Intel's out-of-range rule, and
// the unconditional VM exits that let a VMM answer (CPUID, reason 10) or listen (OUT, reason 30).
// Rules: SDM Vol2 CPUID (leaves 0, 01H, 07H, 0DH, 1DH, 1EH; "data for the highest basic information
// leaf"), SDM Vol2 OUT; SDM Vol3 26.1.1-26.1.3, 28.2.1 Table 28-5.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type CpuidLeaf, EXIT_REASON, createCpu, createVmcs, cpuidAnswer, cpuidInsn, cpuidRead, ioExitQualification, outInsn, vmEntry,
  vmptrld, vmxon, xsetbv,
} from '../../src/model';
import { fault, ok, spr } from './support';

const r = (leaf: number, subleaf: number, eax: number, ebx: number, ecx: number, edx: number): CpuidLeaf => ({ leaf, subleaf, eax, ebx, ecx, edx });

test('SDM CPUID leaf 0: the constant Sapphire Rapids model enumerates basic leaves up to 1EH and is GenuineIntel', () => {
  const c = spr();
  assert.deepEqual(cpuidRead(c, 0, 0), { eax: 0x1e, ebx: 0x756e6547, ecx: 0x6c65746e, edx: 0x49656e69 });
});

test('SDM CPUID 01H:ECX.OSXSAVE[27] mirrors CR4.OSXSAVE; XSAVE[26] and VMX[5] come from the model', () => {
  const c = createCpu('sapphire-rapids');
  assert.equal(cpuidRead(c, 1, 0).ecx, (1 << 26) | (1 << 5));
  c.cr4.osxsave = true;
  assert.equal(cpuidRead(c, 1, 0).ecx, ((1 << 26) | (1 << 27) | (1 << 5)) >>> 0);
});

test('SDM CPUID (07H,0):ECX.OSPKE[4] mirrors CR4.PKE; EDX.AMX-TILE[24] from the model', () => {
  const c = spr();
  assert.equal(cpuidRead(c, 7, 0).ecx & (1 << 4), 0);
  c.cr4.pke = true;
  assert.equal(cpuidRead(c, 7, 0).ecx & (1 << 4), 1 << 4);
  assert.equal(cpuidRead(c, 7, 0).edx & (1 << 24), 1 << 24);
});

test('SDM CPUID (0DH,0).EBX sizes the standard area of the features XCR0 enables now: 832 for x87|SSE|AVX, 11008 with AMX', () => {
  const c = spr(0x7n);
  assert.equal(cpuidRead(c, 0xd, 0).ebx, 832);
  ok(xsetbv(c, 0, 0x602e7n));
  assert.equal(cpuidRead(c, 0xd, 0).ebx, 11008);
  assert.equal(cpuidRead(c, 0xd, 0).ecx, 11008, 'ECX: every supported feature');
});

test('SDM CPUID (0DH,18) and 1DH.1: TILEDATA at 2816, 8192 bytes; palette 1 has 8 tiles of 16 rows x 64 bytes; 1EH TMUL', () => {
  const c = spr();
  assert.deepEqual(cpuidRead(c, 0xd, 18), { eax: 8192, ebx: 2816, ecx: 6, edx: 0 });
  assert.equal(cpuidRead(c, 0x1d, 0).eax, 1, 'max_palette');
  assert.deepEqual(cpuidRead(c, 0x1d, 1), { eax: (1024 << 16) | 8192, ebx: (8 << 16) | 64, ecx: 16, edx: 0 });
  assert.equal(cpuidRead(c, 0x1e, 0).ebx, 0x4010);
});

test('SDM CPUID: an out-of-range basic leaf answers with the highest basic leaf (same sub-leaf); an enumerated gap is zeros', () => {
  const leaves = [r(0, 0, 0xd, 1, 2, 3), r(0xd, 0, 7, 576, 832, 0), r(0xd, 1, 0xf, 0, 0, 0)];
  assert.deepEqual(cpuidAnswer(leaves, 0x1d, 1), { eax: 0xf, ebx: 0, ecx: 0, edx: 0 });
  assert.deepEqual(cpuidAnswer(leaves, 0x80000008, 0), { eax: 7, ebx: 576, ecx: 832, edx: 0 }, 'no extended class: max basic');
  assert.deepEqual(cpuidAnswer(leaves, 7, 0), { eax: 0, ebx: 0, ecx: 0, edx: 0 }, 'in range, not enumerated');
  assert.deepEqual(cpuidAnswer(leaves, 1, 5), { eax: 0, ebx: 0, ecx: 0, edx: 0 }, 'leaf 1 is not indexed but missing');
});

test('A virtual CPU answers from the leaves its VMM gave it, with CR4 and XCR0 bits still its own', () => {
  const c = spr(0x7n);
  const leaves = [r(0, 0, 0xd, 0, 0, 0), r(1, 0, 0, 0, 1 << 26, 0), r(0xd, 0, 0x7, 832, 832, 0), r(0xd, 1, 0x1, 0, 0, 0)];
  c.cpuidLimit = { xcr0: 0x7n, xfd: false, leaves };
  assert.equal(cpuidRead(c, 1, 0).ecx, ((1 << 26) | (1 << 27)) >>> 0, 'no VMX: not in the given leaf');
  assert.deepEqual(cpuidRead(c, 0xd, 0), { eax: 7, ebx: 832, ecx: 832, edx: 0 });
  assert.equal(cpuidRead(c, 0xd, 18).eax, 0, 'TILEDATA not enumerated');
});

function guest() {
  const c = spr();
  const v = createVmcs();
  ok(vmxon(c));
  ok(vmptrld(c, v));
  const e = vmEntry(c);
  assert.equal(e.kind, 'ok');
  return { c, v };
}

test('SDM Vol3 26.1.2: CPUID in VMX non-root operation always exits (reason 10) with the leaf and sub-leaf for the VMM', () => {
  const { c } = guest();
  const o = cpuidInsn(c, 0xd, 18);
  if (o.kind !== 'vmexit') assert.fail(o.kind);
  assert.equal(o.exit.reason, EXIT_REASON.CPUID);
  assert.equal(o.exit.leaf, 0xd);
  assert.equal(o.exit.subleaf, 18);
});

test('SDM Vol3 26.1.3, Table 28-5: OUT with unconditional I/O exiting exits with reason 30, the port in bits 31:16 and size-1 in 2:0', () => {
  const { c } = guest();
  const o = outInsn(c, 0xe9, 4, 0x12345678n);
  if (o.kind !== 'vmexit') assert.fail(o.kind);
  assert.equal(o.exit.reason, EXIT_REASON.IO_INSTRUCTION);
  assert.equal(o.exit.qualification, 0x00e90003n);
  assert.equal(o.exit.qualification, ioExitQualification(0xe9, 4, 'out'));
  assert.equal(o.exit.value, 0x12345678n);
});

test('SDM Vol3 26.1.1: OUT at CPL 3 with IOPL 0 is #GP(0), before any VM exit; on a bare CPU at CPL 0 it completes', () => {
  const { c } = guest();
  c.cpl = 3;
  assert.equal(fault(outInsn(c, 0x80, 1, 0n)).mnemonic, '#GP');
  ok(outInsn(spr(), 0x80, 1, 0xffn));
});
