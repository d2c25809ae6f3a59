// The snapshot store of a configuration: the configured cloud's blob storage and key manager, with the
// one envelope format on top.
import type { CloudModule } from '../cloud/types.ts';
import type { Config } from '../config/config.ts';
import { Envelope } from '../crypto/envelope.ts';
import { SnapshotStore } from './store.ts';

/** Storage first, then keys: a missing bucket is named before a missing key. Neither makes a request. */
export function openSnapshotStore(config: Config, cloud: CloudModule): SnapshotStore {
  const storage = cloud.createStorage(config);
  const keys = cloud.createKeyManager(config);
  return new SnapshotStore(storage, new Envelope(keys), keys.keyUri);
}
