// skyduck's own tables (the audit ledger, later agent memory) live in <dataDir>/system.duckdb, opened as a
// DuckDB instance of its own: user SQL runs in another instance, so no statement can name these tables.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { StartupError } from '../fs-checks.ts';

export const SYSTEM_DATABASE_FILE = 'system.duckdb';

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
 * narrow tables and must not compete with user queries), no file, network or extension access, and
 * lock_configuration so nothing run on this connection can change them later.
 */
const OPTIONS = {
  memory_limit: '256MB',
  threads: '1',
  enable_external_access: 'false',
  autoinstall_known_extensions: 'false',
  autoload_known_extensions: 'false',
  lock_configuration: 'true',
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
