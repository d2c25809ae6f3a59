import { DefaultAzureCredential } from '@azure/identity';
import { KeyClient } from '@azure/keyvault-keys';
import { BlobServiceClient } from '@azure/storage-blob';
import type { CloudClients, CloudSettings } from '../settings.ts';

export const name = 'azure';
export const sdkPackages = ['@azure/storage-blob', '@azure/keyvault-keys', '@azure/identity'] as const;

/**
 * The bucket setting names `<account>/<container>`. Credentials come from DefaultAzureCredential
 * (managed identity, workload identity, az login); the key is a Key Vault key URL.
 */
export function createClients(settings: CloudSettings): CloudClients {
  const credential = new DefaultAzureCredential();
  const account = settings.bucket?.split('/')[0] ?? 'unset';
  const storage = new BlobServiceClient(settings.endpoint ?? `https://${account}.blob.core.windows.net`, credential);
  const keys = settings.key ? new KeyClient(new URL(settings.key).origin, credential) : null;
  return { storage, keys };
}
