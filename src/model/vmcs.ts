// The VMCS fields that touch extended state: execution controls (exception bitmap, MSR bitmap,
// HLT and external-interrupt exiting, XSAVES enabling and the XSS-exiting bitmap), the MSR-load
// and MSR-store lists, the guest- and host-state fields the model switches (CR0.TS, CR4.OSXSAVE,
// CR4.PKE, CPL), event injection, and the VM-exit information fields. Plain data (DESIGN §4).
// Note what is absent: there is no field for XCR0, IA32_XFD or IA32_XFD_ERR; hardware switches
// XFD/XFD_ERR only through the MSR lists, and XCR0 never (spec §7.2).
import type { Mask, MsrIndex, U64 } from './bits';

/** Basic exit reasons, bits 15:0 of the exit-reason field (SDM Vol3 App. C; Linux uapi/asm/vmx.h [S20]). */
export const EXIT_REASON = {
  EXCEPTION_NMI: 0,
  EXTERNAL_INTERRUPT: 1,
  TRIPLE_FAULT: 2,
  CPUID: 10,
  HLT: 12,
  IO_INSTRUCTION: 30,
  MSR_READ: 31,
  MSR_WRITE: 32,
  INVALID_STATE: 33,
  MSR_LOAD_FAIL: 34,
  XSETBV: 55,
  XSAVES: 63,
  XRSTORS: 64,
} as const;
export type ExitReasonName = keyof typeof EXIT_REASON;

/** Bit 31 of the exit-reason field: the VM entry failed (VMX_EXIT_REASONS_FAILED_VMENTRY). */
export const EXIT_REASON_FAILED_VMENTRY = 0x80000000;

export function exitReasonName(reason: number): string {
  const basic = reason & 0xffff;
  const name = (Object.keys(EXIT_REASON) as ExitReasonName[]).find((k) => EXIT_REASON[k] === basic) ?? `reason ${basic}`;
  return (reason & EXIT_REASON_FAILED_VMENTRY) !== 0 ? `${name} (VM-entry failure)` : name;
}

/** Control bits (SDM Vol3 24.6; Linux asm/vmx.h [S20c]). */
export const PIN_BASED_EXT_INTR_MASK = 0x00000001;
export const CPU_BASED_HLT_EXITING = 0x00000080;
export const CPU_BASED_UNCOND_IO_EXITING = 0x01000000;
export const CPU_BASED_USE_MSR_BITMAPS = 0x10000000;
export const CPU_BASED_ACTIVATE_SECONDARY_CONTROLS = 0x80000000;
export const SECONDARY_EXEC_ENABLE_XSAVES = 0x00100000;
export const VM_EXIT_ACK_INTR_ON_EXIT = 0x00008000;

/** Interruption-information field (SDM Vol3 Table 24-15): vector 7:0, type 10:8, error code 11, valid 31. */
export const INTR_INFO_VALID = 0x80000000;
export const INTR_INFO_DELIVER_CODE = 0x00000800;
export const INTR_TYPE_EXT_INTR = 0 << 8;
export const INTR_TYPE_NMI = 2 << 8;
export const INTR_TYPE_HARD_EXCEPTION = 3 << 8;

export interface MsrEntry {
  index: MsrIndex;
  value: U64;
}

/** The part of guest/host state the model switches on VM entry and VM exit. */
export interface VmxContextState {
  cr0Ts: boolean;
  cr4Osxsave: boolean;
  cr4Pke: boolean;
  cpl: number;
}

export interface VmExitInfo {
  /** The exit-reason field: basic reason in 15:0, bit 31 for a failed VM entry. */
  readonly reason: number;
  readonly name: string;
  readonly qualification: U64;
  /** VM-exit interruption information (0 when invalid). */
  readonly intrInfo: number;
  readonly intrErrorCode: number;
  /** The guest's operands, which hardware leaves in the guest's RCX and RDX:RAX for the VMM to read. */
  readonly msr?: MsrIndex;
  readonly value?: U64;
  readonly xcr?: number;
  /** CPUID: the leaf (guest EAX) and sub-leaf (guest ECX) the VMM answers. */
  readonly leaf?: number;
  readonly subleaf?: number;
  /** For an exit caused by an exception: the fault as the guest would have seen it. */
  readonly cause?: string;
}

export interface Vmcs {
  pinBased: number;
  primary: number;
  secondary: number;
  exitControls: number;
  entryControls: number;
  /** One bit per exception vector: set means the exception causes a VM exit (SDM Vol3 25.2). */
  exceptionBitmap: number;
  /** The 4-KB MSR bitmap: read-low, read-high, write-low, write-high (SDM Vol3 24.6.9). */
  msrBitmap: Uint8Array;
  xssExitingBitmap: Mask;
  entryMsrLoad: MsrEntry[];
  exitMsrStore: MsrEntry[];
  exitMsrLoad: MsrEntry[];
  guest: VmxContextState;
  host: VmxContextState;
  /** VM-entry interruption-information field: an event to inject at the next VM entry. */
  entryIntrInfo: number;
  entryErrorCode: number;
  /** The VM-exit information fields of the last VM exit, null before the first. */
  exit: VmExitInfo | null;
  launched: boolean;
}

export function createVmcs(): Vmcs {
  return {
    pinBased: PIN_BASED_EXT_INTR_MASK,
    // KVM's defaults (vmx.c setup_vmcs_config): HLT exiting, unconditional I/O exiting, MSR bitmaps.
    primary: CPU_BASED_HLT_EXITING | CPU_BASED_UNCOND_IO_EXITING | CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS,
    secondary: SECONDARY_EXEC_ENABLE_XSAVES,
    exitControls: VM_EXIT_ACK_INTR_ON_EXIT,
    entryControls: 0,
    exceptionBitmap: 0,
    // All ones: every MSR access exits until the VMM clears a bit (KVM starts from all ones too).
    msrBitmap: new Uint8Array(4096).fill(0xff),
    xssExitingBitmap: 0n,
    entryMsrLoad: [],
    exitMsrStore: [],
    exitMsrLoad: [],
    guest: { cr0Ts: false, cr4Osxsave: true, cr4Pke: false, cpl: 0 },
    host: { cr0Ts: false, cr4Osxsave: true, cr4Pke: false, cpl: 0 },
    entryIntrInfo: 0,
    entryErrorCode: 0,
    exit: null,
    launched: false,
  };
}

/**
 * Where the bitmap bit for an MSR access lives (SDM Vol3 24.6.9): read-low at byte 0, read-high at
 * 1024, write-low at 2048, write-high at 3072; bit n of a quarter is byte n>>3, bit n&7. MSRs outside
 * [0, 1FFFH] and [C0000000H, C0001FFFH] have no bit: their accesses always exit.
 */
export function msrBitmapPosition(index: MsrIndex, write: boolean): { byte: number; bit: number } | null {
  let base: number;
  let n: number;
  if (index >= 0 && index <= 0x1fff) { base = 0; n = index; }
  else if (index >= 0xc0000000 && index <= 0xc0001fff) { base = 1024; n = index - 0xc0000000; }
  else return null;
  if (write) base += 2048;
  return { byte: base + (n >> 3), bit: n & 7 };
}

export function msrIntercepted(vmcs: Vmcs, index: MsrIndex, write: boolean): boolean {
  if ((vmcs.primary & CPU_BASED_USE_MSR_BITMAPS) === 0) return true;
  const pos = msrBitmapPosition(index, write);
  if (!pos) return true;
  return ((vmcs.msrBitmap[pos.byte]! >> pos.bit) & 1) === 1;
}

/** Sets or clears the read or write intercept of an MSR (what KVM's vmx_set_intercept_for_msr does). */
export function setMsrIntercept(vmcs: Vmcs, index: MsrIndex, write: boolean, intercept: boolean): void {
  const pos = msrBitmapPosition(index, write);
  if (!pos) throw new RangeError(`MSR 0x${index.toString(16)} has no bit in the MSR bitmap`);
  if (intercept) vmcs.msrBitmap[pos.byte]! |= 1 << pos.bit;
  else vmcs.msrBitmap[pos.byte]! &= ~(1 << pos.bit);
}
