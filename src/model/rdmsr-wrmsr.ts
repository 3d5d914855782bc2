// RDMSR and WRMSR of the XSAVE-related MSRs, with the order of checks hardware uses: privilege
// faults first, then (in a guest) the MSR-bitmap intercept, which wins over every other fault,
// even for a value WRMSR would refuse or an MSR that does not exist (SDM Vol3 25.1.1, 25.1.3;
// spec §7.4). Then #GP(0) for an unimplemented MSR or an illegal value.
import { type MsrIndex, type U64 } from './bits';
import { type CpuState, inNonRoot } from './cpu-state';
import { type Outcome, OK, gp, ok } from './fault';
import { checkMsrIndex, checkU64, msrName, msrStore, msrValue, msrWriteProblem } from './msr';
import { EXIT_REASON, msrIntercepted } from './vmcs';
import { raise, vmExit } from './vmx';

export function rdmsr(cpu: CpuState, index: MsrIndex): Outcome<U64> {
  checkMsrIndex(index);
  if (cpu.cpl !== 0) return raise(cpu, gp('RDMSR', `of ${msrName(index)} at CPL ${cpu.cpl}`));
  const vmcs = cpu.vmx.vmcs;
  if (inNonRoot(cpu) && vmcs && msrIntercepted(vmcs, index, false)) {
    return vmExit(cpu, { reason: EXIT_REASON.MSR_READ, msr: index, cause: `RDMSR ${msrName(index)}` });
  }
  const v = msrValue(cpu, index);
  if (v === undefined) return raise(cpu, gp('RDMSR', `of ${msrName(index)}, which ${cpu.model} does not implement`));
  return ok(v);
}

export function wrmsr(cpu: CpuState, index: MsrIndex, value: U64): Outcome {
  checkMsrIndex(index);
  checkU64('value', value);
  if (cpu.cpl !== 0) return raise(cpu, gp('WRMSR', `of ${msrName(index)} at CPL ${cpu.cpl}`));
  const vmcs = cpu.vmx.vmcs;
  if (inNonRoot(cpu) && vmcs && msrIntercepted(vmcs, index, true)) {
    return vmExit(cpu, {
      reason: EXIT_REASON.MSR_WRITE, msr: index, value,
      cause: `WRMSR ${msrName(index)} := 0x${value.toString(16)}`,
    });
  }
  const problem = msrWriteProblem(cpu, index, value);
  if (problem) return raise(cpu, gp('WRMSR', problem));
  msrStore(cpu, index, value);
  return OK;
}
