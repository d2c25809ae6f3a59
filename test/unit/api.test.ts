// The HTTP API on a real warehouse from source (DuckDB, ledger, key store), no executable involved.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { createLogger } from '../../src/log.ts';
import { openTestWarehouse, type TestWarehouse } from '../support/warehouse.ts';

let w: TestWarehouse;
beforeAll(async () => {
  w = await openTestWarehouse({ maxBodyBytes: 64 * 1024 });
});
afterAll(() => w.close());

const post = (body: string, type = 'application/json', key = w.keys.write) =>
  w.app.request('/v1/query', { method: 'POST', headers: { 'content-type': type, authorization: `Bearer ${key}` }, body });

describe('HTTP API', () => {
  it('answers select 42 with columns, rows, row_count, execution time and truncated', async () => {
    const { status, body } = await w.query('select 42');
    expect(status).toBe(200);
    expect(body).toMatchObject({ columns: [{ name: '42', type: 'INTEGER' }], rows: [[42]], row_count: 1, truncated: false });
    expect(body.execution_time_ms).toBeGreaterThanOrEqual(0);
  });

  it.each([
    ['not json', 'application/json', 400, 'invalid_json'],
    ['{"sql": ""}', 'application/json', 400, 'invalid_request'],
    ['{"query": "select 1"}', 'application/json', 400, 'invalid_request'],
    ['{"sql": 42}', 'application/json', 400, 'invalid_request'],
    ['{"sql": "select 1", "params": 5}', 'application/json', 400, 'invalid_request'],
    ['{"sql": "select 1"}', 'text/plain', 415, 'unsupported_media_type'],
    ['{"sql": "select * from no_such_table"}', 'application/json', 400, 'query_error'],
  ])('refuses %j (%s) with %i %s', async (body, type, status, code) => {
    const response = await post(body, type);
    expect(response.status).toBe(status);
    const json: any = await response.json();
    expect(json.error.code).toBe(code);
    expect(json.error.message.length).toBeGreaterThan(5);
  });

  it('names the missing field and shows the expected shape', async () => {
    const json: any = await (await post('{"query": "select 1"}')).json();
    expect(json.error.message).toMatch(/sql/);
    expect(json.error.message).toContain('{"sql": "select 42"');
  });

  it("gives DuckDB's message and the position of a syntax error", async () => {
    const { status, body } = await w.query('select 1 from from');
    expect(status).toBe(400);
    expect(body.error.message).toMatch(/syntax error at or near "from"/);
    expect(body.error.position).toEqual({ line: 1, column: 15 });
  });

  it('refuses a body over SKYDUCK_MAX_BODY_BYTES with 413 and stays up', async () => {
    const response = await post(JSON.stringify({ sql: `select '${'x'.repeat(100_000)}'` }));
    expect(response.status).toBe(413);
    expect(((await response.json()) as any).error.code).toBe('payload_too_large');
    expect((await w.query('select 1')).status).toBe(200);
  });

  it('answers 401 without a key or with a wrong one, and 403 for a scope the key lacks', async () => {
    const none = await w.app.request('/v1/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sql":"select 1"}' });
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).error.message).toMatch(/Bearer/);
    expect((await w.query('select 1', { key: 'sk_000000000000_nope' })).status).toBe(401);
    expect((await w.query('select 1', { key: 'garbage' })).status).toBe(401);
    const refused = await w.query('create table nope (a int)', { key: w.keys.read });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('insufficient_scope');
  });

  it('refuses Accept types it cannot produce with 406, naming the ones it can', async () => {
    const { status, body } = await w.query('select 1', { accept: 'application/vnd.apache.arrow.stream' });
    expect(status).toBe(406);
    expect(body.error.message).toMatch(/application\/x-ndjson/);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const response = await w.app.request('/v1/nope');
    expect(response.status).toBe(404);
    expect(((await response.json()) as any).error.code).toBe('not_found');
  });

  it('serves the OpenAPI document made from the request schemas, and a docs page', async () => {
    const doc: any = await (await w.app.request('/v1/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/query', '/v1/tables', '/v1/tables/{name}', '/v1/audit']));
    expect(doc.components.schemas.QueryRequest.required).toEqual(['sql']);
    const docs = await w.app.request('/docs');
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('/v1/openapi.json');
  });

  it('shows the cloud identity in /v1/info to admin keys only', async () => {
    const anonymous: any = await (await w.app.request('/v1/info')).json();
    expect(anonymous.identity).toBeUndefined();
    const reader: any = await (await w.app.request('/v1/info', { headers: { authorization: `Bearer ${w.keys.read}` } })).json();
    expect(reader.identity).toBeUndefined();
    const admin: any = await (await w.app.request('/v1/info', { headers: { authorization: `Bearer ${w.keys.admin}` } })).json();
    expect(admin.identity).toEqual({ principal: 'tester', source: 'test' });
  });

  it('hides unexpected errors behind a generic 500 and logs them', async () => {
    const logged: unknown[] = [];
    const failing = createApp({
      warehouse: { ...w.warehouse, query: () => Promise.reject(new Error('secret detail at /srv/x')) } as never,
      authenticate: () => ({ keyId: 'k', agent: 'a', scope: 'admin' }),
      info: () => ({}),
      limits: { maxBodyBytes: 1024, maxIngestBytes: 1024 },
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
    ["select * from read_text('/etc/passwd')", 'sandbox'],
    ["select * from read_csv('/etc/hosts')", 'sandbox'],
    ["select * from '/etc/passwd'", 'query_error'], // no file extension: a table name, which does not exist
    ["insert into t_missing select * from read_text('/etc/passwd')", 'query_error'],
    ['INSTALL httpfs', 'statement_refused'],
    ['LOAD httpfs', 'statement_refused'],
    ["ATTACH '/tmp/other.duckdb' AS other", 'statement_refused'],
    ["COPY (select 1) TO '/tmp/skyduck-leak.csv'", 'sandbox'],
    ['SET enable_external_access = true', 'statement_refused'],
    ['RESET lock_configuration', 'statement_refused'],
  ])('refuses %s for an admin key', async (sql, code) => {
    const { status, body } = await w.query(sql, { key: w.keys.admin });
    expect(status).toBe(code === 'query_error' ? 400 : 403);
    expect(body.error.code).toBe(code);
    expect(JSON.stringify(body)).not.toContain('root:');
  });

  it('still creates, writes and reads tables in its own database', async () => {
    for (const sql of ['create table sandboxed as select range as n from range(3)', 'insert into sandboxed values (3)']) {
      expect((await w.query(sql)).status).toBe(200);
    }
    expect((await w.query('select count(*) as c from sandboxed')).body.rows).toEqual([['4']]);
  });
});

describe('headers, request ids, CORS and logs', () => {
  it('sends a request id (kept when the client offered a plain one) and headers that stop sniffing, framing and caching', async () => {
    const response = await w.app.request('/v1/health');
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const mine = await w.app.request('/v1/health', { headers: { 'x-request-id': 'trace-42' } });
    expect(mine.headers.get('x-request-id')).toBe('trace-42');
    const hostile = await w.app.request('/v1/health', { headers: { 'x-request-id': 'a b<script>"' } });
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('puts the request id in error bodies', async () => {
    const response = await w.app.request('/v1/query', { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'req-7' }, body: '{}' });
    expect(((await response.json()) as any).error).toMatchObject({ code: 'unauthenticated', request_id: 'req-7' });
  });

  it('answers no CORS preflight unless SKYDUCK_CORS_ORIGINS allows the origin', async () => {
    const preflight = { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } };
    expect((await w.app.request('/v1/query', preflight)).headers.get('access-control-allow-origin')).toBeNull();
    const lines: string[] = [];
    const allowed = createApp({
      warehouse: w.warehouse, authenticate: () => ({ keyId: 'k', agent: 'a', scope: 'read' }), info: () => ({}),
      limits: { maxBodyBytes: 1024, maxIngestBytes: 1024 }, corsOrigins: ['https://app.example.com'],
      log: createLogger('debug', (line) => lines.push(line)), logError: () => undefined,
    });
    expect((await allowed.request('/v1/query', preflight)).headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    const other = { ...preflight, headers: { ...preflight.headers, origin: 'https://evil.example' } };
    expect((await allowed.request('/v1/query', other)).headers.get('access-control-allow-origin')).not.toBe('https://evil.example');
    await allowed.request('/v1/health', { headers: { 'x-request-id': 'logged-1' } });
    const line = lines.map((text) => JSON.parse(text)).find((entry) => entry.request_id === 'logged-1');
    expect(line).toMatchObject({ level: 'debug', event: 'request', method: 'GET', path: '/v1/health', status: 200 });
    expect(typeof line.ts).toBe('string');
  });
});
