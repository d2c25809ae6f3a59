// The HTTP API on a real DuckDB database (from source, no executable involved).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { Database } from '../../src/engine/database.ts';
import { tempDir } from '../support/process.ts';

let database: Database;
const logged: unknown[] = [];
beforeAll(async () => {
  database = await Database.open(tempDir('api'));
});
afterAll(() => database.close());

function app() {
  return createApp({ engine: database, info: () => ({ variant: 'test' }), logError: (error) => logged.push(error) });
}

const post = (body: string, type = 'application/json') =>
  app().request('/v1/query', { method: 'POST', headers: { 'content-type': type }, body });

describe('HTTP API', () => {
  it('answers select 42 with columns, rows, row_count and execution time', async () => {
    const response = await post(JSON.stringify({ sql: 'select 42' }));
    expect(response.status).toBe(200);
    const body: any = await response.json();
    expect(body).toMatchObject({ columns: [{ name: '42', type: 'INTEGER' }], rows: [[42]], row_count: 1 });
    expect(body.execution_time_ms).toBeGreaterThanOrEqual(0);
  });

  it('encodes BIGINT, DECIMAL, dates, lists and structs without loss', async () => {
    const response = await post(JSON.stringify({
      sql: "select 9007199254740993::bigint b, 1.10::decimal(5,2) d, date '2026-11-26' dt, [1,2] l, {'a': 1} s",
    }));
    const body: any = await response.json();
    expect(body.columns.map((c: { type: string }) => c.type)).toEqual(['BIGINT', 'DECIMAL(5,2)', 'DATE', 'INTEGER[]', 'STRUCT("a" INTEGER)']);
    expect(body.rows).toEqual([['9007199254740993', '1.10', '2026-11-26', [1, 2], { a: 1 }]]);
  });

  it.each([
    ['not json', 'application/json', 400, 'invalid_json'],
    ['{"sql": ""}', 'application/json', 400, 'invalid_request'],
    ['{"query": "select 1"}', 'application/json', 400, 'invalid_request'],
    ['{"sql": "select 1"}', 'text/plain', 415, 'unsupported_media_type'],
    ['{"sql": "select * from no_such_table"}', 'application/json', 400, 'query_error'],
  ])('refuses %j (%s) with %i %s', async (body, type, status, code) => {
    const response = await post(body, type);
    expect(response.status).toBe(status);
    const json: any = await response.json();
    expect(json.error.code).toBe(code);
    expect(json.error.message.length).toBeGreaterThan(5);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const response = await app().request('/v1/nope');
    expect(response.status).toBe(404);
    expect(((await response.json()) as any).error.code).toBe("not_found");
  });

  it('hides unexpected errors behind a generic 500 and logs them', async () => {
    const failing = createApp({
      engine: { query: () => Promise.reject(new Error('secret detail at /srv/x')) },
      info: () => ({}),
      logError: (error) => logged.push(error),
    });
    const response = await failing.request('/v1/query', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sql":"select 1"}',
    });
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain('secret detail');
    expect(JSON.parse(text).error.code).toBe('internal');
    expect(String(logged.at(-1))).toContain('secret detail');
  });
});

describe('sandbox', () => {
  it.each([
    ["select * from read_text('/etc/passwd')", /Permission Error|disabled/i],
    ["select * from read_csv('/etc/hosts')", /Permission Error|disabled/i],
    ['INSTALL httpfs', /Permission Error|disabled|not/i],
    ["ATTACH '/tmp/other.duckdb' AS other", /Permission Error|disabled/i],
    ["COPY (select 1) TO '/tmp/skyduck-leak.csv'", /Permission Error|disabled/i],
    ['SET enable_external_access = true', /lock|configuration/i],
    ['RESET lock_configuration', /lock|configuration/i],
  ])('refuses %s', async (sql, message) => {
    const response = await post(JSON.stringify({ sql }));
    expect(response.status).toBe(400);
    const body: any = await response.json();
    expect(body.error.code).toBe('query_error');
    expect(body.error.message).toMatch(message);
  });

  it('still creates, writes and reads tables in its own database', async () => {
    for (const sql of ['create table sandboxed as select range as n from range(3)', 'insert into sandboxed values (3)']) {
      expect((await post(JSON.stringify({ sql }))).status).toBe(200);
    }
    const body: any = await (await post(JSON.stringify({ sql: 'select count(*) as c from sandboxed' }))).json();
    expect(body.rows).toEqual([['4']]);
  });
});
