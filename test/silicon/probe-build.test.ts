// The silicon probe (silicon/probe.c, silicon/README.md): it compiles warning-free, runs on this
// CPU without AMX, and writes the JSON-lines format the replayer reads (hdr first; run records;
// every op with every field; runs of one sequence carry the same ops). The AMX modes need a CPU
// with amx_tile and are skipped with the reason elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Bundled into out/test/silicon/, so the repository root is three levels up.
const root = join(__dirname, '..', '..', '..');
const source = join(root, 'silicon', 'probe.c');

function hasCommand(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return !r.error && r.status === 0;
}

function cpuFlags(): Set<string> {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    return new Set(line ? line.slice(line.indexOf(':') + 1).trim().split(/\s+/) : []);
  } catch {
    return new Set();
  }
}

const x86Linux = process.platform === 'linux' && process.arch === 'x64';
const compiler = x86Linux && hasCommand('cc', ['--version']);
const flags = cpuFlags();
const skipBuild = !x86Linux ? 'the probe is x86-64 Linux only' : !compiler ? 'no C compiler (cc) on PATH' : false;
const skipNoAmx = skipBuild || (!flags.has('xsave') ? 'this CPU has no XSAVE' : false);
const skipAmx = skipBuild || (!flags.has('amx_tile') ? 'no amx_tile in /proc/cpuinfo: the perm/noperm modes need AMX' : false);

let dir = '';
let probe = '';
function build(): string {
  if (probe) return probe;
  dir = mkdtempSync(join(tmpdir(), 'silicon-probe-'));
  probe = join(dir, 'probe');
  const cc = spawnSync('cc', ['-O1', '-std=gnu11', '-Wall', '-Wextra', '-Werror', '-o', probe, source], { encoding: 'utf8' });
  assert.equal(cc.status, 0, `cc failed:\n${cc.stderr}`);
  return probe;
}

process.on('exit', () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Rec = Record<string, unknown>;

function runProbe(args: string[]): { status: number | null; stderr: string; recs: Rec[] } {
  const out = join(dir, `log-${args.join('_').replace(/[^\w-]/g, '')}.jsonl`);
  const r = spawnSync(build(), [...args, '--out', out], { encoding: 'utf8' });
  const recs = r.status === 0 ? readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Rec) : [];
  return { status: r.status, stderr: r.stderr, recs };
}

const HEX = /^[0-9a-f]+$/;
const OP_FIELDS = ['k', 'seq', 'run', 'i', 't', 'reg', 'area', 'off', 'len', 'fill', 'rfbm', 'data', 'x0', 'x1', 'sig', 'code'];
const OPS = new Set(['FLD', 'FNINIT', 'MOVDQA', 'VMOVX', 'VMOVY', 'VMOVZ', 'KMOV', 'VZEROUPPER', 'VZEROALL', 'LDMXCSR',
  'LDTILECFG', 'TILELOADD', 'TILEZERO', 'TILERELEASE', 'XSAVE', 'XSAVEC', 'XSAVEOPT', 'XRSTOR', 'POKE', 'FILL']);
const SAVES = new Set(['XSAVE', 'XSAVEC', 'XSAVEOPT']);

interface Run { rec: Rec; ops: Rec[] }

/** Checks the documented format and returns the runs grouped by sequence. */
function checkFormat(recs: Rec[], runs: number): Map<number, Run[]> {
  const hdr = recs[0];
  assert.equal(hdr.k, 'hdr', 'the first line is the hdr record');
  for (const f of ['mode', 'prctl', 'seed', 'cpuid_0d', 'tilesrc']) assert.ok(f in hdr, `hdr has ${f}`);
  assert.equal(typeof hdr.seed, 'string');
  const cpuid = hdr.cpuid_0d as number[][];
  assert.equal(cpuid.length, 20);
  for (const row of cpuid) assert.ok(row.length === 4 && row.every((v) => Number.isInteger(v) && v >= 0));
  assert.match(hdr.tilesrc as string, /^[0-9a-f]{2048}$/);
  const hasX1 = hdr.xgetbv1 !== false; // absent in the reference logs, which all have x1

  const seqs = new Map<number, Run[]>();
  let cur: Run | undefined;
  for (const r of recs.slice(1)) {
    if (r.k === 'run') {
      for (const f of ['seq', 'name', 'run', 'csw', 'nops']) assert.ok(f in r, `run record has ${f}`);
      cur = { rec: r, ops: [] };
      const list = seqs.get(r.seq as number) ?? [];
      assert.equal(r.run, list.length, 'runs are numbered 0, 1, ... in order');
      list.push(cur);
      seqs.set(r.seq as number, list);
      continue;
    }
    assert.equal(r.k, 'op');
    assert.ok(cur, 'an op follows a run record');
    const expected = OP_FIELDS.filter((f) => f !== 'x1' || hasX1);
    assert.deepEqual(Object.keys(r).slice(0, expected.length), expected, 'op fields in order');
    assert.equal(r.seq, cur.rec.seq);
    assert.equal(r.run, cur.rec.run);
    assert.equal(r.i, cur.ops.length);
    assert.ok(OPS.has(r.t as string), `known op ${String(r.t)}`);
    assert.match(r.data as string, /^[0-9a-f]{128}$/);
    assert.match(r.rfbm as string, HEX);
    assert.match(r.x0 as string, HEX);
    if (hasX1) assert.match(r.x1 as string, HEX);
    assert.ok(Number.isInteger(r.sig) && Number.isInteger(r.code));
    if (SAVES.has(r.t as string)) {
      assert.match(r.h as string, /^[0-9a-f]{16}$/, 'every save carries h');
      if (r.run === 0) assert.match(r.snap as string, /^[0-9a-f]{24576}$/, 'the first run carries snap');
      else assert.ok(!('snap' in r), 'later runs carry no snap');
    } else {
      assert.ok(!('h' in r) && !('snap' in r), 'only saves carry h/snap');
    }
    cur.ops.push(r);
  }
  for (const [seq, list] of seqs) {
    assert.equal(list.length, runs, `sequence ${seq} has ${runs} runs`);
    for (const run of list) {
      assert.equal(run.ops.length, run.rec.nops);
      assert.equal(run.rec.name, list[0].rec.name);
      run.ops.forEach((op, i) => {
        for (const f of ['t', 'reg', 'area', 'off', 'len', 'fill', 'rfbm', 'data'])
          assert.equal(op[f], list[0].ops[i][f], `seq ${seq} run ${run.rec.run} op ${i}: the same ${f} as run 0`);
      });
      // The common start: XRSTOR of area 2 with RFBM all ones, both areas filled with a sane
      // legacy region and a zero header.
      const start = run.ops.slice(0, 7).map((o) => `${o.t}:${o.area}:${o.off}:${o.len}:${o.fill}`);
      assert.deepEqual(start, ['XRSTOR:2:0:0:0', 'FILL:0:0:0:90', 'POKE:0:0:32:0', 'POKE:0:512:64:0', 'FILL:1:0:0:165', 'POKE:1:0:32:0', 'POKE:1:512:64:0']);
      assert.equal(run.ops[0].rfbm, 'ffffffffffffffff');
    }
  }
  return seqs;
}

test('probe.c compiles with -Wall -Wextra -Werror', { skip: skipBuild }, () => {
  build();
});

test('--no-amx: the log is the documented JSON-lines format; faults are caught and the next op runs', { skip: skipNoAmx }, () => {
  const { status, stderr, recs } = runProbe(['--no-amx', '--sequences', '5', '--runs', '2', '--seed', '1']);
  assert.equal(status, 0, stderr);
  const hdr = recs[0];
  assert.equal(hdr.mode, 'noamx');
  assert.equal(hdr.seed, '1');
  const seqs = checkFormat(recs, 2);
  const names = [...seqs.values()].map((l) => l[0].rec.name);
  assert.equal(names.filter((n) => n === 'random').length, 5, '5 random sequences');
  for (const n of ['xinuse-zero-write', 'compacted-bv63', 'ldmxcsr-xinuse', 'fcw-reserved', 'compacted-bad-mxcsr', 'fld-fip'])
    assert.ok(names.includes(n), `targeted sequence ${n}`);
  assert.ok(!names.includes('tilezero-xinuse'), 'no tile sequences without AMX');
  const all = [...seqs.values()].flatMap((l) => l.flatMap((r) => r.ops));
  assert.ok(!all.some((o) => ['LDTILECFG', 'TILELOADD', 'TILEZERO', 'TILERELEASE'].includes(o.t as string)), 'no tile ops');
  assert.ok(all.every((o) => o.x0 === hdr.xcr0), 'XGETBV(0) is XCR0 throughout');

  // A standard XRSTOR whose XSTATE_BV has bit 63 (outside XCR0) is #GP on every CPU (SDM Vol. 1,
  // 13.8.1): SIGSEGV with si_code SI_KERNEL (128), and the op after it runs.
  const bv63 = [...seqs.values()].find((l) => l[0].rec.name === 'compacted-bv63')![0].ops;
  const gp = bv63.findIndex((o, i) => i > 7 && o.t === 'XRSTOR' && o.area === 1);
  assert.deepEqual([bv63[gp].sig, bv63[gp].code], [11, 128]);
  assert.equal(bv63[gp + 1].t, 'XSAVE');
  assert.equal(bv63[gp + 1].sig, 0);
  // An unmasked x87 stack overflow faults (#MF, SIGFPE) at the next FLD, again after sigreturn.
  const x87 = [...seqs.values()].find((l) => l[0].rec.name === 'x87-unmasked-pending')![0].ops;
  assert.ok(x87.filter((o) => o.sig === 8).length >= 2, 'SIGFPE twice');
  const fninit = x87.findIndex((o, i) => i > 7 && o.t === 'FNINIT');
  assert.equal(x87[fninit + 1].t, 'FLD');
  assert.equal(x87[fninit + 1].sig, 0, 'FNINIT cleared the pending exception');
});

test('the probe refuses tile operations on a CPU without amx_tile (exit 2, with the reason)', { skip: skipBuild || (flags.has('amx_tile') ? 'this CPU has amx_tile' : false) }, () => {
  const r = spawnSync(build(), ['--mode', 'perm', '--sequences', '1'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no usable AMX-TILE.*--no-amx/s);
});

test('the compiler puts no vector code and no call in the measured operation (objdump)', { skip: skipBuild || (!hasCommand('objdump', ['--version']) ? 'no objdump' : false) }, () => {
  const dis = spawnSync('objdump', ['-d', '--no-show-raw-insn', build()], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(dis.status, 0);
  let fn = '';
  const vectorOutside: string[] = [];
  const execOp: string[] = [];
  for (const line of dis.stdout.split('\n')) {
    const m = /^[0-9a-f]+ <(.+)>:$/.exec(line);
    if (m) { fn = m[1]; continue; }
    if (fn === 'exec_op') execOp.push(line);
    else if (/%[xyz]mm\d|%k[0-7]\b/.test(line)) vectorOutside.push(`${fn}: ${line.trim()}`);
  }
  assert.ok(execOp.length > 0, 'exec_op is in the binary');
  assert.deepEqual(execOp.filter((l) => /\bcall/.test(l)), [], 'exec_op calls nothing');
  assert.deepEqual(vectorOutside, [], 'vector registers appear only in exec_op');
  // One FLD instruction, so the header's fld_ip is the FIP of every FLD in the log.
  assert.equal(execOp.filter((l) => /\tfldt\s/.test(l)).length, 1, 'exactly one fldt');
});

test('--plan generates the AMX sequences anywhere (the reference CPU\'s CPUID table when this CPU has no AMX)', { skip: skipBuild }, () => {
  const bin = build();
  const out = join(dir, 'plan.jsonl');
  const r = spawnSync(bin, ['--mode', 'noperm', '--plan', '--seed', '3', '--sequences', '200', '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const recs = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Rec);
  assert.equal(recs[0].plan, true);
  const names = new Set(recs.filter((x) => x.k === 'run').map((x) => x.name as string));
  // One or more targeted sequences per finding R1..R11 (silicon/README.md).
  for (const n of ['xinuse-zero-write', 'tilezero-xinuse', 'palette0-xrstor', 'invalid-tilecfg-xrstor', 'compacted-bv63',
    'xfd-nm-vs-mxcsr-gp', 'ldmxcsr-xinuse', 'xsaveopt-tilecfg', 'tile-ud-vs-xfd-nm', 'fcw-reserved', 'compacted-bad-mxcsr', 'fld-fip'])
    assert.ok(names.has(n), `targeted sequence ${n}`);
  const ops = recs.filter((x) => x.k === 'op');
  for (const t of ['LDTILECFG', 'TILELOADD', 'TILEZERO', 'TILERELEASE', 'LDMXCSR', 'XSAVEOPT']) assert.ok(ops.some((o) => o.t === t), t);
  for (const o of ops) {
    if (o.t === 'POKE') assert.ok((o.off as number) + (o.len as number) <= 12288 && (o.len as number) <= 64);
    assert.ok((o.area as number) <= 2);
    if (o.area === 2) assert.equal(o.t, 'XRSTOR', 'area 2 is only restored from');
  }
});

test('perm and noperm modes on AMX silicon', { skip: skipAmx }, () => {
  for (const mode of ['perm', 'noperm']) {
    const { status, stderr, recs } = runProbe(['--mode', mode, '--sequences', '3', '--runs', '2', '--seed', '2']);
    assert.equal(status, 0, stderr);
    assert.equal(recs[0].mode, mode);
    assert.equal(recs[0].prctl, 0);
    const seqs = checkFormat(recs, 2);
    const names = [...seqs.values()].map((l) => l[0].rec.name);
    for (const n of ['tilezero-xinuse', 'palette0-xrstor', 'invalid-tilecfg-xrstor', 'xfd-nm-vs-mxcsr-gp', 'tile-ud-vs-xfd-nm', 'xsaveopt-tilecfg'])
      assert.ok(names.includes(n), `targeted sequence ${n}`);
  }
});
