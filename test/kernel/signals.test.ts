// Signals, sigaltstack, fork and ptrace in the kernel model (src/kernel/signal.xsave, fork.xsave,
// ptrace.xsave, fpu.xsave) against Linux: traps.c handle_xfd_event (SIGILL, ILL_ILLOPC) and
// do_error_trap for #UD (ILL_ILLOPN); fpu/signal.c save_sw_bytes / save_xstate_epilog (the frame's
// xstate size and features), fpu__restore_sig; signal.c init_sigframe_size (AT_MINSIGSTKSZ),
// sigaltstack_size_valid; kernel/signal.c do_sigaltstack; xstate.c validate_sigaltstack;
// fpu/core.c fpu_clone / fpu_inherit_perms; fpu/regset.c xstateregs_get/set. spec kernel-kvm.md
// §2.1, §7(f)7; silicon.md "Linux on the same machine".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { formatDiagnostic } from '../../src/lang/source';
import { nodeFiles } from '../../src/host/files';
import type { Engine } from '../../src/sim/engine';
import { loadScenario } from '../../src/sim/scenario';

const root = join(__dirname, '..', '..', '..');

function run(src: string): Engine {
  const path = join(root, 'test', 'fixtures', '__inline__.xsave');
  const files = { read: (p: string) => (p === path ? src : nodeFiles.read(p)), resolve: nodeFiles.resolve };
  const r = loadScenario(path, files, { imports: [join(root, 'src', 'kernel', 'policies', 'linux-6.19.xsave')] });
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
  const e = r.engine!;
  assert.notEqual(e.run(() => false, 400000).reason, 'budget');
  assert.equal(e.state.halted, 'every thread has finished', String(e.state.halted));
  assert.deepEqual(e.state.failedAssertions.map((f) => `${f.line}: ${f.message}`), []);
  assert.deepEqual(e.state.violations.map((v) => `${v.name}: ${v.text}`), []);
  return e;
}

test('traps.c handle_xfd_event: first use of tile data without permission is SIGILL with si_code ILL_ILLOPC; the frame holds no tile state (sw_bytes: xstate_size 2816, features 0x202e7; MAGIC1, MAGIC2, FP|SSE in XSTATE_BV)', () => {
  const e = run(`host p {
  fn handler(sig, info, uc) {
    d = process_data();
    fp = load64(uc + 40 + 184);
    store64(d, sig);
    store64(d + 8, load32(info + 8));
    store64(d + 16, load32(fp + 464 + 16));
    store64(d + 24, load64(fp + 464 + 8));
    store64(d + 32, load32(fp + 464));
    store64(d + 40, load32(fp + 2816));
    store64(d + 48, xsave_header_read(fp, XSAVE_HDR_XSTATE_BV));
    store64(d + 56, xgetbv(1));
    store64(uc + 40 + 128, load64(uc + 40 + 128) + 3);
  }
  thread main {
    d = process_data();
    assert(sigaction(SIGILL, handler, SA_SIGINFO) == 0, "sigaction");
    ymm_write(1, 0x1234);
    buf = user_buffer_alloc(11008);
    xsave_header_write(buf, XSAVE_HDR_XSTATE_BV, XFEATURE_MASK_XTILEDATA);
    r = xrstor(buf, XFEATURE_MASK_XTILEDATA);
    assert(r == 0, "the handler skipped the XRSTOR: it returns 0");
    assert(load64(d) == SIGILL, "SIGILL");
    assert(load64(d + 8) == ILL_ILLOPC, "si_code ILL_ILLOPC");
    assert(load64(d + 16) == 2816, "sw_bytes.xstate_size = fpstate->user_size = 2816");
    assert(load64(d + 24) == 0x202e7, "sw_bytes.xfeatures = user_xfeatures: no XTILEDATA");
    assert(load64(d + 32) == 0x46505853, "FP_XSTATE_MAGIC1");
    assert(load64(d + 40) == 0x46505845, "FP_XSTATE_MAGIC2 after the image");
    assert((load64(d + 48) & XFEATURE_MASK_FPSSE) == XFEATURE_MASK_FPSSE, "XSTATE_BV has FP and SSE");
    assert(load64(d + 48) & XFEATURE_MASK_YMM, "the task's YMM state is in the frame");
    assert((load64(d + 56) & XFEATURE_MASK_YMM) == 0, "the handler starts with YMM in its initial state");
    assert(xgetbv(1) & XFEATURE_MASK_YMM, "rt_sigreturn gave the task its YMM state back");
  }
}`);
  assert.equal(e.state.passedAssertions, 12);
});

test('traps.c do_error_trap: a tile #UD (TILEZERO with no tile configuration, silicon R8: before the XFD #NM) is SIGILL with si_code ILL_ILLOPN; with no handler SIGILL kills the task and wait() sees it', () => {
  const e = run(`host p {
  fn handler(sig, info, uc) {
    store64(process_data(), load32(info + 8));
    store64(uc + 40 + 128, load64(uc + 40 + 128) + 1);
  }
  thread main {
    assert(sigaction(SIGILL, handler, SA_SIGINFO) == 0, "sigaction");
    tilezero(tmm0);
    assert(load64(process_data()) == ILL_ILLOPN, "si_code ILL_ILLOPN");
    pid = fork();
    if (pid == 0) {
      assert(sigaction(SIGILL, SIG_DFL, 0) == 0, "back to the default action");
      tilezero(tmm0);
      assert(0, "not reached");
    }
    assert(waitpid(pid) == SIGILL, "wait(): killed by SIGILL");
  }
}`);
  assert.equal(e.state.passedAssertions, 4);
});

test('signal.c init_sigframe_size / get_sigframe_size: AT_MINSIGSTKSZ = 11936 with an 11008-byte XSAVE area; do_sigaltstack: -ENOMEM below MINSIGSTKSZ; xstate.c validate_sigaltstack: -ENOSPC while a stack is too small for the AMX frame; sigaltstack_size_valid: -ENOMEM to shrink it after', () => {
  const e = run(`host p { thread main {
    m = getauxval(AT_MINSIGSTKSZ);
    assert(m == 11936, "732 + 15 + (11008 + 4 + 112) + 63, rounded up to 16");
    st = user_buffer_alloc(2 * m);
    assert(sigaltstack(st, 2047, 0) == -ENOMEM, "below MINSIGSTKSZ");
    assert(sigaltstack(st, m - 8192, 0) == 0, "no AMX permission: no AMX-sized frame needed");
    assert(arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == -ENOSPC, "the sigaltstack cannot hold the AMX frame");
    assert(arch_prctl(ARCH_REQ_XCOMP_GUEST_PERM, XFEATURE_XTILEDATA) == 0, "guest permission has no signal frames to fit");
    assert(sigaltstack(st, 11936, 0) == 0, "AT_MINSIGSTKSZ is enough");
    assert(arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0, "now it is granted");
    assert(sigaltstack(st, 11820, 0) == -ENOMEM, "fsize = 11936 - (11008 + 116) + 11008 = 11820: it must be larger");
    assert(sigaltstack(st, 11821, 0) == 0, "just larger");
  } }`);
  assert.equal(e.state.passedAssertions, 9);
});

test('fpu_clone / fpu_inherit_perms: fork copies the default features (TILECFG, YMM) and both permissions, not tile data; threads the machine starts begin afresh; ARCH_GET_XCOMP_GUEST_PERM defaults to 0x202e7 apart from the task permission', () => {
  const e = run(`host p {
  thread main {
    assert(arch_prctl(ARCH_GET_XCOMP_GUEST_PERM, 0) == 0x202e7, "default guest permission: XTILECFG, not XTILEDATA");
    assert(arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0, "task permission");
    assert(arch_prctl(ARCH_GET_XCOMP_GUEST_PERM, 0) == 0x202e7, "the guest permission is kept apart");
    ldtilecfg(palette: 1);
    tileloadd(tmm0);
    ymm_write(2, 0x77);
    pid = fork();
    if (pid == 0) {
      assert(arch_prctl(ARCH_GET_XCOMP_PERM, 0) == 0x602e7, "the child inherits the task permission");
      assert(arch_prctl(ARCH_GET_XCOMP_GUEST_PERM, 0) == 0x202e7, "and the guest permission");
      u = xgetbv(1);
      assert(u & XFEATURE_MASK_XTILECFG, "TILECFG is copied");
      assert(u & XFEATURE_MASK_YMM, "YMM is copied");
      assert((u & XFEATURE_MASK_XTILEDATA) == 0, "tile data is not");
      tileloadd(tmm1);
      assert(xgetbv(1) & XFEATURE_MASK_XTILEDATA, "first use in the child: granted by the inherited permission");
      _exit(7);
    }
    assert(waitpid(pid) == 7 << 8, "wait(): exited with 7");
    assert(xgetbv(1) & XFEATURE_MASK_XTILEDATA, "the parent keeps its tiles");
  }
}`);
  assert.equal(e.state.passedAssertions, 11);
});

test('fpu/regset.c: PTRACE_GETREGSET/SETREGSET of NT_X86_XSTATE need a stopped tracee (-ESRCH); a written image reaches the tracee registers when it runs again; an image with features the tracee fpstate lacks is -EINVAL', () => {
  const e = run(`host p { thread main {
    pid = fork();
    if (pid == 0) {
      assert(ptrace(PTRACE_TRACEME, 0, 0, 0) == 0, "PTRACE_TRACEME");
      raise(SIGTRAP);
      assert(xgetbv(1) & XFEATURE_MASK_YMM, "the tracer's YMM value is in the registers");
      _exit(0);
    }
    iov = user_buffer_alloc(16);
    buf = user_buffer_alloc(11008);
    store64(iov, buf);
    store64(iov + 8, 11008);
    status = waitpid(pid);
    assert((status & 0xff) == 0x7f && (status >> 8) == SIGTRAP, "stopped by SIGTRAP");
    assert(ptrace(PTRACE_GETREGSET, pid, NT_X86_XSTATE, iov) == 0, "GETREGSET");
    assert((xsave_header_read(buf, XSAVE_HDR_XSTATE_BV) & XFEATURE_MASK_XTILEDATA) == 0, "no tile data");
    xsave_header_write(buf, XSAVE_HDR_XSTATE_BV, XFEATURE_MASK_XTILEDATA);
    assert(ptrace(PTRACE_SETREGSET, pid, NT_X86_XSTATE, iov) == -EINVAL, "the tracee has no room for TILEDATA");
    xsave_header_write(buf, XSAVE_HDR_XSTATE_BV, XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM);
    memset(buf + 576, 0x5a, 256);
    assert(ptrace(PTRACE_SETREGSET, pid, NT_X86_XSTATE, iov) == 0, "SETREGSET");
    assert(ptrace(PTRACE_DETACH, pid, 0, 0) == 0, "DETACH");
    assert(ptrace(PTRACE_GETREGSET, pid, NT_X86_XSTATE, iov) == -ESRCH, "not traced any more");
    assert(waitpid(pid) == 0, "exited 0");
  } }`);
  assert.equal(e.state.passedAssertions, 10);
});
