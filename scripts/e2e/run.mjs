// `npm run test:e2e`: the extension in a real VS Code. Installs code-server and Chromium
// (scripts/e2e/setup.sh), packages the VSIX, installs it into a fresh code-server profile, starts
// code-server on 127.0.0.1 and runs test/e2e/vscode-debugging.e2e.mjs in headless Chromium through
// playwright-core. Prints each phase's time; exits 0 when the test passed. A failure leaves a
// screenshot (out/e2e/failure.png) and code-server's log.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { repo, setup, startCodeServer, stopOnSignals } from './code-server.mjs';
import { run } from '../../test/e2e/vscode-debugging.e2e.mjs';

const t0 = Date.now();
const secs = (t) => ((Date.now() - t) / 1000).toFixed(1);
const log = (what) => console.log(`[e2e ${secs(t0)}s] ${what}`);

let phase = Date.now();
const env = setup();
log(`setup took ${secs(phase)}s`);

phase = Date.now();
execFileSync('npm', ['run', '--silent', 'package'], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
const vsix = join(repo, 'xsave-debug.vsix');
const kb = statSync(vsix).size / 1024;
log(`packaged ${vsix} (${kb.toFixed(0)} KB) in ${secs(phase)}s`);
if (kb >= 500) { console.error(`the VSIX is ${kb.toFixed(0)} KB: it must stay under 500 KB`); process.exit(1); }

// Runs on another port (E2E_PORT) get a workspace and a profile of their own, so that two runs at
// once do not share files.
const port = Number(process.env.E2E_PORT || 8742);
const own = process.env.E2E_PORT ? `-${port}` : '';
// The workspace: the example and a launch.json that runs it under linux-5.17.
const ws = join(env.E2E_ROOT, `workspace${own}`);
rmSync(ws, { recursive: true, force: true });
mkdirSync(join(ws, '.vscode'), { recursive: true });
cpSync(join(repo, 'examples'), join(ws, 'examples'), { recursive: true });
// A scenario with errors (its launch must show them) and one whose assertion fails (the stop must
// highlight the assertion's line), next to the examples.
cpSync(join(repo, 'test', 'fixtures', 'broken.xsave'), join(ws, 'broken.xsave'));
cpSync(join(repo, 'test', 'fixtures', 'xfd-err-leak-no-events.xsave'), join(ws, 'xfd-err-leak-no-events.xsave'));
writeFileSync(join(ws, 'assert-fails.xsave'), [
  '// An assertion that fails: the debugger stops on line 6 and shows line 6.',
  'host p {',
  '  thread main {',
  '    let a = 1;',
  '    a = a + 1;',
  '    assert(a == 3, "a is 2 here");',
  '    a = 0;',
  '  }',
  '}',
  '',
].join('\n'));
writeFileSync(join(ws, '.vscode', 'launch.json'), JSON.stringify({
  version: '0.2.0',
  configurations: [{ type: 'xsave', request: 'launch', name: 'xfd-err-leak under linux-5.17', program: '${workspaceFolder}/examples/xfd-err-leak.xsave', policy: 'linux-5.17', stopOnEntry: false }],
}, null, 2));

phase = Date.now();
const server = await startCodeServer({ env, port, profile: join(env.E2E_ROOT, `profile${own}`), vsix, log });
log(`code-server on ${server.url} in ${secs(phase)}s`);
let ctx = null;
stopOnSignals(async () => { await ctx?.close().catch(() => {}); await server.stop(); }, (m) => log(m));

const outDir = join(repo, 'out', 'e2e');
mkdirSync(outDir, { recursive: true });
const browserProfile = mkdtempSync(join(env.E2E_ROOT, 'tmp', 'chromium-'));
let ok = false;
phase = Date.now();
ctx = await chromium.launchPersistentContext(browserProfile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1440, height: 900 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = ctx.pages()[0] ?? await ctx.newPage();
try {
  await run(page, {
    url: server.url, workspace: ws, shot: join(outDir, 'debugging.png'), log,
    shots: { layout: join(outDir, 'layout-view.png'), timeline: join(outDir, 'timeline-view.png') },
  });
  ok = true;
  log(`test passed in ${secs(phase)}s`);
} catch (e) {
  console.error(`E2E FAILED: ${e?.stack ?? e}`);
  await page.screenshot({ path: join(outDir, 'failure.png') }).catch(() => {});
  writeFileSync(join(outDir, 'code-server.log'), server.output());
  console.error(`screenshot: ${join(outDir, 'failure.png')}; code-server log: ${join(outDir, 'code-server.log')}`);
} finally {
  await ctx.close();
  rmSync(browserProfile, { recursive: true, force: true });
  await server.stop();
}
log(`total ${secs(t0)}s`);
console.log(ok ? '1 passed, 0 failed' : '0 passed, 1 failed');
process.exit(ok ? 0 : 1);
