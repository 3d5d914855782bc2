// KVM's guest CPUID and the ioctls around it (src/kernel/kvm-cpuid.xsave, kvm.xsave) against Linux
// arch/x86/kvm/cpuid.c and x86.c (spec kernel-kvm.md §4.1, §4.3, §5): KVM_GET_SUPPORTED_CPUID
// filtered by the process's guest permission (kvm_get_filtered_xcr0), KVM_SET_CPUID2 taking the
// leaves (guest_supported_xcr0 and XFD from them, -EPERM without permission, identical after
// KVM_RUN), the guest's CPUID answered from them (kvm_emulate_cpuid, kvm_update_cpuid_runtime), XFD
// and XFD_ERR gated on the guest's CPUID.(0DH,1).EAX[4], KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2) on the
// system/VM fd and not on a vCPU, the legacy KVM_GET_XSAVE refused past 4096 bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { formatDiagnostic } from '../../src/lang/source';
import { nodeFiles } from '../../src/host/files';
import type { Engine } from '../../src/sim/engine';
import { loadScenario } from '../../src/sim/scenario';

const root = join(__dirname, '..', '..', '..');

function run(src: string, policy = 'linux-6.19'): Engine {
  const path = join(root, 'test', 'fixtures', '__inline__.xsave');
  const files = { read: (p: string) => (p === path ? src : nodeFiles.read(p)), resolve: nodeFiles.resolve };
  const r = loadScenario(path, files, { imports: [join(root, 'src', 'kernel', 'policies', `${policy}.xsave`)] });
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
  const e = r.engine!;
  const res = e.run(() => false, 400000);
  assert.notEqual(res.reason, 'budget');
  assert.equal(e.state.halted, 'every thread has finished', String(e.state.halted));
  assert.deepEqual(e.state.failedAssertions.map((f) => `${f.line}: ${f.message}`), []);
  return e;
}

test('cpuid.c __do_cpuid_func 0xd / x86.h kvm_get_filtered_xcr0: without guest permission KVM_GET_SUPPORTED_CPUID hides XTILECFG and XTILEDATA; 07H and 1DH still show AMX', () => {
  const e = run(`host q { thread main {
    c = kvm_get_supported_cpuid();
    assert(kvm_cpuid2_reg(c, 0xd, 0, CPUID_EAX) == 0x2e7, "0DH.0 EAX: x87 SSE YMM AVX-512 PKRU");
    assert(kvm_cpuid2_reg(c, 0xd, 0, CPUID_ECX) == 2696, "0DH.0 ECX: the standard size of those");
    assert(kvm_cpuid2_reg(c, 0xd, 18, CPUID_EAX) == 0, "no sub-leaf 18");
    assert(kvm_cpuid2_reg(c, 7, 0, CPUID_EDX) & (1 << 24), "AMX-TILE: 07H is not filtered by permission");
    assert(kvm_cpuid2_reg(c, 0x1d, 1, CPUID_EBX) == (8 << 16 | 64), "palette 1 is passed through");
    assert(kvm_check_extension(KVM_CAP_XSAVE2) == 4096, "KVM_CAP_XSAVE2: at least sizeof(struct kvm_xsave)");
  } }`);
  assert.equal(e.state.passedAssertions, 6);
});

test('with ARCH_REQ_XCOMP_GUEST_PERM: XTILE in 0DH.0, sub-leaves 17 and 18 with XFD support (ECX[2]), sizes 11008; KVM_CAP_XSAVE2 = 11008; KVM_X86_XCOMP_GUEST_SUPP unfiltered', () => {
  const e = run(`host q { thread main {
    assert(kvm_x86_xcomp_guest_supp() == 0x602e7, "KVM_X86_XCOMP_GUEST_SUPP before any permission");
    assert(arch_prctl(ARCH_REQ_XCOMP_GUEST_PERM, XFEATURE_XTILEDATA) == 0, "permission");
    c = kvm_get_supported_cpuid();
    assert(kvm_cpuid2_reg(c, 0xd, 0, CPUID_EAX) == 0x602e7, "0DH.0 EAX");
    assert(kvm_cpuid2_reg(c, 0xd, 0, CPUID_EBX) == 11008, "0DH.0 EBX = xstate_required_size(permitted, false)");
    assert(kvm_cpuid2_reg(c, 0xd, 0, CPUID_ECX) == 11008, "0DH.0 ECX = EBX");
    assert(kvm_cpuid2_reg(c, 0xd, 1, CPUID_EAX) == 0x1f, "0DH.1 EAX: XSAVEOPT XSAVEC XGETBV1 XSAVES XFD");
    assert(kvm_cpuid2_reg(c, 0xd, 18, CPUID_EAX) == 8192, "TILEDATA size");
    assert(kvm_cpuid2_reg(c, 0xd, 18, CPUID_EBX) == 2816, "TILEDATA offset");
    assert(kvm_cpuid2_reg(c, 0xd, 18, CPUID_ECX) == 6, "TILEDATA: 64-byte aligned, XFD-capable");
    assert(kvm_check_extension(KVM_CAP_XSAVE2) == 11008, "KVM_CAP_XSAVE2 on the system/VM fd");
    v = kvm_create_vcpu();
    assert(kvm_vcpu_check_extension(v, KVM_CAP_XSAVE2) == -EINVAL, "not a vCPU ioctl");
  } }`);
  assert.equal(e.state.passedAssertions, 11);
});

test('x86.c KVM_GET_XSAVE: -EINVAL once the guest state (uabi_size) exceeds sizeof(struct kvm_xsave); KVM_GET_XSAVE2 copies it', () => {
  const e = run(`host q { thread main {
    assert(arch_prctl(ARCH_REQ_XCOMP_GUEST_PERM, XFEATURE_XTILEDATA) == 0, "permission");
    small = kvm_create_vcpu();
    assert(kvm_set_cpuid(small, kvm_cpuid_xcr0(XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM)) == 0, "no AMX");
    buf = user_buffer_alloc(11008);
    assert(kvm_get_xsave(small, buf) == 0, "4096 bytes suffice without AMX");
    big = kvm_create_vcpu();
    assert(kvm_set_cpuid(big, kvm_cpuid_xcr0(XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM | XFEATURE_MASK_XTILE)) == 0, "AMX");
    assert(big->arch->guest_fpu->uabi_size == 11008, "KVM_SET_CPUID2 grew the guest fpstate");
    assert(kvm_get_xsave(big, buf) == -EINVAL, "legacy KVM_GET_XSAVE refused");
    assert(kvm_get_xsave2(big, buf) == 0, "KVM_GET_XSAVE2");
  } }`);
  assert.equal(e.state.passedAssertions, 7);
});

test('cpuid.c kvm_vcpu_after_set_cpuid: guest_supported_xcr0 and XFD come from the leaves; KVM_SET_CPUID2 after KVM_RUN must be identical (kvm_cpuid_check_equal)', () => {
  const e = run(`guest { fn main() { hlt(); } }
  host q { thread main {
    assert(arch_prctl(ARCH_REQ_XCOMP_GUEST_PERM, XFEATURE_XTILEDATA) == 0, "permission");
    v = kvm_create_vcpu();
    c = kvm_cpuid_xcr0(XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM);
    assert(kvm_set_cpuid(v, c) == 0, "KVM_SET_CPUID2");
    assert(v->arch->guest_supported_xcr0 == 7, "guest_supported_xcr0");
    assert(v->arch->guest_cpuid_xfd == 0, "no XFD without AMX in the VMM's leaves");
    w = kvm_create_vcpu();
    c2 = kvm_get_supported_cpuid();
    kvm_cpuid2_set_reg(c2, 0xd, 0, CPUID_EAX, 7);
    assert(kvm_set_cpuid(w, c2) == 0, "XFD enumerated without AMX");
    assert(w->arch->guest_cpuid_xfd == 1, "XFD from (0DH,1).EAX[4]");
    assert(w->arch->guest_supported_xcr0 == 7, "and XCR0 from (0DH,0)");
    assert(kvm_run(v) == KVM_EXIT_HLT, "the vCPU ran");
    assert(kvm_set_cpuid(v, c) == 0, "the same CPUID again");
    assert(kvm_set_cpuid(v, kvm_cpuid_xcr0(XFEATURE_MASK_FPSSE)) == -EINVAL, "a different CPUID after KVM_RUN");
  } }`);
  assert.equal(e.state.passedAssertions, 10);
});

test('cpuid.c kvm_emulate_cpuid: the guest sees the CPUID it was given, with OSXSAVE and the XCR0-dependent size at the time of asking', () => {
  const e = run(`guest {
    fn main() {
      assert(cpuid(0xd, 0, CPUID_EAX) == 0x60007, "0DH.0 EAX: the VMM's XCR0 bits");
      assert(cpuid(0xd, 0, CPUID_EBX) == 576, "0DH.0 EBX for XCR0 = x87");
      xsetbv(0, XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM | XFEATURE_MASK_XTILE);
      assert(cpuid(0xd, 0, CPUID_EBX) == 11008, "0DH.0 EBX recomputed after XSETBV");
      assert(cpuid(1, 0, CPUID_ECX) == ((1 << 26) | (1 << 27)), "leaf 1 ECX: XSAVE, OSXSAVE from CR4");
      assert(cpuid(0x1d, 1, CPUID_ECX) == 16, "max_rows");
      assert(cpuid(0x40, 0, CPUID_EAX) == cpuid(0x1e, 0, CPUID_EAX), "past the highest basic leaf: the highest basic leaf");
      hlt();
    }
  }
  host q { thread main {
    assert(arch_prctl(ARCH_REQ_XCOMP_GUEST_PERM, XFEATURE_XTILEDATA) == 0, "permission");
    v = kvm_create_vcpu();
    assert(kvm_set_cpuid(v, kvm_cpuid_xcr0(XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM | XFEATURE_MASK_XTILE)) == 0, "KVM_SET_CPUID2");
    assert(kvm_run(v) == KVM_EXIT_HLT, "the guest asked and halted");
  } }`);
  assert.equal(e.state.passedAssertions, 9);
  assert.deepEqual(e.state.violations.map((v) => v.name), []);
});

test('x86.c kvm_set_msr_common: IA32_XFD and IA32_XFD_ERR #GP for a guest whose CPUID lacks XFD, even when its XCR0 allows AMX', () => {
  const e = run(`guest {
    fn exc_general_protection(code) { fixup_exception(); }
    fn main() {
      xsetbv(0, XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM | XFEATURE_MASK_XTILE);
      wrmsr(MSR_IA32_XFD, XFEATURE_MASK_XTILEDATA);
      assert(rdmsr(MSR_IA32_XFD) == 0, "the write was refused, the read faults (0 after the fixup)");
      hlt();
    }
  }
  host q { thread main {
    assert(arch_prctl(ARCH_REQ_XCOMP_GUEST_PERM, XFEATURE_XTILEDATA) == 0, "permission");
    v = kvm_create_vcpu();
    c = kvm_cpuid_xcr0(XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM | XFEATURE_MASK_XTILE);
    kvm_cpuid2_set_reg(c, 0xd, 1, CPUID_EAX, kvm_cpuid2_reg(c, 0xd, 1, CPUID_EAX) & ~(1 << 4));
    assert(kvm_set_cpuid(v, c) == 0, "AMX without XFD in CPUID");
    assert(v->arch->guest_cpuid_xfd == 0, "guest_cpu_cap_has(XFD) is false");
    assert(kvm_run(v) == KVM_EXIT_HLT, "halted");
    assert(kvm_set_msr(v, MSR_IA32_XFD, XFEATURE_MASK_XTILEDATA) == 0, "host-initiated writes are allowed");
  } }`);
  assert.equal(e.state.passedAssertions, 6);
});
