// skyduck-azure and skyduck (all clouds) against azurite, the Key Vault fake and the managed-identity
// fake: doctor passes with no secret in skyduck's configuration.
import fs from 'node:fs';
import https from 'node:https';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKeyVault, startFakeKeyVault } from '../fakes/azure-key-vault.ts';
import { type FakeManagedIdentity, startFakeManagedIdentity } from '../fakes/azure-managed-identity.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, type Emulator, azuriteMissing, inCI, selfSignedCertificate, startAzurite } from '../support/emulators.ts';
import { isolate, runToEnd, tempDir } from '../support/process.ts';

const missing = azuriteMissing();
describe.skipIf(missing !== undefined && !inCI)(`doctor on Azure (azurite + Key Vault fake)${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let azurite: Emulator;
  let vault: FakeKeyVault;
  let identity: FakeManagedIdentity;
  let env: Record<string, string>;

  beforeAll(async () => {
    if (missing) throw new Error(missing);
    azurite = await startAzurite();
    identity = await startFakeManagedIdentity();
    vault = await startFakeKeyVault({ token: identity.token });
    vault.createKey('skyduck');
    // The account key reaches the SDK the Azure way (a connection string in its own variable), never
    // through skyduck's settings.
    const connectionString = `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${azurite.endpoint};`;
    await BlobServiceClient.fromConnectionString(connectionString).createContainer('snapshots');
    env = {
      AZURE_STORAGE_CONNECTION_STRING: connectionString,
      IDENTITY_ENDPOINT: identity.endpoint,
      IDENTITY_HEADER: identity.header,
      SKYDUCK_CLOUD: 'azure',
      SKYDUCK_STORAGE_BUCKET: `${AZURITE_ACCOUNT}/snapshots`,
      SKYDUCK_KMS_KEY: `${vault.url}/keys/skyduck`,
      SKYDUCK_NATIVE_CACHE: tempDir('native'),
    };
  }, 120_000);
  afterAll(async () => Promise.all([azurite?.stop(), vault?.stop(), identity?.stop()]));

  it.each(['skyduck-azure', 'skyduck'])('%s doctor passes every check', async (binary) => {
    const { code, stdout } = await runToEnd(isolate(binary), ['doctor'], env);
    expect(stdout).not.toMatch(/FAIL|SKIP/);
    expect(code).toBe(0);
    expect(stdout).toMatch(/PASS storage list\s+az:\/\/devstoreaccount1\/snapshots/);
    expect(stdout).toMatch(/PASS data key\s+azure-kv:\/\/127\.0\.0\.1:\d+\/keys\/skyduck/);
    expect(stdout).not.toContain(AZURITE_KEY);
  });

  it('fails with a typed error naming the key and the setting when the key is disabled', async () => {
    vault.createKey('retired');
    vault.disableKey('retired');
    const { code, stdout } = await runToEnd(isolate('skyduck-azure'), ['doctor'], { ...env, SKYDUCK_KMS_KEY: `${vault.url}/keys/retired` });
    expect(code).toBe(1);
    expect(stdout).toMatch(/PASS storage delete/);
    expect(stdout).toMatch(/FAIL (keys|data key)\s+.*retired.*SKYDUCK_KMS_KEY/);
  });

  it('fails with access denied, and never prints the key, when the account key is wrong', async () => {
    const wrongKey = Buffer.alloc(64, 7).toString('base64');
    const { code, stdout, stderr } = await runToEnd(isolate('skyduck-azure'), ['doctor'], {
      ...env, AZURE_STORAGE_CONNECTION_STRING: env.AZURE_STORAGE_CONNECTION_STRING!.replace(AZURITE_KEY, wrongKey),
    });
    expect(code).toBe(1);
    expect(stdout).toMatch(/FAIL storage list\s+azure: .*fix: grant skyduck's identity access/);
    expect(stdout + stderr).not.toContain(wrongKey);
  });

  it('fails naming the container and the setting when the container does not exist', async () => {
    const { code, stdout } = await runToEnd(isolate('skyduck-azure'), ['doctor'], { ...env, SKYDUCK_STORAGE_BUCKET: `${AZURITE_ACCOUNT}/missing` });
    expect(code).toBe(1);
    expect(stdout).toMatch(/FAIL storage list\s+azure: .*missing.*SKYDUCK_STORAGE_BUCKET/);
    expect(stdout).not.toContain(AZURITE_KEY);
  });
});

// Managed identity end to end: azurite over HTTPS with OAuth, so Blob requests carry the managed
// identity's bearer token; no connection string, key or secret anywhere in the environment.
describe.skipIf(missing !== undefined && !inCI)(`doctor on Azure with managed identity only${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let azurite: Emulator;
  let vault: FakeKeyVault;
  let identity: FakeManagedIdentity;
  let env: Record<string, string>;

  beforeAll(async () => {
    if (missing) throw new Error(missing);
    const tls = selfSignedCertificate(tempDir('azurite-tls'));
    azurite = await startAzurite(tls);
    identity = await startFakeManagedIdentity();
    vault = await startFakeKeyVault({ token: identity.token });
    vault.createKey('skyduck');
    await createContainerWithToken(azurite, tls.cert, identity.token, 'snapshots');
    env = {
      NODE_EXTRA_CA_CERTS: tls.cert,
      IDENTITY_ENDPOINT: identity.endpoint,
      IDENTITY_HEADER: identity.header,
      SKYDUCK_CLOUD: 'azure',
      SKYDUCK_IDENTITY: 'workload',
      SKYDUCK_STORAGE_BUCKET: `${AZURITE_ACCOUNT}/snapshots`,
      SKYDUCK_STORAGE_ENDPOINT: azurite.endpoint,
      SKYDUCK_KMS_KEY: `${vault.url}/keys/skyduck`,
      SKYDUCK_NATIVE_CACHE: tempDir('native'),
    };
  }, 120_000);
  afterAll(async () => Promise.all([azurite?.stop(), vault?.stop(), identity?.stop()]));

  it('skyduck-azure doctor passes on the managed identity alone', async () => {
    const { code, stdout } = await runToEnd(isolate('skyduck-azure'), ['doctor'], env);
    expect(stdout).toMatch(/PASS identity\s+azure managed identity: \/subscriptions\/.+ via managed identity endpoint http:\/\/127\.0\.0\.1:\d+\/\S+, token valid \d+ min/);
    expect(stdout).not.toMatch(/FAIL|SKIP/);
    expect(code).toBe(0);
    expect(stdout).not.toContain(identity.token);
  });

  it('fails with access denied, naming the fix, when the token is for another audience', async () => {
    const other = await startFakeManagedIdentity({ claims: { aud: 'https://management.azure.com' } });
    try {
      const { code, stdout } = await runToEnd(isolate('skyduck-azure'), ['doctor'], {
        ...env, IDENTITY_ENDPOINT: other.endpoint, IDENTITY_HEADER: other.header,
      });
      expect(code).toBe(1);
      expect(stdout).toMatch(/FAIL storage list\s+azure: .*fix: grant skyduck's identity access/);
      expect(stdout).not.toContain(other.token);
    } finally {
      await other.stop();
    }
  });
});

/** Creates a container over azurite's OAuth endpoint, as the managed identity. */
function createContainerWithToken(azurite: Emulator, ca: string, token: string, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = https.request({
      host: '127.0.0.1', port: azurite.port, method: 'PUT', path: `/${AZURITE_ACCOUNT}/${name}?restype=container`,
      ca: fs.readFileSync(ca), headers: { Authorization: `Bearer ${token}`, 'x-ms-version': '2021-10-04', 'Content-Length': 0 },
    }, (response) => {
      response.resume();
      if (response.statusCode === 201) resolve();
      else reject(new Error(`creating the container answered ${response.statusCode}`));
    });
    request.on('error', reject);
    request.end();
  });
}
