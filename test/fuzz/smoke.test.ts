// A short run of the hostile-input fuzzer (scripts/fuzz.mjs, `npm run fuzz` for a long one): the
// seeded DAP fuzzer and scenario mutator for a few seconds find no crash, hang, stack trace, raw
// exception text, internal error or host file contents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');

test('fuzz smoke run: seed 1, 5 seconds, no bad outcome', () => {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'fuzz.mjs'), '--seconds', '5', '--seed', '1', '--jobs', '2'], { encoding: 'utf8', cwd: root });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^bad outcomes: 0$/m);
  assert.match(r.stdout, /^dap: \d+ outcomes$/m);
  assert.match(r.stdout, /^scenario: \d+ outcomes$/m);
});
