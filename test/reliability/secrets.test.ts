// No secret ever leaves skyduck. The sealed all-clouds binary runs with known fake secrets in every
// credential variable skyduck or a cloud SDK reads (AWS access key, secret key and session token; an
// Azure storage connection string with an account key; an Azure client secret; a Google service account
// key file with a private key; user:password in endpoint URLs; a query-string signature), against the
// emulators and protocol fakes on loopback or against closed loopback ports: config, doctor, serve (with
// requests that succeed and requests that fail: wrong keys carrying secret-looking tokens, snapshot
// attempts that fail on credentials or a missing bucket), keys, snapshots, export, restore, replicate with
// bad URLs. Every byte of every stdout, stderr, HTTP response status line, header and body is collected,
// then searched for every secret (and its base64, base64url, URL-encoded and JSON-escaped forms, a
// fragment of it, each line of a PEM key); API keys from `keys create`, the first admin key, the local key
// file, and the access tokens the fakes issued are secrets too. Counts go to bench/results/secrets.json.
//
// moto (S3, KMS, STS) and azurite (Blob) are needed for the AWS and Azure parts: without them those parts
// skip with the reason, and under CI=true they fail. GCP runs against the protocol fakes in test/fakes/.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKeyVault, startFakeKeyVault } from '../fakes/azure-key-vault.ts';
import { type FakeManagedIdentity, startFakeManagedIdentity } from '../fakes/azure-managed-identity.ts';
import { type FakeKms, startFakeKms } from '../fakes/cloud-kms.ts';
import { type FakeMetadata, startFakeMetadata } from '../fakes/gce-metadata.ts';
import { type FakeGcs, startFakeGcs } from '../fakes/gcs-json-api.ts';
import { type Emulator, azuriteMissing, freePort, inCI, motoMissing, startAzurite, startMoto } from '../support/emulators.ts';
import { setEnv } from '../support/env.ts';
import { type Finished, isolate, root, type Running, runToEnd, serve, tempDir, terminate } from '../support/process.ts';
import { type Finding, formsOf, type Output, SecretBook } from '../support/secrets.ts';

const motoMissingReason = motoMissing();
const azuriteMissingReason = azuriteMissing();
const REGION = 'eu-west-1';
const PROJECT = 'skyduck-secrets';
const GCP_KEY = `projects/${PROJECT}/locations/global/keyRings/r/cryptoKeys/snapshots`;
const AZURE_ACCOUNT = 'skysecrets';

describe('no secret in any output of the sealed skyduck (all clouds)', () => {
  const exe = isolate('skyduck');
  const native = tempDir('secrets-native');
  const secrets = new SecretBook();
  const outputs: Output[] = [];
  /** Outputs of runs that show a known leak: scanned and reported apart. */
  const knownLeakOutputs: Output[] = [];
  let closed: number;

  // The fake secrets: random per run, each with a recognisable shape.
  const aws = {
    AWS_ACCESS_KEY_ID: secrets.add('AWS_ACCESS_KEY_ID', `AKIA${randomBytes(8).toString('hex').toUpperCase()}`),
    AWS_SECRET_ACCESS_KEY: secrets.add('AWS_SECRET_ACCESS_KEY', randomBytes(30).toString('base64')),
    AWS_SESSION_TOKEN: secrets.add('AWS_SESSION_TOKEN', `IQoJb3JpZ2luX2VjE${randomBytes(120).toString('base64')}`),
  };
  const accountKey = secrets.add('Azure storage account key', randomBytes(64).toString('base64'));
  const wrongAccountKey = secrets.add('a wrong Azure storage account key', randomBytes(64).toString('base64'));
  const clientSecret = secrets.add('AZURE_CLIENT_SECRET', `${randomBytes(27).toString('base64url')}~Q8`);
  const urlPassword = secrets.add('password in an endpoint URL', `UrlPass${randomBytes(12).toString('hex')}`);
  const urlSignature = secrets.add('signature in an endpoint URL query', randomBytes(32).toString('hex'));
  const wrongApiKey = secrets.add('a wrong API key sent by a client', `sk_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('base64url')}`);
  const privateKeyId = secrets.add('GCP private_key_id', randomBytes(20).toString('hex'));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = secrets.add('GCP service account private key', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const keyFile = path.join(tempDir('secrets-gcp'), 'service-account.json');

  const withUrlCredentials = (url: string) => url.replace(/^http:\/\//, `http://skyuser:${urlPassword}@`);
  const connectionString = (endpoint: string, key = accountKey) =>
    `DefaultEndpointsProtocol=http;AccountName=${AZURE_ACCOUNT};AccountKey=${key};BlobEndpoint=${endpoint};`;
  let azureBlobEndpoint = '';

  /** Every credential variable, filled: each run adds its cloud's settings on top. */
  const credentials = (options: { clientSecret?: boolean } = {}): Record<string, string> => ({
    ...aws,
    AZURE_STORAGE_CONNECTION_STRING: connectionString(azureBlobEndpoint || `http://127.0.0.1:${closed}/${AZURE_ACCOUNT}`),
    ...(options.clientSecret === false ? {} : {
      AZURE_CLIENT_SECRET: clientSecret, AZURE_TENANT_ID: randomUUID(), AZURE_CLIENT_ID: randomUUID(), AZURE_AUTHORITY_HOST: `http://127.0.0.1:${closed}`,
    }),
    GOOGLE_APPLICATION_CREDENTIALS: keyFile,
    SKYDUCK_NATIVE_CACHE: native,
    SKYDUCK_LOG_LEVEL: 'debug',
  });

  beforeAll(async () => {
    closed = await freePort();
    fs.writeFileSync(keyFile, JSON.stringify({
      type: 'service_account', project_id: PROJECT, private_key_id: privateKeyId, private_key: privateKeyPem,
      client_email: `fake@${PROJECT}.iam.gserviceaccount.com`, client_id: '100000000000000000001',
      token_uri: `http://127.0.0.1:${closed}/token`, auth_uri: `http://127.0.0.1:${closed}/auth`,
    }), { mode: 0o600 });
  });

  /** A command run to its end; both streams collected. */
  async function cli(label: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Finished> {
    const result = await runToEnd(exe, args, env, timeoutMs);
    outputs.push({ label: `${label}: stdout`, text: result.stdout }, { label: `${label}: stderr`, text: result.stderr });
    return result;
  }

  /** `keys create`: its stdout is the key, the one place it may appear; the key is a secret from then on. */
  async function createKey(label: string, scope: string, env: Record<string, string>): Promise<string> {
    const result = await runToEnd(exe, ['keys', 'create', '--scope', scope, '--agent', `agent-${scope}`], env);
    expect(result.code, result.stderr).toBe(0);
    const key = result.stdout.trim();
    const name = `API key from keys create (${label} ${scope})`;
    secrets.add(name, key);
    secrets.add(`${name}, its secret part`, key.slice('sk_'.length + 12 + 1));
    outputs.push({ label: `${label}: keys create: stdout`, text: result.stdout, allowed: [name, `${name}, its secret part`] }, { label: `${label}: keys create: stderr`, text: result.stderr });
    return key;
  }

  /** An HTTP exchange: the status line, every header and the body are one output. */
  async function http(label: string, url: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
    const response = await fetch(url, init);
    const text = await response.text();
    const headers = [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
    outputs.push({ label: `${label} -> ${response.status}`, text: `HTTP ${response.status} ${response.statusText}\n${headers}\n\n${text}` });
    return { status: response.status, text };
  }

  /** `serve`; its admin key is a secret; its output is collected when it stops. */
  async function start(label: string, env: Record<string, string>): Promise<Running & { label: string }> {
    const running = await serve(exe, env);
    if (running.key) secrets.add(`first admin key (${label})`, running.key);
    return { ...running, label };
  }
  async function stop(server: Running & { label: string }): Promise<void> {
    await terminate(server, 30_000);
    outputs.push({ label: `${server.label}: serve stdout`, text: server.stdout() }, { label: `${server.label}: serve stderr`, text: server.stderr() });
  }

  /** Requests that succeed and requests that fail, each answer collected. */
  async function exercise(label: string, server: Running, keys: { admin: string; read: string }, options: { snapshot: 'ok' | 'any' } = { snapshot: 'ok' }): Promise<void> {
    const url = server.url;
    const readKey = keys.read;
    const json = (key: string | undefined, sql: string, extra: Record<string, string> = {}): RequestInit => ({
      method: 'POST', body: JSON.stringify({ sql }),
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra },
    });
    const admin = { authorization: `Bearer ${keys.admin}` };
    await http(`${label} GET /v1/health`, `${url}/v1/health`);
    await http(`${label} GET /v1/info`, `${url}/v1/info`);
    await http(`${label} GET /v1/info (admin: identity)`, `${url}/v1/info`, { headers: admin });
    await http(`${label} GET /v1/openapi.json`, `${url}/v1/openapi.json`);
    expect((await http(`${label} query`, `${url}/v1/query`, json(keys.admin, 'create table if not exists t as select range as n from range(100)'))).status).toBe(200);
    expect((await http(`${label} query read`, `${url}/v1/query`, json(readKey, 'select count(*) from t'))).status).toBe(200);
    expect((await http(`${label} NDJSON`, `${url}/v1/query`, json(readKey, 'select * from t limit 3', { accept: 'application/x-ndjson' }))).status).toBe(200);
    // Failing requests: wrong keys carrying secrets, other schemes, a write with a read key, bad SQL.
    expect((await http(`${label} wrong API key`, `${url}/v1/query`, json(wrongApiKey, 'select 1'))).status).toBe(401);
    expect((await http(`${label} AWS secret as a bearer token`, `${url}/v1/query`, json(aws.AWS_SECRET_ACCESS_KEY, 'select 1'))).status).toBe(401);
    expect((await http(`${label} Basic with the account key`, `${url}/v1/tables`, {
      headers: { authorization: `Basic ${Buffer.from(`${AZURE_ACCOUNT}:${accountKey}`).toString('base64')}` },
    })).status).toBe(401);
    expect((await http(`${label} MCP with a wrong key`, `${url}/mcp`, {
      method: 'POST', headers: { authorization: `Bearer ${wrongApiKey}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
    })).status).toBe(401);
    expect((await http(`${label} write with a read key`, `${url}/v1/query`, json(readKey, 'insert into t values (1)'))).status).toBe(403);
    expect((await http(`${label} bad SQL`, `${url}/v1/query`, json(readKey, 'selec 1'))).status).toBe(400);
    expect((await http(`${label} sandbox`, `${url}/v1/query`, json(keys.admin, "select * from read_text('/etc/passwd')"))).status).toBe(403);
    await http(`${label} memory`, `${url}/v1/memory`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ content: 'deploys on friday', memory_type: 'fact' }) });
    await http(`${label} audit`, `${url}/v1/audit?limit=1000`, { headers: admin });
    await http(`${label} audit verify`, `${url}/v1/audit/verify`, { headers: admin });
    const snapshot = await http(`${label} POST /v1/snapshots`, `${url}/v1/snapshots`, { method: 'POST', headers: admin });
    if (options.snapshot === 'ok') expect(snapshot.status, snapshot.text).toBe(200);
    await http(`${label} GET /v1/snapshots`, `${url}/v1/snapshots`, { headers: { authorization: `Bearer ${readKey}` } });
  }

  it('the scanner finds every secret planted in every form it looks for (the control for "none found")', () => {
    for (const name of secrets.names) {
      const book = new SecretBook();
      const value = book.add(name, secrets.value(name)!);
      for (const [form, text] of formsOf(value)) {
        const found = book.scan([{ label: 'planted', text: `before ${text} after` }]);
        expect(found.map((f) => f.secret), `${name} as ${form}`).toEqual([name]);
      }
    }
    expect(new SecretBook().scan([{ label: 'x', text: 'nothing here' }])).toEqual([]);
  });

  // -------------------------------------------------------------------------------------------------
  describe('local', () => {
    const dataDir = tempDir('secrets-local');
    const store = tempDir('secrets-local-store');
    const env = () => ({ ...credentials(), SKYDUCK_DATA_DIR: dataDir, SKYDUCK_STORAGE_BUCKET: store });

    it('version, config (URL credentials and a signed query in the endpoints), keys create, list and revoke', async () => {
      await cli('version --json', ['version', '--json'], env());
      const config = await cli('config (aws settings with URL credentials)', ['config'], {
        ...env(), SKYDUCK_CLOUD: 'aws', SKYDUCK_STORAGE_ENDPOINT: `http://skyuser:${urlPassword}@127.0.0.1:${closed}/?X-Amz-Signature=${urlSignature}`,
        SKYDUCK_KMS_ENDPOINT: withUrlCredentials(`http://127.0.0.1:${closed}`), AWS_ENDPOINT_URL_STS: withUrlCredentials(`http://127.0.0.1:${closed}`),
      });
      expect(config.code).toBe(0);
      expect(config.stdout).toMatch(/endpoint\s+http:\/\/127\.0\.0\.1:\d+\/\?\(redacted\)/);
      await createKey('local', 'read', env());
      await createKey('local', 'admin', env());
      const listed = await cli('keys list', ['keys', 'list'], env());
      expect(listed.code).toBe(0);
      const json = await cli('keys list --json', ['keys', 'list', '--json'], env());
      const [first] = JSON.parse(json.stdout) as { id: string }[];
      expect((await cli('keys revoke', ['keys', 'revoke', first!.id], env())).code).toBe(0);
    });

    it('serve, with requests that succeed and fail, snapshots, then SIGTERM', async () => {
      // The data dir has keys already (no first admin key is made): an admin key from keys create.
      const keys = { admin: await createKey('local serve', 'admin', env()), read: await createKey('local serve', 'read', env()) };
      const server = await start('local', env());
      try {
        await exercise('local', server, keys);
        // The local key file exists now: its contents are a secret.
        const [, encoded] = fs.readFileSync(path.join(dataDir, 'skyduck.key'), 'utf8').trim().split(':');
        secrets.add('local key file contents', encoded!);
        secrets.add('local key, hex', Buffer.from(encoded!, 'base64').toString('hex'));
        // A table name too long for a file name once broke snapshots with a 500 (found by hostile.test.ts,
        // fixed): the snapshot and its log lines must carry no secret either.
        await http('local create a long table name', `${server.url}/v1/query`, {
          method: 'POST', headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
          body: JSON.stringify({ sql: `create table "${'x'.repeat(300)}" as select 1 as a` }),
        });
        const taken = await http('local snapshot of a long table name', `${server.url}/v1/snapshots`, { method: 'POST', headers: { authorization: `Bearer ${keys.admin}` } });
        expect(taken.status).toBe(200);
        await http('local drop the long table name', `${server.url}/v1/query`, {
          method: 'POST', headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
          body: JSON.stringify({ sql: `drop table "${'x'.repeat(300)}"` }),
        });
      } finally {
        await stop(server);
      }
    }, 60_000);

    it('snapshots, export, audit verify, doctor, selftest, restore and replicate, with the server stopped', async () => {
      expect((await cli('snapshots', ['snapshots'], env())).code).toBe(0);
      expect((await cli('snapshots --json', ['snapshots', '--json'], env())).code).toBe(0);
      expect((await cli('export', ['export', '--snapshot', 'latest', '--out', tempDir('secrets-export')], env())).code).toBe(0);
      await cli('audit verify', ['audit', 'verify'], env());
      expect((await cli('doctor (local)', ['doctor'], env())).code).toBe(0);
      // MCP on stdio (stdin closed at once) as a wrong key and as a real one: neither is printed.
      await cli('mcp as a wrong key', ['mcp'], { ...env(), SKYDUCK_API_KEY: wrongApiKey });
      await cli('mcp as a created key', ['mcp'], { ...env(), SKYDUCK_API_KEY: await createKey('local mcp', 'read', env()) });
      await cli('selftest', ['selftest'], { ...credentials(), SKYDUCK_DATA_DIR: tempDir('secrets-selftest'), SKYDUCK_STORAGE_BUCKET: tempDir('secrets-selftest-store') });
      const restored = tempDir('secrets-restore');
      await cli('restore', ['restore'], { ...credentials(), SKYDUCK_DATA_DIR: restored, SKYDUCK_STORAGE_BUCKET: store, SKYDUCK_KMS_KEY: path.join(dataDir, 'skyduck.key') });
      await cli('replicate file to file', ['replicate', '--from', `file://${store}`, '--to', `file://${tempDir('secrets-replica')}`], env());
      // Bad URLs and endpoints: each refused, naming what is wrong, never echoing a credential.
      for (const args of [
        ['--from', 's3://Bad_Bucket/x', '--to', `file://${tempDir('secrets-r1')}`],
        ['--from', 'ftp://example.com/x', '--to', `file://${tempDir('secrets-r2')}`],
        ['--from', `file://${store}`, '--to', 's3://skyduck-secrets-nowhere/p', '--to-endpoint', withUrlCredentials(`http://127.0.0.1:${closed}`), '--to-key', `arn:aws:kms:${REGION}:123456789012:key/${randomUUID()}`, '--to-kms-endpoint', withUrlCredentials(`http://127.0.0.1:${closed}`)],
        ['--from', `file://${store}`, '--to', 'gs://skyduck-secrets-nowhere', '--to-endpoint', withUrlCredentials(`http://127.0.0.1:${closed}`), '--to-key', GCP_KEY],
        ['--from', `file://${store}`, '--to', `az://${AZURE_ACCOUNT}/nowhere`, '--to-endpoint', withUrlCredentials(`http://127.0.0.1:${closed}/${AZURE_ACCOUNT}`), '--to-key', `http://127.0.0.1:${closed}/keys/k`],
        ['--from', 's3://skyduck-secrets-nowhere', '--from-endpoint', withUrlCredentials(`http://127.0.0.1:${closed}`), '--to', `file://${tempDir('secrets-r3')}`],
      ]) {
        const result = await cli(`replicate ${args.join(' ')}`, ['replicate', ...args], { ...env(), AWS_REGION: REGION }, 90_000);
        expect(result.code, result.stderr).not.toBe(0);
      }
    }, 120_000);

    // Found by this suite, fixed (src/snapshot/locations.ts parseLocation): a store URL with user info, e.g.
    // `--from s3://AKIA...:secret@bucket/prefix` (how some tools take credentials), is refused, but the
    // message quotes the URL whole, printing the credential to stderr and into CI logs. Suggested fix: refuse
    // user info explicitly ("a store URL carries no credentials: use the cloud's credential variables")
    // and quote URLs through the same redaction `skyduck config` uses (src/commands/config.ts redactUrl).
    it('replicate never echoes credentials written into a store URL', async () => {
      const result = await runToEnd(exe, ['replicate', '--from', `s3://${aws.AWS_ACCESS_KEY_ID}:${encodeURIComponent(aws.AWS_SECRET_ACCESS_KEY)}@bucket/x`, '--to', `file://${tempDir('secrets-r4')}`], env());
      knownLeakOutputs.push({ label: 'replicate --from s3://user:secret@bucket: stderr', text: result.stderr }, { label: 'replicate --from s3://user:secret@bucket: stdout', text: result.stdout });
      expect(result.code).toBe(2);
      expect(secrets.scan(knownLeakOutputs)).toEqual([]);
    });
  });

  // -------------------------------------------------------------------------------------------------
  describe.skipIf(motoMissingReason !== undefined && !inCI)(`AWS on moto${motoMissingReason ? ` (skipped: ${motoMissingReason})` : ''}`, () => {
    let moto: Emulator;
    let keyArn: string;
    let s3: S3Client;
    const bucket = 'skyduck-secrets';

    beforeAll(async () => {
      if (motoMissingReason) throw new Error(motoMissingReason);
      moto = await startMoto();
      const client = { region: REGION, endpoint: moto.endpoint, credentials: { accessKeyId: aws.AWS_ACCESS_KEY_ID, secretAccessKey: aws.AWS_SECRET_ACCESS_KEY, sessionToken: aws.AWS_SESSION_TOKEN } };
      s3 = new S3Client({ ...client, forcePathStyle: true });
      for (const name of [bucket, `${bucket}-doomed`]) await s3.send(new CreateBucketCommand({ Bucket: name, CreateBucketConfiguration: { LocationConstraint: REGION } }));
      keyArn = (await new KMSClient(client).send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    }, 120_000);
    afterAll(async () => moto?.stop());

    // Every endpoint carries user:password; the SDK must not print them, nor skyduck.
    const env = (over: Record<string, string> = {}) => ({
      ...credentials(), SKYDUCK_CLOUD: 'aws', SKYDUCK_STORAGE_BUCKET: bucket, SKYDUCK_CLOUD_REGION: REGION,
      SKYDUCK_STORAGE_ENDPOINT: withUrlCredentials(moto.endpoint), SKYDUCK_KMS_ENDPOINT: withUrlCredentials(moto.endpoint),
      AWS_ENDPOINT_URL_STS: withUrlCredentials(moto.endpoint), SKYDUCK_KMS_KEY: keyArn, SKYDUCK_DATA_DIR: tempDir('secrets-aws'), ...over,
    });
    const unreachable = () => withUrlCredentials(`http://127.0.0.1:${closed}`);

    it('doctor passes, and fails against closed ports, without printing a credential', async () => {
      const passed = await cli('aws doctor', ['doctor'], env());
      expect(passed.code, passed.stdout).toBe(0);
      const failed = await cli('aws doctor, closed ports', ['doctor'], env({ SKYDUCK_STORAGE_ENDPOINT: unreachable(), SKYDUCK_KMS_ENDPOINT: unreachable(), AWS_ENDPOINT_URL_STS: unreachable() }), 120_000);
      expect(failed.code).toBe(1);
      const workload = await cli('aws doctor, workload identity without one', ['doctor'], env({ SKYDUCK_IDENTITY: 'workload' }));
      expect(workload.code).toBe(1);
      // IRSA: a web identity token (a JWT whose signature is the secret part) that moto's STS accepts.
      const tokenFile = path.join(tempDir('secrets-irsa'), 'token');
      const claims = Buffer.from(JSON.stringify({ sub: 'system:serviceaccount:skyduck:skyduck', aud: 'sts.amazonaws.com' })).toString('base64url');
      const jwt = secrets.add('AWS web identity token', `eyJhbGciOiJSUzI1NiJ9.${claims}.${secrets.add('AWS web identity token signature', randomBytes(64).toString('base64url'))}`);
      fs.writeFileSync(tokenFile, jwt, { mode: 0o600 });
      const irsa = await cli('aws doctor, web identity token', ['doctor'], env({ SKYDUCK_IDENTITY: 'workload', AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/skyduck' }));
      expect(irsa.code, irsa.stdout).toBe(0);
      // EKS Pod Identity / ECS: container credentials behind an authorization token, at a closed port.
      const container = await cli('aws doctor, container credentials', ['doctor'], env({
        SKYDUCK_IDENTITY: 'workload', AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${closed}/v1/credentials`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: secrets.add('AWS_CONTAINER_AUTHORIZATION_TOKEN', randomBytes(32).toString('base64')),
      }), 120_000);
      expect(container.code).toBe(1);
    }, 150_000);

    it('serve, with a snapshot that works and one whose bucket is gone', async () => {
      const dataDir = tempDir('secrets-aws-serve');
      const server = await start('aws', env({ SKYDUCK_DATA_DIR: dataDir }));
      try {
        await exercise('aws', server, { admin: server.key, read: await createKey('aws', 'read', env({ SKYDUCK_DATA_DIR: dataDir })) });
      } finally {
        await stop(server);
      }
      const doomedDir = tempDir('secrets-aws-doomed');
      const doomed = await start('aws doomed', env({ SKYDUCK_DATA_DIR: doomedDir, SKYDUCK_STORAGE_BUCKET: `${bucket}-doomed` }));
      try {
        await s3.send(new DeleteBucketCommand({ Bucket: `${bucket}-doomed` }));
        const read = await createKey('aws doomed', 'read', env({ SKYDUCK_DATA_DIR: doomedDir }));
        await exercise('aws doomed', doomed, { admin: doomed.key, read }, { snapshot: 'any' });
      } finally {
        await stop(doomed);
      }
    }, 90_000);

    it('snapshots and replicate with URL credentials in the source endpoint', async () => {
      expect((await cli('aws snapshots', ['snapshots', '--json'], env())).code).toBe(0);
      await cli('aws replicate to a file store', ['replicate', '--from', `s3://${bucket}`, '--from-endpoint', withUrlCredentials(moto.endpoint),
        '--from-kms-endpoint', withUrlCredentials(moto.endpoint), '--to', `file://${tempDir('secrets-aws-replica')}`], { ...env(), AWS_REGION: REGION }, 90_000);
      // A server on a fresh data dir whose store cannot be reached: it refuses to start (the restore check).
      await cli('aws serve, store unreachable', ['serve'], env({ SKYDUCK_LISTEN: '127.0.0.1:0', SKYDUCK_STORAGE_ENDPOINT: unreachable() }), 60_000);
    }, 150_000);
  });

  // -------------------------------------------------------------------------------------------------
  describe.skipIf(azuriteMissingReason !== undefined && !inCI)(`Azure on azurite${azuriteMissingReason ? ` (skipped: ${azuriteMissingReason})` : ''}`, () => {
    let azurite: Emulator;
    let identity: FakeManagedIdentity;
    let vault: FakeKeyVault;

    beforeAll(async () => {
      if (azuriteMissingReason) throw new Error(azuriteMissingReason);
      // An account of our own with the fake key (azurite inherits the environment it is started with).
      const restore = setEnv({ AZURITE_ACCOUNTS: `${AZURE_ACCOUNT}:${accountKey}` });
      try {
        azurite = await startAzurite();
      } finally {
        restore();
      }
      azureBlobEndpoint = azurite.endpoint.replace(/\/devstoreaccount1$/, `/${AZURE_ACCOUNT}`);
      await BlobServiceClient.fromConnectionString(connectionString(azureBlobEndpoint)).createContainer('snapshots');
      identity = await startFakeManagedIdentity();
      vault = await startFakeKeyVault({ token: identity.token });
      vault.createKey('skyduck');
      secrets.add('Azure managed identity header', identity.header);
    }, 120_000);
    afterAll(async () => Promise.all([azurite?.stop(), vault?.stop(), identity?.stop()]));

    const env = (over: Record<string, string> = {}, clientSecret = false) => ({
      ...credentials({ clientSecret }), IDENTITY_ENDPOINT: identity.endpoint, IDENTITY_HEADER: identity.header,
      SKYDUCK_CLOUD: 'azure', SKYDUCK_STORAGE_BUCKET: `${AZURE_ACCOUNT}/snapshots`, SKYDUCK_KMS_KEY: `${vault.url}/keys/skyduck`,
      SKYDUCK_DATA_DIR: tempDir('secrets-azure'), ...over,
    });

    it('doctor passes, and fails with a wrong account key and with a client secret the authority refuses', async () => {
      const passed = await cli('azure doctor', ['doctor'], env());
      expect(passed.code, passed.stdout).toBe(0);
      const wrong = await cli('azure doctor, wrong account key', ['doctor'], env({ AZURE_STORAGE_CONNECTION_STRING: connectionString(azureBlobEndpoint, wrongAccountKey) }));
      expect(wrong.code).toBe(1);
      const secret = await cli('azure doctor, client secret', ['doctor'], env({}, true), 90_000);
      expect(secret.code).toBe(1);
      const malformed = await cli('azure doctor, malformed connection string', ['doctor'], env({ AZURE_STORAGE_CONNECTION_STRING: `AccountName=${AZURE_ACCOUNT};AccountKey=${accountKey};Nonsense` }));
      expect(malformed.code).toBe(1);
    }, 150_000);

    it('serve with a snapshot, then a server whose account key is refused', async () => {
      const dataDir = tempDir('secrets-azure-serve');
      const server = await start('azure', env({ SKYDUCK_DATA_DIR: dataDir }));
      try {
        await exercise('azure', server, { admin: server.key, read: await createKey('azure', 'read', env({ SKYDUCK_DATA_DIR: dataDir })) });
      } finally {
        await stop(server);
      }
      expect((await cli('azure snapshots', ['snapshots'], env())).code).toBe(0);
      const refused = await cli('azure serve, wrong account key', ['serve'], env({ SKYDUCK_LISTEN: '127.0.0.1:0', AZURE_STORAGE_CONNECTION_STRING: connectionString(azureBlobEndpoint, wrongAccountKey) }), 60_000);
      expect(refused.code).not.toBe(0);
      for (const issued of identity.issued) secrets.add('Azure managed identity access token', issued.token);
    }, 90_000);
  });

  // -------------------------------------------------------------------------------------------------
  describe('GCP on the GCS, Cloud KMS and metadata fakes', () => {
    let metadata: FakeMetadata;
    let gcs: FakeGcs;
    let kms: FakeKms;
    /** Turned off to make the stores refuse the tokens they accepted so far (credentials revoked at run time). */
    let accepting = true;

    beforeAll(async () => {
      metadata = await startFakeMetadata({ project: PROJECT });
      gcs = await startFakeGcs({ acceptToken: (token) => accepting && metadata.issued.has(token) });
      kms = await startFakeKms({ acceptToken: (token) => accepting && metadata.issued.has(token) });
      gcs.createBucket('snapshots');
      kms.createKey(GCP_KEY);
    });
    afterAll(async () => Promise.all([gcs?.stop(), kms?.stop(), metadata?.stop()]));

    // The key file is in the environment throughout; the workload identity must neither use nor print it.
    const env = (over: Record<string, string> = {}) => ({
      ...credentials(), GCE_METADATA_HOST: metadata.host, GOOGLE_CLOUD_PROJECT: PROJECT, SKYDUCK_CLOUD: 'gcp', SKYDUCK_IDENTITY: 'workload',
      SKYDUCK_STORAGE_BUCKET: 'snapshots', SKYDUCK_STORAGE_ENDPOINT: gcs.endpoint, SKYDUCK_KMS_ENDPOINT: kms.endpoint, SKYDUCK_KMS_KEY: GCP_KEY,
      SKYDUCK_DATA_DIR: tempDir('secrets-gcp'), ...over,
    });

    it('doctor passes on the workload identity, and fails on the key file whose token endpoint cannot be reached', async () => {
      const passed = await cli('gcp doctor', ['doctor'], env());
      expect(passed.code, passed.stdout).toBe(0);
      const keyed = await cli('gcp doctor, key file', ['doctor'], env({ SKYDUCK_IDENTITY: 'static' }), 90_000);
      expect(keyed.code).toBe(1);
      const auto = await cli('gcp doctor, auto (the key file first)', ['doctor'], env({ SKYDUCK_IDENTITY: 'auto' }), 90_000);
      expect(auto.code).toBe(1);
    }, 150_000);

    it('serve with a snapshot, then a server whose credentials fail', async () => {
      const dataDir = tempDir('secrets-gcp-serve');
      const server = await start('gcp', env({ SKYDUCK_DATA_DIR: dataDir }));
      try {
        await exercise('gcp', server, { admin: server.key, read: await createKey('gcp', 'read', env({ SKYDUCK_DATA_DIR: dataDir })) });
        // The credentials stop being accepted while the server runs: the next snapshot fails on them.
        accepting = false;
        const refused = await http('gcp snapshot with refused credentials', `${server.url}/v1/snapshots`, { method: 'POST', headers: { authorization: `Bearer ${server.key}` } });
        expect(refused.status, refused.text).toBeGreaterThanOrEqual(400);
        await http('gcp snapshots list with refused credentials', `${server.url}/v1/snapshots`, { headers: { authorization: `Bearer ${server.key}` } });
      } finally {
        accepting = true;
        await stop(server);
      }
      expect((await cli('gcp snapshots', ['snapshots'], env())).code).toBe(0);
      const refused = await cli('gcp serve, key file credentials', ['serve'], env({ SKYDUCK_LISTEN: '127.0.0.1:0', SKYDUCK_IDENTITY: 'static' }), 60_000);
      expect(refused.code).not.toBe(0);
      for (const token of metadata.issued) secrets.add('GCP access token from the metadata server', token);
    }, 90_000);
  });

  // -------------------------------------------------------------------------------------------------
  let findings: Finding[] = [];

  it('finds no secret, in any form, in any output collected', () => {
    findings = secrets.scan(outputs);
    const report = {
      outputs_scanned: outputs.length,
      bytes_scanned: outputs.reduce((sum, output) => sum + output.text.length, 0),
      secrets: secrets.size,
      forms_checked: secrets.formCount,
      secrets_found: findings.length,
      findings,
      known_leaks_found: secrets.scan(knownLeakOutputs).length,
      skipped: [motoMissingReason && `AWS: ${motoMissingReason}`, azuriteMissingReason && `Azure: ${azuriteMissingReason}`].filter(Boolean),
      at: new Date().toISOString(),
    };
    console.log(`[secrets] ${report.outputs_scanned} outputs (${report.bytes_scanned} bytes) scanned for ${report.secrets} secrets in ${report.forms_checked} forms: ${report.secrets_found} found`);
    for (const finding of findings) console.log(`[secrets] ${finding.secret} (${finding.form}) in ${finding.output}: ${finding.context}`);
    fs.mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
    fs.writeFileSync(path.join(root, 'bench', 'results', 'secrets.json'), `${JSON.stringify(report, null, 2)}\n`);
    // SKYDUCK_SECRETS_DUMP=<file> keeps every output scanned, to read what each run printed.
    if (process.env.SKYDUCK_SECRETS_DUMP) fs.writeFileSync(process.env.SKYDUCK_SECRETS_DUMP, JSON.stringify(outputs, null, 1));
    expect(outputs.length).toBeGreaterThan(50);
    expect(findings).toEqual([]);
  });
});
