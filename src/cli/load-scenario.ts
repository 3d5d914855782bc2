// How `run` and `timeline` open their scenario: the scenario's folder tree, the working directory
// and the shipped kernel folder may be read; the policy is --policy, else the scenario's own line
// (a relative file from the scenario's folder). What cannot be loaded becomes the command's
// output (exit status 2, `file:line:col: error: ...` lines) or, for `--cpu host` on a machine
// whose CPUID cannot be read, a usage error.
import { type LoadedScenario, loadScenarioFile } from '../host/scenario-file';
import { formatDiagnostic } from '../lang/source';
import { UsageError } from './args';

export type Loaded = Extract<LoadedScenario, { kind: 'loaded' }>;

/** The loaded scenario, or what the command prints and exits with instead. */
export function loadForCommand(file: string, policy: string | undefined, cpu: string | undefined): Loaded | { status: number; stdout: string; stderr: string } {
  const loaded = loadScenarioFile({ file, workspace: process.cwd(), ...(policy !== undefined ? { policy, policyOrigin: '--policy' } : {}), ...(cpu ? { cpu } : {}) });
  switch (loaded.kind) {
    case 'refused': return { status: 2, stdout: '', stderr: `${file}:1:1: error: ${loaded.message}\n` };
    case 'host-cpu': throw new UsageError(`--cpu host: ${loaded.message}`);
    case 'errors': return { status: 2, stdout: '', stderr: loaded.diagnostics.map((d) => formatDiagnostic(d) + '\n').join('') };
    case 'loaded': return loaded;
  }
}
