// `skyduck replicate` with the sealed all-clouds binary, across clouds through the emulators and fakes:
// a server on one cloud takes a snapshot, replicate copies it to another cloud under that cloud's key,
// and a server started there on an empty data dir restores it by itself and answers the same query with
// the same bytes. Bad destinations fail naming the destination, with nothing there looking complete.
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKeyVault, startFakeKeyVault } from '../fakes/azure-key-vault.ts';
import { type FakeManagedIdentity, startFakeManagedIdentity } from '../fakes/azure-managed-identity.ts';
import { type FakeKms, startFakeKms } from '../fakes/cloud-kms.ts';
import { type FakeMetadata, startFakeMetadata } from '../fakes/gce-metadata.ts';
import { type FakeGcs, startFakeGcs } from '../fakes/gcs-json-api.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, type Emulator, azuriteMissing, inCI, motoMissing, startAzurite, startMoto } from '../support/emulators.ts';
import { isolate, type Running, runToEnd, serve, tempDir, terminate, until } from '../support/process.ts';

const missing = motoMissing() ?? azuriteMissing();
const REGION = 'eu-west-1';
const PROJECT = 'skyduck-e2e';
const GCP_KEY = `projects/${PROJECT}/locations/global/keyRings/r/cryptoKeys/replicas`;

/** A table of many types, NULLs and awkward text included; its rows are what must survive the trip. */
const CREATE = `create table trips as select
  range::integer as id, range * 1234567890123 as big, range / 7 as ratio, (range * 1.05)::decimal(18, 2) as amount,
  case when range % 5 = 0 then null else 'na''me "' || range || '" ✈ ' end as name, date '2026-01-01' + range::integer as day,
  timestamp '2026-01-01 08:00:00' + interval (range) second as at, range % 2 = 0 as even, [range, range + 1] as pair,
  {'k': range::varchar, 'v': range * 2} as kv, ('\\x00\\xff' || range::varchar)::blob as raw
  from range(3000)`;
const SELECT = 'select * from trips order by id';
/** The answer's JSON text without its one field that differs between runs. */
const withoutTiming = (text: string) => text.replace(/"execution_time_ms":[0-9.e+-]+,?/, '');

describe.skipIf(missing !== undefined && !inCI)(`skyduck replicate across clouds${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const exe = isolate('skyduck');
  let moto: Emulator;
  let azurite: Emulator;
  let metadata: FakeMetadata;
  let gcs: FakeGcs;
  let kms: FakeKms;
  let vault: FakeKeyVault;
  let identity: FakeManagedIdentity;
  let keyArn: string;
  let s3: S3Client;
  let connectionString: string;
  const native = tempDir('native');

  beforeAll(async () => {
    if (missing) throw new Error(missing);
    [moto, azurite, metadata, identity] = await Promise.all([startMoto(), startAzurite(), startFakeMetadata({ project: PROJECT }), startFakeManagedIdentity()]);
    gcs = await startFakeGcs({ acceptToken: (token) => metadata.issued.has(token) });
    kms = await startFakeKms({ acceptToken: (token) => metadata.issued.has(token) });
    vault = await startFakeKeyVault({ token: identity.token });
    gcs.createBucket('replica');
    kms.createKey(GCP_KEY);
    vault.createKey('skyduck');
    const client = { region: REGION, endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
    s3 = new S3Client({ ...client, forcePathStyle: true });
    for (const bucket of ['source', 'replica']) {
      await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
    }
    keyArn = (await new KMSClient(client).send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    connectionString = `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${azurite.endpoint};`;
    await BlobServiceClient.fromConnectionString(connectionString).createContainer('source');
  }, 120_000);
  afterAll(async () => Promise.all([moto?.stop(), azurite?.stop(), gcs?.stop(), kms?.stop(), metadata?.stop(), vault?.stop(), identity?.stop()]));

  // Each cloud's credentials reach the SDKs the cloud's own way; skyduck's settings name no secret.
  const awsCredentials = () => ({ AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: REGION });
  const gcpCredentials = () => ({ GCE_METADATA_HOST: metadata.host, GOOGLE_CLOUD_PROJECT: PROJECT });
  const azureCredentials = () => ({ AZURE_STORAGE_CONNECTION_STRING: connectionString, IDENTITY_ENDPOINT: identity.endpoint, IDENTITY_HEADER: identity.header });
  const base = () => ({ SKYDUCK_NATIVE_CACHE: native, SKYDUCK_DATA_DIR: tempDir('data') });
  const awsServer = (bucket: string, prefix: string) => ({
    ...base(), ...awsCredentials(), SKYDUCK_CLOUD: 'aws', SKYDUCK_STORAGE_BUCKET: bucket, SKYDUCK_STORAGE_PREFIX: prefix,
    SKYDUCK_STORAGE_ENDPOINT: moto.endpoint, SKYDUCK_KMS_ENDPOINT: moto.endpoint, SKYDUCK_KMS_KEY: keyArn,
  });
  const gcpServer = (prefix: string) => ({
    ...base(), ...gcpCredentials(), SKYDUCK_CLOUD: 'gcp', SKYDUCK_STORAGE_BUCKET: 'replica', SKYDUCK_STORAGE_PREFIX: prefix,
    SKYDUCK_STORAGE_ENDPOINT: gcs.endpoint, SKYDUCK_KMS_ENDPOINT: kms.endpoint, SKYDUCK_KMS_KEY: GCP_KEY,
  });
  const azureServer = () => ({
    ...base(), ...azureCredentials(), SKYDUCK_CLOUD: 'azure', SKYDUCK_STORAGE_BUCKET: `${AZURITE_ACCOUNT}/source`, SKYDUCK_KMS_KEY: `${vault.url}/keys/skyduck`,
  });

  async function post(running: Running, route: string, body: unknown, key = running.key): Promise<{ status: number; text: string }> {
    const response = await fetch(`${running.url}${route}`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body),
    });
    return { status: response.status, text: await response.text() };
  }

  /** Serves `env`, fills the table, snapshots it, stops; returns the query's JSON text and the admin key. */
  async function seed(env: Record<string, string>): Promise<{ text: string; key: string }> {
    const running = await serve(exe, env);
    try {
      const key = await until('the initial admin key', () => running.key || undefined);
      const created = await post(running, '/v1/query', { sql: CREATE });
      expect(created.status, created.text).toBe(200);
      const answer = await post(running, '/v1/query', { sql: SELECT });
      expect(answer.status, answer.text).toBe(200);
      const snapshot = await post(running, '/v1/snapshots', {});
      expect(snapshot.status, snapshot.text).toBe(200);
      return { text: withoutTiming(answer.text), key };
    } finally {
      expect(await terminate(running, 30_000)).toBe(0);
    }
  }

  /** A server on an empty data dir restores `latest` by itself; the same query's JSON text comes back. */
  async function restoredAnswer(env: Record<string, string>, key: string): Promise<string> {
    const running = await serve(exe, env);
    try {
      expect(running.stderr()).toMatch(/"event":"restore\.done"/);
      const answer = await post(running, '/v1/query', { sql: SELECT }, key);
      expect(answer.status, answer.text).toBe(200);
      return withoutTiming(answer.text);
    } finally {
      await terminate(running, 30_000);
    }
  }

  const replicate = (args: string[], env: Record<string, string>) =>
    runToEnd(exe, ['replicate', ...args], { SKYDUCK_NATIVE_CACHE: native, ...env }, 120_000);

  const s3Keys = async (bucket: string, prefix: string) =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map((object) => object.Key!);

  it('aws → gcp: the copy, under the Cloud KMS key, restores on a GCP server with the same rows, byte for byte; a re-run copies nothing', async () => {
    const { text, key } = await seed(awsServer('source', 'prod'));
    const args = [
      '--from', 's3://source/prod', '--from-endpoint', moto.endpoint, '--from-kms-endpoint', moto.endpoint,
      '--to', 'gs://replica/from-aws', '--to-key', GCP_KEY, '--to-endpoint', gcs.endpoint, '--to-kms-endpoint', kms.endpoint,
    ];
    const env = { ...awsCredentials(), ...gcpCredentials() };
    const started = performance.now();
    const first = await replicate(args, env);
    const seconds = (performance.now() - started) / 1000;
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^replicated [1-9]\d* snapshot\(s\) from s3:\/\/source\/prod to gs:\/\/replica\/from-aws: \d+ object\(s\), /);
    expect(first.stdout).toContain(`data keys wrapped by gcp-kms://${GCP_KEY}`);
    expect(first.stdout).toMatch(/restored from gs:\/\/replica\/from-aws and verified \(\d+ tables, \d+ rows, every checksum\)\n$/);
    expect(first.stderr).toMatch(/"event":"replicate\.progress"/);
    expect(first.stderr).toMatch(/"event":"verify\.progress"/);
    console.log(`aws → gcp: ${first.stdout.trim()} (whole command ${seconds.toFixed(1)} s)`);

    expect(await restoredAnswer(gcpServer('from-aws'), key)).toBe(text);

    const again = await replicate(args, env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^replicated 0 snapshot\(s\) from s3:\/\/source\/prod to gs:\/\/replica\/from-aws, [1-9]\d* already there \(skipped\): 0 object\(s\), 0\.0 MiB/);
  });

  it('azure → aws: the copy, under the KMS key, restores on an AWS server with the same rows, byte for byte', async () => {
    const { text, key } = await seed(azureServer());
    const result = await replicate([
      '--from', `az://${AZURITE_ACCOUNT}/source`,
      '--to', 's3://replica/from-azure', '--to-key', keyArn, '--to-endpoint', moto.endpoint, '--to-kms-endpoint', moto.endpoint,
    ], { ...azureCredentials(), ...awsCredentials() });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`from az://${AZURITE_ACCOUNT}/source to s3://replica/from-azure`);
    expect(result.stdout).toContain(`data keys wrapped by aws-kms://${keyArn}`);
    console.log(`azure → aws: ${result.stdout.trim()}`);

    expect(await restoredAnswer(awsServer('replica', 'from-azure'), key)).toBe(text);
  });

  it('fails naming the destination when its bucket does not exist', async () => {
    await seed(awsServer('source', 'missing-bucket'));
    const result = await replicate([
      '--from', 's3://source/missing-bucket', '--from-endpoint', moto.endpoint, '--from-kms-endpoint', moto.endpoint,
      '--to', 's3://no-such-bucket/x', '--to-key', keyArn, '--to-endpoint', moto.endpoint, '--to-kms-endpoint', moto.endpoint,
    ], awsCredentials());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^skyduck: cannot replicate to s3:\/\/no-such-bucket\/x: aws: s3:\/\/no-such-bucket: the bucket does not exist/);
    expect(result.stdout).toBe('');
  });

  it('fails naming the destination key when it cannot wrap, and nothing there looks complete: no manifest, no latest', async () => {
    await seed(awsServer('source', 'bad-key'));
    const missingKey = keyArn.replace(/key\/.*$/, 'key/00000000-0000-0000-0000-000000000000');
    const result = await replicate([
      '--from', 's3://source/bad-key', '--from-endpoint', moto.endpoint, '--from-kms-endpoint', moto.endpoint,
      '--to', 's3://replica/bad-key', '--to-key', missingKey, '--to-endpoint', moto.endpoint, '--to-kms-endpoint', moto.endpoint,
    ], awsCredentials());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('skyduck: cannot replicate to s3://replica/bad-key: copying snapshots/');
    expect(result.stderr).toContain(`aws-kms://${missingKey}`);
    const left = await s3Keys('replica', 'bad-key/');
    expect(left.filter((name) => name.endsWith('/manifest.json') || name.endsWith('/latest'))).toEqual([]);
  });

  it('refuses a destination on another cloud without --to-key, and a bad URL, as usage errors (exit 2)', async () => {
    const noKey = await replicate(['--from', 's3://source/prod', '--to', 'gs://replica/x'], awsCredentials());
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('--to gs://replica/x needs the key to wrap data keys with there: pass --to-key');
    const badUrl = await replicate(['--from', 's3://source/prod', '--to', 'gcs://replica/x', '--to-key', GCP_KEY], awsCredentials());
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('--to "gcs://replica/x": unknown scheme gcs://; use s3://bucket/prefix, gs://bucket/prefix, az://account/container/prefix or file:///absolute/dir');
  });
});

describe('replicate in a binary without the cloud', () => {
  it('skyduck-aws exits 2 naming the binaries that carry gcp', async () => {
    const { code, stderr } = await runToEnd(isolate('skyduck-aws'), ['replicate', '--from', 's3://source/prod', '--to', 'gs://replica/x', '--to-key', GCP_KEY], {
      SKYDUCK_NATIVE_CACHE: tempDir('native'),
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/--to gs:\/\/replica\/x needs a binary built with gcp support: use skyduck-gcp or skyduck\. This is skyduck-aws, which has local, aws\./);
  });
});
