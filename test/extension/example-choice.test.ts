// The walkthrough's "Open xfd-err-leak.xsave" opens the user's copy, never the extension's install
// folder when a workspace folder is open (src/extension/example-choice.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseExample } from '../../src/extension/example-choice';

const NAME = 'xfd-err-leak.xsave';
const BUNDLED = '/home/u/.vscode/extensions/xsave-debug/examples/xfd-err-leak.xsave';

test("the workspace's own copy first (the shallowest), not the extension's", () => {
  const c = chooseExample(NAME, [BUNDLED, '/ws/a/b/xfd-err-leak.xsave', '/ws/examples/xfd-err-leak.xsave'], ['/ws'], () => true, BUNDLED);
  assert.deepEqual(c, { action: 'open', path: '/ws/examples/xfd-err-leak.xsave', note: null });
});

test('no copy in the workspace: copied into <folder>/xsave-examples/, or that copy reopened when it exists', () => {
  assert.deepEqual(chooseExample(NAME, [], ['/ws/'], () => false, BUNDLED),
    { action: 'copy', from: BUNDLED, to: '/ws/xsave-examples/xfd-err-leak.xsave' });
  assert.deepEqual(chooseExample(NAME, [], ['/ws'], (p) => p === '/ws/xsave-examples/xfd-err-leak.xsave', BUNDLED),
    { action: 'open', path: '/ws/xsave-examples/xfd-err-leak.xsave', note: null });
});

test("no folder open: the extension's copy, with a note saying so", () => {
  const c = chooseExample(NAME, [], [], () => false, BUNDLED);
  assert.equal(c.action, 'open');
  assert.equal(c.action === 'open' && c.path, BUNDLED);
  assert.match(c.action === 'open' ? c.note ?? '' : '', /extension's own copy/);
});
