// S3 and KMS on moto, through the real AWS SDK and the adapters' own clients. The adapters take
// credentials only from the SDK's default chain, so the test puts moto's dummy ones in the environment.
import fs from 'node:fs';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { createKeyManager, createStorage } from '../../../src/cloud/aws/index.ts';
import { motoMissing, startMoto } from '../../support/emulators.ts';
import { setEnv } from '../../support/env.ts';
import { tempDir } from '../../support/process.ts';
import type { Backend } from '../backend.ts';

const region = 'us-east-1';
const TEST_ENV = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: region };

/**
 * moto, the test environment and a data dir, prepared by `prepare`, with one teardown for all three;
 * a failed preparation tears down at once (the suite's afterAll has nothing to call then).
 */
async function onMoto<T>(what: string, prepare: (endpoint: string, dataDir: string) => Promise<T>) {
  const moto = await startMoto();
  const restoreEnv = setEnv(TEST_ENV);
  const dataDir = tempDir(what);
  const teardown = async () => {
    await moto.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    restoreEnv();
  };
  try {
    return { ...(await prepare(moto.endpoint, dataDir)), teardown };
  } catch (error) {
    await teardown();
    throw error;
  }
}

export const backend: Backend = {
  name: 'aws (S3 + KMS on moto)',
  missing: motoMissing,
  storage: () => onMoto('aws-storage', async (endpoint, dataDir) => {
    const bucket = 'skyduck-conformance';
    await new S3Client({ region, endpoint, forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: bucket }));
    return { open: (prefix: string) => createStorage({ bucket, prefix, endpoint, region, dataDir }) };
  }),
  keys: () => onMoto('aws-keys', async (endpoint, dataDir) => {
    const { KeyMetadata } = await new KMSClient({ region, endpoint }).send(new CreateKeyCommand({ Description: 'skyduck conformance' }));
    return { keyManager: createKeyManager({ key: KeyMetadata!.KeyId, kmsEndpoint: endpoint, region, dataDir }) };
  }),
};
