// skyduck's own tables (the audit ledger, later agent memory) live in <dataDir>/system.duckdb, opened as a
// DuckDB instance of its own: user SQL runs in another instance, so no statement can name these tables.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { StartupError } from '../fs-checks.ts';

import { SYSTEM_DATABASE_FILE, stagingPath } from '../data-dir.ts';

export { SYSTEM_DATABASE_FILE };

export interface SystemDatabase {
  readonly file: string;
  readonly readOnly: boolean;
  readonly connection: DuckDBConnection;
  /** Another connection, for work that must not share a transaction or a streaming result with the others. */
  connect(): Promise<DuckDBConnection>;
  close(): void;
}

/**
 * Settings given at creation, so they hold from the first statement: small limits (the ledger is a few
 * narrow tables and must not compete with user queries), no file, network or extension access but the
 * snapshot staging file; lock_configuration (set right after) so nothing can change them later.
 */
const OPTIONS = {
  memory_limit: '256MB',
  threads: '1',
  autoinstall_known_extensions: 'false',
  autoload_known_extensions: 'false',
};


/**
 * DuckDB's file lock is a POSIX fcntl lock, which is per process: a second instance on the same file in
 * this process opens without complaint, and closing it drops the first instance's lock. So refuse that here.
 */
const openInThisProcess = new Set<string>();

/** `IO Error: Could not set lock on file "…": Conflicting lock is held in /usr/bin/skyduck (PID 123). …` */
function lockHolder(message: string): string | undefined {
  const match = /Conflicting lock is held in (.*?) \(PID (\d+)\)/.exec(message);
  if (match) return `pid ${match[2]}, ${path.basename(match[1] ?? '')}`;
  return /Could not set lock on file/.test(message) ? 'another process' : undefined;
}

export async function openSystemDatabase(dataDir: string, opts: { readOnly?: boolean } = {}): Promise<SystemDatabase> {
  const file = path.join(dataDir, SYSTEM_DATABASE_FILE);
  const readOnly = opts.readOnly ?? false;
  if (openInThisProcess.has(file)) throw new StartupError(`the ledger ${file} is already open in this process`);
  if (readOnly && !existsSync(file)) {
    throw new StartupError(`the ledger ${file} does not exist: no skyduck server has run on this data dir (check SKYDUCK_DATA_DIR)`);
  }
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(file, readOnly ? { ...OPTIONS, access_mode: 'READ_ONLY' } : OPTIONS);
  } catch (error) {
    const holder = lockHolder((error as Error).message);
    if (holder === undefined) throw error;
    throw new StartupError(`the ledger ${file} is in use by ${holder === 'another process' ? holder : `another process (${holder})`}, ` +
      'most likely a running skyduck server: stop it first or use GET /v1/audit');
  }
  const connection = await instance.connect();
  // List-valued settings cannot be given at creation, and allowed_paths only before external access is
  // turned off; lock_configuration then freezes them all. Nothing runs on this instance before this.
  if (!readOnly) await connection.run(`SET allowed_paths = ['${stagingPath(dataDir, 'system').replaceAll("'", "''")}']`);
  await connection.run('SET enable_external_access = false');
  await connection.run('SET lock_configuration = true');
  openInThisProcess.add(file);
  return {
    file,
    readOnly,
    connection,
    connect: () => instance.connect(),
    close() {
      if (!openInThisProcess.delete(file)) return;
      connection.closeSync();
      instance.closeSync();
    },
  };
}
