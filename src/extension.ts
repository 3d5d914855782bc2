// The VS Code extension's activation: the only code that imports 'vscode' (DESIGN §3; helpers in
// src/extension/). Activation registers the debugger (an inline adapter over the same session as
// `node dist/adapter.js`), its configuration provider and commands, the pictures (the XSAVE layout
// view and the run timeline) and the language features.
// Everything registered goes into the context's subscriptions, so deactivation disposes it.
import type * as vscode from 'vscode';
import { registerDebugging } from './extension/debugging';
import { registerLanguageFeatures } from './extension/language-features';
import { registerPictures } from './extension/pictures';

export function activate(context: vscode.ExtensionContext): void {
  registerDebugging(context);
  registerPictures(context);
  registerLanguageFeatures(context);
}

export function deactivate(): void {}
