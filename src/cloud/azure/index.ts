// The Azure cloud module: Blob Storage for objects, Key Vault for keys. The only place that wires the
// Azure SDKs in; everything outside src/cloud/ sees the interfaces of types.ts.
import type { CloudSettings } from '../settings.ts';
import type { BlobStorageClient, FederationProvider, KeyManager } from '../types.ts';
import { AzureManagedIdentity } from './identity.ts';
import { AzureKeyVaultKeyManager } from './keys.ts';
import { AzureBlobStorage } from './storage.ts';

export const name = 'azure';
export const sdkPackages = ['@azure/storage-blob', '@azure/keyvault-keys', '@azure/identity'] as const;

/** The bucket setting names `<account>/<container>`. */
export function createStorage(settings: CloudSettings): BlobStorageClient {
  return new AzureBlobStorage(settings);
}

/** The key setting is a Key Vault key URL, `https://<vault>/keys/<name>[/<version>]`. */
export function createKeyManager(settings: CloudSettings): KeyManager {
  return new AzureKeyVaultKeyManager(settings);
}

/** Who skyduck runs as: the managed or workload identity, the AZURE_* credentials, or the SDK's chain. */
export function createIdentity(settings: CloudSettings): FederationProvider {
  return new AzureManagedIdentity(settings);
}
