// Tables and ingest against a real, sandboxed DuckDB (Database.open, as the server opens it): the spool dir is the
// one place SQL may read, and every failed load is a 422 that names what was wrong and leaves the table as it was.
import fs from 'node:fs';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rename } from 'node:fs/promises';
import { Database, loadPath } from '../../src/engine/database.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { removeQuietly, spoolBody } from '../../src/engine/spool.ts';
import {
  describeTable,
  type IngestFormat,
  type IngestMode,
  ingestFile,
  listTables,
  validateTableName,
} from '../../src/engine/tables.ts';
import { tempDir } from '../support/process.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

async function* chunks(...parts: (string | Uint8Array)[]): AsyncIterable<Uint8Array> {
  for (const part of parts) yield typeof part === 'string' ? bytes(part) : part;
}

/** Resolves to the EngineError the promise rejects with, failing the test when it resolves or throws another. */
async function engineError(promise: Promise<unknown>): Promise<EngineError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EngineError);
  return error as EngineError;
}

describe('spoolBody', () => {
  it('streams a body to a new 0600 file in the directory', async () => {
    const dir = tempDir('spool');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes('id,name\n'));
        controller.enqueue(bytes('1,a\n'));
        controller.close();
      },
    });
    const spooled = await spoolBody(body, dir, 1024, 'csv');
    expect(path.dirname(spooled.path)).toBe(dir);
    expect(path.basename(spooled.path)).toMatch(/^ingest-[0-9a-f]{32}\.csv$/);
    expect(spooled.bytes).toBe(12);
    expect(fs.readFileSync(spooled.path, 'utf8')).toBe('id,name\n1,a\n');
    expect(fs.statSync(spooled.path).mode & 0o777).toBe(0o600);
  });

  it('stops reading past the limit, removes the file and answers 413 naming SKYDUCK_MAX_INGEST_BYTES', async () => {
    const dir = tempDir('spool');
    let pulled = 0;
    async function* endless(): AsyncIterable<Uint8Array> {
      for (;;) {
        pulled += 1;
        yield new Uint8Array(100);
      }
    }
    const error = await engineError(spoolBody(endless(), dir, 1000, 'csv'));
    expect(error).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect(error.message).toContain('1000 bytes');
    expect(error.message).toContain('SKYDUCK_MAX_INGEST_BYTES');
    expect(pulled).toBe(11);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('cancels a web ReadableStream body that runs past the limit', async () => {
    const dir = tempDir('spool');
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull: (controller) => controller.enqueue(new Uint8Array(100)),
      cancel: () => {
        cancelled = true;
      },
    });
    expect(await engineError(spoolBody(body, dir, 1000, 'csv'))).toMatchObject({ status: 413 });
    expect(cancelled).toBe(true);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('accepts a body of exactly the limit', async () => {
    const spooled = await spoolBody(chunks('12345', '67890'), tempDir('spool'), 10, 'json');
    expect(spooled.bytes).toBe(10);
  });

  it('answers 400 empty_body to an empty body and leaves no file', async () => {
    const dir = tempDir('spool');
    expect(await engineError(spoolBody(chunks(), dir, 1000, 'csv'))).toMatchObject({ status: 400, code: 'empty_body' });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('removes the partial file when the body fails midway', async () => {
    const dir = tempDir('spool');
    async function* broken(): AsyncIterable<Uint8Array> {
      yield bytes('id\n1\n');
      throw new Error('client went away');
    }
    await expect(spoolBody(broken(), dir, 1000, 'csv')).rejects.toThrow('client went away');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('removeQuietly ignores a file that is already gone', async () => {
    await expect(removeQuietly(path.join(tempDir('spool'), 'missing'))).resolves.toBeUndefined();
  });
});

describe('validateTableName', () => {
  it.each(['events', '_staging', 'A1_b2', 'select', 'x'.repeat(63)])('accepts %j', (name) => {
    expect(validateTableName(name)).toBe(name);
  });

  it.each([
    '',
    '../../etc',
    '/etc/passwd',
    'a"b',
    "a'b",
    'x; drop table t',
    'has space',
    'main.events',
    'a-b',
    '1abc',
    'café',
    'tbl\n',
    'x'.repeat(64),
  ])('refuses %j with 400 invalid_table_name', (name) => {
    let error: unknown;
    try {
      validateTableName(name);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ status: 400, code: 'invalid_table_name' });
    expect((error as Error).message).toContain(JSON.stringify(name));
    expect((error as Error).message).toContain('^[A-Za-z_][A-Za-z0-9_]{0,62}$');
  });

  it('quotes a long bad name cut to 80 characters', () => {
    expect(() => validateTableName(`${'y'.repeat(200)}!`)).toThrow(`invalid table name ${JSON.stringify('y'.repeat(80))}:`);
  });
});

describe('tables', () => {
  let db: Database;
  let conn: DuckDBConnection;
  let release: () => void;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = tempDir('tables');
    db = await Database.open(dataDir, { maxConcurrentQueries: 4 });
    const lease = await db.pool.acquire();
    conn = lease.connection;
    release = lease.release;
  });

  afterAll(() => {
    release();
    db.close();
  });

  /** As the server does: the spooled file is read by DuckDB inside a transaction, and removed afterwards. */
  async function ingest(table: string, body: string | Uint8Array, format: IngestFormat, mode: IngestMode = 'append') {
    const spooled = await spoolBody(chunks(body), db.spoolDir, 10_000_000, format);
    const load = loadPath(db.spoolDir, format);
    await rename(spooled.path, load);
    await conn.run('BEGIN');
    try {
      const result = await ingestFile(conn, table, load, format, mode);
      await conn.run('COMMIT');
      return result;
    } catch (error) {
      await conn.run('ROLLBACK');
      throw error;
    } finally {
      await removeQuietly(load);
    }
  }

  const contents = async (table: string) => (await conn.runAndReadAll(`SELECT * FROM "${table}" ORDER BY ALL`)).getRowsJson();

  /** Parquet written by a DuckDB that, unlike the sandboxed one, may write files. */
  async function parquet(sql: string): Promise<Uint8Array> {
    const file = path.join(tempDir('parquet'), 'data.parquet');
    const instance = await DuckDBInstance.create(':memory:');
    const writer = await instance.connect();
    await writer.run(`COPY (${sql}) TO '${file}' (FORMAT parquet)`);
    writer.closeSync();
    instance.closeSync();
    return fs.readFileSync(file);
  }

  it('creates a table from CSV, appends to it by name and replaces it', async () => {
    expect(await ingest('events', 'id,name\n1,a\n2,"b, with comma"\n', 'csv')).toEqual({
      table: 'events', created: true, rows_added: 2, rows_total: 2,
    });
    expect(await ingest('events', 'NAME,ID\nc,3\n', 'csv')).toEqual({ table: 'events', created: false, rows_added: 1, rows_total: 3 });
    expect(await contents('events')).toEqual([['1', 'a'], ['2', 'b, with comma'], ['3', 'c']]);

    expect(await ingest('events', 'id,score\n9,1.5\n', 'csv', 'replace')).toEqual({
      table: 'events', created: false, rows_added: 1, rows_total: 1,
    });
    expect((await describeTable(conn, 'events')).columns).toEqual([
      { name: 'id', type: 'BIGINT', nullable: true },
      { name: 'score', type: 'DOUBLE', nullable: true },
    ]);
  });

  it('infers a column type from the whole file, not a sample', async () => {
    const late = `n\n${Array.from({ length: 30_000 }, (_, i) => i).join('\n')}\nn/a\n`;
    expect(await ingest('late_text', late, 'csv')).toMatchObject({ rows_added: 30_001 });
    expect((await describeTable(conn, 'late_text')).columns).toEqual([{ name: 'n', type: 'VARCHAR', nullable: true }]);
  });

  it('loads NDJSON and a JSON array', async () => {
    expect(await ingest('from_ndjson', '{"id":1,"tag":"x"}\n{"id":2,"tag":"y"}\n', 'json')).toMatchObject({ created: true, rows_total: 2 });
    expect(await ingest('from_array', '[{"id":1,"tag":"x"},{"id":2,"tag":"y"},{"id":3,"tag":"z"}]', 'json')).toMatchObject({
      created: true, rows_total: 3,
    });
    expect(await ingest('from_array', '[{"tag":"w","id":4}]', 'json')).toMatchObject({ created: false, rows_added: 1, rows_total: 4 });
    expect(await contents('from_array')).toEqual([['1', 'x'], ['2', 'y'], ['3', 'z'], ['4', 'w']]);
  });

  it('loads Parquet', async () => {
    const file = await parquet('SELECT range AS id, range * 2 AS double_id FROM range(5)');
    expect(await ingest('from_parquet', file, 'parquet')).toEqual({ table: 'from_parquet', created: true, rows_added: 5, rows_total: 5 });
    expect((await describeTable(conn, 'from_parquet')).columns.map((c) => c.type)).toEqual(['BIGINT', 'BIGINT']);
  });

  it('reads spool files in <dataDir>/tmp while the sandbox refuses a file anywhere else', async () => {
    const outside = path.join(dataDir, 'outside.csv');
    fs.writeFileSync(outside, 'id\n1\n');
    await conn.run('BEGIN');
    await expect(ingestFile(conn, 'outside', outside, 'csv', 'append')).rejects.toThrow(/Permission Error/);
    await conn.run('ROLLBACK');
    expect(await ingest('inside', 'id\n1\n', 'csv')).toMatchObject({ created: true, rows_total: 1 });
  });

  it.each([
    ['a row with an extra field', 'id,name\n1,a\n2,b,extra\n3,c\n', 'CSV line 3: expected 2 fields as in the header, found 3'],
    ['a row with a missing field', 'id,name\n1,a\n\n2\n', 'CSV line 4: expected 2 fields as in the header, found 1'],
    ['a quote that never closes', 'id,name\n1,"a\nb"\n2,"b\n3,c\n', 'CSV line 4: a quoted field is never closed'],
  ])('names the line of %s (422 invalid_csv)', async (_, csv, expected) => {
    const error = await engineError(ingest('bad_csv', csv, 'csv'));
    expect(error).toMatchObject({ status: 422, code: 'invalid_csv' });
    expect(error.message).toContain(expected);
    expect(error.message).not.toContain(db.spoolDir);
  });

  it('names the line DuckDB reports for a row that is not UTF-8', async () => {
    const body = new Uint8Array([...bytes('id,name\n1,a\n2,'), 0xff, 0xfe, ...bytes('\n')]);
    const error = await engineError(ingest('bad_utf8', body, 'csv'));
    expect(error).toMatchObject({ status: 422, code: 'invalid_csv' });
    expect(error.message).toMatch(/^CSV line \d+: Invalid unicode/);
    expect(error.message).not.toContain(db.spoolDir);
  });

  it('answers 422 invalid_json_body to malformed JSON, naming where', async () => {
    const error = await engineError(ingest('bad_json', '{"id":1}\n{"id":2,\n', 'json'));
    expect(error).toMatchObject({ status: 422, code: 'invalid_json_body' });
    expect(error.message).toMatch(/Malformed JSON .*line 3/);
    expect(error.message).not.toContain(db.spoolDir);
  });

  it('answers 422 invalid_parquet to a body that is not Parquet', async () => {
    const error = await engineError(ingest('bad_parquet', 'id,name\n1,a\n', 'parquet'));
    expect(error).toMatchObject({ status: 422, code: 'invalid_parquet' });
    expect(error.message).toContain('No magic bytes');
    expect(error.message).not.toContain(db.spoolDir);
  });

  it('refuses an append whose columns differ, naming them, and leaves the table unchanged', async () => {
    await ingest('ledger', 'id,amount\n1,10\n2,20\n', 'csv');
    const before = await describeTable(conn, 'ledger');

    const error = await engineError(ingest('ledger', 'id,amt,note\n3,30,x\n', 'csv'));
    expect(error).toMatchObject({ status: 422, code: 'schema_mismatch' });
    expect(error.message).toContain('missing "amount"');
    expect(error.message).toContain('unexpected "amt", "note"');

    const typed = await engineError(ingest('ledger', '{"id":3,"amount":"lots"}\n', 'json'));
    expect(typed).toMatchObject({ status: 422, code: 'schema_mismatch' });
    expect(typed.message).toContain('lots');

    // A bad row after good ones: the good rows are rolled back with the rest.
    const bad = await engineError(ingest('ledger', 'id,amount\n3,30\n4,40,extra\n', 'csv'));
    expect(bad.code).toBe('invalid_csv');

    expect(await describeTable(conn, 'ledger')).toEqual(before);
    expect(await contents('ledger')).toEqual([['1', '10'], ['2', '20']]);
  });

  it('creates no table when the first load fails', async () => {
    await engineError(ingest('never_made', 'id\n1\n2,3\n', 'csv'));
    expect((await listTables(conn)).map((t) => t.name)).not.toContain('never_made');
  });

  it('refuses a hostile table name before touching the database', async () => {
    const error = await engineError(ingest('x"; DROP TABLE events; --', 'id\n1\n', 'csv'));
    expect(error).toMatchObject({ status: 400, code: 'invalid_table_name' });
  });

  it('lists the user tables of the database, not temporary ones', async () => {
    await conn.run('CREATE TEMP TABLE scratch AS SELECT 1 AS x');
    const tables = await listTables(conn);
    expect(tables.map((t) => t.name)).not.toContain('scratch');
    expect(tables.find((t) => t.name === 'ledger')).toEqual({ schema: 'main', name: 'ledger', column_count: 2, estimated_rows: 2 });
    expect(tables.map((t) => t.name)).toEqual([...tables.map((t) => t.name)].sort());
  });

  it('describes a table: columns, nullability and an exact row count, matched without case', async () => {
    await conn.run('CREATE TABLE "Strict" (id INTEGER NOT NULL, note VARCHAR)');
    await conn.run("INSERT INTO \"Strict\" VALUES (1, 'a'), (2, NULL)");
    expect(await describeTable(conn, 'strict')).toEqual({
      schema: 'main',
      name: 'Strict',
      columns: [
        { name: 'id', type: 'INTEGER', nullable: false },
        { name: 'note', type: 'VARCHAR', nullable: true },
      ],
      row_count: 2,
    });
  });

  it('answers 404 table_not_found for an unknown table', async () => {
    const error = await engineError(describeTable(conn, 'nope'));
    expect(error).toMatchObject({ status: 404, code: 'table_not_found', message: 'no table "nope"; GET /v1/tables lists them' });
  });
});
