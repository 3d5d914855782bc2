// Starting the browser VS Code (code-server, from scripts/e2e/setup.sh) with the extension's VSIX
// installed into a fresh profile, on 127.0.0.1 only. Shared by `npm run test:e2e` and `npm start`.
// code-server and its extension hosts run in their own process group (detached), so stop() ends
// all of them; code-server writes to HOME even for --version, so it gets a private one.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs setup.sh and returns its KEY=VALUE lines as an object. */
export function setup() {
  const out = execFileSync('bash', [join(repo, 'scripts', 'e2e', 'setup.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return Object.fromEntries(out.trim().split('\n').map((l) => l.split('=')).map(([k, ...v]) => [k, v.join('=')]));
}

/** Settings that keep the workbench quiet and predictable (no tours, no updates, no AI panel). */
const SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'chat.disableAIFeatures': true,
  'debug.openDebug': 'openOnSessionStart',
  'window.commandCenter': false,
};

/**
 * On Ctrl-C (SIGINT), SIGTERM or SIGHUP: runs `stop` (once), then exits with 128 + the signal's
 * number. A detached process group does not get the terminal's Ctrl-C, so without this an
 * interrupted run would leave code-server behind. Returns a function that removes the handlers.
 */
export function stopOnSignals(stop, log = (m) => console.error(m)) {
  const numbers = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };
  let stopping = null;
  const handlers = Object.keys(numbers).map((sig) => {
    const h = () => {
      if (!stopping) {
        log(`${sig}: stopping code-server and the browser`);
        stopping = Promise.resolve().then(stop).catch(() => {}).finally(() => process.exit(128 + numbers[sig]));
      }
    };
    process.on(sig, h);
    return [sig, h];
  });
  return () => { for (const [sig, h] of handlers) process.off(sig, h); };
}

/**
 * `fresh`: start from an empty profile (the tests). Otherwise (npm start) the profile is kept from
 * run to run, so settings, breakpoints and watches survive; the VSIX is installed over the old one.
 */
/**
 * The profile's folders (user data, extensions, a private HOME). `fresh` empties it first and
 * writes the quiet settings; otherwise what is there (settings, breakpoints, watches, state) stays,
 * and the settings are written only when there are none yet.
 */
export function prepareProfile(profile, fresh) {
  if (fresh) rmSync(profile, { recursive: true, force: true });
  mkdirSync(join(profile, 'ud', 'User'), { recursive: true });
  mkdirSync(join(profile, 'ext'), { recursive: true });
  mkdirSync(join(profile, 'home'), { recursive: true });
  const settings = join(profile, 'ud', 'User', 'settings.json');
  if (fresh || !existsSync(settings)) writeFileSync(settings, JSON.stringify(SETTINGS, null, 2));
}

export async function startCodeServer({ env, port, profile, vsix, log = () => {}, fresh = true }) {
  const node24bin = dirname(env.NODE24);
  const cs = env.CODE_SERVER;
  prepareProfile(profile, fresh);
  const tmp = join(env.E2E_ROOT, 'tmp'); // short: VS Code puts Unix sockets under TMPDIR
  mkdirSync(tmp, { recursive: true });
  const procEnv = { ...process.env, PATH: `${node24bin}:${process.env.PATH}`, HOME: join(profile, 'home'), TMPDIR: tmp };
  const common = ['--user-data-dir', join(profile, 'ud'), '--extensions-dir', join(profile, 'ext'), '--config', join(profile, 'config.yaml')];
  execFileSync(cs, [...common, '--install-extension', vsix, '--force'], { env: procEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const listed = execFileSync(cs, [...common, '--list-extensions'], { env: procEnv, encoding: 'utf8' });
  if (!listed.includes('xsave-debug.xsave-debug')) throw new Error(`the VSIX did not install: ${listed}`);
  log(fresh ? 'extension installed into a fresh profile' : `extension installed; profile kept in ${profile}`);
  const child = spawn(cs, [...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry',
    '--disable-update-check', '--disable-workspace-trust', '--ignore-last-opened'], { env: procEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
    await new Promise((r) => setTimeout(r, 500));
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
  };
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`code-server exited (${child.exitCode}):\n${output}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch { /* not yet */ }
    if (i > 300) { await stop(); throw new Error(`code-server did not answer on ${url}:\n${output}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, stop, output: () => output };
}
