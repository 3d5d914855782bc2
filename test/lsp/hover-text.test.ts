// Hovers in the scenario editor: exact constant values with their MSR or decoded mask, and builtin
// signatures with the documentation of docs/language.md's builtins table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hoverText } from '../../src/lsp/hover-text';
import { BUILTIN_DOCS } from '../../src/lsp/builtin-docs';
import { BUILTINS } from '../../src/sim/builtins';

test('a constant shows its exact value; an MSR constant names the MSR; a mask is decoded', () => {
  assert.equal(hoverText('MSR_IA32_XFD_ERR'), '`MSR_IA32_XFD_ERR` = `0x1c5` (453)\n\nMSR IA32_XFD_ERR');
  assert.equal(hoverText('XFEATURE_MASK_XTILE'), '`XFEATURE_MASK_XTILE` = `0x60000` (393216)\n\nmask 0x60000 [XTILECFG XTILEDATA]');
  assert.equal(hoverText('nothing_here'), null);
});

test('a builtin shows its signature, where it runs and what it does, from docs/language.md', () => {
  assert.equal(hoverText('xsaves'), '`xsaves(buffer [, mask])`\n\nRuns in: host kernel, guest, host user\n\nthe XSAVE family on a buffer address (mask defaults to all ones); XSAVES/XRSTORS raise #GP at CPL 3');
  assert.match(hoverText('wrmsr')!, /^`wrmsr\(msr, value\)`\n\nRuns in: host kernel, guest\n\nRDMSR\/WRMSR/);
  assert.match(hoverText('xgetbv')!, /Runs in: host kernel, guest \(xgetbv: host user too\)/);
  assert.match(hoverText('ldtilecfg')!, /Runs in: host kernel, guest, host user\n/);
  // Every builtin the engine has is documented in the table.
  assert.deepEqual(Object.keys(BUILTINS).filter((b) => !BUILTIN_DOCS.has(b)), []);
});
