// Interrupting `npm run test:e2e` or `npm start` (Ctrl-C, SIGTERM, SIGHUP) stops code-server, which
// runs in a process group of its own and so never sees the terminal's Ctrl-C: stopOnSignals in
// scripts/e2e/code-server.mjs, exercised with a detached stand-in for code-server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(__dirname, '..', '..', '..');
const module = pathToFileURL(join(root, 'scripts', 'e2e', 'code-server.mjs')).href;

const alive = (pid: number) => {
  try { process.kill(pid, 0); return true; } catch { return false; }
};

for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test(`${signal} stops the detached server group and exits ${status}`, async () => {
    const script = `
      import { spawn } from 'node:child_process';
      import { stopOnSignals } from ${JSON.stringify(module)};
      const server = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
      stopOnSignals(async () => { process.kill(-server.pid, 'SIGTERM'); }, () => {});
      console.log(server.pid);
      setInterval(() => {}, 1000);`;
    const runner = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const serverPid = await new Promise<number>((resolve) => runner.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
    assert.ok(alive(serverPid));
    const exited = new Promise<number | null>((resolve) => runner.once('exit', (code) => resolve(code)));
    runner.kill(signal);
    assert.equal(await exited, status);
    for (let i = 0; i < 40 && alive(serverPid); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(alive(serverPid), false, 'the server group is gone');
  });
}

test('npm start keeps its profile from one start to the next; the tests start from a fresh one (prepareProfile)', async () => {
  const { mkdtempSync, readFileSync, writeFileSync, existsSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { prepareProfile } = await import(module) as { prepareProfile: (p: string, fresh: boolean) => void };
  const profile = join(mkdtempSync(join(tmpdir(), 'xsave-profile-')), 'p');
  prepareProfile(profile, false);
  const settings = join(profile, 'ud', 'User', 'settings.json');
  assert.match(readFileSync(settings, 'utf8'), /"telemetry.telemetryLevel": "off"/);
  // The user changes a setting and VS Code stores breakpoints in the profile's state.
  writeFileSync(settings, '{ "editor.fontSize": 17 }');
  const state = join(profile, 'ud', 'User', 'globalStorage', 'state.vscdb');
  (await import('node:fs')).mkdirSync(join(profile, 'ud', 'User', 'globalStorage'), { recursive: true });
  writeFileSync(state, 'breakpoints and watches');
  prepareProfile(profile, false);
  assert.equal(readFileSync(settings, 'utf8'), '{ "editor.fontSize": 17 }');
  assert.equal(readFileSync(state, 'utf8'), 'breakpoints and watches');
  prepareProfile(profile, true);
  assert.equal(existsSync(state), false);
  assert.match(readFileSync(settings, 'utf8'), /"telemetry.telemetryLevel": "off"/);
});
