// A table of statements and the scope each needs: every row runs through a whole warehouse (classify by DuckDB's
// parser, authorize, guard, sandbox) with the read, write and admin keys. Then the pure functions of statements.ts.
import fs from 'node:fs';
import path from 'node:path';
import { StatementType } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../../src/engine/errors.ts';
import {
  authorize, FILE_FUNCTIONS, fileAccessIn, isRead, mayReadFiles, ruleFor, RULES, statementTypeName, type StatementTypeName,
} from '../../src/engine/statements.ts';
import { type Scope, SCOPES, scopeAllows } from '../../src/engine/types.ts';
import { tempDir } from '../support/process.ts';
import { openTestWarehouse, type TestWarehouse } from '../support/warehouse.ts';

type Outcome = Scope | 'refused';

let w: TestWarehouse;
/** A directory outside the sandbox: refused statements that name it must leave it empty. */
const outside = tempDir('outside');

beforeAll(async () => {
  w = await openTestWarehouse();
  // The objects the table's statements name, so allowed statements succeed instead of failing on a missing object.
  for (const sql of [
    "create table t (a int, b varchar); insert into t values (1, 'x'), (2, 'y')",
    'create table t2 (a int primary key, b varchar)',
    'create sequence s',
    'create view v as select * from t',
    'create macro m(x) as x + 1',
  ]) {
    const { status, text } = await w.query(sql, { key: w.keys.admin });
    expect(status, `${sql}: ${text}`).toBe(200);
  }
});
afterAll(() => w.close());

// Statements are idempotent (IF [NOT] EXISTS, OR REPLACE) so the write and then the admin key can both run them.
// OUTSIDE stands for a directory outside the sandbox (a new temp dir per run).
const STATEMENTS: [sql: string, outcome: Outcome][] = [
  // read: SELECT and what DuckDB rewrites into one (DESCRIBE, SHOW, SUMMARIZE, read-only PRAGMAs), EXPLAIN
  ['select * from t', 'read'],
  ['with x as (select a from t) select * from x', 'read'],
  ['from t', 'read'],
  ['from t select a where a > 0', 'read'],
  ['values (1), (2)', 'read'],
  ['select m(a) from v', 'read'],
  ['describe t', 'read'],
  ['show tables', 'read'],
  ['show all tables', 'read'],
  ['summarize t', 'read'],
  ["pragma table_info('t')", 'read'],
  ['pragma show_tables', 'read'],
  ['pragma database_size', 'read'],
  ['explain select * from t', 'read'],
  ['explain analyze select * from t', 'read'],
  ["pivot t on b in ('x', 'y') using sum(a)", 'read'],
  ['unpivot (select 1 as x, 2 as y) on x, y', 'read'],
  ['select table_name from duckdb_tables()', 'read'],
  // Dynamic SQL and instance-wide logging are refused for every key (statements.ts FILE_FUNCTIONS).
  ["select * from query_table('t')", 'refused'],
  ["select * from query('select 1')", 'refused'],
  ['select * from enable_logging()', 'refused'],
  ['select * from duckdb_logs()', 'refused'],
  // write: DML, DDL, ANALYZE/VACUUM, and reads that write (nextval, EXPLAIN ANALYZE of a write: the READ ONLY transaction)
  ["insert into t values (3, 'z')", 'write'],
  ["update t set b = 'w' where a = 3", 'write'],
  ['delete from t where a = 3', 'write'],
  ["merge into t2 using (select 1 as a, 'q' as b) src on t2.a = src.a when matched then update set b = src.b when not matched then insert values (src.a, src.b)", 'write'],
  ["insert or replace into t2 values (1, 'r')", 'write'],
  ['truncate t2', 'write'],
  ['create table if not exists c1 (a int)', 'write'],
  ['create or replace table c2 as select * from t', 'write'],
  ['create or replace view v2 as select 1 as x', 'write'],
  ['create or replace macro m2(x) as x * 2', 'write'],
  ['create or replace macro tm() as table select 1 as x', 'write'],
  ['create schema if not exists sch', 'write'],
  ['create sequence if not exists s2', 'write'],
  ["create type if not exists mood as enum ('sad', 'happy')", 'write'],
  ['create index if not exists i1 on t2 (b)', 'write'],
  ['drop table if exists nothere', 'write'],
  ['drop view if exists nothere', 'write'],
  ['drop sequence if exists nothere', 'write'],
  ['drop macro if exists nothere', 'write'],
  ['drop schema if exists nothere', 'write'],
  ['alter table t2 add column if not exists c int', 'write'],
  ["comment on table t is 'hello'", 'write'],
  ['analyze', 'write'],
  ['analyze t', 'write'],
  ['vacuum t', 'write'],
  ["select nextval('s')", 'write'],
  ["explain analyze insert into t values (9, 'z')", 'write'],
  // admin: CALL (CHECKPOINT is one) and PRAGMAs that change how the connection behaves
  ['checkpoint', 'admin'],
  ['force checkpoint', 'admin'],
  ['call pragma_version()', 'admin'],
  ["call pragma_table_info('t')", 'admin'],
  ['pragma enable_profiling', 'admin'],
  ['pragma disable_profiling', 'admin'],
  // refused for every key: transactions, prepared statements, settings, extensions, databases, files
  ['begin', 'refused'],
  ['begin transaction', 'refused'],
  ['commit', 'refused'],
  ['rollback', 'refused'],
  ['prepare p as select 1', 'refused'],
  ['set threads = 2', 'refused'],
  ["set memory_limit = '1GB'", 'refused'],
  ['reset threads', 'refused'],
  ['pragma threads = 2', 'refused'],
  ['set variable x = 1', 'refused'],
  ['reset variable x', 'refused'],
  ['use memory', 'refused'],
  ['install httpfs', 'refused'],
  ['load httpfs', 'refused'],
  ['update extensions', 'refused'],
  ["attach ':memory:' as mem", 'refused'],
  ["attach 'OUTSIDE/other.duckdb' as other", 'refused'],
  ['detach mem', 'refused'],
  ["copy t to 'OUTSIDE/t.csv'", 'refused'],
  ["copy t from '/etc/hosts'", 'refused'],
  ["copy (select 1) to 'OUTSIDE/one.parquet' (format parquet)", 'refused'],
  ["export database 'OUTSIDE/export'", 'refused'],
  ["import database 'OUTSIDE/export'", 'refused'],
  ["select * from read_text('/etc/passwd')", 'refused'],
  ["select * from read_csv('/etc/hosts')", 'refused'],
  ["select * from glob('/etc/*')", 'refused'],
  ["select * from parquet_scan('/tmp/x.parquet')", 'refused'],
  ["select * from read_blob('/etc/hostname')", 'refused'],
  ["from read_json('/etc/x.json')", 'refused'],
  ["select * from sniff_csv('/etc/hosts')", 'refused'],
  ["select * from 'data.csv'", 'refused'],
  ["select * from t where a in (select len(content) from read_text('/etc/passwd'))", 'refused'],
  ["create table c3 as select * from read_csv('/etc/hosts')", 'refused'],
  ["insert into t select 1, content from read_text('/etc/passwd')", 'refused'],
  ['select * from duckdb_extensions()', 'refused'],
];

describe('a table of statements and the scope each needs', () => {
  it.each(STATEMENTS)('%s needs %s', async (sql, outcome) => {
    for (const scope of SCOPES) {
      const { status, body, text } = await w.query(sql.replace('OUTSIDE', outside), { key: w.keys[scope] });
      const as = `${sql} with the ${scope} key: ${text}`;
      if (outcome === 'refused') {
        expect(status, as).toBe(403);
        expect(['statement_refused', 'sandbox'], as).toContain(body.error.code);
      } else if (scopeAllows(scope, outcome)) {
        expect(status, as).toBe(200);
      } else {
        expect(status, as).toBe(403);
        expect(body.error.code, as).toBe('insufficient_scope');
        expect(body.error.message, as).toContain(`needs a key with ${outcome} scope; this key has ${scope} scope`);
      }
    }
  });

  it('covers every statement outcome and has about fifty statements', () => {
    expect(STATEMENTS.length).toBeGreaterThanOrEqual(50);
    expect(new Set(STATEMENTS.map(([, outcome]) => outcome))).toEqual(new Set(['read', 'write', 'admin', 'refused']));
  });

  it('wrote nothing outside the sandbox for the refused statements', () => {
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it('left the read key unable to change anything: rows only from the write and admin keys', async () => {
    // Each write row ran once with the write key and once with the admin key; the read key's attempts changed nothing.
    const { body } = await w.query("select count(*) from t where a = 9", { key: w.keys.read });
    expect(body.rows).toEqual([['2']]);
    const next = await w.query("select nextval('s') as n", { key: w.keys.write });
    expect(next.body.rows).toEqual([['3']]);
  });

  it('refuses EXECUTE for every key: no prepared statement can exist, so DuckDB finds none', async () => {
    expect(ruleFor('EXECUTE')).toHaveProperty('refused');
    for (const scope of SCOPES) {
      const { status } = await w.query('execute p', { key: w.keys[scope] });
      expect([400, 403]).toContain(status);
    }
  });
});

describe('RULES', () => {
  const names = Object.keys(StatementType).filter((name) => Number.isNaN(Number(name))) as StatementTypeName[];

  it('has a rule for every DuckDB statement type and nothing else', () => {
    expect(names.length).toBeGreaterThanOrEqual(31);
    expect(Object.keys(RULES).sort()).toEqual([...names].sort());
    for (const name of names) {
      const rule = ruleFor(name);
      expect('scope' in rule ? SCOPES.includes(rule.scope) : rule.refused.length > 10, name).toBe(true);
    }
  });

  it('names each numeric statement type, and an unknown one INVALID', () => {
    for (const name of names) expect(statementTypeName(StatementType[name])).toBe(name);
    expect(statementTypeName(999 as StatementType)).toBe('INVALID');
  });

  it('counts only read-scope statements as reads', () => {
    expect(names.filter(isRead).sort()).toEqual(['EXPLAIN', 'SELECT']);
  });

  it('refuses what no key may run', () => {
    const refused = names.filter((name) => 'refused' in RULES[name]);
    expect(refused).toEqual(expect.arrayContaining([
      'TRANSACTION', 'PREPARE', 'EXECUTE', 'SET', 'VARIABLE_SET', 'LOAD', 'EXTENSION', 'UPDATE_EXTENSIONS',
      'ATTACH', 'DETACH', 'COPY', 'COPY_DATABASE', 'EXPORT', 'INVALID',
    ]));
  });
});

describe('authorize()', () => {
  const refusal = (run: () => void): EngineError | undefined => {
    try {
      run();
      return undefined;
    } catch (error) {
      expect(error).toBeInstanceOf(EngineError);
      return error as EngineError;
    }
  };

  it('lets a key run exactly what its scope allows, for every statement type and scope', () => {
    for (const type of Object.keys(RULES) as StatementTypeName[]) {
      for (const held of SCOPES) {
        const rule = RULES[type];
        const error = refusal(() => authorize(type, held, 0, 1));
        const allowed = 'scope' in rule && scopeAllows(held, rule.scope);
        expect(error === undefined, `${type} with ${held}`).toBe(allowed);
        if (error) expect(error.status).toBe(403);
      }
    }
  });

  it('names the statement, the scope it needs and the scope the key has', () => {
    const error = refusal(() => authorize('INSERT', 'read', 0, 1))!;
    expect(error.code).toBe('insufficient_scope');
    expect(error.message).toBe('INSERT needs a key with write scope; this key has read scope');
    const admin = refusal(() => authorize('CALL', 'write', 0, 1))!;
    expect(admin.message).toBe('CALL needs a key with admin scope; this key has write scope');
  });

  it('names the position in a multi-statement body and says nothing was run', () => {
    const error = refusal(() => authorize('DELETE', 'read', 1, 3))!;
    expect(error.message).toBe('statement 2 of 3 (DELETE) needs a key with write scope; this key has read scope; nothing in the request was run');
  });

  it('refuses a refused type for the admin key, with the reason', () => {
    const error = refusal(() => authorize('TRANSACTION', 'admin', 0, 1))!;
    expect(error.code).toBe('statement_refused');
    expect(error.message).toMatch(/^TRANSACTION is not allowed for any key: .*BEGIN\/COMMIT/);
    const copy = refusal(() => authorize('COPY', 'admin', 2, 4))!;
    expect(copy.message).toMatch(/^statement 3 of 4 \(COPY\) is not allowed for any key: .*POST \/v1\/tables/);
  });
});

describe('fileAccessIn()', () => {
  const tableFunction = (name: string) => ({
    error: false,
    statements: [{ node: { type: 'SELECT_NODE', from_table: { type: 'TABLE_FUNCTION', function: { class: 'FUNCTION', function_name: name, children: [] } } } }],
  });

  it.each([...FILE_FUNCTIONS])('finds %s() in a hand-made tree', (name) => {
    expect(fileAccessIn(tableFunction(name))).toBe(`${name}()`);
  });

  it('matches function names without case and reports them as written', () => {
    expect(fileAccessIn(tableFunction('READ_CSV_AUTO'))).toBe('READ_CSV_AUTO()');
  });

  it('finds a file function however deep: in arrays, subqueries, expressions', () => {
    const deep = { statements: [{ node: { select_list: [{ class: 'SUBQUERY', subquery: { node: { where_clause: { children: [[{ class: 'FUNCTION', function_name: 'glob' }]] } } } }] } }] };
    expect(fileAccessIn(deep)).toBe('glob()');
  });

  it('finds a table reference that is a path (a replacement scan) but not a plain table', () => {
    const base = (table_name: string) => ({ statements: [{ node: { from_table: { type: 'BASE_TABLE', table_name, schema_name: '' } } }] });
    expect(fileAccessIn(base('data.csv'))).toBe("the file 'data.csv'");
    expect(fileAccessIn(base('/etc/passwd'))).toBe("the file '/etc/passwd'");
    expect(fileAccessIn(base('C:\\x'))).toBe("the file 'C:\\x'");
    expect(fileAccessIn(base('sales'))).toBeUndefined();
  });

  it('finds nothing in ordinary functions, names that merely contain a file function, or non-objects', () => {
    expect(fileAccessIn(tableFunction('range'))).toBeUndefined();
    expect(fileAccessIn(tableFunction('my_read_csv'))).toBeUndefined();
    expect(fileAccessIn({ statements: [{ node: { select_list: [{ class: 'CONSTANT', value: 'read_csv' }] } }] })).toBeUndefined();
    for (const value of [null, undefined, 42, 'read_csv', [], {}]) expect(fileAccessIn(value)).toBeUndefined();
  });

  it("agrees with the trees DuckDB's json_serialize_sql makes", async () => {
    const tree = async (sql: string) => {
      const { status, body } = await w.query('select json_serialize_sql($1::VARCHAR) as tree', { key: w.keys.read, params: [sql] });
      expect(status).toBe(200);
      return JSON.parse(body.rows[0][0]);
    };
    expect(fileAccessIn(await tree("select * from read_csv('x.csv')"))).toBe('read_csv()');
    expect(fileAccessIn(await tree("select * from t where a in (select 1 from read_text('/etc/passwd'))"))).toBe('read_text()');
    expect(fileAccessIn(await tree("with x as (from parquet_scan('a.parquet')) select * from x"))).toBe('parquet_scan()');
    expect(fileAccessIn(await tree("select * from 'data.csv'"))).toBe("the file 'data.csv'");
    expect(fileAccessIn(await tree("select 'read_csv' as name, * from t"))).toBeUndefined();
    expect((await tree('insert into t values (1)')).error).toBe(true); // not SELECT-only: the sandbox speaks
  });
});

describe('mayReadFiles()', () => {
  it.each([
    ['select 1', false],
    ['select * from t join u using (id)', false],
    ["select 'x'", true],
    ['select "quoted name" from t', true],
    ['SELECT * FROM READ_CSV_AUTO($1)', true],
    ['from glob($1)', true],
    ['select * from parquet_scan($1)', true],
  ])('%s -> %s', (sql, expected) => {
    expect(mayReadFiles(sql)).toBe(expected);
  });

  it('is true for every file function name, whatever the case', () => {
    for (const name of FILE_FUNCTIONS) {
      expect(mayReadFiles(`select * from ${name}($1)`), name).toBe(true);
      expect(mayReadFiles(`select * from ${name.toUpperCase()}($1)`), name).toBe(true);
    }
  });
});

describe('a path in the data dir', () => {
  it('is refused like any other file, even the spool dir DuckDB itself may use', async () => {
    const spool = path.join(w.dataDir, 'tmp');
    fs.writeFileSync(path.join(spool, 'x.csv'), 'a\n1\n');
    for (const sql of [`select * from read_text('${spool}/*')`, `select * from glob('${spool}/*')`, `select * from '${spool}/x.csv'`]) {
      const { status, body } = await w.query(sql, { key: w.keys.admin });
      expect(status, sql).toBe(403);
      expect(body.error.code, sql).toBe('sandbox');
    }
  });
});

describe('the text guard', () => {
  it('refuses the data dir\'s own files however a statement names them, and leaves ordinary data alone', async () => {
    const { guardText } = await import('../../src/engine/statements.ts');
    const dir = '/data';
    for (const sql of [
      "create view v as select * from read_text('x')", 'insert into t select * from "read_csv"(\'a\')', "select * from query('select 1')",
      "create table c as select * from '/data/spool/load.csv'", "select * from 'skyduck-data/staging/main.parquet'", "select * from '/data/tmp/x'",
      'select * from duckdb_logs',
    ]) expect(() => guardText(sql, [dir]), sql).toThrow(/reading files is not allowed/);
    for (const sql of [
      "insert into links values ('https://example.com/staging/page', '/data/reports/q3.csv')", 'select read_textual, glob_count from t',
      "select 'query' as word", 'select * from my_query_log',
    ]) expect(() => guardText(sql, [dir]), sql).not.toThrow();
  });
});
