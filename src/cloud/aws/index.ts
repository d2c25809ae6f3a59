// AWS: S3 for storage, KMS for keys, STS for who skyduck runs as. Credentials come from the source
// SKYDUCK_IDENTITY selects (the SDK's default chain under auto), never from skyduck's configuration.
import type { CloudSettings } from '../settings.ts';
import type { BlobStorageClient, FederationProvider, KeyManager } from '../types.ts';
import { AwsWebIdentity } from './identity.ts';
import { AwsKmsKeyManager } from './keys.ts';
import { S3BlobStorage } from './storage.ts';

export const name = 'aws';
export const sdkPackages = ['@aws-sdk/client-s3', '@aws-sdk/lib-storage', '@aws-sdk/client-kms', '@aws-sdk/client-sts', '@aws-sdk/credential-providers'] as const;

/** The bucket (and prefix) of SKYDUCK_STORAGE_BUCKET; SKYDUCK_STORAGE_ENDPOINT for S3-compatible services. */
export function createStorage(settings: CloudSettings): BlobStorageClient {
  return new S3BlobStorage(settings);
}

/** The KMS key of SKYDUCK_KMS_KEY. */
export function createKeyManager(settings: CloudSettings): KeyManager {
  return new AwsKmsKeyManager(settings);
}

/** The credentials of SKYDUCK_IDENTITY and whose they are, by STS GetCallerIdentity. */
export function createIdentity(settings: CloudSettings): FederationProvider {
  return new AwsWebIdentity(settings);
}
