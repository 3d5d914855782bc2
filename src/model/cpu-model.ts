// The CPU models the simulator offers, as constant data: which state components each enumerates,
// their sizes, standard-format offsets and CPUID.(EAX=0DH,ECX=i).ECX flags, and the feature bits
// of CPUID.(EAX=0DH,ECX=1).EAX. Everything the instructions need to know about "this CPU" is read
// from here, never hard-coded at the point of use. Values: spec/hardware.md §1.1-1.2 (the real
// Sapphire Rapids dump [S1]), SDM Vol1 13.2-13.4.
import { type Mask, type XFeature, bit, bitsOf } from './bits';

/** One state component as CPUID.(EAX=0DH,ECX=i) enumerates it (SDM Vol2 CPUID, leaf 0DH). */
export interface ComponentInfo {
  readonly index: XFeature;
  /** EAX: size in bytes. */
  readonly size: number;
  /** EBX: offset in the standard format; 0 for supervisor components, which exist only compacted. */
  readonly offset: number;
  /** ECX[0]: a supervisor component, managed through IA32_XSS and XSAVES/XRSTORS. */
  readonly supervisor: boolean;
  /** ECX[1]: 64-byte aligned in the compacted format. */
  readonly align64: boolean;
  /** ECX[2]: IA32_XFD[i] may be set (XFD-capable). */
  readonly xfd: boolean;
}

/** CPUID.(EAX=0DH,ECX=1).EAX bits (SDM Vol2 CPUID; bit 4 from QEMU's CPUID_D_1_EAX_XFD [S7]). */
export const CPUID_D1_EAX_XSAVEOPT = 1 << 0;
export const CPUID_D1_EAX_XSAVEC = 1 << 1;
export const CPUID_D1_EAX_XGETBV1 = 1 << 2;
export const CPUID_D1_EAX_XSAVES = 1 << 3;
export const CPUID_D1_EAX_XFD = 1 << 4;

export interface AmxPalette1 {
  readonly totalTileBytes: number;
  readonly bytesPerTile: number;
  readonly bytesPerRow: number;
  readonly maxNames: number;
  readonly maxRows: number;
}

/** The models defined here as constant data. */
export type ConstantCpuModelName = 'sapphire-rapids' | 'icelake-server' | 'haswell';
/**
 * The model of the machine the simulator runs on, built from its CPUID (cpuid.ts) by the host layer
 * and registered under this name; CPU state stores only the name, as for the constant models.
 */
export const HOST_CPU_MODEL = 'host';
export type CpuModelName = ConstantCpuModelName | typeof HOST_CPU_MODEL;

export interface CpuModel {
  readonly name: CpuModelName;
  readonly description: string;
  /** CPUID.01H:ECX.XSAVE[26]. */
  readonly xsave: boolean;
  /** CPUID.(EAX=0DH,ECX=1).EAX. */
  readonly d1Eax: number;
  /** CPUID.(EAX=0DH,ECX=0).EDX:EAX: the bits XCR0 may hold. */
  readonly xcr0Supported: Mask;
  /** CPUID.(EAX=0DH,ECX=1).EDX:ECX: the bits IA32_XSS may hold. */
  readonly xssSupported: Mask;
  /** Components 2..62 by number; 0 and 1 live in the legacy region and have no sub-leaf. */
  readonly components: ReadonlyMap<XFeature, ComponentInfo>;
  /** CPUID.(EAX=07H,ECX=0).ECX.PKU[3]: WRPKRU/RDPKRU exist. */
  readonly pku: boolean;
  /** CPUID.(EAX=07H,ECX=0).EDX.AMX-TILE/AMX-INT8 [S7 leaf 1DH/1EH]; null without AMX. */
  readonly amx: AmxPalette1 | null;
  /** MXCSR_MASK as FXSAVE/XSAVE store it: 0xFFFF on DAZ-capable CPUs (SDM Vol1 11.6.6). */
  readonly mxcsrMask: number;
  /** VMX is available (CPUID.01H:ECX.VMX[5]). */
  readonly vmx: boolean;
  /** The CPUID leaves the model was built from (the host model); absent for the constant models. */
  readonly cpuid?: readonly CpuidLeaf[];
}

/** One CPUID result: EAX=leaf, ECX=subleaf in; EAX, EBX, ECX, EDX out, each an unsigned 32-bit number. */
export interface CpuidLeaf {
  readonly leaf: number;
  readonly subleaf: number;
  readonly eax: number;
  readonly ebx: number;
  readonly ecx: number;
  readonly edx: number;
}

function component(index: XFeature, size: number, offset: number, ecx: number): ComponentInfo {
  return { index, size, offset, supervisor: (ecx & 1) !== 0, align64: (ecx & 2) !== 0, xfd: (ecx & 4) !== 0 };
}

/**
 * CPUID.(0DH,i) for every component an Intel CPU of this family enumerates, from the real SPR dump
 * (spec §1.1, Appendix A [S1]). Sizes and standard offsets are the same on every CPU that has the
 * component; the per-model tables below select from it.
 */
const INTEL_COMPONENTS: Record<number, ComponentInfo> = {
  2: component(2, 256, 576, 0),
  5: component(5, 64, 1088, 0),
  6: component(6, 512, 1152, 0),
  7: component(7, 1024, 1664, 0),
  8: component(8, 128, 0, 1),
  9: component(9, 8, 2688, 0),
  10: component(10, 8, 0, 1),
  11: component(11, 16, 0, 1),
  12: component(12, 24, 0, 1),
  14: component(14, 48, 0, 1),
  15: component(15, 808, 0, 1), // 32 architectural LBR entries
  17: component(17, 64, 2752, 2),
  18: component(18, 8192, 2816, 6),
};

function componentsOf(mask: Mask): ReadonlyMap<XFeature, ComponentInfo> {
  const m = new Map<XFeature, ComponentInfo>();
  for (const i of bitsOf(mask)) {
    if (i < 2) continue;
    const c = INTEL_COMPONENTS[i];
    if (!c) throw new Error(`no component table entry for XFEATURE ${i}`);
    m.set(i, c);
  }
  return m;
}

function model(m: Omit<CpuModel, 'components'>): CpuModel {
  return { ...m, components: componentsOf(m.xcr0Supported | m.xssSupported) };
}

export const CPU_MODELS: Readonly<Record<ConstantCpuModelName, CpuModel>> = {
  // Real SPR: 0DH,0 eax=0x602e7; 0DH,1 eax=0x1f ecx=0xdd00 [S1].
  'sapphire-rapids': model({
    name: 'sapphire-rapids',
    description: 'Intel Sapphire Rapids server: AVX-512, PKRU, AMX with XFD; supervisor PT, PASID, CET, UINTR, arch LBR',
    xsave: true,
    d1Eax: CPUID_D1_EAX_XSAVEOPT | CPUID_D1_EAX_XSAVEC | CPUID_D1_EAX_XGETBV1 | CPUID_D1_EAX_XSAVES | CPUID_D1_EAX_XFD,
    xcr0Supported: 0x602e7n,
    xssSupported: 0xdd00n,
    pku: true,
    amx: { totalTileBytes: 8192, bytesPerTile: 1024, bytesPerRow: 64, maxNames: 8, maxRows: 16 },
    mxcsrMask: 0xffff,
    vmx: true,
  }),
  // Ice Lake server: AVX-512 and PKRU, no MPX (removed with Ice Lake), no AMX, no XFD; XSS = PT only.
  'icelake-server': model({
    name: 'icelake-server',
    description: 'Intel Ice Lake server: AVX-512 and PKRU, no AMX, no XFD; supervisor PT',
    xsave: true,
    d1Eax: CPUID_D1_EAX_XSAVEOPT | CPUID_D1_EAX_XSAVEC | CPUID_D1_EAX_XGETBV1 | CPUID_D1_EAX_XSAVES,
    xcr0Supported: 0x2e7n,
    xssSupported: 0x100n,
    pku: true,
    amx: null,
    mxcsrMask: 0xffff,
    vmx: true,
  }),
  // Haswell client: x87, SSE and AVX only; XSAVEOPT but not XSAVEC/XSAVES/XGETBV(1), which arrived
  // with Skylake.
  haswell: model({
    name: 'haswell',
    description: 'Intel Haswell client: x87, SSE and AVX only; XSAVE and XSAVEOPT (no compacted format, no XSAVES)',
    xsave: true,
    d1Eax: CPUID_D1_EAX_XSAVEOPT,
    xcr0Supported: 0x7n,
    xssSupported: 0n,
    pku: false,
    amx: null,
    mxcsrMask: 0xffff,
    vmx: true,
  }),
};

export const DEFAULT_CPU_MODEL: CpuModelName = 'sapphire-rapids';

/** A typed error for an argument a model function cannot take (not an architectural fault). */
export class ModelArgumentError extends Error {
  constructor(readonly argument: string, message: string) {
    super(`${argument}: ${message}`);
    this.name = 'ModelArgumentError';
  }
}

/** Models built at run time (the host's), by name. A Map: no name can reach Object.prototype. */
const registered = new Map<string, CpuModel>();

/**
 * Makes a model built at run time available to `cpuModel(name)` (and so to every CpuState that
 * stores its name). Registering the same name again replaces the model: the caches of layouts and
 * narrowed models are keyed by the model's objects, not its name, so nothing stale survives.
 */
export function registerCpuModel(model: CpuModel): void {
  if (Object.prototype.hasOwnProperty.call(CPU_MODELS, model.name)) {
    throw new ModelArgumentError('cpu', `'${model.name}' is a built-in CPU model and cannot be replaced`);
  }
  registered.set(model.name, model);
}

/** The registered model of that name, if any (registerCpuModel). */
export function registeredCpuModel(name: string): CpuModel | undefined {
  return registered.get(name);
}

/** Every name `--cpu`, the `cpu` launch attribute and the scenario's `cpu` line accept. */
export function cpuModelNames(): string[] {
  return [...Object.keys(CPU_MODELS), HOST_CPU_MODEL];
}

/** Whether `name` is a CPU model name at all (the host model may still have to be read). */
export function isCpuModelName(name: string): name is CpuModelName {
  return Object.prototype.hasOwnProperty.call(CPU_MODELS, name) || name === HOST_CPU_MODEL || registered.has(name);
}

/** Why `cpuModel(name)` would fail, or null when it would not. */
export function cpuModelProblem(name: string): string | null {
  if (Object.prototype.hasOwnProperty.call(CPU_MODELS, name) || registered.has(name)) return null;
  if (name === HOST_CPU_MODEL) {
    return `CPU model 'host' has not been read from this machine's CPUID (the CLI and the debug adapter read it when a scenario, --cpu or the launch attribute asks for it)`;
  }
  return `unknown CPU model '${name}' (known: ${cpuModelNames().join(', ')})`;
}

export function cpuModel(name: string): CpuModel {
  if (Object.prototype.hasOwnProperty.call(CPU_MODELS, name)) return CPU_MODELS[name as ConstantCpuModelName];
  const m = registered.get(name);
  if (m) return m;
  throw new ModelArgumentError('cpu', cpuModelProblem(name)!);
}

export function hasFeature(model: CpuModel, d1EaxBit: number): boolean {
  return (model.d1Eax & d1EaxBit) !== 0;
}

/** The bits IA32_XFD and IA32_XFD_ERR may hold: components with CPUID.(0DH,i).ECX[2]=1 (spec §5.1). */
export function xfdSupported(model: CpuModel): Mask {
  if (!hasFeature(model, CPUID_D1_EAX_XFD)) return 0n;
  let m = 0n;
  for (const c of model.components.values()) if (c.xfd) m |= bit(c.index);
  return m;
}

export function componentInfo(model: CpuModel, i: XFeature): ComponentInfo | undefined {
  return model.components.get(i);
}
