// The VS Code extension's activation. This layer alone imports 'vscode' (DESIGN §3). Until the
// debug adapter lands it contributes the scenario language (grammar and editor configuration,
// declared in package.json) and nothing at run time.
import type * as vscode from 'vscode';

export function activate(_context: vscode.ExtensionContext): void {
  // The language contributions are declarative; there is nothing to register yet.
}

export function deactivate(): void {}
