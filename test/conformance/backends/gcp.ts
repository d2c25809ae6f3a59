// Cloud Storage and Cloud KMS through their real SDKs against our own fakes (no GCS emulator runs
// here). A fake GCE metadata server stands behind Application Default Credentials, so the adapters
// authenticate as on a VM, and the fake services accept only the tokens it issued.
import fs from 'node:fs';
import { createKeyManager, createStorage } from '../../../src/cloud/gcp/index.ts';
import { startFakeKms } from '../../fakes/cloud-kms.ts';
import { startFakeMetadata } from '../../fakes/gce-metadata.ts';
import { startFakeGcs } from '../../fakes/gcs-json-api.ts';
import { setEnv } from '../../support/env.ts';
import { tempDir } from '../../support/process.ts';
import type { Backend } from '../backend.ts';

const PROJECT = 'skyduck-test';
const BUCKET = 'skyduck-conformance';
const KEY = `projects/${PROJECT}/locations/global/keyRings/r/cryptoKeys/k`;

/** Starts the metadata fake and points ADC at it; stopping restores the environment as it was. */
async function credentials() {
  const metadata = await startFakeMetadata({ project: PROJECT });
  const restoreEnv = setEnv({ GCE_METADATA_HOST: metadata.host, GOOGLE_CLOUD_PROJECT: PROJECT });
  return {
    isIssued: (token: string) => metadata.issued.has(token),
    async stop() {
      restoreEnv();
      await metadata.stop();
    },
  };
}

export const backend: Backend = {
  name: 'gcp (GCS and Cloud KMS fakes)',
  missing: () => undefined,
  async storage() {
    const adc = await credentials();
    const gcs = await startFakeGcs({ acceptToken: adc.isIssued });
    gcs.createBucket(BUCKET);
    const dataDir = tempDir('gcp-storage');
    return {
      open: (prefix) => createStorage({ bucket: BUCKET, prefix, endpoint: gcs.endpoint, dataDir }),
      async teardown() {
        await gcs.stop();
        await adc.stop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
  async keys() {
    const adc = await credentials();
    const kms = await startFakeKms({ acceptToken: adc.isIssued });
    kms.createKey(KEY);
    const dataDir = tempDir('gcp-keys');
    return {
      keyManager: createKeyManager({ key: KEY, kmsEndpoint: kms.endpoint, dataDir }),
      async teardown() {
        await kms.stop();
        await adc.stop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
};
