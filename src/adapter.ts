// The standalone debug adapter: `node dist/adapter.js` speaks the Debug Adapter Protocol over stdin
// and stdout for any DAP client (VS Code, nvim-dap, Emacs dap-mode, Helix).
import { XsaveDebugSession } from './debug/session';

XsaveDebugSession.run(XsaveDebugSession);
