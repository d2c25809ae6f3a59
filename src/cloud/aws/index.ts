import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import type { CloudClients, CloudSettings } from '../settings.ts';

export const name = 'aws';
export const sdkPackages = ['@aws-sdk/client-s3', '@aws-sdk/client-kms'] as const;

/** Credentials come from the SDK's own default chain (environment, SSO, web identity, instance role). */
export function createClients(settings: CloudSettings): CloudClients {
  const storage = new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.endpoint !== undefined,
  });
  const keys = settings.key ? new KMSClient({ region: settings.region }) : null;
  return { storage, keys };
}
