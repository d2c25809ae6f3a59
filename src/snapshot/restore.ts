// Restoring a snapshot: each database is rebuilt in a new file beside the old one (`<file>.restoring`),
// every object decrypted (each segment authenticated) and its SHA-256 checked against the manifest before
// DuckDB loads it, and only a complete, checked file is renamed over the old one. A failure at any point
// leaves the old database as it was: never a half-restored database.
import fs from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { DATABASE_FILE, KEYS_FILE, RESTORED_FROM_FILE, stagingPath, SYSTEM_DATABASE_FILE } from '../data-dir.ts';
import { SnapshotError } from './errors.ts';
import { DATABASES, type DatabaseName, type Manifest } from './manifest.ts';
import type { Progress } from './snapshot.ts';
import type { SnapshotStore } from './store.ts';

export const DATABASE_FILES: Record<DatabaseName, string> = { main: DATABASE_FILE, system: SYSTEM_DATABASE_FILE };

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

export interface RestoreOptions {
  dataDir: string;
  /** The snapshot to restore; `latest` when unset. */
  id?: string;
  onProgress?: (progress: Progress) => void;
}

async function rebuild(store: SnapshotStore, manifest: Manifest, database: DatabaseName, file: string, staging: string,
  progress: (table: string, bytes: number) => void): Promise<void> {
  await rm(file, { force: true });
  await rm(`${file}.wal`, { force: true });
  // A private instance: no external access but the staging file, nothing else in this process uses it.
  const instance = await DuckDBInstance.create(file, { autoload_known_extensions: 'false', autoinstall_known_extensions: 'false' });
  const connection = await instance.connect();
  try {
    await connection.run(`SET allowed_paths = [${literal(staging)}]`);
    await connection.run('SET enable_external_access = false');
    await connection.run('SET lock_configuration = true');
    const mine = <T extends { database: DatabaseName; schema: string }>(items: T[]) => items.filter((item) => item.database === database);
    const schemas = new Set([...mine(manifest.tables), ...mine(manifest.views), ...mine(manifest.sequences)].map((item) => item.schema));
    await connection.run('BEGIN TRANSACTION');
    for (const schema of schemas) if (schema !== 'main') await connection.run(`CREATE SCHEMA IF NOT EXISTS ${quote(schema)}`);
    const catalog = (kind: 'type' | 'macro' | 'index') => mine(manifest.catalog).filter((entry) => entry.kind === kind);
    for (const type of catalog('type')) await connection.run(type.create_sql);
    for (const sequence of mine(manifest.sequences)) await connection.run(sequence.create_sql);
    for (const table of mine(manifest.tables)) {
      await store.fetchVerified(table.object, table.sha256, staging);
      await connection.run(table.create_sql);
      const qualified = `${quote(table.schema)}.${quote(table.name)}`;
      const loaded = await connection.runAndReadAll(`INSERT INTO ${qualified} SELECT * FROM read_parquet(${literal(staging)})`).catch((error: Error) => {
        throw new SnapshotError(`${store.location}/${table.object} could not be loaded into ${table.schema}.${table.name}: ${error.message.split('\n')[0]}`);
      });
      const count = Number(loaded.getRows()[0]?.[0] ?? 0);
      if (count !== table.rows) {
        throw new SnapshotError(`${store.location}/${table.object} holds ${count} rows, the manifest says ${table.rows}: restore another snapshot`);
      }
      await rm(staging, { force: true });
      progress(`${database}.${table.schema}.${table.name}`, table.bytes);
    }
    // Indexes once the rows are in (one build, not one update per row); macros before the views using them.
    for (const index of catalog('index')) await connection.run(index.create_sql);
    for (const macro of catalog('macro')) await connection.run(macro.create_sql);
    for (const view of mine(manifest.views)) await connection.run(view.create_sql);
    await connection.run('COMMIT');
    await connection.run('CHECKPOINT');
  } finally {
    connection.closeSync();
    instance.closeSync();
    await rm(staging, { force: true });
  }
}

/**
 * Restores `manifest` into the data dir, which no running server may hold (the caller checks). Both
 * databases are built first; only then are they renamed into place, each rename atomic.
 */
export async function restoreSnapshot(store: SnapshotStore, manifest: Manifest, options: RestoreOptions): Promise<void> {
  const started = performance.now();
  const staging = stagingPath(options.dataDir, 'restore');
  await mkdir(path.dirname(staging), { recursive: true, mode: 0o700 });
  let done = 0;
  let bytes = 0;
  const of = manifest.tables.length;
  const progress = (table: string, size: number) => {
    done++;
    bytes += size;
    const seconds = (performance.now() - started) / 1000;
    options.onProgress?.({ tables: done, of, bytes, rate: seconds > 0 ? bytes / seconds : 0, table });
  };

  // keys.json first: a missing or damaged keys object fails the restore before anything is built.
  const keysTemporary = path.join(options.dataDir, `${KEYS_FILE}.restoring`);
  if (manifest.keys) {
    await store.fetchVerified(manifest.keys.object, manifest.keys.sha256, keysTemporary)
      .catch(async (error: unknown) => {
        await rm(keysTemporary, { force: true });
        throw error;
      });
  }
  const built: [string, string][] = [];
  try {
    for (const database of DATABASES) {
      const target = path.join(options.dataDir, DATABASE_FILES[database]);
      const building = `${target}.restoring`;
      await rebuild(store, manifest, database, building, staging, progress);
      built.push([building, target]);
    }
  } catch (error) {
    await rm(keysTemporary, { force: true });
    for (const [building] of built) await rm(building, { force: true });
    for (const database of DATABASES) await rm(path.join(options.dataDir, `${DATABASE_FILES[database]}.restoring`), { force: true });
    throw error;
  }
  if (manifest.keys) {
    // keys.json as it was at the snapshot: written whole (temp file + rename), private.
    fs.chmodSync(keysTemporary, 0o600);
    await rename(keysTemporary, path.join(options.dataDir, KEYS_FILE));
  }
  for (const [building, target] of built) {
    // The old write-ahead log belongs to the old file: replayed onto the new one it would corrupt it.
    await rm(`${target}.wal`, { force: true });
    await rename(building, target);
  }
  // Until the next snapshot or write, this database is that snapshot: a server starting on it does not
  // snapshot it again (which could move `latest` back to older data).
  fs.writeFileSync(path.join(options.dataDir, RESTORED_FROM_FILE), `${manifest.id}\n`);
  const dir = fs.openSync(options.dataDir, 'r');
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}
