// Hostile input, everywhere skyduck takes some: HTTP bodies, headers and paths, configuration values,
// table names, blob keys, envelope bytes, SQL that tries to leave the sandbox, and slow clients. Property
// tests run with one fixed fast-check seed (HOSTILE_SEED replays another; a failure prints it) and a
// bounded number of runs; fixed tables cover the shapes a generator would rarely hit. The number of
// hostile inputs tried is printed and written to bench/results/hostile.json.
//
// The bugs this suite found are fixed; their tests stay, each comment says what the bug was.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/agent/memory.ts';
import { createApp } from '../../src/api/app.ts';
import { CloudError, ConfigError } from '../../src/cloud/errors.ts';
import { LocalKeyManager } from '../../src/cloud/local/keys.ts';
import { LocalBlobStorage } from '../../src/cloud/local/storage.ts';
import { loadConfig } from '../../src/config/config.ts';
import { SETTINGS } from '../../src/config/settings.ts';
import { EnvelopeError } from '../../src/crypto/data-keys.ts';
import { Envelope, keyUriOf } from '../../src/crypto/envelope.ts';
import { authenticate } from '../../src/engine/authenticate.ts';
import { EngineError } from '../../src/engine/errors.ts';
import { validateTableName } from '../../src/engine/tables.ts';
import { SCOPES, type Scope } from '../../src/engine/types.ts';
import {
  checkProperty, expectClean, percentEncode, rawBody, rawHeaders, rawHttp, type RawAnswer, SEED, STACK, Tally, walk,
} from '../support/hostile.ts';
import { isolate, root, type Running, serve, tempDir, terminate, until } from '../support/process.ts';
import { openTestWarehouse, type TestWarehouse } from '../support/warehouse.ts';

const tally = new Tally();

afterAll(() => {
  const result = { seed: SEED, total: tally.total, areas: tally.areas, bugs_observed: tally.bugs, at: new Date().toISOString() };
  console.log(`[hostile] ${tally.total} hostile inputs tried (seed ${SEED}): ${JSON.stringify(tally.areas)}`);
  for (const bug of tally.bugs) console.log(`[hostile] bug observed: ${bug}`);
  fs.mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench', 'results', 'hostile.json'), `${JSON.stringify(result, null, 2)}\n`);
});

/** A plain identifier, decided character by character (the oracle for validateTableName's regex). */
function isIdentifier(name: string): boolean {
  if (name.length < 1 || name.length > 63) return false;
  const letter = (c: string) => (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c === '_';
  return [...name].every((c, i) => letter(c) || (i > 0 && c >= '0' && c <= '9')) && [...name].length === name.length;
}

/** Path traversal and lookalike shapes: each must be refused as a table name, encoded or not. */
const TRAVERSAL = [
  '..', '.', '../etc/passwd', '../../../../etc/shadow', '..%2f..%2fetc', '%2e%2e', '%2e%2e%2f', '%252e%252e', '..\\..\\x', '\\', 'a\\b',
  'a\u0000b', '\u0000', '/etc/passwd', '//etc', 'C:\\Windows', 'C:', '\u2024\u2024', '\uff0e\uff0e', '\u2025', '\uff0f', '%c0%ae%c0%ae',
  'x/../y', '....//', 'main.t', 'system.main.audit_log', '"t"', "t'", 't;drop table t', ' t', 't ', 'T\u0130', '\ud800', 'ｔ', 'ſ', '\u212a', // a fullwidth t, a long s, the Kelvin sign
  'x'.repeat(64), '1abc', '$t', 't\n', 'spool', '_', '__', 'A'.repeat(63),
];

// ---------------------------------------------------------------------------------------------------
describe('HTTP API bodies: arbitrary JSON, strings and bytes under any content type', () => {
  let w: TestWarehouse;
  let memory: MemoryStore;
  let app: ReturnType<typeof createApp>;
  const logged: unknown[] = [];

  beforeAll(async () => {
    w = await openTestWarehouse();
    memory = await MemoryStore.open(w.system);
    // The test warehouse's app, plus agent memory so /v1/memory reaches its store instead of a 503.
    app = createApp({
      warehouse: w.warehouse,
      authenticate: (token) => authenticate(token, (candidate) => w.keyStore.authenticate(candidate)),
      info: () => ({ version: '0.0.0' }),
      identity: async () => ({ principal: 'tester' }),
      memory: {
        store: (principal, input) => memory.store(principal, input as never),
        search: (principal, options) => memory.search(principal, options as never),
        list: (principal, options) => memory.list(principal, options as never),
      },
      limits: { maxBodyBytes: 64 * 1024, maxIngestBytes: 1024 * 1024 },
      logError: (error) => logged.push(error),
    });
  });
  afterAll(async () => {
    memory?.close();
    await w?.close();
  });

  const CONTENT_TYPES = [
    undefined, 'application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'APPLICATION/JSON',
    'application/json, text/csv', 'application/jsonp', 'application/vnd.api+json', 'text/csv', 'text/csv; header=present',
    'application/x-ndjson', 'application/vnd.apache.parquet', 'application/octet-stream', 'text/plain', 'multipart/form-data; boundary=--x',
    'application/x-www-form-urlencoded', '*/*', ';', 'application/json;;;', 'application/json; charset=', 'image/png', 'application/json; q=0',
  ];
  const ACCEPTS = [undefined, 'application/json', 'application/x-ndjson', 'text/csv', '*/*', 'text/html', 'application/json;q=0, text/csv;q=0.1'];
  const PARAM_SQL = [
    'select $1', 'select ?', 'select $1::int', 'select $a', 'select $a::varchar, $b::double', 'select $1::json', 'select $1::date',
    'select $1::blob', 'select [$1]', "select {'k': $1}", 'select $1::int[]', 'select $1::struct(a int)', 'select $1::map(varchar, int)',
    'select $1::uuid', 'select $1::hugeint', 'select $1::decimal(38, 10)', 'select $1::timestamptz', 'select $1::interval',
    'select $1::bit', 'select $1::union(a int, b varchar)', 'select $1, $2', 'select 1; select 2', 'select 1 -- $1',
  ];
  const json = fc.jsonValue({ maxDepth: 3 });
  const queryShaped = fc.record({
    sql: fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom(...PARAM_SQL)),
    params: fc.oneof(
      { weight: 2, arbitrary: fc.constant(undefined) },
      { weight: 4, arbitrary: fc.array(json, { maxLength: 3 }) },
      { weight: 2, arbitrary: fc.dictionary(fc.constantFrom('a', 'b', '1', 'x', '__proto__', 'constructor', ''), json, { maxKeys: 3 }) },
      { weight: 1, arbitrary: json },
    ),
    // Mostly none: QueryBody is strict, so an extra field is refused before the SQL is looked at.
    extra: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: json }),
  }).map(({ sql, params, extra }) => JSON.stringify({ sql, ...(params === undefined ? {} : { params }), ...(extra === null ? {} : { extra }) }));
  const memoryShaped = fc.record({
    content: fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), json),
    memory_type: fc.oneof(fc.constantFrom('fact', 'observation', 'instruction', 'preference', 'episode'), fc.string({ maxLength: 12 }), json),
    metadata: fc.oneof(fc.constant(undefined), fc.dictionary(fc.string({ maxLength: 8 }), json, { maxKeys: 4 }), json),
    importance: fc.oneof(fc.constant(undefined), fc.double(), fc.double({ min: 0, max: 1 }), json),
  }, { requiredKeys: [] }).map((value) => JSON.stringify(value));
  const csvish = fc.array(fc.array(fc.string({ unit: 'binary', maxLength: 8 }), { minLength: 1, maxLength: 4 }), { maxLength: 6 })
    .map((rows) => rows.map((row) => row.join(',')).join('\n'));
  const bodyArb = fc.oneof(
    { weight: 3, arbitrary: json.map((value) => JSON.stringify(value)) },
    { weight: 3, arbitrary: queryShaped },
    { weight: 2, arbitrary: memoryShaped },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 600 }) },
    { weight: 1, arbitrary: csvish },
    { weight: 1, arbitrary: queryShaped.map((text) => text.slice(0, Math.floor(text.length / 2))) },
  );
  const routeArb = fc.oneof(
    { weight: 3, arbitrary: fc.constant('/v1/query') },
    { weight: 2, arbitrary: fc.constant('/v1/memory') },
    {
      weight: 3,
      arbitrary: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constantFrom('', '?mode=replace', '?format=csv', '?format=json', '?format=parquet', '?format=xml', '?mode=bogus', '?mode=replace&format=json&mode=append'))
        .map(([n, query]) => `/v1/tables/hx${n}${query}`),
    },
  );

  it('never answers 5xx, always {error: {code, message}} for 4xx, no stack, and keeps answering select 1', async () => {
    const statuses: Record<string, number> = {};
    await checkProperty('http bodies', fc.asyncProperty(
      routeArb, bodyArb,
      // Half the time a type the route reads, so that bodies get past the content-type check.
      fc.oneof({ weight: 4, arbitrary: fc.constantFrom('application/json', 'application/json', 'text/csv', 'application/x-ndjson') }, { weight: 4, arbitrary: fc.constantFrom(...CONTENT_TYPES) }),
      fc.constantFrom(...ACCEPTS), fc.constantFrom(...SCOPES),
      async (route, body, contentType, accept, scope) => {
        tally.add('http bodies');
        const headers: Record<string, string> = { authorization: `Bearer ${w.keys[scope]}` };
        if (contentType !== undefined) headers['content-type'] = contentType;
        if (accept !== undefined) headers.accept = accept;
        const response = await app.request(route, { method: 'POST', headers, body: body as BodyInit });
        expectClean({ status: response.status, headers: response.headers, text: await response.text() }, `POST ${route} ${contentType} ${JSON.stringify(body).slice(0, 200)}`);
        const key = `${route.split('?')[0]!.replace(/hx\d$/, 'hx*')} ${response.status}`;
        statuses[key] = (statuses[key] ?? 0) + 1;
      }), 700);
    console.log(`[hostile] http bodies: answers by route and status ${JSON.stringify(statuses)}`);
    expect(logged, 'unexpected errors logged').toEqual([]);
    const { status, body } = await w.query('select 1 as one', { key: w.keys.read });
    expect([status, body.rows]).toEqual([200, [[1]]]);
  }, 90_000);

  it('binds arbitrary JSON values to parameters of every type: 200 or a clean 4xx', async () => {
    const TYPES = ['', '::int', '::bigint', '::hugeint', '::double', '::decimal(38, 10)', '::varchar', '::blob', '::bool', '::date', '::timestamptz',
      '::interval', '::uuid', '::json', '::int[]', '::varchar[2]', '::struct(a int, b varchar)', '::map(varchar, int)', '::union(a int, b varchar)', '::bit', '::tinyint', '::utinyint'];
    const answers: Record<number, number> = {};
    await checkProperty('http params', fc.asyncProperty(
      fc.constantFrom(...TYPES), fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(1e308, -0, 2 ** 63, -(2 ** 64), 0.1, '9'.repeat(40), '', '\u0000', 'NaN', 'Infinity', '2026-02-30', '00000000-0000-0000-0000-000000000000')),
      fc.boolean(), fc.constantFrom(undefined, 'application/x-ndjson', 'text/csv'),
      async (type, value, named, accept) => {
        tally.add('http bodies');
        const body = named ? { sql: `select $v${type} as v`, params: { v: value } } : { sql: `select $1${type} as v`, params: [value] };
        const response = await app.request('/v1/query', {
          method: 'POST', headers: { authorization: `Bearer ${w.keys.read}`, 'content-type': 'application/json', ...(accept ? { accept } : {}) }, body: JSON.stringify(body),
        });
        expectClean({ status: response.status, headers: response.headers, text: await response.text() }, JSON.stringify(body));
        answers[response.status] = (answers[response.status] ?? 0) + 1;
      }), 400);
    console.log(`[hostile] http params: answers by status ${JSON.stringify(answers)}`);
    expect(answers[200]).toBeGreaterThan(50);
    expect(logged).toEqual([]);
  });

  it('stores and searches arbitrary memories: 200 or a clean 4xx, and the store keeps answering', async () => {
    const answers: Record<string, number> = {};
    await checkProperty('http memory', fc.asyncProperty(
      fc.string({ unit: 'binary', maxLength: 300 }), fc.constantFrom('fact', 'observation', 'instruction', 'preference', 'episode'),
      fc.dictionary(fc.string({ unit: 'binary', maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
      fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom(...SCOPES),
      async (content, type, metadata, query, scope) => {
        tally.add('http bodies', 2);
        const headers = { authorization: `Bearer ${w.keys[scope]}`, 'content-type': 'application/json' };
        const stored = await app.request('/v1/memory', { method: 'POST', headers, body: JSON.stringify({ content, memory_type: type, metadata }) });
        expectClean({ status: stored.status, headers: stored.headers, text: await stored.text() }, `store ${JSON.stringify(content).slice(0, 100)}`);
        const found = await app.request(`/v1/memory?query=${percentEncode(query)}&top_k=5`, { headers });
        expectClean({ status: found.status, headers: found.headers, text: await found.text() }, `search ${JSON.stringify(query)}`);
        for (const status of [stored.status, found.status]) answers[status] = (answers[status] ?? 0) + 1;
      }), 200);
    console.log(`[hostile] http memory: answers by status ${JSON.stringify(answers)}`);
    expect(answers[200]).toBeGreaterThan(100);
    expect(logged).toEqual([]);
  });

  it('answers arbitrary query strings on the GET routes with 2xx or a clean 4xx', async () => {
    const value = fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.integer().map(String), fc.constantFrom('-1', '0', '1e309', 'NaN', '99999999999999999999', '', '%', '%00'));
    await checkProperty('http query strings', fc.asyncProperty(
      fc.constantFrom('/v1/memory', '/v1/audit', '/v1/tables', '/v1/snapshots', '/v1/audit/verify', '/v1/info', '/v1/health'),
      fc.dictionary(fc.constantFrom('query', 'top_k', 'memory_type', 'agent', 'limit', 'after', 'x', 'query[]'), value, { maxKeys: 4 }),
      fc.constantFrom(...SCOPES),
      async (route, query, scope) => {
        tally.add('http query strings');
        const search = Object.entries(query).map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');
        const response = await app.request(`${route}?${search}`, { headers: { authorization: `Bearer ${w.keys[scope]}` } });
        const text = await response.text();
        // No snapshot store in this app: 503 snapshots_unavailable is its documented answer.
        if (route === '/v1/snapshots' && response.status === 503) return;
        expectClean({ status: response.status, headers: response.headers, text }, `GET ${route}?${search}`);
      }), 300);
    expect(logged).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
describe('configuration values: arbitrary strings for every SKYDUCK_* setting', () => {
  const NAMES: string[] = [...new Set(Object.values(SETTINGS).flatMap((spec) => spec.env))];
  const valueArb = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.tuple(fc.oneof(fc.nat().map(String), fc.double({ noNaN: true }).map(String), fc.constantFrom('0', '-1', '1e3', '0.0001', '99999999999999999999', '١٢', '１')),
      fc.constantFrom('', 'ms', 's', 'm', 'h', 'd', 'b', 'KiB', 'MIB', 'gb', 'TiB', 'PiB', ' ', 'K', 'İ', 'ı'))
      .map(([n, unit]) => `${n}${unit}`),
    fc.constantFrom('local', 'aws', 'GCP', ' azure', 'auto', 'static', 'workload', '127.0.0.1:0', '[::1]:8080', '0.0.0.0:65536', ':80', 'http://a', 'debug', '\u0000', '${HOME}', '$(id)', '`id`', '%s%n'),
  );

  it('loads every value into a Config or refuses it with a ConfigError naming the variable, never another exception', async () => {
    for (const name of NAMES) {
      await checkProperty(`config ${name}`, fc.property(valueArb, (value) => {
        tally.add('config values');
        let error: unknown;
        try {
          loadConfig({ [name]: value });
        } catch (caught) {
          error = caught;
        }
        if (error === undefined) return;
        expect(error, `${name}=${JSON.stringify(value)}: ${String(error)}`).toBeInstanceOf(ConfigError);
        expect((error as Error).message, `${name}=${JSON.stringify(value)}`).toContain(name);
      }), 120);
    }
  });

  it('with several hostile settings at once, refuses with a ConfigError naming one of them, and warns about unknown SKYDUCK_* names', async () => {
    await checkProperty('config combinations', fc.property(
      fc.dictionary(fc.constantFrom(...NAMES), valueArb, { maxKeys: 6 }),
      fc.dictionary(fc.string({ maxLength: 20 }).map((suffix) => `SKYDUCK_${suffix}`), fc.string({ maxLength: 10 }), { maxKeys: 3 }),
      (settings, unknown) => {
        tally.add('config values');
        const env = { ...unknown, ...settings };
        let config;
        try {
          config = loadConfig(env);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          const named = Object.keys(env).filter((name) => (error as Error).message.includes(name));
          expect(named.length, (error as Error).message).toBeGreaterThan(0);
          return;
        }
        for (const name of Object.keys(unknown).filter((n) => !NAMES.includes(n) && n !== 'SKYDUCK_TRACE_STARTUP')) {
          expect(config.warnings.some((warning) => warning.startsWith(`${name} is not a skyduck setting`)), name).toBe(true);
        }
      }), 400);
  });
});

// ---------------------------------------------------------------------------------------------------
describe('table names: arbitrary unicode through validateTableName and /v1/tables/{name}', () => {
  const nameArb = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.string({ unit: 'grapheme', maxLength: 70 }),
    fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,70}$/),
    fc.constantFrom(...TRAVERSAL),
  );

  it('accepts exactly the identifiers, and refuses the rest with 400 invalid_table_name, never another exception', async () => {
    await checkProperty('validateTableName', fc.property(nameArb, (name) => {
      tally.add('table names');
      let error: unknown;
      try {
        expect(validateTableName(name)).toBe(name);
      } catch (caught) {
        error = caught;
      }
      expect(error === undefined, JSON.stringify(name)).toBe(isIdentifier(name));
      if (error) expect(error).toMatchObject({ status: 400, code: 'invalid_table_name' });
      if (error) expect(error).toBeInstanceOf(EngineError);
    }), 2_000);
  });

  describe('over HTTP', () => {
    let w: TestWarehouse;
    let outside: string;
    const sent = new Set<string>();

    beforeAll(async () => {
      w = await openTestWarehouse();
      outside = tempDir('tables-outside');
    });
    afterAll(async () => w?.close());

    const call = async (method: 'GET' | 'POST', encoded: string) => callPath(method, `/v1/tables/${encoded}`);
    const callPath = async (method: 'GET' | 'POST', target: string) => {
      const response = await w.app.request(target, {
        method,
        headers: { authorization: `Bearer ${w.keys.write}`, 'content-type': 'text/csv' },
        body: method === 'POST' ? 'a\n1\n' : undefined,
      });
      return { status: response.status, headers: response.headers, text: await response.text() };
    };

    it('GET and POST /v1/tables/{percent-encoded name}: only identifiers reach a table', async () => {
      await checkProperty('table names over HTTP', fc.asyncProperty(nameArb, async (name) => {
        tally.add('table names', 2);
        // What the server decodes: the UTF-8 of the name (a lone surrogate becomes U+FFFD on the way).
        const decoded = new TextDecoder().decode(new TextEncoder().encode(name));
        const encoded = percentEncode(name);
        const got = await call('GET', encoded);
        const posted = await call('POST', encoded);
        expectClean(got, `GET /v1/tables/${encoded}`);
        expectClean(posted, `POST /v1/tables/${encoded}`);
        if (isIdentifier(decoded)) {
          expect([200, 404], got.text).toContain(got.status);
          expect(posted.status, posted.text).toBe(200);
          sent.add(decoded.toLowerCase());
        } else {
          expect([400, 404], `GET ${encoded}: ${got.text}`).toContain(got.status);
          expect([400, 404], `POST ${encoded}: ${posted.text}`).toContain(posted.status);
        }
      }), 400);
    }, 60_000);

    it.each(TRAVERSAL.filter((name) => !isIdentifier(name)))('refuses the traversal shape %j, raw and percent-encoded', async (name) => {
      tally.add('table names', 4);
      for (const encoded of [percentEncode(name), name.replaceAll('\u0000', '%00').replaceAll(' ', '%20').replaceAll('\n', '%0A').replaceAll('#', '%23').replaceAll('?', '%3F')]) {
        // What reaches the server is the path as URL parsing leaves it: a raw "x/../y" is "/v1/tables/y",
        // a raw "../etc" is "/v1/etc". Only a path that still names one identifier under /v1/tables may load.
        const url = new URL(`/v1/tables/${encoded}`, 'http://localhost').pathname;
        const plain = /^\/v1\/tables\/([A-Za-z_][A-Za-z0-9_]{0,62})$/.exec(url)?.[1];
        for (const method of ['GET', 'POST'] as const) {
          const answer = await callPath(method, url);
          expectClean(answer, `${method} ${url}`);
          if (plain) {
            if (method === 'POST') expect(answer.status, `${method} ${url}: ${answer.text}`).toBe(200);
            sent.add(plain.toLowerCase());
          } else {
            expect([400, 404], `${method} ${url}: ${answer.text}`).toContain(answer.status);
          }
        }
      }
    });

    it('created tables only under identifier names, and no file outside the data dir or left in the spool', async () => {
      const { body } = await w.query('select table_name from duckdb_tables()', { key: w.keys.read });
      const names = (body.rows as [string][]).map(([name]) => name);
      for (const name of names) expect(isIdentifier(name), name).toBe(true);
      expect([...new Set(names.map((n) => n.toLowerCase()))].sort()).toEqual([...sent].sort());
      expect(walk(outside)).toEqual([]);
      expect(fs.readdirSync(path.join(w.dataDir, 'spool'))).toEqual([]);
      for (const entry of fs.readdirSync(w.dataDir)) {
        expect(entry).toMatch(/^(?:(?:skyduck|system)\.duckdb(?:\.wal)?|keys\.json|tmp|spool|staging|system\.duckdb\.tmp)$/);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------------
describe('blob keys: arbitrary keys through LocalBlobStorage', () => {
  const SEGMENTS = ['..', '.', '', '...', '%2e%2e', '%2F', '%', '%25', '\\', '..\\..', 'C:', '~', '.obj', 'x.obj', '.tmp-abc', '\u0000', ' ', '\u2024\u2024', '\uff0e\uff0e', '/', '\n', 'con', 'aux'];
  const segmentArb = fc.oneof(fc.constantFrom(...SEGMENTS), fc.string({ unit: 'grapheme', maxLength: 10 }), fc.string({ unit: 'binary-ascii', maxLength: 10 }));
  // Every segment at most 80 UTF-8 bytes: percent-encoded it stays under NAME_MAX (255); longer ones are below.
  const fits = (key: string) => key.split('/').every((segment) => Buffer.byteLength(segment) <= 80);
  const keyArb = fc.array(segmentArb, { minLength: 1, maxLength: 5 }).map((segments) => segments.join('/')).filter((key) => key.length > 0 && fits(key));

  /** Every file below `box` resolves below `rootDir`; no link, no temp file left, every object file ends in .obj. */
  const expectContained = (rootDir: string) => {
    const real = fs.realpathSync(rootDir);
    for (const entry of walk(rootDir)) {
      const stat = fs.lstatSync(entry);
      expect(stat.isSymbolicLink(), entry).toBe(false);
      if (!stat.isFile()) continue;
      expect(fs.realpathSync(entry).startsWith(`${real}${path.sep}`), entry).toBe(true);
      expect(path.basename(entry).startsWith('.tmp-'), entry).toBe(false);
      expect(entry.endsWith('.obj'), entry).toBe(true);
    }
  };

  it('keeps every file under the root and round-trips every key exactly: put, get, head, list, delete', async () => {
    const box = tempDir('blob-box');
    let run = 0;
    await checkProperty('blob keys', fc.asyncProperty(
      fc.uniqueArray(fc.record({ key: keyArb, data: fc.uint8Array({ maxLength: 64 }) }), { selector: (entry) => entry.key, minLength: 1, maxLength: 8 }),
      fc.option(keyArb),
      fc.nat(),
      async (objects, prefix, pick) => {
        tally.add('blob keys', objects.length);
        const dir = path.join(box, `run-${run++}`);
        const rootDir = path.join(dir, 'root');
        const outside = path.join(dir, 'outside');
        fs.mkdirSync(outside, { recursive: true });
        fs.writeFileSync(path.join(outside, 'canary'), 'canary');
        const storage = new LocalBlobStorage(rootDir, prefix ?? '');
        try {
          for (const { key, data } of objects) await storage.putObject(key, data);
          for (const { key, data } of objects) {
            expect(Buffer.from(await storage.getObject(key)).equals(Buffer.from(data)), JSON.stringify(key)).toBe(true);
            expect((await storage.headObject(key)).size).toBe(data.length);
          }
          const keys = objects.map((o) => o.key);
          expect(await storage.listObjects('')).toEqual([...keys].sort());
          // A listing prefix cut anywhere in a key, even mid-segment or mid-character.
          const whole = keys[pick % keys.length]!;
          const listPrefix = whole.slice(0, pick % (whole.length + 1));
          if (listPrefix.isWellFormed()) expect(await storage.listObjects(listPrefix)).toEqual(keys.filter((k) => k.startsWith(listPrefix)).sort());
          expectContained(rootDir);
          expect(fs.readdirSync(outside)).toEqual(['canary']);
          expect(fs.readdirSync(dir).sort()).toEqual(['outside', 'root']);
          for (const key of keys) await storage.deleteObject(key);
          expect(await storage.listObjects('')).toEqual([]);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }), 200);
  }, 60_000);

  it('refuses a key that is not well-formed UTF-16 (a lone surrogate) without writing anything', async () => {
    const dir = tempDir('blob-surrogate');
    const storage = new LocalBlobStorage(path.join(dir, 'root'));
    for (const key of ['\ud800', 'a/\udc00', '\ud800/../x']) {
      tally.add('blob keys');
      await expect(storage.putObject(key, new Uint8Array([1]))).rejects.toThrow();
      await expect(storage.getObject(key)).rejects.toThrow();
    }
    expect(walk(dir).filter((entry) => fs.statSync(entry).isFile())).toEqual([]);
  });

  // Found by this suite, fixed (src/cloud/local/storage.ts, mapError): a key segment longer than NAME_MAX once percent-encoded
  // (a 300-character table name, 40 CJK characters: legal in S3, GCS and Azure, and made by
  // SnapshotStore.objectKey for a table of that name) fails with Node's raw ENAMETOOLONG error, not a
  // typed CloudError; the server then answers POST /v1/snapshots with 500 (see the sealed binary below).
  it('a long key segment (S3 allows 1024 bytes) round-trips on local storage or is refused with a typed CloudError', async () => {
    const storage = new LocalBlobStorage(path.join(tempDir('blob-long'), 'root'));
    for (const key of [`snapshots/x/main/main.${'x'.repeat(300)}.parquet.enc`, `t/${'中'.repeat(60)}`]) {
      tally.add('blob keys');
      const result = await storage.putObject(key, new Uint8Array([7])).then(() => storage.getObject(key)).catch((error: unknown) => error);
      if (result instanceof Error && !(result instanceof CloudError)) tally.bugs.push(`local storage: ${result.message.slice(0, 80)} is not a CloudError`);
      if (result instanceof Error) expect(result).toBeInstanceOf(CloudError);
      else expect([...(result as Uint8Array)]).toEqual([7]);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
describe('envelope bytes: mutations of a valid envelope and arbitrary bytes', () => {
  const keys = new LocalKeyManager(randomBytes(32));
  const envelope = new Envelope(keys, { segmentLog2: 12 });
  const SEGMENT = 4096;

  type Mutation =
    | { kind: 'flip'; at: number; bit: number }
    | { kind: 'set'; at: number; byte: number }
    | { kind: 'insert'; at: number; bytes: Uint8Array }
    | { kind: 'delete'; at: number; length: number }
    | { kind: 'truncate'; at: number }
    | { kind: 'duplicate'; at: number; length: number }
    | { kind: 'swap'; at: number; other: number; length: number };

  const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 5000 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 5000 }) }),
    fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), other: fc.nat(), length: fc.integer({ min: 1, max: 5000 }) }),
  );

  const apply = (sealed: Buffer, mutation: Mutation): Buffer => {
    const at = mutation.at % (sealed.length + 1);
    const out = Buffer.from(sealed);
    switch (mutation.kind) {
      case 'flip':
        if (at < out.length) out[at]! ^= 1 << mutation.bit;
        return out;
      case 'set':
        if (at < out.length) out[at] = mutation.byte;
        return out;
      case 'insert':
        return Buffer.concat([out.subarray(0, at), mutation.bytes, out.subarray(at)]);
      case 'delete':
        return Buffer.concat([out.subarray(0, at), out.subarray(at + mutation.length)]);
      case 'truncate':
        return out.subarray(0, at);
      case 'duplicate':
        return Buffer.concat([out.subarray(0, at + mutation.length), out.subarray(at)]);
      case 'swap': {
        const other = mutation.other % (out.length + 1);
        const [a, b] = at <= other ? [at, other] : [other, at];
        const length = Math.min(mutation.length, b - a);
        return Buffer.concat([out.subarray(0, a), out.subarray(b, b + length), out.subarray(a + length, b), out.subarray(a, a + length), out.subarray(b + length)]);
      }
    }
  };

  function* chunks(bytes: Buffer, size: number): Generator<Buffer> {
    for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
  }
  const collect = async (stream: AsyncIterable<Buffer>) => {
    const parts: Buffer[] = [];
    for await (const part of stream) parts.push(part);
    return Buffer.concat(parts);
  };

  /** Opens `bytes` whole, and streamed in `chunk`-byte pieces: each an EnvelopeError or exactly `plaintext`. */
  const expectPlaintextOrEnvelopeError = async (bytes: Buffer, plaintext: Buffer | undefined, chunk: number, what: string) => {
    for (const open of [() => envelope.decrypt('t/obj', bytes), () => collect(envelope.decryptStream('t/obj', chunks(bytes, chunk)))]) {
      const result = await open().catch((error: unknown) => error);
      if (result instanceof Buffer) {
        expect(plaintext, `${what}: opened to ${result.length} bytes`).toBeDefined();
        expect(result.equals(plaintext!), `${what}: wrong plaintext`).toBe(true);
      } else {
        expect(result, `${what}: ${String(result)}`).toBeInstanceOf(EnvelopeError);
      }
    }
  };

  it('opens a mutated envelope to its exact plaintext or fails with an EnvelopeError, whole or streamed, never another error', async () => {
    await checkProperty('envelope mutations', fc.asyncProperty(
      fc.integer({ min: 0, max: 3 * SEGMENT + 10 }), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 2 * SEGMENT }),
      async (size, mutations, chunk) => {
        tally.add('envelope bytes');
        const plaintext = randomBytes(size);
        const sealed = await envelope.encrypt('t/obj', plaintext);
        const damaged = mutations.reduce(apply, sealed);
        await expectPlaintextOrEnvelopeError(damaged, plaintext, chunk, JSON.stringify(mutations.map((m) => m.kind)));
        // keyUriOf and rewrap read the same header: an EnvelopeError or a result, nothing else.
        for (const run of [async () => keyUriOf(damaged), () => envelope.rewrap(damaged, keys)]) {
          const result = await run().catch((error: unknown) => error);
          if (result instanceof Error) expect(result, String(result)).toBeInstanceOf(EnvelopeError);
        }
      }), 500);
  }, 60_000);

  it('refuses arbitrary bytes, and bytes behind a valid magic and version, with an EnvelopeError', async () => {
    const bytesArb = fc.oneof(
      fc.uint8Array({ maxLength: 3 * SEGMENT }),
      fc.tuple(fc.constantFrom(1, 2, 3, 0, 255), fc.integer({ min: 0, max: 40 }), fc.uint8Array({ maxLength: 3 * SEGMENT }))
        .map(([version, log2, rest]) => Buffer.concat([Buffer.from('SKYE'), Buffer.from([version, log2]), rest])),
      // A plausible header: right lengths, a key URI of this key manager, random wrapped key and segments.
      fc.tuple(fc.uint8Array({ minLength: 23, maxLength: 23 }), fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 2 * SEGMENT }))
        .map(([fixed, wrapped, rest]) => {
          const uri = Buffer.from(keys.keyUri);
          const u16 = (n: number) => Buffer.from([n >> 8, n & 255]);
          return Buffer.concat([Buffer.from('SKYE'), Buffer.from([2, 12]), fixed, u16(uri.length), uri, u16(wrapped.length), wrapped, rest]);
        }),
    );
    await checkProperty('envelope arbitrary bytes', fc.asyncProperty(bytesArb, fc.integer({ min: 1, max: SEGMENT }), async (bytes, chunk) => {
      tally.add('envelope bytes');
      await expectPlaintextOrEnvelopeError(Buffer.from(bytes), undefined, chunk, `${bytes.length} arbitrary bytes`);
    }), 500);
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------------
describe('SQL that tries to leave the sandbox, for every scope', () => {
  const OUTSIDE_SECRET = `OUTSIDE-CANARY-${randomBytes(8).toString('hex')}`;
  const INSIDE_SECRET = `INSIDE-CANARY-${randomBytes(8).toString('hex')}`;
  const ENV_SECRET = `ENV-CANARY-${randomBytes(8).toString('hex')}`;
  let w: TestWarehouse;
  let outside: string;
  let before: { outside: string[]; dataDir: string[]; home: string[] };
  const duckdbHome = path.join(process.env.HOME ?? '/nonexistent', '.duckdb');
  /** The data dir's entries, but for the WAL files that come and go with writes. */
  const dataDirEntries = () => fs.readdirSync(w.dataDir).filter((name) => !name.endsWith('.wal')).sort();

  /** One outcome per request: what the response leaked, if anything. */
  interface Outcome { scope: Scope; label: string; wrapper: string; sql: string; status: number; leaksOutside: boolean; leaksInside: boolean; leaksEnv: boolean }
  const outcomes: Outcome[] = [];

  /** A file with a canary in it, and the file functions tried on it. */
  type Target = { name: string; file: string; functions: string[]; inside: boolean };
  const targets: Target[] = [];

  /** Writes `content` to `file` as the extension says; Parquet through an unsandboxed in-memory DuckDB. */
  async function canary(file: string, secret: string): Promise<void> {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (file.endsWith('.parquet')) {
      const instance = await DuckDBInstance.create(':memory:');
      const connection = await instance.connect();
      await connection.run(`COPY (SELECT '${secret}' AS s) TO '${file}' (FORMAT parquet)`);
      connection.closeSync();
      instance.closeSync();
    } else if (file.endsWith('.json')) fs.writeFileSync(file, `{"s": "${secret}"}\n`);
    else if (file.endsWith('.csv')) fs.writeFileSync(file, `s\n${secret}\n`);
    else fs.writeFileSync(file, secret);
  }

  beforeAll(async () => {
    process.env.SKYDUCK_HOSTILE_CANARY = ENV_SECRET; // a secret in the environment, for getenv() and settings to leak
    w = await openTestWarehouse();
    outside = tempDir('sandbox-outside');
    // Every file function on a canary file of its format in a directory outside the sandbox.
    const OUTSIDE_FUNCTIONS = {
      csv: ['read_csv', 'read_csv_auto', 'read_text', 'read_blob', 'sniff_csv'],
      json: ['read_json', 'read_json_auto', 'read_ndjson', 'read_json_objects', 'read_text'],
      parquet: ['read_parquet', 'parquet_scan', 'parquet_metadata', 'parquet_schema', 'parquet_kv_metadata', 'parquet_file_metadata', 'read_blob'],
      txt: ['read_text', 'read_blob'],
    };
    for (const [ext, functions] of Object.entries(OUTSIDE_FUNCTIONS)) targets.push({ name: `outside .${ext}`, file: path.join(outside, `canary.${ext}`), functions, inside: false });
    // The data dir's own files that SQL must not reach either: the load paths (no upload is in flight),
    // the snapshot staging file, DuckDB's temp dir; two functions each.
    const data = (...parts: string[]) => path.join(w.dataDir, ...parts);
    targets.push(
      { name: 'spool load.csv', file: data('spool', 'load.csv'), functions: ['read_csv', 'read_text'], inside: true },
      { name: 'spool load.json', file: data('spool', 'load.json'), functions: ['read_json_auto', 'read_text'], inside: true },
      { name: 'spool load.parquet', file: data('spool', 'load.parquet'), functions: ['read_parquet', 'read_blob'], inside: true },
      { name: 'staging main.parquet', file: data('staging', 'main.parquet'), functions: ['read_parquet', 'parquet_metadata'], inside: true },
      { name: 'tmp canary.csv', file: data('tmp', 'canary.csv'), functions: ['read_csv', 'read_text'], inside: true },
    );
    for (const target of targets) await canary(target.file, target.inside ? INSIDE_SECRET : OUTSIDE_SECRET);
    before = { outside: walk(outside).sort(), dataDir: dataDirEntries(), home: walk(duckdbHome).sort() };
    const { status } = await w.query('create table t_probe (s varchar)', { key: w.keys.admin });
    expect(status).toBe(200);
  });
  afterAll(async () => {
    delete process.env.SKYDUCK_HOSTILE_CANARY;
    await w?.close();
  });
  const esc = (sql: string) => sql.replaceAll("'", "''");

  /** A statement, maybe preceded by one the admin key runs first (create then use), maybe with params. */
  interface Case { label: string; /** The wrapper alone, without the function: how leaks are counted. */ wrapper?: string; setup?: string; sql: string; params?: unknown[] }

  function cases(): Case[] {
    const list: Case[] = [];
    let n = 0;
    for (const target of targets) {
      const p = target.file;
      for (const fn of target.functions) {
        const call = `${fn}('${esc(p)}')`;
        const select = `select * from ${call}`;
        const id = n++;
        list.push(
          { label: `${fn} direct`, wrapper: 'direct', sql: select },
          { label: `${fn} in a CTE`, wrapper: 'in a CTE', sql: `with x as (${select}) select * from x` },
          { label: `${fn} in a subquery`, wrapper: 'in a subquery', sql: `select * from (${select}) s where true` },
          { label: `${fn} bound as a parameter`, wrapper: 'bound as a parameter', sql: `select * from ${fn}($1)`, params: [p] },
          { label: `${fn} through query()`, wrapper: 'through query()', sql: `select * from query('${esc(select)}')` },
          { label: `${fn} through query($1)`, wrapper: 'through query($1)', sql: 'select * from query($1)', params: [select] },
          { label: `${fn} through json_execute_serialized_sql`, wrapper: 'through json_execute_serialized_sql', sql: `select * from json_execute_serialized_sql(json_serialize_sql('${esc(select)}'))` },
          { label: `${fn} in EXPLAIN ANALYZE`, wrapper: 'in EXPLAIN ANALYZE', sql: `explain analyze ${select}` },
          { label: `${fn} in SUMMARIZE`, wrapper: 'in SUMMARIZE', sql: `summarize ${select}` },
          { label: `${fn} in CREATE TABLE AS`, wrapper: 'in CREATE TABLE AS', setup: `create or replace table sink_${id} as ${select}`, sql: `select * from sink_${id}` },
          { label: `${fn} in INSERT ... SELECT`, wrapper: 'in INSERT ... SELECT', setup: `create or replace table ins_${id} (v varchar); insert into ins_${id} select (x)::varchar from (${select}) x`, sql: `select * from ins_${id}` },
          { label: `${fn} in a view`, wrapper: 'in a view', setup: `create or replace view v_${id} as ${select}`, sql: `select * from v_${id}` },
          { label: `${fn} in a table macro`, wrapper: 'in a table macro', setup: `create or replace macro m_${id}() as table ${select}`, sql: `select * from m_${id}()` },
          { label: `${fn} in a table macro with the path bound`, wrapper: 'in a table macro with the path bound', setup: `create or replace macro mp_${id}(f) as table select * from ${fn}(f)`, sql: `select * from mp_${id}($1)`, params: [p] },
          { label: `${fn} in a scalar macro`, wrapper: 'in a scalar macro', setup: `create or replace macro s_${id}() as (select string_agg((x)::varchar, ',') from ${call} x)`, sql: `select s_${id}()` },
        );
      }
      list.push(
        { label: 'replacement scan', sql: `select * from '${esc(p)}'` },
        { label: 'replacement scan, FROM first', sql: `from '${esc(p)}'` },
        { label: 'replacement scan through query_table', sql: `select * from query_table('${esc(p)}')` },
        { label: 'replacement scan through query_table([...])', sql: `select * from query_table(['${esc(p)}'])` },
        { label: 'replacement scan through query_table($1)', sql: 'select * from query_table($1)', params: [p] },
        { label: 'glob of the directory', sql: `select * from glob('${esc(path.dirname(p))}/*')` },
        { label: 'read_text of the directory through query()', sql: `select * from query('select * from read_text(''${esc(esc(path.dirname(p)))}/*'')')` },
        { label: 'COPY FROM', sql: `copy t_probe from '${esc(p)}'` },
        { label: 'ATTACH the file', sql: `attach '${esc(p)}' as other` },
      );
    }
    const OUT = esc(outside);
    const DATA = esc(w.dataDir);
    list.push(
      // extensions
      ...['install httpfs', 'load httpfs', 'force install httpfs', "install httpfs from 'http://127.0.0.1:9'", `load '${OUT}/x.duckdb_extension'`, 'update extensions', 'install parquet', 'load parquet']
        .map((sql) => ({ label: 'extension', sql })),
      // settings
      ...['set enable_external_access = true', 'reset enable_external_access', 'set lock_configuration = false', 'reset lock_configuration',
        `set allowed_paths = ['${OUT}']`, `set allowed_directories = ['${OUT}']`, `set temp_directory = '${OUT}'`, `set global temp_directory = '${OUT}'`,
        'set session threads = 1', 'set global threads = 1', 'reset all', 'pragma threads = 1', `pragma temp_directory = '${OUT}'`, 'pragma enable_external_access = true',
        'set variable x = 1', 'set autoinstall_known_extensions = true', "set custom_extension_repository = 'http://127.0.0.1:9'",
        `set extension_directory = '${OUT}'`, `set home_directory = '${OUT}'`, `set secret_directory = '${OUT}'`, `pragma profiling_output = '${OUT}/p.json'`,
        `set profiling_output = '${OUT}/p.json'`, "set profiling_mode = 'detailed'", 'set memory_limit = \'1TB\'']
        .map((sql) => ({ label: 'setting', sql })),
      // other databases, files, secrets
      ...["attach ':memory:' as m", `attach '${OUT}/a.duckdb' as a`, `attach '${OUT}/a.duckdb' as a (read_only)`, `attach if not exists '${OUT}/b.duckdb'`,
        `attach '${DATA}/system.duckdb' as sys`, 'detach m', 'use m', 'copy from database memory to m',
        `copy (select 1) to '${OUT}/c.csv'`, `copy (select 1) to '${OUT}/c.parquet' (format parquet)`, `copy t_probe to '${OUT}/t.json'`,
        `copy (select 1) to '${DATA}/staging/main.parquet' (format parquet)`, `copy (select 1) to '${DATA}/spool/load.csv'`,
        `export database '${OUT}/e'`, `import database '${OUT}'`, `pragma import_database('${OUT}')`, `call import_database('${OUT}')`,
        "create secret s1 (type s3, key_id 'k', secret 'v')", "create persistent secret s2 (type s3, key_id 'k', secret 'v')",
        'drop secret if exists s1', 'drop persistent secret if exists s2', 'select * from duckdb_secrets()', "select which_secret('s3://b/x', 's3')",
        'select * from duckdb_extensions()', 'select * from duckdb_log_files()', `select * from read_duckdb('${DATA}/system.duckdb')`,
        `select * from query('select * from read_blob(''${esc(DATA)}/keys.json'')')`, `select * from query('select * from read_blob(''${esc(DATA)}/system.duckdb'')')`]
        .map((sql) => ({ label: 'database, file or secret', sql })),
      // pragmas
      ...['pragma enable_profiling', 'pragma disable_profiling', 'pragma enable_checkpoint_on_shutdown', 'pragma disable_checkpoint_on_shutdown',
        'pragma database_size', 'pragma storage_info(\'t_probe\')', 'pragma metadata_info', 'pragma user_agent', 'pragma platform', 'checkpoint', 'force checkpoint']
        .map((sql) => ({ label: 'pragma', sql })),
      // settings and environment that could carry secrets
      ...["select getenv('SKYDUCK_HOSTILE_CANARY')", "select current_setting('allowed_paths')", 'select * from duckdb_settings()',
        "select current_setting('temp_directory'), current_setting('secret_directory'), current_setting('home_directory')",
        'select * from duckdb_databases()', 'select * from duckdb_temporary_files()', "select * from duckdb_functions() where function_name = 'getenv'"]
        .map((sql) => ({ label: 'setting or environment read', sql })),
    );
    return list;
  }

  it('runs every hostile statement with every key: no 5xx, nothing outside read or written, no secret from the environment or settings', async () => {
    const all = cases();
    const run = async (sql: string, scope: Scope, params?: unknown[]) => {
      const answer = await w.query(sql, { key: w.keys[scope], params });
      tally.add('sql sandbox');
      return answer;
    };
    for (const c of all) {
      if (c.setup) {
        const setup = await run(c.setup, 'admin');
        expect(setup.status, `${c.setup}: ${setup.text}`).toBeLessThan(500);
        outcomes.push({ scope: 'admin', label: `${c.label} (setup)`, wrapper: `${c.wrapper ?? c.label} (setup)`, sql: c.setup, status: setup.status, leaksOutside: setup.text.includes(OUTSIDE_SECRET), leaksInside: setup.text.includes(INSIDE_SECRET), leaksEnv: setup.text.includes(ENV_SECRET) });
      }
      for (const scope of SCOPES) {
        const answer = await run(c.sql, scope, c.params);
        expect(answer.status, `${scope}: ${c.sql}: ${answer.text.slice(0, 300)}`).toBeLessThan(500);
        expect(answer.text.includes(STACK), c.sql).toBe(false);
        outcomes.push({
          scope, label: c.label, wrapper: c.wrapper ?? c.label, sql: c.sql, status: answer.status,
          leaksOutside: answer.text.includes(OUTSIDE_SECRET), leaksInside: answer.text.includes(INSIDE_SECRET), leaksEnv: answer.text.includes(ENV_SECRET),
        });
      }
    }
    console.log(`[hostile] sandbox: ${outcomes.length} statements run (${all.length} cases x ${SCOPES.length} keys + setups)`);
    expect(outcomes.filter((o) => o.leaksOutside).map((o) => `${o.scope}: ${o.sql}`)).toEqual([]);
    expect(outcomes.filter((o) => o.leaksEnv).map((o) => `${o.scope}: ${o.sql}`)).toEqual([]);
    // Nothing new outside, in the data dir or in DuckDB's home directory (~/.duckdb: extensions, secrets).
    expect(walk(outside).sort()).toEqual(before.outside);
    expect(dataDirEntries()).toEqual(before.dataDir);
    expect(walk(duckdbHome).sort()).toEqual(before.home);
    // The warehouse still answers, and is still sandboxed.
    expect((await w.query('select 1 as one', { key: w.keys.read })).body.rows).toEqual([[1]]);
    const still = await w.query(`select * from read_text('${esc(targets[0]!.file)}')`, { key: w.keys.admin });
    expect(still.status).toBe(403);
  }, 90_000);

  // Found by this suite, fixed (src/engine/statements.ts fileAccessIn/mayReadFiles + src/engine/database.ts sandbox): the guard only
  // looks for file functions by name in SELECT-only parse trees, and DuckDB's own sandbox allows the
  // spool's load.<format> files, the staging file and its temp dir. So query('... read_text(...) ...'),
  // query_table('<path>'), query($1), json_execute_serialized_sql, views and macros (created by a write
  // key, used by any key), CREATE TABLE AS and INSERT ... SELECT all read those files: every key, read
  // included, can read an upload while it is being loaded (next test) and whatever DuckDB spills.
  it("no key reads the data dir's own files (spool load paths, staging, temp dir) through any wrapper", () => {
    const leaks = outcomes.filter((o) => o.leaksInside);
    const byWrapper = new Map<string, number>();
    for (const leak of leaks) byWrapper.set(`${leak.scope}: ${leak.wrapper}`, (byWrapper.get(`${leak.scope}: ${leak.wrapper}`) ?? 0) + 1);
    if (leaks.length) {
      tally.bugs.push(`sandbox: ${leaks.length} statements read the data dir's own files (${leaks.filter((l) => l.scope === 'read').length} with a read key)`);
      console.log(`[hostile] sandbox leaks of the data dir's own files by wrapper: ${JSON.stringify(Object.fromEntries(byWrapper))}`);
    }
    expect(leaks.map((o) => `${o.scope}: ${o.label}`)).toEqual([]);
  });

  // Found by this suite, fixed (same cause): POST /v1/tables renames the upload to <spool>/load.csv and loads it under the write
  // lock, but readers take no lock: a read key polling query('select ... from read_text(''<spool>/load.csv'')')
  // sees the rows of another agent's upload, even one that then fails with 422 and never lands in a table.
  it('a read key cannot see another agent\'s upload while it is being loaded (even one refused with 422)', async () => {
    for (const target of targets.filter((t) => t.inside)) fs.rmSync(target.file, { force: true });
    const secret = `UPLOAD-IN-FLIGHT-${randomBytes(6).toString('hex')}`;
    // Enough rows that loading takes a while; the last line breaks the CSV, so the upload is refused whole.
    const csv = `id,note\n${Array.from({ length: 300_000 }, (_, i) => `${i},${secret}`).join('\n')}\n1,2,3\n`;
    const load = path.join(w.dataDir, 'spool', 'load.csv');
    let done = false;
    const upload = Promise.resolve(w.app.request('/v1/tables/in_flight', {
      method: 'POST', headers: { authorization: `Bearer ${w.keys.write}`, 'content-type': 'text/csv' }, body: csv,
    })).then(async (response) => ({ status: response.status, text: await response.text() })).finally(() => (done = true));
    let seen = false;
    let polls = 0;
    while (!done && !seen) {
      const { text } = await w.query(`select * from query('select substr(content, 1, 80) as head from read_text(''${esc(esc(load))}'')')`, { key: w.keys.read });
      tally.add('sql sandbox');
      polls += 1;
      seen = text.includes(secret);
    }
    const refused = await upload;
    expect(refused.status, refused.text).toBe(422);
    if (seen) tally.bugs.push(`sandbox: a read key read an in-flight upload (after ${polls} polls)`);
    expect(seen, `read the in-flight upload after ${polls} polls`).toBe(false);
  }, 60_000);

  // Found by this suite, fixed (src/engine/statements.ts RULES: CALL is admin-only but not checked further): CALL enable_logging()
  // changes the instance-wide log settings despite lock_configuration; from then on every statement of every
  // key is kept in duckdb_logs, which a read key may SELECT (README: "the SQL itself is not kept: it may hold
  // secrets"); storage='stdout' prints it into the server's log, storage='file' outside the data dir aborts
  // the process (see the sealed binary below). Suggested fix: refuse enable_logging/disable_logging/
  // truncate_duckdb_logs like settings, and duckdb_logs/duckdb_log_contexts like file functions.
  it("a read key never sees another key's SQL text: instance-wide logging cannot be turned on, its log cannot be read", async () => {
    const secret = `OTHER-AGENT-SQL-${randomBytes(6).toString('hex')}`;
    for (const sql of ['call enable_logging()', "select * from enable_logging()", "call enable_logging(storage = 'stdout')"]) {
      const { status, body } = await w.query(sql, { key: w.keys.admin });
      tally.add('sql sandbox');
      expect({ sql, status, code: body?.error?.code }).toMatchObject({ status: 403 });
    }
    await w.query(`select '${secret}' as password`, { key: w.keys.write });
    for (const sql of ['select message from duckdb_logs', 'select * from duckdb_logs()']) {
      const { status, text } = await w.query(sql, { key: w.keys.read });
      tally.add('sql sandbox');
      expect(text.includes(secret)).toBe(false);
      expect(status).toBe(403);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
describe('header and content-type confusion (in process)', () => {
  let w: TestWarehouse;
  beforeAll(async () => {
    w = await openTestWarehouse();
  });
  afterAll(async () => w?.close());

  const body = '{"sql":"select 1 as one"}';
  const send = async (headers: HeadersInit, init: { body?: BodyInit; path?: string; method?: string } = {}) => {
    tally.add('headers');
    const response = await w.app.request(init.path ?? '/v1/query', { method: init.method ?? 'POST', headers, body: init.body ?? body });
    return { status: response.status, headers: response.headers, text: await response.text() };
  };

  it.each([
    ['two Content-Type headers, JSON first', [['content-type', 'application/json'], ['content-type', 'text/csv']]],
    ['two Content-Type headers, JSON second', [['content-type', 'text/csv'], ['content-type', 'application/json']]],
    ['Content-Type with charset=utf-16 on a UTF-8 body', [['content-type', 'application/json; charset=utf-16']]],
    ['Content-Type with an empty charset', [['content-type', 'application/json; charset=']]],
    ['Content-Type with a quoted charset', [['content-type', 'application/json; charset="utf-8"']]],
    ['Content-Type upper case', [['content-type', 'APPLICATION/JSON; CHARSET=UTF-8']]],
    ['Content-Type application/json-seq', [['content-type', 'application/json-seq']]],
    ['Content-Type application/jsonx', [['content-type', 'application/jsonx']]],
    ['Content-Type with parameters only', [['content-type', '; charset=utf-8']]],
    ['Content-Type 8 KiB long', [['content-type', `application/json; x=${'y'.repeat(8192)}`]]],
  ] as [string, [string, string][]][])('%s: 200 or a clean 4xx', async (_name, contentTypes) => {
    const answer = await send([...contentTypes, ['authorization', `Bearer ${w.keys.read}`]]);
    expectClean(answer, _name);
  });

  it.each([
    ['a UTF-16LE body declared as UTF-16', 'application/json; charset=utf-16', Buffer.from(body, 'utf16le'), 400],
    ['a UTF-8 BOM before the JSON', 'application/json', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)]), 'any'],
    ['Latin-1 bytes declared as Latin-1', 'application/json; charset=latin1', Buffer.from('{"sql":"select \'caf\xe9\' as x"}', 'latin1'), 'any'],
    ['invalid UTF-8 in the SQL string', 'application/json', Buffer.from([...Buffer.from('{"sql":"select \''), 0xff, 0xfe, ...Buffer.from('\' as x"}')]), 'any'],
    ['a NUL in the SQL string', 'application/json', Buffer.from('{"sql":"select \'a\\u0000b\' as x"}'), 'any'],
  ] as [string, string, Buffer, number | 'any'][])('%s: 200 or a clean 4xx', async (_name, contentType, bytes, expected) => {
    const answer = await send({ authorization: `Bearer ${w.keys.read}`, 'content-type': contentType }, { body: new Uint8Array(bytes) });
    expectClean(answer, _name);
    if (expected !== 'any') expect(answer.status).toBe(expected);
  });

  it.each([
    ['application/json;q=0, text/csv;q=0', 406], ['text/html', 406], ['garbage', 406], [';;;,,,', 406], ['q=1', 406], ['application/json;q=1.2.3', 406],
    ['application/json;q=abc', 200], ['*/*;q=0.1', 200], ['text/*', 200], ['application/x-ndjson;q=0.5, text/csv;q=0.9', 200], ['APPLICATION/JSON', 200],
    ['application/json;q=-1, text/csv', 200], [`${'a/b;q=0.5,'.repeat(2000)}application/json`, 200], ['application/json;q=0.5;q=0', 200],
  ] as [string, number][])('Accept: %s -> %i', async (accept, expected) => {
    const answer = await send({ authorization: `Bearer ${w.keys.read}`, 'content-type': 'application/json', accept });
    if (answer.status >= 400) expectClean(answer, accept);
    expect(answer.status, answer.text.slice(0, 200)).toBe(expected);
  });

  it('Authorization variants: only "Bearer <key>" (any case, any spacing) is accepted', async () => {
    const key = w.keys.read;
    const accepted = [`bearer ${key}`, `BEARER ${key}`, `Bearer    ${key}`, `Bearer ${key}   `, `Bearer\t${key}`, `  Bearer ${key}`];
    const refused = [`Bearer ${key}, Bearer ${w.keys.admin}`, `Basic ${Buffer.from(`x:${key}`).toString('base64')}`, 'Bearer', 'Bearer ', `Bearer ${key} ${key}`,
      `Token ${key}`, `Bearer${key}`, `Bearer "${key}"`, `Bearer ${key.toUpperCase()}`, `Bearer ${key.slice(0, -1)}`, `Bearer ${'x'.repeat(100_000)}`, key,
      `Bearer sk_000000000000_${'A'.repeat(43)}`, `Bearer ${key}\u00a0x`];
    for (const authorization of accepted) expect((await send({ authorization, 'content-type': 'application/json' })).status, authorization).toBe(200);
    for (const authorization of refused) {
      const answer = await send({ authorization, 'content-type': 'application/json' });
      expectClean(answer, authorization.slice(0, 40));
      expect(answer.status, authorization.slice(0, 60)).toBe(401);
    }
    // Two Authorization headers reach the app joined by ", ": refused, whichever is first.
    for (const pair of [[`Bearer ${key}`, 'Basic eDp5'], ['Basic eDp5', `Bearer ${key}`]]) {
      const answer = await send([['authorization', pair[0]!], ['authorization', pair[1]!], ['content-type', 'application/json']]);
      expect(answer.status).toBe(401);
    }
  });

  it('huge and odd headers: a clean answer, the request id replaced when it is not a plain token', async () => {
    for (const [name, value] of [['x-request-id', 'x'.repeat(10_000)], ['x-request-id', 'a b'], ['x-request-id', '../../x'], ['x-big', 'y'.repeat(1_000_000)], ['accept-charset', 'utf-7'], ['content-length', '999999999']]) {
      const answer = await send({ authorization: `Bearer ${w.keys.read}`, 'content-type': 'application/json', [name!]: value! });
      expectClean(answer, name!);
      if (name === 'x-request-id') expect(answer.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('a chunked (streamed) body of any chunking is read whole, and one past the limit gets 413', async () => {
    const stream = (parts: string[]) => new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of parts) controller.enqueue(new TextEncoder().encode(part));
        controller.close();
      },
    });
    const ok = await w.app.request('/v1/query', {
      method: 'POST', headers: { authorization: `Bearer ${w.keys.read}`, 'content-type': 'application/json' }, body: stream([...body]), duplex: 'half',
    } as RequestInit);
    expect(ok.status).toBe(200);
    const big = await w.app.request('/v1/query', {
      method: 'POST', headers: { authorization: `Bearer ${w.keys.read}`, 'content-type': 'application/json' },
      body: stream(Array.from({ length: 20 }, () => 'x'.repeat(65_536))), duplex: 'half',
    } as RequestInit);
    expectClean({ status: big.status, headers: big.headers, text: await big.text() }, 'chunked 1.3 MB');
    expect(big.status).toBe(413);
    tally.add('headers', 2);
  });
});

// ---------------------------------------------------------------------------------------------------
describe('the sealed skyduck-local with SKYDUCK_REQUEST_TIMEOUT=2s', () => {
  const exe = isolate('skyduck-local');
  const native = tempDir('hostile-native');
  const dataDir = tempDir('hostile-data');
  let server: Running;
  let port: number;
  /** Started as soon as the server listens (Node checks request timeouts on a timer that starts then). */
  let slow: { body: Promise<RawAnswer>; headers: Promise<RawAnswer>; silent: Promise<RawAnswer> };

  const CUT_WITHIN_MS = 5_000;
  const GIVE_UP_MS = 6_500;

  beforeAll(async () => {
    server = await serve(exe, { SKYDUCK_DATA_DIR: dataDir, SKYDUCK_NATIVE_CACHE: native, SKYDUCK_REQUEST_TIMEOUT: '2s' });
    port = Number(new URL(server.url).port);
    // A paced writer: the request line and headers at once, then one body byte every 200 ms, of a body
    // announced as 100 000 bytes; it would take 5.5 hours to finish.
    const body = rawHttp(port, (socket) => {
      socket.write(`POST /v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.key}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`);
      const timer = setInterval(() => socket.write('a'), 200);
      return () => clearInterval(timer);
    }, GIVE_UP_MS);
    // A paced writer that never finishes its headers: one more header line every 200 ms.
    const headers = rawHttp(port, (socket) => {
      socket.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n');
      let n = 0;
      const timer = setInterval(() => socket.write(`X-Slow-${n++}: y\r\n`), 200);
      return () => clearInterval(timer);
    }, GIVE_UP_MS);
    // A client that connects and sends nothing at all.
    const silent = rawHttp(port, () => () => undefined, GIVE_UP_MS);
    slow = { body, headers, silent };
    tally.add('slow clients', 3);
  }, 60_000);
  afterAll(async () => {
    if (server) await terminate(server, 15_000);
  });

  it('answers other clients while the slow ones hold their connections', async () => {
    for (let i = 0; i < 10; i++) {
      const started = Date.now();
      const response = await fetch(`${server.url}/v1/query`, {
        method: 'POST', headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' }, body: '{"sql":"select 42 as x"}',
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ rows: [[42]] });
      expect(Date.now() - started).toBeLessThan(2_000);
    }
  });

  // Found by this suite, fixed (src/commands/serve.ts): requestTimeout/headersTimeout are only enforced when Node's
  // connectionsCheckingInterval timer fires, every 30 s by default, so SKYDUCK_REQUEST_TIMEOUT=2s cuts a
  // slow client after 2 to 32 s (about 30 s right after start). Suggested fix: create the server with
  // createAdaptorServer({ fetch, serverOptions: { connectionsCheckingInterval: Math.min(1_000, requestTimeout / 2),
  // requestTimeout, headersTimeout } }) (the interval can only be given when the server is made).
  it(`cuts a client that trickles its body one byte every 200 ms within ${CUT_WITHIN_MS} ms (408 or closed)`, async () => {
    const answer = await slow.body;
    if (answer.ended === 'deadline') tally.bugs.push(`slow-loris: a trickled body was not cut within ${GIVE_UP_MS} ms`);
    expect(answer.ended, answer.text.slice(0, 100)).toBe('closed');
    expect(answer.ms).toBeLessThanOrEqual(CUT_WITHIN_MS);
    expect([408, undefined]).toContain(answer.status);
  }, 15_000);

  it(`cuts a client that never finishes its headers within ${CUT_WITHIN_MS} ms (headersTimeout = min(60 s, 2 s))`, async () => {
    for (const answer of [await slow.headers, await slow.silent]) {
      if (answer.ended === 'deadline') tally.bugs.push(`slow-loris: unfinished headers were not cut within ${GIVE_UP_MS} ms`);
      expect(answer.ended).toBe('closed');
      expect(answer.ms).toBeLessThanOrEqual(CUT_WITHIN_MS);
      expect([408, undefined]).toContain(answer.status);
    }
  }, 15_000);

  const chunked = (parts: string[]) => `${parts.map((part) => `${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`).join('')}0\r\n\r\n`;
  const json = '{"sql":"select 1 as one"}';
  const post = (headers: string, payload = json) => `POST /v1/query HTTP/1.1\r\nHost: x\r\n${headers}Connection: close\r\n\r\n${payload}`;
  const auth = () => `Authorization: Bearer ${server.key}\r\n`;
  const length = `Content-Length: ${json.length}\r\n`;
  const RAW: [name: string, request: () => string | Buffer, allowed: number[]][] = [
    ['chunked body', () => post(`${auth()}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n`, chunked(['{"sql":', '"select 1', ' as one"}'])), [200]],
    ['chunked body with chunk extensions', () => post(`${auth()}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n`, `${json.length.toString(16)};ext=1\r\n${json}\r\n0\r\n\r\n`), [200]],
    ['chunked and Content-Length together', () => post(`${auth()}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n${length}`, chunked([json])), [400]],
    ['a chunk size that is not hex', () => post(`${auth()}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n`, `zz\r\n${json}\r\n0\r\n\r\n`), [400]],
    ['a chunked body past SKYDUCK_MAX_BODY_BYTES', () => post(`${auth()}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n`, chunked(Array.from({ length: 20 }, () => 'x'.repeat(65_536)))), [413]],
    ['Transfer-Encoding: identity', () => post(`${auth()}Content-Type: application/json\r\nTransfer-Encoding: identity\r\n`), [400]],
    ['Content-Length of 1 GB with a small body', () => post(`${auth()}Content-Type: application/json\r\nContent-Length: 1000000000\r\n`), [413]],
    ['Content-Length -1', () => post('Content-Type: application/json\r\nContent-Length: -1\r\n', ''), [400]],
    ['two Content-Length values', () => post(`Content-Type: application/json\r\nContent-Length: ${json.length}, ${json.length + 1}\r\n`), [400]],
    ['Content-Length twice', () => post(`${auth()}Content-Type: application/json\r\n${length}${length}`), [400]],
    ['two Content-Type headers', () => post(`${auth()}Content-Type: text/plain\r\nContent-Type: application/json\r\n${length}`), [415]],
    ['two Authorization headers', () => post(`${auth()}Authorization: Basic eDp5\r\nContent-Type: application/json\r\n${length}`), [401]],
    ['lower-case bearer', () => post(`authorization: bearer ${server.key}\r\nContent-Type: application/json\r\n${length}`), [200]],
    ['a 20 KB header', () => post(`X-Big: ${'x'.repeat(20_000)}\r\nContent-Length: 0\r\n`, ''), [431]],
    ['a 20 KB URL', () => `GET /v1/tables/${'x'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, [431]],
    ['3000 headers', () => `GET /v1/health HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-${i}: y\r\n`).join('')}Connection: close\r\n\r\n`, [431]],
    ['an obs-fold continuation line', () => post(`Authorization: Bearer\r\n ${server.key}\r\nContent-Type: application/json\r\n${length}`), [400]],
    ['a NUL in a header value', () => post('X-A: a\u0000b\r\nContent-Length: 0\r\n', ''), [400]],
    ['Latin-1 bytes in the Authorization header', () => Buffer.concat([Buffer.from('POST /v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer '), Buffer.from([0xe9, 0xff, 0x80]), Buffer.from(`\r\nContent-Type: application/json\r\n${length}Connection: close\r\n\r\n${json}`)]), [401]],
    ['UTF-8 in the Content-Type', () => post(`${auth()}Content-Type: application/jsön\r\n${length}`), [415]],
    ['no Host header', () => 'POST /v1/query HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n', [400]],
    ['an absolute-form request target', () => `POST http://evil.example/v1/query HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\n${length}Connection: close\r\n\r\n${json}`, [200]],
    ['a request line that is not HTTP', () => 'HELLO\r\n\r\n', [400]],
    ['a header name with a space', () => 'GET /v1/health HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\nConnection: close\r\n\r\n', [400]],
    ['an unknown method', () => 'FOO /v1/query HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', [400]],
    ['Expect: 100-continue', () => post(`${auth()}Content-Type: application/json\r\n${length}Expect: 100-continue\r\n`), [100, 200]],
    ['an unknown expectation', () => post(`${auth()}Content-Type: application/json\r\n${length}Expect: teapot\r\n`), [417]],
    ['../ in the raw path', () => `GET /v1/tables/../../etc/passwd HTTP/1.1\r\nHost: x\r\n${auth()}Connection: close\r\n\r\n`, [404]],
    ['%2f in the path', () => `GET /v1/tables/..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\n${auth()}Connection: close\r\n\r\n`, [400]],
    ['a backslash in the path', () => `GET /v1/tables/..\\..\\x HTTP/1.1\r\nHost: x\r\n${auth()}Connection: close\r\n\r\n`, [400]],
    ['an Accept of 14 KB', () => post(`${auth()}Accept: ${'a/b;q=0.5,'.repeat(1400)}\r\nContent-Type: application/json\r\n${length}`), [406]],
    ['a JSON body declared as UTF-16', () => post(`${auth()}Content-Type: application/json; charset=utf-16\r\n${length}`), [200, 400, 415]],
    ['two pipelined requests', () => `GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, [200]],
  ];

  it.each(RAW.map(([name, request, allowed]) => [name, request, allowed] as const))('%s: a clear answer, never 5xx', async (name, request, allowed) => {
    tally.add('headers');
    const answer = await rawHttp(port, request(), 5_000);
    expect(answer.ended, `${name}: no answer within 5 s`).toBe('closed');
    expect(answer.status, `${name}: ${answer.text.slice(0, 200)}`).toBeDefined();
    expect(allowed, `${name}: ${answer.text.slice(0, 300)}`).toContain(answer.status);
    expect(answer.text.includes(STACK)).toBe(false);
    const headers = rawHeaders(answer.text);
    if (answer.status! >= 400 && headers['content-type']?.startsWith('application/json')) {
      expectClean({ status: answer.status!, headers, text: rawBody(answer.text) }, name);
    }
  });

  // Found by this suite, fixed (src/engine/warehouse.ts ingest, src/engine/pipeline.ts toEngineError): when a client goes away in the
  // middle of an upload, the body stream fails with Node's "aborted" error, which has no DuckDB kind, so it
  // becomes a 500 "internal": the server logs request.failed at error level with a stack and the audit
  // ledger records outcome "internal" for what was the client's doing (the slow clients above do the same).
  // Suggested fix: map a failed request body (error.code ECONNRESET / message "aborted", or
  // request.signal.aborted) to a 4xx such as 400 client_closed_request (or 499), logged at info.
  it('a client that goes away in the middle of an upload is not logged as an internal failure (500 with a stack)', async () => {
    const before = server.stderr().length;
    tally.add('slow clients');
    await rawHttp(port, (socket) => {
      socket.write(`POST /v1/tables/gone HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.key}\r\nContent-Type: text/csv\r\nContent-Length: 100000\r\n\r\na\n1\n`);
      const timer = setTimeout(() => socket.destroy(), 300);
      return () => clearTimeout(timer);
    }, 3_000);
    const line = await until('the upload to be logged', () => server.stderr().slice(before).split('\n').find((l) => l.includes('"path":"/v1/tables/gone"')));
    const logged = JSON.parse(line) as { status: number };
    if (logged.status >= 500) tally.bugs.push(`a client going away mid-upload is logged as ${logged.status} with a stack`);
    expect(logged.status).toBeLessThan(500);
    expect(server.stderr().slice(before)).not.toContain('"event":"request.failed"');
  });

  it('is still up and answering after all of it, with nothing left in the spool', async () => {
    const response = await fetch(`${server.url}/v1/health`);
    expect(response.status).toBe(200);
    expect(server.child.exitCode).toBeNull();
    expect(fs.readdirSync(path.join(dataDir, 'spool'))).toEqual([]);
  });

  describe('a second server, for what brings a server down', () => {
    let victim: Running;
    const outside = tempDir('victim-outside');
    beforeAll(async () => {
      victim = await serve(exe, { SKYDUCK_DATA_DIR: tempDir('victim-data'), SKYDUCK_NATIVE_CACHE: native });
    }, 60_000);
    afterAll(() => {
      if (victim?.child.exitCode === null && victim.child.signalCode === null) victim.child.kill('SIGKILL');
    });
    const sql = async (text: string) => {
      tally.add('sql sandbox');
      const response = await fetch(`${victim.url}/v1/query`, {
        method: 'POST', headers: { authorization: `Bearer ${victim.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ sql: text }),
      });
      return { status: response.status, text: await response.text() };
    };

    // Found by this suite, fixed (src/cloud/local/storage.ts + src/snapshot/store.ts objectKey): a write key can create a table
    // whose name (legal in DuckDB: 300 characters, or 40 CJK ones) makes a path segment longer than
    // NAME_MAX; every snapshot then fails with ENAMETOOLONG, unmapped, so POST /v1/snapshots answers 500
    // and the exit snapshot fails too: one statement stops all backups. Suggested fix: name snapshot objects
    // by a hash or the table's oid (the manifest already maps names), and map ENAMETOOLONG to a typed error.
    it('a table with a long quoted name does not break snapshots (POST /v1/snapshots is not a 5xx)', async () => {
      expect((await sql(`create table "${'x'.repeat(300)}" as select 1 as a`)).status).toBe(200);
      const response = await fetch(`${victim.url}/v1/snapshots`, { method: 'POST', headers: { authorization: `Bearer ${victim.key}` } });
      const text = await response.text();
      tally.add('table names');
      if (response.status >= 500) tally.bugs.push(`snapshots: a 300-character table name makes POST /v1/snapshots answer ${response.status}`);
      expect(response.status, text).toBeLessThan(500);
    }, 30_000);

    // Found by this suite, fixed (src/engine/statements.ts RULES, CALL: admin): CALL enable_logging(storage = 'file', storage_path = <a
    // path outside the sandbox>) answers 200, then DuckDB's log writer throws a PermissionException on its
    // own thread and the whole process aborts (SIGABRT: "terminate called after throwing an instance of
    // 'duckdb::PermissionException'"): any admin key can kill the server. Suggested fix: refuse
    // enable_logging (and the other log functions) for every key, as settings are.
    it("an admin CALL enable_logging(storage = 'file') outside the sandbox is refused, and the server stays up", async () => {
      const answer = await sql(`call enable_logging(storage = 'file', storage_path = '${outside.replaceAll("'", "''")}/log')`);
      expect(answer.status).toBeLessThan(500);
      // The abort comes from DuckDB's log writer, at the next statement.
      await sql('select 1').catch(() => undefined);
      const exited = await until('the server to exit or answer', async () => {
        if (victim.child.exitCode !== null || victim.child.signalCode !== null) return 'exited';
        const health = await fetch(`${victim.url}/v1/health`).then((r) => r.status, () => 0);
        return health === 200 ? 'up' : undefined;
      }, 5_000);
      if (exited === 'exited' || victim.child.signalCode) {
        tally.bugs.push(`sandbox: CALL enable_logging(storage='file') outside the sandbox killed the server (${victim.child.signalCode ?? victim.child.exitCode})`);
      }
      expect(victim.child.signalCode).toBeNull();
      expect(victim.child.exitCode).toBeNull();
      expect((await sql('select 2 as two')).status).toBe(200);
      expect(walk(outside)).toEqual([]);
    }, 30_000);
  });
});
