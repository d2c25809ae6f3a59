// The warehouse as an agent and an operator meet it, against the sealed skyduck-local run alone in an empty
// directory with `env -i`: keys made by the CLI, a CSV uploaded and queried in each format, scopes and the
// sandbox enforced, bad requests answered with clear JSON errors, keys revoked live, and the audit ledger
// verified and then caught out after a row was changed on disk.
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dataDirOf, isolate, type Running, runToEnd, serve, tempDir, terminate, until } from '../support/process.ts';

const exe = isolate('skyduck-local');
// No SKYDUCK_DATA_DIR: the data dir is skyduck-data beside the binary, in its otherwise empty directory.
const env = { SKYDUCK_NATIVE_CACHE: tempDir('native') };
const dataDir = dataDirOf(exe, env);
const KEY = /^sk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/;

const SALES_CSV = [
  'region,product,amount,sold_on,units',
  'north,widget,10.5,2026-01-02,3',
  'south,"gadget, ""large""",20.25,2026-01-03,1',
  'east,gizmo,7,2026-01-04,12',
  'west,widget,0.5,2026-01-05,100',
  '',
].join('\n');
const SALES_ROWS = [
  ['east', 'gizmo', 7, '2026-01-04', '12'],
  ['north', 'widget', 10.5, '2026-01-02', '3'],
  ['south', 'gadget, "large"', 20.25, '2026-01-03', '1'],
  ['west', 'widget', 0.5, '2026-01-05', '100'],
];

interface Answer {
  status: number;
  contentType: string;
  text: string;
}

interface Call {
  method?: string;
  key?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array | ReadableStream<Uint8Array>;
}

async function call(url: string, route: string, { method, key, headers = {}, body }: Call = {}): Promise<Answer> {
  const response = await fetch(`${url}${route}`, {
    method: method ?? (body === undefined ? 'GET' : 'POST'),
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body,
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text() };
}

const sql = (url: string, key: string | undefined, statement: string, accept?: string) =>
  call(url, '/v1/query', {
    key,
    headers: { 'content-type': 'application/json', ...(accept ? { accept } : {}) },
    body: JSON.stringify({ sql: statement }),
  });

/** A 4xx (or other) refusal in the API's one error shape, with no stack trace; returns the error object. */
function refusal(answer: Answer, status: number, code?: string): { code: string; message: string; position?: { line: number; column: number } } {
  expect(answer.status, answer.text.slice(0, 500)).toBe(status);
  expect(answer.contentType).toMatch(/^application\/json/);
  const body = JSON.parse(answer.text);
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toEqual(expect.objectContaining({ code: expect.any(String), message: expect.any(String) }));
  if (code) expect(body.error.code).toBe(code);
  expect(body.error.message).not.toMatch(/\n\s+at /);
  expect(answer.text).not.toMatch(/\\n\s+at /);
  return body.error;
}

async function rowCount(url: string, key: string, table: string): Promise<number> {
  const answer = await sql(url, key, `select count(*) from ${table}`);
  expect(answer.status, answer.text).toBe(200);
  return Number(JSON.parse(answer.text).rows[0][0]);
}

async function healthy(url: string): Promise<void> {
  const answer = await call(url, '/v1/health');
  expect(answer.status).toBe(200);
  expect(JSON.parse(answer.text)).toEqual({ status: 'ok' });
}

/** RFC 4180 records; a CRLF or LF ends a record outside quotes. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char !== '"') field += char;
      else if (text[i + 1] === '"') (field += '"'), (i += 1);
      else quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === ',') record.push(field), (field = '');
    else if (char === '\n') record.push(field), records.push(record), (record = []), (field = '');
    else if (char !== '\r') field += char;
  }
  if (field || record.length) record.push(field), records.push(record);
  return records;
}

const ingestFiles = (dir: string) => (fs.existsSync(path.join(dir, 'tmp')) ? fs.readdirSync(path.join(dir, 'tmp')).filter((name) => name.startsWith('ingest-')) : []);

describe('skyduck-local warehouse, end to end', () => {
  let running: Running;
  let url: string;
  let admin: string;
  let reader: string;
  let writer: string;

  beforeAll(async () => {
    running = await serve(exe, env);
    url = running.url;
    // The key file is written just after the listening line: wait for the line that names it.
    await until('the initial admin key line', () => (running.stdout().includes('initial-admin-key') ? true : undefined));
    admin = fs.readFileSync(path.join(dataDir, 'initial-admin-key'), 'utf8').trim();
  });

  afterAll(async () => {
    if (running && running.child.exitCode === null && running.child.signalCode === null) await terminate(running);
  });

  it('first start leaves the admin key in a 0600 file and prints its path, never the key', () => {
    const file = path.join(dataDir, 'initial-admin-key');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(admin).toMatch(KEY);
    expect(running.stdout()).toContain(file);
    expect(running.stdout()).not.toContain(admin);
    expect(running.stderr()).not.toContain(admin);
    expect(fs.statSync(path.join(dataDir, 'keys.json')).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(dataDir, 'keys.json'), 'utf8')).not.toContain(admin.slice(16));
  });

  it('keys create prints exactly the key on stdout, the words around it on stderr', async () => {
    const made: string[] = [];
    for (const [scope, agent] of [['read', 'reader'], ['write', 'writer']]) {
      const { code, stdout, stderr } = await runToEnd(exe, ['keys', 'create', '--scope', scope!, '--agent', agent!], env);
      expect(code, stderr).toBe(0);
      expect(stdout).toMatch(new RegExp(`^${KEY.source.slice(1, -1)}\\n$`));
      const key = stdout.trim();
      expect(stderr).toContain(`created key ${key.slice(3, 15)} for agent ${agent} (scope ${scope})`);
      expect(stderr).not.toContain(key);
      made.push(key);
    }
    [reader, writer] = made as [string, string];
    expect(new Set([admin, reader, writer]).size).toBe(3);
  });

  it('ingests a CSV with the write key and answers the same values as JSON, NDJSON and CSV to the read key', async () => {
    const loaded = await call(url, '/v1/tables/sales', { key: writer, headers: { 'content-type': 'text/csv' }, body: SALES_CSV });
    expect(loaded.status, loaded.text).toBe(200);
    expect(JSON.parse(loaded.text)).toEqual({ table: 'sales', created: true, rows_added: 4, rows_total: 4 });

    const statement = 'select region, product, amount, sold_on, units from sales order by region';
    const json = await sql(url, reader, statement);
    expect(json.status, json.text).toBe(200);
    expect(json.contentType).toMatch(/^application\/json/);
    const result = JSON.parse(json.text);
    expect(result.columns).toEqual([
      { name: 'region', type: 'VARCHAR' }, { name: 'product', type: 'VARCHAR' }, { name: 'amount', type: 'DOUBLE' },
      { name: 'sold_on', type: 'DATE' }, { name: 'units', type: 'BIGINT' },
    ]);
    expect(result.rows).toEqual(SALES_ROWS);
    expect(result.row_count).toBe(4);
    expect(result.truncated).toBe(false);
    const names = result.columns.map((column: { name: string }) => column.name);
    const asText = (rows: unknown[][]) => rows.map((row) => row.map((value) => String(value)));

    const ndjson = await sql(url, reader, statement, 'application/x-ndjson');
    expect(ndjson.status, ndjson.text).toBe(200);
    expect(ndjson.contentType).toMatch(/^application\/x-ndjson/);
    const objects = ndjson.text.trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(objects.map((object) => Object.keys(object))).toEqual(SALES_ROWS.map(() => names));
    // The same JSON values, typed the same way (BIGINT as a string, DOUBLE as a number).
    expect(objects.map((object) => names.map((name: string) => object[name]))).toEqual(result.rows);

    const csv = await sql(url, reader, statement, 'text/csv');
    expect(csv.status, csv.text).toBe(200);
    expect(csv.contentType).toMatch(/^text\/csv/);
    const [header, ...records] = parseCsv(csv.text);
    expect(header).toEqual(names);
    expect(records).toEqual(asText(result.rows));
  });

  it('refuses INSERT to the read key with 403 insufficient_scope, and the table is unchanged', async () => {
    const error = refusal(await sql(url, reader, "insert into sales values ('x', 'y', 1, '2026-02-01', 1)"), 403, 'insufficient_scope');
    expect(error.message).toMatch(/write scope/);
    expect(await rowCount(url, reader, 'sales')).toBe(4);
  });

  it('refuses read_text of /etc/passwd to every key, never showing the file', async () => {
    for (const [who, key] of [['read', reader], ['write', writer], ['admin', admin]]) {
      const answer = await sql(url, key, "select * from read_text('/etc/passwd')");
      refusal(answer, 403);
      expect(answer.text, who).not.toContain('root:');
    }
  });

  it.each([
    ['select 1; insert into sales values (\'x\', \'y\', 1, \'2026-02-01\', 1)', 'INSERT'],
    ['select 1; drop table sales', 'DROP'],
  ])('refuses %j whole to the read key and changes nothing', async (statement, type) => {
    const error = refusal(await sql(url, reader, statement), 403, 'insufficient_scope');
    expect(error.message).toContain(`statement 2 of 2 (${type})`);
    expect(error.message).toContain('nothing in the request was run');
    expect(await rowCount(url, reader, 'sales')).toBe(4);
    const described = await call(url, '/v1/tables/sales', { key: reader });
    expect(described.status, described.text).toBe(200);
    expect(JSON.parse(described.text).row_count).toBe(4);
  });

  describe('bad input: a clear 4xx JSON error, and the server stays up', () => {
    afterEach(async () => healthy(url));

    it('malformed JSON body → 400 invalid_json', async () => {
      const answer = await call(url, '/v1/query', { key: reader, headers: { 'content-type': 'application/json' }, body: '{"sql": "select 1"' });
      refusal(answer, 400, 'invalid_json');
    });

    it('a body without sql → 400 naming sql', async () => {
      const answer = await call(url, '/v1/query', { key: reader, headers: { 'content-type': 'application/json' }, body: '{"query": "select 1"}' });
      const error = refusal(answer, 400, 'invalid_request');
      expect(error.message).toMatch(/\bsql\b/);
    });

    it("a syntax error → 400 with DuckDB's message and the position", async () => {
      const error = refusal(await sql(url, reader, 'select 1 from sales wher region = 1'), 400, 'query_error');
      expect(error.message).toMatch(/syntax error at or near "region"/);
      expect(error.position).toEqual({ line: 1, column: 26 });
    });

    it('SQL with no statement (only a comment or semicolons) → 400', async () => {
      for (const text of ['-- nothing', ';', '/* x */']) refusal(await sql(url, reader, text), 400, 'invalid_request');
    });

    it('an unknown table → 400 naming it', async () => {
      const error = refusal(await sql(url, reader, 'select * from no_such_table'), 400, 'query_error');
      expect(error.message).toContain('no_such_table');
    });

    it('a 60 MB query body → 413', async () => {
      const body = JSON.stringify({ sql: `select '${'x'.repeat(60_000_000)}'` });
      let answer: Answer | undefined;
      let failure: unknown;
      try {
        answer = await call(url, '/v1/query', { key: reader, headers: { 'content-type': 'application/json' }, body });
      } catch (error) {
        failure = error;
      }
      if (answer) {
        const error = refusal(answer, 413, 'payload_too_large');
        expect(error.message).toContain('SKYDUCK_MAX_BODY_BYTES');
      } else {
        // Only when no status could be read: the server may close the connection before the upload ends.
        const cause = (failure as { cause?: { code?: string; message?: string } }).cause;
        expect(`${cause?.code} ${cause?.message}`).toMatch(/ECONNRESET|EPIPE|other side closed|socket/i);
      }
    });

    it('a bad CSV row → 422 naming its line, and the table unchanged', async () => {
      const before = await rowCount(url, reader, 'sales');
      const body = 'region,product,amount,sold_on,units\nnorth,widget,1,2026-03-01,1\nsouth,widget,2,2026-03-02\n';
      const error = refusal(await call(url, '/v1/tables/sales', { key: writer, headers: { 'content-type': 'text/csv' }, body }), 422, 'invalid_csv');
      expect(error.message).toMatch(/line 3\b/i);
      expect(error.message).not.toContain(dataDir);
      expect(await rowCount(url, reader, 'sales')).toBe(before);
      expect(ingestFiles(dataDir)).toEqual([]);
    });

    it('a table name that is a path (../../etc) → 400 invalid_table_name, to upload and to describe', async () => {
      const route = '/v1/tables/..%2F..%2Fetc';
      refusal(await call(url, route, { key: writer, headers: { 'content-type': 'text/csv' }, body: 'a\n1\n' }), 400, 'invalid_table_name');
      refusal(await call(url, route, { key: reader }), 400, 'invalid_table_name');
      const tables = JSON.parse((await call(url, '/v1/tables', { key: reader })).text).tables;
      expect(tables.map((table: { name: string }) => table.name)).toEqual(['sales']);
    });

    it('an unknown route → 404 JSON', async () => {
      const error = refusal(await call(url, '/v1/nowhere', { key: reader }), 404, 'not_found');
      expect(error.message).toContain('/v1/nowhere');
    });

    it('no key → 401', async () => {
      refusal(await sql(url, undefined, 'select 1'), 401, 'unauthenticated');
      refusal(await call(url, '/v1/tables'), 401, 'unauthenticated');
    });

    it('an Accept skyduck cannot produce → 406', async () => {
      const error = refusal(await sql(url, reader, 'select 1', 'application/vnd.apache.arrow.stream'), 406, 'not_acceptable');
      expect(error.message).toContain('application/x-ndjson');
    });
  });

  it('keys list --json shows every key and no secret; keys revoke locks a key out of the running server', async () => {
    const made = await runToEnd(exe, ['keys', 'create', '--scope', 'read', '--agent', 'short-lived'], env);
    expect(made.code, made.stderr).toBe(0);
    const temporary = made.stdout.trim();
    const id = temporary.slice(3, 15);
    expect((await sql(url, temporary, 'select 1')).status).toBe(200);

    const listed = await runToEnd(exe, ['keys', 'list', '--json'], env);
    expect(listed.code, listed.stderr).toBe(0);
    const keys = JSON.parse(listed.stdout) as Record<string, string>[];
    expect(keys.map(({ agent, scope, status }) => [agent, scope, status])).toEqual([
      ['admin', 'admin', 'active'], ['reader', 'read', 'active'], ['writer', 'write', 'active'], ['short-lived', 'read', 'active'],
    ]);
    for (const key of keys) expect(Object.keys(key).sort()).toEqual(['agent', 'created', 'id', 'scope', 'status']);
    expect(keys.map((key) => key.id)).toEqual([admin, reader, writer, temporary].map((key) => key.slice(3, 15)));
    for (const secret of [admin, reader, writer, temporary]) expect(listed.stdout).not.toContain(secret.slice(16));
    expect(listed.stdout).not.toMatch(/salt|hash/);

    const revoked = await runToEnd(exe, ['keys', 'revoke', id], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`revoked key ${id} (agent short-lived)`);
    const error = refusal(await sql(url, temporary, 'select 1'), 401, 'unauthenticated');
    expect(error.message).toMatch(/revoked/);
    expect((await sql(url, reader, 'select 1')).status).toBe(200);

    const after = JSON.parse((await runToEnd(exe, ['keys', 'list', '--json'], env)).stdout) as Record<string, string>[];
    expect(after.find((key) => key.id === id)).toEqual(expect.objectContaining({ status: 'revoked', revoked: expect.any(String) }));
  });

  it('GET /v1/audit lists the requests of each agent, for the admin key only, without SQL text', async () => {
    refusal(await call(url, '/v1/audit', { key: reader }), 403, 'insufficient_scope');
    const answer = await call(url, '/v1/audit?limit=10000', { key: admin });
    expect(answer.status, answer.text).toBe(200);
    const rows = JSON.parse(answer.text).rows as { seq: number; agent: string; statementType: string; outcome: string }[];
    expect(rows.map((row) => row.seq)).toEqual(rows.map((_, i) => i + 1));
    expect(new Set(rows.map((row) => row.agent))).toEqual(new Set(['admin', 'reader', 'writer', 'short-lived']));
    expect(rows).toContainEqual(expect.objectContaining({ agent: 'writer', statementType: 'INGEST', outcome: 'ok' }));
    expect(rows).toContainEqual(expect.objectContaining({ agent: 'writer', statementType: 'INGEST', outcome: 'invalid_csv' }));
    // Refused requests are recorded too, with the statement type that was refused.
    expect(rows).toContainEqual(expect.objectContaining({ agent: 'reader', statementType: 'INSERT', outcome: 'insufficient_scope' }));
    expect(rows).toContainEqual(expect.objectContaining({ agent: 'admin', outcome: 'sandbox' }));
    expect(answer.text).not.toMatch(/read_text|passwd|no_such_table/);
  });

  it('stops on SIGTERM with exit 0, having logged no failed request; audit verify passes, then names the row changed on disk', async () => {
    expect(await terminate(running)).toBe(0);
    // Every refusal above was the client's fault: none may have reached the server log as an internal error.
    expect(running.stderr()).not.toMatch(/request.failed|unexpected failure|\n\s+at /);

    const intact = await runToEnd(exe, ['audit', 'verify'], env);
    expect(intact.code, intact.stderr).toBe(0);
    expect(intact.stdout).toMatch(/^audit ledger OK: \d+ rows, chain intact\n$/);
    const total = Number(/OK: (\d+) rows/.exec(intact.stdout)![1]);
    expect(total).toBeGreaterThan(10);

    // The server is stopped, so the ledger file is free: change one row in the middle as an intruder would.
    const seq = Math.ceil(total / 2);
    const instance = await DuckDBInstance.create(path.join(dataDir, 'system.duckdb'));
    try {
      const connection = await instance.connect();
      const [before] = (await connection.runAndReadAll('select rows, outcome from audit_log where seq = $1', [BigInt(seq)])).getRowObjectsJS();
      expect(before).toBeDefined();
      await connection.run(
        "update audit_log set rows = rows + 1000, outcome = case when outcome = 'ok' then 'insufficient_scope' else 'ok' end where seq = $1",
        [BigInt(seq)],
      );
      const [after] = (await connection.runAndReadAll('select rows, outcome from audit_log where seq = $1', [BigInt(seq)])).getRowObjectsJS();
      expect(after).not.toEqual(before);
      connection.closeSync();
    } finally {
      instance.closeSync();
    }

    const broken = await runToEnd(exe, ['audit', 'verify'], env);
    expect(broken.code, broken.stderr).toBe(1);
    expect(broken.stdout).toMatch(new RegExp(`^audit ledger BROKEN at row ${seq}: hash does not match`));
  });
});

describe('skyduck-local upload limit', () => {
  it('refuses a 60 MB CSV over SKYDUCK_MAX_INGEST_BYTES=50MB with 413, making no table and leaving no spool file', async () => {
    const limitedEnv = { ...env, SKYDUCK_DATA_DIR: tempDir('limited'), SKYDUCK_MAX_INGEST_BYTES: '50MB' };
    const limited = await serve(exe, limitedEnv);
    try {
      const dir = limitedEnv.SKYDUCK_DATA_DIR;
      await until('the initial admin key file', () => (limited.stdout().includes('initial-admin-key') ? true : undefined));
      const key = fs.readFileSync(path.join(dir, 'initial-admin-key'), 'utf8').trim();
      const line = 'north,widget,10.5,2026-01-02,3\n';
      const csv = Buffer.from(`region,product,amount,sold_on,units\n${line.repeat(Math.ceil(60_000_000 / line.length))}`);
      expect(csv.byteLength).toBeGreaterThan(60_000_000);

      // With Content-Length: refused before the body is read.
      const sized = await call(limited.url, '/v1/tables/x', { key, headers: { 'content-type': 'text/csv' }, body: csv });
      expect(refusal(sized, 413, 'payload_too_large').message).toContain('SKYDUCK_MAX_INGEST_BYTES');

      // Chunked, with no length to look at: refused while spooling, and the partial spool file removed.
      let offset = 0;
      const chunked = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (offset >= csv.byteLength) return controller.close();
          controller.enqueue(csv.subarray(offset, offset + (1 << 20)));
          offset += 1 << 20;
        },
      });
      const streamed = await call(limited.url, '/v1/tables/x', { key, headers: { 'content-type': 'text/csv' }, body: chunked });
      expect(refusal(streamed, 413, 'payload_too_large').message).toContain('SKYDUCK_MAX_INGEST_BYTES');

      await healthy(limited.url);
      refusal(await call(limited.url, '/v1/tables/x', { key }), 404, 'table_not_found');
      expect(ingestFiles(dir)).toEqual([]);
      expect(limited.stderr()).not.toMatch(/request.failed|unexpected failure/);
    } finally {
      expect(await terminate(limited)).toBe(0);
    }
  });
});
