import { KeyManagementServiceClient } from '@google-cloud/kms';
import { Storage } from '@google-cloud/storage';
import type { CloudClients, CloudSettings } from '../settings.ts';

export const name = 'gcp';
export const sdkPackages = ['@google-cloud/storage', '@google-cloud/kms'] as const;

/** Credentials come from Application Default Credentials (metadata server, gcloud login, workload identity). */
export function createClients(settings: CloudSettings): CloudClients {
  const storage = new Storage(settings.endpoint ? { apiEndpoint: settings.endpoint } : {});
  // fallback: REST instead of gRPC, so no .proto files have to be read from disk inside a sealed binary.
  const keys = settings.key ? new KeyManagementServiceClient({ fallback: true }) : null;
  return { storage, keys };
}
