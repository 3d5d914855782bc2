// VMX transitions: VMXON/VMPTRLD, VM entry (guest state and the VM-entry MSR-load list, event
// injection), VM exit (exit information, guest state saved, VM-exit MSR-store then MSR-load lists,
// host state), and the choice every faulting instruction makes in a guest: deliver the exception
// or exit because the exception bitmap says so. SDM Vol3 chapters 25-28; spec §7.
//
// Hardware switches IA32_XFD and IA32_XFD_ERR here only through the MSR lists the VMM wrote, and
// XCR0 never: any other switching is the software's job, done in the scenario language.
import { type MsrIndex, type U64 } from './bits';
import { ModelArgumentError } from './cpu-model';
import type { CpuState } from './cpu-state';
import { type Fault, type Outcome, OK, gp, ok, ud } from './fault';
import { msrName, msrStore, msrValue, msrWriteProblem } from './msr';
import {
  type Vmcs, type VmExitInfo, type VmxContextState, CPU_BASED_HLT_EXITING, EXIT_REASON, EXIT_REASON_FAILED_VMENTRY,
  INTR_INFO_DELIVER_CODE, INTR_INFO_VALID, INTR_TYPE_EXT_INTR, INTR_TYPE_HARD_EXCEPTION, PIN_BASED_EXT_INTR_MASK,
  VM_EXIT_ACK_INTR_ON_EXIT, exitReasonName,
} from './vmcs';

export function vmxon(cpu: CpuState): Outcome {
  if (cpu.cpl !== 0) return { kind: 'fault', fault: gp('VMXON', 'at CPL > 0') };
  cpu.vmx.mode = 'root';
  return OK;
}

/** Makes `vmcs` the current VMCS (VMPTRLD). */
export function vmptrld(cpu: CpuState, vmcs: Vmcs): Outcome {
  if (cpu.vmx.mode !== 'root') return { kind: 'fault', fault: ud('VMPTRLD', 'outside VMX root operation') };
  cpu.vmx.vmcs = vmcs;
  return OK;
}

function currentVmcs(cpu: CpuState): Vmcs {
  const v = cpu.vmx.vmcs;
  if (!v) throw new ModelArgumentError('vmcs', 'no current VMCS (VMPTRLD first)');
  return v;
}

function saveContext(cpu: CpuState): VmxContextState {
  return { cr0Ts: cpu.cr0.ts, cr4Osxsave: cpu.cr4.osxsave, cr4Pke: cpu.cr4.pke, cpl: cpu.cpl };
}

function loadContext(cpu: CpuState, s: VmxContextState): void {
  cpu.cr0.ts = s.cr0Ts;
  cpu.cr4.osxsave = s.cr4Osxsave;
  cpu.cr4.pke = s.cr4Pke;
  cpu.cpl = s.cpl;
}

/** Processes a VM-exit MSR-load list; an entry WRMSR would refuse is a VMX abort (SDM Vol3 28.7). */
function loadExitMsrs(cpu: CpuState, vmcs: Vmcs): string | null {
  for (const [k, e] of vmcs.exitMsrLoad.entries()) {
    const problem = msrWriteProblem(cpu, e.index, e.value);
    if (problem) return `VMX abort: VM-exit MSR-load entry ${k + 1} (${msrName(e.index)}): ${problem}`;
    msrStore(cpu, e.index, e.value);
  }
  return null;
}

export interface ExitEvent {
  reason: number;
  qualification?: U64;
  intrInfo?: number;
  intrErrorCode?: number;
  msr?: MsrIndex;
  value?: U64;
  xcr?: number;
  leaf?: number;
  subleaf?: number;
  cause?: string;
}

/**
 * A VM exit (SDM Vol3 28): record the exit information, save guest state, clear the valid bit of the
 * VM-entry interruption information, store the VM-exit MSR-store list, load host state, then the
 * VM-exit MSR-load list. The processor is in VMX root operation afterwards.
 */
export function vmExit(cpu: CpuState, ev: ExitEvent): Outcome<never> {
  const vmcs = currentVmcs(cpu);
  const exit: VmExitInfo = {
    reason: ev.reason,
    name: exitReasonName(ev.reason),
    qualification: ev.qualification ?? 0n,
    intrInfo: ev.intrInfo ?? 0,
    intrErrorCode: ev.intrErrorCode ?? 0,
    ...(ev.msr !== undefined ? { msr: ev.msr } : {}),
    ...(ev.value !== undefined ? { value: ev.value } : {}),
    ...(ev.xcr !== undefined ? { xcr: ev.xcr } : {}),
    ...(ev.leaf !== undefined ? { leaf: ev.leaf, subleaf: ev.subleaf ?? 0 } : {}),
    ...(ev.cause !== undefined ? { cause: ev.cause } : {}),
  };
  vmcs.exit = exit;
  vmcs.guest = saveContext(cpu);
  vmcs.entryIntrInfo &= ~INTR_INFO_VALID;
  for (const [k, e] of vmcs.exitMsrStore.entries()) {
    const v = msrValue(cpu, e.index);
    if (v === undefined) return shutdown(cpu, `VMX abort: VM-exit MSR-store entry ${k + 1}: ${msrName(e.index)} cannot be read`);
    e.value = v;
  }
  loadContext(cpu, vmcs.host);
  cpu.vmx.mode = 'root';
  cpu.halted = false;
  const abort = loadExitMsrs(cpu, vmcs);
  if (abort) return shutdown(cpu, abort);
  return { kind: 'vmexit', exit };
}

function shutdown(cpu: CpuState, reason: string): Outcome<never> {
  cpu.halted = true;
  return { kind: 'shutdown', reason };
}

export interface VmEntryResult {
  /** The event the VM-entry interruption-information field injected, to deliver through the guest IDT. */
  injected: { vector: number; type: number; errorCode?: number } | null;
}

/**
 * VMLAUNCH/VMRESUME (SDM Vol3 27): load guest state, then the VM-entry MSR-load list. An entry WRMSR
 * would refuse fails the VM entry with exit reason 34 | bit 31 and the entry's 1-based number as
 * the qualification; entries before it stay loaded, and host state and the VM-exit MSR-load list
 * are loaded as for a VM exit (SDM Vol3 27.8; UNCERTAIN-VMENTRY-MSR-FAIL in uncertain.ts).
 */
export function vmEntry(cpu: CpuState): Outcome<VmEntryResult> {
  if (cpu.vmx.mode === 'off') return { kind: 'fault', fault: ud('VMLAUNCH', 'outside VMX operation') };
  if (cpu.vmx.mode === 'non-root') return vmExit(cpu, { reason: EXIT_REASON.INVALID_STATE, cause: 'VMLAUNCH in a guest' });
  if (cpu.cpl !== 0) return { kind: 'fault', fault: gp('VMLAUNCH', 'at CPL > 0') };
  const vmcs = currentVmcs(cpu);
  loadContext(cpu, vmcs.guest);
  cpu.vmx.mode = 'non-root';
  cpu.halted = false;
  for (const [k, e] of vmcs.entryMsrLoad.entries()) {
    const problem = msrWriteProblem(cpu, e.index, e.value);
    if (problem) {
      return vmExit(cpu, {
        reason: EXIT_REASON.MSR_LOAD_FAIL | EXIT_REASON_FAILED_VMENTRY,
        qualification: BigInt(k + 1),
        msr: e.index,
        value: e.value,
        cause: `VM-entry MSR-load entry ${k + 1} (${msrName(e.index)}): ${problem}`,
      });
    }
    msrStore(cpu, e.index, e.value);
  }
  vmcs.launched = true;
  const info = vmcs.entryIntrInfo;
  if (info & INTR_INFO_VALID) {
    const injected = {
      vector: info & 0xff,
      type: (info >> 8) & 7,
      ...(info & INTR_INFO_DELIVER_CODE ? { errorCode: vmcs.entryErrorCode } : {}),
    };
    return ok({ injected });
  }
  return ok({ injected: null });
}

/**
 * The hardware's choice for an exception raised by an instruction: in VMX non-root operation with
 * the vector's bit set in the exception bitmap, a VM exit with reason 0 (EXCEPTION_NMI) and the
 * interruption information (valid, type 3 hardware exception, vector, error-code bit), e.g.
 * 0x80000307 for #NM (SDM Vol3 25.2, Table 24-15; spec §7.3). Otherwise the fault is returned for
 * delivery through the current context's IDT. Side effects the fault already had (IA32_XFD_ERR
 * loaded by an XFD #NM) stay: they happen before the interception check (spec §5.3 [S17]).
 */
export function raise(cpu: CpuState, fault: Fault): Outcome<never> {
  const vmcs = cpu.vmx.vmcs;
  if (cpu.vmx.mode === 'non-root' && vmcs && ((vmcs.exceptionBitmap >>> fault.vector) & 1) === 1) {
    const hasCode = fault.errorCode !== undefined;
    return vmExit(cpu, {
      reason: EXIT_REASON.EXCEPTION_NMI,
      intrInfo: (INTR_INFO_VALID | INTR_TYPE_HARD_EXCEPTION | fault.vector | (hasCode ? INTR_INFO_DELIVER_CODE : 0)) >>> 0,
      intrErrorCode: fault.errorCode ?? 0,
      // The exit qualification of a #PF exit is the faulting address; 0 for the other vectors.
      qualification: fault.mnemonic === '#PF' && fault.address !== undefined ? fault.address : 0n,
      cause: fault.reason,
    });
  }
  return { kind: 'fault', fault };
}

/**
 * An external interrupt arrives. In a guest with external-interrupt exiting it is a VM exit with
 * reason 1; with "acknowledge interrupt on exit" the interruption information is valid with type 0
 * and the vector, otherwise invalid (SDM Vol3 25.2, 28.2.2; spec §7.4). Otherwise the caller
 * delivers it through the host IDT ('deliver'). A halted CPU wakes either way.
 */
export function externalInterrupt(cpu: CpuState, vector: number): Outcome<'deliver'> {
  if (!Number.isInteger(vector) || vector < 32 || vector > 255) {
    throw new ModelArgumentError('vector', `external interrupt vector must be 32..255, got ${vector}`);
  }
  cpu.halted = false;
  const vmcs = cpu.vmx.vmcs;
  if (cpu.vmx.mode === 'non-root' && vmcs && (vmcs.pinBased & PIN_BASED_EXT_INTR_MASK)) {
    const ack = (vmcs.exitControls & VM_EXIT_ACK_INTR_ON_EXIT) !== 0;
    return vmExit(cpu, {
      reason: EXIT_REASON.EXTERNAL_INTERRUPT,
      intrInfo: ack ? (INTR_INFO_VALID | INTR_TYPE_EXT_INTR | vector) >>> 0 : 0,
      cause: `external interrupt, vector ${vector}`,
    });
  }
  return ok('deliver');
}

/**
 * HLT: #GP(0) at CPL > 0, which has priority over the VM exit (SDM Vol3 25.1.1); in a guest with
 * HLT exiting, a VM exit with reason 12; otherwise the CPU halts until an interrupt.
 */
export function hlt(cpu: CpuState): Outcome {
  if (cpu.cpl !== 0) return raise(cpu, gp('HLT', 'at CPL > 0'));
  const vmcs = cpu.vmx.vmcs;
  if (cpu.vmx.mode === 'non-root' && vmcs && (vmcs.primary & CPU_BASED_HLT_EXITING)) {
    return vmExit(cpu, { reason: EXIT_REASON.HLT, cause: 'HLT' });
  }
  cpu.halted = true;
  return OK;
}
