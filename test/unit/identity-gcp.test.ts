// The GCP identity provider and the credentials it shares with the adapters, against the metadata,
// Cloud Storage and Cloud KMS fakes: who skyduck is, token refresh, a hanging metadata server, a
// missing key file, and no access token in any message.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, UnavailableError } from '../../src/cloud/errors.ts';
import { createIdentity, createKeyManager, createStorage } from '../../src/cloud/gcp/index.ts';
import { startFakeKms } from '../fakes/cloud-kms.ts';
import { type FakeMetadata, startFakeMetadata } from '../fakes/gce-metadata.ts';
import { startFakeGcs } from '../fakes/gcs-json-api.ts';
import { tempDir } from '../support/process.ts';

const PROJECT = 'skyduck-test';
const EMAIL = `skyduck@${PROJECT}.iam.gserviceaccount.com`;
const KEY = `projects/${PROJECT}/locations/global/keyRings/r/cryptoKeys/k`;
const HINT = 'did not answer; on GKE enable Workload Identity, elsewhere set SKYDUCK_IDENTITY=auto or GOOGLE_APPLICATION_CREDENTIALS';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Sets (or, for undefined, removes) variables until the test ends. */
function env(values: Record<string, string | undefined>): void {
  const previous = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  const apply = (vars: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(vars)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(values);
  cleanups.push(() => apply(previous));
}

function dataDir(): string {
  const dir = tempDir('identity-gcp');
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The metadata fake behind GCE_METADATA_HOST, and GOOGLE_APPLICATION_CREDENTIALS naming a file that does
 * not exist: Application Default Credentials would fail on it, so success proves metadata-only auth.
 */
async function metadataServer(expiresIn?: number): Promise<FakeMetadata> {
  const metadata = await startFakeMetadata({ project: PROJECT, ...(expiresIn ? { expiresIn } : {}) });
  cleanups.push(() => metadata.stop());
  env({
    GCE_METADATA_HOST: metadata.host,
    GOOGLE_CLOUD_PROJECT: PROJECT,
    GOOGLE_APPLICATION_CREDENTIALS: path.join(dataDir(), 'missing-key.json'),
  });
  return metadata;
}

/** A metadata server that accepts connections and never answers. */
async function hangingMetadataServer(): Promise<string> {
  const server = http.createServer(() => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  env({ GCE_METADATA_HOST: host, GOOGLE_CLOUD_PROJECT: PROJECT });
  return host;
}

const failure = (promise: Promise<unknown>): Promise<Error> =>
  promise.then(() => expect.unreachable('should have failed'), (error: Error) => error);

describe('gcp identity', () => {
  it('workload: the metadata server service account, its expiry and where it came from', async () => {
    const metadata = await metadataServer();
    const provider = createIdentity({ identity: 'workload', dataDir: dataDir() });

    const identity = await provider.identity();

    expect(provider.name).toBe('gcp workload identity');
    expect(identity.principal).toBe(EMAIL);
    expect(identity.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    expect(identity.source).toBe(`metadata server at ${metadata.host}`);
    expect(metadata.issued.size).toBe(1);
  });

  it('refreshes a token about to expire', async () => {
    // Two seconds is well inside the library's eager-refresh window (minutes), so every call refreshes.
    const metadata = await metadataServer(2);
    const provider = createIdentity({ identity: 'workload', dataDir: dataDir() });

    const first = await provider.identity();
    const second = await provider.identity();

    expect(metadata.issued.size).toBe(2);
    expect(second.expiresAt!.getTime()).toBeGreaterThanOrEqual(first.expiresAt!.getTime());
  });

  it('workload: Cloud Storage requests carry the metadata server token', async () => {
    const metadata = await metadataServer();
    const gcs = await startFakeGcs({ acceptToken: (token) => metadata.issued.has(token) });
    cleanups.push(() => gcs.stop());
    gcs.createBucket('b');
    const storage = createStorage({ bucket: 'b', endpoint: gcs.endpoint, identity: 'workload', dataDir: dataDir() });

    await storage.putObject('hello', Buffer.from('world'));

    expect(Buffer.from(await storage.getObject('hello')).toString()).toBe('world');
    expect(gcs.tokens.size).toBeGreaterThan(0);
    expect([...gcs.tokens].every((token) => metadata.issued.has(token))).toBe(true);
  });

  it('a hanging metadata server fails in bounded time, saying what to do', async () => {
    const host = await hangingMetadataServer();
    const started = Date.now();

    const error = await failure(createIdentity({ identity: 'workload', dataDir: dataDir() }).identity());

    expect(Date.now() - started).toBeLessThan(12_000);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.message).toContain(`metadata server at ${host} ${HINT}`);
  }, 20_000);

  it('static without GOOGLE_APPLICATION_CREDENTIALS is a configuration error naming it', () => {
    env({ GOOGLE_APPLICATION_CREDENTIALS: undefined });
    const settings = { identity: 'static', dataDir: dataDir() } as const;

    expect(() => createIdentity(settings)).toThrow(ConfigError);
    expect(() => createIdentity(settings)).toThrow(/GOOGLE_APPLICATION_CREDENTIALS/);
    expect(() => createStorage({ ...settings, bucket: 'b' })).toThrow(/GOOGLE_APPLICATION_CREDENTIALS/);
  });

  it('no access token appears in any message', async () => {
    const metadata = await metadataServer();
    await createIdentity({ identity: 'workload', dataDir: dataDir() }).identity();
    // Services that refuse every token, so the requests carrying them fail.
    const gcs = await startFakeGcs({ acceptToken: () => false });
    const kms = await startFakeKms({ acceptToken: () => false });
    cleanups.push(() => gcs.stop(), () => kms.stop());
    gcs.createBucket('b');
    kms.createKey(KEY);
    const settings = { identity: 'workload', dataDir: dataDir() } as const;

    const errors = [
      await failure(createStorage({ ...settings, bucket: 'b', endpoint: gcs.endpoint }).getObject('x')),
      await failure(createKeyManager({ ...settings, key: KEY, kmsEndpoint: kms.endpoint }).encrypt(Buffer.from('x'))),
    ];
    await metadata.stop();
    errors.push(await failure(createIdentity(settings).identity()));

    expect(metadata.issued.size).toBeGreaterThan(1);
    for (const { message } of errors) {
      expect(message).not.toMatch(/ya29\./);
      for (const token of metadata.issued) expect(message).not.toContain(token);
    }
  });
});
