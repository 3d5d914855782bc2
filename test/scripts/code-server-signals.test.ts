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
