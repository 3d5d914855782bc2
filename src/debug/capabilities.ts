// The adapter's capabilities, declared where they are implemented: each handler of the session
// sits under a `static { capability({...}) }` block naming the flags it makes true, and the
// initialize response sends what those blocks collected. The list cannot drift from the code
// (gdb's DAP server decorates its handlers the same way).
import type { DebugProtocol } from '@vscode/debugprotocol';

const declared: DebugProtocol.Capabilities = {};

/** Declares capabilities; call it from a static block next to the handler that implements them. */
export function capability(c: DebugProtocol.Capabilities): void {
  Object.assign(declared, c);
}

/** Everything declared so far (the session class has been evaluated by the time anyone asks). */
export function capabilities(): DebugProtocol.Capabilities {
  return { ...declared };
}
