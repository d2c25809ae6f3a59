import type { CloudSettings } from '../settings.ts';
import type { BlobStorageClient, FederationProvider, KeyManager } from '../types.ts';
import { GcpWorkloadIdentity } from './identity.ts';
import { GcpKmsKeyManager } from './keys.ts';
import { GcsBlobStorage } from './storage.ts';

export const name = 'gcp';
export const sdkPackages = ['@google-cloud/storage', '@google-cloud/kms'] as const;

/** Credentials are those settings.identity allows: ADC (auto), the metadata server only, or a key file only. */
export function createStorage(settings: CloudSettings): BlobStorageClient {
  return new GcsBlobStorage(settings);
}

/** settings.key is a Cloud KMS key name: projects/P/locations/L/keyRings/R/cryptoKeys/K. */
export function createKeyManager(settings: CloudSettings): KeyManager {
  return new GcpKmsKeyManager(settings);
}

/** Who the storage and key adapters act as, from the same credentials they use. */
export function createIdentity(settings: CloudSettings): FederationProvider {
  return new GcpWorkloadIdentity(settings);
}
