// Debugging scenarios in VS Code: the adapter runs inline in the extension host (the same session
// class `node dist/adapter.js` runs), F5 on an open scenario works without a launch.json, the
// editor title's Run menu has Run, Debug and Explore, and the Variables view's context menu toggles
// hex.
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import * as vscode from 'vscode';
import { XsaveDebugSession } from '../debug/session';
import { chooseExample } from './example-choice';

export const DEBUG_TYPE = 'xsave';

export function registerDebugging(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, {
      createDebugAdapterDescriptor: () => new vscode.DebugAdapterInlineImplementation(new XsaveDebugSession()),
    }),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, { resolveDebugConfiguration }),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, {
      provideDebugConfigurations: () => [scenarioConfiguration('${file}')],
    }, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
    vscode.commands.registerCommand('xsave.debugScenario', (uri?: vscode.Uri) => start(uri, false)),
    vscode.commands.registerCommand('xsave.runScenario', (uri?: vscode.Uri) => start(uri, true)),
    // The adapter explores (progress and cancel through DAP progress events), then debugs the
    // counterexample stopped at its violation.
    vscode.commands.registerCommand('xsave.exploreInterleavings', (uri?: vscode.Uri) => start(uri, false, true)),
    vscode.commands.registerCommand('xsave.toggleHex', async () => {
      const s = vscode.debug.activeDebugSession;
      if (s?.type === DEBUG_TYPE) await s.customRequest('xsave/toggleHex');
    }),
    vscode.commands.registerCommand('xsave.openExample', () => openExample(context, 'xfd-err-leak.xsave')),
    // Explore's counterexample: opened beside the stop (which may be in kernel code), so the user
    // sees the scenario that breaks, with the events the search placed.
    vscode.debug.onDidReceiveDebugSessionCustomEvent(async (e) => {
      if (e.session.type !== DEBUG_TYPE || e.event !== 'xsave/counterexample') return;
      const path = (e.body as { path?: unknown } | undefined)?.path;
      if (typeof path !== 'string') return;
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(path));
      await vscode.window.showTextDocument(doc, { preview: false, preserveFocus: true });
    }),
  );
}

/** The walkthrough's example: the workspace's copy, else a copy made in the workspace (example-choice.ts). */
async function openExample(context: vscode.ExtensionContext, name: string): Promise<void> {
  const bundled = vscode.Uri.joinPath(context.extensionUri, 'examples', name);
  const found = await vscode.workspace.findFiles(`**/${name}`, '**/node_modules/**', 10);
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  const exists = (p: string) => existsSync(p);
  const choice = chooseExample(name, found.map((u) => u.fsPath), folders, exists, bundled.fsPath);
  let target: vscode.Uri;
  if (choice.action === 'copy') {
    target = vscode.Uri.file(choice.to);
    await vscode.workspace.fs.createDirectory(vscode.Uri.file(dirname(choice.to)));
    await vscode.workspace.fs.copy(vscode.Uri.file(choice.from), target, { overwrite: false });
  } else {
    target = vscode.Uri.file(choice.path);
    if (choice.note) void vscode.window.showInformationMessage(choice.note);
  }
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(target));
}

function scenarioConfiguration(program: string, noDebug = false): vscode.DebugConfiguration {
  return {
    type: DEBUG_TYPE, request: 'launch', name: noDebug ? 'Run scenario' : 'Debug scenario', program, stopOnEntry: !noDebug,
    ...(noDebug ? { noDebug: true } : {}),
  };
}

/** F5 with no launch.json: debug the scenario in the active editor. */
function resolveDebugConfiguration(folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.DebugConfiguration | undefined {
  if (!config.type && !config.request && !config.name) {
    const editor = vscode.window.activeTextEditor;
    if (editor?.document.languageId === 'xsave') {
      if (!onDisk(editor.document.uri)) return undefined;
      config = scenarioConfiguration(editor.document.uri.fsPath);
    }
  }
  // Scenarios may import from the workspace the user opened (the adapter's file gate allows it).
  if (folder && config.program && config.workspaceFolder === undefined) config.workspaceFolder = folder.uri.fsPath;
  if (!config.program) {
    void vscode.window.showInformationMessage('Open a scenario (.xsave) to debug it, or set "program" in launch.json.');
    return undefined;
  }
  return config;
}

async function start(uri: vscode.Uri | undefined, noDebug: boolean, explore = false): Promise<void> {
  const target = uri ?? vscode.window.activeTextEditor?.document.uri;
  if (!target) { void vscode.window.showInformationMessage('Open a scenario (.xsave) first.'); return; }
  if (!onDisk(target)) return;
  const folder = vscode.workspace.getWorkspaceFolder(target);
  const config = scenarioConfiguration(target.fsPath, noDebug);
  if (explore) Object.assign(config, { name: 'Explore interleavings', explore: true, stopOnEntry: false });
  await vscode.debug.startDebugging(folder, config, { noDebug });
}

/** The simulator reads a scenario, its imports and its policy from disk: a virtual or unsaved file cannot run. */
function onDisk(uri: vscode.Uri): boolean {
  if (uri.scheme === 'file') return true;
  void vscode.window.showInformationMessage(`A scenario runs from a file on disk (this one is ${uri.scheme}:); save it to a folder first.`);
  return false;
}
