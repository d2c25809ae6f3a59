// The snapshot store of a configuration: the configured cloud's blob storage and key manager, with the
// one envelope format on top.
import type { CloudModule } from '../cloud/types.ts';
import type { Config } from '../config/config.ts';
import { Envelope } from '../crypto/envelope.ts';
import { SnapshotStore } from './store.ts';

/**
 * Storage first, then keys: a missing bucket is named before a missing key; neither makes a request. A
 * cloud's key client is made at once, so a missing or malformed key stops the start; the local key file
 * is made (or read) on first use.
 */
export function openSnapshotStore(config: Config, cloud: CloudModule): SnapshotStore {
  const storage = cloud.createStorage(config);
  const keys = () => {
    const manager = cloud.createKeyManager(config);
    return { envelope: new Envelope(manager), keyUri: manager.keyUri };
  };
  if (cloud.name === 'local') return new SnapshotStore(storage, keys);
  const made = keys();
  return new SnapshotStore(storage, () => made);
}
