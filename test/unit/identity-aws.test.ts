// AwsWebIdentity and the adapters under SKYDUCK_IDENTITY=workload, against moto's STS and S3: an IRSA-like
// environment (a token file and a role ARN, no access keys) must be enough, and failures name what is missing.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { credentialsFor } from '../../src/cloud/aws/identity.ts';
import { createIdentity, createStorage } from '../../src/cloud/aws/index.ts';
import { AccessDeniedError, ConfigError } from '../../src/cloud/errors.ts';
import type { CloudSettings } from '../../src/cloud/settings.ts';
import { type Emulator, inCI, motoMissing, startMoto } from '../support/emulators.ts';
import { setEnv } from '../support/env.ts';
import { tempDir } from '../support/process.ts';

const region = 'us-east-1';
const role = 'arn:aws:iam::123456789012:role/skyduck';
const bucket = 'skyduck-identity';
/** Shaped like a service account token; moto accepts any token. */
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6c2t5ZHVjayJ9.c2lnbmF0dXJlLXNlY3JldA';
/** Every variable the SDK's chains read, unset unless a test sets it, so the host's own credentials cannot leak in. */
const CREDENTIAL_VARS = [
  'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
];

const missing = motoMissing();

/** moto assumes any role for any token, so a refusal comes from a stand-in STS that denies everything. */
async function denyingSts(): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const denial = '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>' +
    '<Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error><RequestId>1</RequestId></ErrorResponse>';
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(403, { 'content-type': 'text/xml' }).end(denial));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe.skipIf(missing !== undefined && !inCI)(`aws identity on moto${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let moto: Emulator;
  let denying: Awaited<ReturnType<typeof denyingSts>>;
  let dir: string;
  let tokenFile: string;
  let restore: (() => void) | undefined;
  const settings = (): CloudSettings => ({ identity: 'workload', region, bucket, endpoint: moto.endpoint, dataDir: dir });

  /** A clean workload environment: the token file, the role and moto as STS; `extra` overrides. */
  function workloadEnv(extra: Record<string, string | undefined> = {}): void {
    const values: Record<string, string | undefined> = {
      ...Object.fromEntries(CREDENTIAL_VARS.map((name) => [name, undefined])),
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_ROLE_ARN: role,
      AWS_ENDPOINT_URL_STS: moto.endpoint,
      AWS_REGION: region,
      // No config files: a developer's ~/.aws must not satisfy or disturb the chains under test.
      AWS_CONFIG_FILE: path.join(dir, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-credentials'),
      ...extra,
    };
    const set = Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Record<string, string>;
    const unset = Object.keys(values).filter((name) => values[name] === undefined);
    const restoreSet = setEnv(set);
    const previous = Object.fromEntries(unset.map((name) => [name, process.env[name]]));
    for (const name of unset) delete process.env[name];
    restore = () => {
      restoreSet();
      for (const [name, value] of Object.entries(previous)) if (value !== undefined) process.env[name] = value;
    };
  }

  async function failure(promise: Promise<unknown>): Promise<Error> {
    const error = await promise.then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }

  beforeAll(async () => {
    if (missing) throw new Error(`aws identity: ${missing}`);
    moto = await startMoto();
    denying = await denyingSts();
    dir = tempDir('identity-aws');
    tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, TOKEN);
    const admin = new S3Client({ region, endpoint: moto.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  }, 120_000);

  afterEach(() => {
    restore?.();
    restore = undefined;
  });

  afterAll(async () => {
    await moto?.stop();
    await denying?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('assumes the role with the token file and names it as the source', async () => {
    workloadEnv();
    const provider = createIdentity(settings());
    expect(provider.name).toBe('aws web identity');
    const identity = await provider.identity();
    expect(identity.principal).toMatch(/^arn:aws:sts::123456789012:assumed-role\/skyduck\//);
    expect(identity.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    expect(identity.source).toBe(`web identity token file ${tokenFile} (role ${role})`);
  });

  it('puts and gets an object through S3 with the web identity credentials', async () => {
    workloadEnv();
    const storage = createStorage(settings());
    const data = new TextEncoder().encode('hello from a pod');
    await storage.putObject('identity/object', data);
    expect(Buffer.from(await storage.getObject('identity/object')).toString()).toBe('hello from a pod');
  });

  it('says which variable is missing when there is no token file', async () => {
    workloadEnv({ AWS_WEB_IDENTITY_TOKEN_FILE: undefined });
    const error = await failure(createIdentity(settings()).identity());
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('AWS_WEB_IDENTITY_TOKEN_FILE is unset');
    expect(error.message).toContain('AWS_CONTAINER_CREDENTIALS_FULL_URI');
    expect(error.message).toContain('SKYDUCK_IDENTITY=auto');
  });

  it.each([
    ['an empty token file', '', 'is empty'],
    ['a token file without a JWT', 'not a token at all\n', 'does not hold a JWT'],
  ])('names the file for %s', async (_, content, problem) => {
    const file = path.join(dir, `bad-${problem.replace(/\W/g, '')}`);
    fs.writeFileSync(file, content);
    workloadEnv({ AWS_WEB_IDENTITY_TOKEN_FILE: file });
    const error = await failure(createIdentity(settings()).identity());
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(file);
    expect(error.message).toContain(problem);
  });

  it('names an unreadable token file', async () => {
    const file = path.join(dir, 'absent');
    workloadEnv({ AWS_WEB_IDENTITY_TOKEN_FILE: file });
    const error = await failure(createIdentity(settings()).identity());
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(`${file} (AWS_WEB_IDENTITY_TOKEN_FILE): ENOENT`);
  });

  it('names the role when STS refuses to assume it', async () => {
    workloadEnv({ AWS_ENDPOINT_URL_STS: denying.endpoint });
    const error = await failure(createIdentity(settings()).identity());
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error.message).toContain(role);
    expect(error.message).toContain('AccessDenied');
  });

  it('never puts the token or the access key in a message', async () => {
    workloadEnv();
    // The credentials moto hands out, to look for in every message below.
    const credentials = await credentialsFor(settings())!({});
    const secrets = [TOKEN, credentials.accessKeyId, credentials.secretAccessKey, credentials.sessionToken!];
    const messages: string[] = [];
    const collect = async (promise: Promise<unknown>) => {
      for (let error = (await failure(promise)) as Error | undefined; error; error = error.cause as Error | undefined) messages.push(error.message);
    };

    restore!();
    workloadEnv({ AWS_WEB_IDENTITY_TOKEN_FILE: undefined });
    await collect(createIdentity(settings()).identity());
    restore!();
    // STS refuses after receiving the token.
    workloadEnv({ AWS_ENDPOINT_URL_STS: denying.endpoint });
    await collect(createIdentity(settings()).identity());
    await collect(createStorage(settings()).getObject('x'));
    restore!();
    // S3 fails a request signed with the assumed role's keys: a bucket that does not exist.
    workloadEnv();
    await collect(createStorage({ ...settings(), bucket: 'no-such-bucket' }).getObject('x'));

    expect(messages.length).toBeGreaterThanOrEqual(4);
    for (const message of messages) for (const secret of secrets) expect(message).not.toContain(secret);
  });
});
