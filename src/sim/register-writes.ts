// What one instruction changed of XCR0 and the XSS/XFD/XFD_ERR MSRs: traced, reported as a
// happening (the debugger's MSR and XCR0 write stops), and recorded as provenance (provenance.ts),
// with which IA32_XFD_ERR bits are the guest's (the host-sees-guest-xfd-err invariant).
import { MSR_IA32_XFD, MSR_IA32_XFD_ERR, MSR_IA32_XSS, formatMask, msrName } from '../model';
import type { ThreadState } from './machine';
import { type RegistersBefore, noteInstruction } from './provenance';
import { type StepContext, trace, writeBy } from './step-context';
import { showValue } from './value';

/**
 * Trace and report the changes of XCR0 and the XFD/XSS MSRs made by one instruction of `th`, and
 * record where they and the components it `written` were made. `hwNm`: the instruction raised an
 * XFD #NM (which writes IA32_XFD_ERR).
 */
export function noteRegisterChanges(x: StepContext, th: ThreadState, before: RegistersBefore, written: bigint, guest: boolean, hwNm: boolean): void {
  const cpu = x.cpu;
  const s = x.state;
  const prov = s.provenance.cpus[x.c]!;
  const changed = cpu.xcr0 !== before.xcr0 || cpu.xss !== before.xss || cpu.xfd !== before.xfd || cpu.xfdErr !== before.xfdErr;
  if (!changed && written === 0n) return;
  const at = writeBy(x, th);
  noteInstruction(prov, cpu, before, at, written);
  if (!changed) return;
  if (cpu.xfdErr !== before.xfdErr) {
    // Provenance of IA32_XFD_ERR: the guest's when the guest changed it, or when the host wrote a
    // non-zero value (KVM handing the guest its value back); the host's after a host XFD #NM.
    if (hwNm && !guest) s.xfdErrGuestBits[x.c] = 0n;
    else if (guest || cpu.xfdErr !== 0n) {
      if (s.xfdErrGuestBits[x.c] !== cpu.xfdErr) prov.guestXfdErr = at;
      s.xfdErrGuestBits[x.c] = cpu.xfdErr;
    } else s.xfdErrGuestBits[x.c] = 0n;
  }
  const who = guest ? 'guest' : 'host';
  if (cpu.xcr0 !== before.xcr0) {
    trace(x, 'xcr0', `cpu${x.c} ${who} XCR0 ${formatMask(before.xcr0)} -> ${formatMask(cpu.xcr0)}`);
    x.out.push({ kind: 'xcr0-write', cpu: x.c, thread: th.id, guest, old: before.xcr0, value: cpu.xcr0 });
  }
  const msrs: Array<[number, bigint, bigint]> = [
    [MSR_IA32_XSS, before.xss, cpu.xss], [MSR_IA32_XFD, before.xfd, cpu.xfd], [MSR_IA32_XFD_ERR, before.xfdErr, cpu.xfdErr],
  ];
  for (const [msr, old, now] of msrs) {
    if (old === now) continue;
    const name = msrName(msr).replace(/^IA32_/, '');
    trace(x, 'msr', `cpu${x.c} ${who} ${name} ${showValue(old)} -> ${showValue(now)}`);
    x.out.push({ kind: 'msr-write', cpu: x.c, thread: th.id, guest, msr, name: msrName(msr), old, value: now });
  }
}
