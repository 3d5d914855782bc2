// Why the runtime refused a call, as data a client turns into its own error (a DAP error response
// with its id, a test's assertion). The message says what to do.
export type RuntimeErrorKind =
  /** Nothing is launched (or the session was disconnected). */
  | 'notLaunched'
  /** A run is in progress: pause it first. */
  | 'busy'
  /** The launch (or restart) could not load the scenario. */
  | 'launch'
  /** No such thread or frame. */
  | 'badFrame'
  /** No such variable or stop detail. */
  | 'badReference'
  /** A memory reference that names nothing, or bytes that are not mapped. */
  | 'memory'
  /** Arguments the pictures cannot use: an area that names nothing, an empty window, a step outside the run. */
  | 'badArguments';

export class RuntimeError extends Error {
  override name = 'RuntimeError';
  constructor(readonly kind: RuntimeErrorKind, message: string) {
    super(message);
  }
}

export function notLaunched(): RuntimeError {
  return new RuntimeError('notLaunched', 'no scenario is running: launch one first');
}
