// Taking a snapshot: every table of both databases to Parquet (zstd) through DuckDB's COPY into the one
// staging file its sandbox allows, hashed, encrypted while streamed to the blob store. Each database is
// read in one READ ONLY transaction, so the snapshot is consistent while writes go on. Unchanged tables
// (the same Parquet hash as in the previous snapshot) point at the previous object instead of a new one.
// The manifest is written last, create-only, then `latest`; retention runs only after both are durable.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { type DatabaseName, type Manifest, MANIFEST_FORMAT, MANIFEST_VERSION, type ManifestTable, newSnapshotId } from './manifest.ts';
import { hashing, SnapshotStore } from './store.ts';

export interface SnapshotSource {
  database: DatabaseName;
  /** A connection of its own (closed here) to the database. */
  connect(): Promise<DuckDBConnection>;
  /** The one file this database's sandbox lets COPY write. */
  stagingFile: string;
}

export interface Progress {
  tables: number;
  of: number;
  bytes: number;
  /** Bytes per second so far. */
  rate: number;
  table?: string;
}

export interface SnapshotResult {
  manifest: Manifest;
  /** Tables whose object was written now, and those reused from the previous snapshot. */
  written: number;
  reused: number;
  bytes: number;
  ms: number;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Types Parquet cannot hold as they are: DuckDB writes HUGEINT as DOUBLE (digits lost), TIMETZ normalized
 * to UTC (offset lost) and UNION as a STRUCT. Such columns (also nested in lists and structs) travel as
 * DuckDB's own text, which restore's INSERT casts back to the column's type exactly.
 */
const LOSSY_IN_PARQUET = /HUGEINT|TIME WITH TIME ZONE|UNION\(/i;
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

async function rows(connection: DuckDBConnection, sql: string, values?: unknown[]): Promise<Record<string, unknown>[]> {
  const reader = await connection.runAndReadAll(sql, values as never);
  return reader.getRowObjectsJson() as Record<string, unknown>[];
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The CREATE SEQUENCE that continues where the sequence is now. */
function sequenceSql(row: Record<string, unknown>): { create_sql: string; next_value: string } {
  const increment = BigInt(String(row.increment_by));
  const next = row.last_value === null ? BigInt(String(row.start_value)) : BigInt(String(row.last_value)) + increment;
  const name = `${quote(String(row.schema_name))}.${quote(String(row.sequence_name))}`;
  return {
    create_sql: `CREATE SEQUENCE ${name} INCREMENT BY ${increment} MINVALUE ${row.min_value} MAXVALUE ${row.max_value} START WITH ${next}${row.cycle ? ' CYCLE' : ''}`,
    next_value: String(next),
  };
}

export interface TakeOptions {
  version: string;
  /** keys.json, stored with the snapshot when it exists. */
  keysFile?: string;
  onProgress?: (progress: Progress) => void;
}

export async function takeSnapshot(store: SnapshotStore, sources: SnapshotSource[], options: TakeOptions): Promise<SnapshotResult> {
  const started = performance.now();
  const id = newSnapshotId();
  const previousId = await store.latest();
  const previous = previousId ? await store.manifest(previousId) : undefined;
  const reusable = new Map(previous?.tables.map((t) => [`${t.database}/${t.schema}/${t.name}/${t.sha256}`, t.object]) ?? []);

  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    id,
    created_at: new Date().toISOString(),
    skyduck_version: options.version,
    key_uri: store.keyUri,
    tables: [],
    views: [],
    sequences: [],
    catalog: [],
  };
  let written = 0;
  let reused = 0;
  let bytes = 0;
  const report = (done: number, of: number, table?: string) => {
    const seconds = (performance.now() - started) / 1000;
    options.onProgress?.({ tables: done, of, bytes, rate: seconds > 0 ? bytes / seconds : 0, table });
  };

  for (const source of sources) {
    await mkdir(path.dirname(source.stagingFile), { recursive: true, mode: 0o700 });
    const connection = await source.connect();
    try {
      await connection.run('BEGIN TRANSACTION READ ONLY');
      const tables = await rows(connection,
        "SELECT schema_name, table_name, sql FROM duckdb_tables() WHERE database_name = current_database() AND NOT internal AND NOT temporary ORDER BY table_oid");
      const views = await rows(connection,
        "SELECT schema_name, view_name, sql FROM duckdb_views() WHERE database_name = current_database() AND NOT internal AND NOT temporary ORDER BY view_oid");
      const sequences = await rows(connection,
        'SELECT * FROM duckdb_sequences() WHERE database_name = current_database() AND NOT temporary ORDER BY sequence_oid');
      const types = await rows(connection,
        "SELECT schema_name, type_name, labels FROM duckdb_types() WHERE database_name = current_database() AND NOT internal AND logical_type = 'ENUM' ORDER BY type_oid");
      for (const type of types) {
        const labels = (type.labels as string[]).map(literal).join(', ');
        manifest.catalog.push({ database: source.database, kind: 'type', schema: String(type.schema_name), name: String(type.type_name),
          create_sql: `CREATE TYPE ${quote(String(type.schema_name))}.${quote(String(type.type_name))} AS ENUM (${labels})` });
      }
      const macros = await rows(connection,
        "SELECT schema_name, function_name, function_type, parameters, macro_definition FROM duckdb_functions() WHERE database_name = current_database() AND NOT internal AND function_type IN ('macro', 'table_macro') ORDER BY function_oid");
      for (const macro of macros) {
        const parameters = (macro.parameters as string[]).map(quote).join(', ');
        const body = macro.function_type === 'table_macro' ? `TABLE ${macro.macro_definition}` : String(macro.macro_definition);
        manifest.catalog.push({ database: source.database, kind: 'macro', schema: String(macro.schema_name), name: String(macro.function_name),
          create_sql: `CREATE MACRO ${quote(String(macro.schema_name))}.${quote(String(macro.function_name))}(${parameters}) AS ${body}` });
      }
      const indexes = await rows(connection,
        'SELECT schema_name, index_name, sql FROM duckdb_indexes() WHERE database_name = current_database() AND sql IS NOT NULL');
      for (const index of indexes) {
        manifest.catalog.push({ database: source.database, kind: 'index', schema: String(index.schema_name), name: String(index.index_name), create_sql: String(index.sql) });
      }
      for (const view of views) {
        manifest.views.push({ database: source.database, schema: String(view.schema_name), name: String(view.view_name), create_sql: String(view.sql) });
      }
      for (const sequence of sequences) {
        manifest.sequences.push({ database: source.database, schema: String(sequence.schema_name), name: String(sequence.sequence_name), ...sequenceSql(sequence) });
      }

      for (const [index, table] of tables.entries()) {
        const schema = String(table.schema_name);
        const name = String(table.table_name);
        const qualified = `${quote(schema)}.${quote(name)}`;
        report(manifest.tables.filter((t) => t.database === source.database).length, tables.length, `${source.database}.${schema}.${name}`);
        const columns = await rows(connection,
          'SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = $1 AND table_name = $2 ORDER BY column_index',
          [schema, name]);
        const selected = columns.map((c) => {
          const column = quote(String(c.column_name));
          return LOSSY_IN_PARQUET.test(String(c.data_type)) ? `CAST(${column} AS VARCHAR) AS ${column}` : column;
        }).join(', ');
        // A staging file left by a killed snapshot would make COPY go through a tmp_ file the sandbox refuses.
        await rm(source.stagingFile, { force: true });
        const copied = await rows(connection,
          `COPY (SELECT ${selected || '*'} FROM ${qualified}) TO ${literal(source.stagingFile)} (FORMAT parquet, COMPRESSION zstd)`);
        const count = Number(copied[0]?.Count ?? 0);
        const size = fs.statSync(source.stagingFile).size;
        // The file is hashed on its own only when it may be unchanged (same size and rows as last time);
        // otherwise it is hashed in the same pass that encrypts and uploads it.
        const before = previous?.tables.find((t) => t.database === source.database && t.schema === schema && t.name === name);
        let sha256: string | undefined;
        let object: string | undefined;
        if (before && before.bytes === size && before.rows === count) {
          sha256 = await sha256File(source.stagingFile);
          object = reusable.get(`${source.database}/${schema}/${name}/${sha256}`);
        }
        if (object) {
          reused++;
        } else {
          object = SnapshotStore.objectKey(id, source.database, schema, name);
          const hash = createHash('sha256');
          await store.putEncrypted(object, hashing(hash)(fs.createReadStream(source.stagingFile, { highWaterMark: 1 << 20 })));
          sha256 = hash.digest('hex');
          written++;
        }
        // COPY onto an existing file goes through a tmp_ file beside it, which the sandbox does not allow.
        await rm(source.stagingFile, { force: true });
        bytes += size;
        const entry: ManifestTable = {
          database: source.database, schema, name, create_sql: String(table.sql),
          columns: columns.map((c) => ({ name: String(c.column_name), type: String(c.data_type) })),
          rows: count, object, sha256: sha256!, bytes: size,
        };
        manifest.tables.push(entry);
        report(index + 1, tables.length);
      }
      await connection.run('COMMIT');
    } finally {
      await rm(source.stagingFile, { force: true });
      connection.closeSync();
    }
  }

  if (options.keysFile && fs.existsSync(options.keysFile)) {
    const content = fs.readFileSync(options.keysFile);
    const sha256 = createHash('sha256').update(content).digest('hex');
    let object = previous?.keys?.sha256 === sha256 ? previous.keys.object : undefined;
    if (!object) {
      object = `snapshots/${id}/keys.json.enc`;
      await store.putEncrypted(object, (async function* () { yield content; })());
    }
    manifest.keys = { object, sha256 };
  }

  await store.putManifest(manifest);
  await store.setLatest(id);
  return { manifest, written, reused, bytes, ms: performance.now() - started };
}
