// The recorded silicon logs replayed on the model: every observable of every operation agrees,
// outside the sequences whose runs disagree with each other (context switches). The logs were
// recorded on an Intel AMX Xeon (spec/silicon.md); no AMX is needed to replay them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseSiliconLog, SiliconLogError } from '../../src/silicon/log';
import { countByKey, replayLog, runsAgree } from '../../src/silicon/replay';
import { ruleOf } from '../../src/silicon/rules';

const dir = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'silicon');
const load = (name: string) => parseSiliconLog(gunzipSync(readFileSync(join(dir, name))).toString('utf8'));

for (const [name, mode, sequences] of [['perm-5005.jsonl.gz', 'perm', 400], ['noperm-6006.jsonl.gz', 'noperm', 300]] as const) {
  test(`${name}: the model agrees with the AMX Xeon on every XGETBV(0/1), fault and saved byte outside context-switch noise`, () => {
    const log = load(name);
    assert.equal(log.header.mode, mode);
    const r = replayLog(log);
    assert.equal(r.sequences, sequences);
    assert.equal(r.runs, sequences * 3);
    const rules = r.differences.filter((d) => !d.noise);
    assert.deepEqual(countByKey(rules), [], rules.slice(0, 5).map((d) => `seq ${d.seq} op ${d.i} ${d.key}: ${d.detail}`).join('\n'));
    // Noise stays rare: a handful of sequences, each with runs that really disagree.
    assert.ok(r.noisySequences <= 10, `${r.noisySequences} noisy sequences`);
    for (const d of r.differences) assert.equal(runsAgree(log.sequences.find((s) => s.seq === d.seq)!), false);
  });
}

test('a damaged log is an error with its line number', () => {
  const good = '{"k":"hdr","mode":"perm","seed":"1","cpuid_0d":[[1,2,3,4],[5,6,7,8]],"tilesrc":"' + '00'.repeat(1024) + '"}';
  assert.throws(() => parseSiliconLog(good + '\n{"k":"op"}'), (e: unknown) => e instanceof SiliconLogError && e.line === 2 && /before any run/.test(e.message));
  assert.throws(() => parseSiliconLog(good + '\nnot json'), (e: unknown) => e instanceof SiliconLogError && e.line === 2 && /not a JSON object/.test(e.message));
  assert.throws(() => parseSiliconLog('{"k":"hdr","mode":"weird"}'), /line 1: unknown mode 'weird'/);
  assert.throws(() => parseSiliconLog(''), /no header/);
});

test('differences are attributed to the rows of silicon.md they come from', () => {
  assert.equal(ruleOf('VMOVZ', 'xinuse', 'SSE YMM ZMM_Hi256'), 'R1');
  assert.equal(ruleOf('TILEZERO', 'xinuse', 'XTILEDATA'), 'R1b');
  assert.equal(ruleOf('XRSTOR', 'xinuse', 'XTILECFG'), 'R2');
  assert.equal(ruleOf('XRSTOR', 'xinuse', 'XTILEDATA'), 'R3');
  assert.equal(ruleOf('XRSTOR', 'fault', '', { model: 0, silicon: 11 }), 'R4');
  assert.equal(ruleOf('XRSTOR', 'fault', '', { model: 11, silicon: 4 }), 'R5');
  assert.equal(ruleOf('LDMXCSR', 'xinuse', 'SSE'), 'R6');
  assert.equal(ruleOf('XSAVEOPT', 'image', 'XTILECFG'), 'R7');
  assert.equal(ruleOf('TILELOADD', 'fault', ''), 'R8');
  assert.equal(ruleOf('XSAVE', 'image', 'FCW'), 'R9');
  assert.equal(ruleOf('XSAVEC', 'image', 'FIP'), 'R11');
  assert.equal(ruleOf('XSAVE', 'image', 'XMM'), 'unclassified');
});
