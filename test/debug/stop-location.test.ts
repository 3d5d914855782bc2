// A stop on a failed assertion or a broken invariant shows the statement that failed, not the
// statement after it: the step has completed when the machine notices, so the thread already
// stands on the next statement; the top frame is shown where the failure happened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchStopped, stopAfter, withClient } from './support';

test('xfd-err-leak under naive: the invariant stops show kvm.xsave:204:3, fpu.xsave:118:3 and line 15, the assertion line 16', async () => {
  await withClient(async (dc) => {
    await launchStopped(dc, 'naive');
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      const ev = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
      assert.equal(ev.body.reason, 'exception');
      const top = (await dc.stackTraceRequest({ threadId: ev.body.threadId! })).body.stackFrames[0]!;
      const info = await dc.exceptionInfoRequest({ threadId: ev.body.threadId! });
      const where = /(\S+\.xsave):(\d+):(\d+)/.exec(info.body.details!.message ?? '')!;
      assert.equal(`${top.line}:${top.column}`, `${where[2]}:${where[3]}`, `${ev.body.description}: the frame is where the details say`);
      seen.push(`${ev.body.description} ${top.source!.name}:${top.name}:${top.line}:${top.column}`);
    }
    assert.deepEqual(seen, [
      'invariant violated kvm.xsave:vcpu_enter_guest:204:3',
      'invariant violated fpu.xsave:xfd_update_state:118:3',
      'invariant violated xfd-err-leak.xsave:guest:exc_device_not_available:15:5',
      'invariant violated xfd-err-leak.xsave:guest:exc_device_not_available:15:5',
      'assertion failed xfd-err-leak.xsave:guest:exc_device_not_available:16:5',
    ]);
  });
});
