// Writing a picture to disk for `xsave-sim timeline --out`: an SVG or HTML file the user named. The
// host layer is the one that touches the file system; a write that fails is a message naming the
// path and the cause, which the CLI reports as bad usage.
import { writeFileSync } from 'node:fs';

export class PictureWriteError extends Error {
  override name = 'PictureWriteError';
}

/** Writes (or replaces) the file at `path` with `text`. */
export function writePictureFile(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new PictureWriteError(`${path}: cannot write: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}
