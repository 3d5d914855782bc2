// Editing scenarios: the extension is a client of the language server (dist/server.js, src/lsp/),
// which every other editor can use too. It serves diagnostics as you type (a scenario with its
// policy and imports; kernel and policy files in the program that includes them), hovers,
// completion, go to definition, the outline and semantic tokens. The server runs as its own Node
// process over stdio and stops with the extension.
import type * as vscode from 'vscode';
import { LanguageClient, type LanguageClientOptions, type ServerOptions, TransportKind } from 'vscode-languageclient/node';

export function registerLanguageFeatures(context: vscode.ExtensionContext): void {
  const module = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.stdio },
    debug: { module, transport: TransportKind.stdio, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
  };
  const clientOptions: LanguageClientOptions = {
    // Files on disk and unsaved editors; the server reads a scenario's imports and policy from disk.
    documentSelector: [{ scheme: 'file', language: 'xsave' }, { scheme: 'untitled', language: 'xsave' }],
  };
  const client = new LanguageClient('xsave', 'XSAVE scenario language', serverOptions, clientOptions);
  context.subscriptions.push({ dispose: () => { void client.stop(); } });
  void client.start();
}
