// Bundles the product with esbuild: the extension, the standalone debug adapter, the language server
// and the CLI into
// dist/; with --tests the test files into out/test/, with --bench the benchmarks into out/bench/.
// One bundle per entry point keeps start-up fast and the VSIX free of node_modules.
import { build } from 'esbuild';
import { readFileSync, readdirSync, statSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';

const args = new Set(process.argv.slice(2));
const root = new URL('..', import.meta.url).pathname;

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  absWorkingDir: root,
  // docs/language.md's builtins table documents hovers and completion in the editor; the pictures'
  // stylesheet (media/pictures.css) goes into `xsave-sim timeline`'s SVG and HTML.
  loader: { '.md': 'text', '.css': 'text' },
  // `xsave-sim --version` and the language server's serverInfo (src/cli/version.ts).
  define: { XSAVE_DEBUG_VERSION: JSON.stringify(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version) },
};

const compact = { minifyWhitespace: true, minifySyntax: true };

function walk(dir, suffix) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p, suffix));
    else if (name.endsWith(suffix)) out.push(relative(root, p));
  }
  return out;
}

await Promise.all([
  // The VSIX must stay under 500 KB (scripts/e2e/run.mjs). The extension and the language server
  // carry vscode-languageclient / vscode-languageserver and are minified outright; the adapter, the
  // CLI and the explorer worker keep their names (readable stack traces) and lose whitespace. The
  // source maps in dist/ map everything back.
  build({ ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'], minify: true }),
  build({ ...common, ...compact, entryPoints: ['src/adapter.ts'], outfile: 'dist/adapter.js' }),
  build({ ...common, ...compact, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } }),
  // The explorer's worker threads run this bundle (src/host/explore-runner.ts finds it).
  build({ ...common, ...compact, entryPoints: ['src/host/explore-worker.ts'], outfile: 'dist/explore-worker.js' }),
  // The language server (`node dist/server.js --stdio`): the extension's language client starts it,
  // other editors too. vscode-languageserver is bundled in, so the VSIX needs no node_modules.
  build({ ...common, entryPoints: ['src/lsp/server.ts'], outfile: 'dist/server.js', minify: true }),
]);

if (args.has('--tests')) {
  rmSync(join(root, 'out/test'), { recursive: true, force: true });
  await build({ ...common, entryPoints: walk(join(root, 'test'), '.test.ts'), outbase: 'test', outdir: 'out/test' });
}
if (args.has('--bench')) {
  rmSync(join(root, 'out/bench'), { recursive: true, force: true });
  // playwright-core (the timeline bench's browser) finds its own files at run time: not bundled.
  await build({ ...common, entryPoints: walk(join(root, 'bench'), '.bench.ts'), outbase: 'bench', outdir: 'out/bench', external: ['playwright-core'] });
}
