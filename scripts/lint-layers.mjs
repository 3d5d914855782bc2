// Enforces the layering of ARCHITECTURE.md: a layer imports only itself and the layers beneath it
// (ORDER below lists them from the bottom up: the model imports nothing of ours, the extension may
// import everything); only the extension imports 'vscode' (the language server in src/lsp/ speaks
// LSP instead); DAP is imported by the debug adapter (src/debug/) and the extension that hosts it,
// never below, so the runtime has no protocol in it; only the host layer (and the extension,
// through VS Code) touches the file system, worker threads or this machine's devices; and the
// model, lang, sim, runtime and views layers import no package and no Node built-in (the first
// three run unchanged in the extension host, a worker or a browser).
// Exits 1 listing every offending import as file:line: message.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const src = join(root, 'src');

// Layers from the bottom up; a layer may import itself and every layer before it in this list.
const ORDER = ['model', 'silicon', 'lang', 'sim', 'kernel', 'host', 'runtime', 'views', 'debug', 'cli', 'lsp', 'extension'];
// Packages (and Node built-ins) each layer may import.
const PACKAGES = {
  model: [],
  silicon: [],
  lang: [],
  sim: [],
  kernel: [],
  // Files, worker threads, this machine's CPUID: every host I/O of the CLI, the adapter and the server.
  host: ['node:*'],
  // The debugger without a protocol: engine, history, breakpoints, run control (src/runtime/).
  runtime: [],
  // The pictures (SVG of the layout view and the timeline) from the runtime's data: for the CLI and the extension alike.
  views: [],
  // The debug adapter: DAP over the runtime; paths only as text (Source names).
  debug: ['@vscode/debugadapter', '@vscode/debugprotocol', 'node:path'],
  cli: ['node:path'],
  // The language server: the protocol library, never 'vscode' (it serves every editor); its files
  // come through the host layer.
  lsp: ['vscode-languageserver', 'vscode-languageserver-textdocument', 'node:path', 'node:url'],
  extension: ['vscode', 'vscode-languageclient', '@vscode/debugadapter', '@vscode/debugprotocol', 'node:*'],
};

function layerOf(file) {
  const rel = relative(src, file).split('/');
  if (rel.length === 1) {
    if (rel[0] === 'extension.ts') return 'extension';
    if (rel[0] === 'adapter.ts') return 'debug';
    return null;
  }
  return ORDER.includes(rel[0]) ? rel[0] : null;
}

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const IMPORT = /(?:^|\s)(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[^.\w])import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[^.\w])require\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/g;
const problems = [];

for (const file of walk(src)) {
  const layer = layerOf(file);
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    for (const m of line.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
      const where = `${relative(root, file)}:${i + 1}`;
      if (layer === null) { problems.push(`${where}: file is in no layer (src/<layer>/...)`); return; }
      if (spec.startsWith('.')) {
        const target = layerOf(resolve(dirname(file), spec));
        if (target === null) continue;
        if (ORDER.indexOf(target) > ORDER.indexOf(layer)) {
          problems.push(`${where}: layer '${layer}' imports '${spec}' from layer '${target}', which stands below it`);
        }
      } else {
        const allowed = PACKAGES[layer];
        const builtin = spec.startsWith('node:');
        const ok = allowed.includes(spec) || (builtin && allowed.includes('node:*')) ||
          allowed.some((a) => !a.endsWith('*') && spec.startsWith(a + '/'));
        if (!ok) problems.push(`${where}: layer '${layer}' may not import '${spec}'` +
          (spec === 'vscode' ? " (only the extension layer imports 'vscode')" : '') +
          (!builtin && !spec.startsWith('@') && !spec.includes('/') && ['fs', 'path', 'os', 'child_process', 'worker_threads'].includes(spec) ? ` (write 'node:${spec}')` : ''));
      }
    }
  });
}

if (problems.length) {
  for (const p of problems) console.error(p);
  console.error(`${problems.length} layering problem(s)`);
  process.exit(1);
}
console.log('layers: ok');
