// The named constants scenario code can use, all exact 64-bit values: state components and masks
// (Linux's spellings and the DESIGN's short ones), MSR indices, VM exit reasons, VMCS fields and
// controls, KVM and arch_prctl numbers (Linux uapi), errno and signal numbers, CR bits, exception
// vectors, tile registers.
import {
  CPU_BASED_ACTIVATE_SECONDARY_CONTROLS, CPU_BASED_HLT_EXITING, CPU_BASED_USE_MSR_BITMAPS, EXIT_REASON,
  EXIT_REASON_FAILED_VMENTRY, INTR_INFO_DELIVER_CODE, INTR_INFO_VALID, INTR_TYPE_EXT_INTR, INTR_TYPE_HARD_EXCEPTION,
  MSR_IA32_XFD, MSR_IA32_XFD_ERR, MSR_IA32_XSS, PIN_BASED_EXT_INTR_MASK, SECONDARY_EXEC_ENABLE_XSAVES,
  VM_EXIT_ACK_INTR_ON_EXIT, XCOMP_BV_COMPACTED, xfeatureName,
} from '../model';

/** VMCS fields the vmcs_read/vmcs_write builtins take (names after Linux's enum vmcs_field). */
export const VMCS_FIELDS = {
  PIN_BASED_VM_EXEC_CONTROL: 0x4000,
  CPU_BASED_VM_EXEC_CONTROL: 0x4002,
  EXCEPTION_BITMAP: 0x4004,
  VM_EXIT_CONTROLS: 0x400c,
  VM_ENTRY_CONTROLS: 0x4012,
  VM_ENTRY_INTR_INFO_FIELD: 0x4016,
  VM_ENTRY_EXCEPTION_ERROR_CODE: 0x4018,
  SECONDARY_VM_EXEC_CONTROL: 0x401e,
  XSS_EXIT_BITMAP: 0x202c,
  VM_EXIT_REASON: 0x4402,
  VM_EXIT_INTR_INFO: 0x4404,
  VM_EXIT_INTR_ERROR_CODE: 0x4406,
  EXIT_QUALIFICATION: 0x6400,
  GUEST_CR0_TS: 0x10000, // the model's own field ids for the state it switches (not Linux encodings)
  GUEST_CR4_OSXSAVE: 0x10001,
  GUEST_CPL: 0x10002,
  HOST_CR0_TS: 0x10003,
  HOST_CR4_OSXSAVE: 0x10004,
  GUEST_CR4_PKE: 0x10005,
} as const;

function build(): Map<string, bigint> {
  const c = new Map<string, bigint>();
  const put = (name: string, v: number | bigint) => c.set(name, BigInt(v));
  // State components: XFEATURE_<name> = number, XFEATURE_MASK_<name> = 1 << number.
  const kernelNames: Record<number, string[]> = {
    0: ['FP'], 1: ['SSE'], 2: ['YMM'], 3: ['BNDREGS'], 4: ['BNDCSR'], 5: ['OPMASK'], 6: ['ZMM_Hi256'], 7: ['Hi16_ZMM'],
    8: ['PT'], 9: ['PKRU'], 10: ['PASID'], 11: ['CET_USER'], 12: ['CET_KERNEL'], 14: ['UINTR'], 15: ['LBR'],
    17: ['XTILE_CFG', 'XTILECFG'], 18: ['XTILE_DATA', 'XTILEDATA'], 19: ['APX'],
  };
  for (const [i, names] of Object.entries(kernelNames)) {
    for (const n of new Set([...names, xfeatureName(Number(i))])) {
      if (!/^[A-Za-z0-9_]+$/.test(n)) continue;
      put(`XFEATURE_${n}`, Number(i));
      put(`XFEATURE_MASK_${n}`, 1n << BigInt(i));
    }
  }
  put('XFEATURE_MASK_FPSSE', 3);
  put('XFEATURE_MASK_AVX512', 0xe0);
  put('XFEATURE_MASK_XTILE', 0x60000);
  put('XFEATURE_MASK_USER_DYNAMIC', 0x40000);
  // Linux's feature sets (arch/x86/include/asm/fpu/xstate.h).
  const userSupported = 0x3n | 0x4n | 0x18n | 0xe0n | 0x200n | 0x60000n | 0x80000n;
  // PASID and CET user state; CET supervisor state is not managed by the kernel's XSAVES.
  const supervisorSupported = (1n << 10n) | (1n << 11n);
  put('XFEATURE_MAX', 20);
  put('XFEATURE_MASK_USER_SUPPORTED', userSupported);
  put('XFEATURE_MASK_SUPERVISOR_SUPPORTED', supervisorSupported);
  put('XFEATURE_MASK_INDEPENDENT', 1n << 15n);
  put('XFEATURE_MASK_USER_RESTORE', userSupported & ~0x200n);
  put('XFEATURE_MASK_FPSTATE', (userSupported & ~0x200n) | supervisorSupported);
  put('XCOMP_BV_COMPACTED_FORMAT', XCOMP_BV_COMPACTED);
  // MSRs.
  put('MSR_IA32_XFD', MSR_IA32_XFD);
  put('MSR_IA32_XFD_ERR', MSR_IA32_XFD_ERR);
  put('MSR_IA32_XSS', MSR_IA32_XSS);
  // VMX.
  for (const [k, v] of Object.entries(EXIT_REASON)) put(`EXIT_REASON_${k}`, v);
  put('VMX_EXIT_REASONS_FAILED_VMENTRY', EXIT_REASON_FAILED_VMENTRY);
  for (const [k, v] of Object.entries(VMCS_FIELDS)) put(k, v);
  put('VM_ENTRY_MSR_LOAD', 0);
  put('VM_EXIT_MSR_STORE', 1);
  put('VM_EXIT_MSR_LOAD', 2);
  put('PIN_BASED_EXT_INTR_MASK', PIN_BASED_EXT_INTR_MASK);
  put('CPU_BASED_HLT_EXITING', CPU_BASED_HLT_EXITING);
  put('CPU_BASED_USE_MSR_BITMAPS', CPU_BASED_USE_MSR_BITMAPS);
  put('CPU_BASED_ACTIVATE_SECONDARY_CONTROLS', CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
  put('SECONDARY_EXEC_ENABLE_XSAVES', SECONDARY_EXEC_ENABLE_XSAVES);
  put('VM_EXIT_ACK_INTR_ON_EXIT', VM_EXIT_ACK_INTR_ON_EXIT);
  put('INTR_INFO_VALID_MASK', INTR_INFO_VALID);
  put('INTR_INFO_DELIVER_CODE_MASK', INTR_INFO_DELIVER_CODE);
  put('INTR_TYPE_EXT_INTR', INTR_TYPE_EXT_INTR);
  put('INTR_TYPE_HARD_EXCEPTION', INTR_TYPE_HARD_EXCEPTION);
  // Exception vectors (Linux X86_TRAP_*).
  put('X86_TRAP_UD', 6);
  put('X86_TRAP_NM', 7);
  put('X86_TRAP_GP', 13);
  put('X86_TRAP_PF', 14);
  // Control-register bits.
  put('X86_CR0_TS', 1n << 3n);
  put('X86_CR4_OSXSAVE', 1n << 18n);
  put('X86_CR4_PKE', 1n << 22n);
  // KVM exit reasons to userspace (uapi/linux/kvm.h).
  put('KVM_EXIT_UNKNOWN', 0);
  put('KVM_EXIT_IO', 2);
  put('KVM_EXIT_HLT', 5);
  put('KVM_EXIT_SHUTDOWN', 8);
  put('KVM_EXIT_INTR', 10);
  put('KVM_EXIT_INTERNAL_ERROR', 17);
  put('KVM_EXIT_IO_OUT', 1);
  // KVM_CHECK_EXTENSION capabilities, KVM_SET_CPUID2 layout (uapi/linux/kvm.h, asm/kvm.h).
  put('KVM_CAP_XSAVE', 55);
  put('KVM_CAP_XSAVE2', 208);
  put('KVM_CPUID_FLAG_SIGNIFCANT_INDEX', 1);
  put('KVM_MAX_CPUID_ENTRIES', 256);
  put('KVM_CPUID_ENTRY2_SIZE', 40);
  // The selftests' ucall (tools/testing/selftests/kvm/lib/x86/ucall.c): an OUT to UCALL_PIO_PORT.
  put('UCALL_PIO_PORT', 0x1000);
  put('UCALL_NONE', 0);
  put('UCALL_SYNC', 1);
  put('UCALL_ABORT', 2);
  put('UCALL_DONE', 4);
  // arch_prctl codes (uapi/asm/prctl.h).
  put('ARCH_GET_XCOMP_SUPP', 0x1021);
  put('ARCH_GET_XCOMP_PERM', 0x1022);
  put('ARCH_REQ_XCOMP_PERM', 0x1023);
  put('ARCH_GET_XCOMP_GUEST_PERM', 0x1024);
  put('ARCH_REQ_XCOMP_GUEST_PERM', 0x1025);
  // errno (asm-generic/errno-base.h) and signals.
  for (const [k, v] of Object.entries({ EPERM: 1, ESRCH: 3, EINTR: 4, EIO: 5, E2BIG: 7, ECHILD: 10, ENOMEM: 12, EFAULT: 14, EBUSY: 16, ENODEV: 19, EINVAL: 22, ENOSPC: 28, EOPNOTSUPP: 95 })) put(k, v);
  put('SIGILL', 4);
  put('SIGTRAP', 5);
  put('SIGKILL', 9);
  put('SIGSEGV', 11);
  put('SIGCHLD', 17);
  put('SIGSTOP', 19);
  // Signal actions, si_code values, sigaltstack (uapi/asm-generic/signal*.h, siginfo.h, auxvec.h).
  put('SIG_DFL', 0);
  put('SIG_IGN', 1);
  put('SA_SIGINFO', 4);
  put('SA_ONSTACK', 0x08000000);
  put('SA_RESTORER', 0x04000000);
  put('ILL_ILLOPC', 1);
  put('ILL_ILLOPN', 2);
  put('SI_TKILL', (1n << 64n) - 6n);
  put('SS_ONSTACK', 1);
  put('SS_DISABLE', 2);
  put('SS_FLAG_BITS', 1n << 31n);
  put('MINSIGSTKSZ', 2048);
  put('AT_MINSIGSTKSZ', 51);
  // clone() flags, ptrace requests, the NT_X86_XSTATE regset (uapi/linux/sched.h, ptrace.h, elf.h).
  put('CLONE_THREAD', 0x00010000);
  put('PTRACE_TRACEME', 0);
  put('PTRACE_DETACH', 17);
  put('PTRACE_GETREGSET', 0x4204);
  put('PTRACE_SETREGSET', 0x4205);
  put('NT_X86_XSTATE', 0x202);
  // CPUID registers for cpuid(leaf, subleaf, reg); XSAVE header fields for xsave_header_read/write.
  put('CPUID_EAX', 0);
  put('CPUID_EBX', 1);
  put('CPUID_ECX', 2);
  put('CPUID_EDX', 3);
  put('XSAVE_HDR_XSTATE_BV', 0);
  put('XSAVE_HDR_XCOMP_BV', 1);
  // Thread flags and task flags (arch/x86/include/asm/thread_info.h, include/linux/sched.h).
  put('TIF_NEED_FPU_LOAD', 14);
  put('PF_KTHREAD', 0x00200000);
  put('FPU_GUEST_PERM_LOCKED', 1n << 63n);
  // Registers by number.
  for (let t = 0; t < 8; t++) put(`tmm${t}`, t);
  return c;
}

export const CONSTANTS: ReadonlyMap<string, bigint> = build();
