// The file gate (README "What a scenario may read and write"): scenarios, imports and policies are
// read only as .xsave files inside the scenario's folder tree, the workspace and the shipped kernel
// folder, links resolved first, and a refusal names the path, never the contents; a counterexample
// is never written through a link already at its path. Through the CLI and the adapter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { counterexamplePath, kernelDir, writeNewFile } from '../../src/host/files';
import { errorOf, fixture, root, withClient } from './support';

const cli = join(root, 'dist', 'cli.js');
const base = mkdtempSync(join(tmpdir(), 'xsave-gate-'));
const ws = join(base, 'ws');
const sub = join(ws, 'sub');
const outside = join(base, 'outside');
mkdirSync(sub, { recursive: true });
mkdirSync(outside, { recursive: true });
writeFileSync(join(outside, 'o.xsave'), 'const SECRET_WORD = 1;\n');
writeFileSync(join(outside, 'secret.txt'), 'hunter2 is the password\n');
symlinkSync('/etc/passwd', join(sub, 'passwd-link.xsave'));
symlinkSync(join(outside, 'o.xsave'), join(sub, 'o-link.xsave'));

function run(args: string[], cwd = sub) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('imports of host files are refused with the path named and nothing of the contents', () => {
  const f = join(sub, 'imports.xsave');
  writeFileSync(f, [
    'import "/etc/passwd";',
    'import "../../../../../../../../etc/passwd";',
    'import "/proc/self/environ";',
    'import "../../outside/o.xsave";',
    'import "passwd-link.xsave";',
    'import "o-link.xsave";',
    'import "../../outside/secret.txt";',
    '',
  ].join('\n'));
  const r = run(['run', f]);
  assert.equal(r.status, 2);
  const outsideMsg = (p: string) => `cannot read '${p}': it is outside the folders a scenario may read (its own folder, the workspace, the shipped kernel folder)`;
  assert.equal(r.stderr, [
    `${f}:1:8: error: import: '/etc/passwd' is not a scenario file (.xsave)`,
    `${f}:2:8: error: import: '/etc/passwd' is not a scenario file (.xsave)`,
    `${f}:3:8: error: import: '/proc/self/environ' is not a scenario file (.xsave)`,
    `${f}:4:8: error: import: ${outsideMsg(join(outside, 'o.xsave'))}`,
    `${f}:5:8: error: import: '${join(sub, 'passwd-link.xsave')}' is a link to a file that is not a scenario file (.xsave)`,
    `${f}:6:8: error: import: ${outsideMsg(join(sub, 'o-link.xsave'))}`,
    `${f}:7:8: error: import: '${join(outside, 'secret.txt')}' is not a scenario file (.xsave)`,
    '',
  ].join('\n'));
  assert.doesNotMatch(r.stderr, /root:|SECRET_WORD|hunter2/);
});

test('a policy that climbs out of the policies folder is an unknown policy; one outside the allowed folders is refused', () => {
  const f = join(sub, 'policy.xsave');
  writeFileSync(f, 'policy "../../x";\n');
  const r = run(['run', f]);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `${f}:1:1: error: unknown policy '../../x' (shipped: linux-5.17, linux-6.19, naive, tglx-2021; or name a .xsave file)\n`);
  const g = join(sub, 'policy-file.xsave');
  writeFileSync(g, 'policy "../../outside/o.xsave";\n');
  const r2 = run(['run', g]);
  assert.equal(r2.status, 2);
  assert.equal(r2.stderr, `${g}:1:1: error: policy cannot read '${join(outside, 'o.xsave')}': it is outside the folders a scenario may read (its own folder, the workspace, the shipped kernel folder)\n`);
});

test('a file that is not a scenario is not read: run /etc/passwd names it and echoes nothing', () => {
  const r = run(['run', '/etc/passwd']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, "/etc/passwd:1:1: error: '/etc/passwd' is not a scenario file (.xsave)\n");
});

test('explore does not write through a link at the counterexample path; a regular file there is replaced', () => {
  const dir = join(base, 'explore');
  mkdirSync(dir);
  const f = join(dir, 'leak.xsave');
  writeFileSync(f, readFileSync(fixture('xfd-err-leak-no-events.xsave'), 'utf8'));
  const victim = join(outside, 'victim.txt');
  writeFileSync(victim, 'keep me\n');
  const out = join(dir, 'leak.counterexample.xsave');
  symlinkSync(victim, out);
  const args = ['explore', f, '--policy', 'naive', '--max-preemptions', '0', '--max-fpu-irqs', '0', '--workers', '0'];
  const r = run(args, dir);
  assert.equal(r.status, 2);
  assert.match(r.stderr, new RegExp(`^${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1:1: error: cannot write '.*leak\\.counterexample\\.xsave': a link is already there \\(remove it, or choose another path\\)\\n$`));
  assert.equal(readFileSync(victim, 'utf8'), 'keep me\n');
  assert.equal(readlinkSync(out), victim);

  const out2 = join(dir, 'second.xsave');
  writeFileSync(out2, 'old\n');
  const r2 = run([...args, '--out', out2], dir);
  assert.equal(r2.status, 1, r2.stderr);
  assert.ok(lstatSync(out2).isFile());
  assert.match(readFileSync(out2, 'utf8'), /external_interrupt at/);

  const r3 = run([...args, '--out', dir], dir);
  assert.equal(r3.status, 2);
  assert.equal(r3.stderr, `${dir}:1:1: error: cannot write '${dir}': a folder is already there (remove it, or choose another path)\n`);
  const r4 = run([...args, '--out', join(base, 'no', 'such', 'dir', 'x.xsave')], dir);
  assert.equal(r4.status, 2);
  assert.equal(r4.stderr, `${join(base, 'no', 'such', 'dir', 'x.xsave')}:1:1: error: cannot write '${join(base, 'no', 'such', 'dir', 'x.xsave')}': its folder does not exist\n`);
});

test('adapter: a launch of a non-scenario file or a refused import is an error response naming the path only', async () => {
  await withClient(async (dc) => {
    await dc.initializeRequest();
    const msg = await errorOf(dc.launchRequest({ program: '/etc/passwd' } as never));
    assert.equal(msg, "launch: '/etc/passwd' is not a scenario file (.xsave)");
  });
  const f = join(sub, 'dap-import.xsave');
  writeFileSync(f, 'import "/etc/passwd";\n');
  await withClient(async (dc) => {
    await dc.initializeRequest();
    const msg = await errorOf(dc.launchRequest({ program: f } as never));
    assert.equal(msg, `the scenario has errors:\n${f}:1:8: error: import: '/etc/passwd' is not a scenario file (.xsave)`);
  });
});

test('adapter: explore: true does not write through a link at the counterexample path', async () => {
  const dir = join(base, 'dap-explore');
  mkdirSync(dir);
  const f = join(dir, 'leak.xsave');
  writeFileSync(f, readFileSync(fixture('xfd-err-leak-no-events.xsave'), 'utf8'));
  const victim = join(outside, 'dap-victim.txt');
  writeFileSync(victim, 'keep me\n');
  const out = join(dir, 'leak.counterexample.xsave');
  symlinkSync(victim, out);
  await withClient(async (dc) => {
    await dc.initializeRequest();
    const msg = await errorOf(dc.launchRequest({ program: f, policy: 'naive', explore: true, exploreBounds: { preemptions: 0, fpuIrqs: 0 } } as never));
    assert.equal(msg, `explore found a violation but cannot write '${out}': a link is already there (remove it, or choose another path)`);
  });
  assert.equal(readFileSync(victim, 'utf8'), 'keep me\n');
  assert.ok(existsSync(out) && lstatSync(out).isSymbolicLink());
});

test('nothing is written into the shipped kernel folder: a counterexample of a file there goes to the temp folder', () => {
  const inKernel = join(kernelDir(), 'policies', 'naive.xsave');
  assert.equal(counterexamplePath(inKernel), join(tmpdir(), 'xsave-debug', 'naive.counterexample.xsave'));
  const target = join(kernelDir(), 'policies', 'x.counterexample.xsave');
  assert.throws(() => writeNewFile(target, 'x'), { name: 'WriteRefused', message: `cannot write '${target}': it is in the shipped kernel folder` });
  assert.equal(existsSync(target), false);
  assert.equal(counterexamplePath(join(ws, 'a.xsave')), join(ws, 'a.counterexample.xsave'));
});

test('a FIFO named like a scenario is refused, not waited on', () => {
  const fifo = join(sub, 'pipe.xsave');
  const made = spawnSync('mkfifo', [fifo]);
  if (made.status !== 0) return; // no mkfifo here: nothing to check
  const f = join(sub, 'imports-fifo.xsave');
  writeFileSync(f, 'import "pipe.xsave";\n');
  const r = run(['run', f]);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `${f}:1:8: error: import: cannot read '${fifo}': not a file\n`);
});
