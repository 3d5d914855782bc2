// The standalone debug adapter: `node dist/adapter.js` speaks the Debug Adapter Protocol over stdin
// and stdout for any DAP client (VS Code, nvim-dap, Emacs dap-mode, Helix).
import { XsaveDebugSession } from './debug/session';

// A defect that escapes every handler must not end the client's session: one line on stderr (the
// client shows it as the adapter's log), and the adapter goes on answering requests.
const report = (e: unknown): void => {
  const what = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e).split('\n')[0];
  process.stderr.write(`xsave-debug adapter: internal error (please report it): ${what}\n`);
};
process.on('uncaughtException', report);
process.on('unhandledRejection', report);

XsaveDebugSession.run(XsaveDebugSession);
