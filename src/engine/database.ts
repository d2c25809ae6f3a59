import { realpathSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { ConnectionPool } from './pool.ts';

import { DATABASE_FILE, stagingPath } from '../data-dir.ts';

export { DATABASE_FILE };
/** DuckDB's spill directory: DuckDB lets SQL read its temp directory, so nothing else is ever put there. */
export const TEMP_DIR = 'tmp';
/** Uploads are spooled here under random names SQL cannot reach; see loadPath. */
export const SPOOL_DIR = 'spool';
const LOAD_EXTENSIONS = ['csv', 'json', 'parquet'] as const;

/**
 * The one file per format SQL may read (allowed_paths): an upload is renamed to it only while it is being
 * loaded, under the write lock, so no other upload is ever readable by SQL.
 */
export function loadPath(spoolDir: string, format: (typeof LOAD_EXTENSIONS)[number]): string {
  return path.join(spoolDir, `load.${format}`);
}


const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;

export interface DatabaseSettings {
  maxConcurrentQueries: number;
  /** Bytes; unset keeps DuckDB's default (80% of RAM). */
  memoryLimit?: number;
  threads?: number;
}

/**
 * SQL can reach no file, network or extension: only the database already open, DuckDB's spill directory
 * and the one load file per format.
 * These settings are global to the instance; lock_configuration makes every later SET fail, so no
 * statement can undo them.
 */
async function sandbox(connection: DuckDBConnection, tempDir: string, spoolDir: string, settings: DatabaseSettings): Promise<void> {
  await mkdir(tempDir, { recursive: true, mode: 0o700 });
  // Uploads a killed server was spooling (whole copies of user data) go: no request is in flight yet.
  await rm(spoolDir, { recursive: true, force: true });
  await mkdir(spoolDir, { recursive: true, mode: 0o700 });
  await connection.run(`SET temp_directory = ${quote(tempDir)}`);
  const allowed = [...LOAD_EXTENSIONS.map((format) => loadPath(spoolDir, format)), stagingPath(path.dirname(spoolDir), 'main')];
  await connection.run(`SET allowed_paths = [${allowed.map(quote).join(', ')}]`);
  await connection.run('SET enable_external_access = false');
  await connection.run('SET autoinstall_known_extensions = false');
  await connection.run('SET autoload_known_extensions = false');
  if (settings.memoryLimit !== undefined) await connection.run(`SET memory_limit = '${settings.memoryLimit}B'`);
  if (settings.threads !== undefined) await connection.run(`SET threads = ${settings.threads}`);
  await connection.run('SET lock_configuration = true');
}

/** The user database in the data dir and its connection pool. */
export class Database {
  readonly pool: ConnectionPool;
  /** Where uploads are spooled before DuckDB reads them. */
  readonly spoolDir: string;
  /** The data dir as given and as resolved (symlinks): the pipeline refuses SQL naming either. */
  readonly dataDirs: string[];
  private readonly instance: DuckDBInstance;

  /** A connection outside the pool, for skyduck's own work (snapshots); the caller closes it. */
  connect(): Promise<DuckDBConnection> {
    return this.instance.connect();
  }

  private constructor(instance: DuckDBInstance, pool: ConnectionPool, spoolDir: string) {
    this.instance = instance;
    this.pool = pool;
    this.spoolDir = spoolDir;
    const dataDir = path.dirname(spoolDir);
    this.dataDirs = [...new Set([dataDir, realpathSync(dataDir)])];
  }

  static async open(dataDir: string, settings: DatabaseSettings): Promise<Database> {
    const instance = await DuckDBInstance.create(path.join(dataDir, DATABASE_FILE));
    const spoolDir = path.join(dataDir, SPOOL_DIR);
    const connection = await instance.connect();
    try {
      await sandbox(connection, path.join(dataDir, TEMP_DIR), spoolDir, settings);
    } finally {
      connection.closeSync();
    }
    return new Database(instance, new ConnectionPool(instance, settings.maxConcurrentQueries), spoolDir);
  }

  close(): void {
    this.pool.close();
    this.instance.closeSync();
  }
}
