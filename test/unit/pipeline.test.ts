// The query pipeline stage by stage (authenticate, classify, authorize, guard, execute, pool, params, encode, audit),
// then the table routes, each through the HTTP app of a whole warehouse from source.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { QueryPipeline } from '../../src/engine/pipeline.ts';
import type { Principal } from '../../src/engine/types.ts';
import { openTestWarehouse, type TestWarehouse } from '../support/warehouse.ts';

const opened: TestWarehouse[] = [];
async function open(options: Parameters<typeof openTestWarehouse>[0] = {}): Promise<TestWarehouse> {
  const warehouse = await openTestWarehouse(options);
  opened.push(warehouse);
  return warehouse;
}
afterAll(async () => {
  for (const warehouse of opened) await warehouse.close();
});

let w: TestWarehouse;
beforeAll(async () => {
  // Room for the 20 concurrent inserts below.
  w = await open({ maxConcurrentQueries: 32 });
});

/** Polls `condition` until it holds, failing after `ms`. Yields to the event loop between tries; never sleeps blind. */
async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** POST /v1/query without reading the response body: for streams that must stay open. */
const post = (warehouse: TestWarehouse, sql: string, key: string, accept?: string) =>
  warehouse.app.request('/v1/query', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...(accept ? { accept } : {}) },
    body: JSON.stringify({ sql }),
  });

const NDJSON = 'application/x-ndjson';
const CSV = 'text/csv';

/** The key id is the 12 hex digits of `sk_<id>_<secret>`. */
const keyId = (key: string) => /^sk_([0-9a-f]{12})_/.exec(key)![1]!;

async function exists(warehouse: TestWarehouse, table: string): Promise<boolean> {
  const { body } = await warehouse.query('select count(*) as n from duckdb_tables() where table_name = $1', { key: warehouse.keys.admin, params: [table] });
  return body.rows[0][0] === '1';
}

async function rows(warehouse: TestWarehouse, sql: string): Promise<unknown[][]> {
  const { status, body, text } = await warehouse.query(sql, { key: warehouse.keys.admin });
  expect(status, text).toBe(200);
  return body.rows;
}

describe('stage 1: authenticate', () => {
  it('answers 401 without a key, with a malformed one and with an unknown one', async () => {
    const none = await w.app.request('/v1/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sql":"select 1"}' });
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).error.code).toBe('unauthenticated');
    for (const key of ['garbage', `sk_000000000000_${'A'.repeat(43)}`, `${w.keys.read.slice(0, -1)}${w.keys.read.endsWith('A') ? 'B' : 'A'}`]) {
      const { status, body } = await w.query('select 1', { key });
      expect(status, key).toBe(401);
      expect(body.error.code).toBe('unauthenticated');
    }
  });

  it('refuses an unknown caller before reading the body: 401, not 400 for the broken JSON', async () => {
    const response = await w.app.request('/v1/query', {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer nope' }, body: '{not json',
    });
    expect(response.status).toBe(401);
  });

  it('refuses a key from the request after it was revoked', async () => {
    const created = w.keyStore.create({ scope: 'read', agent: 'short-lived' });
    expect((await w.query('select 1', { key: created.key })).status).toBe(200);
    w.keyStore.revoke(created.info.id);
    const { status, body } = await w.query('select 1', { key: created.key });
    expect(status).toBe(401);
    expect(body.error.message).toMatch(/revoked/);
    // The other keys still work.
    expect((await w.query('select 1', { key: w.keys.read })).status).toBe(200);
  });
});

describe('stage 2: classify', () => {
  it('splits a multi-statement body and answers with the result of the last statement', async () => {
    const { status, body } = await w.query('select 1 as a; select 2 as b', { key: w.keys.read });
    expect(status).toBe(200);
    expect(body.columns).toEqual([{ name: 'b', type: 'INTEGER' }]);
    expect(body.rows).toEqual([[2]]);
  });

  it('runs a body that creates a table and then writes and reads it, for a write key', async () => {
    const { status, body, text } = await w.query('create table made (a int); insert into made values (1), (2); select sum(a) as s from made');
    expect(status, text).toBe(200);
    expect(body.rows).toEqual([['3']]);
    expect(await rows(w, 'select count(*) from made')).toEqual([['2']]);
  });

  it.each(['', '   ', '\n\t'])('answers 400 invalid_request to empty sql %j', async (sql) => {
    const { status, body } = await w.query(sql);
    expect(status).toBe(400);
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message).toMatch(/sql/);
  });

  // DuckDB's parser finds no statement here and @duckdb/node-api's extractStatements throws a bare
  // "Error in native callback": that must still be the client's 400, not a logged 500.
  it.each([';', '-- only a comment', '/* nothing */ ;'])('answers 400 invalid_request to sql without a statement: %j', async (sql) => {
    const { status, body } = await w.query(sql);
    expect(status).toBe(400);
    expect(body.error.code).toBe('invalid_request');
    expect(w.logged).toEqual([]);
  });

  // A PIVOT without IN list is two statements (CREATE TYPE __pivot_enum_<uuid>, then the SELECT). The SELECT
  // cannot be prepared before the type exists; the whole body then runs from one new extraction, so both
  // statements name the same generated type.
  it('runs a PIVOT whose columns come from the data, for a write key', async () => {
    await w.query("create table sales (region varchar, amount int); insert into sales values ('north', 1), ('south', 2), ('north', 3)");
    const { status, body, text } = await w.query('pivot sales on region using sum(amount)');
    expect(status, text).toBe(200);
    expect(body.columns.map((c: { name: string }) => c.name)).toEqual(['north', 'south']);
    expect(body.rows).toEqual([['4', '2']]);
  });

  it('classifies a deferred statement when its turn comes, and refuses it before anything is kept', async () => {
    const { status, body } = await w.query("create table deferred_one (a int); call pragma_table_info('deferred_one')");
    expect(status).toBe(403);
    expect(body.error.message).toMatch(/^statement 2 of 2 \(CALL\) needs a key with admin scope; this key has write scope/);
    expect(await exists(w, 'deferred_one')).toBe(false);
  });
});

describe('stage 3: authorize', () => {
  beforeAll(async () => {
    expect((await w.query('create table guarded (a int); insert into guarded values (1)')).status).toBe(200);
  });

  it('refuses a read key the whole body when a later statement writes, and changes nothing', async () => {
    const { status, body } = await w.query('select 1; insert into guarded values (2)', { key: w.keys.read });
    expect(status).toBe(403);
    expect(body.error.code).toBe('insufficient_scope');
    expect(body.error.message).toMatch(/statement 2 of 2 \(INSERT\).*nothing in the request was run/);
    expect(await rows(w, 'select a from guarded')).toEqual([[1]]);
  });

  it('refuses a read key a body that starts with a write, and creates nothing', async () => {
    const { status, body } = await w.query('create table x_read (a int); select 1', { key: w.keys.read });
    expect(status).toBe(403);
    expect(body.error.message).toMatch(/statement 1 of 2 \(CREATE\) needs a key with write scope; this key has read scope/);
    expect(await exists(w, 'x_read')).toBe(false);
  });

  // A statement that cannot be classified yet (a table another request has not committed) must not turn a read
  // key's body into a write: read keys always run READ ONLY, so nextval() cannot advance for them.
  it("never runs a read key's body outside a READ ONLY transaction", async () => {
    const race = await open({ maxConcurrentQueries: 4 });
    await race.query('create sequence seq');
    const original = (QueryPipeline.prototype as any).classify as (...args: unknown[]) => Promise<unknown>;
    let readerClassified = false;
    const spy = vi.spyOn(QueryPipeline.prototype as any, 'classify').mockImplementation(async function (this: unknown, ...args: unknown[]) {
      const classified = await original.apply(this, args);
      if ((args[1] as Principal).scope === 'read') readerClassified = true;
      return classified;
    });
    try {
      // A writer holds the write lock with `later` created but not committed: its stream is not read yet.
      const writer = await post(race, 'create table later (a int); select * from range(10)', race.keys.write, NDJSON);
      expect(writer.status).toBe(200);
      const reader = post(race, "select nextval('seq') as n; select count(*) from later", race.keys.read);
      await until(() => readerClassified, 'the read request to be classified');
      await writer.text(); // the writer commits and releases the lock
      const response = await reader;
      // 403 (nextval in a READ ONLY transaction) or 400 (later not visible yet) are both right; 200 is not.
      expect(response.status, await response.clone().text()).not.toBe(200);
    } finally {
      spy.mockRestore();
    }
    // Whatever the answer, the sequence must not have moved for the read key.
    const next = await race.query("select nextval('seq') as n");
    expect(next.body.rows).toEqual([['1']]);
  });
});

describe('stage 4: guard', () => {
  it.each([
    "select * from read_text('/etc/passwd')",
    "select * from read_csv('/etc/hosts')",
    "select * from glob('/*')",
    "select * from parquet_scan('/tmp/x.parquet')",
    "select * from '/etc/hosts.csv'",
  ])('refuses %s for every key', async (sql) => {
    for (const key of [w.keys.read, w.keys.write, w.keys.admin]) {
      const { status, body, text } = await w.query(sql, { key });
      expect(status, text).toBe(403);
      expect(body.error.code).toBe('sandbox');
      expect(body.error.message).toMatch(/POST \/v1\/tables\/\{name\}/);
      expect(text).not.toContain('root:');
    }
  });

  it.each(['begin', 'begin transaction; select 1; commit', 'select 1; commit', 'rollback'])('refuses %j for the admin key', async (sql) => {
    const { status, body } = await w.query(sql, { key: w.keys.admin });
    expect(status).toBe(403);
    expect(body.error.code).toBe('statement_refused');
    expect(body.error.message).toMatch(/TRANSACTION\)? is not allowed for any key/);
  });

  // Uploads are spooled under random names in <dataDir>/spool, which the sandbox does not allow: SQL may read
  // only the one load file per format (allowed_paths), and only while the write lock loads it. DuckDB always lets
  // SQL read its temp directory (<dataDir>/tmp), so nothing but DuckDB's own spill files goes there. Whatever the
  // statement kind (CTAS, INSERT ... SELECT, views, macros, query('...')), DuckDB's sandbox refuses the file.
  describe("another agent's upload spooled in <dataDir>/spool", () => {
    const SECRET = 'hunter2-spooled-upload';
    let spool: string;
    beforeAll(() => {
      spool = path.join(w.dataDir, 'spool');
      fs.writeFileSync(path.join(spool, 'ingest-0123456789abcdef0123456789abcdef.csv'), `password\n${SECRET}\n`);
    });

    it.each([
      ['write', 'create table loot as select * from read_text(\'SPOOL/ingest-*\'); select content from loot'],
      ['write', "insert into guarded select len(content) from read_text('SPOOL/ingest-*')"],
      ['write', "create view spool_view as select content from read_text('SPOOL/ingest-*')"],
      ['read', "select * from query('select content from read_text(''SPOOL/ingest-*'')')"],
    ])('refuses it to a %s key: %s', async (scope, template) => {
      const sql = template.replaceAll('SPOOL', spool);
      const { status, body, text } = await w.query(sql, { key: w.keys[scope as 'read' | 'write'] });
      expect(text).not.toContain(SECRET);
      expect(status, text).toBe(403);
      expect(body.error.code).toBe('sandbox');
    });

    it('gives a read key no view or macro that reads it', async () => {
      // A macro wrapping a file function is refused when it is created, for every key.
      const macro = await w.query('create macro spool_macro(p) as table select content from read_text(p)', { key: w.keys.admin });
      expect({ status: macro.status, code: macro.body.error.code }).toEqual({ status: 403, code: 'sandbox' });
      for (const sql of ['select content from spool_view', `select content from spool_macro('${spool}/ingest-0123456789abcdef0123456789abcdef.csv')`]) {
        const { text } = await w.query(sql, { key: w.keys.read });
        expect(text, sql).not.toContain(SECRET);
      }
    });
  });
});

describe('stage 5: execute', () => {
  it('refuses a read key nextval() with 403 and lets a write key advance the sequence once per call', async () => {
    await w.query('create sequence counter');
    const read = await w.query("select nextval('counter')", { key: w.keys.read });
    expect(read.status).toBe(403);
    expect(read.body.error.code).toBe('insufficient_scope');
    expect(read.body.error.message).toMatch(/writes.*needs a key with write scope; this key has read scope/);
    // In a body of two reads the first try runs READ ONLY, fails on nextval, is rolled back and runs again as a write.
    const write = await w.query("select nextval('counter') as n; select currval('counter') as c");
    expect(write.status, write.text).toBe(200);
    expect(write.body.rows).toEqual([['1']]);
    expect((await w.query("select nextval('counter') as n")).body.rows).toEqual([['2']]);
  });

  it('stops a query at SKYDUCK_QUERY_TIMEOUT with 408 query_timeout and answers the next one', async () => {
    const slow = await open({ limits: { queryTimeout: 300 } });
    const started = Date.now();
    const { status, body } = await slow.query('select count(*) from range(10000000000)', { key: slow.keys.read });
    expect(status).toBe(408);
    expect(body.error.code).toBe('query_timeout');
    expect(body.error.message).toMatch(/300ms.*SKYDUCK_QUERY_TIMEOUT/);
    expect(Date.now() - started).toBeLessThan(10_000);
    const next = await slow.query('select 42 as answer', { key: slow.keys.read });
    expect(next.status).toBe(200);
    expect(next.body.rows).toEqual([[42]]);
    expect(slow.database.pool.active).toBe(0);
  });

  // Session state (TEMP tables, views and macros, which DuckDB resolves before schema main and before built-in
  // functions, and connection PRAGMAs) must not pass from one request to the next: a connection that ran anything
  // but reads is closed, not pooled again.
  it("does not let one request's temporary objects change what the next request sees", async () => {
    const one = await open({ maxConcurrentQueries: 1 });
    expect((await one.query("create table shadowed (v varchar); insert into shadowed values ('real')")).status).toBe(200);
    // Refusing TEMP objects would do as well as dropping them: only what the next request sees is asserted.
    await one.query("create temp view shadowed as select 'fake' as v");
    await one.query("create temp macro lower(x) as 'pwned'");
    expect((await one.query('select * from shadowed', { key: one.keys.read })).body.rows).toEqual([['real']]);
    expect((await one.query("select lower('ABC') as l", { key: one.keys.admin })).body.rows).toEqual([['abc']]);
  });
});

describe('pool', () => {
  let one: TestWarehouse;
  beforeAll(async () => {
    one = await open({ maxConcurrentQueries: 1 });
  });

  it('answers 429 with Retry-After while the one connection streams, and serves again once the stream is read', async () => {
    const streaming = await post(one, 'select * from range(5000) as t(n)', one.keys.read, NDJSON);
    expect(streaming.status).toBe(200);
    expect(one.database.pool.active).toBe(1);
    const refused = await one.query('select 1', { key: one.keys.read });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('too_many_queries');
    expect(refused.headers.get('retry-after')).toBe('1');
    const lines = (await streaming.text()).trimEnd().split('\n');
    expect(lines).toHaveLength(5000);
    await until(() => one.database.pool.active === 0, 'the connection to be released');
    expect((await one.query('select 1', { key: one.keys.read })).status).toBe(200);
  });

  it('releases the connection of a stream the client cancels', async () => {
    for (const key of [one.keys.read, one.keys.write]) {
      const streaming = await post(one, 'select * from range(1000000)', key, NDJSON);
      expect(streaming.status).toBe(200);
      expect((await one.query('select 1', { key })).status).toBe(429);
      await streaming.body!.cancel();
      await until(() => one.database.pool.active === 0, 'the cancelled stream to release its connection');
      const next = await one.query('select 2 as two', { key });
      expect(next.status).toBe(200);
      expect(next.body.rows).toEqual([[2]]);
    }
  });

  it('serializes concurrent writes: 20 inserts all succeed', async () => {
    expect((await w.query('create table concurrent (n int)')).status).toBe(200);
    const results = await Promise.all(Array.from({ length: 20 }, (_, n) => w.query(`insert into concurrent values (${n})`)));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(await rows(w, 'select count(*), count(distinct n), sum(n) from concurrent')).toEqual([['20', '20', '190']]);
  });
});

describe('params', () => {
  it('binds positional values to $1 and ?', async () => {
    expect((await w.query('select $1::int + $2::int as s, $1 as first', { params: [2, 3] })).body.rows).toEqual([[5, 2]]);
    expect((await w.query('select ? || ? as s', { params: ['a', 'b'] })).body.rows).toEqual([['ab']]);
  });

  it('binds named values to $name', async () => {
    const { status, body } = await w.query('select $greeting || $name as s', { params: { greeting: 'hi ', name: 'duck' } });
    expect(status).toBe(200);
    expect(body.rows).toEqual([['hi duck']]);
  });

  it('binds values, never SQL text', async () => {
    const { body } = await w.query('select $1 as v', { params: ["'); drop table concurrent; --"] });
    expect(body.rows).toEqual([["'); drop table concurrent; --"]]);
    expect(await exists(w, 'concurrent')).toBe(true);
  });

  it('answers 400 invalid_params naming both counts when the number of values is wrong', async () => {
    const few = await w.query('select $1 + $2', { params: [1] });
    expect(few.status).toBe(400);
    expect(few.body.error.code).toBe('invalid_params');
    expect(few.body.error.message).toBe('the statement has 2 parameters and params has 1 value');
    const many = await w.query('select $1', { params: [1, 2, 3] });
    expect(many.body.error.message).toBe('the statement has 1 parameter and params has 3 values');
  });

  it('answers 400 invalid_params naming an unknown name and a missing one', async () => {
    const unknown = await w.query('select $a', { params: { a: 1, typo: 2 } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('invalid_params');
    expect(unknown.body.error.message).toMatch(/typo/);
    const missing = await w.query('select $a + $b', { params: { a: 1 } });
    expect(missing.body.error.message).toMatch(/lack \$b/);
    expect(missing.body.error.message).toMatch(/\$a, \$b/);
  });

  it('answers 400 to params with a body of two statements', async () => {
    const { status, body } = await w.query('select $1; select 2', { params: [1] });
    expect(status).toBe(400);
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message).toMatch(/holds 2/);
  });

  // @duckdb/node-api binds a JS number that is an integer as INTEGER/BIGINT; every double of 2^63 and more is one,
  // so bind() gives such numbers the DOUBLE type itself.
  it('binds a JSON number beyond the 64-bit integer range as a DOUBLE', async () => {
    const { status, body, text } = await w.query('select $1::DOUBLE as big, $2::DOUBLE as huge, $3 as plain', { params: [1e20, 1e308, 1e20] });
    expect(status, text).toBe(200);
    expect(body.rows).toEqual([[1e20, 1e308, 1e20]]);
  });

  it('answers 400 invalid_params to a value DuckDB cannot bind', async () => {
    const { status, body } = await w.query('select $1', { params: [[1, 2]] });
    expect(status).toBe(400);
    expect(body.error.code).toBe('invalid_params');
  });
});

describe('stage 6: encode', () => {
  it('cuts JSON at SKYDUCK_MAX_RESULT_ROWS and says so', async () => {
    const capped = await open({ limits: { maxResultRows: 10 } });
    const over = await capped.query('select range as n from range(100)', { key: capped.keys.read });
    expect(over.status).toBe(200);
    expect(over.body.rows).toEqual(Array.from({ length: 10 }, (_, n) => [String(n)]));
    expect(over.body.row_count).toBe(10);
    expect(over.body.truncated).toBe(true);
    const exact = await capped.query('select range as n from range(10)', { key: capped.keys.read });
    expect(exact.body.row_count).toBe(10);
    expect(exact.body.truncated).toBe(false);
    // Past two of DuckDB's chunks too.
    const big = await capped.query('select range as n from range(5000)', { key: capped.keys.read });
    expect(big.body.row_count).toBe(10);
    expect(big.body.truncated).toBe(true);
  });

  it('cuts JSON at SKYDUCK_MAX_RESULT_BYTES, keeping whole rows in order', async () => {
    const capped = await open({ limits: { maxResultBytes: 1000 } });
    const { status, body } = await capped.query("select range::int as n, 'xxxxxxxxxx' as pad from range(100)", { key: capped.keys.read });
    expect(status).toBe(200);
    expect(body.truncated).toBe(true);
    expect(body.rows.length).toBeGreaterThan(10);
    expect(body.rows.length).toBeLessThan(100);
    expect(JSON.stringify(body.rows).length).toBeLessThanOrEqual(1001);
    expect(body.rows).toEqual(Array.from({ length: body.rows.length }, (_, n) => [n, 'xxxxxxxxxx']));
  });

  it('streams NDJSON: one object per line, duplicate column names made unique', async () => {
    const response = await post(w, 'select range as a, range * 2 as a, -1 as b from range(3)', w.keys.read, NDJSON);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    const text = await response.text();
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trimEnd().split('\n').map((line) => JSON.parse(line))).toEqual([
      { a: '0', a_1: '0', b: -1 },
      { a: '1', a_1: '2', b: -1 },
      { a: '2', a_1: '4', b: -1 },
    ]);
    const clash = await w.query('select 1 as a, 2 as a, 3 as a_1', { accept: NDJSON });
    const object = JSON.parse(clash.text);
    expect(Object.keys(object)).toHaveLength(3);
    expect(Object.values(object).sort()).toEqual([1, 2, 3]);
  });

  it('streams CSV: a header, RFC 4180 quoting of commas, quotes and line breaks, NULL as an empty field', async () => {
    const response = await post(w, `select * from (values
      (1, 'plain', 'a,b', 'say "hi"', 'two\nlines', NULL),
      (2, '', ' padded ', 'x', 'y', 'z')) as t(id, s, comma, quote, newline, nothing)`, w.keys.read, CSV);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(await response.text()).toBe(
      'id,s,comma,quote,newline,nothing\r\n' +
      '1,plain,"a,b","say ""hi""","two\nlines",\r\n' +
      '2,," padded ",x,y,z\r\n',
    );
    const empty = await w.query('select 1 as a, 2 as b where false', { accept: CSV });
    expect(empty.text).toBe('a,b\r\n');
  });

  // @duckdb/node-api's fetchChunk() returns an empty chunk, not an error, when a streaming result fails after its
  // first chunks (the C API's duckdb_result_error is not read). A stream's end is therefore confirmed against the
  // transaction, which DuckDB has aborted after a failure; buffered JSON reads a materialized result, which throws.
  const LATE_FAILURE = "select case when range < 999990 then range else error('boom') end as v from range(1000000)";

  it('ends an NDJSON stream that fails midway with an {"error": ...} line', async () => {
    const response = await post(w, LATE_FAILURE, w.keys.read, NDJSON);
    expect(response.status).toBe(200); // DuckDB fails after the first chunks were sent
    const lines = (await response.text()).trimEnd().split('\n');
    expect(lines.length).toBeLessThan(1_000_001);
    expect(JSON.parse(lines[0]!)).toEqual({ v: '0' });
    const last = JSON.parse(lines.at(-1)!);
    // DuckDB's binding does not give a stream's error message (only that the query failed): the line says so.
    expect(last).toEqual({ error: { code: 'query_error', message: expect.stringMatching(/failed while its rows were being streamed.*application\/json/) } });
  });

  it('answers an error, not a short 200, when a buffered JSON result fails midway', async () => {
    const roomy = await open({ limits: { maxResultRows: 2_000_000 } });
    const { status, body } = await roomy.query(LATE_FAILURE, { key: roomy.keys.read });
    expect({ status, code: body?.error?.code, truncated: body?.truncated, rows: body?.row_count })
      .toEqual({ status: 400, code: 'query_error', truncated: undefined, rows: undefined });
  });
});

describe('stage 7: audit', () => {
  it('records each request with agent, key, statement types and outcome, for admin keys only', async () => {
    const marker = await w.query('create table audited (a int)');
    expect(marker.status).toBe(200);
    await w.query('insert into audited values (1)', { key: w.keys.read }); // 403
    await w.query('select * from audited; select 1', { key: w.keys.read }); // ok
    await w.query('select * from nowhere', { key: w.keys.read }); // 400

    const response = await w.app.request('/v1/audit?limit=10000', { headers: { authorization: `Bearer ${w.keys.admin}` } });
    expect(response.status).toBe(200);
    const { rows: ledger } = (await response.json()) as { rows: Record<string, unknown>[] };
    const tail = ledger.slice(-4).map(({ agent, keyId: id, statementType, outcome }) => ({ agent, keyId: id, statementType, outcome }));
    expect(tail).toEqual([
      { agent: 'writer', keyId: keyId(w.keys.write), statementType: 'CREATE', outcome: 'ok' },
      { agent: 'reader', keyId: keyId(w.keys.read), statementType: 'INSERT', outcome: 'insufficient_scope' },
      { agent: 'reader', keyId: keyId(w.keys.read), statementType: 'SELECT,SELECT', outcome: 'ok' },
      { agent: 'reader', keyId: keyId(w.keys.read), statementType: expect.any(String), outcome: 'query_error' },
    ]);
    for (const row of ledger) {
      expect(row.fingerprint).toMatch(/^[0-9a-f]{16}$/);
      expect(JSON.stringify(row)).not.toContain('audited values');
    }
    const seqs = ledger.map((row) => row.seq as number);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));

    const verify = await w.app.request('/v1/audit/verify', { headers: { authorization: `Bearer ${w.keys.admin}` } });
    expect(verify.status).toBe(200);
    expect(await verify.json()).toEqual({ ok: true, rows: ledger.length });
  });

  it('filters by agent', async () => {
    const response = await w.app.request('/v1/audit?agent=reader&limit=10000', { headers: { authorization: `Bearer ${w.keys.admin}` } });
    const { rows: ledger } = (await response.json()) as { rows: Record<string, unknown>[] };
    expect(ledger.length).toBeGreaterThan(3);
    expect(new Set(ledger.map((row) => row.agent))).toEqual(new Set(['reader']));
  });

  it('answers 403 to read and write keys on /v1/audit and /v1/audit/verify', async () => {
    for (const key of [w.keys.read, w.keys.write]) {
      for (const route of ['/v1/audit', '/v1/audit/verify']) {
        const response = await w.app.request(route, { headers: { authorization: `Bearer ${key}` } });
        expect(response.status, route).toBe(403);
        expect(((await response.json()) as any).error.code).toBe('insufficient_scope');
      }
    }
  });
});

describe('tables through the app', () => {
  let t: TestWarehouse;
  beforeAll(async () => {
    t = await open({ limits: { maxIngestBytes: 200 } });
  });

  const upload = (name: string, body: BodyInit, type = 'text/csv', options: { key?: string; query?: string; headers?: Record<string, string> } = {}) =>
    t.app.request(`/v1/tables/${name}${options.query ?? ''}`, {
      method: 'POST',
      headers: { 'content-type': type, authorization: `Bearer ${options.key ?? t.keys.write}`, ...options.headers },
      body,
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);
  const get = (route: string, key = t.keys.read) => t.app.request(route, { headers: { authorization: `Bearer ${key}` } });
  const spooled = () => fs.readdirSync(path.join(t.dataDir, 'tmp')).filter((name) => name.startsWith('ingest-'));

  it('creates a table from CSV, appends to it, and replaces it with ?mode=replace', async () => {
    const created = await upload('people', 'id,name\n1,ann\n2,bob\n');
    expect(created.status).toBe(200);
    expect(await created.json()).toEqual({ table: 'people', created: true, rows_added: 2, rows_total: 2 });
    const appended = await upload('people', 'id,name\n3,cy\n');
    expect(await appended.json()).toEqual({ table: 'people', created: false, rows_added: 1, rows_total: 3 });
    const replaced = await upload('people', 'id,name\n9,zed\n', 'text/csv', { query: '?mode=replace' });
    expect(await replaced.json()).toEqual({ table: 'people', created: false, rows_added: 1, rows_total: 1 });
    expect(await rows(t, 'select id, name from people')).toEqual([['9', 'zed']]);
  });

  it('loads NDJSON and a JSON array', async () => {
    expect(await (await upload('events', '{"id":1,"kind":"a"}\n{"id":2,"kind":"b"}\n', 'application/x-ndjson')).json())
      .toEqual({ table: 'events', created: true, rows_added: 2, rows_total: 2 });
    expect(await (await upload('events', '[{"id":3,"kind":"c"}]', 'application/json')).json())
      .toEqual({ table: 'events', created: false, rows_added: 1, rows_total: 3 });
    expect(await rows(t, 'select id, kind from events order by id')).toEqual([['1', 'a'], ['2', 'b'], ['3', 'c']]);
  });

  it('lists the tables and describes one with its exact row count', async () => {
    const list = await get('/v1/tables');
    expect(list.status).toBe(200);
    const { tables } = (await list.json()) as { tables: { name: string; column_count: number }[] };
    expect(tables.map((table) => table.name)).toEqual(expect.arrayContaining(['events', 'people']));
    expect(tables.find((table) => table.name === 'events')!.column_count).toBe(2);
    const described = await get('/v1/tables/events');
    expect(described.status).toBe(200);
    expect(await described.json()).toEqual({
      schema: 'main', name: 'events', row_count: 3,
      columns: [{ name: 'id', type: 'BIGINT', nullable: true }, { name: 'kind', type: 'VARCHAR', nullable: true }],
    });
    expect((await get('/v1/tables/nothing_here')).status).toBe(404);
  });

  it('answers 422 naming the line of a bad CSV row, and leaves the table as it was', async () => {
    const response = await upload('people', 'id,name\n10,ok\n11,too,many\n');
    expect(response.status).toBe(422);
    const { error } = (await response.json()) as any;
    expect(error.code).toBe('invalid_csv');
    expect(error.message).toMatch(/CSV line 3/);
    expect(await rows(t, 'select id, name from people')).toEqual([['9', 'zed']]);
    expect(spooled()).toEqual([]);
  });

  it('answers 400 invalid_table_name to a path as a name, before reading the body', async () => {
    for (const name of ['..%2F..%2Fetc', '..%2Fkeys', 'a%20b', '1abc']) {
      const response = await upload(name, 'a\n1\n');
      expect(response.status, name).toBe(400);
      expect(((await response.json()) as any).error.code).toBe('invalid_table_name');
      expect((await get(`/v1/tables/${name}`)).status, name).toBe(400);
    }
    expect(spooled()).toEqual([]);
  });

  it('answers 403 to a read key, spooling nothing', async () => {
    const response = await upload('people', 'id,name\n5,eve\n', 'text/csv', { key: t.keys.read });
    expect(response.status).toBe(403);
    expect(((await response.json()) as any).error.code).toBe('insufficient_scope');
    expect(spooled()).toEqual([]);
    expect(await rows(t, 'select count(*) from people')).toEqual([['1']]);
  });

  it('answers 413 to a body over SKYDUCK_MAX_INGEST_BYTES, by Content-Length or while streaming, leaving no spool file', async () => {
    const big = `id\n${'1\n'.repeat(200)}`;
    const declared = await upload('huge', big, 'text/csv', { headers: { 'content-length': String(big.length) } });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as any).error.code).toBe('payload_too_large');
    const undeclared = await upload('huge', new ReadableStream({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode('1\n'.repeat(50)));
      },
    }));
    expect(undeclared.status).toBe(413);
    expect(((await undeclared.json()) as any).error.message).toMatch(/SKYDUCK_MAX_INGEST_BYTES/);
    expect(spooled()).toEqual([]);
    expect((await get('/v1/tables/huge')).status).toBe(404);
  });

  it('answers 415 to a content type it cannot load', async () => {
    const response = await upload('people', 'id,name\n1,x\n', 'text/plain');
    expect(response.status).toBe(415);
    expect(((await response.json()) as any).error.message).toMatch(/text\/csv/);
  });
});
