// Extracts DuckDB's native files from the executable into the cache (first start, or repair). Loaded only
// when cache-dir.ts finds no intact copy, so a warm start never loads zlib or crypto.
//
// First start is on the critical path of the first answer, so it is split in two:
//  1. extract: decode the assets into a private temp dir (frames decode in parallel on the thread pool);
//     the caller dlopens from there at once.
//  2. publish, after the library is loaded: fsync, then rename the temp dir into place. A directory is
//     published whole, so two processes starting at once never see half a library; the loser of the
//     rename keeps using its own (already mapped) copy and removes it.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { STAMP, type Stamp, cacheError, isIntact } from './cache-dir.ts';
import { NativeCacheError } from './errors.ts';
import type { NativeFile, NativeManifest } from './manifest.ts';

const zstdDecompress = promisify(zlib.zstdDecompress);

export type ReadAsset = (key: string) => ArrayBuffer;

export interface Extraction {
  /** A private directory holding complete files, loadable now. */
  dir: string;
  /** Makes the copy durable and moves it into place; resolves to the published directory. */
  publish(): Promise<string>;
}

/** Decodes one frame (on the thread pool, one hop) and writes it at its place in the file. */
async function writeFrame(handle: fs.FileHandle, bytes: Uint8Array, codec: NativeFile['codec'], start: number): Promise<void> {
  const decoded = codec === 'none' ? bytes : await zstdDecompress(bytes, { chunkSize: 64 << 20 });
  await handle.write(decoded, 0, decoded.length, start);
}

async function writeFile(target: string, file: NativeFile, readAsset: ReadAsset): Promise<void> {
  const handle = await fs.open(target, 'wx', 0o755);
  try {
    let offset = 0;
    await Promise.all(file.frames.map((frame) => {
      const start = offset;
      offset += frame.size;
      return writeFrame(handle, new Uint8Array(readAsset(frame.asset)), file.codec, start);
    }));
    const { size } = await handle.stat();
    if (size !== file.size) throw new Error(`${file.name} decoded to ${size} bytes, expected ${file.size}`);
  } finally {
    await handle.close();
  }
}

async function fsync(file: string): Promise<void> {
  const handle = await fs.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Temp dirs of processes that died before publishing (`.<id>.tmp-<pid>-<random>`). */
async function removeAbandoned(root: string, id: string): Promise<void> {
  const prefix = `.${id}.tmp-`;
  for (const name of await fs.readdir(root)) {
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (name.startsWith(prefix) && pid !== process.pid && !isAlive(pid)) {
      await fs.rm(path.join(root, name), { recursive: true, force: true });
    }
  }
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

async function publish(root: string, tmp: string, manifest: NativeManifest): Promise<string> {
  const dir = path.join(root, manifest.id);
  try {
    await Promise.all([...manifest.files.map((file) => fsync(path.join(tmp, file.name))), fsync(path.join(tmp, STAMP))]);
    // Checked again: another process may have published an intact copy meanwhile.
    if (!isIntact(dir, manifest.files)) {
      await moveAside(dir);
      try {
        await fs.rename(tmp, dir);
        await fsync(root);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // Another process published first; its copy is as good as ours.
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !isIntact(dir, manifest.files)) throw error;
      }
    }
    return dir;
  } catch (error) {
    throw cacheError(root, 'could not be saved', error);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Decodes the native files into a fresh private directory under `root` (which must exist). */
export async function extract(root: string, manifest: NativeManifest, readAsset: ReadAsset): Promise<Extraction> {
  const tmp = path.join(root, `.${manifest.id}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await removeAbandoned(root, manifest.id);
    await fs.mkdir(tmp, { mode: 0o700 });
    const stamp: Stamp = {};
    await Promise.all(manifest.files.map(async (file) => {
      const target = path.join(tmp, file.name);
      await writeFile(target, file, readAsset);
      const stat = await fs.stat(target);
      stamp[file.name] = { size: stat.size, mtimeMs: stat.mtimeMs };
    }));
    await fs.writeFile(path.join(tmp, STAMP), JSON.stringify(stamp));
  } catch (error) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (error instanceof NativeCacheError) throw error;
    throw cacheError(root, 'could not be written', error);
  }
  return { dir: tmp, publish: () => publish(root, tmp, manifest) };
}
