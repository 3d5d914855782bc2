// Editing scenarios: diagnostics as you type (debounced), hover on constants, MSRs, masks and
// builtins, and completion of builtins, constants and keywords. The compiler runs on the open
// documents' text (unsaved edits included) with the scenario's policy, exactly as a launch would.
import * as vscode from 'vscode';
import { compile } from '../lang/compiler';
import type { Diagnostic } from '../lang/source';
import { FileGate, policyImports } from '../debug/host-files';
import { CONSTANTS } from '../sim/constants';
import { BUILTINS } from '../sim/builtins';
import { COMPILE_ENV } from '../sim/scenario';
import { BUILTIN_DOCS } from './builtin-docs';
import { hoverText } from './hover-text';

const KEYWORDS = ['fn', 'let', 'const', 'if', 'else', 'while', 'return', 'break', 'continue', 'assert', 'spawn', 'true', 'false',
  'cpu', 'cpus', 'policy', 'import', 'deviation', 'guest', 'host', 'thread', 'events', 'at', 'after', 'previous', 'on', 'hit'];
const DEBOUNCE_MS = 300;

export function registerLanguageFeatures(context: vscode.ExtensionContext): void {
  const collection = vscode.languages.createDiagnosticCollection('xsave');
  const timers = new Map<string, NodeJS.Timeout>();
  const check = (doc: vscode.TextDocument): void => {
    if (doc.languageId !== 'xsave') return;
    const key = doc.uri.toString();
    clearTimeout(timers.get(key));
    timers.set(key, setTimeout(() => { timers.delete(key); publish(collection, doc); }, DEBOUNCE_MS));
  };
  context.subscriptions.push(
    collection,
    vscode.workspace.onDidOpenTextDocument(check),
    vscode.workspace.onDidChangeTextDocument((e) => check(e.document)),
    vscode.workspace.onDidCloseTextDocument((d) => collection.delete(d.uri)),
    vscode.languages.registerHoverProvider('xsave', { provideHover }),
    vscode.languages.registerCompletionItemProvider('xsave', { provideCompletionItems }),
    { dispose: () => timers.forEach((t) => clearTimeout(t)) },
  );
  vscode.workspace.textDocuments.forEach(check);
}

/** Compiles the document (with its policy) and shows every diagnostic in the file it belongs to. */
export function diagnose(doc: vscode.TextDocument): Diagnostic[] {
  const open = new Map(vscode.workspace.textDocuments.map((d) => [d.uri.fsPath, d.getText()]));
  const path = doc.uri.fsPath;
  const gate = FileGate.forScenario(path, vscode.workspace.getWorkspaceFolder(doc.uri)?.uri.fsPath);
  const files = {
    read: (p: string): string | null => (gate.refused(p) === null ? open.get(p) ?? gate.read(p) : null),
    resolve: (from: string, rel: string): string => vscode.Uri.joinPath(vscode.Uri.file(from), '..', rel).fsPath,
    refused: (p: string): string | null => (p === path ? null : gate.refused(p)),
  };
  const policy = policyImports(path, doc.getText(), undefined, gate);
  if (policy.diagnostic) return [policy.diagnostic];
  return compile(path, files, COMPILE_ENV, policy.imports).diagnostics;
}

function publish(collection: vscode.DiagnosticCollection, doc: vscode.TextDocument): void {
  const byFile = new Map<string, vscode.Diagnostic[]>();
  byFile.set(doc.uri.fsPath, []);
  for (const d of diagnose(doc)) {
    const r = new vscode.Range(d.range.start.line - 1, d.range.start.column - 1, d.range.end.line - 1, d.range.end.column - 1);
    const diag = new vscode.Diagnostic(r, d.message, d.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
    diag.source = 'xsave';
    if (!byFile.has(d.file)) byFile.set(d.file, []);
    byFile.get(d.file)!.push(diag);
  }
  for (const [file, diags] of byFile) collection.set(vscode.Uri.file(file), diags);
}

function provideHover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | null {
  const range = doc.getWordRangeAtPosition(pos, /[A-Za-z_]\w*/);
  if (!range) return null;
  const text = hoverText(doc.getText(range));
  return text ? new vscode.Hover(new vscode.MarkdownString(text), range) : null;
}

function provideCompletionItems(): vscode.CompletionItem[] {
  const items: vscode.CompletionItem[] = [];
  for (const [name, def] of Object.entries(BUILTINS)) {
    const it = new vscode.CompletionItem(name, vscode.CompletionItemKind.Function);
    const doc = BUILTIN_DOCS.get(name);
    it.detail = doc?.signature ?? `${name}(${def.params.join(', ')})`;
    if (doc) it.documentation = new vscode.MarkdownString(`${doc.where}: ${doc.what}`);
    it.insertText = new vscode.SnippetString(`${name}(${def.params.map((p, i) => `\${${i + 1}:${p}}`).join(', ')})`);
    items.push(it);
  }
  for (const [name, v] of CONSTANTS) {
    const it = new vscode.CompletionItem(name, vscode.CompletionItemKind.Constant);
    it.detail = `0x${v.toString(16)}`;
    items.push(it);
  }
  for (const k of KEYWORDS) items.push(new vscode.CompletionItem(k, vscode.CompletionItemKind.Keyword));
  return items;
}
