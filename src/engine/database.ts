import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { ConnectionPool } from './pool.ts';

export const DATABASE_FILE = 'skyduck.duckdb';
/** DuckDB's spill directory and the upload spool: the only directory SQL may touch. */
export const TEMP_DIR = 'tmp';

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;

export interface DatabaseSettings {
  maxConcurrentQueries: number;
  /** Bytes; unset keeps DuckDB's default (80% of RAM). */
  memoryLimit?: number;
  threads?: number;
}

/**
 * SQL can reach no file, network or extension: only the database already open and skyduck's temp dir.
 * These settings are global to the instance; lock_configuration makes every later SET fail, so no
 * statement can undo them.
 */
async function sandbox(connection: DuckDBConnection, tempDir: string, settings: DatabaseSettings): Promise<void> {
  await mkdir(tempDir, { recursive: true, mode: 0o700 });
  await connection.run(`SET temp_directory = ${quote(tempDir)}`);
  await connection.run(`SET allowed_directories = [${quote(`${tempDir}${path.sep}`)}]`);
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
  readonly tempDir: string;
  private readonly instance: DuckDBInstance;

  private constructor(instance: DuckDBInstance, pool: ConnectionPool, tempDir: string) {
    this.instance = instance;
    this.pool = pool;
    this.tempDir = tempDir;
  }

  static async open(dataDir: string, settings: DatabaseSettings): Promise<Database> {
    const instance = await DuckDBInstance.create(path.join(dataDir, DATABASE_FILE));
    const tempDir = path.join(dataDir, TEMP_DIR);
    const connection = await instance.connect();
    try {
      await sandbox(connection, tempDir, settings);
    } finally {
      connection.closeSync();
    }
    return new Database(instance, new ConnectionPool(instance, settings.maxConcurrentQueries), tempDir);
  }

  close(): void {
    this.pool.close();
    this.instance.closeSync();
  }
}
