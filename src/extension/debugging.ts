// Debugging scenarios in VS Code: the adapter runs inline in the extension host (the same session
// class `node dist/adapter.js` runs), F5 on an open scenario works without a launch.json, the
// editor title has Run and Debug buttons, and the Variables view's context menu toggles hex.
import * as vscode from 'vscode';
import { XsaveDebugSession } from '../debug/session';

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
    vscode.commands.registerCommand('xsave.openExample', async () => {
      const uri = vscode.Uri.joinPath(context.extensionUri, 'examples', 'xfd-err-leak.xsave');
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    }),
  );
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
    if (editor?.document.languageId === 'xsave') config = scenarioConfiguration(editor.document.uri.fsPath);
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
  const folder = vscode.workspace.getWorkspaceFolder(target);
  const config = scenarioConfiguration(target.fsPath, noDebug);
  if (explore) Object.assign(config, { name: 'Explore interleavings', explore: true, stopOnEntry: false });
  await vscode.debug.startDebugging(folder, config, { noDebug });
}
