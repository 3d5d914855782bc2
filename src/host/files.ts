// The one gate between scenarios and the host's files, for the CLI, the debug adapter and the
// language server. Reading: a scenario, what it imports and the policy it names are read here (the
// compiler chooses the policy and resolves the paths, src/lang/compiler.ts), and only `.xsave`
// files inside the allowed folders are read (the scenario's own folder tree, the workspace
// the client opened, the shipped kernel folder), symlinks resolved before the check; anything else
// is a diagnostic that names the path and never its contents. Writing: a counterexample is created
// next to its scenario (or at --out) without following a link already at that path and never into
// the shipped kernel folder.
import { closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { FileAccessor } from '../lang/compiler';

/** The largest scenario, policy or imported file read (bytes). */
export const MAX_FILE_BYTES = 1 << 20;

let kernel: string | null = null;

/** Where shipped kernel code lives: src/kernel/ beside the bundles' dist/ (the nearest above this file). */
export function kernelDir(): string {
  if (kernel !== null) return kernel;
  for (let d = __dirname, k = 0; k < 6; k++, d = dirname(d)) {
    if (existsSync(join(d, 'src', 'kernel', 'policies'))) return (kernel = join(d, 'src', 'kernel'));
  }
  return (kernel = resolve(__dirname, '..', 'src', 'kernel'));
}

/** Where shipped policies live: src/kernel/policies/. */
export function policyDir(): string {
  return join(kernelDir(), 'policies');
}

function real(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * A FileAccessor that reads only `.xsave` files under its roots. `refused(path)` says why a path
 * may not be read (the compiler reports it at the import); `read` returns null for those.
 */
export class FileGate implements FileAccessor {
  private readonly roots: string[];

  constructor(roots: readonly string[]) {
    const rs = new Set<string>();
    for (const r of [...roots, kernelDir()]) {
      const p = real(resolve(r));
      if (p !== null) rs.add(p);
    }
    this.roots = [...rs];
  }

  /** The gate of a scenario: its folder tree, the workspace (when one is open) and the kernel folder. */
  static forScenario(program: string, workspace?: string | null): FileGate {
    return new FileGate([dirname(resolve(program)), ...(workspace ? [workspace] : [])]);
  }

  /** Why `path` may not be read, or null when it may. */
  refused(path: string): string | null {
    const c = this.check(path);
    return 'message' in c ? c.message : null;
  }

  /** The real path behind `path` when it may be read, else the message of why not. */
  private check(path: string): { real: string } | { message: string } {
    const abs = resolve(path);
    if (!abs.endsWith('.xsave')) return { message: `'${path}' is not a scenario file (.xsave)` };
    if (!existsSync(abs)) return { message: `cannot read '${path}': no such file` };
    const r = real(abs);
    if (r === null) return { message: `cannot read '${path}'` };
    if (!r.endsWith('.xsave')) return { message: `'${path}' is a link to a file that is not a scenario file (.xsave)` };
    if (!this.roots.some((root) => inside(r, root))) {
      return { message: `cannot read '${path}': it is outside the folders a scenario may read (its own folder, the workspace, the shipped kernel folder)` };
    }
    try {
      const st = statSync(r);
      if (!st.isFile()) return { message: `cannot read '${path}': not a file` };
      if (st.size > MAX_FILE_BYTES) return { message: `cannot read '${path}': larger than ${MAX_FILE_BYTES / (1 << 20)} MB` };
    } catch {
      return { message: `cannot read '${path}'` };
    }
    return { real: r };
  }

  read(path: string): string | null {
    const c = this.check(path);
    if ('message' in c) return null;
    // Opened without following a link and without blocking (a FIFO swapped in meanwhile), then
    // checked again on the open file: what is read is what was checked.
    let fd: number;
    try {
      fd = openSync(c.real, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
    } catch {
      return null;
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile() || st.size > MAX_FILE_BYTES) return null;
      return readFileSync(fd, 'utf8');
    } catch {
      return null;
    } finally {
      closeSync(fd);
    }
  }

  resolve(from: string, rel: string): string {
    return resolve(dirname(from), rel);
  }

  /** The shipped policies by name, which the compiler resolves a `policy "NAME"` against. */
  shippedPolicies(): ReadonlyMap<string, string> {
    return shippedPolicyFiles();
  }
}

/** The gate of the working directory (and the kernel folder): for tests and tools run in the checkout. */
export const nodeFiles: FileGate = new FileGate([process.cwd()]);

/** Shipped policy names and their files; looked up as a Map, so no name reaches an object's prototype. */
export function shippedPolicyFiles(): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of xsaveFilesIn(policyDir())) out.set(basename(f).slice(0, -'.xsave'.length), f);
  return out;
}

/** The `.xsave` files of a folder, sorted, as paths; none when the folder does not exist. */
export function xsaveFilesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  try {
    return readdirSync(dir).filter((n) => n.endsWith('.xsave')).sort().map((n) => join(dir, n));
  } catch {
    return [];
  }
}

// ---- writing ----------------------------------------------------------------------------------

/** Where a scenario's counterexample goes by default: `NAME.counterexample.xsave` beside it. */
export function counterexamplePath(program: string): string {
  const abs = resolve(program);
  const dir = dirname(abs);
  const name = `${basename(abs).replace(/\.xsave$/, '')}.counterexample.xsave`;
  const realDir = real(dir);
  // Never into the shipped kernel folder: a counterexample of a shipped file goes to the temp folder.
  if (realDir !== null && inside(realDir, real(kernelDir()) ?? kernelDir())) return join(tmpdir(), 'xsave-debug', name);
  return join(dir, name);
}

export class WriteRefused extends Error {
  override name = 'WriteRefused';
}

/**
 * Writes `text` as a new file at `path`: created exclusively under a temporary name in the same
 * folder (O_EXCL | O_NOFOLLOW), then renamed into place. A link, a folder or anything but a regular
 * file already at `path` is refused, so nothing is ever written through a link; a regular file there
 * (an earlier counterexample) is replaced. Throws WriteRefused with a message naming the path.
 */
export function writeNewFile(path: string, text: string): void {
  const abs = resolve(path);
  const dir = dirname(abs);
  if (dir === join(tmpdir(), 'xsave-debug')) {
    // A shared temporary folder: ours only if it is a real folder of this user, made private.
    try { mkdirSync(dir, { mode: 0o700 }); } catch { /* there already, or reported below */ }
    const st = lstatSync(dir, { throwIfNoEntry: false });
    if (!st || !st.isDirectory() || (process.getuid !== undefined && st.uid !== process.getuid())) {
      throw new WriteRefused(`cannot write '${path}': '${dir}' is not a folder of this user`);
    }
  }
  const realDir = real(dir);
  if (realDir === null) throw new WriteRefused(`cannot write '${path}': its folder does not exist`);
  if (inside(realDir, real(kernelDir()) ?? kernelDir())) throw new WriteRefused(`cannot write '${path}': it is in the shipped kernel folder`);
  let st: ReturnType<typeof lstatSync> | null = null;
  try { st = lstatSync(abs); } catch { st = null; }
  if (st !== null && !st.isFile()) {
    throw new WriteRefused(`cannot write '${path}': ${st.isSymbolicLink() ? 'a link' : st.isDirectory() ? 'a folder' : 'something other than a file'} is already there (remove it, or choose another path)`);
  }
  const tmp = join(realDir, `.${basename(abs)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o644);
  } catch (e) {
    throw new WriteRefused(`cannot write '${path}': ${errText(e)}`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new WriteRefused(`cannot write '${path}'`);
    writeSync(fd, text);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e instanceof WriteRefused ? e : new WriteRefused(`cannot write '${path}': ${errText(e)}`);
  }
  closeSync(fd);
  try {
    renameSync(tmp, join(realDir, basename(abs)));
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw new WriteRefused(`cannot write '${path}': ${errText(e)}`);
  }
}

function errText(e: unknown): string {
  const code = (e as { code?: string }).code;
  switch (code) {
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'ENOENT': return 'its folder does not exist';
    case 'ENOTDIR': return 'a part of the path is not a folder';
    case 'EISDIR': return 'a folder is there';
    case 'EROFS': return 'read-only file system';
    case 'ENOSPC': return 'no space left on the device';
    case 'ELOOP': return 'a link is there';
    default: return code ?? 'write failed';
  }
}
