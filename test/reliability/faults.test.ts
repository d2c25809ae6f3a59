// Faults against the sealed binaries, each run alone in an empty directory with `env -i`, on loopback only:
//
//   1. the storage emulator going away and coming back while writes and snapshots go on (skyduck-aws on
//      moto, through a TCP proxy that is cut and reopened);
//   2. the key service failing (500s) and hanging (skyduck-gcp on the Cloud KMS fake, skyduck-azure on the
//      Key Vault fake), and recovering;
//   3. the data dir's disk filling up (a small tmpfs), and space coming back;
//   4. kill -9 at seeded random points of ingests and snapshots, 20 rounds on one data dir.
//
// test/e2e/snapshots.test.ts already covers one upload cut mid-PUT and one kill -9 mid-snapshot restoring
// on a fresh data dir; these build on them: outages spanning many requests, restarts on the same data dir,
// and the invariants after each fault (every acknowledged write present, nothing half-written, the audit
// ledger verifies, the server keeps answering).
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { DuckDBInstance } from '@duckdb/node-api';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKeyVault, startFakeKeyVault } from '../fakes/azure-key-vault.ts';
import { type FakeManagedIdentity, startFakeManagedIdentity } from '../fakes/azure-managed-identity.ts';
import { type FakeKms, startFakeKms } from '../fakes/cloud-kms.ts';
import { type FakeMetadata, startFakeMetadata } from '../fakes/gce-metadata.ts';
import { type FakeGcs, startFakeGcs } from '../fakes/gcs-json-api.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, type Emulator, azuriteMissing, inCI, motoMissing, startAzurite, startMoto } from '../support/emulators.ts';
import {
  type Answer, call, csvUpload, cutNow, errorOf, events, freeBytes, mountTmpfs, seededRandom, sql, STACK, takeSnapshot, tmpfsMissing, unmount,
} from '../support/faults.ts';
import { isolateOnce, type Running, runToEnd, serve, tempDir, terminate, until } from '../support/process.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

type Env = Record<string, string>;

// Every directory this file makes goes when it ends (SKYDUCK_KEEP_TEST_DIRS keeps them): a binary's copy is
// 140 MB, and support/process.ts's exit hook does not run in vitest's workers.
// One native cache for the whole file: each binary extracts DuckDB once, not at every start.
const native = tempDir('faults-native');

async function kill(running: Running | undefined): Promise<void> {
  if (!running || running.child.exitCode !== null || running.child.signalCode !== null) return;
  running.child.kill('SIGKILL');
  await running.exit;
}

async function ok(answer: Promise<Answer> | Answer, what: string): Promise<any> {
  const settled = await answer;
  expect(settled.status, `${what}: ${settled.text.slice(0, 500)}`).toBe(200);
  return JSON.parse(settled.text);
}

const rowsOf = async (url: string, key: string, statement: string): Promise<unknown[][]> => (await ok(sql(url, key, statement), statement)).rows;

/** A refusal in the API's one error shape, with no stack; returns the error object. */
function refusal(answer: Answer, status: number, code: string): { code: string; message: string } {
  expect(answer.status, answer.text.slice(0, 500)).toBe(status);
  const error = errorOf(answer);
  expect(error, answer.text.slice(0, 500)).toBeDefined();
  expect(error!.code).toBe(code);
  expect(error!.message).not.toMatch(STACK);
  return error!;
}

const eventOf = (running: Running, name: string) => events(running.stderr()).find((event) => event.event === name);

async function keygen(exe: string): Promise<string> {
  const file = path.join(tempDir('faults-key'), 'store.key');
  const { code, stderr } = await runToEnd(exe, ['keygen', '--out', file], { SKYDUCK_NATIVE_CACHE: native });
  expect(code, stderr).toBe(0);
  return file;
}

async function auditVerify(exe: string, env: Env): Promise<string> {
  const audit = await runToEnd(exe, ['audit', 'verify'], env);
  expect(audit.code, audit.stdout + audit.stderr).toBe(0);
  expect(audit.stdout).toMatch(/audit ledger OK: \d+ rows, chain intact/);
  return audit.stdout.trim();
}

/** Rows of a database file, opened read-only in this process (the server is not running on it). */
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

/** What a client that sent a request got: an answer, or the network error that ended it. */
type Outcome = { answer: Answer; error?: undefined } | { answer?: undefined; error: Error };
const attempt = (request: Promise<Answer>): Promise<Outcome> => request.then((answer) => ({ answer }), (error: Error) => ({ error }));
const networkError = (error: Error) => {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return `${cause?.code ?? ''} ${cause?.message ?? error.message}`;
};

// ---------------------------------------------------------------------------------------------------------
// 1. The storage emulator stopped and restarted during writes and snapshots.

const motoMissingReason = motoMissing();
const AWS_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' };

describe.skipIf(motoMissingReason !== undefined && !inCI)(`storage outage: skyduck-aws on moto behind a TCP proxy${motoMissingReason ? ` (skipped: ${motoMissingReason})` : ''}`, () => {
  let moto: Emulator;
  let proxy: TcpProxy;
  beforeAll(async () => {
    if (motoMissingReason) throw new Error(motoMissingReason);
    moto = await startMoto();
    proxy = await startTcpProxy({ host: '127.0.0.1', port: moto.port });
  });
  afterAll(async () => {
    await proxy?.stop();
    await moto?.stop();
  });

  it('keeps acknowledging writes through a storage outage; snapshots fail with 503 naming the store while it is down, succeed after; the last one restores every write', async () => {
    const bucket = 'skyduck-faults-outage';
    const client = { region: 'eu-west-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
    await new S3Client({ ...client, forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    const keyArn = (await new KMSClient(client).send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const exe = isolateOnce('skyduck-aws');
    // S3 and KMS both through the proxy: the whole emulator goes away when it is cut.
    const env: Env = {
      ...AWS_CREDENTIALS,
      SKYDUCK_CLOUD: 'aws',
      SKYDUCK_STORAGE_BUCKET: bucket,
      SKYDUCK_CLOUD_REGION: 'eu-west-1',
      SKYDUCK_STORAGE_ENDPOINT: proxy.endpoint,
      SKYDUCK_KMS_ENDPOINT: proxy.endpoint,
      SKYDUCK_KMS_KEY: keyArn,
      SKYDUCK_NATIVE_CACHE: native,
    };
    let server: Running | undefined;
    let restored: Running | undefined;
    try {
      server = await serve(exe, { ...env, SKYDUCK_DATA_DIR: path.join(tempDir('outage-data'), 'data') });
      const { url, key } = server;
      await ok(sql(url, key, 'create table events (id integer, via varchar, epoch integer)'), 'create table');

      // 0: store up, 1: store down, 2: store up again; the halves are the cut and the reopening themselves, so
      // that a request counted in 1 (or 2) began after the cut (or the reopening) was complete.
      let epoch = 0;
      let stop = false;
      let nextId = 0;
      const writes: { ids: number[]; epoch: number; outcome: Outcome }[] = [];
      const snapshots: { from: number; to: number; outcome: Outcome }[] = [];

      const writer = (async () => {
        for (let n = 0; !stop; n++) {
          const rows = n % 2 === 0 ? 5 : 40;
          const ids = Array.from({ length: rows }, () => nextId++);
          const at = epoch;
          const request = n % 2 === 0
            ? sql(url, key, `insert into events select range::integer + ${ids[0]}, 'insert', ${at} from range(${rows})`)
            : csvUpload(url, key, 'events', `id,via,epoch\n${ids.map((id) => `${id},ingest,${at}`).join('\n')}\n`);
          writes.push({ ids, epoch: at, outcome: await attempt(request) });
        }
      })();
      const snapshotter = (async () => {
        while (!stop) {
          const from = epoch;
          const outcome = await attempt(takeSnapshot(url, key));
          snapshots.push({ from, to: epoch, outcome });
        }
      })();
      const settled = (from: number, to = from) => snapshots.filter((s) => s.from === from && s.to === to);
      const written = (at: number) => writes.filter((w) => w.epoch === at && w.outcome.answer?.status === 200).length;

      try {
        await until('two snapshots and some writes with the store up', () =>
          settled(0).filter((s) => s.outcome.answer?.status === 200).length >= 2 && written(0) >= 10 ? true : undefined, 30_000);

        epoch = 0.5;
        await cutNow(proxy);
        epoch = 1;
        const cutAt = Date.now();
        // A few seconds of outage, with at least two snapshots begun and ended inside it.
        await until('an outage of 3 s with two snapshots inside it', () =>
          Date.now() - cutAt >= 3_000 && settled(1).length >= 2 && written(1) >= 10 ? true : undefined, 30_000);

        epoch = 1.5;
        await proxy.reopen();
        epoch = 2;
        await until('two snapshots begun after the store came back', () => (settled(2).length >= 2 ? true : undefined), 30_000);
      } finally {
        stop = true;
        await Promise.all([writer, snapshotter]);
      }

      // Writes go to DuckDB on the local disk: every one was acknowledged, outage or not.
      for (const write of writes) {
        expect(write.outcome.error, write.outcome.error && networkError(write.outcome.error)).toBeUndefined();
        expect(write.outcome.answer!.status, write.outcome.answer!.text.slice(0, 300)).toBe(200);
      }
      expect(written(1)).toBeGreaterThanOrEqual(10);

      for (const snapshot of snapshots) expect(snapshot.outcome.error, snapshot.outcome.error && networkError(snapshot.outcome.error)).toBeUndefined();
      expect(settled(0).map((s) => s.outcome.answer!.status)).toEqual(settled(0).map(() => 200));
      // Inside the outage: each one a 503 naming the store, and quickly (bounded retries, no hang).
      for (const { outcome } of settled(1)) {
        const error = refusal(outcome.answer!, 503, 'snapshot_failed');
        expect(error.message).toContain(`s3://${bucket}`);
        expect(outcome.answer!.ms).toBeLessThan(10_000);
      }
      // The first snapshot begun once the store is back succeeds, and so does every later one.
      for (const { outcome } of settled(2)) expect(outcome.answer!.status, outcome.answer!.text.slice(0, 300)).toBe(200);
      const log = events(server.stderr());
      expect(log.filter((event) => event.event === 'snapshot.failed').length).toBeGreaterThanOrEqual(settled(1).length);
      expect((await call(url, '/v1/health')).status).toBe(200);

      // With the writers stopped, the last snapshot holds every acknowledged write.
      const last = await ok(takeSnapshot(url, key), 'the last snapshot');
      const acknowledged = writes.flatMap((write) => write.ids).sort((a, b) => a - b);
      await kill(server);

      restored = await serve(exe, { ...env, SKYDUCK_DATA_DIR: path.join(tempDir('outage-restored'), 'data') });
      expect(eventOf(restored, 'restore.done'), restored.stderr()).toMatchObject({ id: last.id });
      const ids = await call(restored.url, '/v1/query', {
        key, headers: { 'content-type': 'application/json', accept: 'text/csv' }, body: JSON.stringify({ sql: 'select id from events order by id' }),
      });
      expect(ids.status, ids.text.slice(0, 300)).toBe(200);
      const restoredIds = ids.text.trim().split('\n').slice(1).map(Number);
      expect(restoredIds.length).toBe(acknowledged.length);
      expect(restoredIds).toEqual(acknowledged);
      console.log(`storage outage: ${writes.length} writes acknowledged (${written(1)} while the store was down); snapshots: ` +
        `${settled(0).length} before, ${settled(1).length} inside (503 in ${settled(1).map((s) => Math.round(s.outcome.answer!.ms)).join(', ')} ms), ` +
        `${snapshots.length - settled(0).length - settled(1).length - settled(2).length} spanning a change, ${settled(2).length} after; ${acknowledged.length} rows restored`);
    } finally {
      await kill(restored);
      await kill(server);
    }
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------------------
// 2. The key service failing and hanging.

/**
 * What bounds a snapshot whose key service hangs: src/cloud/retry.ts's 20 s budget, which also abandons an
 * attempt still running when it ends (the Cloud KMS adapter's own per-call deadline is 30 s), plus a margin
 * for the rest of the snapshot and a loaded machine.
 */
const HANG_BOUND_MS = { gcp: 20_000 + 8_000, azure: 20_000 + 8_000 };
/** 500s are retried (4 attempts, backoff under a second in all): a clear 503 comes fast. */
const FAILING_BOUND_MS = 10_000;

interface KeyFault {
  set(fault: 'none' | 'error' | 'hang'): void;
  readonly requests: number;
}

/**
 * The scenario both clouds run: snapshots with the key service failing, then hanging (the server answering
 * reads, writes and listings meanwhile), then recovered; the recovered snapshot restores on an empty data dir.
 */
async function keyServiceFaults(exe: string, env: Env, keyName: string, keys: KeyFault, hangBoundMs: number, label: string): Promise<void> {
  let server: Running | undefined;
  let restored: Running | undefined;
  try {
    server = await serve(exe, { ...env, SKYDUCK_DATA_DIR: path.join(tempDir(`${label}-kms-data`), 'data') });
    const { url, key } = server;
    await ok(sql(url, key, 'create table notes as select range::integer as n, md5(range::varchar) as h from range(1000)'), 'create table');

    // Failing: no data key has been made yet (the server keeps one for 5 minutes), so this asks the service.
    keys.set('error');
    let before = keys.requests;
    const failed = await takeSnapshot(url, key);
    const failure = refusal(failed, 503, 'snapshot_failed');
    expect(failure.message).toContain(keyName);
    expect(failed.ms).toBeLessThan(FAILING_BOUND_MS);
    const failingRequests = keys.requests - before;
    // Retried, and no more than src/cloud/retry.ts's 4 attempts (the SDKs' own retries are off).
    expect(failingRequests).toBeGreaterThanOrEqual(2);
    expect(failingRequests).toBeLessThanOrEqual(4);

    // Hanging: the snapshot waits for the key service; everything else goes on.
    keys.set('hang');
    before = keys.requests;
    const hanging = takeSnapshot(url, key);
    let settledAnswer: Answer | undefined;
    void hanging.then((answer) => (settledAnswer = answer), () => undefined);
    await until('the snapshot to reach the key service', () => (keys.requests > before ? true : undefined), 10_000);
    const hungAt = performance.now();
    let served = 0;
    let inserted = 0;
    let slowest = 0;
    while (!settledAnswer) {
      const read = await sql(url, key, 'select count(*) from notes');
      const write = await sql(url, key, `insert into notes values (${1000 + inserted}, 'written while the key service hangs')`);
      const listed = await call(url, '/v1/snapshots', { key });
      for (const answer of [read, write, listed]) {
        expect(answer.status, answer.text.slice(0, 300)).toBe(200);
        slowest = Math.max(slowest, answer.ms);
      }
      inserted += 1;
      served += 3;
      if (performance.now() - hungAt > hangBoundMs + 10_000) break;
      // Paced like a poll: the next round when the snapshot ends or in 200 ms, whichever is first.
      await Promise.race([hanging.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 200))]);
    }
    expect(settledAnswer, `POST /v1/snapshots still waiting ${Math.round(performance.now() - hungAt)} ms after the key service hung`).toBeDefined();
    const hung = await hanging;
    const hangMs = hung.ms;
    const hangError = refusal(hung, 503, 'snapshot_failed');
    expect(hangError.message).toContain(keyName);
    expect(hangMs).toBeLessThan(hangBoundMs);
    expect(served).toBeGreaterThanOrEqual(6);
    expect(slowest).toBeLessThan(2_000);

    // Recovered: the next snapshot works, and restores on an empty data dir.
    keys.set('none');
    const taken = await ok(takeSnapshot(url, key), 'the snapshot after the key service recovered');
    const digest = await rowsOf(url, key, 'select count(*), sum(n), max(h) from notes');
    await kill(server);
    restored = await serve(exe, { ...env, SKYDUCK_DATA_DIR: path.join(tempDir(`${label}-kms-restored`), 'data') });
    expect(eventOf(restored, 'restore.done'), restored.stderr()).toMatchObject({ id: taken.id });
    expect(await rowsOf(restored.url, key, 'select count(*), sum(n), max(h) from notes')).toEqual(digest);
    console.log(`${label} key service: failing -> 503 in ${Math.round(failed.ms)} ms after ${failingRequests} requests (${failure.message}); ` +
      `hanging -> 503 in ${Math.round(hangMs)} ms (${hangError.message}) (${served} other requests served meanwhile, slowest ${Math.round(slowest)} ms); ` +
      `recovered -> snapshot ${taken.id} restored`);
  } finally {
    await kill(restored);
    await kill(server);
  }
}

const azuriteMissingReason = azuriteMissing();

describe.concurrent('key service failing and hanging', () => {
  describe('skyduck-gcp on the GCS, Cloud KMS and metadata fakes', () => {
    const project = 'skyduck-faults';
    const keyName = `projects/${project}/locations/global/keyRings/r/cryptoKeys/snapshots`;
    let metadata: FakeMetadata;
    let gcs: FakeGcs;
    let kms: FakeKms;
    beforeAll(async () => {
      metadata = await startFakeMetadata({ project });
      gcs = await startFakeGcs({ acceptToken: (token) => metadata.issued.has(token) });
      kms = await startFakeKms({ acceptToken: (token) => metadata.issued.has(token) });
      gcs.createBucket('faults');
      kms.createKey(keyName);
    });
    afterAll(async () => Promise.all([gcs?.stop(), kms?.stop(), metadata?.stop()]));

    it('Cloud KMS answering 500s, then hanging, then recovered', async () => {
      await keyServiceFaults(isolateOnce('skyduck-gcp'), {
        GCE_METADATA_HOST: metadata.host,
        GOOGLE_CLOUD_PROJECT: project,
        SKYDUCK_CLOUD: 'gcp',
        SKYDUCK_STORAGE_BUCKET: 'faults',
        SKYDUCK_STORAGE_ENDPOINT: gcs.endpoint,
        SKYDUCK_KMS_ENDPOINT: kms.endpoint,
        SKYDUCK_KMS_KEY: keyName,
        SKYDUCK_NATIVE_CACHE: native,
      }, `gcp-kms://${keyName}`, { set: (fault) => (kms.fault = fault), get requests() { return kms.requests; } }, HANG_BOUND_MS.gcp, 'gcp');
    }, 120_000);
  });

  describe.skipIf(azuriteMissingReason !== undefined && !inCI)(`skyduck-azure on azurite and the Key Vault fake${azuriteMissingReason ? ` (skipped: ${azuriteMissingReason})` : ''}`, () => {
    let azurite: Emulator;
    let vault: FakeKeyVault;
    let identity: FakeManagedIdentity;
    beforeAll(async () => {
      if (azuriteMissingReason) throw new Error(azuriteMissingReason);
      azurite = await startAzurite();
      identity = await startFakeManagedIdentity();
      vault = await startFakeKeyVault({ token: identity.token });
      vault.createKey('snapshots');
    });
    afterAll(async () => Promise.all([azurite?.stop(), vault?.stop(), identity?.stop()]));

    it('Key Vault answering 500s, then hanging, then recovered', async () => {
      const connectionString = `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${azurite.endpoint};`;
      await BlobServiceClient.fromConnectionString(connectionString).createContainer('faults');
      await keyServiceFaults(isolateOnce('skyduck-azure'), {
        AZURE_STORAGE_CONNECTION_STRING: connectionString,
        IDENTITY_ENDPOINT: identity.endpoint,
        IDENTITY_HEADER: identity.header,
        SKYDUCK_CLOUD: 'azure',
        SKYDUCK_STORAGE_BUCKET: `${AZURITE_ACCOUNT}/faults`,
        SKYDUCK_KMS_KEY: `${vault.url}/keys/snapshots`,
        SKYDUCK_NATIVE_CACHE: native,
      }, `azure-kv://${new URL(vault.url).host}/keys/snapshots`, { set: (fault) => (vault.fault = fault), get requests() { return vault.requests; } }, HANG_BOUND_MS.azure, 'azure');
    }, 120_000);
  });
});

// ---------------------------------------------------------------------------------------------------------
// 3. The data dir's disk full.

const tmpfsMissingReason = tmpfsMissing();

/**
 * A write refused for want of space, as a client must see it: a 4xx/5xx in the API's error shape, no stack
 * (asserted here), and a message that says the disk is full (returned as a problem when it does not, so the
 * test goes on to check recovery before it fails on it). An upload may instead end with the connection
 * closed, since the server stops reading a body it cannot store (as with 413, test/e2e/warehouse.test.ts).
 */
function diskFullRefusal(what: string, outcome: Outcome, upload: boolean): string | undefined {
  if (outcome.error) {
    expect(upload, `${what}: a request that is not an upload failed without an answer: ${networkError(outcome.error)}`).toBe(true);
    expect(networkError(outcome.error)).toMatch(/ECONNRESET|EPIPE|other side closed|socket/i);
    return undefined;
  }
  const { answer } = outcome;
  expect(answer.status, `${what}: ${answer.text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  const error = errorOf(answer);
  expect(error, `${what}: ${answer.text.slice(0, 300)}`).toBeDefined();
  expect(error!.message).not.toMatch(STACK);
  // Clear: the client learns that the server is out of disk space, not that something internal broke.
  const clear = /no space|disk|storage|full/i.test(`${error!.code} ${error!.message}`);
  return clear ? undefined : `${what}: ${answer.status} ${error!.code}: ${error!.message}`;
}

describe.skipIf(tmpfsMissingReason !== undefined && !inCI)(`disk full in the data dir (a 40 MB tmpfs)${tmpfsMissingReason ? ` (skipped: ${tmpfsMissingReason})` : ''}`, () => {
  let mountPoint: string;
  let server: Running | undefined;
  beforeAll(() => {
    if (tmpfsMissingReason) throw new Error(tmpfsMissingReason);
    mountPoint = path.join(tempDir('disk-full'), 'mnt');
    mountTmpfs(mountPoint, '40m');
  });
  afterAll(async () => {
    await kill(server);
    if (mountPoint) unmount(mountPoint);
  });

  it('refuses writes clearly while full, half-writes nothing, stays up, writes again once space is freed; the ledger verifies', async () => {
    const exe = isolateOnce('skyduck-local');
    const dataDir = path.join(mountPoint, 'data');
    // The store and its key outside the full disk.
    const env: Env = { SKYDUCK_DATA_DIR: dataDir, SKYDUCK_STORAGE_BUCKET: tempDir('disk-full-store'), SKYDUCK_KMS_KEY: await keygen(exe), SKYDUCK_NATIVE_CACHE: native };
    server = await serve(exe, env);
    const { url, key } = server;
    await ok(sql(url, key, 'create table t (id integer, pad varchar)'), 'create table');
    let rows = 0;
    let nextId = 0;
    const csv = (count: number) => {
      const lines = ['id,pad'];
      for (let i = 0; i < count; i++) lines.push(`${nextId++},${(nextId * 2654435761 % 4294967296).toString(36).repeat(8)}`);
      return `${lines.join('\n')}\n`;
    };
    await ok(csvUpload(url, key, 't', csv(100)), 'the first upload');
    rows += 100;

    // A filler file beside the data dir leaves about 6 MB free.
    const filler = path.join(mountPoint, 'filler');
    fs.writeFileSync(filler, Buffer.alloc(Math.max(freeBytes(mountPoint) - 6 * 2 ** 20, 0), 1));

    // A write that was acknowledged counts its rows; any other outcome is a refusal to look at.
    const refused: { what: 'upload' | 'insert'; outcome: Outcome }[] = [];
    const upload = async () => {
      const outcome = await attempt(csvUpload(url, key, 't', csv(10_000)));
      if (outcome.answer?.status === 200) rows += 10_000;
      else refused.push({ what: 'upload', outcome });
    };
    const insert = async () => {
      const outcome = await attempt(sql(url, key, `insert into t select range::integer + ${nextId}, repeat(md5(range::varchar), 3) from range(20000)`));
      nextId += 20_000;
      if (outcome.answer?.status === 200) rows += 20_000;
      else refused.push({ what: 'insert', outcome });
    };
    // Uploads of about half a MB each until one is refused, then INSERTs of about 2 MB until one is refused.
    for (let i = 0; i < 40 && !refused.some((r) => r.what === 'upload'); i++) await upload();
    for (let i = 0; i < 20 && !refused.some((r) => r.what === 'insert'); i++) await insert();
    // One more of each while full, and a snapshot (its staging file lives in the data dir too).
    await upload();
    await insert();
    const snapshotWhileFull = await attempt(takeSnapshot(url, key));

    expect(refused.map((r) => r.what)).toEqual(expect.arrayContaining(['upload', 'insert']));
    const described = refused.map(({ what, outcome }) => `${what}: ${outcome.answer ? `${outcome.answer.status} ${outcome.answer.text.slice(0, 240)}` : networkError(outcome.error!)}`);
    const unclear = refused.map(({ what, outcome }) => diskFullRefusal(what, outcome, what === 'upload'));
    if (snapshotWhileFull.answer?.status !== 200) unclear.push(diskFullRefusal('snapshot', snapshotWhileFull, false));

    // Still up, still reading, and no row of a refused write anywhere.
    expect((await call(url, '/v1/health')).status).toBe(200);
    expect(await rowsOf(url, key, 'select count(*)::integer, count(distinct id)::integer from t')).toEqual([[rows, rows]]);
    expect(fs.readdirSync(path.join(dataDir, 'spool'))).toEqual([]);
    expect(fs.existsSync(path.join(dataDir, 'staging')) ? fs.readdirSync(path.join(dataDir, 'staging')) : []).toEqual([]);

    // Space back: writes and a snapshot work again, and the counts add up.
    fs.rmSync(filler);
    await ok(csvUpload(url, key, 't', csv(10_000)), 'an upload after space came back');
    rows += 10_000;
    await ok(sql(url, key, `insert into t select range::integer + ${nextId}, 'after' from range(1000)`), 'an insert after space came back');
    nextId += 1000;
    rows += 1000;
    expect(await rowsOf(url, key, 'select count(*)::integer, count(distinct id)::integer from t')).toEqual([[rows, rows]]);
    await ok(takeSnapshot(url, key), 'a snapshot after space came back');

    expect(await terminate(server, 30_000)).toBe(0);
    const verified = await auditVerify(exe, env);
    const logged = events(server.stderr()).filter((e) => e.event === 'request.failed').map((e) => e.error);
    console.log(`disk full: ${refused.length} refusals (${described.map((d) => d.slice(0, 160)).join(' | ')}); ` +
      `snapshot while full: ${snapshotWhileFull.answer ? `${snapshotWhileFull.answer.status} ${snapshotWhileFull.answer.text.slice(0, 160)}` : networkError(snapshotWhileFull.error!)}; ${rows} rows kept; ${verified}; the server logged as unexpected failures: ${[...new Set(logged)].join(' | ')}`);
    // Last, so that everything above was checked too: each refusal said the disk is full.
    expect(unclear.filter(Boolean), 'refusals that do not say the disk is full').toEqual([]);
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------------------
// 4. kill -9 at random points of ingest and snapshot.

const ROUNDS = 20;

interface Batch {
  id: number;
  rows: number;
  kind: 'insert' | 'upload';
  round: number;
  /** sent: no answer yet (in flight at the kill); present/absent: an in-flight batch, as found after the restart. */
  state: 'sent' | 'acked' | 'refused' | 'present' | 'absent';
  answer?: string;
}

type Trigger =
  | { kind: 'snapshot started' }
  | { kind: 'snapshot progress'; line: number }
  | { kind: 'acknowledged writes'; count: number }
  | { kind: 'upload loading' }
  | { kind: 'snapshot answered'; then: number };

interface Round {
  round: number;
  trigger: Trigger;
  /** Batches acknowledged before the snapshot request was sent. */
  ackedBeforeSnapshot: number[];
  snapshotSentAt: number;
  killedAt: number;
  snapshot: string;
  firedBy: string;
}

/** The time a snapshot id was made (its name starts with it): 20261126T082136146Z-4339ae. */
function idTime(id: string): number {
  const [, y, mo, d, h, mi, s, ms] = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z/.exec(id)!;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(ms));
}

describe('kill -9 at random points of ingest and snapshot (skyduck-local, one data dir)', () => {
  it(`${ROUNDS} rounds: after each kill the server starts, the ledger verifies and every acknowledged write is there; the latest snapshot restores`, async () => {
    const seed = process.env.SKYDUCK_FAULT_SEED ? Number(process.env.SKYDUCK_FAULT_SEED) : randomInt(1, 2 ** 31 - 1);
    console.log(`kill -9 rounds: seed ${seed} (SKYDUCK_FAULT_SEED=${seed} runs the same schedule)`);
    const random = seededRandom(seed);
    const exe = isolateOnce('skyduck-local');
    const store = tempDir('kill-store');
    const dataDir = path.join(tempDir('kill-data'), 'data');
    const env: Env = { SKYDUCK_DATA_DIR: dataDir, SKYDUCK_STORAGE_BUCKET: store, SKYDUCK_KMS_KEY: await keygen(exe), SKYDUCK_NATIVE_CACHE: native };

    const batches: Batch[] = [];
    const rounds: Round[] = [];
    /** Deviations that do not stop the rounds (so that all 20 run); asserted empty at the end. */
    const anomalies: string[] = [];
    let server: Running | undefined;

    /** Every acknowledged batch whole, every in-flight one whole or absent, nothing else. */
    const checkDurable = async (url: string, key: string, when: string) => {
      const found = new Map((await rowsOf(url, key, 'select batch, count(*)::integer from facts group by batch')).map(([b, n]) => [Number(b), Number(n)]));
      for (const batch of batches) {
        const count = found.get(batch.id) ?? 0;
        const where = `${when}: batch ${batch.id} (${batch.kind} of ${batch.rows} rows in round ${batch.round}, ${batch.state})`;
        if (batch.state === 'acked' || batch.state === 'present') expect(count, where).toBe(batch.rows);
        else if (batch.state === 'refused' || batch.state === 'absent') expect(count, where).toBe(0);
        else {
          expect([0, batch.rows], where).toContain(count);
          batch.state = count === 0 ? 'absent' : 'present';
        }
        found.delete(batch.id);
      }
      expect([...found.keys()], `${when}: batches nobody sent`).toEqual([]);
    };

    const write = async (url: string, key: string, round: number, rng: ReturnType<typeof seededRandom>): Promise<Batch> => {
      const kind = rng.next() < 0.5 ? 'insert' : 'upload';
      const rows = kind === 'insert' ? rng.int(1, 50) : rng.int(200, 6000);
      const batch: Batch = { id: batches.length, rows, kind, round, state: 'sent' };
      batches.push(batch);
      const request = kind === 'insert'
        ? sql(url, key, `insert into facts select ${batch.id}, range::integer, ${round}, md5(range::varchar) from range(${rows})`)
        : csvUpload(url, key, 'facts', `batch,n,round,pad\n${Array.from({ length: rows }, (_, n) => `${batch.id},${n},${round},${(n * 2654435761 % 4294967296).toString(36)}`).join('\n')}\n`);
      const answer = await request; // a network error (the kill) leaves the batch 'sent'
      batch.state = answer.status === 200 ? 'acked' : 'refused';
      if (answer.status !== 200) batch.answer = `${answer.status} ${answer.text.slice(0, 200)}`;
      return batch;
    };

    const triggers = (): Trigger => {
      const kind = random.int(0, 4);
      if (kind === 0) return { kind: 'snapshot started' };
      // Two lines a table (before it: odd, during its COPY and upload; after it: even), 4 tables: facts, bulk, audit_log, memories.
      if (kind === 1) return { kind: 'snapshot progress', line: random.int(1, 8) };
      if (kind === 2) return { kind: 'acknowledged writes', count: random.int(1, 8) };
      if (kind === 3) return { kind: 'upload loading' };
      return { kind: 'snapshot answered', then: random.int(0, 3) };
    };

    const started = performance.now();
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const trigger = triggers();
        const before = random.int(1, 4);
        const writerSeeds = [random.int(1, 2 ** 30), random.int(1, 2 ** 30)];

        server = await serve(exe, env);
        const running = server;
        const { url, key } = running;
        if (round === 0) {
          await ok(sql(url, key, 'create table facts (batch integer, n integer, round integer, pad varchar)'), 'create facts');
          // Large enough that a snapshot spends a while in COPY, where some kills land.
          await ok(sql(url, key, 'create table bulk as select range as n, md5(range::varchar) as h from range(300000)'), 'create bulk');
        } else {
          await checkDurable(url, key, `after the restart of round ${round}`);
        }

        const rng = seededRandom(writerSeeds[0]!);
        for (let i = 0; i < before; i++) {
          const batch = await write(url, key, round, rng);
          if (batch.state !== 'acked') anomalies.push(`round ${round}: batch ${batch.id} refused: ${batch.answer}`);
        }
        const ackedBeforeSnapshot = batches.filter((b) => b.state === 'acked' || b.state === 'present').map((b) => b.id);
        const snapshotSentAt = Date.now();
        let snapshotAnswer: Answer | undefined;
        let snapshotError: Error | undefined;
        const snapshot = takeSnapshot(url, key).then((answer) => (snapshotAnswer = answer), (error: Error) => (snapshotError = error));

        let killed = false;
        let ackedAfter = 0;
        let answeredAt: number | undefined;
        const writers = writerSeeds.map(async (writerSeed, w) => {
          const own = w === 0 ? rng : seededRandom(writerSeed);
          while (!killed) {
            try {
              const batch = await write(url, key, round, own);
              if (batch.state === 'acked') ackedAfter += 1;
              else anomalies.push(`round ${round}: batch ${batch.id} refused: ${batch.answer}`);
            } catch {
              return; // the kill
            }
          }
        });

        // An upload is renamed to spool/load.csv for its load transaction; one a kill left behind has another inode.
        const loadFile = path.join(dataDir, 'spool', 'load.csv');
        const staleLoad = fs.statSync(loadFile, { throwIfNoEntry: false })?.ino;
        const fired = await until(`round ${round}: ${JSON.stringify(trigger)}`, () => {
          const log = events(running.stderr());
          const snapshotDone = snapshotAnswer !== undefined || snapshotError !== undefined;
          if (snapshotDone && answeredAt === undefined) answeredAt = ackedAfter;
          switch (trigger.kind) {
            case 'snapshot started':
              return log.some((e) => e.event === 'snapshot.start') ? 'snapshot.start' : snapshotDone ? 'snapshot ended first' : undefined;
            case 'snapshot progress': {
              // Each round is a new process: its stderr holds this round's lines only.
              const lines = log.filter((e) => e.event === 'snapshot.progress').length;
              return lines >= trigger.line ? `progress line ${lines}` : snapshotDone ? `snapshot ended after ${lines} progress lines` : undefined;
            }
            case 'acknowledged writes':
              return ackedAfter >= trigger.count ? `${ackedAfter} writes acknowledged` : undefined;
            case 'upload loading':
              return (fs.statSync(loadFile, { throwIfNoEntry: false })?.ino ?? staleLoad) !== staleLoad ? 'an upload being loaded'
                : ackedAfter >= 40 ? 'no load seen in 40 writes' : undefined;
            case 'snapshot answered':
              return answeredAt !== undefined && ackedAfter - answeredAt >= trigger.then ? `snapshot answered, then ${ackedAfter - answeredAt} writes` : undefined;
          }
        }, 30_000);
        killed = true;
        running.child.kill('SIGKILL');
        const killedAt = Date.now();
        expect(await running.exit, running.stderr().slice(-2000)).toEqual({ code: null, signal: 'SIGKILL' });
        await Promise.all([...writers, snapshot]);

        let snapshotOutcome = 'no answer (killed)';
        if (snapshotAnswer) {
          if (snapshotAnswer.status === 200) snapshotOutcome = JSON.parse(snapshotAnswer.text).id;
          else {
            snapshotOutcome = `${snapshotAnswer.status}`;
            const cause = events(running.stderr()).find((e) => e.event === 'snapshot.failed')?.error;
            anomalies.push(`round ${round}: POST /v1/snapshots answered ${snapshotAnswer.status} ${snapshotAnswer.text.slice(0, 200)}; server log: ${cause}`);
          }
        }
        const staging = fs.existsSync(path.join(dataDir, 'staging')) ? fs.readdirSync(path.join(dataDir, 'staging')) : [];
        rounds.push({ round, trigger, ackedBeforeSnapshot, snapshotSentAt, killedAt, snapshot: snapshotOutcome, firedBy: `${fired}${staging.length ? `; left staging/${staging.join(',')}` : ''}` });

        // While it is down: the ledger's chain is whole.
        await auditVerify(exe, env);
      }

      // The latest snapshot, as the kills left the store, restores on an empty data dir.
      const restoredDir = path.join(tempDir('kill-restored'), 'data');
      const restoreEnv = { ...env, SKYDUCK_DATA_DIR: restoredDir };
      const restore = await runToEnd(exe, ['restore'], restoreEnv, 60_000);
      expect(restore.code, restore.stdout + restore.stderr).toBe(0);
      const latest = /restored snapshot (\S+)/.exec(restore.stdout)?.[1];
      expect(latest, restore.stdout).toBeDefined();
      await auditVerify(exe, restoreEnv);
      // The round whose request made it: all acknowledged before that request must be in it, each batch whole.
      const made = rounds.find((r) => r.snapshotSentAt - 5 <= idTime(latest!) && idTime(latest!) <= r.killedAt + 5);
      expect(made, `no round sent the request for snapshot ${latest}`).toBeDefined();
      const inSnapshot = new Map((await readDatabase(path.join(restoredDir, 'skyduck.duckdb'), 'select batch, count(*)::integer from facts group by batch'))
        .map(([b, n]) => [Number(b), Number(n)]));
      for (const id of made!.ackedBeforeSnapshot) expect(inSnapshot.get(id), `batch ${id} in snapshot ${latest}`).toBe(batches[id]!.rows);
      for (const [id, count] of inSnapshot) {
        expect(batches[id], `batch ${id} in snapshot ${latest}`).toBeDefined();
        expect(count, `batch ${id} in snapshot ${latest}`).toBe(batches[id]!.rows);
        expect(batches[id]!.state, `batch ${id} in snapshot ${latest}`).not.toBe('absent');
      }

      // One more start on the killed data dir: everything still there, nothing left of the uploads the kills
      // cut short, a snapshot, and a clean stop.
      server = await serve(exe, env);
      const last = server;
      await checkDurable(last.url, last.key, 'after the last round');
      const leftovers = fs.readdirSync(path.join(dataDir, 'spool'));
      if (leftovers.length) anomalies.push(`after a restart, the spool dir still holds ${leftovers.length} uploads that kills cut short: ${leftovers.join(', ')}`);
      const finalSnapshot = await takeSnapshot(last.url, last.key);
      if (finalSnapshot.status !== 200) {
        const cause = events(last.stderr()).find((e) => e.event === 'snapshot.failed')?.error;
        anomalies.push(`after the rounds: POST /v1/snapshots answered ${finalSnapshot.status} ${finalSnapshot.text.slice(0, 200)}; server log: ${cause}`);
      }
      expect(await terminate(last, 30_000)).toBe(0);
      await auditVerify(exe, env);

      // Every snapshot acknowledged is durable: the newest of them is still listed, and latest is not older.
      const answered = rounds.map((r) => r.snapshot).filter((id) => /^\d{8}T/.test(id));
      const listing = await runToEnd(exe, ['snapshots', '--json'], env);
      expect(listing.code, listing.stderr).toBe(0);
      const listed = (JSON.parse(listing.stdout) as { id: string; latest: boolean }[]);
      if (answered.length) {
        expect(listed.map((s) => s.id)).toContain(answered.at(-1));
        expect(listed.find((s) => s.latest)!.id >= answered.at(-1)!).toBe(true);
      }

      const acked = batches.filter((b) => b.state === 'acked' || b.state === 'present');
      console.log(`kill -9 rounds (seed ${seed}), ${Math.round(performance.now() - started)} ms, ${batches.length} batches sent, ` +
        `${acked.length} acknowledged or found (${acked.reduce((sum, b) => sum + b.rows, 0)} rows), ${batches.filter((b) => b.state === 'absent').length} in flight and lost; ` +
        `latest snapshot ${latest} (round ${made!.round}); left in the spool dir: ${leftovers.length ? leftovers.join(', ') : 'nothing'}\n` +
        rounds.map((r) => `  round ${String(r.round).padStart(2)}: ${JSON.stringify(r.trigger)} -> ${r.firedBy}; snapshot: ${r.snapshot}`).join('\n'));
      expect(anomalies).toEqual([]);
    } finally {
      await kill(server);
    }
  }, 180_000);
});
