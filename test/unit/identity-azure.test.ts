// The Azure identity provider and the credential the Blob and Key Vault adapters share, against the fake
// managed identity service (both its App Service and IMDS forms) and the fake Key Vault.
//
// Every case runs the adapter in a child process with only the environment it names: MSAL, under
// @azure/identity, fixes its managed identity source and endpoint at the first token request and keeps
// them and its token cache for the whole process, so cases sharing one process would talk to the first
// case's fake. The test process's own environment is never changed, so there is nothing to restore.
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeKeyVault } from '../fakes/azure-key-vault.ts';
import { type FakeManagedIdentity, type FakeManagedIdentityOptions, startFakeManagedIdentity } from '../fakes/azure-managed-identity.ts';
import { root, tempDir } from '../support/process.ts';

const AZURE_MODULE = pathToFileURL(path.join(root, 'src/cloud/azure/index.ts')).href;

interface Outcome {
  value?: any;
  error?: { name: string; message: string };
  elapsedMs: number;
}

/**
 * Runs `body` (an async function body with `azure` = src/cloud/azure/index.ts and `dataDir` in scope) in
 * a fresh Node process whose environment is PATH, an empty HOME and `env`; resolves with its result or
 * its error's name and message.
 */
function inChild(body: string, env: Record<string, string>): Promise<Outcome> {
  const script = `
    const azure = await import(${JSON.stringify(AZURE_MODULE)});
    const dataDir = process.env.HOME;
    const started = Date.now();
    let outcome;
    try {
      outcome = { value: await (async () => { ${body} })() };
    } catch (error) {
      outcome = { error: { name: error.name, message: error.message } };
    }
    process.stdout.write(JSON.stringify({ ...outcome, elapsedMs: Date.now() - started }));
    process.exit(0);`;
  const childEnv = { PATH: process.env.PATH ?? '', HOME: tempDir('azure-identity'), ...env };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '--no-warnings', '-e', script], { env: childEnv, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`the child failed: ${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as Outcome);
    });
  });
}

const IDENTITY = `const id = azure.createIdentity({ identity: 'workload', dataDir }); return { name: id.name, ...(await id.identity()) };`;

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

async function managedIdentity(options?: FakeManagedIdentityOptions): Promise<FakeManagedIdentity> {
  const fake = await startFakeManagedIdentity(options);
  stops.push(() => fake.stop());
  return fake;
}

const appService = (mi: FakeManagedIdentity) => ({ IDENTITY_ENDPOINT: mi.endpoint, IDENTITY_HEADER: mi.header });

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = http.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('azure identity (workload mode)', () => {
  it('names the managed identity from the token claims, via IDENTITY_ENDPOINT', async () => {
    const mi = await managedIdentity();
    const { value, error } = await inChild(IDENTITY, appService(mi));
    expect(error).toBeUndefined();
    expect(value.name).toBe('azure managed identity');
    expect(value.principal).toBe(mi.resourceId);
    expect(new Date(value.expiresAt).getTime()).toBeGreaterThan(Date.now() + 30 * 60_000);
    expect(value.source).toBe(`managed identity endpoint ${mi.endpoint}`);
    expect(mi.issued).toMatchObject([{ form: 'app service', resource: 'https://storage.azure.com' }]);
  });

  it('falls back to the object id when the token has no xms_mirid claim', async () => {
    const mi = await managedIdentity({ claims: { xms_mirid: undefined } });
    const { value } = await inChild(IDENTITY, appService(mi));
    expect(value.principal).toBe(mi.objectId);
  });

  it('works through the IMDS form too, asking for the user-assigned identity in AZURE_CLIENT_ID', async () => {
    const mi = await managedIdentity();
    const clientId = '11111111-2222-3333-4444-555555555555';
    const { value, error } = await inChild(IDENTITY, { AZURE_POD_IDENTITY_AUTHORITY_HOST: mi.authorityHost, AZURE_CLIENT_ID: clientId });
    expect(error).toBeUndefined();
    expect(value.principal).toBe(mi.resourceId);
    expect(value.source).toBe(`IMDS at ${mi.authorityHost}`);
    expect(mi.issued).toMatchObject([{ form: 'imds', resource: 'https://storage.azure.com', clientId }]);
  });

  it('lets the Key Vault adapter round-trip a data key with the managed identity token', async () => {
    const mi = await managedIdentity();
    const vault = await startFakeKeyVault({ token: mi.token });
    stops.push(() => vault.stop());
    vault.createKey('skyduck-identity');
    const body = `
      const keys = azure.createKeyManager({ key: ${JSON.stringify(`${vault.url}/keys/skyduck-identity`)}, identity: 'workload', dataDir });
      const dataKey = await keys.generateDataKey({ table: 't' });
      const opened = await keys.decrypt(dataKey.wrapped, { table: 't' });
      return Buffer.from(opened).equals(Buffer.from(dataKey.plaintext));`;
    const { value, error } = await inChild(body, appService(mi));
    expect(error).toBeUndefined();
    expect(value).toBe(true);
    expect(mi.issued.map((issued) => issued.resource)).toContain('https://vault.azure.net');
    expect(vault.authorizations.length).toBeGreaterThanOrEqual(2);
    expect(new Set(vault.authorizations)).toEqual(new Set([`Bearer ${mi.token}`]));
  });

  it('fetches a new token once the last one is near expiry', async () => {
    const mi = await managedIdentity({ lifetimeSeconds: 120 });
    const body = `
      const id = azure.createIdentity({ identity: 'workload', dataDir });
      const first = await id.identity();
      const second = await id.identity();
      return { first, second };`;
    const { value, error } = await inChild(body, appService(mi));
    expect(error).toBeUndefined();
    expect(mi.issued).toHaveLength(2);
    expect(mi.issued[0]!.token).not.toBe(mi.issued[1]!.token);
    expect(new Date(value.first.expiresAt).getTime()).toBeLessThanOrEqual(Date.now() + 120_000);
    expect(value.second.principal).toBe(mi.resourceId);
  });

  it('gives up on an endpoint that never answers in bounded time, saying what was tried', async () => {
    const mi = await managedIdentity({ hang: true });
    const { error, elapsedMs } = await inChild(IDENTITY, appService(mi));
    expect(error?.name).toBe('UnavailableError');
    expect(error?.message).toContain(`managed identity endpoint ${mi.endpoint}`);
    expect(error?.message).toContain('no token within 10 s');
    expect(error?.message).toContain('SKYDUCK_IDENTITY=auto');
    expect(elapsedMs).toBeLessThan(12_000);
  });

  it('says there is no managed identity when IMDS does not answer', async () => {
    const host = `http://127.0.0.1:${await closedPort()}`;
    const { error } = await inChild(IDENTITY, { AZURE_POD_IDENTITY_AUTHORITY_HOST: host });
    expect(error?.name).toBe('AccessDeniedError');
    expect(error?.message).toContain(`IMDS at ${host}`);
    expect(error?.message).toContain('no managed identity: IDENTITY_ENDPOINT is unset and IMDS did not answer');
    expect(error?.message).toContain('on AKS enable workload identity, or set SKYDUCK_IDENTITY=auto');
  });

  it('puts no token or identity header value in any error message', async () => {
    const mi = await managedIdentity();
    const vault = await startFakeKeyVault({ token: 'not-the-managed-identity-token' });
    stops.push(() => vault.stop());
    vault.createKey('skyduck-identity');
    const refusedByVault = `
      const keys = azure.createKeyManager({ key: ${JSON.stringify(`${vault.url}/keys/skyduck-identity`)}, identity: 'workload', dataDir });
      await keys.generateDataKey();`;
    const outcomes = await Promise.all([
      inChild(IDENTITY, { ...appService(mi), IDENTITY_HEADER: `${mi.header}-wrong` }),
      inChild(refusedByVault, appService(mi)),
    ]);
    expect(mi.issued.length).toBeGreaterThan(0);
    for (const { error } of outcomes) {
      expect(error?.name).toBe('AccessDeniedError');
      for (const secret of [mi.token, mi.header, ...mi.issued.map((issued) => issued.token)]) expect(error?.message).not.toContain(secret);
    }
  });
});
