// The native cache directory: created private to this user, and checked for an intact extracted copy.
// A published copy records each file's size and mtime; a start that finds them changed (a file deleted,
// truncated or rewritten) extracts again. Synchronous on purpose: on a warm start these few stats are all
// the native preparation there is.
import fs from 'node:fs';
import path from 'node:path';
import { NativeCacheError } from './errors.ts';
import type { NativeFile } from './manifest.ts';

export const STAMP = '.stamp.json';
export type Stamp = Record<string, { size: number; mtimeMs: number }>;

export function cacheError(dir: string, what: string, cause: unknown): NativeCacheError {
  const reason = (cause as NodeJS.ErrnoException)?.code ?? String(cause);
  return new NativeCacheError(
    `native cache ${dir} ${what} (${reason}): set SKYDUCK_NATIVE_CACHE to a writable directory on a filesystem that allows exec`,
  );
}

/** Creates the cache root private to this user and refuses one that others could write into. */
export function ensureRoot(root: string): void {
  try {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    fs.accessSync(root, fs.constants.W_OK);
  } catch (error) {
    throw cacheError(root, 'is not writable', error);
  }
  const stat = fs.statSync(root);
  const uid = process.getuid?.();
  if ((uid !== undefined && stat.uid !== uid) || (stat.mode & 0o022) !== 0) {
    throw new NativeCacheError(
      `native cache ${root} is writable by other users or owned by another user, so a library loaded from it could be replaced: ` +
        'set SKYDUCK_NATIVE_CACHE to a directory only you can write',
    );
  }
}

export function isIntact(dir: string, files: NativeFile[]): boolean {
  try {
    const stamp = JSON.parse(fs.readFileSync(path.join(dir, STAMP), 'utf8')) as Stamp;
    for (const file of files) {
      const stat = fs.statSync(path.join(dir, file.name));
      const recorded = stamp[file.name];
      if (!recorded || stat.size !== file.size || stat.size !== recorded.size || stat.mtimeMs !== recorded.mtimeMs) {
        return false;
      }
    }
    return true;
  } catch {
    return false;
  }
}

