// The save instructions: XSAVE, XSAVEOPT, XSAVEC and XSAVES (REX.W forms), transcribing the SDM
// Vol2 pseudocode (spec §3.3) with XFD (spec §5.5): a component with XCR0[i] = IA32_XFD[i] = 1 is
// saved as if XINUSE[i] = 0 — XSTATE_BV[i] = 0, XSAVE writes its initial configuration, the others
// leave its bytes alone — and never raises #NM. XCOMP_BV = RFBM | bit 63 regardless of XFD.
import { type Mask, type U64, XCOMP_BV_COMPACTED, bitsOf, hasBit, readU32, readU64, writeU64, U64_MAX } from './bits';
import {
  type CpuModel, CPUID_D1_EAX_XSAVEC, CPUID_D1_EAX_XSAVEOPT, CPUID_D1_EAX_XSAVES, hasFeature,
} from './cpu-model';
import { type CpuState, inNonRoot, modelOf, xfdEffective } from './cpu-state';
import { storeComponent, storeInitComponent, storeMxcsr } from './component-copy';
import { type Fault, type Outcome, OK, gp, nmTs, pf, ud } from './fault';
import { MXCSR, MXCSR_DEFAULT } from './legacy-region';
import { XCOMP_BV_OFFSET, XSTATE_BV_OFFSET, compacted } from './layout';
import { type Memory, locate } from './memory';
import { checkU64 } from './msr';
import { noteWrite } from './component-state';
import { XFEATURE_MASK_XTILE_CFG, XFEATURE_PT } from './xfeatures';
import { CPU_BASED_ACTIVATE_SECONDARY_CONTROLS, EXIT_REASON, SECONDARY_EXEC_ENABLE_XSAVES } from './vmcs';
import { UNCERTAIN } from './uncertain';
import { raise, vmExit } from './vmx';

export type SaveInstruction = 'XSAVE' | 'XSAVEOPT' | 'XSAVEC' | 'XSAVES';
export type RestoreInstruction = 'XRSTOR' | 'XRSTORS';

const FEATURE: Record<SaveInstruction | RestoreInstruction, { bit: number; name: string } | null> = {
  XSAVE: null,
  XRSTOR: null,
  XSAVEOPT: { bit: CPUID_D1_EAX_XSAVEOPT, name: 'CPUID.(EAX=0DH,ECX=1).EAX[0] (XSAVEOPT)' },
  XSAVEC: { bit: CPUID_D1_EAX_XSAVEC, name: 'CPUID.(EAX=0DH,ECX=1).EAX[1] (XSAVEC)' },
  XSAVES: { bit: CPUID_D1_EAX_XSAVES, name: 'CPUID.(EAX=0DH,ECX=1).EAX[3] (XSAVES)' },
  XRSTORS: { bit: CPUID_D1_EAX_XSAVES, name: 'CPUID.(EAX=0DH,ECX=1).EAX[3] (XSAVES)' },
};

/**
 * The checks every XSAVE-family instruction makes before touching memory, in the order of
 * spec §3.3 / §4.2: #UD (no XSAVE, no instruction feature, CR4.OSXSAVE=0, XSAVES/XRSTORS in a guest
 * without "enable XSAVES/XRSTORS"), #NM for CR0.TS, #GP(0) for XSAVES/XRSTORS at CPL > 0, the
 * XSS-exiting VM exit, then #GP(0) for an area not 64-byte aligned. Returns null to go on.
 */
export function xsaveFamilyChecks(
  cpu: CpuState, insn: SaveInstruction | RestoreInstruction, addr: U64, edxeax: Mask,
): Outcome<never> | null {
  const model = modelOf(cpu);
  const supervisorInsn = insn === 'XSAVES' || insn === 'XRSTORS';
  if (!model.xsave) return raise(cpu, ud(insn, 'on a CPU without XSAVE (CPUID.01H:ECX.XSAVE=0)'));
  const f = FEATURE[insn];
  if (f && !hasFeature(model, f.bit)) return raise(cpu, ud(insn, `on a CPU without ${f.name}`));
  if (!cpu.cr4.osxsave) return raise(cpu, ud(insn, 'with CR4.OSXSAVE=0'));
  const vmcs = cpu.vmx.vmcs;
  if (supervisorInsn && inNonRoot(cpu) && vmcs &&
      (!(vmcs.primary & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) || !(vmcs.secondary & SECONDARY_EXEC_ENABLE_XSAVES))) {
    return raise(cpu, ud(insn, 'in a guest whose VMCS does not enable XSAVES/XRSTORS'));
  }
  if (cpu.cr0.ts) return raise(cpu, nmTs(insn));
  if (supervisorInsn && cpu.cpl !== 0) return raise(cpu, gp(insn, `at CPL ${cpu.cpl}`));
  if (supervisorInsn && inNonRoot(cpu) && vmcs && (edxeax & cpu.xss & vmcs.xssExitingBitmap) !== 0n) {
    return vmExit(cpu, {
      reason: insn === 'XSAVES' ? EXIT_REASON.XSAVES : EXIT_REASON.XRSTORS,
      value: edxeax,
      cause: `${insn} of components in the XSS-exiting bitmap`,
    });
  }
  if (addr % 64n !== 0n) return raise(cpu, gp(insn, `of an area at 0x${addr.toString(16)}, which is not 64-byte aligned`));
  return null;
}

export function unmapped(insn: string, addr: U64, len: number, write: boolean): Fault {
  return pf(insn, addr, write, `${write ? 'writes' : 'reads'} bytes 0..${len} of the area, not all mapped,`);
}

function matchesXrstorInfo(cpu: CpuState, laxa: U64, compmask: Mask): boolean {
  const info = cpu.xrstorInfo;
  return info !== null && info.cpl === cpu.cpl && info.vmxnr === inNonRoot(cpu) && info.laxa === laxa &&
    info.compmask === compmask;
}

/**
 * Components the modified optimization never skips while in use: XSAVEOPT right after an XRSTOR of
 * the same area, with nothing written since, still stores TILECFG (silicon.md R7). XSAVES is
 * assumed to share the tracker (UNCERTAIN.xsavesSharesXsaveoptTracking).
 */
const ALWAYS_MODIFIED: Mask = XFEATURE_MASK_XTILE_CFG;

function mxcsrIsDefault(cpu: CpuState): boolean {
  return readU32(cpu.legacy, MXCSR) === MXCSR_DEFAULT;
}

/**
 * Byte offsets of the components (>= 2) in an area, by component number: the standard CPUID.(0DH,i).EBX
 * offsets, or the compacted positions for XCOMP_BV[62:0] = `format`.
 */
export function slotTable(model: CpuModel, compactedForm: boolean, format: Mask): ArrayLike<number> {
  return compactedForm ? compacted(model, format).offsets : standardOffsets(model);
}

/** Keyed by the component table (see layout.ts's compacted cache). */
const standardCache = new WeakMap<CpuModel['components'], Int32Array>();
function standardOffsets(model: CpuModel): Int32Array {
  let t = standardCache.get(model.components);
  if (!t) {
    t = new Int32Array(64).fill(-1);
    for (const c of model.components.values()) t[c.index] = c.offset;
    standardCache.set(model.components, t);
  }
  return t;
}

/**
 * XSAVE / XSAVEOPT / XSAVEC / XSAVES with EDX:EAX = `edxeax` to the area at linear address `addr`.
 * Writes the area and nothing else: no register, XINUSE, XMODIFIED or XRSTOR_INFO changes.
 */
export function xsaveInsn(cpu: CpuState, mem: Memory, insn: SaveInstruction, addr: U64, edxeax: Mask): Outcome {
  checkU64('addr', addr);
  checkU64('edxeax', edxeax);
  const early = xsaveFamilyChecks(cpu, insn, addr, edxeax);
  if (early) return early;
  const model = modelOf(cpu);
  const compactedForm = insn === 'XSAVEC' || insn === 'XSAVES';
  const rfbm = (insn === 'XSAVES' ? cpu.xcr0 | cpu.xss : cpu.xcr0) & edxeax;
  const xfdOff = xfdEffective(cpu);
  // "operates as if XINUSE[i] = 0" for XFD-disabled components (spec §5.5).
  const inuse = cpu.xinuse & ~xfdOff;

  // Which components' data are stored, per the pseudocode of each instruction.
  let toBeSaved: Mask;
  let storeMxcsrField: boolean;
  const mxcsrForcesSse = hasBit(rfbm, 1) && !mxcsrIsDefault(cpu);
  switch (insn) {
    case 'XSAVE':
      toBeSaved = rfbm; // no init optimization: every requested component, XFD-disabled ones as init values
      storeMxcsrField = hasBit(rfbm, 1) || hasBit(rfbm, 2);
      break;
    case 'XSAVEOPT':
      toBeSaved = rfbm & inuse;
      if (matchesXrstorInfo(cpu, addr, 0n)) toBeSaved &= cpu.xmodified | ALWAYS_MODIFIED;
      // "The init and modified optimizations do not apply to MXCSR."
      storeMxcsrField = hasBit(rfbm, 1) || hasBit(rfbm, 2);
      break;
    case 'XSAVEC':
      toBeSaved = (rfbm & inuse) | (mxcsrForcesSse ? 2n : 0n);
      storeMxcsrField = hasBit(toBeSaved, 1);
      break;
    case 'XSAVES':
      toBeSaved = rfbm & inuse;
      if (matchesXrstorInfo(cpu, addr, rfbm | XCOMP_BV_COMPACTED)) {
        toBeSaved &= cpu.xmodified | (UNCERTAIN.xsavesSharesXsaveoptTracking ? ALWAYS_MODIFIED : 0n);
      }
      if (mxcsrForcesSse) toBeSaved |= 2n;
      storeMxcsrField = hasBit(toBeSaved, 1);
      break;
  }

  const slots = slotTable(model, compactedForm, rfbm);
  // Every byte this execution touches, checked before anything is written.
  let end = compactedForm ? XCOMP_BV_OFFSET + 8 : XSTATE_BV_OFFSET + 8;
  if (storeMxcsrField) end = Math.max(end, MXCSR + 8);
  for (const i of bitsOf(toBeSaved)) {
    if (i === 0) end = Math.max(end, 160);
    else if (i === 1) end = Math.max(end, 416);
    else end = Math.max(end, slots[i]! + model.components.get(i)!.size);
  }
  const at = locate(mem, addr, end);
  if (!at) return raise(cpu, unmapped(insn, addr, end, true));
  const area = at.region.bytes;
  const base = at.offset;

  if (storeMxcsrField) storeMxcsr(cpu, area, base);
  for (const i of bitsOf(toBeSaved)) {
    const off = i < 2 ? 0 : slots[i]!;
    if (insn === 'XSAVE' && hasBit(xfdOff, i)) storeInitComponent(model.components.get(i)!.size, area, base, off);
    else storeComponent(cpu, i, area, base, off);
  }

  // "XSAVES ... clears IA32_RTIT_CTL.TraceEn after saving the PT state" (SDM Vol1 13.5.6, spec §3.3):
  // PT state starts with IA32_RTIT_CTL, whose bit 0 is TraceEn; saving it stops tracing.
  if (insn === 'XSAVES' && hasBit(toBeSaved, XFEATURE_PT)) {
    const pt = cpu.ext[XFEATURE_PT]!;
    if (pt[0]! & 1) {
      pt[0] = pt[0]! & ~1;
      noteWrite(cpu, XFEATURE_PT);
    }
  }

  switch (insn) {
    case 'XSAVE':
    case 'XSAVEOPT': {
      // XSTATE_BV := (OLD_BV AND NOT RFBM) OR (XINUSE AND RFBM); XCOMP_BV and the rest untouched.
      const old = readU64(area, base + XSTATE_BV_OFFSET);
      writeU64(area, base + XSTATE_BV_OFFSET, ((old & ~rfbm) | (inuse & rfbm)) & U64_MAX);
      break;
    }
    case 'XSAVEC':
      writeU64(area, base + XSTATE_BV_OFFSET, toBeSaved);
      writeU64(area, base + XCOMP_BV_OFFSET, rfbm | XCOMP_BV_COMPACTED);
      break;
    case 'XSAVES':
      // XSTATE_BV = RFBM AND XINUSE even for components the modified optimization skipped (spec §3.3).
      writeU64(area, base + XSTATE_BV_OFFSET, (rfbm & inuse) | (mxcsrForcesSse ? 2n : 0n));
      writeU64(area, base + XCOMP_BV_OFFSET, rfbm | XCOMP_BV_COMPACTED);
      break;
  }
  return OK;
}

export const xsave = (cpu: CpuState, mem: Memory, addr: U64, edxeax: Mask) => xsaveInsn(cpu, mem, 'XSAVE', addr, edxeax);
export const xsaveopt = (cpu: CpuState, mem: Memory, addr: U64, edxeax: Mask) => xsaveInsn(cpu, mem, 'XSAVEOPT', addr, edxeax);
export const xsavec = (cpu: CpuState, mem: Memory, addr: U64, edxeax: Mask) => xsaveInsn(cpu, mem, 'XSAVEC', addr, edxeax);
export const xsaves = (cpu: CpuState, mem: Memory, addr: U64, edxeax: Mask) => xsaveInsn(cpu, mem, 'XSAVES', addr, edxeax);
