// Shared by the engine's tests: a scenario given as text (at /t.xsave, reading nothing else), and
// the boot most invariant tests start from.
import assert from 'node:assert/strict';
import type { FileAccessor } from '../../src/lang/compiler';
import { formatDiagnostic } from '../../src/lang/source';
import type { Engine } from '../../src/sim/engine';
import { loadScenario } from '../../src/sim/scenario';

/** The machine for scenario text `src`, compiled as /t.xsave; fails the test on any diagnostic. */
export function load(src: string): Engine {
  const files: FileAccessor = { read: (p) => (p === '/t.xsave' ? src : null), resolve: (_f, r) => r };
  const r = loadScenario('/t.xsave', files);
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
  return r.engine!;
}

/** A boot that enables XSAVE with AMX in XCR0 and arms IA32_XFD for XTILEDATA (and the per-CPU cache). */
export const BOOT = `fn start_kernel() { cr4_set_osxsave(); xsetbv(0, 0x60007); wrmsr(MSR_IA32_XFD, 0x40000); this_cpu->xfd_state = 0x40000; }`;
