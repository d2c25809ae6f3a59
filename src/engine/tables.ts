import { createReadStream } from 'node:fs';
import type { DuckDBConnection, DuckDBValue, JS } from '@duckdb/node-api';
import { EngineError } from './errors.ts';

export const INGEST_FORMATS = ['csv', 'json', 'parquet'] as const;
export type IngestFormat = (typeof INGEST_FORMATS)[number];
export const INGEST_MODES = ['append', 'replace'] as const;
export type IngestMode = (typeof INGEST_MODES)[number];

export interface TableSummary {
  schema: string;
  name: string;
  column_count: number;
  /** DuckDB's stored row count: free to read, but it lags uncommitted changes, hence not `row_count`. */
  estimated_rows: number;
}

export interface TableDescription {
  schema: string;
  name: string;
  columns: { name: string; type: string; nullable: boolean }[];
  /** Exact, from count(*). */
  row_count: number;
}

export interface IngestResult {
  table: string;
  created: boolean;
  rows_added: number;
  rows_total: number;
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Table names are plain identifiers, so one never needs quoting rules, paths or schemas to be understood. */
export function validateTableName(name: string): string {
  if (TABLE_NAME.test(name)) return name;
  throw new EngineError(
    400,
    'invalid_table_name',
    `invalid table name ${JSON.stringify(name.slice(0, 80))}: use a letter or _ then up to 62 letters, digits or _ (^[A-Za-z_][A-Za-z0-9_]{0,62}$)`,
  );
}

/** Names are validated, yet still quoted: SQL keywords (`select`, `order`) are valid table names. */
const quoteIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`;

async function rows(conn: DuckDBConnection, sql: string, params: DuckDBValue[] = []): Promise<Record<string, JS>[]> {
  return (await conn.runAndReadAll(sql, params)).getRowObjectsJS();
}

/** User tables of the connection's current database: the one unqualified SQL on that connection reaches. */
export async function listTables(conn: DuckDBConnection): Promise<TableSummary[]> {
  const found = await rows(
    conn,
    `SELECT schema_name, table_name, column_count, estimated_size FROM duckdb_tables()
     WHERE database_name = current_database() AND NOT temporary AND NOT internal
     ORDER BY schema_name, table_name`,
  );
  return found.map((t) => ({
    schema: String(t.schema_name),
    name: String(t.table_name),
    column_count: Number(t.column_count),
    estimated_rows: Number(t.estimated_size),
  }));
}

interface TableName {
  schema: string;
  name: string;
}

interface TableRef extends TableName {
  oid: bigint;
}

/** The table in schema main, matched without case as DuckDB itself resolves identifiers. */
async function findTable(conn: DuckDBConnection, name: string): Promise<TableRef | undefined> {
  const [found] = await rows(
    conn,
    `SELECT table_oid, schema_name, table_name FROM duckdb_tables()
     WHERE database_name = current_database() AND schema_name = 'main' AND NOT temporary AND lower(table_name) = lower($1)`,
    [name],
  );
  return found && { oid: found.table_oid as bigint, schema: String(found.schema_name), name: String(found.table_name) };
}

const qualified = (table: TableName) => `${quoteIdentifier(table.schema)}.${quoteIdentifier(table.name)}`;

async function countRows(conn: DuckDBConnection, table: TableName): Promise<number> {
  const [{ n }] = (await rows(conn, `SELECT count(*) AS n FROM ${qualified(table)}`)) as [{ n: JS }];
  return Number(n);
}

async function tableColumns(conn: DuckDBConnection, table: TableRef): Promise<TableDescription['columns']> {
  const found = await rows(
    conn,
    'SELECT column_name, data_type, is_nullable FROM duckdb_columns() WHERE table_oid = $1 ORDER BY column_index',
    [table.oid],
  );
  return found.map((c) => ({ name: String(c.column_name), type: String(c.data_type), nullable: Boolean(c.is_nullable) }));
}

/** A table's columns and exact row count; 404 `table_not_found` when schema main has no such table. */
export async function describeTable(conn: DuckDBConnection, name: string): Promise<TableDescription> {
  const table = await findTable(conn, validateTableName(name));
  if (!table) throw new EngineError(404, 'table_not_found', `no table "${name}"; GET /v1/tables lists them`);
  return { schema: table.schema, name: table.name, columns: await tableColumns(conn, table), row_count: await countRows(conn, table) };
}

/**
 * The reader for each format, with the file as bound parameter $1 (DuckDB's table functions take one, so no path is
 * ever pasted into SQL). sample_size=-1 infers types from the whole file: a late "n/a" in a numeric column makes the
 * column VARCHAR instead of failing the load. CSV is fixed to RFC 4180 (comma, double quotes, a header row) with no
 * skipped or comment lines, since DuckDB's sniffer would otherwise explain a malformed row away by dropping lines or
 * guessing another dialect, silently losing data.
 */
const READERS: Record<IngestFormat, string> = {
  csv: `read_csv($1, header = true, delim = ',', quote = '"', escape = '"', strict_mode = true, skip = 0, comment = '', sample_size = -1)`,
  json: `read_json_auto($1, format = 'auto', sample_size = -1)`,
  parquet: 'read_parquet($1)',
};

/**
 * Loads a spooled file into a table: creates it when missing, appends BY NAME when it exists, or replaces it with
 * mode=replace. Writes, so `conn` must already be inside a transaction that the caller commits, or rolls back when
 * this throws: a failed load then leaves nothing half-written. 422 errors name what in the file was wrong.
 */
export async function ingestFile(
  conn: DuckDBConnection,
  name: string,
  file: string,
  format: IngestFormat,
  mode: IngestMode,
): Promise<IngestResult> {
  const existing = await findTable(conn, validateTableName(name));
  const target: TableName = existing ?? { schema: 'main', name };
  const source = READERS[format];
  let added: JS;
  try {
    if (existing && mode === 'append') {
      await checkColumns(conn, existing, source, file);
      [{ Count: added }] = (await rows(conn, `INSERT INTO ${qualified(existing)} BY NAME SELECT * FROM ${source}`, [file])) as [{ Count: JS }];
    } else {
      const create = existing ? 'CREATE OR REPLACE TABLE' : 'CREATE TABLE';
      [{ Count: added }] = (await rows(conn, `${create} ${qualified(target)} AS SELECT * FROM ${source}`, [file])) as [{ Count: JS }];
    }
  } catch (error) {
    throw await ingestError(error, format, file, existing !== undefined && mode === 'append');
  }
  return { table: target.name, created: !existing, rows_added: Number(added), rows_total: await countRows(conn, target) };
}

/** Appending by name would fill missing columns with NULL and refuse unknown ones one at a time; name them all. */
async function checkColumns(conn: DuckDBConnection, table: TableRef, source: string, file: string): Promise<void> {
  const have = (await tableColumns(conn, table)).map((c) => c.name);
  const sent = (await rows(conn, `DESCRIBE SELECT * FROM ${source}`, [file])).map((c) => String(c.column_name));
  // BY NAME matches names without case, as DuckDB resolves identifiers.
  const absentFrom = (names: string[]) => {
    const known = new Set(names.map((n) => n.toLowerCase()));
    return (n: string) => !known.has(n.toLowerCase());
  };
  const missing = have.filter(absentFrom(sent));
  const unexpected = sent.filter(absentFrom(have));
  if (missing.length === 0 && unexpected.length === 0) return;
  const list = (names: string[]) => names.map((n) => JSON.stringify(n)).join(', ');
  const problems = [missing.length ? `missing ${list(missing)}` : '', unexpected.length ? `unexpected ${list(unexpected)}` : ''];
  throw new EngineError(
    422,
    'schema_mismatch',
    `the body's columns do not match table "${table.name}" (${problems.filter(Boolean).join('; ')}); ` +
      `send exactly its columns ${list(have)}, or replace the table instead of appending`,
  );
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** DuckDB's own errors carry a kind prefix ("Invalid Input Error: ..."); anything else is not the body's fault. */
const DUCKDB_ERROR = /^([A-Z][A-Za-z ]*) Error: /;

/**
 * DuckDB's verdict on a file, as a 422 that names the problem without echoing SQL, hints or our spool path.
 * Other failures (interrupts, memory, conflicts, the sandbox) pass through unchanged for the caller to map.
 */
async function ingestError(error: unknown, format: IngestFormat, file: string, appending: boolean): Promise<unknown> {
  if (!(error instanceof Error) || error instanceof EngineError) return error;
  const kind = DUCKDB_ERROR.exec(error.message)?.[1];
  if (kind !== 'Invalid Input' && kind !== 'Conversion') return error;
  // DuckDB names the file ("Malformed JSON in file \"/…/ingest-….json\", at byte 10 in line 3"); the client knows it as the body.
  const text = error.message.replace(new RegExp(`(?:file )?["']?${escapeRegExp(file)}["']?`, 'gi'), 'the body');
  // "CSV Error on Line: 30002\nOriginal Line: 5,z,extra\nExpected Number of Columns: 2 Found: 3\n..."
  const csvLine = /CSV Error on Line: (\d+)\n(?:Original Line: [^\n]*\n)?([^\n]*)/.exec(text);
  const problem = (csvLine ? `CSV line ${csvLine[1]}: ${csvLine[2]}` : text.split('\n')[0]!.replace(DUCKDB_ERROR, '')).replace(/[.\s]+$/, '');
  // On append DuckDB reads with the table's column types, so a value they cannot hold is the table's mismatch:
  // "Could not convert string 'abc' to INT64 when casting from source column id".
  if (kind === 'Conversion' && appending) return new EngineError(422, 'schema_mismatch', `the body does not fit the table: ${problem}`);
  switch (format) {
    case 'csv':
      if (!csvLine && error.message.includes('Error when sniffing file')) {
        return new EngineError(422, 'invalid_csv', `${(await firstBadCsvRecord(file)) ?? 'the body is not CSV DuckDB can read'}. ${CSV_RULES}`);
      }
      return new EngineError(422, 'invalid_csv', `${problem}. ${CSV_RULES}`);
    case 'json':
      return new EngineError(422, 'invalid_json_body', `${problem}; send NDJSON (one object a line) or a JSON array of objects`);
    case 'parquet':
      return new EngineError(422, 'invalid_parquet', `the body is not a readable Parquet file: ${problem}`);
  }
}

const CSV_RULES = 'Send UTF-8 CSV with a header row, fields separated by commas, and any field holding a comma, quote or line break in double quotes';

/**
 * DuckDB's sniffer reads the whole file (sample_size=-1) and, when a record breaks the dialect, fails without a line
 * number. The transaction is aborted by then, so DuckDB cannot be asked again: walk the file once here, with the same
 * rules, for the first record whose field count differs from the header's or whose quote never closes.
 */
async function firstBadCsvRecord(file: string): Promise<string | undefined> {
  let line = 1;
  let recordLine = 1;
  let fields = 1;
  let empty = true;
  let quoted = false;
  let expected: number | undefined;
  const endRecord = () => {
    if (!empty) {
      expected ??= fields;
      if (fields !== expected) return `CSV line ${recordLine}: expected ${expected} fields as in the header, found ${fields}`;
    }
    recordLine = line;
    fields = 1;
    empty = true;
    return undefined;
  };
  for await (const chunk of createReadStream(file, { encoding: 'utf8' }) as AsyncIterable<string>) {
    for (const char of chunk) {
      if (char === '\n') {
        line += 1;
        if (quoted) continue;
        const bad = endRecord();
        if (bad) return bad;
        continue;
      }
      // A doubled quote inside a quoted field toggles twice, so it stays quoted.
      if (char === '"') quoted = !quoted;
      else if (char === ',' && !quoted) fields += 1;
      if (char !== '\r') empty = false;
    }
  }
  if (quoted) return `CSV line ${recordLine}: a quoted field is never closed`;
  return endRecord();
}
