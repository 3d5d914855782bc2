// The TextMate grammar (syntaxes/xsave.tmLanguage.json) tokenized as VS Code tokenizes it, with
// vscode-textmate and the Oniguruma regex engine: lines of the seed example get the scopes a theme
// colours (instructions, MSR and mask constants, declarations, event placements, comments).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as oniguruma from 'vscode-oniguruma';
import * as textmate from 'vscode-textmate';

const root = join(__dirname, '..', '..', '..');

async function grammar(): Promise<textmate.IGrammar> {
  const wasm = readFileSync(join(root, 'node_modules', 'vscode-oniguruma', 'release', 'onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({ createOnigScanner: (p) => new oniguruma.OnigScanner(p), createOnigString: (s) => new oniguruma.OnigString(s) }),
    loadGrammar: async (scope) => (scope === 'source.xsave'
      ? textmate.parseRawGrammar(readFileSync(join(root, 'syntaxes', 'xsave.tmLanguage.json'), 'utf8'), 'xsave.tmLanguage.json')
      : null),
  });
  return (await registry.loadGrammar('source.xsave'))!;
}

/** token text -> innermost scope, for each line (a line's state carries into the next). */
function tokenize(g: textmate.IGrammar, lines: string[]): Array<Array<[string, string]>> {
  let state = textmate.INITIAL;
  return lines.map((line) => {
    const r = g.tokenizeLine(line, state);
    state = r.ruleStack;
    return r.tokens.map((t) => [line.slice(t.startIndex, t.endIndex).trim(), t.scopes[t.scopes.length - 1]!] as [string, string]).filter(([text]) => text !== '');
  });
}

test('example lines get the scopes of instructions, constants, declarations, strings, numbers and comments', async () => {
  const g = await grammar();
  const [cpu, fn, wr, letLine] = tokenize(g, [
    'cpu "sapphire-rapids";',
    '  fn exc_device_not_available() {           // the guest\'s #NM handler (vector 7)',
    '    wrmsr(MSR_IA32_XFD, XFEATURE_MASK_XTILEDATA);',
    '    let x = 0x40000 | KVM_EXIT_HLT;',
  ]);
  assert.deepEqual(cpu!.slice(0, 2), [['cpu', 'storage.type.xsave'], ['"', 'string.quoted.double.xsave']]);
  assert.deepEqual(fn!.slice(0, 2), [['fn', 'storage.type.xsave'], ['exc_device_not_available', 'entity.name.function.xsave']]);
  assert.deepEqual(fn![fn!.length - 1], ["// the guest's #NM handler (vector 7)", 'comment.line.double-slash.xsave']);
  assert.deepEqual(wr!.filter(([t]) => /\w/.test(t)), [
    ['wrmsr', 'support.function.instruction.xsave'], ['MSR_IA32_XFD', 'support.constant.xsave'], ['XFEATURE_MASK_XTILEDATA', 'support.constant.xsave'],
  ]);
  assert.deepEqual(letLine, [['let', 'storage.type.xsave'], ['x', 'source.xsave'], ['=', 'keyword.operator.xsave'],
    ['0x40000', 'constant.numeric.hex.xsave'], ['|', 'keyword.operator.xsave'], ['KVM_EXIT_HLT', 'support.constant.xsave'], [';', 'source.xsave']]);
});

test('inside an events block, event kinds and placement words are keywords; outside, `run` is a plain name', async () => {
  const g = await grammar();
  const t = tokenize(g, [
    'events {',
    '  external_interrupt at guest exc_device_not_available;   // VM exit before the handler',
    '  run other.main after previous;',
    '}',
    'fn run(x) { return x; }',
  ]);
  assert.deepEqual(t[1]!.slice(0, 3), [['external_interrupt', 'keyword.other.event.xsave'], ['at', 'keyword.other.placement.xsave'], ['guest', 'keyword.other.placement.xsave']]);
  assert.deepEqual(t[2]!.filter(([, s]) => s.startsWith('keyword.other')).map(([x]) => x), ['run', 'after', 'previous']);
  assert.deepEqual(t[4]!.slice(0, 2), [['fn', 'storage.type.xsave'], ['run', 'entity.name.function.xsave']]);
});

test('every example file tokenizes without an unterminated block swallowing the rest', async () => {
  const g = await grammar();
  for (const f of ['xfd-err-leak.xsave', 'guest-amx-enable.xsave', 'migrate-in-nm-handler.xsave']) {
    const lines = readFileSync(join(root, 'examples', f), 'utf8').split('\n');
    const toks = tokenize(g, lines);
    const last = toks.filter((l) => l.length).pop()!;
    assert.ok(!last.some(([, s]) => s.startsWith('string') || s.startsWith('comment.block')), `${f}: ${JSON.stringify(last)}`);
  }
});
