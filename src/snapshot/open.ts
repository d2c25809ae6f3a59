// The snapshot store of a configuration: the configured cloud's blob storage and key manager, with the
// one envelope format on top.
import type { CloudModule } from '../cloud/types.ts';
import type { Config } from '../config/config.ts';
import { Envelope } from '../crypto/envelope.ts';
import { SnapshotStore } from './store.ts';

export function openSnapshotStore(config: Config, cloud: CloudModule): SnapshotStore {
  const keys = cloud.createKeyManager(config);
  return new SnapshotStore(cloud.createStorage(config), new Envelope(keys), keys.keyUri);
}
