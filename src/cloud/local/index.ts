import fs from 'node:fs';
import path from 'node:path';
import type { CloudSettings } from '../settings.ts';
import type { BlobStorageClient, FederationProvider, KeyManager } from '../types.ts';
import { LocalIdentity } from './identity.ts';
import { LocalKeyManager, writeKeyFile } from './keys.ts';
import { LocalBlobStorage } from './storage.ts';

export const name = 'local';
export const sdkPackages = [] as const;

/** The local key file when SKYDUCK_KMS_KEY does not name one. */
export const defaultKeyFile = (settings: CloudSettings): string => path.join(settings.dataDir, 'skyduck.key');

/** Files under SKYDUCK_STORAGE_BUCKET (a directory) or, by default, `<data dir>/storage`. */
export function createStorage(settings: CloudSettings): BlobStorageClient {
  return new LocalBlobStorage(settings.bucket ?? path.join(settings.dataDir, 'storage'), settings.prefix);
}

/**
 * The key file named by SKYDUCK_KMS_KEY, or the data dir's own, made on first use so that a laptop
 * needs no set-up (a named file that is missing is an error: it may hold the only copy of a key).
 */
export function createKeyManager(settings: CloudSettings): KeyManager {
  const file = settings.key ?? defaultKeyFile(settings);
  if (!settings.key && !fs.existsSync(file)) writeKeyFile(file);
  return LocalKeyManager.fromFile(file);
}

export function createIdentity(_settings: CloudSettings): FederationProvider {
  return new LocalIdentity();
}
