import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { QueryError, type QueryResult, type QueryRunner } from './types.ts';

export const DATABASE_FILE = 'skyduck.duckdb';
/** DuckDB's spill directory, the only one SQL may touch (the data dir also holds the local key file). */
const TEMP_DIR = 'tmp';

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;

/**
 * SQL can reach no file, network or extension: only the database already open and its spill directory.
 * lock_configuration makes every later SET of a setting fail, so a statement cannot undo this.
 */
async function sandbox(connection: DuckDBConnection, tempDir: string): Promise<void> {
  await mkdir(tempDir, { recursive: true });
  await connection.run(`SET temp_directory = ${quote(tempDir)}`);
  await connection.run(`SET allowed_directories = [${quote(tempDir)}]`);
  await connection.run('SET enable_external_access = false');
  await connection.run('SET autoinstall_known_extensions = false');
  await connection.run('SET autoload_known_extensions = false');
  await connection.run('SET lock_configuration = true');
}

/** DuckDB's own errors carry a kind prefix ("Parser Error: ...", "Catalog Error: ..."). */
function isStatementError(error: unknown): error is Error {
  return error instanceof Error && /^[A-Z][A-Za-z ]* Error: /.test(error.message);
}

/** The DuckDB database in the data dir. The full query pipeline (scopes, guards, caps) is the warehouse-core issue. */
export class Database implements QueryRunner {
  private readonly instance: DuckDBInstance;
  private readonly connection: DuckDBConnection;

  private constructor(instance: DuckDBInstance, connection: DuckDBConnection) {
    this.instance = instance;
    this.connection = connection;
  }

  static async open(dataDir: string): Promise<Database> {
    const instance = await DuckDBInstance.create(path.join(dataDir, DATABASE_FILE));
    const connection = await instance.connect();
    await sandbox(connection, path.join(dataDir, TEMP_DIR));
    return new Database(instance, connection);
  }

  async query(sql: string): Promise<QueryResult> {
    const started = performance.now();
    let reader;
    try {
      reader = await this.connection.runAndReadAll(sql);
    } catch (error) {
      if (isStatementError(error)) throw new QueryError(error.message);
      throw error;
    }
    const names = reader.columnNames();
    const types = reader.columnTypes();
    const rows = reader.getRowsJson() as unknown[][];
    return {
      columns: names.map((name, i) => ({ name, type: String(types[i]) })),
      rows,
      row_count: rows.length,
      execution_time_ms: Math.round((performance.now() - started) * 1000) / 1000,
    };
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
