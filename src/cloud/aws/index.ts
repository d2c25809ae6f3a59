// AWS: S3 for storage, KMS for keys. Credentials always come from the SDK's default chain (environment,
// profile, SSO, web identity, instance role), never from skyduck's configuration.
import type { CloudSettings } from '../settings.ts';
import type { BlobStorageClient, KeyManager } from '../types.ts';
import { AwsKmsKeyManager } from './keys.ts';
import { S3BlobStorage } from './storage.ts';

export const name = 'aws';
export const sdkPackages = ['@aws-sdk/client-s3', '@aws-sdk/lib-storage', '@aws-sdk/client-kms'] as const;

/** The bucket (and prefix) of SKYDUCK_STORAGE_BUCKET; SKYDUCK_STORAGE_ENDPOINT for S3-compatible services. */
export function createStorage(settings: CloudSettings): BlobStorageClient {
  return new S3BlobStorage(settings);
}

/** The KMS key of SKYDUCK_KMS_KEY. */
export function createKeyManager(settings: CloudSettings): KeyManager {
  return new AwsKmsKeyManager(settings);
}
