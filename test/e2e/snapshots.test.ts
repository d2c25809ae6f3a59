// Snapshots and restores against the sealed binaries, run alone in empty directories with `env -i`: on every
// backend (local files, S3 on moto, Azure Blob on azurite with the Key Vault fake, GCS on the fakes) a
// server's data goes to the store with POST /v1/snapshots and comes back by itself on an empty data dir,
// answering byte for byte as before, with the same API keys. Then the faults: the store cut off in the
// middle of an upload, the server killed in the middle of a snapshot, damaged and missing objects, a
// manifest from the future, the wrong key, and the commands used where they do not belong.
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKeyVault, startFakeKeyVault } from '../fakes/azure-key-vault.ts';
import { type FakeManagedIdentity, startFakeManagedIdentity } from '../fakes/azure-managed-identity.ts';
import { type FakeKms, startFakeKms } from '../fakes/cloud-kms.ts';
import { type FakeMetadata, startFakeMetadata } from '../fakes/gce-metadata.ts';
import { type FakeGcs, startFakeGcs } from '../fakes/gcs-json-api.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, type Emulator, azuriteMissing, inCI, motoMissing, startAzurite, startMoto } from '../support/emulators.ts';
import { isolateOnce, type Running, runToEnd, serve, tempDir, terminate, until } from '../support/process.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const SNAPSHOT_ID = /^\d{8}T\d{9}Z-[0-9a-f]{6}$/;

// Every directory this file makes goes when it ends (SKYDUCK_KEEP_TEST_DIRS keeps them): a binary's copy
// is 140 MB, and support/process.ts's exit hook does not run in vitest's workers.
// One native cache for the whole file: each binary extracts DuckDB once, not at every start.
const native = tempDir('snapshots-native');

type Env = Record<string, string>;

interface Answer {
  status: number;
  contentType: string;
  text: string;
}

async function call(url: string, route: string, { method, key, headers = {}, body }: { method?: string; key?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const response = await fetch(`${url}${route}`, {
    method: method ?? (body === undefined ? 'GET' : 'POST'),
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body,
  });
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text() };
}

const sql = (url: string, key: string, statement: string, accept?: string) =>
  call(url, '/v1/query', { key, headers: { 'content-type': 'application/json', ...(accept ? { accept } : {}) }, body: JSON.stringify({ sql: statement }) });

async function run(url: string, key: string, statement: string): Promise<any> {
  const answer = await sql(url, key, statement);
  expect(answer.status, `${statement}\n${answer.text}`).toBe(200);
  return JSON.parse(answer.text);
}

/** A refusal in the API's one error shape; returns the error object. */
function refusal(answer: Answer, status: number, code?: string): { code: string; message: string } {
  expect(answer.status, answer.text.slice(0, 500)).toBe(status);
  expect(answer.contentType).toMatch(/^application\/json/);
  const body = JSON.parse(answer.text);
  expect(Object.keys(body)).toEqual(['error']);
  if (code) expect(body.error.code).toBe(code);
  expect(body.error.message).not.toMatch(/\n\s+at /);
  return body.error;
}

/** The JSON lines a binary wrote on stderr. */
function events(stderr: string): Record<string, any>[] {
  return stderr.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
}

const eventOf = (running: Running, name: string) => events(running.stderr()).find((event) => event.event === name);

async function createKey(exe: string, env: Env, scope: 'read' | 'write'): Promise<string> {
  const { code, stdout, stderr } = await runToEnd(exe, ['keys', 'create', '--scope', scope, '--agent', `${scope}-agent`], env);
  expect(code, stderr).toBe(0);
  return stdout.trim();
}

/** Writes a key file with `keygen`; returns its path and key id. */
async function keygen(exe: string): Promise<{ file: string; id: string }> {
  const file = path.join(tempDir('snapshot-key'), 'store.key');
  const { code, stdout, stderr } = await runToEnd(exe, ['keygen', '--out', file], { SKYDUCK_NATIVE_CACHE: native });
  expect(code, stderr).toBe(0);
  const id = /wrote local key ([0-9a-f]{16})/.exec(stdout)?.[1];
  expect(id, stdout).toBeDefined();
  return { file, id: id! };
}

async function stop(running: Running): Promise<number | null> {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return running.child.exitCode;
  return terminate(running, 30_000);
}

async function kill(running: Running | undefined): Promise<void> {
  if (!running || running.child.exitCode !== null || running.child.signalCode !== null) return;
  running.child.kill('SIGKILL');
  await running.exit;
}

const SALES_CSV = [
  'region,product,amount,sold_on,units',
  'north,widget,10.5,2026-01-02,3',
  'south,"gadget, ""large""",20.25,2026-01-03,1',
  'east,gizmo,7,2026-01-04,12',
  'west,Würstchen 🌭,,2026-01-05,100',
  '',
].join('\n');

const SETUP = [
  `create table kinds (id integer, small smallint, big bigint, price decimal(18,4), label varchar, day date,
     seen_at timestamp, tags varchar[], point struct(x double, y double, name varchar), maybe integer, flag boolean)`,
  `insert into kinds values
     (1, 32767, 9223372036854775807, 12345678901234.5678, 'plain', date '2026-01-02',
      timestamp '2026-01-02 03:04:05.123456', ['a', 'b'], {'x': 1.5, 'y': -2, 'name': 'p'}, 7, true),
     (2, -32768, -9223372036854775808, -0.0001, 'héllo wörld ☃ 日本語 🦆 "quoted", comma', date '1970-01-01',
      timestamp '1999-12-31 23:59:59', [], {'x': null, 'y': 0, 'name': 'ü'}, null, false),
     (3, null, null, null, null, null, null, null, null, null, null),
     (4, 0, 0, 0, '', date '2400-02-29', timestamp '2026-11-26 00:00:00', [null, 'c'], {'x': 0, 'y': 0, 'name': null}, -1, null)`,
  'create table numbers as select range::integer as n, range * 3 as tripled, (range / 7)::decimal(10,3) as ratio from range(5000)',
  'create view even_numbers as select n from numbers where n % 2 = 0',
];

/** Queries whose answers must be the same, byte for byte, after a restore. */
const CHECKS: { statement: string; accept?: string }[] = [
  { statement: 'select * from kinds order by id' },
  { statement: 'select * from kinds order by id', accept: 'text/csv' },
  { statement: 'select * from kinds order by id', accept: 'application/x-ndjson' },
  { statement: 'select * from sales order by region' },
  { statement: 'select * from sales order by region', accept: 'text/csv' },
  { statement: 'select count(*), sum(tripled), min(n), max(n), sum(ratio) from numbers' },
  { statement: 'select * from numbers order by n', accept: 'text/csv' },
  { statement: 'select count(*), max(n) from even_numbers' },
];

/** The one part of a JSON answer that differs from run to run. */
const timeless = (text: string) => text.replace(/"execution_time_ms":[0-9.e+-]+/, '"execution_time_ms":0');

async function fill(url: string, writer: string): Promise<void> {
  for (const statement of SETUP) await run(url, writer, statement);
  const loaded = await call(url, '/v1/tables/sales', { key: writer, headers: { 'content-type': 'text/csv' }, body: SALES_CSV });
  expect(loaded.status, loaded.text).toBe(200);
  expect(JSON.parse(loaded.text)).toMatchObject({ table: 'sales', created: true, rows_added: 4 });
}

async function answers(url: string, key: string): Promise<string[]> {
  const texts: string[] = [];
  for (const { statement, accept } of CHECKS) {
    const answer = await sql(url, key, statement, accept);
    expect(answer.status, `${statement}\n${answer.text}`).toBe(200);
    texts.push(timeless(answer.text));
  }
  for (const table of ['kinds', 'sales', 'numbers']) {
    const described = await call(url, `/v1/tables/${table}`, { key });
    expect(described.status, described.text).toBe(200);
    texts.push(described.text);
  }
  return texts;
}

/**
 * The round trip every backend must pass: data in, POST /v1/snapshots, the data dir deleted, a start on the
 * empty data dir that restores by itself, the same answers to the same keys.
 */
async function roundTrip(name: string, settings: Env): Promise<void> {
  const exe = isolateOnce(name);
  const dataDir = path.join(tempDir(`${name}-data`), 'data');
  const env = { ...settings, SKYDUCK_DATA_DIR: dataDir, SKYDUCK_NATIVE_CACHE: native };
  let running: Running | undefined;
  try {
    running = await serve(exe, env);
    const first = running;
    const admin = first.key;
    expect(admin).toMatch(/^sk_/);
    const [writer, reader] = [await createKey(exe, env, 'write'), await createKey(exe, env, 'read')];
    await fill(first.url, writer);
    const before = await answers(first.url, reader);

    const taken = await call(first.url, '/v1/snapshots', { method: 'POST', key: writer });
    expect(taken.status, taken.text).toBe(200);
    const snapshot = JSON.parse(taken.text);
    expect(snapshot).toMatchObject({ id: expect.stringMatching(SNAPSHOT_ID), latest: true, reused: 0 });
    // kinds, numbers, sales and skyduck's own tables (the audit ledger at least), all new.
    expect(snapshot.tables).toBeGreaterThanOrEqual(4);
    expect(snapshot.written).toBe(snapshot.tables);
    const listed = await call(first.url, '/v1/snapshots', { key: reader });
    expect(listed.status, listed.text).toBe(200);
    expect(JSON.parse(listed.text).snapshots).toEqual([expect.objectContaining({ id: snapshot.id, latest: true, tables: snapshot.tables })]);
    expect(await stop(first)).toBe(0);

    fs.rmSync(dataDir, { recursive: true });
    running = await serve(exe, env);
    const second = running;
    expect(eventOf(second, 'restore.start'), second.stderr()).toMatchObject({ id: snapshot.id, tables: snapshot.tables });
    expect(eventOf(second, 'restore.done'), second.stderr()).toMatchObject({ id: snapshot.id });
    // keys.json came back, so no new admin key was made.
    expect(fs.existsSync(path.join(dataDir, 'initial-admin-key'))).toBe(false);
    expect(await answers(second.url, reader)).toEqual(before);
    const verified = await call(second.url, '/v1/audit/verify', { key: admin });
    expect(verified.status, verified.text).toBe(200);
    expect(JSON.parse(verified.text)).toMatchObject({ ok: true });
    // A write on the restored server: SIGTERM snapshots it into the same store before the exit, writing
    // only what changed (numbers, and the audit ledger that recorded the queries) and reusing the rest.
    await run(second.url, writer, 'insert into numbers values (5000, 15000, 714.286)');
    expect(await stop(second)).toBe(0);
    expect(eventOf(second, 'snapshot.done'), second.stderr()).toMatchObject({ id: expect.stringMatching(SNAPSHOT_ID), written: 2, reused: snapshot.tables - 2 });
  } finally {
    await kill(running);
  }
}

const motoMissingReason = motoMissing();
const azuriteMissingReason = azuriteMissing();
const AWS_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' };

async function motoBucket(moto: Emulator, bucket: string): Promise<string> {
  const client = { region: 'eu-west-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
  await new S3Client({ ...client, forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
  return (await new KMSClient(client).send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
}

const awsSettings = (moto: Emulator, bucket: string, keyArn: string): Env => ({
  ...AWS_CREDENTIALS,
  SKYDUCK_CLOUD: 'aws',
  SKYDUCK_STORAGE_BUCKET: bucket,
  SKYDUCK_CLOUD_REGION: 'eu-west-1',
  SKYDUCK_STORAGE_ENDPOINT: moto.endpoint,
  SKYDUCK_KMS_ENDPOINT: moto.endpoint,
  AWS_ENDPOINT_URL_STS: moto.endpoint,
  SKYDUCK_KMS_KEY: keyArn,
});

describe('a snapshot restores by itself on an empty data dir, byte for byte, with the same keys', () => {
  it('local: a store and a key file outside the data dir', async () => {
    const { file } = await keygen(isolateOnce('skyduck-local'));
    await roundTrip('skyduck-local', { SKYDUCK_STORAGE_BUCKET: tempDir('local-store'), SKYDUCK_KMS_KEY: file });
  });

  describe.skipIf(motoMissingReason !== undefined && !inCI)(`S3 on moto${motoMissingReason ? ` (skipped: ${motoMissingReason})` : ''}`, () => {
    let moto: Emulator;
    beforeAll(async () => {
      if (motoMissingReason) throw new Error(motoMissingReason);
      moto = await startMoto();
    });
    afterAll(async () => moto?.stop());

    it('skyduck-aws: S3 and KMS', async () => {
      const keyArn = await motoBucket(moto, 'skyduck-roundtrip');
      await roundTrip('skyduck-aws', awsSettings(moto, 'skyduck-roundtrip', keyArn));
    });

    it('fails a snapshot cut off mid-upload with a 503 naming the store; the server stays up and the previous snapshot stays latest', async () => {
      const bucket = 'skyduck-outage';
      const keyArn = await motoBucket(moto, bucket);
      const proxy: TcpProxy = await startTcpProxy({ host: '127.0.0.1', port: moto.port });
      const exe = isolateOnce('skyduck-aws');
      // Storage through the proxy, KMS straight to moto: only the blob store goes away.
      const env = { ...awsSettings(moto, bucket, keyArn), SKYDUCK_STORAGE_ENDPOINT: proxy.endpoint, SKYDUCK_NATIVE_CACHE: native };
      let server: Running | undefined;
      let restored: Running | undefined;
      try {
        server = await serve(exe, { ...env, SKYDUCK_DATA_DIR: path.join(tempDir('outage-data'), 'data') });
        const key = server.key;
        await run(server.url, key, 'create table kept as select range as n, md5(range::varchar) as h from range(1000)');
        const first = await call(server.url, '/v1/snapshots', { method: 'POST', key });
        expect(first.status, first.text).toBe(200);
        const previous = JSON.parse(first.text).id;

        // About 5 MB of Parquet that zstd cannot shrink: one PUT, cut after its first MiB.
        await run(server.url, key, 'create table big as select random() as a, random() as b, md5(range::varchar) as c from range(150000)');
        const cut = proxy.cutAfter(1 << 20);
        const failed = await call(server.url, '/v1/snapshots', { method: 'POST', key });
        await cut;
        const error = refusal(failed, 503, 'snapshot_failed');
        expect(error.message).toContain(`s3://${bucket}`);
        expect(events(server.stderr())).toContainEqual(expect.objectContaining({ event: 'snapshot.failed', reason: 'request' }));

        expect((await call(server.url, '/v1/health')).status).toBe(200);
        expect((await run(server.url, key, 'select count(*) from big')).rows).toEqual([['150000']]);

        await proxy.reopen();
        const listed = await call(server.url, '/v1/snapshots', { key });
        expect(listed.status, listed.text).toBe(200);
        expect(JSON.parse(listed.text).snapshots).toEqual([expect.objectContaining({ id: previous, latest: true })]);

        restored = await serve(exe, { ...env, SKYDUCK_DATA_DIR: path.join(tempDir('outage-restored'), 'data') });
        expect(eventOf(restored, 'restore.done'), restored.stderr()).toMatchObject({ id: previous });
        const kept = await run(restored.url, key, 'select count(*), min(h), max(h) from kept');
        expect(kept.rows).toEqual((await run(server.url, key, 'select count(*), min(h), max(h) from kept')).rows);
        const tables = JSON.parse((await call(restored.url, '/v1/tables', { key })).text).tables.map((table: { name: string }) => table.name);
        expect(tables).toEqual(['kept']);
      } finally {
        await kill(restored);
        await kill(server);
        await proxy.stop();
      }
    });
  });

  describe.skipIf(azuriteMissingReason !== undefined && !inCI)(`Azure Blob on azurite${azuriteMissingReason ? ` (skipped: ${azuriteMissingReason})` : ''}`, () => {
    let azurite: Emulator;
    let vault: FakeKeyVault;
    let identity: FakeManagedIdentity;
    beforeAll(async () => {
      if (azuriteMissingReason) throw new Error(azuriteMissingReason);
      azurite = await startAzurite();
      identity = await startFakeManagedIdentity();
      vault = await startFakeKeyVault({ token: identity.token });
    });
    afterAll(async () => Promise.all([azurite?.stop(), vault?.stop(), identity?.stop()]));

    it('skyduck-azure: Blob storage and Key Vault', async () => {
      vault.createKey('snapshots');
      const connectionString = `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${azurite.endpoint};`;
      await BlobServiceClient.fromConnectionString(connectionString).createContainer('roundtrip');
      await roundTrip('skyduck-azure', {
        AZURE_STORAGE_CONNECTION_STRING: connectionString,
        IDENTITY_ENDPOINT: identity.endpoint,
        IDENTITY_HEADER: identity.header,
        SKYDUCK_CLOUD: 'azure',
        SKYDUCK_STORAGE_BUCKET: `${AZURITE_ACCOUNT}/roundtrip`,
        SKYDUCK_KMS_KEY: `${vault.url}/keys/snapshots`,
      });
    });
  });

  describe('GCS and Cloud KMS on the fakes', () => {
    const project = 'skyduck-e2e';
    const key = `projects/${project}/locations/global/keyRings/r/cryptoKeys/snapshots`;
    let metadata: FakeMetadata;
    let gcs: FakeGcs;
    let kms: FakeKms;
    beforeAll(async () => {
      metadata = await startFakeMetadata({ project });
      gcs = await startFakeGcs({ acceptToken: (token) => metadata.issued.has(token) });
      kms = await startFakeKms({ acceptToken: (token) => metadata.issued.has(token) });
    });
    afterAll(async () => Promise.all([gcs?.stop(), kms?.stop(), metadata?.stop()]));

    it('skyduck-gcp: GCS and Cloud KMS', async () => {
      gcs.createBucket('roundtrip');
      kms.createKey(key);
      await roundTrip('skyduck-gcp', {
        GCE_METADATA_HOST: metadata.host,
        GOOGLE_CLOUD_PROJECT: project,
        SKYDUCK_CLOUD: 'gcp',
        SKYDUCK_STORAGE_BUCKET: 'roundtrip',
        SKYDUCK_STORAGE_ENDPOINT: gcs.endpoint,
        SKYDUCK_KMS_ENDPOINT: kms.endpoint,
        SKYDUCK_KMS_KEY: key,
      });
    });
  });
});

describe('values Parquet has no exact type for (local backend)', () => {
  // Parquet has no 128-bit integer: written as is, DuckDB stores HUGEINT and UHUGEINT as DOUBLE, which
  // rounds every value above 2^53 and cannot hold the extremes at all.
  it('restores HUGEINT and UHUGEINT values exactly, the extremes included', async () => {
    const exe = isolateOnce('skyduck-local');
    const setup = await localStore(exe);
    let running: Running | undefined;
    try {
      running = await serve(exe, setup.env);
      const key = running.key;
      await run(running.url, key, 'create table wide (id integer, h hugeint, u uhugeint)');
      await run(running.url, key, `insert into wide values
        (1, 170141183460469231731687303715884105727, 340282366920938463463374607431768211455),
        (2, -170141183460469231731687303715884105728, 0),
        (3, 9007199254740993, 18446744073709551617),
        (4, null, null)`);
      const statement = 'select id, h, u, h::varchar, u::varchar from wide order by id';
      const before = timeless((await sql(running.url, key, statement)).text);
      const taken = await call(running.url, '/v1/snapshots', { method: 'POST', key });
      expect(taken.status, taken.text).toBe(200);
      expect(await stop(running)).toBe(0);

      fs.rmSync(setup.dataDir, { recursive: true });
      running = await serve(exe, setup.env);
      expect(eventOf(running, 'restore.done'), running.stderr()).toMatchObject({ id: JSON.parse(taken.text).id });
      expect(timeless((await sql(running.url, key, statement)).text)).toBe(before);
    } finally {
      await kill(running);
    }
  });
});

/** A local store with its key file outside the data dir, and the env that points a binary at them. */
async function localStore(exe: string, dataDir = path.join(tempDir('local-data'), 'data')) {
  const key = await keygen(exe);
  const store = tempDir('local-store');
  return { key, store, dataDir, env: { SKYDUCK_STORAGE_BUCKET: store, SKYDUCK_KMS_KEY: key.file, SKYDUCK_DATA_DIR: dataDir, SKYDUCK_NATIVE_CACHE: native } };
}

/** `snapshots --json`: what the store holds, newest first. */
async function listed(exe: string, env: Env): Promise<{ id: string; latest: boolean; rows: number }[]> {
  const { code, stdout, stderr } = await runToEnd(exe, ['snapshots', '--json'], env);
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout);
}

/** The database, keys and half-built files a data dir holds; a failed restore must leave none. */
const leftovers = (dataDir: string) =>
  ['skyduck.duckdb', 'system.duckdb', 'skyduck.duckdb.restoring', 'system.duckdb.restoring', 'keys.json']
    .filter((name) => fs.existsSync(path.join(dataDir, name)));

describe('a running server on the local backend', () => {
  const exe = isolateOnce('skyduck-local');
  let setup: Awaited<ReturnType<typeof localStore>>;
  let server: Running;
  let writer: string;
  let reader: string;
  let first: string;

  beforeAll(async () => {
    setup = await localStore(exe);
    server = await serve(exe, setup.env);
    [writer, reader] = [await createKey(exe, setup.env, 'write'), await createKey(exe, setup.env, 'read')];
    await run(server.url, writer, 'create table notes as select range as n, \'note \' || range as text from range(10)');
    const taken = await call(server.url, '/v1/snapshots', { method: 'POST', key: writer });
    expect(taken.status, taken.text).toBe(200);
    first = JSON.parse(taken.text).id;
  });
  afterAll(async () => kill(server));

  it('refuses POST /v1/snapshots to a read key with 403, taking no snapshot', async () => {
    const error = refusal(await call(server.url, '/v1/snapshots', { method: 'POST', key: reader }), 403, 'insufficient_scope');
    expect(error.message).toMatch(/write scope/);
    const answer = await call(server.url, '/v1/snapshots', { key: reader });
    expect(JSON.parse(answer.text).snapshots.map((s: { id: string }) => s.id)).toEqual([first]);
  });

  it('refuses the snapshot command while the server holds the data dir, pointing to POST /v1/snapshots', async () => {
    const { code, stdout, stderr } = await runToEnd(exe, ['snapshot'], setup.env);
    expect(code, stdout).toBe(1);
    expect(stderr).toMatch(/in use by a running skyduck server.*POST \/v1\/snapshots/);
    expect(stderr).not.toMatch(/unexpected failure|\n\s+at /);
    expect((await listed(exe, setup.env)).map((s) => s.id)).toEqual([first]);
  });

  it('on SIGTERM after a write, snapshots the new rows before it exits 0', async () => {
    await run(server.url, writer, "insert into notes values (10, 'written just before SIGTERM'), (11, 'and this')");
    expect(await stop(server)).toBe(0);
    const log = events(server.stderr());
    const done = log.find((event) => event.event === 'snapshot.done' && event.id !== first);
    expect(log).toContainEqual(expect.objectContaining({ event: 'snapshot.start', reason: 'exit' }));
    expect(done, server.stderr()).toMatchObject({ id: expect.stringMatching(SNAPSHOT_ID), written: expect.any(Number) });
    expect(log.some((event) => event.event === 'snapshot.abandoned')).toBe(false);
    expect((await listed(exe, setup.env))[0]).toMatchObject({ id: done!.id, latest: true });

    const dataDir = path.join(tempDir('sigterm-restored'), 'data');
    const restored = await runToEnd(exe, ['restore'], { ...setup.env, SKYDUCK_DATA_DIR: dataDir });
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`restored snapshot ${done!.id}`);
    const rows = await readDatabase(path.join(dataDir, 'skyduck.duckdb'), 'select n, text from notes where n >= 9 order by n');
    expect(rows).toEqual([['9', 'note 9'], ['10', 'written just before SIGTERM'], ['11', 'and this']]);
  });
});

/** Rows from a database file a restore wrote, opened read-only in this process. */
async function readDatabase(file: string, statement: string): Promise<unknown[][]> {
  const instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(statement)).getRowsJson() as unknown[][];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function readParquet(file: string, statement: string): Promise<unknown[][]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`create view t as select * from read_parquet('${file.replaceAll("'", "''")}')`);
    return (await connection.runAndReadAll(statement)).getRowsJson() as unknown[][];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A text fingerprint of a table's rows (DuckDB's own rendering of each row), the same in any DuckDB of one version. */
const DIGEST = (table: string) => `select count(*)::varchar, md5(coalesce(string_agg(r::varchar, chr(10) order by r::varchar), '')) from (select * from ${table}) r`;

describe('the store of a stopped server (local backend)', () => {
  const exe = isolateOnce('skyduck-local');
  let setup: Awaited<ReturnType<typeof localStore>>;
  let snapshot: string;
  const digests: Record<string, unknown[]> = {};
  const types: Record<string, unknown[]> = {};

  beforeAll(async () => {
    setup = await localStore(exe);
    const server = await serve(exe, setup.env);
    try {
      await fill(server.url, server.key);
      for (const table of ['kinds', 'numbers', 'sales']) {
        digests[table] = (await run(server.url, server.key, DIGEST(table))).rows[0];
        types[table] = (await run(server.url, server.key, `select * from ${table} limit 0`)).columns;
      }
      const taken = await call(server.url, '/v1/snapshots', { method: 'POST', key: server.key });
      expect(taken.status, taken.text).toBe(200);
      snapshot = JSON.parse(taken.text).id;
      expect(await stop(server)).toBe(0);
    } finally {
      await kill(server);
    }
  });

  /** A copy of the store to damage, and the env pointing at it with an empty data dir. */
  function copyOfStore(): { store: string; env: Env; dataDir: string; object: (table: string) => string } {
    const store = tempDir('damaged-store');
    fs.cpSync(setup.store, store, { recursive: true });
    const dataDir = path.join(tempDir('damaged-data'), 'data');
    const dir = path.join(store, 'snapshots', snapshot);
    return {
      store,
      dataDir,
      env: { ...setup.env, SKYDUCK_STORAGE_BUCKET: store, SKYDUCK_DATA_DIR: dataDir },
      object: (table) => path.join(dir, 'main', `main%2E${table}%2Eparquet%2Eenc.obj`),
    };
  }

  it('exports every table of latest as plain Parquet files that DuckDB reads with the same rows and types', async () => {
    const out = tempDir('export');
    const { code, stdout, stderr } = await runToEnd(exe, ['export', '--snapshot', 'latest', '--out', out], setup.env);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain(`exported snapshot ${snapshot}`);
    for (const table of ['kinds', 'numbers', 'sales']) {
      const file = path.join(out, 'main', `main.${table}.parquet`);
      expect(fs.readFileSync(file).subarray(0, 4).toString('latin1')).toBe('PAR1');
      expect((await readParquet(file, DIGEST('t')))[0], table).toEqual(digests[table]);
      const described = await readParquet(file, 'select column_name, column_type from (describe t)');
      // The API quotes every struct field name, DESCRIBE only those that need it.
      const unquoted = (columns: { name: unknown; type: unknown }[]) => columns.map(({ name, type }) => ({ name, type: String(type).replaceAll('"', '') }));
      expect(unquoted(described.map(([name, type]) => ({ name, type }))), table).toEqual(unquoted(types[table] as { name: unknown; type: unknown }[]));
    }
    expect(fs.existsSync(path.join(out, 'system', 'main.audit_log.parquet'))).toBe(true);
    expect(fs.readdirSync(path.join(out, 'main')).filter((name) => name.endsWith('.partial'))).toEqual([]);
  });

  it('restores the snapshot by id with the restore command, every checksum verified', async () => {
    const dataDir = path.join(tempDir('restore-cli'), 'data');
    const env = { ...setup.env, SKYDUCK_DATA_DIR: dataDir };
    const { code, stdout, stderr } = await runToEnd(exe, ['restore', '--snapshot', snapshot], env);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain(`restored snapshot ${snapshot}`);
    const audit = await runToEnd(exe, ['audit', 'verify'], env);
    expect(audit.code, audit.stdout + audit.stderr).toBe(0);
  });

  it('refuses a snapshot id that does not exist, naming it', async () => {
    const dataDir = path.join(tempDir('restore-missing'), 'data');
    const { code, stderr } = await runToEnd(exe, ['restore', '--snapshot', '20200101T000000000Z-000000'], { ...setup.env, SKYDUCK_DATA_DIR: dataDir });
    expect(code).toBe(1);
    expect(stderr).toContain('no snapshot 20200101T000000000Z-000000');
    expect(stderr).not.toMatch(/unexpected failure|\n\s+at /);
    expect(fs.existsSync(dataDir) ? leftovers(dataDir) : []).toEqual([]);
  });

  it('refuses a manifest from a newer format version, saying the version', async () => {
    const damaged = copyOfStore();
    const manifest = path.join(damaged.store, 'snapshots', snapshot, 'manifest%2Ejson.obj');
    const parsed = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    fs.writeFileSync(manifest, JSON.stringify({ ...parsed, version: 99 }, null, 2));
    const { code, stderr } = await runToEnd(exe, ['restore'], damaged.env);
    expect(code).toBe(1);
    expect(stderr).toContain(`snapshots/${snapshot}/manifest.json has manifest version 99, newer than this skyduck reads (1)`);
    expect(fs.existsSync(damaged.dataDir) ? leftovers(damaged.dataDir) : []).toEqual([]);
  });

  it('refuses to restore with another key, naming the object and both keys', async () => {
    const other = await keygen(exe);
    const dataDir = path.join(tempDir('restore-wrong-key'), 'data');
    const { code, stderr } = await runToEnd(exe, ['restore'], { ...setup.env, SKYDUCK_KMS_KEY: other.file, SKYDUCK_DATA_DIR: dataDir });
    expect(code).toBe(1);
    expect(stderr).toContain(`snapshots/${snapshot}/`);
    expect(stderr).toContain(`local://${setup.key.id}`);
    expect(stderr).toContain(`local://${other.id}`);
    expect(stderr).not.toMatch(/unexpected failure|\n\s+at /);
    expect(leftovers(dataDir)).toEqual([]);
  });

  it('refuses an object with one flipped byte, naming it, and leaves no database file', async () => {
    const damaged = copyOfStore();
    const file = damaged.object('numbers');
    const bytes = fs.readFileSync(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    fs.writeFileSync(file, bytes);
    const { code, stderr } = await runToEnd(exe, ['restore'], damaged.env);
    expect(code).toBe(1);
    expect(stderr).toContain(`file://${damaged.store}/snapshots/${snapshot}/main/main.numbers.parquet.enc`);
    expect(stderr).not.toMatch(/unexpected failure|\n\s+at /);
    expect(leftovers(damaged.dataDir)).toEqual([]);
  });

  // The keys object is fetched last, after both databases were rebuilt beside the old ones.
  it.each([
    ['a table', 'main/main.sales.parquet.enc', 'main/main%2Esales%2Eparquet%2Eenc.obj'],
    ['the API keys', 'keys.json.enc', 'keys%2Ejson%2Eenc.obj'],
  ])('refuses a snapshot missing the object of %s, naming it, and leaves no database file', async (_what, key, file) => {
    const damaged = copyOfStore();
    fs.rmSync(path.join(damaged.store, 'snapshots', snapshot, file), { force: true });
    const { code, stderr } = await runToEnd(exe, ['restore'], damaged.env);
    expect(code).toBe(1);
    expect(stderr).toContain(`file://${damaged.store}/snapshots/${snapshot}/${key} is missing`);
    expect(stderr).not.toMatch(/unexpected failure|\n\s+at /);
    expect(leftovers(damaged.dataDir)).toEqual([]);
  });
});

describe('kill -9 in the middle of a snapshot (local backend)', () => {
  it('leaves latest on the previous complete snapshot, which the next start restores and whose ledger verifies', async () => {
    const exe = isolateOnce('skyduck-local');
    const setup = await localStore(exe);
    let server: Running | undefined;
    let restored: Running | undefined;
    try {
      server = await serve(exe, setup.env);
      const key = server.key;
      await run(server.url, key, 'create table small as select range as n from range(100)');
      const first = await call(server.url, '/v1/snapshots', { method: 'POST', key });
      expect(first.status, first.text).toBe(200);
      const previous = JSON.parse(first.text).id;
      const digest = (await run(server.url, key, DIGEST('small'))).rows;

      await run(server.url, key, 'create table large as select range as n, random() as r, md5(range::varchar) as h from range(2000000)');
      const pending = call(server.url, '/v1/snapshots', { method: 'POST', key }).catch((error: Error) => error);
      const victim = server;
      await until('the snapshot to reach the large table', () =>
        events(victim.stderr()).some((event) => event.event === 'snapshot.progress' && event.table === 'main.main.large') ? true : undefined, 30_000);
      server.child.kill('SIGKILL');
      expect((await server.exit).signal).toBe('SIGKILL');
      expect(await pending).toBeInstanceOf(Error);
      expect(events(server.stderr()).filter((event) => event.event === 'snapshot.done')).toHaveLength(1);

      expect((await listed(exe, setup.env)).map((s) => ({ id: s.id, latest: s.latest }))).toEqual([{ id: previous, latest: true }]);
      expect(JSON.parse(fs.readFileSync(path.join(setup.store, 'snapshots', 'latest.obj'), 'utf8'))).toEqual({ id: previous });

      const dataDir = path.join(tempDir('killed-restored'), 'data');
      const env = { ...setup.env, SKYDUCK_DATA_DIR: dataDir };
      restored = await serve(exe, env);
      expect(eventOf(restored, 'restore.done'), restored.stderr()).toMatchObject({ id: previous });
      expect((await run(restored.url, key, DIGEST('small'))).rows).toEqual(digest);
      expect(refusal(await sql(restored.url, key, 'select count(*) from large'), 400).message).toMatch(/large/);
      expect(await stop(restored)).toBe(0);

      const audit = await runToEnd(exe, ['audit', 'verify'], env);
      expect(audit.code, audit.stdout + audit.stderr).toBe(0);
      expect(audit.stdout).toMatch(/audit ledger OK: \d+ rows, chain intact/);
    } finally {
      await kill(restored);
      await kill(server);
    }
  });
});
