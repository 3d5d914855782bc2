// The explorer finds failure mode (c2) of spec kernel-kvm.md §7 by itself: KVM_SET_XSAVE of an image
// with XTILEDATA while the guest's XFD[18] = 1, which the next KVM_RUN's fpu_swap_kvm_fpstate
// XRSTORS with XFD armed, an #NM in the host (no-kernel-xfd-nm, then the oops). The example
// examples/set-xsave-xfd-armed.xsave has its one VM exit placed by hand; the explorer drops it and
// places its own. linux-5.17 has the bug (the counterexample is the VM exit between the guest's
// TILELOADD and its WRMSR to IA32_XFD: the image read there holds the tiles); linux-6.19's
// fpu_copy_uabi_to_guest_fpstate() drops XFD-disabled components and tglx-2021 restores the guest
// fpstate with XFD = 0: clean. naive never holds the tiles in an image: its exit path arms the host
// task's XFD before KVM saves the guest FPU, so XSAVES drops them (its guest-state violation).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { type ExploreOptions, explore } from '../../src/host/explore-runner';

const root = join(__dirname, '..', '..', '..');
const file = join(root, 'examples', 'set-xsave-xfd-armed.xsave');
const policy = (name: string) => join(root, 'src', 'kernel', 'policies', `${name}.xsave`);
const OPTS: ExploreOptions = { file, invariants: ['no-kernel-xfd-nm'], workers: 0 };

test('explore finds (c2) under linux-5.17 with no event given: the VM exit between TILELOADD and the WRMSR to IA32_XFD, then the host #NM in restore_fpregs_from_fpstate', async () => {
  const r = await explore({ ...OPTS, policy: policy('linux-5.17') });
  assert.equal(r.status, 'violation');
  const c = r.counterexample!;
  assert.equal(c.invariant, 'no-kernel-xfd-nm');
  assert.match(c.where, /fpu\.xsave:153:23$/);
  assert.deepEqual(c.placements.map((p) => [p.kind, p.line]), [['external_interrupt', 'guest:main (set-xsave-xfd-armed.xsave:27)']]);
  assert.match(c.message, /^#NM: XRSTORS uses XTILEDATA, disabled by IA32_XFD/);
});

for (const p of ['linux-6.19', 'tglx-2021', 'naive']) {
  test(`explore finds no host #NM under ${p} within the default bounds`, async () => {
    const r = await explore({ ...OPTS, policy: policy(p) });
    assert.equal(r.status, 'clean');
    assert.equal(r.counterexample, null);
    assert.equal(r.boundsHit.interrupts, true);
  });
}
