// Kernel objects with typed fields (task, thread_struct, fpu, fpstate, fpu_state_perm, vcpu,
// kvm_vcpu_arch, fpu_guest), named and shaped as Linux names them (arch/x86/include/asm/fpu/types.h;
// spec/kernel-kvm.md §1). An object is plain data: a type name and a record of field values. A
// field is an integer or a reference to another object (or 0 for NULL). Reading or writing a field
// the type does not have is a scenario error that names the type and the field.
import type { Value } from './value';

export type FieldKind = 'u64' | { ref: string };

export const SCHEMAS: Readonly<Record<string, Readonly<Record<string, FieldKind>>>> = {
  /**
   * Besides identity and FPU: the signal state (sighand: the action table's address, one pending
   * signal with its si_code and si_addr, the frame of a running handler), the sigaltstack, the user
   * stack, ptrace (traced, stopped, seen by the tracer's wait), and exit (exit_state, exit_code as
   * wait() encodes it), parent for wait(), and the data page a C program keeps its globals in.
   */
  task: {
    pid: 'u64', tgid: 'u64', flags: 'u64', thread_info: { ref: 'thread_info' }, thread: { ref: 'thread_struct' },
    group_leader: { ref: 'task' }, parent: { ref: 'task' },
    data_page: 'u64', sighand: 'u64', sig_pending: 'u64', si_code: 'u64', si_addr: 'u64', sig_sp: 'u64', user_sp: 'u64',
    sas_ss_sp: 'u64', sas_ss_size: 'u64', sas_ss_flags: 'u64',
    ptrace: 'u64', ptrace_stopped: 'u64', ptrace_reported: 'u64', exit_state: 'u64', exit_code: 'u64',
  },
  /** TIF_* flags (TIF_NEED_FPU_LOAD). */
  thread_info: { flags: 'u64' },
  thread_struct: { fpu: { ref: 'fpu' } },
  fpu: {
    last_cpu: 'u64', fpstate: { ref: 'fpstate' }, __task_fpstate: { ref: 'fpstate' },
    perm: { ref: 'fpu_state_perm' }, guest_perm: { ref: 'fpu_state_perm' },
  },
  fpstate: {
    size: 'u64', user_size: 'u64', xfeatures: 'u64', user_xfeatures: 'u64', xfd: 'u64',
    is_valloc: 'u64', is_guest: 'u64', is_confidential: 'u64', in_use: 'u64',
    /** Linear address of the XSAVE buffer (`&fpstate->regs`); its bytes live in machine memory. */
    regs: 'u64',
  },
  fpu_state_perm: { __state_perm: 'u64', __state_size: 'u64', __user_state_size: 'u64' },
  /** run: the kvm_run page user space maps (what KVM_RUN reports). */
  vcpu: { vcpu_id: 'u64', cpu: 'u64', arch: { ref: 'kvm_vcpu_arch' }, vmcs: 'u64', run: { ref: 'kvm_run' } },
  /**
   * struct kvm_run, the page shared with user space (uapi/linux/kvm.h): exit_reason, and for
   * KVM_EXIT_IO the direction, size, port and the data; immediate_exit set by user space.
   */
  kvm_run: { exit_reason: 'u64', immediate_exit: 'u64', io_direction: 'u64', io_size: 'u64', io_port: 'u64', io_data: 'u64' },
  kvm_vcpu_arch: {
    xcr0: 'u64', ia32_xss: 'u64', guest_supported_xcr0: 'u64', guest_fpu: { ref: 'fpu_guest' },
    xfd_no_write_intercept: 'u64', exit_reason: 'u64', exit_qualification: 'u64', exit_intr_info: 'u64',
    /** Guest CPUID.(EAX=0DH,ECX=1).EAX[4]: XFD exposed to the guest. */
    guest_cpuid_xfd: 'u64',
    /** An exception queued for injection at the next VM entry: vector + 1, or 0 for none. */
    pending_exception: 'u64',
    /** The KVM_EXIT_* reason KVM_RUN returns to user space. */
    exit_to_user: 'u64',
    /** QEMU asked the vCPU thread to return to user space (a signal). */
    exit_request: 'u64',
    /** The guest CPUID (KVM_SET_CPUID2): a kernel copy of the struct kvm_cpuid_entry2 array, and its length. */
    cpuid_entries: 'u64', cpuid_nent: 'u64',
    /** KVM must recompute the CPUID bits that follow guest state (XCR0 changed) before answering. */
    cpuid_dynamic_bits_dirty: 'u64',
    /** A port write KVM left to user space: completed (the OUT skipped) at the next KVM_RUN. */
    pio_pending: 'u64',
    /** The vCPU has entered the guest once (kvm_vcpu_has_run: KVM_SET_CPUID2 must then be identical). */
    has_run: 'u64',
  },
  /** xfd: the guest's XFD where a design keeps it apart from fpstate->xfd (tglx-2021; Paolo's 2025 patch). */
  fpu_guest: { xfeatures: 'u64', perm: 'u64', xfd: 'u64', xfd_err: 'u64', uabi_size: 'u64', fpstate: { ref: 'fpstate' } },
  /** One per CPU (`this_cpu`): the kernel's per-CPU variables of the FPU code. */
  /** softirq_count: local_bh_disable() depth, which fpregs_lock() raises (include/linux/preempt.h). */
  percpu: { cpu: 'u64', xfd_state: 'u64', fpu_fpregs_owner_ctx: { ref: 'fpu' }, in_kernel_fpu: 'u64', softirq_count: 'u64' },
  /** fpu_kernel_cfg and fpu_user_cfg (arch/x86/include/asm/fpu/types.h, struct fpu_state_config). */
  fpu_state_config: {
    max_size: 'u64', default_size: 'u64', max_features: 'u64', default_features: 'u64',
    legacy_features: 'u64', independent_features: 'u64',
  },
};

export interface KObject {
  readonly id: number;
  readonly type: string;
  readonly fields: Record<string, Value>;
}

/** Every field name of every type: what the compiler accepts after -> and `.`. */
export function allFieldNames(): Set<string> {
  const s = new Set<string>();
  for (const schema of Object.values(SCHEMAS)) for (const f of Object.keys(schema)) s.add(f);
  return s;
}

export function newObject(heap: KObject[], type: string): KObject {
  const schema = SCHEMAS[type];
  if (!schema) throw new Error(`unknown kernel object type '${type}'`);
  // Built whole by Object.fromEntries, not field by field: past about sixteen fields (a task has 22)
  // an object grown by keyed stores is turned into a dictionary by V8, and copying one of those
  // (cloneState, at every checkpoint and explorer branch) took about 6 µs against 0.06 µs.
  const fields: Record<string, Value> = Object.fromEntries(Object.keys(schema).map((f) => [f, 0n]));
  const o = { id: heap.length, type, fields };
  heap.push(o);
  return o;
}

/** Why `value` cannot be stored in `type.field`, or null. */
export function fieldProblem(type: string, field: string, value: Value | null): string | null {
  const schema = Object.hasOwn(SCHEMAS, type) ? SCHEMAS[type]! : {};
  const kind = Object.hasOwn(schema, field) ? schema[field] : undefined;
  if (kind === undefined) {
    return `${type} has no field '${field}' (fields: ${Object.keys(schema).join(', ')})`;
  }
  if (value === null) return null;
  if (kind === 'u64' && typeof value !== 'bigint') return `${type}.${field} holds an integer, not an object reference`;
  if (kind !== 'u64' && typeof value === 'bigint' && value !== 0n) return `${type}.${field} holds a reference to a ${kind.ref} (or 0), not an integer`;
  return null;
}
