// `npm start`: the examples in a real VS Code with the extension. With a desktop VS Code on PATH
// (`code`), it opens examples/ in a window with this checkout as the extension under development.
// Otherwise it starts the browser VS Code (code-server, installed by scripts/e2e/setup.sh) on
// 127.0.0.1 with the freshly packaged VSIX, prints the URL to open, and runs until Ctrl-C.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repo, setup, startCodeServer, stopOnSignals } from './e2e/code-server.mjs';

const t0 = Date.now();
const log = (m) => console.log(`[start ${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
const examples = join(repo, 'examples');
log('building dist/ (esbuild)');
execFileSync('node', [join(repo, 'scripts', 'build.mjs')], { stdio: 'inherit' });

const code = spawnSync('code', ['--version'], { encoding: 'utf8' });
if (code.status === 0) {
  console.log(`desktop VS Code ${code.stdout.split('\n')[0]}: opening ${examples}`);
  execFileSync('code', ['--new-window', `--extensionDevelopmentPath=${repo}`, examples], { stdio: 'inherit' });
  process.exit(0);
}

log('no `code` on PATH: the browser VS Code (code-server) on 127.0.0.1; setting it up (the first time installs Chromium, Node 24 and code-server: a few minutes)');
const env = setup();
log('packaging the extension (xsave-debug.vsix)');
execFileSync('npm', ['run', '--silent', 'package'], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
const port = Number(process.env.PORT || 8741);
log('starting code-server');
// The profile is kept from one start to the next: settings, breakpoints and watches survive.
const server = await startCodeServer({ env, port, profile: join(env.E2E_ROOT, 'start-profile'), vsix: join(repo, 'xsave-debug.vsix'), log, fresh: false });
stopOnSignals(() => server.stop(), log);
console.log(`\nopen ${server.url}/?folder=${encodeURIComponent(examples)}\n(open a .xsave file and press F5; Ctrl-C stops the server)`);
await new Promise(() => {});
