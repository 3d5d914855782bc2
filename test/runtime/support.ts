// Shared by the runtime's tests: a DebugRuntime driven directly under Node (no DAP, no adapter
// process), its events collected, and scenarios written to a temporary folder so that the file gate
// reads them as it reads a user's.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DebugRuntime, type RuntimeOptions } from '../../src/runtime/runtime';
import type { RuntimeEvent, Stop } from '../../src/runtime/events';

export const root = join(__dirname, '..', '..', '..');
export const fixture = (name: string): string => join(root, 'test', 'fixtures', name);

const dir = mkdtempSync(join(tmpdir(), 'xsave-runtime-'));

/** Writes a scenario file; returns its path. */
export function scenario(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** The 1-based line of the first line of `text` that contains `marker`. */
export function lineOf(text: string, marker: string): number {
  const k = text.split('\n').findIndex((l) => l.includes(marker));
  if (k < 0) throw new Error(`no line contains ${JSON.stringify(marker)}`);
  return k + 1;
}

export class Driven {
  readonly events: RuntimeEvent[] = [];
  private last: Stop | null = null;
  readonly rt = new DebugRuntime((e) => {
    this.events.push(e);
    if (e.type === 'stopped') this.last = e.stop;
  });

  /** Launches and starts; resolves once the first stop (or the end) has been reported. */
  async launch(options: RuntimeOptions): Promise<void> {
    await this.rt.launch(options);
    this.rt.start();
    await this.settled();
  }

  /** Waits until the machine no longer runs (a stop or the end was reported). */
  async settled(): Promise<void> {
    for (let k = 0; this.rt.isRunning; k++) {
      if (k > 20_000) throw new Error('the runtime never stopped');
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  /** The events reported since the last call, and clears the log. */
  take(): RuntimeEvent[] {
    return this.events.splice(0);
  }

  /** The last stop reported (the log may have been taken since). */
  lastStop(): Stop {
    if (!this.last) throw new Error('no stop was reported');
    return this.last;
  }

  /** The stops among the events not taken yet. */
  stops(): Stop[] {
    return this.events.flatMap((e) => (e.type === 'stopped' ? [e.stop] : []));
  }

  /** `name:line` of each frame of the stopped thread, innermost first (`[VM entry]` for the label). */
  stack(thread = this.lastStop().thread): string[] {
    return (this.rt.stack(thread) ?? []).map((f) => (f.kind === 'label' ? f.name : `${f.name}:${f.line}`));
  }

  /** The console lines (stdout, stderr, console) printed so far. */
  lines(category?: string): string[] {
    return this.events.flatMap((e) => (e.type === 'output' && e.group !== 'end' && (category === undefined || e.category === category) ? [e.text] : []));
  }
}
