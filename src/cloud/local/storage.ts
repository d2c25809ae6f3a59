// Object storage on the local filesystem. Every key maps to a file below the root and can never
// leave it: each '/'-separated segment is percent-encoded (so '..', '.', '' and separators are plain
// names) and objects end in '.obj' (so 'a' and 'a/b' can both exist, as in object stores).
// Writes are atomic: a temp file in the same directory, fsync, then rename (or link, for create-only).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { AccessDeniedError, InvalidKeyError, NotFoundError, PreconditionFailedError, UnavailableError } from '../errors.ts';
import type { BlobStorageClient, ObjectInfo, PutOptions } from '../types.ts';

const SUFFIX = '.obj';
const TEMP = '.tmp-';

const encodeSegment = (segment: string): string => (segment === '' ? '%' : encodeURIComponent(segment).replace(/\./g, '%2E'));
const decodeSegment = (name: string): string => (name === '%' ? '' : decodeURIComponent(name));

export class LocalBlobStorage implements BlobStorageClient {
  readonly provider = 'local' as const;
  readonly location: string;
  private readonly root: string;

  /** The client's key prefix, a folder ('' or ending in '/'): encoded like any key, so it cannot leave the root either. */
  private readonly prefix: string;

  constructor(root: string, prefix = '') {
    this.root = path.resolve(root);
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.location = `file://${this.root}${this.prefix ? `/${this.prefix.slice(0, -1)}` : ''}`;
  }

  private pathOf(key: string): string {
    if (key.length === 0) throw new NotFoundError(this.site(key), 'an object key must not be empty');
    return path.join(this.root, ...(this.prefix + key).split('/').map(encodeSegment)) + SUFFIX;
  }

  private site(key: string) {
    return { provider: this.provider, resource: `${this.location}/${key}` };
  }

  private mapError(key: string, error: unknown): Error {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return new NotFoundError(this.site(key), 'no such object');
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      return new AccessDeniedError(this.site(key), `the filesystem refused access (${code})`);
    }
    if (code === 'ENOSPC' || code === 'EIO' || code === 'EMFILE') return new UnavailableError(this.site(key), `filesystem error (${code})`);
    if (code === 'ENAMETOOLONG') return new InvalidKeyError(this.site(key), 'a segment of the key is too long for a file name here (255 bytes once encoded)');
    return error as Error;
  }

  /** Writes through a temp file beside the target, fsyncs it, then publishes it under the key. */
  private async write(key: string, fill: (handle: fs.FileHandle) => Promise<void>, opts?: PutOptions): Promise<void> {
    const target = this.pathOf(key);
    const temp = path.join(path.dirname(target), `${TEMP}${randomBytes(6).toString('hex')}`);
    try {
      await fs.mkdir(path.dirname(target), { recursive: true });
      const handle = await fs.open(temp, 'wx', 0o600);
      try {
        await fill(handle);
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (opts?.ifNoneMatch === '*') {
        // link() fails atomically when the name exists: create-only without a race.
        await fs.link(temp, target).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'EEXIST') throw new PreconditionFailedError(this.site(key), 'the object already exists (create-only put)');
          throw error;
        });
      } else {
        await fs.rename(temp, target);
      }
      const dir = await fs.open(path.dirname(target), 'r');
      await dir.sync().finally(() => dir.close());
    } catch (error) {
      throw this.mapError(key, error);
    } finally {
      await fs.rm(temp, { force: true }).catch(() => undefined);
    }
  }

  putObject(key: string, data: Uint8Array, opts?: PutOptions): Promise<void> {
    return this.write(key, async (handle) => void (await handle.writeFile(data)), opts);
  }

  putStream(key: string, body: AsyncIterable<Uint8Array>, opts?: PutOptions): Promise<void> {
    return this.write(key, async (handle) => {
      // One write in flight while the next chunk is produced (read, encrypted): the disk and the CPU
      // work at once, and memory holds at most two chunks.
      let writing: Promise<unknown> = Promise.resolve();
      try {
        for await (const chunk of body) {
          await writing;
          writing = handle.write(chunk);
        }
      } finally {
        await writing.catch(() => undefined);
      }
      await writing;
    }, opts);
  }

  async getObject(key: string): Promise<Uint8Array> {
    try {
      return await fs.readFile(this.pathOf(key));
    } catch (error) {
      throw this.mapError(key, error);
    }
  }

  async getStream(key: string): Promise<Readable> {
    try {
      const handle = await fs.open(this.pathOf(key), 'r');
      return createReadStream('', { fd: handle, highWaterMark: 1 << 20 });
    } catch (error) {
      throw this.mapError(key, error);
    }
  }

  async headObject(key: string): Promise<ObjectInfo> {
    try {
      const stat = await fs.stat(this.pathOf(key));
      return { key, size: stat.size };
    } catch (error) {
      throw this.mapError(key, error);
    }
  }

  async deleteObject(key: string): Promise<void> {
    try {
      await fs.rm(this.pathOf(key), { force: true });
    } catch (error) {
      throw this.mapError(key, error);
    }
  }

  async listObjects(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    const walk = async (dir: string, segments: string[]): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw this.mapError(prefix, error);
      }
      for (const entry of entries) {
        if (entry.name.startsWith(TEMP)) continue;
        if (entry.isDirectory()) {
          await walk(path.join(dir, entry.name), [...segments, decodeSegment(entry.name)]);
        } else if (entry.name.endsWith(SUFFIX)) {
          const key = [...segments, decodeSegment(entry.name.slice(0, -SUFFIX.length))].join('/');
          if (key.startsWith(full)) keys.push(key.slice(this.prefix.length));
        }
      }
    };
    // Only the directory named by the prefix's complete segments can hold matching keys.
    const full = this.prefix + prefix;
    const complete = full.split('/').slice(0, -1);
    await walk(path.join(this.root, ...complete.map(encodeSegment)), complete);
    return keys.sort();
  }
}
