// Extracts DuckDB's native files from the executable into a cache directory, once per version+platform+hash.
// A directory is published whole: files are written into a private temp dir, then renamed into place, so
// two processes starting at once never see half a library; the loser of the rename uses the winner's copy.
// A published dir records each file's size and mtime; a start that finds them changed (a file deleted,
// truncated or rewritten) moves the dir aside and extracts again.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { NativeCacheError } from './errors.ts';
import type { NativeFile, NativeManifest } from './manifest.ts';

const STAMP = '.stamp.json';
const zstdDecompress = promisify(zlib.zstdDecompress);

type Stamp = Record<string, { size: number; mtimeMs: number }>;
export type ReadAsset = (key: string) => ArrayBuffer;

function cacheError(dir: string, what: string, cause: unknown): NativeCacheError {
  const reason = (cause as NodeJS.ErrnoException)?.code ?? String(cause);
  return new NativeCacheError(
    `native cache ${dir} ${what} (${reason}): set SKYDUCK_NATIVE_CACHE to a writable directory on a filesystem that allows exec`,
  );
}

/** Creates the cache root private to this user and refuses one that others could write into. */
async function ensureRoot(root: string): Promise<void> {
  try {
    await fs.mkdir(root, { recursive: true, mode: 0o700 });
    await fs.access(root, fs.constants.W_OK);
  } catch (error) {
    throw cacheError(root, 'is not writable', error);
  }
  const stat = await fs.stat(root);
  const uid = process.getuid?.();
  if ((uid !== undefined && stat.uid !== uid) || (stat.mode & 0o022) !== 0) {
    throw new NativeCacheError(
      `native cache ${root} is writable by other users or owned by another user, so a library loaded from it could be replaced: ` +
        'set SKYDUCK_NATIVE_CACHE to a directory only you can write',
    );
  }
}

async function isIntact(dir: string, files: NativeFile[]): Promise<boolean> {
  try {
    const stamp = JSON.parse(await fs.readFile(path.join(dir, STAMP), 'utf8')) as Stamp;
    for (const file of files) {
      const stat = await fs.stat(path.join(dir, file.name));
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

async function decode(file: NativeFile, readAsset: ReadAsset): Promise<Uint8Array[]> {
  const frames = file.assets.map((key) => new Uint8Array(readAsset(key)));
  if (file.codec === 'none') return frames;
  // Frames decompress in parallel on the libuv thread pool.
  return Promise.all(
    frames.map((frame) =>
      zstdDecompress(frame, { chunkSize: 32 << 20, params: { [zlib.constants.ZSTD_d_windowLogMax]: 31 } }),
    ),
  );
}

async function writeFile(target: string, chunks: Uint8Array[], expectedSize: number): Promise<void> {
  const handle = await fs.open(target, 'wx', 0o755);
  try {
    let written = 0;
    for (const chunk of chunks) {
      await handle.write(chunk, 0, chunk.length, written);
      written += chunk.length;
    }
    if (written !== expectedSize) throw new Error(`${path.basename(target)} decoded to ${written} bytes, expected ${expectedSize}`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function extractInto(tmp: string, files: NativeFile[], readAsset: ReadAsset): Promise<void> {
  await fs.mkdir(tmp, { mode: 0o700 });
  const stamp: Stamp = {};
  await Promise.all(
    files.map(async (file) => {
      const target = path.join(tmp, file.name);
      await writeFile(target, await decode(file, readAsset), file.size);
      const stat = await fs.stat(target);
      stamp[file.name] = { size: stat.size, mtimeMs: stat.mtimeMs };
    }),
  );
  await fs.writeFile(path.join(tmp, STAMP), JSON.stringify(stamp));
}

async function moveAside(dir: string): Promise<void> {
  const aside = `${dir}.damaged-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fs.rename(dir, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // another process moved it first
    throw error;
  }
  await fs.rm(aside, { recursive: true, force: true });
}

/** Returns the directory holding intact native files, extracting or repairing them when needed. */
export async function ensureExtracted(root: string, manifest: NativeManifest, readAsset: ReadAsset): Promise<string> {
  await ensureRoot(root);
  const dir = path.join(root, manifest.id);
  if (await isIntact(dir, manifest.files)) return dir;

  const tmp = path.join(root, `.${manifest.id}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await extractInto(tmp, manifest.files, readAsset);
    // Checked again: another process may have published an intact copy while we extracted.
    if (await isIntact(dir, manifest.files)) return dir;
    await moveAside(dir);
    try {
      await fs.rename(tmp, dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Another process published first; its copy is as good as ours.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      if (!(await isIntact(dir, manifest.files))) throw error;
    }
  } catch (error) {
    if (error instanceof NativeCacheError) throw error;
    throw cacheError(root, 'could not be written', error);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
  return dir;
}
