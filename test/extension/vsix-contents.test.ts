// What the VSIX carries, as `vsce ls` lists it from .vscodeignore: what the extension runs, and
// nothing it does not (the standalone adapter and the CLI come with the npm package).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');

test('the VSIX holds the extension bundle, the explorer worker, the language server, the kernel and the examples, not dist/adapter.js, dist/cli.js or sources', () => {
  // A counterexample Explore wrote beside an example stays out of the next VSIX.
  const stray = join(root, 'examples', 'vsix-test.counterexample.xsave');
  writeFileSync(stray, '// written by Explore\n');
  let files: string[];
  try {
    files = execFileSync(join(root, 'node_modules', '.bin', 'vsce'), ['ls', '--no-dependencies'], { cwd: root, encoding: 'utf8' })
      .split('\n').map((l) => l.trim()).filter(Boolean);
  } finally {
    rmSync(stray, { force: true });
  }
  for (const f of ['dist/extension.js', 'dist/explore-worker.js', 'dist/server.js', 'src/kernel/fpu.xsave', 'src/kernel/kvm.xsave',
    'src/kernel/policies/linux-5.17.xsave', 'examples/xfd-err-leak.xsave', 'syntaxes/xsave.tmLanguage.json', 'package.json']) {
    assert.ok(files.includes(f), `${f} is missing from the VSIX`);
  }
  for (const f of ['dist/adapter.js', 'dist/cli.js']) assert.ok(!files.includes(f), `${f} is in the VSIX`);
  assert.deepEqual(files.filter((f) => /\.ts$|\.map$|^test\/|^bench\/|^node_modules\/|counterexample/.test(f)), []);
});
