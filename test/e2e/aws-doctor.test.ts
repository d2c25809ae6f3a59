// skyduck-aws and skyduck (all clouds) against moto: doctor passes; legacy names alone configure it.
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, inCI, motoMissing, startMoto } from '../support/emulators.ts';
import { isolate, runToEnd, tempDir } from '../support/process.ts';

const missing = motoMissing();
// moto is the S3/KMS emulator; CI installs it, so there a missing moto fails instead of skipping.
describe.skipIf(missing !== undefined && !inCI)(`doctor on AWS (moto)${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let moto: Emulator;
  let keyArn: string;
  const bucket = 'skyduck-doctor';
  const credentials = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' };

  beforeAll(async () => {
    if (missing) throw new Error(missing);
    moto = await startMoto();
    const client = { region: 'eu-west-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
    await new S3Client({ ...client, forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    keyArn = (await new KMSClient(client).send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  }, 120_000);
  afterAll(async () => moto?.stop());

  const settings = () => ({
    ...credentials,
    SKYDUCK_CLOUD: 'aws',
    SKYDUCK_STORAGE_BUCKET: bucket,
    SKYDUCK_CLOUD_REGION: 'eu-west-1',
    SKYDUCK_STORAGE_ENDPOINT: moto.endpoint,
    SKYDUCK_KMS_ENDPOINT: moto.endpoint,
    AWS_ENDPOINT_URL_STS: moto.endpoint,
    SKYDUCK_KMS_KEY: keyArn,
    SKYDUCK_NATIVE_CACHE: tempDir('native'),
  });

  it.each(['skyduck-aws', 'skyduck'])('%s doctor passes every check', async (binary) => {
    const { code, stdout } = await runToEnd(isolate(binary), ['doctor'], settings());
    expect(stdout).not.toMatch(/FAIL|SKIP/);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`PASS storage list\\s+s3://${bucket}`));
    expect(stdout).toContain(`aws-kms://${keyArn}`);
    expect(stdout).not.toContain('testing');
  });

  it('is configured fully by the legacy names alone, with a deprecation line for each skyduck legacy name', async () => {
    const { code, stdout } = await runToEnd(isolate('skyduck-aws'), ['doctor'], {
      ...credentials,
      S3_BUCKET: bucket,
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_KMS_KEY_ARN: keyArn,
    });
    expect(stdout).toContain('WARN S3_BUCKET is deprecated: set SKYDUCK_STORAGE_BUCKET instead');
    expect(stdout).toContain('WARN AWS_KMS_KEY_ARN is deprecated: set SKYDUCK_KMS_KEY instead');
    expect(stdout).toMatch(/PASS config\s+provider aws/);
    expect(stdout).not.toMatch(/FAIL|SKIP/);
    expect(code).toBe(0);
  });

  it('passes on web identity alone (IRSA): a token file and a role, no credential variables', async () => {
    const tokenFile = path.join(tempDir('irsa'), 'token');
    const claims = Buffer.from(JSON.stringify({ sub: 'system:serviceaccount:skyduck:skyduck', aud: 'sts.amazonaws.com' })).toString('base64url');
    fs.writeFileSync(tokenFile, `eyJhbGciOiJSUzI1NiJ9.${claims}.c2lnbmF0dXJl`);
    const { AWS_ACCESS_KEY_ID: _, AWS_SECRET_ACCESS_KEY: __, ...withoutKeys } = settings();
    const { code, stdout } = await runToEnd(isolate('skyduck-aws'), ['doctor'], {
      ...withoutKeys,
      SKYDUCK_IDENTITY: 'workload',
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/skyduck',
    });
    expect(stdout).toMatch(/PASS identity\s+aws web identity: arn:aws:sts::123456789012:assumed-role\/skyduck\/\S+ via web identity token file .*token valid \d+ min/);
    expect(stdout).not.toMatch(/FAIL|SKIP/);
    expect(code).toBe(0);
  });

  it('fails with the provider, the bucket and the fix when the bucket does not exist, in bounded time', async () => {
    const started = Date.now();
    const { code, stdout } = await runToEnd(isolate('skyduck-aws'), ['doctor'], { ...settings(), SKYDUCK_STORAGE_BUCKET: 'no-such-bucket' });
    expect(code).toBe(1);
    expect(stdout).toMatch(/FAIL storage list\s+aws: s3:\/\/no-such-bucket.*SKYDUCK_STORAGE_BUCKET/);
    expect(stdout).toMatch(/PASS data key/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('fails in bounded time, naming the endpoint setting, when the endpoint is unreachable', async () => {
    const { code, stdout } = await runToEnd(isolate('skyduck-aws'), ['doctor'], {
      ...settings(), SKYDUCK_STORAGE_ENDPOINT: 'http://127.0.0.1:9', SKYDUCK_KMS_ENDPOINT: 'http://127.0.0.1:9',
    }, 120_000);
    expect(code).toBe(1);
    expect(stdout).toMatch(/FAIL storage list\s+aws: .*fix: check the endpoint/);
    expect(stdout).toMatch(/FAIL data key\s+aws: .*fix: check the endpoint/);
  }, 130_000);
});
