// Snapshots and restores from source on the local backend: real DuckDB databases, real files, the real
// envelope. Tables of every kind (schemas, sequences, views, nasty names) come back with the same rows.
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLedger } from '../../src/agent/audit.ts';
import { openSystemDatabase, type SystemDatabase } from '../../src/agent/system-db.ts';
import { LocalKeyManager, writeKeyFile } from '../../src/cloud/local/keys.ts';
import { LocalBlobStorage } from '../../src/cloud/local/storage.ts';
import { Envelope } from '../../src/crypto/envelope.ts';
import { stagingPath } from '../../src/data-dir.ts';
import { Database } from '../../src/engine/database.ts';
import { MANIFEST_VERSION, parseManifest } from '../../src/snapshot/manifest.ts';
import { restoreSnapshot } from '../../src/snapshot/restore.ts';
import { applyRetention } from '../../src/snapshot/retention.ts';
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

async function open(dataDir = tempDir('snap-data')): Promise<Opened> {
  const database = await Database.open(dataDir, { maxConcurrentQueries: 2 });
  const system = await openSystemDatabase(dataDir);
  const o = { dataDir, database, system, close: () => { database.close(); system.close(); } };
  opened.push(o);
  return o;
}

function storeAt(root: string, keyFile: string): SnapshotStore {
  const keys = LocalKeyManager.fromFile(keyFile);
  return new SnapshotStore(new LocalBlobStorage(root), new Envelope(keys), keys.keyUri);
}

const sources = (o: Opened) => [
  { database: 'main' as const, connect: () => o.database.connect(), stagingFile: stagingPath(o.dataDir, 'main') },
  { database: 'system' as const, connect: () => o.system.connect(), stagingFile: stagingPath(o.dataDir, 'system') },
];

async function sql(o: Opened, text: string): Promise<unknown[][]> {
  const connection = await o.database.connect();
  try {
    return (await connection.runAndReadAll(text)).getRowsJson() as unknown[][];
  } finally {
    connection.closeSync();
  }
}

const SETUP = `
  create schema sales;
  create sequence ids start 100;
  create table sales."Orders; drop" (id bigint default nextval('ids'), region varchar, amount decimal(12,2), ts timestamp, tags varchar[], meta struct(a int, b varchar));
  insert into sales."Orders; drop" (region, amount, ts, tags, meta) select 'r' || (range % 7), range * 1.25, timestamp '2026-01-01' + interval (range) minute, ['x', 'y'], {'a': range::int, 'b': 'q'} from range(5000);
  create table plain as select range as n, range::varchar as s from range(100);
  create view big_orders as select * from sales."Orders; drop" where amount > 100;
  create type mood as enum ('sad', 'happy');
  create table lossy as select 170141183460469231731687303715884105727::hugeint h, 340282366920938463463374607431768211455::uhugeint uh, [9007199254740993::hugeint] hl, '12:34:56+05:30'::timetz tz, union_value(k := 7)::union(k int, s varchar) u, 'happy'::mood m;
  create macro plus(a, b) as a + b;
  create macro firsts(n) as table select range from range(n);
  create index plain_n on plain(n);
`;

const CHECK = [
  'select count(*), sum(amount), min(id), max(id), max(ts), count(distinct region) from sales."Orders; drop"',
  'select * from sales."Orders; drop" order by id limit 3',
  'select count(*) from big_orders',
  'select sum(n), string_agg(s, \',\' order by n) from plain',
  "select nextval('ids')",
];

const LOSSY = [
  'select h::varchar, uh::varchar, hl::varchar, tz::varchar, u::varchar, m::varchar, typeof(h), typeof(tz), typeof(u), typeof(m) from lossy',
  'select plus(40, 2), (select count(*) from firsts(3))',
  "select count(*) from duckdb_indexes() where index_name = 'plain_n'",
];

describe('snapshot and restore (local backend)', () => {
  it('restores the same rows, schemas, views and sequence positions into an empty data dir', async () => {
    const keyFile = path.join(tempDir('snap-key'), 'k.key');
    writeKeyFile(keyFile);
    const root = tempDir('snap-store');
    const source = await open();
    for (const statement of SETUP.split(';\n')) if (statement.trim()) await sql(source, statement);
    const ledger = await AuditLedger.open(source.system);
    ledger.append({ agent: 'a', keyId: 'k', fingerprint: 'f', statementType: 'SELECT', rows: 1, bytes: 1, durationMs: 1, outcome: 'ok' });
    await ledger.close();

    const store = storeAt(root, keyFile);
    const result = await takeSnapshot(store, sources(source), { version: 'test' });
    expect(result.written).toBe(4); // three user tables and the audit ledger
    const before = [];
    for (const query of CHECK.slice(0, -1)) before.push(await sql(source, query));
    const lossyBefore = [];
    for (const query of LOSSY) lossyBefore.push(await sql(source, query));
    expect(lossyBefore[0]![0]).toEqual(['170141183460469231731687303715884105727', '340282366920938463463374607431768211455', '[9007199254740993]',
      '12:34:56+05:30', '7', 'happy', 'HUGEINT', 'TIME WITH TIME ZONE', 'UNION(k INTEGER, s VARCHAR)', "ENUM('sad', 'happy')"]);

    const target = tempDir('snap-restored');
    const manifest = await store.choose();
    expect(manifest.id).toBe(result.manifest.id);
    await restoreSnapshot(store, manifest, { dataDir: target });
    const restored = await open(target);
    for (const [i, query] of CHECK.slice(0, -1).entries()) expect(await sql(restored, query), query).toEqual(before[i]);
    // Types Parquet would change (HUGEINT as DOUBLE, TIMETZ in UTC, UNION as STRUCT), the enum type, macros, indexes.
    for (const [i, query] of LOSSY.entries()) expect(await sql(restored, query), query).toEqual(lossyBefore[i]);
    // The sequence continues where it was: 100 + 5000 values were used.
    expect(await sql(restored, "select nextval('ids')")).toEqual([['5100']]);
    const audit = await (await restored.system.connect()).runAndReadAll('select count(*) from audit_log');
    expect(audit.getRowsJson()).toEqual([['1']]);
  });

  it('reuses unchanged tables and writes only the changed one', async () => {
    const keyFile = path.join(tempDir('snap-key'), 'k.key');
    writeKeyFile(keyFile);
    const store = storeAt(tempDir('snap-store'), keyFile);
    const source = await open();
    await sql(source, 'create table a as select range n from range(1000)');
    await sql(source, 'create table b as select range n from range(1000)');
    const first = await takeSnapshot(store, sources(source), { version: 'test' });
    await sql(source, 'insert into b values (1)');
    const second = await takeSnapshot(store, sources(source), { version: 'test' });
    expect({ written: second.written, reused: second.reused }).toEqual({ written: 1, reused: 1 });
    const a = (m: typeof first.manifest) => m.tables.find((t) => t.name === 'a')!.object;
    expect(a(second.manifest)).toBe(a(first.manifest));
  });

  it('refuses a flipped byte in a stored object, naming it, and leaves the old database in place', async () => {
    const keyFile = path.join(tempDir('snap-key'), 'k.key');
    writeKeyFile(keyFile);
    const root = tempDir('snap-store');
    const store = storeAt(root, keyFile);
    const source = await open();
    await sql(source, 'create table t as select range n from range(100000)');
    const { manifest } = await takeSnapshot(store, sources(source), { version: 'test' });
    const object = manifest.tables.find((t) => t.name === 't')!.object;
    const file = fs.readdirSync(root, { recursive: true, encoding: 'utf8' }).map((f) => path.join(root, f)).find((f) => f.includes('main') && f.endsWith('.obj'))!;
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 100]! ^= 1;
    fs.writeFileSync(file, bytes);

    const target = tempDir('snap-restored');
    fs.writeFileSync(path.join(target, 'skyduck.duckdb'), 'the old database');
    await expect(restoreSnapshot(store, manifest, { dataDir: target })).rejects.toThrow(object);
    expect(fs.readFileSync(path.join(target, 'skyduck.duckdb'), 'utf8')).toBe('the old database');
    expect(fs.readdirSync(target).filter((f) => f.includes('restoring'))).toEqual([]);
  });

  it('refuses a snapshot with a missing object, naming it', async () => {
    const keyFile = path.join(tempDir('snap-key'), 'k.key');
    writeKeyFile(keyFile);
    const store = storeAt(tempDir('snap-store'), keyFile);
    const source = await open();
    await sql(source, 'create table t as select 1 n');
    const { manifest } = await takeSnapshot(store, sources(source), { version: 'test' });
    const object = manifest.tables.find((t) => t.name === 't')!.object;
    await store.deleteObject(object);
    await expect(restoreSnapshot(store, manifest, { dataDir: tempDir('snap-restored') })).rejects.toThrow(`${object} is missing`);
  });

  it('refuses an unknown id and a manifest of a newer format version', async () => {
    const keyFile = path.join(tempDir('snap-key'), 'k.key');
    writeKeyFile(keyFile);
    const store = storeAt(tempDir('snap-store'), keyFile);
    await expect(store.choose()).rejects.toThrow(/holds no snapshot yet/);
    await expect(store.choose('20260101T000000000Z-abcdef')).rejects.toThrow(/no snapshot 20260101T000000000Z-abcdef/);
    const newer = Buffer.from(JSON.stringify({ format: 'skyduck-snapshot', version: MANIFEST_VERSION + 1 }));
    expect(() => parseManifest(newer, 'm.json')).toThrow(/manifest version 2, newer than this skyduck reads \(1\)/);
  });

  it('keeps the newest N snapshots and removes objects no manifest references', async () => {
    const keyFile = path.join(tempDir('snap-key'), 'k.key');
    writeKeyFile(keyFile);
    const store = storeAt(tempDir('snap-store'), keyFile);
    const source = await open();
    await sql(source, 'create table t (n int)');
    const ids = [];
    for (let i = 0; i < 4; i++) {
      await sql(source, `insert into t values (${i})`);
      ids.push((await takeSnapshot(store, sources(source), { version: 'test' })).manifest.id);
    }
    // An interrupted snapshot: an object without a manifest.
    await store.putEncrypted('snapshots/20200101T000000000Z-000000/main/main.t.parquet.enc', (async function* () { yield Buffer.from('x'); })());
    const result = await applyRetention(store, 2);
    expect(result.deletedSnapshots).toEqual(ids.slice(0, 2));
    expect(await store.list()).toEqual(ids.slice(2));
    const objects = await store.listObjects();
    expect(objects.some((key) => key.includes('20200101T'))).toBe(false);
    for (const id of ids.slice(2)) await restoreSnapshot(store, await store.manifest(id), { dataDir: tempDir('snap-r') });
  });

  it('exported-style decryption gives Parquet any DuckDB reads as a plain file', async () => {
    const keyFile = path.join(tempDir('snap-key'), 'k.key');
    writeKeyFile(keyFile);
    const store = storeAt(tempDir('snap-store'), keyFile);
    const source = await open();
    await sql(source, "create table t as select range n, 'v' || range s from range(10)");
    const { manifest } = await takeSnapshot(store, sources(source), { version: 'test' });
    const table = manifest.tables.find((t) => t.name === 't')!;
    const file = path.join(tempDir('snap-export'), 't.parquet');
    const parts: Buffer[] = [];
    for await (const part of await store.getDecrypted(table.object)) parts.push(part);
    fs.writeFileSync(file, Buffer.concat(parts));
    const plain = await DuckDBInstance.create(':memory:');
    const connection = await plain.connect();
    const rows = (await connection.runAndReadAll(`select * from read_parquet('${file}') order by n`)).getRowsJson();
    expect(rows).toEqual(Array.from({ length: 10 }, (_, i) => [String(i), `v${i}`]));
  });
});
