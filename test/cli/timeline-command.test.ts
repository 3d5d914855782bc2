// `xsave-sim timeline`: the picture of a run as SVG or HTML (the same one VS Code's timeline view
// draws), with the exit statuses of `run` (0 clean, 1 a violation, 2 bad input, its errors as
// file:line:col: error: ...), through the built CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../src/cli/args';
import { timelineCommand } from '../../src/cli/timeline-command';

const root = join(__dirname, '..', '..', '..');
const cli = join(root, 'dist', 'cli.js');
const example = join(root, 'examples', 'xfd-err-leak.xsave');
const dir = mkdtempSync(join(tmpdir(), 'xsave-timeline-cli-'));
const sim = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: dir });

test('timeline --out run.svg: a standalone SVG with its stylesheet, the guest #NM mark at its step and the MSR tracks (linux-5.17: exit 0)', () => {
  const out = join(dir, 'run.svg');
  const r = sim('timeline', example, '--policy', 'linux-5.17', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^wrote ${out.replace(/[/.]/g, '\\$&')}: steps 0-2752 of 2752, 5 lanes, \\d+ marks`, 'm'));
  const svg = readFileSync(out, 'utf8');
  assert.match(svg, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" class="xsave-timeline"/);
  assert.match(svg, /<style>\/\* The pictures' styles/);
  assert.match(svg, /<g class="tl-mark nm" data-step="2156" data-kind="nm" data-tip="step 2156: guest #NM, intercepted: VM exit EXCEPTION_NMI/);
  assert.match(svg, /<title>step 2156: guest #NM, intercepted/);
  assert.match(svg, /data-track="cpu0\.IA32_XFD_ERR"/);
  assert.match(svg, /data-value="0x40000"/);
  assert.match(svg, /<text class="tl-lane-title" x="6" y="\d+">qemu\.vcpu0/);
  assert.doesNotMatch(svg, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'nothing remote');
});

test('timeline --out run.html under naive: a page with the picture, the violations printed, exit 1', () => {
  const out = join(dir, 'naive.html');
  // 3000 pixels: a column per step, so the failed assertion one step after an invariant stands alone.
  const r = sim('timeline', example, '--out', out, '--width', '3000');
  assert.equal(r.status, 1);
  assert.match(r.stdout, /xfd-err-leak\.xsave:16:5: assertion failed: guest lost its XFD_ERR \(qemu\.vcpu0, step 2539\)/);
  assert.match(r.stdout, /invariant violated: host-sees-guest-xfd-err/);
  const html = readFileSync(out, 'utf8');
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"/);
  assert.match(html, /<g class="tl-mark assertion" data-step="2539"/);
  assert.match(html, /<g class="tl-mark invariant" data-step="2139"/);
});

test('timeline --from/--to draws only those steps; --width sizes the picture', () => {
  let written = '';
  const r = timelineCommand([example, '--policy', 'linux-5.17', '--from', '900', '--to', '1100', '--width', '800', '--out', join(dir, 'w.svg')], (_p, t) => { written = t; });
  assert.equal(r.status, 0);
  assert.match(written, /<svg [^>]*width="800" [^>]*data-from="900" data-to="1100"/);
  assert.match(r.stdout, /steps 900-1099 of 2752/);
  assert.doesNotMatch(written, /data-step="405"/, 'nothing before step 900');
});

test('bad input: usage errors name the option; a scenario with errors prints file:line:col: error: and exits 2', () => {
  assert.throws(() => timelineCommand([example, '--out', join(dir, 'x.png')]), (e: unknown) => e instanceof UsageError && /--out: '.*x\.png' must end in \.svg or \.html/.test(e.message));
  assert.throws(() => timelineCommand([example, '--from', '10', '--to', '5']), /--to \(5\) must be greater than --from \(10\)/);
  assert.throws(() => timelineCommand([example, '--width', '12']), /--width: '12' is not a number from 400 to 20000/);
  assert.throws(() => timelineCommand([]), /timeline takes exactly one scenario file/);
  assert.throws(() => timelineCommand([example, '--cpu', 'pentium']), /unknown CPU model 'pentium'/);
  const bad = join(dir, 'bad.xsave');
  writeFileSync(bad, 'host p {\n  thread main {\n    undefined_thing();\n  }\n}\n');
  const r = sim('timeline', bad, '--out', join(dir, 'bad.svg'));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bad\.xsave:3:5: error: /);
  const usage = sim('timeline', example, '--out', 'x.txt');
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /^xsave-sim: --out: 'x\.txt' must end in \.svg or \.html/);
  const help = sim('timeline', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: xsave-sim timeline FILE/);
});

test('a run past its step budget: the picture of the steps run is written, the budget named, exit 2', () => {
  const out = join(dir, 'budget.svg');
  const r = sim('timeline', example, '--max-steps', '500', '--out', out);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /error: the step budget of 500 ran out here \(the picture shows the steps run\)/);
  assert.match(readFileSync(out, 'utf8'), /data-end="500"/);
});
