// What lives in the data dir (SKYDUCK_DATA_DIR), in one place. No DuckDB here: the server reads these
// names before the native library is loaded.
import path from 'node:path';

/** The user database. */
export const DATABASE_FILE = 'skyduck.duckdb';
/** skyduck's own tables (audit ledger, agent memory): a DuckDB database user SQL cannot reach. */
export const SYSTEM_DATABASE_FILE = 'system.duckdb';
/** API keys, salted hashes only. */
export const KEYS_FILE = 'keys.json';

/**
 * The one file each database's SQL may write: a table's Parquet while a snapshot copies it (one table at
 * a time, one snapshot at a time). Restores use their own file.
 */
export const stagingPath = (dataDir: string, database: 'main' | 'system' | 'restore'): string =>
  path.join(dataDir, 'staging', `${database}.parquet`);

/** Written by a restore with the snapshot id; while it exists the database is that snapshot, unchanged. */
export const RESTORED_FROM_FILE = 'restored-from';
