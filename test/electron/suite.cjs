// Runs inside the desktop VS Code's extension host (loaded by @vscode/test-electron): debugs the
// seed example with a breakpoint in the guest #NM handler and checks the stop, the Call Stack and
// IA32_XFD_ERR through the extension's own debug session. Plain CommonJS, no test framework.
const assert = require('node:assert/strict');
const path = require('node:path');
const vscode = require('vscode');

exports.run = async function run() {
  const example = path.join(__dirname, '..', '..', 'examples', 'xfd-err-leak.xsave');
  const doc = await vscode.workspace.openTextDocument(example);
  await vscode.window.showTextDocument(doc);
  assert.equal(doc.languageId, 'xsave');
  vscode.debug.addBreakpoints([new vscode.SourceBreakpoint(new vscode.Location(doc.uri, new vscode.Position(14, 0)))]);
  const stopped = new Promise((resolve) => {
    const d = vscode.debug.registerDebugAdapterTrackerFactory('xsave', {
      createDebugAdapterTracker: () => ({
        onDidSendMessage: (m) => { if (m.type === 'event' && m.event === 'stopped') { d.dispose(); resolve(m.body); } },
      }),
    });
  });
  const ok = await vscode.debug.startDebugging(undefined, { type: 'xsave', request: 'launch', name: 'suite', program: example, policy: 'linux-5.17' });
  assert.ok(ok, 'the debug session started');
  const stop = await stopped;
  assert.equal(stop.reason, 'breakpoint');
  const s = vscode.debug.activeDebugSession;
  const st = await s.customRequest('stackTrace', { threadId: stop.threadId });
  const names = st.stackFrames.map((f) => f.name);
  assert.equal(names[0], 'guest:exc_device_not_available');
  assert.ok(names.indexOf('[VM entry]') > 0);
  const scopes = await s.customRequest('scopes', { frameId: st.stackFrames[0].id });
  const cpu = scopes.scopes.find((x) => x.name === 'CPU 0');
  const vars = await s.customRequest('variables', { variablesReference: cpu.variablesReference });
  assert.equal(vars.variables.find((v) => v.name === 'IA32_XFD_ERR').value, '0x40000 [XTILEDATA]');
  await vscode.debug.stopDebugging(s);
};
