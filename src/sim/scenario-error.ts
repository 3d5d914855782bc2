// The one error a scenario can cause at run time: a bad argument, a NULL dereference, a limit
// reached. The engine turns it into an `error` happening at the statement that raised it
// (`file:line:col: error: message`) and halts; it never escapes as a crash.
export class ScenarioError extends Error {}
