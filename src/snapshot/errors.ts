/** A snapshot, restore or replication that cannot go on: the message names the object or setting. */
export class SnapshotError extends Error {
  override name = 'SnapshotError';
}
