// The backends bench/adapters.ts measures: each starts its emulator, opens our adapter and offers the
// raw SDK call that the adapter wraps, on the same emulator.
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { createStorage as createS3 } from '../src/cloud/aws/index.ts';
import { Storage } from '@google-cloud/storage';
import { createStorage as createAzureBlob } from '../src/cloud/azure/index.ts';
import { createStorage as createGcs } from '../src/cloud/gcp/index.ts';
import { startFakeMetadata } from '../test/fakes/gce-metadata.ts';
import { startFakeGcs } from '../test/fakes/gcs-json-api.ts';
import type { CloudSettings } from '../src/cloud/settings.ts';
import type { BlobStorageClient } from '../src/cloud/types.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, azuriteMissing, motoMissing, startAzurite, startMoto } from '../test/support/emulators.ts';
import { tempDir } from '../test/support/process.ts';

export interface BenchEnv {
  client: BlobStorageClient;
  rawPutGet(data: Buffer): Promise<void>;
  /** What a child process needs to open the same adapter (see stream-1gib.ts). */
  childEnv: Record<string, string>;
  stop(): Promise<void>;
}

export interface BenchBackend {
  name: 'aws' | 'gcp' | 'azure' | 'local';
  missing(): string | undefined;
  start(): Promise<BenchEnv>;
}

const childEnv = (settings: CloudSettings, extra: Record<string, string> = {}) => ({ BENCH_SETTINGS: JSON.stringify(settings), ...extra });

const aws: BenchBackend = {
  name: 'aws',
  missing: motoMissing,
  async start() {
    const moto = await startMoto();
    const credentials = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' };
    Object.assign(process.env, credentials);
    const settings = { bucket: 'bench', endpoint: moto.endpoint, region: 'us-east-1', dataDir: tempDir('bench-aws') };
    const raw = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true });
    await raw.send(new CreateBucketCommand({ Bucket: 'bench' }));
    return {
      client: createS3(settings),
      async rawPutGet(data) {
        await raw.send(new PutObjectCommand({ Bucket: 'bench', Key: 'bench/raw', Body: data }));
        const { Body } = await raw.send(new GetObjectCommand({ Bucket: 'bench', Key: 'bench/raw' }));
        await Body!.transformToByteArray();
      },
      childEnv: childEnv(settings, credentials),
      stop: moto.stop,
    };
  },
};

const azure: BenchBackend = {
  name: 'azure',
  missing: azuriteMissing,
  async start() {
    const azurite = await startAzurite();
    const connection = { AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${azurite.endpoint};` };
    Object.assign(process.env, connection);
    const raw = BlobServiceClient.fromConnectionString(connection.AZURE_STORAGE_CONNECTION_STRING).getContainerClient('bench');
    await raw.create();
    const settings = { bucket: `${AZURITE_ACCOUNT}/bench`, dataDir: tempDir('bench-azure') };
    return {
      client: createAzureBlob(settings),
      async rawPutGet(data) {
        const blob = raw.getBlockBlobClient('bench/raw');
        await blob.uploadData(data);
        await blob.downloadToBuffer();
      },
      childEnv: childEnv(settings, connection),
      stop: azurite.stop,
    };
  },
};

/** GCS on our JSON API fake (no emulator exists): the raw SDK and the adapter pay the same fake's costs. */
const gcp: BenchBackend = {
  name: 'gcp',
  missing: () => undefined,
  async start() {
    const metadata = await startFakeMetadata({ project: 'bench' });
    const gcs = await startFakeGcs({ acceptToken: (token) => metadata.issued.has(token) });
    gcs.createBucket('bench');
    const adc = { GCE_METADATA_HOST: metadata.host, GOOGLE_CLOUD_PROJECT: 'bench' };
    Object.assign(process.env, adc);
    const settings = { bucket: 'bench', endpoint: gcs.endpoint, dataDir: tempDir('bench-gcp') };
    const raw = new Storage({ apiEndpoint: gcs.endpoint, useAuthWithCustomEndpoint: true }).bucket('bench').file('bench/raw');
    return {
      client: createGcs(settings),
      async rawPutGet(data) {
        await raw.save(data, { resumable: false });
        await raw.download();
      },
      childEnv: childEnv(settings, adc),
      async stop() {
        await gcs.stop();
        await metadata.stop();
      },
    };
  },
};

export const backends: BenchBackend[] = [aws, azure, gcp];
