// What each statement needs: the scope a key must hold to run it, or the reason no key may run it.
// Classification uses DuckDB's own parser: statements are split by extractStatements and typed by the
// prepared statement's statementType, never by matching SQL text.
import { StatementType } from '@duckdb/node-api';
import { EngineError } from './errors.ts';
import { type Scope, scopeAllows } from './types.ts';

export type StatementTypeName = keyof typeof StatementType;

/** A statement kind skyduck runs for a key with at least `scope`, or refuses for every key. */
export type Rule = { scope: Scope } | { refused: string };

const READ: Rule = { scope: 'read' };
const WRITE: Rule = { scope: 'write' };
const ADMIN: Rule = { scope: 'admin' };

const FILES = 'skyduck reads and writes no files on behalf of SQL: upload data with POST /v1/tables/{name} and export with snapshots';
const SETTINGS = "settings are fixed by skyduck's configuration (SKYDUCK_MEMORY_LIMIT, SKYDUCK_THREADS, ...) and locked";

/**
 * Every DuckDB statement type and what it needs. DESCRIBE, SHOW, SUMMARIZE and read-only PRAGMAs
 * (table_info, show_tables, database_size, ...) reach us as SELECT: DuckDB rewrites them before
 * preparing. PRAGMAs that change settings reach us as SET; the rest (enable_profiling, ...) as PRAGMA.
 */
export const RULES: Record<StatementTypeName, Rule> = {
  SELECT: READ,
  EXPLAIN: READ, // EXPLAIN ANALYZE of a write runs it: read requests run in a READ ONLY transaction
  INSERT: WRITE,
  UPDATE: WRITE,
  DELETE: WRITE,
  MERGE_INTO: WRITE,
  CREATE: WRITE, // tables, views, macros, schemas, sequences, types
  CREATE_FUNC: WRITE,
  ALTER: WRITE,
  DROP: WRITE, // also DEALLOCATE, which we never reach (PREPARE is refused)
  ANALYZE: WRITE,
  VACUUM: WRITE, // also ANALYZE
  CALL: ADMIN, // CHECKPOINT, FORCE CHECKPOINT and table functions with effects
  PRAGMA: ADMIN, // profiling and other connection behaviour
  TRANSACTION: {
    refused: "a request's statements already run as one transaction: remove BEGIN/COMMIT/ROLLBACK and send them in one body",
  },
  PREPARE: { refused: 'prepared statements do not outlive a request: bind values with "params" instead' },
  EXECUTE: { refused: 'prepared statements do not outlive a request: bind values with "params" instead' },
  SET: { refused: SETTINGS },
  VARIABLE_SET: { refused: SETTINGS },
  LOAD: { refused: 'extensions cannot be installed or loaded: skyduck runs with the extensions built into it' },
  EXTENSION: { refused: 'extensions cannot be installed or loaded: skyduck runs with the extensions built into it' },
  UPDATE_EXTENSIONS: { refused: 'extensions cannot be updated' },
  ATTACH: { refused: 'other databases cannot be attached: skyduck serves its one database' },
  DETACH: { refused: 'databases cannot be detached: skyduck serves its one database' },
  COPY: { refused: FILES },
  COPY_DATABASE: { refused: FILES },
  EXPORT: { refused: FILES },
  RELATION: { refused: 'this statement kind is not available over the API' },
  LOGICAL_PLAN: { refused: 'this statement kind is not available over the API' },
  MULTI: { refused: 'this statement kind is not available over the API' },
  INVALID: { refused: 'DuckDB could not classify this statement' },
};

const NAMES = Object.fromEntries(
  Object.entries(StatementType).filter(([, value]) => typeof value === 'number').map(([name, value]) => [value, name]),
) as Record<number, StatementTypeName>;

export function statementTypeName(type: StatementType): StatementTypeName {
  return NAMES[type] ?? 'INVALID';
}

export function ruleFor(type: StatementTypeName): Rule {
  return RULES[type];
}

/** Statements that change nothing: they may share the database with other readers and run READ ONLY. */
export function isRead(type: StatementTypeName): boolean {
  const rule = RULES[type];
  return 'scope' in rule && rule.scope === 'read';
}

/** The authorize and guard stages for one statement: throws 403 with what to do instead. */
export function authorize(type: StatementTypeName, held: Scope, position: number, of: number): void {
  const rule = RULES[type];
  const which = of > 1 ? `statement ${position + 1} of ${of} (${type})` : `${type}`;
  if ('refused' in rule) {
    throw new EngineError(403, 'statement_refused', `${which} is not allowed for any key: ${rule.refused}`);
  }
  if (!scopeAllows(held, rule.scope)) {
    const whole = of > 1 ? '; nothing in the request was run' : '';
    throw new EngineError(403, 'insufficient_scope', `${which} needs a key with ${rule.scope} scope; this key has ${held} scope${whole}`);
  }
}

/**
 * Table functions that read files (and their aliases). The sandbox (enable_external_access=false, only
 * skyduck's temp dir allowed) is what enforces this; naming them here refuses them before DuckDB binds
 * anything and says why, and keeps SQL away from the temp dir, where uploads are spooled.
 */
export const FILE_FUNCTIONS = new Set([
  'read_text', 'read_blob', 'read_csv', 'read_csv_auto', 'sniff_csv', 'read_json', 'read_json_auto',
  'read_json_objects', 'read_json_objects_auto', 'read_ndjson', 'read_ndjson_auto', 'read_ndjson_objects',
  'read_parquet', 'parquet_scan', 'parquet_metadata', 'parquet_schema', 'parquet_file_metadata',
  'parquet_kv_metadata', 'parquet_bloom_probe', 'glob', 'read_xlsx', 'iceberg_scan', 'delta_scan',
  'read_duckdb', 'duckdb_log_files',
  // Dynamic SQL: a string run as a statement would carry any of the above past the parse tree.
  'query', 'query_table', 'json_execute_serialized_sql',
  // Instance-wide logging: changes settings despite lock_configuration, exposes every key's SQL, and a
  // file target outside the sandbox aborts the process.
  'enable_logging', 'disable_logging', 'truncate_duckdb_logs', 'duckdb_logs', 'duckdb_logs_parsed',
  // Secrets are never used (no extension reaches the network); their storage misbehaves once touched.
  'duckdb_secrets', 'which_secret',
]);

/** Views of the log and secrets that need no parentheses: refused wherever the name appears as a word. */
const REFUSED_NAMES = ['duckdb_logs', 'duckdb_logs_parsed', 'duckdb_secrets'];

/**
 * The files DuckDB lets SQL reach for skyduck's own work, as they may be written (absolute or relative):
 * narrow on purpose, so ordinary data ('https://example.com/staging/…') is never refused.
 */
const INTERNAL_PATHS = ['spool/load.csv', 'spool/load.json', 'spool/load.parquet', 'staging/main.parquet', 'duckdb_temp'];
/** Below the data dir, the directories those files live in. */
const INTERNAL_DIRS = ['spool', 'staging', 'tmp'];

/**
 * The guard for every statement kind, on the text: a refused function called anywhere (also inside a
 * CREATE VIEW, CREATE MACRO, INSERT … SELECT or CTAS, which DuckDB cannot serialize to a parse tree), or a
 * path into the data dir. It can refuse a string literal that merely contains such a call; it cannot miss
 * one, since DuckDB cannot build a function name or a replacement-scan path at run time.
 */
export function guardText(sql: string, dataDirs: readonly string[] = []): void {
  const lower = sql.toLowerCase();
  for (const name of FILE_FUNCTIONS) {
    let at = lower.indexOf(name);
    while (at !== -1) {
      const before = lower[at - 1] ?? ' ';
      let after = at + name.length;
      if (lower[after] === '"') after++;
      while (/\s/.test(lower[after] ?? '')) after++;
      if (!/[a-z0-9_]/.test(before) && lower[after] === '(') refuseFileAccess(`${name}()`);
      at = lower.indexOf(name, at + 1);
    }
  }
  for (const name of REFUSED_NAMES) {
    const at = lower.search(new RegExp(`(^|[^a-z0-9_])${name}($|[^a-z0-9_])`));
    if (at !== -1) refuseFileAccess(name);
  }
  const paths = [...dataDirs.flatMap((dir) => INTERNAL_DIRS.map((sub) => `${dir}/${sub}`)), ...INTERNAL_PATHS];
  for (const path of paths) {
    if (sql.includes(path)) refuseFileAccess('a path into skyduck\'s data dir');
  }
}

/** Cheap first look: only SQL whose text names a file function or quotes a name needs the parse tree. */
export function mayReadFiles(sql: string): boolean {
  const lower = sql.toLowerCase();
  if (lower.includes("'") || lower.includes('"')) return true;
  for (const name of FILE_FUNCTIONS) if (lower.includes(name)) return true;
  return false;
}

/**
 * Walks DuckDB's serialized parse tree (json_serialize_sql) for calls of file functions and for table
 * references that are file paths (replacement scans like FROM 'x.csv'). Returns what it found, or undefined.
 */
export function fileAccessIn(tree: unknown): string | undefined {
  const stack: unknown[] = [tree];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      stack.push(...node);
    } else if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      const name = record.function_name;
      if (typeof name === 'string' && FILE_FUNCTIONS.has(name.toLowerCase())) return `${name}()`;
      if (record.type === 'BASE_TABLE' && typeof record.table_name === 'string' && /[/\\.]/.test(record.table_name)) {
        return `the file '${record.table_name}'`;
      }
      stack.push(...Object.values(record));
    }
  }
  return undefined;
}

export function refuseFileAccess(what: string): never {
  throw new EngineError(403, 'sandbox', `reading files is not allowed (${what}): ${FILES}`);
}
