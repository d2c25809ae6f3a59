// Replication from source on the local backend, between two stores wrapped by two different local keys:
// the data keys re-wrapped and the ciphertext copied as is, the copy restored with the same rows, re-runs
// that copy nothing, snapshots already at the destination left alone, and bad input refused clearly.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSystemDatabase, type SystemDatabase } from '../../src/agent/system-db.ts';
import { LocalKeyManager, writeKeyFile } from '../../src/cloud/local/keys.ts';
import { LocalBlobStorage } from '../../src/cloud/local/storage.ts';
import { Envelope, keyUriOf } from '../../src/crypto/envelope.ts';
import { stagingPath } from '../../src/data-dir.ts';
import { Database } from '../../src/engine/database.ts';
import { LOCATION_FORMS, parseLocation } from '../../src/snapshot/locations.ts';
import { replicate, type ReplicateConfig } from '../../src/snapshot/replicate.ts';
import { restoreSnapshot } from '../../src/snapshot/restore.ts';
import { takeSnapshot } from '../../src/snapshot/snapshot.ts';
import { SnapshotStore } from '../../src/snapshot/store.ts';
import { tempDir } from '../support/process.ts';

interface Opened {
  dataDir: string;
  database: Database;
  system: SystemDatabase;
  close(): void;
}

const opened: Opened[] = [];
afterEach(() => {
  for (const o of opened.splice(0)) o.close();
});

async function open(dataDir = tempDir('repl-data')): Promise<Opened> {
  const database = await Database.open(dataDir, { maxConcurrentQueries: 2 });
  const system = await openSystemDatabase(dataDir);
  const o = { dataDir, database, system, close: () => { database.close(); system.close(); } };
  opened.push(o);
  return o;
}

async function sql(o: Opened, text: string): Promise<unknown[][]> {
  const connection = await o.database.connect();
  try {
    return (await connection.runAndReadAll(text)).getRowsJson() as unknown[][];
  } finally {
    connection.closeSync();
  }
}

const sources = (o: Opened) => [
  { database: 'main' as const, connect: () => o.database.connect(), stagingFile: stagingPath(o.dataDir, 'main') },
  { database: 'system' as const, connect: () => o.system.connect(), stagingFile: stagingPath(o.dataDir, 'system') },
];

function keyFile(): string {
  const file = path.join(tempDir('repl-key'), 'k.key');
  writeKeyFile(file);
  return file;
}

function storeAt(root: string, key: string): SnapshotStore {
  const keys = LocalKeyManager.fromFile(key);
  return new SnapshotStore(new LocalBlobStorage(root), new Envelope(keys), keys.keyUri);
}

/** The bytes after an envelope's header: the sealed segments. */
function segments(envelope: Buffer): Buffer {
  const uri = envelope.readUInt16BE(29);
  const wrapped = envelope.readUInt16BE(31 + uri);
  return envelope.subarray(33 + uri + wrapped);
}

/** Every file under a local store's root, with its bytes. */
function files(root: string): Map<string, Buffer> {
  const found = fs.readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((name) => fs.statSync(path.join(root, name)).isFile());
  return new Map(found.map((name) => [name, fs.readFileSync(path.join(root, name))]));
}

const config = (key: string): ReplicateConfig => ({ cloud: 'local', key, identity: 'auto', dataDir: tempDir('repl-config'), region: undefined });

const CHECK = [
  'select count(*), sum(amount), min(ts), max(ts), count(distinct tags) from sales.orders',
  'select * from sales.orders order by id limit 5',
  'select * from notes order by n',
  'select count(*) from big',
];

async function seed(): Promise<Opened> {
  const source = await open();
  await sql(source, 'create schema sales');
  await sql(source, `create table sales.orders as select range as id, 'r' || (range % 7) as region, (range * 1.25)::decimal(12, 2) as amount,
    timestamp '2026-01-01' + interval (range) minute as ts, ['x', range::varchar] as tags, {'a': range::int, 'b': 'q'} as meta from range(20000)`);
  await sql(source, "create table notes as select range as n, 'n''ote ' || range as text, range % 2 = 0 as even from range(50)");
  await sql(source, 'create view big as select * from sales.orders where amount > 100');
  return source;
}

describe('replicate between two local stores with different keys', () => {
  it('re-wraps every data key for the destination key, copies the segments as they are, and the copy restores the same rows', async () => {
    const [keyA, keyB] = [keyFile(), keyFile()];
    const [rootA, rootB] = [tempDir('repl-a'), tempDir('repl-b')];
    const source = await seed();
    const { manifest } = await takeSnapshot(storeAt(rootA, keyA), sources(source), { version: 'test' });
    const stages = new Set<string>();

    const result = await replicate(config(keyA), { from: `file://${rootA}`, to: `file://${rootB}/`, toKey: keyB }, {
      onProgress: (stage) => stages.add(stage),
    });

    const uriB = LocalKeyManager.fromFile(keyB).keyUri;
    expect(result).toMatchObject({
      from: `file://${rootA}`, to: `file://${rootB}`, copied: [manifest.id], skipped: [], objects: manifest.tables.length + (manifest.keys ? 1 : 0),
      present: 0, latest: manifest.id, keyUri: uriB, verified: { id: manifest.id, tables: manifest.tables.length, rows: 20050 },
    });
    expect(result.bytes).toBeGreaterThan(0);
    expect([...stages]).toEqual(['replicate', 'verify']);

    const destination = storeAt(rootB, keyB);
    expect(await destination.latest()).toBe(manifest.id);
    const copy = await destination.manifest(manifest.id);
    expect(copy).toEqual({ ...manifest, key_uri: uriB });
    for (const table of manifest.tables) {
      const original = Buffer.from(await new LocalBlobStorage(rootA).getObject(table.object));
      const copied = Buffer.from(await new LocalBlobStorage(rootB).getObject(table.object));
      expect(keyUriOf(original)).toBe(LocalKeyManager.fromFile(keyA).keyUri);
      expect(keyUriOf(copied)).toBe(uriB);
      expect(segments(copied).equals(segments(original))).toBe(true);
    }

    const restored = tempDir('repl-restored');
    await restoreSnapshot(destination, copy, { dataDir: restored });
    const target = await open(restored);
    for (const query of CHECK) expect(await sql(target, query), query).toEqual(await sql(source, query));
    // The verification's temporary data dir is gone.
    expect(fs.readdirSync(path.dirname(restored)).filter((name) => name.startsWith('skyduck-replicate-verify-'))).toEqual([]);
  });

  it('a re-run copies nothing, and a snapshot the destination has is skipped, not overwritten', async () => {
    const [keyA, keyB] = [keyFile(), keyFile()];
    const [rootA, rootB] = [tempDir('repl-a'), tempDir('repl-b')];
    const source = await seed();
    const first = await takeSnapshot(storeAt(rootA, keyA), sources(source), { version: 'test' });
    const request = { from: `file://${rootA}`, to: `file://${rootB}`, toKey: keyB };
    await replicate(config(keyA), request);
    // Mark the destination's manifest: a replication that overwrote it would lose the mark.
    const manifestFile = path.join(rootB, 'snapshots', first.manifest.id, 'manifest%2Ejson.obj');
    fs.writeFileSync(manifestFile, fs.readFileSync(manifestFile, 'utf8').replace('"skyduck_version": "test"', '"skyduck_version": "kept"'));
    const before = files(rootB);

    const again = await replicate(config(keyA), request);
    expect(again).toMatchObject({ copied: [], skipped: [first.manifest.id], objects: 0, bytes: 0, latest: first.manifest.id });
    expect(files(rootB)).toEqual(before);

    // A second snapshot shares the unchanged tables: only the changed one (and the new ones) travel.
    await sql(source, 'insert into notes values (50, \'new\', true)');
    const second = await takeSnapshot(storeAt(rootA, keyA), sources(source), { version: 'test' });
    const third = await replicate(config(keyA), request);
    expect(third).toMatchObject({ copied: [second.manifest.id], skipped: [first.manifest.id], objects: second.written, latest: second.manifest.id });
    expect(third.present).toBe(second.reused);
    expect(await storeAt(rootB, keyB).list()).toEqual([first.manifest.id, second.manifest.id]);
  });

  it('copies a store of several snapshots in one run, each shared object once', async () => {
    const [keyA, keyB] = [keyFile(), keyFile()];
    const [rootA, rootB] = [tempDir('repl-a'), tempDir('repl-b')];
    const source = await seed();
    const first = await takeSnapshot(storeAt(rootA, keyA), sources(source), { version: 'test' });
    await sql(source, 'delete from notes where n < 10');
    const second = await takeSnapshot(storeAt(rootA, keyA), sources(source), { version: 'test' });
    const result = await replicate(config(keyA), { from: `file://${rootA}`, to: `file://${rootB}`, toKey: keyB });
    expect(result.copied).toEqual([first.manifest.id, second.manifest.id]);
    expect(result.objects).toBe(first.written + second.written + (first.manifest.keys ? 1 : 0) + (second.manifest.keys?.object !== first.manifest.keys?.object ? 1 : 0));
    expect(result.latest).toBe(second.manifest.id);
    const restored = tempDir('repl-restored');
    await restoreSnapshot(storeAt(rootB, keyB), await storeAt(rootB, keyB).manifest(first.manifest.id), { dataDir: restored });
    expect(await sql(await open(restored), 'select count(*) from notes')).toEqual([['50']]);
  });

  it('names SKYDUCK_KMS_KEY and both keys when the configured key file is not the one that wrapped the source', async () => {
    const [keyA, keyB, other] = [keyFile(), keyFile(), keyFile()];
    const rootA = tempDir('repl-a');
    const rootB = tempDir('repl-b');
    const source = await seed();
    await takeSnapshot(storeAt(rootA, keyA), sources(source), { version: 'test' });
    const uriA = LocalKeyManager.fromFile(keyA).keyUri;
    const uriOther = LocalKeyManager.fromFile(other).keyUri;
    await expect(replicate(config(other), { from: `file://${rootA}`, to: `file://${rootB}`, toKey: keyB }))
      .rejects.toThrow(`the snapshots in file://${rootA} are wrapped by ${uriA}, but SKYDUCK_KMS_KEY (${other}) is ${uriOther}: set SKYDUCK_KMS_KEY to the key file that wrapped them`);
    expect(fs.existsSync(path.join(rootB, 'snapshots', 'latest.obj'))).toBe(false);
    expect(Object.values(files(rootB)).length).toBe(0);
  });

  it('uses the data dir\'s own key on both sides when no key is named, as every local command does', async () => {
    const keyA = keyFile();
    const [rootA, rootB] = [tempDir('repl-a'), tempDir('repl-b')];
    const source = await seed();
    const { manifest } = await takeSnapshot(storeAt(rootA, keyA), sources(source), { version: 'test' });
    const dataDir = tempDir('repl-config');
    fs.copyFileSync(keyA, path.join(dataDir, 'skyduck.key'));
    const result = await replicate({ cloud: 'local', identity: 'auto', dataDir, key: undefined, region: undefined }, { from: `file://${rootA}`, to: `file://${rootB}` });
    expect(result).toMatchObject({ copied: [manifest.id], keyUri: LocalKeyManager.fromFile(keyA).keyUri });
  });

  it('refuses a local key named by its URI: --to-key takes the key file', async () => {
    await expect(replicate(config(keyFile()), { from: `file://${tempDir('repl-a')}`, to: `file://${tempDir('repl-b')}`, toKey: 'local://0123456789abcdef' }))
      .rejects.toThrow('--to-key local://0123456789abcdef: a local key is named by its key file\'s path, not its URI');
  });

  it('refuses a destination on another cloud without --to-key, before any request', async () => {
    await expect(replicate(config(keyFile()), { from: `file://${tempDir('repl-a')}`, to: 's3://some-bucket/x' }))
      .rejects.toThrow(/--to s3:\/\/some-bucket\/x needs the key to wrap data keys with there: pass --to-key \(a KMS key ARN for s3:\/\//);
  });

  it('refuses the same store on both sides, and a source with no snapshot', async () => {
    const root = tempDir('repl-a');
    await expect(replicate(config(keyFile()), { from: `file://${root}`, to: `file://${root}/` })).rejects.toThrow(/--from and --to both name/);
    await expect(replicate(config(keyFile()), { from: `file://${root}`, to: `file://${tempDir('repl-b')}`, toKey: keyFile() }))
      .rejects.toThrow(`file://${root} holds no snapshot to replicate`);
  });

  it('fails naming the destination when it cannot be written, and leaves no manifest and no latest there', async () => {
    const [keyA, keyB] = [keyFile(), keyFile()];
    const [rootA, rootB] = [tempDir('repl-a'), tempDir('repl-b')];
    const source = await seed();
    const { manifest } = await takeSnapshot(storeAt(rootA, keyA), sources(source), { version: 'test' });
    // A file where the snapshot's directory of user tables must go: no user, root included, can write there.
    fs.mkdirSync(path.join(rootB, 'snapshots', manifest.id), { recursive: true });
    fs.writeFileSync(path.join(rootB, 'snapshots', manifest.id, 'main'), 'in the way');

    await expect(replicate(config(keyA), { from: `file://${rootA}`, to: `file://${rootB}`, toKey: keyB }))
      .rejects.toThrow(`cannot replicate to file://${rootB}: copying snapshots/${manifest.id}/main/`);
    const left = [...files(rootB).keys()];
    expect(left.some((name) => name.includes('manifest'))).toBe(false);
    expect(left.some((name) => name.includes('latest'))).toBe(false);
    expect(await storeAt(rootB, keyB).list()).toEqual([]);

    // Nothing is written to a destination under a file either; the message names it.
    const blocked = path.join(tempDir('repl-file'), 'not-a-dir');
    fs.writeFileSync(blocked, 'x');
    await expect(replicate(config(keyA), { from: `file://${rootA}`, to: `file://${blocked}/replica`, toKey: keyB }))
      .rejects.toThrow(`cannot replicate to file://${blocked}/replica`);
  });
});

describe('store URLs', () => {
  it.each([
    ['s3://bucket', { cloud: 'aws', bucket: 'bucket', prefix: '', url: 's3://bucket' }],
    ['s3://my.bucket-1/a/b/', { cloud: 'aws', bucket: 'my.bucket-1', prefix: 'a/b', url: 's3://my.bucket-1/a/b' }],
    ['gs://snap_shots/tenant', { cloud: 'gcp', bucket: 'snap_shots', prefix: 'tenant', url: 'gs://snap_shots/tenant' }],
    ['az://account1/snapshots/x', { cloud: 'azure', bucket: 'account1/snapshots', prefix: 'x', url: 'az://account1/snapshots/x' }],
    ['file:///var/lib/skyduck/replica/', { cloud: 'local', bucket: '/var/lib/skyduck/replica', prefix: '', url: 'file:///var/lib/skyduck/replica' }],
    ['file:///tmp/with%20space', { cloud: 'local', bucket: '/tmp/with space', prefix: '', url: 'file:///tmp/with space' }],
  ])('reads %s', (url, expected) => {
    expect(parseLocation(url, '--to')).toEqual(expected);
  });

  it.each([
    ['bucket/prefix', 'not a store URL'],
    ['http://bucket/x', 'unknown scheme http://'],
    ['s3://', 'names no bucket'],
    ['az://', 'names no account'],
    ['s3://Bucket', '"Bucket" is not an S3 bucket name'],
    ['s3://b', '"b" is not an S3 bucket name'],
    ['s3://my_bucket', 'is not an S3 bucket name'],
    ['s3://bucket//x', 'empty, "." and ".." path segments'],
    ['gs://bucket/../x', 'empty, "." and ".." path segments'],
    ['gs://bucket/x?versions=1', 'no query or fragment'],
    ['az://account', 'names the account and the container'],
    ['az://Account/c1x', 'is not a storage account name'],
    ['az://account/c', 'is not a container name'],
    ['file://relative/dir', 'absolute directory, with three slashes'],
    ['file:///a%2Fb', 'encoded / characters'],
  ])('refuses %s, naming the flag and the accepted forms', (url, why) => {
    let message = '';
    try {
      parseLocation(url, '--from');
    } catch (error) {
      message = (error as Error).message;
      expect((error as Error).name).toBe('ConfigError');
    }
    expect(message).toContain(`--from ${JSON.stringify(url)}: `);
    expect(message).toContain(why);
    expect(message).toContain(LOCATION_FORMS);
  });

  it('refuses a bad URL in replicate before touching either side', async () => {
    await expect(replicate(config(keyFile()), { from: 'bucket/prefix', to: 's3://bucket' })).rejects.toThrow(/--from "bucket\/prefix": not a store URL; use s3:\/\/bucket\/prefix/);
  });
});
