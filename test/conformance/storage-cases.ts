// The BlobStorageClient conformance cases: every backend, the same cases, the real SDK on the wire.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, PreconditionFailedError } from '../../src/cloud/errors.ts';
import type { BlobStorageClient } from '../../src/cloud/types.ts';
import { inCI } from '../support/emulators.ts';
import type { Backend, StorageEnv } from './backend.ts';

const MiB = 1 << 20;

async function* chunks(count: number, size: number, hash: ReturnType<typeof createHash>): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < count; i++) {
    const chunk = randomBytes(size);
    hash.update(chunk);
    yield chunk;
  }
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export function storageCases(backend: Backend): void {
  const missing = backend.missing();
  // Without the emulator the cases cannot run here; CI installs every emulator, so there this fails.
  describe.skipIf(missing !== undefined && !inCI)(`storage conformance: ${backend.name}${missing ? ` (skipped: ${missing})` : ''}`, () => {
    let env: StorageEnv;
    let counter = 0;
    const fresh = (): BlobStorageClient => env.open(`c${process.pid}-${Date.now().toString(36)}-${counter++}/`);

    beforeAll(async () => {
      if (missing) throw new Error(`${backend.name}: ${missing}`);
      env = await backend.storage();
    }, 120_000);
    afterAll(async () => env?.teardown());

    it.each([
      ['an empty object', 0],
      ['a 1-byte object', 1],
      ['a 5 MiB object', 5 * MiB],
    ])('round-trips %s', async (_, size) => {
      const client = fresh();
      const data = randomBytes(size);
      await client.putObject('object', data);
      expect(Buffer.from(await client.getObject('object')).equals(data)).toBe(true);
      expect((await client.headObject('object')).size).toBe(size);
    });

    it('streams a 64 MiB object in and out', async () => {
      const client = fresh();
      const sent = createHash('sha256');
      await client.putStream('big', chunks(64, MiB, sent));
      const received = createHash('sha256');
      let bytes = 0;
      for await (const chunk of await client.getStream('big')) {
        received.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
      }
      expect(bytes).toBe(64 * MiB);
      expect(received.digest('hex')).toBe(sent.digest('hex'));
    }, 120_000);

    it('streams an empty object', async () => {
      const client = fresh();
      await client.putStream('empty', (async function* () {})());
      expect((await client.headObject('empty')).size).toBe(0);
      expect(await client.getObject('empty')).toHaveLength(0);
    });

    it('lists more than 1000 keys across pages, sorted', async () => {
      const client = fresh();
      const keys = Array.from({ length: 1010 }, (_, i) => `many/${String(i).padStart(5, '0')}`).reverse();
      await mapLimit(keys, 32, (key) => client.putObject(key, new Uint8Array([1])));
      const listed = await client.listObjects('many/');
      expect(listed).toHaveLength(1010);
      expect(listed).toEqual([...keys].sort());
    }, 120_000);

    it('isolates prefixes', async () => {
      const client = fresh();
      await client.putObject('a/1', new Uint8Array([1]));
      await client.putObject('ab/2', new Uint8Array([2]));
      await client.putObject('b/3', new Uint8Array([3]));
      expect(await client.listObjects('a/')).toEqual(['a/1']);
      expect(await client.listObjects('a')).toEqual(['a/1', 'ab/2']);
      expect(await client.listObjects('')).toEqual(['a/1', 'ab/2', 'b/3']);
      const other = fresh();
      expect(await other.listObjects('')).toEqual([]);
    });

    it('deletes idempotently, including a key that never existed', async () => {
      const client = fresh();
      await client.putObject('gone', new Uint8Array([1]));
      await client.deleteObject('gone');
      await client.deleteObject('gone');
      await client.deleteObject('never-was');
      await expect(client.getObject('gone')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('maps a missing key to NotFoundError on get, head and getStream', async () => {
      const client = fresh();
      await expect(client.getObject('missing')).rejects.toBeInstanceOf(NotFoundError);
      await expect(client.headObject('missing')).rejects.toBeInstanceOf(NotFoundError);
      await expect(client.getStream('missing')).rejects.toBeInstanceOf(NotFoundError);
      await expect(client.getObject('missing')).rejects.toThrow(/missing/);
    });

    it('refuses a create-only put over an existing key and keeps the original', async () => {
      const client = fresh();
      await client.putObject('once', new Uint8Array([1]), { ifNoneMatch: '*' });
      await expect(client.putObject('once', new Uint8Array([2]), { ifNoneMatch: '*' })).rejects.toBeInstanceOf(PreconditionFailedError);
      expect([...(await client.getObject('once'))]).toEqual([1]);
      await client.putObject('once', new Uint8Array([3]));
      expect([...(await client.getObject('once'))]).toEqual([3]);
    });

    it('keeps keys with unicode, spaces and slashes', async () => {
      const client = fresh();
      const keys = ['dir/sub dir/file name.parquet', 'ünïcødé/日本語/🦆.bin', 'a+b=c&d?e#f%20g'];
      for (const [i, key] of keys.entries()) await client.putObject(key, new Uint8Array([i]));
      expect(await client.listObjects('')).toEqual([...keys].sort());
      for (const [i, key] of keys.entries()) expect([...(await client.getObject(key))]).toEqual([i]);
    });

    it('takes concurrent puts to different keys', async () => {
      const client = fresh();
      const payloads = Array.from({ length: 24 }, (_, i) => randomBytes(1000 + i));
      await Promise.all(payloads.map((data, i) => client.putObject(`c/${i}`, data)));
      for (const [i, data] of payloads.entries()) expect(Buffer.from(await client.getObject(`c/${i}`)).equals(data)).toBe(true);
    });
  });
}
