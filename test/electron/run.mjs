// `npm run test:electron`: the extension's suite inside a desktop VS Code through
// @vscode/test-electron. These machines have no desktop VS Code and cannot download one, so it runs
// only where VSCODE_EXECUTABLE names a VS Code binary, and otherwise says why it is skipped (the
// browser VS Code test, `npm run test:e2e`, covers the same ground here).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const exe = process.env.VSCODE_EXECUTABLE;
if (!exe || !existsSync(exe)) {
  console.log(`test:electron skipped: ${exe ? `VSCODE_EXECUTABLE=${exe} does not exist` : 'VSCODE_EXECUTABLE is not set'} ` +
    '(@vscode/test-electron needs a desktop VS Code; set VSCODE_EXECUTABLE=/path/to/code to run it)');
  process.exit(0);
}
const { runTests } = await import('@vscode/test-electron');
try {
  await runTests({
    vscodeExecutablePath: exe,
    extensionDevelopmentPath: repo,
    extensionTestsPath: join(repo, 'test', 'electron', 'suite.cjs'),
    launchArgs: [join(repo, 'examples'), '--disable-extensions', '--disable-workspace-trust'],
  });
  console.log('test:electron passed');
} catch (e) {
  console.error(`test:electron failed: ${e}`);
  process.exit(1);
}
