// A worker thread of the explorer (bundled as dist/explore-worker.js): it rebuilds the search from
// plain data, walks the root lines (every worker does, they seed its visited set), then claims
// units from the shared counter until none is left or the shared stop flag is set, posting each
// unit's result. See explore-runner.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { type WorkerInput, type WorkerMessage, makeSearch } from './explore-runner';

const { input, counter, stop } = workerData as { input: WorkerInput; counter: Int32Array; stop: Int32Array; index: number };
const post = (m: WorkerMessage) => parentPort!.postMessage(m);

try {
  const search = makeSearch(input);
  const hooks = {
    isCancelled: () => Atomics.load(stop, 0) !== 0,
    onProgress: (p: { states: number; depth: number }) => post({ type: 'progress', states: p.states, depth: p.depth }),
  };
  const root = search.rootLines(hooks);
  const n = search.units().length;
  post({ type: 'root', result: root, units: n });
  for (;;) {
    if (Atomics.load(stop, 0) !== 0 || root.cancelled) break;
    const k = Atomics.add(counter, 0, 1) + 1;
    if (k > n) break;
    const r = search.unit(k, hooks);
    post({ type: 'unit', result: r });
    if (r.cancelled) break;
  }
  post({ type: 'done' });
} catch (e) {
  post({ type: 'failed', message: e instanceof Error ? e.stack ?? e.message : String(e) });
}
