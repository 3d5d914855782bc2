// A VM exit as the debugger describes it: the exit reason with its name, and the operands the
// guest left for the VMM (hardware leaves WRMSR's ECX and EDX:EAX, XSETBV's ECX and EDX:EAX in the
// guest's registers, SDM Vol3 28.1): which MSR and which value, which XCR and which value. Used for
// a VM-exit stop's text and exceptionInfo, and for the "VM exit" scope shown at that stop, where
// the host code has not yet read the reason into its locals.
import { MSR_IA32_XFD, MSR_IA32_XFD_ERR, type VmExitInfo, exitReasonName, formatMask, msrName } from '../model';

/** The exit, once, at the stop that reported it. */
export interface StoppedExit {
  readonly cpu: number;
  readonly thread: number;
  readonly exit: VmExitInfo;
}

const hex = (v: bigint | number) => `0x${(typeof v === 'number' ? v >>> 0 : v).toString(16)}`;

/** A value as its MSR or XCR holds it: feature masks decoded. */
function operand(v: bigint, mask: boolean): string {
  return mask ? formatMask(v) : hex(v);
}

/** "IA32_XFD := 0x40000 [XTILEDATA]", "XCR0 := 0x602e7 [...]", or null for an exit without operands. */
export function exitOperands(x: VmExitInfo): string | null {
  if (x.xcr !== undefined && x.value !== undefined) return `XCR${x.xcr} := ${operand(x.value, x.xcr === 0)}`;
  if (x.msr !== undefined) {
    const name = msrName(x.msr);
    const mask = x.msr === MSR_IA32_XFD || x.msr === MSR_IA32_XFD_ERR;
    return x.value !== undefined ? `${name} := ${operand(x.value, mask)}` : `${name} (MSR ${hex(x.msr)})`;
  }
  return null;
}

/** The one-line summary: "MSR_WRITE (32): IA32_XFD := 0x40000 [XTILEDATA]". */
export function exitSummary(x: VmExitInfo): string {
  const ops = exitOperands(x);
  return `${exitReasonName(x.reason)} (${x.reason >>> 0})${ops ? `: ${ops}` : ''}`;
}

/** The fields, in the order the SDM lists the exit-information fields, then the guest's operands. */
export function exitFields(s: StoppedExit): Array<{ name: string; value: string }> {
  const x = s.exit;
  const out = [
    { name: 'exit reason', value: `${x.reason >>> 0} (${exitReasonName(x.reason)})` },
    { name: 'exit qualification', value: hex(x.qualification) },
    { name: 'exit interruption info', value: hex(x.intrInfo) },
  ];
  if (x.intrInfo) out.push({ name: 'exit interruption error code', value: hex(x.intrErrorCode) });
  if (x.msr !== undefined) out.push({ name: 'MSR (ECX)', value: `${hex(x.msr)} (${msrName(x.msr)})` });
  if (x.xcr !== undefined) out.push({ name: 'XCR (ECX)', value: String(x.xcr) });
  if (x.value !== undefined) {
    const mask = x.xcr === 0 || x.msr === MSR_IA32_XFD || x.msr === MSR_IA32_XFD_ERR;
    out.push({ name: 'value (EDX:EAX)', value: operand(x.value, mask) });
  }
  if (x.cause) out.push({ name: 'cause', value: x.cause });
  out.push({ name: 'cpu', value: String(s.cpu) });
  return out;
}
