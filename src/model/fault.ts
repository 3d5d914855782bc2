// What an instruction hands back: its value, an architectural fault, a VM exit that has already
// happened, or a shutdown. A fault is a value, never a thrown exception: the simulator turns it
// into delivery through the IDT of the running context. When the running context is a guest and
// the VMCS intercepts the vector, the model has already turned it into a VM exit (vmx.ts), because
// that choice is the hardware's (SDM Vol3 25.2, exception bitmap).
import type { Mask, U64 } from './bits';
import type { VmExitInfo } from './vmcs';

export type FaultMnemonic = '#UD' | '#NM' | '#GP' | '#PF';

export const VECTOR: Readonly<Record<FaultMnemonic, number>> = { '#UD': 6, '#NM': 7, '#GP': 13, '#PF': 14 };

export interface XfdFaultInfo {
  /** IA32_XFD when the instruction faulted. */
  readonly xfd: Mask;
  /** The components the instruction needed that XFD disabled: what IA32_XFD_ERR was loaded with. */
  readonly xfdErr: Mask;
}

export interface Fault {
  readonly mnemonic: FaultMnemonic;
  readonly vector: number;
  /** #GP(0) and #PF carry an error code; #UD and #NM do not. */
  readonly errorCode?: number;
  /** A sentence a person can read, starting with the mnemonic: "#GP: XSETBV clears XCR0.x87 (bit 0)". */
  readonly reason: string;
  /** The instruction that faulted, as the SDM names it. */
  readonly instruction: string;
  /** #NM only: whether CR0.TS or XFD caused it (they differ in whether IA32_XFD_ERR is written, spec §5.3). */
  readonly nmCause?: 'cr0.ts' | 'xfd';
  /** #NM caused by XFD: the XFD and the value IA32_XFD_ERR was loaded with. */
  readonly xfd?: XfdFaultInfo;
  /** #PF: the linear address that could not be accessed (CR2). */
  readonly address?: U64;
}

export type Outcome<T = void> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'fault'; readonly fault: Fault }
  | { readonly kind: 'vmexit'; readonly exit: VmExitInfo }
  | { readonly kind: 'shutdown'; readonly reason: string };

export function ok<T>(value: T): Outcome<T> {
  return { kind: 'ok', value };
}
export const OK: Outcome<void> = Object.freeze({ kind: 'ok', value: undefined });

export function ud(instruction: string, why: string): Fault {
  return { mnemonic: '#UD', vector: 6, instruction, reason: `#UD: ${instruction} ${why}` };
}

export function gp(instruction: string, why: string): Fault {
  return { mnemonic: '#GP', vector: 13, errorCode: 0, instruction, reason: `#GP: ${instruction} ${why}` };
}

/** #NM because CR0.TS=1: IA32_XFD_ERR is left alone (SDM Vol1 13.14, spec §5.3). */
export function nmTs(instruction: string): Fault {
  return {
    mnemonic: '#NM', vector: 7, instruction, nmCause: 'cr0.ts',
    reason: `#NM: ${instruction} with CR0.TS=1`,
  };
}

/** #NM because XFD disabled a component the instruction needs; the caller has loaded IA32_XFD_ERR. */
export function nmXfd(instruction: string, xfd: Mask, xfdErr: Mask, names: string): Fault {
  return {
    mnemonic: '#NM', vector: 7, instruction, nmCause: 'xfd', xfd: { xfd, xfdErr },
    reason: `#NM: ${instruction} uses ${names}, disabled by IA32_XFD; IA32_XFD_ERR := 0x${xfdErr.toString(16)}`,
  };
}

export function pf(instruction: string, address: U64, write: boolean, why: string): Fault {
  // Error code: P=0 (not present), W/R = write, U/S left 0 (the model does not track the accessing CPL here).
  return {
    mnemonic: '#PF', vector: 14, errorCode: write ? 2 : 0, instruction, address,
    reason: `#PF: ${instruction} ${why} at 0x${address.toString(16)}`,
  };
}
