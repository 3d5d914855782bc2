// `xsave-sim --version` prints package.json's version and exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

test('--version prints the package version and exits 0', () => {
  for (const flag of ['--version', '-V']) {
    const r = spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), flag], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.equal(r.stdout, `xsave-sim ${version}\n`);
    assert.equal(r.stderr, '');
  }
});
