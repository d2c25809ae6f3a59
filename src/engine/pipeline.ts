// The query pipeline. Every SQL request passes these stages, in this order:
//
//   1. authenticate  the API key becomes a Principal (Warehouse.authenticate; the API calls it before it
//                    reads the body, so an unknown caller cannot make the server read anything)
//   2. classify      DuckDB's parser splits the body (extractStatements) and types each statement
//                    (the prepared statement's statementType): no regexes over SQL text
//   3. authorize     each statement's type against the key's scope (statements.ts: RULES)
//   4. guard         statements no key may run (files, extensions, settings, ATTACH, COPY, ...) and file
//                    functions in the parse tree; DuckDB's sandbox settings enforce the same underneath
//   5. execute       on a pooled connection, READ ONLY for read keys, one write at a time, interrupted at
//                    SKYDUCK_QUERY_TIMEOUT; a multi-statement body is one transaction, refused whole
//   6. encode        JSON up to the row and byte caps, or NDJSON / CSV streamed chunk by chunk
//   7. audit         one ledger row per request: agent, key, fingerprint, types, rows, bytes, outcome
import { DOUBLE, type DuckDBConnection, type DuckDBMaterializedResult, type DuckDBPreparedStatement, type DuckDBResult } from '@duckdb/node-api';
import { type Format, FORMATS, readBuffered, streamResult } from './encode.ts';
import { diskFull, EngineError, isDiskFull, QueryError } from './errors.ts';
import type { ConnectionPool, Lease } from './pool.ts';
import {
  authorize, fileAccessIn, guardText, isRead, mayReadFiles, refuseFileAccess, statementTypeName, type StatementTypeName,
} from './statements.ts';
import type { AuditRecord, Principal, QueryResult } from './types.ts';

export const STAGES = ['authenticate', 'classify', 'authorize', 'guard', 'execute', 'encode', 'audit'] as const;

export type Params = unknown[] | Record<string, unknown>;

export interface QueryRequest {
  sql: string;
  params?: Params;
  format: Format;
  /** Aborted when the client goes away: the statement is interrupted. */
  signal?: AbortSignal;
  /** Tighter limits for this request (MCP tools cap rows); never looser than the server's. */
  limits?: Partial<PipelineLimits>;
}

export type QueryResponse =
  | { kind: 'json'; body: QueryResult }
  | { kind: 'stream'; contentType: string; body: ReadableStream<Uint8Array> };

export interface PipelineLimits {
  queryTimeout: number;
  maxResultRows: number;
  maxResultBytes: number;
}

export interface PipelineDeps {
  pool: ConnectionPool;
  limits: PipelineLimits;
  audit(record: AuditRecord): void;
  /** Called after a request that may have written committed. */
  onWrite?(): void;
  /** The data dir (as configured and resolved): SQL naming a path in it is refused. */
  dataDirs?: string[];
}

/** A statement without `prepared` could not be prepared yet: it depends on an earlier one in the body. */
interface Classified {
  prepared?: DuckDBPreparedStatement;
  type?: StatementTypeName;
}

const seconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

/** DuckDB's messages start with their kind: "Parser Error: ...", "Permission Error: ...". */
function duckdbKind(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  return /^(?:Failed to extract statements: )?([A-Za-z ]+) Error: /.exec(error.message)?.[1];
}

const isReadOnlyViolation = (error: unknown) =>
  duckdbKind(error) === 'TransactionContext' && /read-only mode/.test((error as Error).message);

/** Where DuckDB's caret points, from its "LINE n: ..." excerpt. */
export function errorPosition(message: string): { line: number; column: number } | undefined {
  const match = /\nLINE (\d+): (.*)\n( *)\^/.exec(message);
  if (!match) return undefined;
  const prefix = `LINE ${match[1]}: `.length;
  return { line: Number(match[1]), column: match[3]!.length - prefix + 1 };
}

interface ErrorContext {
  timedOut: boolean;
  scope: string;
  queryTimeout: number;
}

/** What the client sees of a DuckDB failure: its message is about the client's own SQL, so it is shown. */
export function toEngineError(error: unknown, context: ErrorContext): EngineError {
  if (error instanceof EngineError) return error;
  if (isDiskFull(error)) return diskFull();
  const kind = duckdbKind(error);
  const message = (error as Error)?.message?.replace(/^Failed to extract statements: /, '') ?? String(error);
  if (kind === 'INTERRUPT' || kind === 'Interrupt') {
    return context.timedOut
      ? new EngineError(408, 'query_timeout', `the query ran longer than ${seconds(context.queryTimeout)} and was stopped (SKYDUCK_QUERY_TIMEOUT); narrow it or raise the limit`)
      : new EngineError(503, 'interrupted', 'the query was interrupted because the client went away or the server is stopping');
  }
  if (kind === 'Permission') {
    return new EngineError(403, 'sandbox', `${message.split('\n')[0]}: SQL cannot reach files, the network or extensions; upload data with POST /v1/tables/{name}`);
  }
  if (isReadOnlyViolation(error)) {
    return new EngineError(403, 'insufficient_scope', `the query writes (for example nextval() or EXPLAIN ANALYZE of a write) and needs a key with write scope; this key has ${context.scope} scope`);
  }
  if (kind === 'INTERNAL' || kind === 'FATAL' || kind === undefined) return new EngineError(500, 'internal', 'internal error', undefined, { cause: error });
  const position = errorPosition(message);
  return position ? Object.assign(new QueryError(message), { position }) : new QueryError(message);
}

export class QueryPipeline {
  private readonly deps: PipelineDeps;

  constructor(deps: PipelineDeps) {
    this.deps = deps;
  }

  /** Stages 2-7 for an authenticated principal. */
  async run(principal: Principal, request: QueryRequest): Promise<QueryResponse> {
    const started = performance.now();
    const record: AuditRecord = {
      principal, sql: request.sql, statementType: '', rows: 0, bytes: 0, durationMs: 0, outcome: 'ok',
    };
    const finish = (outcome: string, rows = 0, bytes = 0) => {
      record.outcome = outcome;
      record.rows = rows;
      record.bytes = bytes;
      record.durationMs = performance.now() - started;
      this.deps.audit(record);
    };

    let lease: Lease | undefined;
    try {
      lease = await this.deps.pool.acquire();
      const attempt = (write: boolean) => this.execute(lease!, principal, request, record, started, finish, write);
      // A write key's read that turns out to write (nextval) runs again as a write; the first try was rolled back.
      return await attempt(false).catch((error: unknown) => {
        if (isReadOnlyViolation(error) && principal.scope !== 'read') return attempt(true);
        throw error;
      });
    } catch (error) {
      // A failed request may still have left session state (a temp object made before a later failure).
      lease?.release({ discard: true });
      const mapped = toEngineError(error, { timedOut: false, scope: principal.scope, queryTimeout: this.deps.limits.queryTimeout });
      finish(mapped.code);
      throw mapped;
    }
  }

  /** Classify, authorize and guard every statement before any of them runs. */
  private async classify(connection: DuckDBConnection, principal: Principal, request: QueryRequest, record: AuditRecord): Promise<Classified[]> {
    // One statement (nearly every request) is prepared in one step; a body of several, or one DuckDB
    // expands into several (PIVOT), goes through extractStatements.
    const single = await connection.prepare(request.sql).catch((error: unknown) => {
      const message = (error as Error)?.message ?? '';
      if (/Cannot prepare multiple statements at once/.test(message)) return undefined;
      if (/No statement to prepare/.test(message)) {
        throw new EngineError(400, 'invalid_request', 'sql holds no statement (only comments or semicolons); send e.g. {"sql": "select 42"}');
      }
      throw error;
    });
    if (single) {
      const type = statementTypeName(single.statementType);
      record.statementType = type;
      authorize(type, principal.scope, 0, 1);
      guardText(request.sql, this.deps.dataDirs);
      if (mayReadFiles(request.sql)) await this.guardFiles(connection, request.sql);
      return [{ prepared: single, type }];
    }
    let extracted;
    try {
      extracted = await connection.extractStatements(request.sql);
    } catch (error) {
      // Only comments or semicolons: DuckDB's binding fails without a DuckDB error kind.
      if (duckdbKind(error) === undefined) throw new EngineError(400, 'invalid_request', 'sql holds no statement (only comments or semicolons); send e.g. {"sql": "select 42"}');
      throw error;
    }
    const count = extracted.count;
    if (count === 0) throw new EngineError(400, 'invalid_request', 'sql holds no statement; send e.g. {"sql": "select 42"}');
    if (request.params !== undefined && count > 1) {
      throw new EngineError(400, 'invalid_request', `params bind one statement and sql holds ${count}: send one statement per request when binding params`);
    }
    const statements: Classified[] = [];
    for (let i = 0; i < count; i++) {
      try {
        const prepared = await extracted.prepare(i);
        const type = statementTypeName(prepared.statementType);
        // Recorded before authorizing: refused statements are the rows an auditor looks for first.
        record.statementType = [...statements.map((s) => s.type ?? 'PENDING'), type].join(',');
        authorize(type, principal.scope, i, count);
        statements.push({ prepared, type });
      } catch (error) {
        const kind = duckdbKind(error);
        // A later statement may name a table an earlier one creates: it is classified when its turn comes.
        if (count > 1 && i > 0 && (kind === 'Catalog' || kind === 'Binder')) statements.push({});
        else throw error;
      }
    }
    guardText(request.sql, this.deps.dataDirs);
    if (mayReadFiles(request.sql)) await this.guardFiles(connection, request.sql);
    return statements;
  }

  /** The parse tree of SELECT-only bodies is searched for file functions; DuckDB's sandbox covers the rest. */
  private async guardFiles(connection: DuckDBConnection, sql: string): Promise<void> {
    const reader = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
    const text = reader.getRows()[0]?.[0];
    if (typeof text !== 'string') return;
    const tree = JSON.parse(text) as { error?: boolean };
    if (tree.error) return; // not SELECT-only: DuckDB's Permission Error speaks for the sandbox
    const found = fileAccessIn(tree);
    if (found) refuseFileAccess(found);
  }

  /**
   * Runs the classified statements and encodes the last one's result. On success the lease is released
   * here (JSON) or when the stream ends; on failure the transaction is rolled back and the caller releases.
   */
  private async execute(
    lease: Lease,
    principal: Principal,
    request: QueryRequest,
    record: AuditRecord,
    started: number,
    finish: (outcome: string, rows?: number, bytes?: number) => void,
    forceWrite: boolean,
  ): Promise<QueryResponse> {
    const { connection } = lease;
    const statements = await this.classify(connection, principal, request, record);
    const types = () => statements.map((s) => s.type ?? 'PENDING').join(',');
    record.statementType = types();
    const stream = request.format !== 'json';
    // Read keys always run READ ONLY, whatever a statement turns out to be: DuckDB itself then refuses
    // anything that writes. For other keys a body that only reads shares the database with other readers.
    const writes = principal.scope !== 'read' && (forceWrite || statements.some((s) => !s.type || !isRead(s.type)));
    // A stream always runs in a transaction: how a failed stream is told from a finished one (encode.ts).
    const transaction = statements.length > 1 || principal.scope === 'read' || forceWrite || stream;
    // Anything but reads may leave session state (temp objects, macros, PRAGMA settings): not reused.
    const release = () => lease.release({ discard: writes });
    if (writes) await lease.lockWrites();

    const limits = tighter(this.deps.limits, request.limits);
    const context: ErrorContext = { timedOut: false, scope: principal.scope, queryTimeout: limits.queryTimeout };
    const timer = setTimeout(() => {
      context.timedOut = true;
      connection.interrupt();
    }, limits.queryTimeout);
    const onAbort = () => connection.interrupt();
    request.signal?.addEventListener('abort', onAbort);
    let open = false;
    const end = async (commit: boolean) => {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      if (!open) return;
      open = false;
      await connection.run(commit ? 'COMMIT' : 'ROLLBACK');
    };

    try {
      if (transaction) {
        await connection.run(writes ? 'BEGIN TRANSACTION' : 'BEGIN TRANSACTION READ ONLY');
        open = true;
      }
      // A statement that could not be prepared before the ones ahead of it ran (it names a table they
      // create, or DuckDB expanded it, like PIVOT, into statements that share generated names) runs the
      // whole body from one new extraction, prepared statement by statement in order.
      const reextract = statements.some((s) => !s.prepared);
      const fresh = reextract ? await connection.extractStatements(request.sql) : undefined;
      let result: DuckDBResult | undefined;
      for (let i = 0; i < statements.length; i++) {
        const statement = statements[i]!;
        let prepared = statement.prepared;
        if (fresh) {
          prepared = await fresh.prepare(i);
          statement.type = statementTypeName(prepared.statementType);
          record.statementType = types();
          authorize(statement.type, principal.scope, i, statements.length);
        }
        if (request.params !== undefined) bind(prepared!, request.params);
        const last = i === statements.length - 1;
        // JSON reads a materialized result: the binding reports its errors, and small results are faster so.
        if (!last) await prepared!.run();
        else result = stream ? await prepared!.stream() : await prepared!.run();
      }

      if (!stream) {
        const buffered = readBuffered(result as DuckDBMaterializedResult, { maxRows: limits.maxResultRows, maxBytes: limits.maxResultBytes });
        await end(true);
        release();
        if (writes) this.deps.onWrite?.();
        finish('ok', buffered.rows.length, buffered.bytes);
        return {
          kind: 'json',
          body: {
            columns: buffered.columns,
            rows: buffered.rows,
            row_count: buffered.rows.length,
            execution_time_ms: Math.round((performance.now() - started) * 1000) / 1000,
            truncated: buffered.truncated,
          },
        };
      }

      const body = streamResult(
        result!,
        request.format as 'ndjson' | 'csv',
        (ended) => {
          const ok = ended.error === undefined;
          void end(ok).catch(() => undefined).finally(release);
          if (ok && writes) this.deps.onWrite?.();
          finish(ok ? 'ok' : toEngineError(ended.error, context).code, ended.rows, ended.bytes);
        },
        (error) => {
          const mapped = toEngineError(error, context);
          return { code: mapped.code, message: mapped.message };
        },
        // After a failed stream DuckDB has aborted the transaction, and the next statement says so.
        async () => {
          try {
            await connection.run('SELECT 1');
          } catch (error) {
            if (context.timedOut) throw Object.assign(new Error('INTERRUPT Error: Interrupted!'), { cause: error });
            throw new EngineError(400, 'query_error', 'the query failed while its rows were being streamed; DuckDB\'s binding does not say why in a stream: run it with Accept: application/json to see the error');
          }
        },
      );
      return { kind: 'stream', contentType: FORMATS[request.format], body };
    } catch (error) {
      await end(false).catch(() => undefined);
      // The read-only retry in run() needs DuckDB's own error; everything else is mapped with the timeout known.
      throw isReadOnlyViolation(error) ? error : toEngineError(error, context);
    }
  }
}

/** The server's limits, lowered where the request asks for less. */
function tighter(server: PipelineLimits, asked?: Partial<PipelineLimits>): PipelineLimits {
  if (!asked) return server;
  const pick = (name: keyof PipelineLimits) => Math.min(server[name], asked[name] ?? Infinity);
  return { queryTimeout: pick('queryTimeout'), maxResultRows: pick('maxResultRows'), maxResultBytes: pick('maxResultBytes') };
}

/**
 * node-api infers BIGINT for every integral JS number, which fails past 2^63 (1e20) and is wrong for
 * numbers JSON gave us as floats: those bind as DOUBLE. Other values keep the inferred type.
 */
function typesFor(params: Params): unknown {
  const typeOf = (value: unknown) =>
    typeof value === 'number' && !Number.isSafeInteger(value) ? DOUBLE : undefined;
  return Array.isArray(params) ? params.map(typeOf) : Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeOf(v)]));
}

/** Positional ($1, ?) or named ($name) values; DuckDB infers each parameter's type from the statement. */
function bind(prepared: DuckDBPreparedStatement, params: Params): void {
  const count = prepared.parameterCount;
  if (Array.isArray(params)) {
    if (params.length !== count) {
      throw new EngineError(400, 'invalid_params', `the statement has ${count} parameter${count === 1 ? '' : 's'} and params has ${params.length} value${params.length === 1 ? '' : 's'}`);
    }
  } else {
    const names = Array.from({ length: count }, (_, i) => prepared.parameterName(i + 1));
    const missing = names.filter((name) => !(name in params));
    const extra = Object.keys(params).filter((name) => !names.includes(name));
    if (missing.length || extra.length) {
      throw new EngineError(400, 'invalid_params', `params ${missing.length ? `lack ${missing.map((n) => `$${n}`).join(', ')}` : ''}${missing.length && extra.length ? ' and ' : ''}${extra.length ? `name ${extra.join(', ')}, which the statement does not use` : ''}; the statement's parameters are ${names.map((n) => `$${n}`).join(', ') || 'none'}`);
    }
  }
  try {
    prepared.bind(params as never, typesFor(params) as never);
  } catch (error) {
    throw new EngineError(400, 'invalid_params', `params could not be bound: ${(error as Error).message}`);
  }
}

