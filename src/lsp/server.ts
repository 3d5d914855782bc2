// The scenario language's server (LSP), for every editor: `node dist/server.js --stdio`. It serves
// diagnostics (a scenario with its imports and policy; kernel and policy files in the program that
// includes them), hover, completion, go to definition across scenario, policy and kernel files,
// document symbols and semantic tokens. The protocol plumbing is vscode-languageserver's; what the
// answers say comes from analysis.ts and the compiler.
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CompletionItemKind, type CompletionItem, type Diagnostic as LspDiagnostic, DiagnosticSeverity, type DocumentSymbol,
  InsertTextFormat, type Location, MarkupKind, ProposedFeatures, type Range as LspRange, SemanticTokensBuilder, SymbolKind,
  type InitializeResult, TextDocumentSyncKind, TextDocuments, createConnection,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { VERSION } from '../cli/version';
import { FileGate } from '../host/files';
import type { FileAccessor } from '../lang/compiler';
import { parse } from '../lang/parser';
import type { Range } from '../lang/source';
import { BUILTINS } from '../sim/builtins';
import { CONSTANTS } from '../sim/constants';
import { COMPILE_ENV } from '../sim/scenario';
import {
  type Declaration, KEYWORDS, type ParseCache, type Symbol, TOKEN_MODIFIERS, TOKEN_TYPES, Workspace, classify, enclosingFunction, outline,
  resolveName, wordAt,
} from './analysis';
import { BUILTIN_DOCS } from './builtin-docs';
import { hoverText } from './hover-text';

const DECLARATION_WORDS = ['cpu', 'cpus', 'policy', 'import', 'deviation', 'guest', 'host', 'thread', 'events', 'at', 'after', 'previous', 'on', 'hit'];
const DEBOUNCE_MS = 150;

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);

const pathOf = (uri: string): string | null => (uri.startsWith('file:') ? fileURLToPath(uri) : null);
const uriOf = (path: string): string => pathToFileURL(path).href;

/** Open documents by path (unsaved text), then the disk. */
function openText(): Map<string, string> {
  const m = new Map<string, string>();
  for (const d of documents.all()) {
    const p = pathOf(d.uri);
    if (p !== null) m.set(p, d.getText());
  }
  return m;
}

const parseCache: ParseCache = new Map();

/** The workspace folders the client opened: a scenario may read files there, as a launch may. */
let roots: string[] = [];

/**
 * Open documents (unsaved text) first, then the disk through the file gate a launch uses: the
 * workspace folders, the open documents' folders and the shipped kernel folder, nothing else.
 */
function workspace(): Workspace {
  const open = openText();
  const gate = new FileGate([...roots, ...[...open.keys()].map((p) => dirname(p))]);
  const files: FileAccessor = {
    read: (p) => open.get(p) ?? gate.read(p),
    resolve: (from, rel) => gate.resolve(from, rel),
    refused: (p) => (open.has(p) ? null : gate.refused(p)),
  };
  return new Workspace(files, () => [...open.keys()], parseCache, (path) => new FileGate([...roots, dirname(path)]));
}

const toLsp = (r: Range): LspRange => ({
  start: { line: r.start.line - 1, character: r.start.column - 1 },
  end: { line: r.end.line - 1, character: r.end.column - 1 },
});

connection.onInitialize((params) => {
  roots = (params.workspaceFolders ?? []).map((f) => pathOf(f.uri)).filter((p): p is string => p !== null);
  if (roots.length === 0 && params.rootUri) { const r = pathOf(params.rootUri); if (r) roots = [r]; }
  return initializeResult;
});

const initializeResult = ({
  capabilities: {
    textDocumentSync: TextDocumentSyncKind.Incremental,
    hoverProvider: true,
    completionProvider: { triggerCharacters: ['>', '.'] },
    definitionProvider: true,
    documentSymbolProvider: true,
    semanticTokensProvider: { legend: { tokenTypes: [...TOKEN_TYPES], tokenModifiers: [...TOKEN_MODIFIERS] }, full: true },
  },
  serverInfo: { name: 'xsave-language-server', version: VERSION },
}) satisfies InitializeResult;

// ---- diagnostics ------------------------------------------------------------------------------

function publish(uri: string): void {
  const path = pathOf(uri);
  if (path === null) return;
  const diagnostics: LspDiagnostic[] = workspace().diagnose(path).map((d) => ({
    range: toLsp(d.range),
    severity: d.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    source: 'xsave',
    message: d.message,
  }));
  void connection.sendDiagnostics({ uri, version: documents.get(uri)?.version, diagnostics });
}

let timer: NodeJS.Timeout | undefined;
/** Every open document again: an edit in a policy or kernel file changes what its users see. */
function publishAllSoon(): void {
  clearTimeout(timer);
  timer = setTimeout(() => { for (const d of documents.all()) publish(d.uri); }, DEBOUNCE_MS);
}

documents.onDidOpen((e) => { publish(e.document.uri); publishAllSoon(); });
documents.onDidChangeContent(() => publishAllSoon());
documents.onDidClose((e) => { void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] }); publishAllSoon(); });

// ---- hover, definition ------------------------------------------------------------------------

function at(uri: string, line: number, character: number): { path: string; text: string; word: ReturnType<typeof wordAt> } | null {
  const doc = documents.get(uri);
  const path = pathOf(uri);
  if (!doc || path === null) return null;
  const text = doc.getText();
  return { path, text, word: wordAt(text, line + 1, character + 1) };
}

/** What a name at a position means: a parameter or local of the enclosing function, or a declaration. */
function lookup(ws: Workspace, path: string, text: string, word: NonNullable<ReturnType<typeof wordAt>>): { local: Range } | { decl: Declaration } | null {
  const { ast } = parse(path, text);
  const fn = enclosingFunction(ast, word.range.start.line, word.range.start.column);
  const before = text.slice(0, word.range.start.offset).trimEnd();
  const isField = before.endsWith('->') || (before.endsWith('.') && !/\d\.$/.test(before));
  if (fn && !isField) {
    const local = [...fn.params, ...fn.locals].find((l) => l.name === word.name);
    if (local) return { local: local.range };
  }
  if (isField) return null;
  const decl = resolveName(ws.declarations(path), word.name, fn?.context ?? null);
  return decl ? { decl } : null;
}

connection.onHover(({ textDocument, position }) => {
  const here = at(textDocument.uri, position.line, position.character);
  if (!here?.word) return null;
  const { word } = here;
  let value = hoverText(word.name);
  if (value === null) {
    const ws = workspace();
    const found = lookup(ws, here.path, here.text, word);
    if (found && 'decl' in found) {
      const d = found.decl;
      const where = `${d.file.split(/[\\/]/).pop()}:${d.range.start.line}`;
      const scope = d.context === 'kernel' ? 'host kernel' : d.context === 'guest' ? 'guest' : `host process ${d.context}`;
      value = d.kind === 'function' ? `\`fn ${d.name}(${(d.params ?? []).join(', ')})\` — ${scope}, ${where}`
        : d.kind === 'constant' ? `\`const ${d.name}\` — ${scope}, ${where}`
          : d.kind === 'thread' ? `thread \`${d.context}.${d.name}\` — ${where}` : `host process \`${d.name}\` — ${where}`;
    } else if (found && 'local' in found) {
      value = `local \`${word.name}\``;
    }
  }
  return value === null ? null : { contents: { kind: MarkupKind.Markdown, value }, range: toLsp(word.range) };
});

connection.onDefinition(({ textDocument, position }): Location | null => {
  const here = at(textDocument.uri, position.line, position.character);
  if (!here) return null;
  const ws = workspace();
  // On an import's or a policy's string: the file it names.
  const { ast } = parse(here.path, here.text);
  for (const item of ast.items) {
    const line = position.line + 1;
    const column = position.character + 1;
    const r = item.kind === 'import' ? item.pathRange : item.kind === 'policy' ? item.range : null;
    if (!r || line < r.start.line || line > r.end.line || (line === r.start.line && column < r.start.column) || (line === r.end.line && column > r.end.column)) continue;
    const target = item.kind === 'import' ? ws.files.resolve(here.path, item.path)
      : item.kind === 'policy' ? ws.policyFile(item.policy, here.path) : null;
    if (target === null || ws.files.read(target) === null) return null;
    if (item.kind === 'policy' && here.word?.name === 'policy') continue;
    return { uri: uriOf(target), range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } };
  }
  if (!here.word) return null;
  const found = lookup(ws, here.path, here.text, here.word);
  if (!found) return null;
  if ('local' in found) return { uri: textDocument.uri, range: toLsp(found.local) };
  return { uri: uriOf(found.decl.file), range: toLsp(found.decl.range) };
});

// ---- completion -------------------------------------------------------------------------------

connection.onCompletion(({ textDocument, position }): CompletionItem[] => {
  const doc = documents.get(textDocument.uri);
  const path = pathOf(textDocument.uri);
  if (!doc || path === null) return [];
  const text = doc.getText();
  const offset = doc.offsetAt(position);
  const before = text.slice(0, offset).replace(/\w*$/, '');
  if (before.endsWith('->') || (before.endsWith('.') && !/\d\.$/.test(before))) {
    return [...COMPILE_ENV.fields].sort().map((f) => ({ label: f, kind: CompletionItemKind.Field }));
  }
  const items: CompletionItem[] = [];
  const seen = new Set<string>();
  const add = (it: CompletionItem): void => { if (!seen.has(it.label)) { seen.add(it.label); items.push(it); } };
  const { ast } = parse(path, text);
  const fn = enclosingFunction(ast, position.line + 1, position.character + 1);
  for (const l of fn ? [...fn.params, ...fn.locals] : []) add({ label: l.name, kind: CompletionItemKind.Variable, sortText: `0${l.name}` });
  for (const d of workspace().declarations(path)) {
    if (d.kind === 'function' && (d.context === 'kernel' || d.context === fn?.context) && !(fn?.context === 'guest' && d.context !== 'guest')) {
      add({ label: d.name, kind: CompletionItemKind.Function, detail: `fn ${d.name}(${(d.params ?? []).join(', ')})`, sortText: `1${d.name}` });
    } else if (d.kind === 'constant') add({ label: d.name, kind: CompletionItemKind.Constant, detail: 'const', sortText: `1${d.name}` });
  }
  for (const [name, def] of Object.entries(BUILTINS)) {
    const b = BUILTIN_DOCS.get(name);
    add({
      label: name, kind: CompletionItemKind.Function, detail: b?.signature ?? `${name}(${def.params.join(', ')})`,
      ...(b ? { documentation: { kind: MarkupKind.Markdown, value: `${b.where}: ${b.what}` } } : {}),
      insertText: `${name}(${def.params.map((p, i) => `\${${i + 1}:${p}}`).join(', ')})`, insertTextFormat: InsertTextFormat.Snippet,
      sortText: `2${name}`,
    });
  }
  for (const [name, v] of CONSTANTS) add({ label: name, kind: CompletionItemKind.Constant, detail: `0x${v.toString(16)}`, sortText: `3${name}` });
  for (const g of COMPILE_ENV.globals.keys()) add({ label: g, kind: CompletionItemKind.Variable, sortText: `3${g}` });
  for (const k of [...KEYWORDS, ...DECLARATION_WORDS]) add({ label: k, kind: CompletionItemKind.Keyword, sortText: `4${k}` });
  return items;
});

// ---- document symbols, semantic tokens ----------------------------------------------------------

const SYMBOL_KIND: Record<Symbol['kind'], SymbolKind> = {
  function: SymbolKind.Function, constant: SymbolKind.Constant, namespace: SymbolKind.Namespace, module: SymbolKind.Module,
  thread: SymbolKind.Method, event: SymbolKind.Event, property: SymbolKind.Property,
};

const toSymbol = (s: Symbol): DocumentSymbol => ({
  name: s.name, detail: s.detail, kind: SYMBOL_KIND[s.kind], range: toLsp(s.range), selectionRange: toLsp(s.selection),
  children: s.children.map(toSymbol),
});

connection.onDocumentSymbol(({ textDocument }) => {
  const doc = documents.get(textDocument.uri);
  const path = pathOf(textDocument.uri) ?? textDocument.uri;
  return doc ? outline(parse(path, doc.getText()).ast).map(toSymbol) : [];
});

connection.languages.semanticTokens.on(({ textDocument }) => {
  const doc = documents.get(textDocument.uri);
  const path = pathOf(textDocument.uri);
  const builder = new SemanticTokensBuilder();
  if (!doc || path === null) return builder.build();
  for (const t of classify(path, doc.getText(), workspace().declarations(path))) {
    const mods = t.modifiers.reduce((m, x) => m | (1 << TOKEN_MODIFIERS.indexOf(x)), 0);
    builder.push(t.line - 1, t.column - 1, t.length, TOKEN_TYPES.indexOf(t.type), mods);
  }
  return builder.build();
});

documents.listen(connection);
connection.listen();
