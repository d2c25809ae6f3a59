import type { CloudClients, CloudSettings } from '../settings.ts';

export const name = 'local';
export const sdkPackages = [] as const;

/** Local storage is the filesystem under the data dir; it needs no SDK and no credentials. */
export function createClients(settings: CloudSettings): CloudClients {
  return { storage: { root: settings.bucket ?? 'data dir' }, keys: null };
}
