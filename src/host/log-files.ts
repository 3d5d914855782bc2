// Reading a log file from disk for `xsave-sim silicon`: the JSON-lines text silicon/probe.c wrote,
// gunzipped when it was compressed (the recorded logs in test/fixtures/silicon/ are .jsonl.gz). The
// host layer is the one that touches the file system; the CLI turns a failure into a usage error.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** A log that cannot be read; the message names the path and the cause, never the contents. */
export class LogFileError extends Error {
  override name = 'LogFileError';
}

/** The text of a log file, gunzipped when it starts with the gzip magic (1F 8B, RFC 1952). */
export function readLogText(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new LogFileError(`${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch {
      throw new LogFileError(`${path}: not a valid gzip file`);
    }
  }
  return bytes.toString('utf8');
}
