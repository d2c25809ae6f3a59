import type { CloudSettings } from '../settings.ts';
import type { BlobStorageClient, KeyManager } from '../types.ts';
import { GcpKmsKeyManager } from './keys.ts';
import { GcsBlobStorage } from './storage.ts';

export const name = 'gcp';
export const sdkPackages = ['@google-cloud/storage', '@google-cloud/kms'] as const;

/** Credentials come from Application Default Credentials (metadata server, gcloud login, workload identity). */
export function createStorage(settings: CloudSettings): BlobStorageClient {
  return new GcsBlobStorage(settings);
}

/** settings.key is a Cloud KMS key name: projects/P/locations/L/keyRings/R/cryptoKeys/K. */
export function createKeyManager(settings: CloudSettings): KeyManager {
  return new GcpKmsKeyManager(settings);
}
