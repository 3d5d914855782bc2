// One logical CPU as plain data (DESIGN §4): control state (CR0.TS, CR4.OSXSAVE, CR4.PKE, CPL),
// XCR0, IA32_XSS, IA32_XFD, IA32_XFD_ERR, the processor's internal XINUSE / XMODIFIED /
// XRSTOR_INFO tracking, VMX operation, and the contents of every state component. The register
// contents are kept as each component's XSAVE image (the legacy region for x87 and SSE, the
// standard-format bytes for the others), so saving and restoring is a copy and the debugger shows
// exactly the bytes hardware would store. structuredClone copies all of it exactly.
import { type Mask, type U64, bitsOf, writeU16, writeU32 } from './bits';
import { type CpuModel, type CpuModelName, type CpuidLeaf, CPUID_D1_EAX_XFD, cpuModel } from './cpu-model';
import { FCW, FCW_DEFAULT, LEGACY_REGION_BYTES, MXCSR, MXCSR_DEFAULT, MXCSR_MASK } from './legacy-region';
import type { Vmcs } from './vmcs';

/** What the last XRSTOR/XRSTORS recorded for the modified optimization (SDM Vol2 XRSTOR pseudocode). */
export interface XrstorInfo {
  cpl: number;
  /** 1 in VMX non-root operation. */
  vmxnr: boolean;
  /** Linear address of the XSAVE area. */
  laxa: U64;
  /** XCOMP_BV of the image (0 for the standard form). */
  compmask: Mask;
}

export type VmxMode = 'off' | 'root' | 'non-root';

/**
 * What a virtual CPU's CPUID leaves out of its model: the XCR0 bits it enumerates and whether it
 * enumerates XFD. A bare-metal reference for a guest is the CPU its CPUID describes.
 */
export interface CpuidLimit {
  xcr0: Mask;
  xfd: boolean;
  /**
   * The CPUID the VMM gave the virtual CPU (KVM_SET_CPUID2), when known: CPUID answers from these
   * (cpuid-insn.ts); xcr0 and xfd above are what they enumerate, as the narrowed model uses them.
   */
  leaves?: readonly CpuidLeaf[];
}

export interface CpuState {
  readonly model: CpuModelName;
  /** A narrower CPUID than the model's (the guest's), or null for the model as it is. */
  cpuidLimit: CpuidLimit | null;
  cr0: { ts: boolean };
  cr4: { osxsave: boolean; pke: boolean };
  cpl: number;
  xcr0: Mask;
  xss: Mask;
  xfd: Mask;
  xfdErr: Mask;
  /** XINUSE: bit i = 0 guarantees component i is in its initial configuration (SDM Vol1 13.6). */
  xinuse: Mask;
  /** XMODIFIED: components written since the last XRSTOR(S) (SDM Vol1 13.6, 13.12). */
  xmodified: Mask;
  xrstorInfo: XrstorInfo | null;
  /** x87 and SSE registers, as the legacy region of an XSAVE64 image (512 bytes). */
  legacy: Uint8Array;
  /** Components 2..: their standard-format image, indexed by component number; null when not enumerated. */
  ext: Array<Uint8Array | null>;
  vmx: { mode: VmxMode; vmcs: Vmcs | null };
  halted: boolean;
}

/** Narrowed models per base model object (a re-registered host model starts afresh). */
const limited = new WeakMap<CpuModel, Map<string, CpuModel>>();

/** The CPU model an instruction sees: the named model, narrowed by cpuidLimit when set. */
export function modelOf(cpu: CpuState): CpuModel {
  const base = cpuModel(cpu.model);
  const lim = cpu.cpuidLimit;
  if (!lim) return base;
  const key = `${lim.xcr0.toString(16)}:${lim.xfd}`;
  let perBase = limited.get(base);
  if (!perBase) limited.set(base, (perBase = new Map()));
  let m = perBase.get(key);
  if (!m) {
    m = {
      ...base,
      xcr0Supported: base.xcr0Supported & lim.xcr0,
      d1Eax: lim.xfd ? base.d1Eax : base.d1Eax & ~CPUID_D1_EAX_XFD,
      amx: (lim.xcr0 & 0x60000n) === 0x60000n ? base.amx : null,
    };
    if (perBase.size > 256) perBase.clear();
    perBase.set(key, m);
  }
  return m;
}

/**
 * A CPU after RESET as far as extended state goes: XCR0 = 1 (SDM Vol3A 2.6), IA32_XSS = 0, XFD and
 * XFD_ERR = 0 (spec §9 item 11), CR4.OSXSAVE = 0, CPL 0, every component in its initial
 * configuration and MXCSR = 1F80H. The x87 unit is as FNINIT leaves it (FCW = 037FH), which the
 * kernel's fpu__init_cpu() establishes before anything reads it; the power-on FCW of 0040H is not
 * modelled. `osxsave` lets a caller start from a booted CPU.
 */
export function createCpu(name: CpuModelName | string, opts: { osxsave?: boolean } = {}): CpuState {
  const model = cpuModel(name);
  const legacy = new Uint8Array(LEGACY_REGION_BYTES);
  writeU16(legacy, FCW, FCW_DEFAULT);
  writeU32(legacy, MXCSR, MXCSR_DEFAULT);
  writeU32(legacy, MXCSR_MASK, model.mxcsrMask);
  const ext: Array<Uint8Array | null> = [];
  for (const i of bitsOf(model.xcr0Supported | model.xssSupported)) {
    if (i < 2) continue;
    while (ext.length < i) ext.push(null);
    ext[i] = new Uint8Array(model.components.get(i)!.size);
  }
  return {
    model: model.name,
    cpuidLimit: null,
    cr0: { ts: false },
    cr4: { osxsave: opts.osxsave ?? false, pke: false },
    cpl: 0,
    xcr0: 1n,
    xss: 0n,
    xfd: 0n,
    xfdErr: 0n,
    xinuse: 0n,
    xmodified: (1n << 64n) - 1n,
    xrstorInfo: null,
    legacy,
    ext,
    vmx: { mode: 'off', vmcs: null },
    halted: false,
  };
}

/** The component image of component i >= 2, or a typed error if this CPU does not have it. */
export function extImage(cpu: CpuState, i: number): Uint8Array {
  const img = cpu.ext[i];
  if (!img) throw new RangeError(`${cpu.model} has no state component ${i}`);
  return img;
}

/** XCR0 AND IA32_XFD: the components whose use raises #NM (spec §5.2, §8 XFD_EFFECTIVE). */
export function xfdEffective(cpu: CpuState): Mask {
  return cpu.xcr0 & cpu.xfd;
}

export function inNonRoot(cpu: CpuState): boolean {
  return cpu.vmx.mode === 'non-root';
}
