// A CPU model from CPUID leaves (src/model/cpuid.ts): the real Sapphire Rapids leaves rebuild the
// constant model field by field, the reference logs' KVM guest is a second machine, leaves that
// contradict each other are errors naming the leaf, and the model registry looks names up as own
// properties only. Rules: SDM Vol2 CPUID leaves 01H, 07H, 0DH, 1DH; spec hardware.md §1.1-1.4, §6.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type CpuidLeaf, CPU_MODELS, HOST_CPU_MODEL, ModelArgumentError, compactedOffset, compactedSize, cpuModel, cpuModelFromCpuid,
  cpuModelNames, cpuidLeafD, cpuidOf, createCpu, isCpuModelName, leafName, modelOf, registerCpuModel, standardSize,
  synthesizedCpuidOf,
} from '../../src/model';

const r = (leaf: number, subleaf: number, eax: number, ebx: number, ecx: number, edx: number): CpuidLeaf => ({ leaf, subleaf, eax, ebx, ecx, edx });

/**
 * Sapphire Rapids: leaf 0DH as dumped on real hardware with XCR0 = 0x602e7 and IA32_XSS = PASID | LBR
 * (spec §1.1, Appendix A [S1]); 01H:ECX with XSAVE[26] and VMX[5]; 07H,0 with PKU (ECX[3]) and
 * AMX-TILE (EDX[24]); 1DH as QEMU encodes palette 1 "from SDM" (spec §6 [S7]).
 */
const SPR: CpuidLeaf[] = [
  r(0x00, 0, 0x20, 0x756e6547, 0x6c65746e, 0x49656e69), // "GenuineIntel", highest basic leaf 20H
  r(0x01, 0, 0x000806f8, 0, 0x7ffefbff, 0xbfebfbff),
  r(0x07, 0, 2, 0xf3bfbfbf, 0x1b415f6e, (0xbc000410 | (1 << 24)) >>> 0),
  r(0x0d, 0, 0x000602e7, 0x00002b00, 0x00002b00, 0),
  r(0x0d, 1, 0x0000001f, 0x00002d00, 0x0000dd00, 0),
  r(0x0d, 2, 0x100, 0x240, 0, 0),
  r(0x0d, 5, 0x40, 0x440, 0, 0),
  r(0x0d, 6, 0x200, 0x480, 0, 0),
  r(0x0d, 7, 0x400, 0x680, 0, 0),
  r(0x0d, 8, 0x80, 0, 1, 0),
  r(0x0d, 9, 0x8, 0xa80, 0, 0),
  r(0x0d, 10, 0x8, 0, 1, 0),
  r(0x0d, 11, 0x10, 0, 1, 0),
  r(0x0d, 12, 0x18, 0, 1, 0),
  r(0x0d, 14, 0x30, 0, 1, 0),
  r(0x0d, 15, 0x328, 0, 1, 0),
  r(0x0d, 17, 0x40, 0xac0, 2, 0),
  r(0x0d, 18, 0x2000, 0xb00, 6, 0),
  r(0x1d, 0, 1, 0, 0, 0), // max_palette = 1
  r(0x1d, 1, (1024 << 16) | 8192, (8 << 16) | 64, 16, 0),
];

/** Every field of a model but its name, description and source leaves. */
function fields(m: ReturnType<typeof cpuModel>) {
  const { name: _n, description: _d, cpuid: _c, ...rest } = m;
  return { ...rest, components: [...rest.components.entries()] };
}

/** A copy of `leaves` with one leaf replaced (or removed when `by` is null). */
function patch(leaves: CpuidLeaf[], leaf: number, subleaf: number, by: Partial<CpuidLeaf> | null): CpuidLeaf[] {
  const out = leaves.filter((l) => by !== null || l.leaf !== leaf || l.subleaf !== subleaf);
  return out.map((l) => (by !== null && l.leaf === leaf && l.subleaf === subleaf ? { ...l, ...by } : l));
}

const fails = (leaves: CpuidLeaf[], message: string) =>
  assert.throws(() => cpuModelFromCpuid(leaves), (e: unknown) => e instanceof ModelArgumentError && e.message === `cpuid: ${message}`, message);

test('the real SPR leaves build the sapphire-rapids model, field by field (SDM CPUID 01H, 07H, 0DH, 1DH; spec §1.1)', () => {
  const m = cpuModelFromCpuid(SPR);
  const spr = CPU_MODELS['sapphire-rapids'];
  assert.equal(m.name, 'host');
  assert.equal(m.xsave, true); // 01H:ECX[26]
  assert.equal(m.vmx, true); // 01H:ECX[5]
  assert.equal(m.xcr0Supported, 0x602e7n); // (0DH,0) EDX:EAX
  assert.equal(m.d1Eax, 0x1f); // (0DH,1).EAX: XSAVEOPT XSAVEC XGETBV1 XSAVES XFD
  assert.equal(m.xssSupported, 0xdd00n); // (0DH,1) EDX:ECX
  assert.equal(m.pku, true); // (07H,0).ECX[3]
  assert.deepEqual(m.amx, { totalTileBytes: 8192, bytesPerTile: 1024, bytesPerRow: 64, maxNames: 8, maxRows: 16 }); // (1DH,1)
  assert.equal(m.mxcsrMask, 0xffff);
  assert.deepEqual(m.components.get(18), { index: 18, size: 8192, offset: 2816, supervisor: false, align64: true, xfd: true }); // ECX 6
  assert.deepEqual(m.components.get(17), { index: 17, size: 64, offset: 2752, supervisor: false, align64: true, xfd: false }); // ECX 2
  assert.deepEqual(m.components.get(15), { index: 15, size: 808, offset: 0, supervisor: true, align64: false, xfd: false }); // ECX 1
  assert.deepEqual(fields(m), fields(spr));
  assert.equal(m.description, 'GenuineIntel (from CPUID): XCR0 may hold 0x602e7 [x87 SSE YMM OPMASK ZMM_Hi256 Hi16_ZMM PKRU XTILECFG XTILEDATA]; ' +
    'IA32_XSS 0xdd00 [PT PASID CET_U CET_S UINTR LBR]; XFD yes; PKRU yes; AMX yes; VMX yes');
});

test('the SPR-built model gives the constant model\'s layouts: TILEDATA compacted at 2560 for XCR0 0x602e7 (spec §1.4 [S9])', () => {
  const m = cpuModelFromCpuid(SPR);
  assert.equal(compactedOffset(m, 0x602e7n, 17), 2496);
  assert.equal(compactedOffset(m, 0x602e7n, 18), 2560);
  assert.equal(compactedSize(m, 0x602e7n), 10752);
  assert.equal(compactedOffset(m, 0x602e7n | 0x8400n, 17), 3264); // PASID and LBR before it
  assert.equal(standardSize(m, 0x602e7n), 11008);
  // CPUID.(0DH,i) computed from the built model is the dump it was built from.
  for (const l of SPR.filter((x) => x.leaf === 0xd)) {
    assert.deepEqual(cpuidLeafD(m, 0x602e7n, 0x8400n, l.subleaf), { eax: l.eax, ebx: l.ebx, ecx: l.ecx, edx: l.edx }, `sub-leaf ${l.subleaf}`);
  }
});

test('cpuidOf(model) rebuilds each constant model through cpuModelFromCpuid; the host model gives back its own leaves', () => {
  for (const name of ['sapphire-rapids', 'icelake-server', 'haswell'] as const) {
    assert.deepEqual(fields(cpuModelFromCpuid(cpuidOf(CPU_MODELS[name]))), fields(CPU_MODELS[name]), name);
  }
  const m = cpuModelFromCpuid(SPR);
  assert.deepEqual(cpuidOf(m), [...SPR].sort((a, b) => a.leaf - b.leaf || a.subleaf - b.subleaf));
  // Haswell has no compacted format: (0DH,1).EBX is 0 without XSAVES.
  assert.deepEqual(cpuidOf(CPU_MODELS.haswell).find((l) => l.leaf === 0xd && l.subleaf === 1), r(0xd, 1, 1, 0, 0, 0));
});

test('a model\'s synthesized leaves are built once and shared, frozen; a host model narrowed by a VMM answers from its narrowed fields, not its raw leaves', () => {
  const spr = CPU_MODELS['sapphire-rapids'];
  assert.equal(cpuidOf(spr), cpuidOf(spr));
  assert.ok(Object.isFrozen(cpuidOf(spr)) && Object.isFrozen(cpuidOf(spr)[0]));
  const host = cpuModelFromCpuid(SPR);
  assert.equal(cpuidOf(host), host.cpuid);
  // The narrowed copy modelOf makes keeps the raw leaves; what a narrowed CPU answers is built from
  // its fields: (0DH,0).EAX is the narrowed XCR0 support (0x2e7 without AMX), not the raw 0x602e7.
  const narrowed = { ...host, xcr0Supported: host.xcr0Supported & 0x2e7n, amx: null };
  const d0 = synthesizedCpuidOf(narrowed).find((l) => l.leaf === 0xd && l.subleaf === 0)!;
  assert.equal(d0.eax, 0x2e7);
  assert.equal(synthesizedCpuidOf(narrowed), synthesizedCpuidOf(narrowed));
});

/**
 * The reference logs' machine (/work/shared/silicon/perm-5005.jsonl.gz, first line, cpuid_0d): a
 * KVM guest with XCR0 support 0x600e7 (no PKRU), XSAVES but IA32_XSS 0, and the AMX components.
 * Its leaves 01H, 07H and 1DH are not in the log; these give XSAVE, AMX-TILE and palette 1 only.
 */
const GUEST_0D: Array<[number, number, number, number]> = [
  [393447, 11008, 11008, 0], [31, 10688, 0, 0], [256, 576, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [64, 1088, 0, 0], [512, 1152, 0, 0],
  [1024, 1664, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0],
  [0, 0, 0, 0], [64, 2752, 2, 0], [8192, 2816, 6, 0], [0, 0, 0, 0],
];
const GUEST: CpuidLeaf[] = [
  r(1, 0, 0, 0, 1 << 26, 0),
  r(7, 0, 0, 0, 0, 1 << 24),
  ...GUEST_0D.map(([eax, ebx, ecx, edx], i) => r(0xd, i, eax, ebx, ecx, edx)),
  r(0x1d, 0, 1, 0, 0, 0),
  r(0x1d, 1, 0x04002000, 0x00080040, 0x10, 0),
];

test('the reference logs\' KVM guest: XCR0 0x600e7 without PKRU, no XSS, TILEDATA compacted at 2496+64 (perm-5005 cpuid_0d)', () => {
  const m = cpuModelFromCpuid(GUEST);
  assert.equal(m.xcr0Supported, 0x600e7n);
  assert.equal(m.xssSupported, 0n);
  assert.equal(m.d1Eax, 0x1f);
  assert.equal(m.pku, false);
  assert.equal(m.vmx, false);
  assert.deepEqual([...m.components.keys()], [2, 5, 6, 7, 17, 18]);
  assert.equal(compactedOffset(m, 0x600e7n, 17), 2432); // Hi16_ZMM ends at 2432, already 64-byte aligned
  assert.equal(compactedOffset(m, 0x600e7n, 18), 2496);
  assert.equal(compactedSize(m, 0x600e7n), 10688); // the log's (0DH,1).EBX
  assert.equal(standardSize(m, 0x600e7n), 11008); // the log's (0DH,0).EBX
  assert.equal(m.description, 'this machine (from CPUID): XCR0 may hold 0x600e7 [x87 SSE YMM OPMASK ZMM_Hi256 Hi16_ZMM XTILECFG XTILEDATA]; IA32_XSS 0x0; XFD yes; PKRU no; AMX yes; VMX no');
});

test('leaves that contradict each other are a ModelArgumentError naming the leaf (SDM CPUID 0DH)', () => {
  fails(patch(SPR, 0xd, 18, { eax: 0 }), 'CPUID.(EAX=0DH,ECX=18) (XTILEDATA): EAX (size) is 0, yet CPUID.(EAX=0DH,ECX=0).EAX enumerates the component');
  fails(patch(SPR, 0xd, 18, { ebx: 2817 }), 'CPUID.(EAX=0DH,ECX=18) (XTILEDATA): offset 2817 + size 8192 = 11009 is beyond the XSAVE area size CPUID.(EAX=0DH,ECX=0).ECX = 11008');
  fails(patch(SPR, 0xd, 17, null), 'CPUID.(EAX=0DH,ECX=17) is missing (CPUID.(EAX=0DH,ECX=0).EAX enumerates component 17 (XTILECFG))');
  fails(patch(SPR, 0xd, 15, null), 'CPUID.(EAX=0DH,ECX=15) is missing (CPUID.(EAX=0DH,ECX=1).ECX enumerates component 15 (LBR))');
  fails(patch(SPR, 0xd, 0, null), 'CPUID.(EAX=0DH,ECX=0) is missing (it enumerates the XCR0 bits)');
  fails(patch(SPR, 0xd, 1, null), 'CPUID.(EAX=0DH,ECX=1) is missing (it enumerates the XSAVE features and the IA32_XSS bits)');
  fails(patch(SPR, 1, 0, null), 'CPUID.(EAX=01H,ECX=0) is missing (it says whether the CPU has XSAVE)');
  fails(patch(SPR, 0xd, 9, { ecx: 1 }), 'CPUID.(EAX=0DH,ECX=9) (PKRU): ECX[0] = 1 says supervisor state, yet CPUID.(EAX=0DH,ECX=0).EAX enumerates it as user (XCR0) state');
  fails(patch(SPR, 0xd, 7, { ebx: 0x600 }), 'CPUID.(EAX=0DH,ECX=7) (Hi16_ZMM): offset 1536 overlaps ZMM_Hi256 at 1152-1663');
  fails(patch(SPR, 0xd, 2, { ebx: 512 }), 'CPUID.(EAX=0DH,ECX=2) (YMM): EBX (offset) = 512 lies in the legacy region or the header (below 576)');
  fails(patch(SPR, 0xd, 0, { eax: 0x602e5 }), 'CPUID.(EAX=0DH,ECX=0).EAX = 0x602e5: bits 0 (x87) and 1 (SSE) must be 1 on a CPU with XSAVE');
  fails(patch(SPR, 0xd, 1, { ecx: 0xdd00 | 0x200 }), 'CPUID.(EAX=0DH,ECX=0) and CPUID.(EAX=0DH,ECX=1) both enumerate 0x200 [PKRU]: a component is user (XCR0) or supervisor (IA32_XSS) state, not both');
  fails(patch(SPR, 0x1d, 1, null), 'CPUID.(EAX=1DH,ECX=1) is missing (CPUID.(EAX=1DH,ECX=0).EAX (max_palette) = 1 and sub-leaf 1 describes palette 1)');
  fails(patch(SPR, 0x1d, 0, null), 'CPUID.(EAX=1DH,ECX=0) is missing ((07H,0).EDX.AMX-TILE[24] = 1 and leaf 1DH enumerates the tile palettes)');
  fails(patch(SPR, 0x1d, 1, { ecx: 0 }), 'CPUID.(EAX=1DH,ECX=1): palette 1 has maxRows = 0');
  fails(patch(SPR, 0, 0, { eax: 0xc }), 'CPUID.00H.EAX = 0xc: the highest basic leaf is below 0DH, yet CPUID.01H:ECX.XSAVE[26] = 1');
  fails([...SPR, r(0xd, 2, 0x100, 0x240, 0, 0)], 'CPUID.(EAX=0DH,ECX=2) is given twice');
  fails(patch(SPR, 0xd, 2, { eax: 2 ** 32 }), 'CPUID.(EAX=0DH,ECX=2).EAX = 4294967296: not an unsigned 32-bit number');
  fails(patch(SPR, 0xd, 2, { ecx: -1 }), 'CPUID.(EAX=0DH,ECX=2).ECX = -1: not an unsigned 32-bit number');
});

test('without XSAVE (01H:ECX[26] = 0) leaf 0DH is not read: x87 and SSE only, and XSAVE/XSETBV are #UD', () => {
  const m = cpuModelFromCpuid([r(1, 0, 0, 0, 0, 0)]);
  assert.equal(m.xsave, false);
  assert.equal(m.xcr0Supported, 0x3n);
  assert.equal(m.components.size, 0);
});

test('leafName spells leaves as the SDM does', () => {
  assert.equal(leafName(0xd, 18), 'CPUID.(EAX=0DH,ECX=18)');
  assert.equal(leafName(1), 'CPUID.01H');
  assert.equal(leafName(0x1d, 1), 'CPUID.(EAX=1DH,ECX=1)');
  assert.equal(leafName(0x80000002, 0), 'CPUID.(EAX=80000002H,ECX=0)');
});

test('cpuModel: __proto__, constructor, toString are unknown models, not Object.prototype members', () => {
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    assert.throws(() => cpuModel(name), (e: unknown) => e instanceof ModelArgumentError &&
      e.message === `cpu: unknown CPU model '${name}' (known: sapphire-rapids, icelake-server, haswell, host)`, name);
    assert.equal(isCpuModelName(name), false, name);
    assert.throws(() => createCpu(name), ModelArgumentError, name);
  }
  assert.deepEqual(cpuModelNames(), ['sapphire-rapids', 'icelake-server', 'haswell', 'host']);
});

test('the host model before it is read is a clear error; registered, CpuState stores the name \'host\' and finds it', () => {
  assert.throws(() => cpuModel('host'), (e: unknown) => e instanceof ModelArgumentError && /^cpu: CPU model 'host' has not been read from this machine's CPUID/.test(e.message));
  assert.equal(isCpuModelName('host'), true);
  registerCpuModel(cpuModelFromCpuid(GUEST));
  const cpu = createCpu(HOST_CPU_MODEL, { osxsave: true });
  assert.equal(cpu.model, 'host');
  assert.equal(structuredClone(cpu).model, 'host');
  assert.equal(modelOf(cpu).xcr0Supported, 0x600e7n);
  assert.equal(cpu.ext[18]!.length, 8192);
  assert.equal(cpu.ext[9], null); // no PKRU on this machine
  assert.equal(compactedOffset(modelOf(cpu), 0x600e7n, 18), 2496);
  // Registering again replaces the model, and the layout caches follow the new one.
  registerCpuModel(cpuModelFromCpuid(SPR));
  assert.equal(modelOf(cpu).xcr0Supported, 0x602e7n);
  assert.equal(compactedOffset(modelOf(cpu), 0x600e7n, 18), 2496);
  assert.equal(compactedOffset(modelOf(cpu), 0x602e7n, 18), 2560);
  assert.throws(() => registerCpuModel({ ...CPU_MODELS.haswell }), /'haswell' is a built-in CPU model and cannot be replaced/);
});
