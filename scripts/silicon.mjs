// `npm run silicon`: record the silicon probe's logs on this machine and replay them on the model.
//
//   npm run silicon                      perm and noperm logs (needs amx_tile and a C compiler)
//   npm run silicon -- --no-amx          a noamx log, for development on a CPU without AMX
//   options: --out DIR (default silicon/logs), --seed N (perm; noperm uses N + 1001),
//            --sequences N (random sequences per log, default 400), --runs N (default 3),
//            --replay / --no-replay (default: replay perm/noperm logs, not noamx ones)
//
// Without amx_tile in /proc/cpuinfo (and no --no-amx) or without `cc`, it says why it cannot
// record and exits 0. The logs are replayed with `xsave-sim silicon` (src/silicon/), which prints
// the differences by rule. silicon/README.md describes the probe and the log format.
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

const root = resolve(new URL('..', import.meta.url).pathname);
const shown = (file) => (relative(process.cwd(), file).startsWith('..') ? file : relative(process.cwd(), file));

function parseArgs(argv) {
  const opts = { noAmx: false, out: join(root, 'silicon', 'logs'), seed: 5005n, sequences: 400, runs: 3, replay: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--no-amx') opts.noAmx = true;
    else if (a === '--replay') opts.replay = true;
    else if (a === '--no-replay') opts.replay = false;
    else if (a === '--out') opts.out = resolve(value());
    else if (a === '--seed') opts.seed = BigInt(value());
    else if (a === '--sequences') opts.sequences = Number.parseInt(value(), 10);
    else if (a === '--runs') opts.runs = Number.parseInt(value(), 10);
    else fail(`unknown option ${a}`);
  }
  if (!(opts.sequences >= 0) || !(opts.runs >= 1)) fail('--sequences must be >= 0 and --runs >= 1');
  return opts;
}

function fail(message) {
  console.error(`silicon: ${message}`);
  process.exit(2);
}

function cpuFlags() {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const line = text.split('\n').find((l) => l.startsWith('flags'));
    return new Set(line ? line.slice(line.indexOf(':') + 1).trim().split(/\s+/) : []);
  } catch {
    return new Set();
  }
}

function haveCompiler() {
  const r = spawnSync('cc', ['--version'], { encoding: 'utf8' });
  return !r.error && r.status === 0;
}

const opts = parseArgs(process.argv.slice(2));

if (process.arch !== 'x64' || process.platform !== 'linux') {
  console.log(`silicon: cannot record here: the probe needs x86-64 Linux (this is ${process.platform}/${process.arch}).`);
  process.exit(0);
}
if (!opts.noAmx && !cpuFlags().has('amx_tile')) {
  console.log('silicon: cannot record here: /proc/cpuinfo has no amx_tile flag (no AMX, or the kernel does not enable it).');
  console.log('silicon: `npm run silicon -- --no-amx` records a log without tile operations for development.');
  process.exit(0);
}
if (!haveCompiler()) {
  console.log('silicon: cannot record here: no C compiler (`cc`) on PATH.');
  process.exit(0);
}

// Build. General registers only, so the compiler never puts SSE/AVX code between the operations
// under test (the source also says so with a pragma, for gcc).
const buildDir = join(root, 'out', 'silicon-probe');
mkdirSync(buildDir, { recursive: true });
const probe = join(buildDir, 'probe');
const cc = spawnSync('cc', ['-O1', '-std=gnu11', '-mgeneral-regs-only', '-Wall', '-Wextra', '-o', probe, join(root, 'silicon', 'probe.c')], { stdio: 'inherit' });
if (cc.status !== 0) {
  console.error('silicon: the probe did not compile');
  process.exit(1);
}

mkdirSync(opts.out, { recursive: true });
const modes = opts.noAmx
  ? [{ mode: 'noamx', args: ['--no-amx'], seed: opts.seed }]
  : [
      { mode: 'perm', args: ['--mode', 'perm'], seed: opts.seed },
      { mode: 'noperm', args: ['--mode', 'noperm'], seed: opts.seed + 1001n },
    ];

const logs = [];
for (const m of modes) {
  const plain = join(buildDir, `${m.mode}-${m.seed}.jsonl`);
  const gz = join(opts.out, `${m.mode}-${m.seed}.jsonl.gz`);
  const args = [...m.args, '--seed', String(m.seed), '--sequences', String(opts.sequences), '--runs', String(opts.runs), '--out', plain];
  const started = Date.now();
  const r = spawnSync(probe, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    console.error(`silicon: the probe failed in mode ${m.mode} (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
  await pipeline(createReadStream(plain), createGzip({ level: 9 }), createWriteStream(gz));
  rmSync(plain);
  console.log(`silicon: recorded ${shown(gz)} in ${Date.now() - started} ms`);
  logs.push({ mode: m.mode, file: gz });
}

const replayAll = opts.replay ?? !opts.noAmx;
const toReplay = replayAll ? logs.map((l) => l.file) : [];
if (toReplay.length === 0) {
  console.log('silicon: not replaying a noamx log (pass --replay to replay it anyway).');
  process.exit(0);
}
// Replay with the CLI (`xsave-sim silicon`), built first. A noamx log comes from a CPU the shipped
// models may not describe: it is replayed on the model read from this machine's CPUID.
const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
if (build.status !== 0) {
  console.error('silicon: the build failed; the logs are recorded but not replayed');
  process.exit(1);
}
const cpuArgs = opts.noAmx ? ['--cpu', 'host'] : [];
const rep = spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), 'silicon', ...toReplay, ...cpuArgs], { stdio: 'inherit' });
process.exit(rep.status ?? 1);
