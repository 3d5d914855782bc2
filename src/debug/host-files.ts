// Scenario and policy files on disk, for the CLI and the debug adapter: the FileAccessor the
// compiler reads through, and where a policy name leads (src/kernel/policies/NAME.xsave next to the
// bundles in dist/, or a .xsave file of the user's).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { FileAccessor } from '../lang/compiler';
import { parse } from '../lang/parser';
import type { Diagnostic } from '../lang/source';

export const nodeFiles: FileAccessor = {
  read(path: string): string | null {
    try {
      return existsSync(path) && statSync(path).isFile() ? readFileSync(path, 'utf8') : null;
    } catch {
      return null;
    }
  },
  resolve(from: string, rel: string): string {
    return resolve(dirname(from), rel);
  },
};

/** Where shipped policies live: src/kernel/policies/ beside the bundles' dist/. */
export function policyDir(): string {
  return resolve(__dirname, '..', 'src', 'kernel', 'policies');
}

export function shippedPolicies(): string[] {
  const d = policyDir();
  return existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.xsave')).map((f) => f.slice(0, -6)).sort() : [];
}

/** The file a policy names: a shipped name, or a .xsave path relative to `base`; null if it is not there. */
export function policyFile(policy: string, base: string): string | null {
  const path = policy.endsWith('.xsave') ? resolve(base, policy) : join(policyDir(), `${policy}.xsave`);
  return nodeFiles.read(path) === null ? null : path;
}

export function unknownPolicyMessage(policy: string): string {
  const known = shippedPolicies();
  return `unknown policy '${policy}' (${known.length ? `shipped: ${known.join(', ')}` : 'no policies are shipped in this version'}; or name a .xsave file)`;
}

/**
 * The policy file a scenario runs with: `override` (a launch attribute) or the scenario's `policy`
 * line, as an import for the compiler. An unknown policy is a diagnostic at the policy line (or at
 * the top of the file when the override names it).
 */
export function policyImports(program: string, text: string, override: string | undefined): { imports: string[]; diagnostic: Diagnostic | null } {
  const item = parse(program, text).ast.items.find((i) => i.kind === 'policy') as { policy: string; range: Diagnostic['range'] } | undefined;
  const policy = override ?? item?.policy;
  if (policy === undefined) return { imports: [], diagnostic: null };
  const file = policyFile(policy, dirname(program));
  if (file !== null) return { imports: [file], diagnostic: null };
  const range = override === undefined && item ? item.range : { start: { offset: 0, line: 1, column: 1 }, end: { offset: 0, line: 1, column: 1 } };
  return { imports: [], diagnostic: { file: program, range, severity: 'error', message: unknownPolicyMessage(policy) } };
}
