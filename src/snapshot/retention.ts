// Retention: keep the newest N snapshots. Runs only after the newest manifest and `latest` are durable.
// Old manifests go first, then every object no remaining manifest references (including the objects of
// snapshots that never got a manifest: an interrupted snapshot). A crash in between leaves only
// unreferenced objects, which the next run removes; never a manifest whose objects are gone. One writer
// per store is assumed (one skyduck instance owns its data, as the Terraform modules deploy it).
import type { SnapshotStore } from './store.ts';

export interface RetentionResult {
  deletedSnapshots: string[];
  deletedObjects: number;
}

export async function applyRetention(store: SnapshotStore, keep: number, inProgress: ReadonlySet<string> = new Set()): Promise<RetentionResult> {
  const ids = await store.list();
  const latest = await store.latest();
  const kept = new Set(ids.slice(-Math.max(keep, 1)));
  if (latest) kept.add(latest);
  const deletedSnapshots = ids.filter((id) => !kept.has(id));
  for (const id of deletedSnapshots) await store.deleteObject(`snapshots/${id}/manifest.json`);

  const referenced = new Set<string>();
  for (const id of kept) {
    const manifest = await store.manifest(id);
    for (const table of manifest.tables) referenced.add(table.object);
    if (manifest.keys) referenced.add(manifest.keys.object);
  }
  let deletedObjects = 0;
  for (const key of await store.listObjects()) {
    const id = /^snapshots\/([^/]+)\//.exec(key)?.[1];
    if (!id || key.endsWith('/manifest.json') || key === 'snapshots/latest') continue;
    if (referenced.has(key) || inProgress.has(id)) continue;
    await store.deleteObject(key);
    deletedObjects++;
  }
  return { deletedSnapshots, deletedObjects };
}
