// OUT: a write to an I/O port. The model has no devices, so outside a guest the write completes and
// goes nowhere; what matters is the VM exit it causes in a guest, which is how a guest talks to its
// VMM (KVM's selftests pass their ucalls this way: an OUT to a port KVM leaves to user space, which
// KVM_RUN returns as KVM_EXIT_IO). SDM Vol2 OUT; Vol3 26.1.1 (the privilege #GP before the VM exit),
// 26.1.3 (unconditional I/O exiting), 28.2.1 Table 28-5 (the exit qualification).
import type { U64 } from './bits';
import { ModelArgumentError } from './cpu-model';
import { type CpuState, inNonRoot } from './cpu-state';
import { type Outcome, OK, gp } from './fault';
import { CPU_BASED_UNCOND_IO_EXITING, EXIT_REASON } from './vmcs';
import { raise, vmExit } from './vmx';

/** The access sizes OUT has, in bytes. */
export type IoSize = 1 | 2 | 4;

/**
 * The exit qualification of an I/O instruction (SDM Vol3 Table 28-5): size of access - 1 in bits
 * 2:0, direction in bit 3 (0 = OUT), string (4) and REP (5) clear, operand encoding in bit 6
 * (0 = port in DX), the port in bits 31:16.
 */
export function ioExitQualification(port: number, size: IoSize, direction: 'out' | 'in'): U64 {
  return BigInt(((port & 0xffff) << 16) >>> 0) | (direction === 'in' ? 8n : 0n) | BigInt(size - 1);
}

/**
 * OUT DX, EAX/AX/AL. #GP(0) when CPL > IOPL (the model's IOPL is 0 and its TSS has no I/O
 * permission bitmap), which comes before any VM exit; in a guest with unconditional I/O exiting, a
 * VM exit with reason 30, the value left in the guest's RAX for the VMM.
 */
export function outInsn(cpu: CpuState, port: number, size: IoSize, value: U64): Outcome {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new ModelArgumentError('port', `not a 16-bit I/O port: ${port}`);
  if (size !== 1 && size !== 2 && size !== 4) throw new ModelArgumentError('size', `OUT writes 1, 2 or 4 bytes, not ${String(size)}`);
  const v = value & ((1n << BigInt(8 * size)) - 1n);
  if (cpu.cpl !== 0) return raise(cpu, gp('OUT', `at CPL ${cpu.cpl} > IOPL 0`));
  const vmcs = cpu.vmx.vmcs;
  if (inNonRoot(cpu) && vmcs && (vmcs.primary & CPU_BASED_UNCOND_IO_EXITING)) {
    return vmExit(cpu, {
      reason: EXIT_REASON.IO_INSTRUCTION, qualification: ioExitQualification(port, size, 'out'), value: v,
      cause: `OUT port 0x${port.toString(16)} := 0x${v.toString(16)}`,
    });
  }
  return OK;
}
