// The FileAccessor the CLI (and the standalone adapter) use: scenario and policy files from disk.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { FileAccessor } from '../lang/compiler';

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
