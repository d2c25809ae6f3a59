// The engine as the API sees it: the query pipeline, tables and the audit ledger, each
// behind the scope it needs and each recorded in the ledger. No HTTP here, no DuckDB types out of here.
import type { DuckDBConnection } from '@duckdb/node-api';
import { rename } from 'node:fs/promises';
import { type Database, loadPath } from './database.ts';
import { EngineError } from './errors.ts';
import { QueryPipeline, type PipelineLimits, type QueryRequest, type QueryResponse, toEngineError } from './pipeline.ts';
import {
  describeTable, ingestFile, type IngestFormat, type IngestMode, type IngestResult, listTables,
  type TableDescription, type TableSummary, validateTableName,
} from './tables.ts';
import { removeQuietly, spoolBody } from './spool.ts';
import { type AuditRecord, type Principal, type Scope, scopeAllows } from './types.ts';

export interface WarehouseLimits extends PipelineLimits {
  maxIngestBytes: number;
}

/** Where the ledger lives: src/agent provides it. Keys are checked before (authenticate.ts). */
export interface WarehouseDeps {
  database: Database;
  limits: WarehouseLimits;
  /** Called after every committed write (the snapshot scheduler's "data changed"). */
  onWrite?(): void;
  audit(record: AuditRecord): void;
  auditLog(query: { after?: number; limit: number; agent?: string }): Promise<unknown[]>;
  verifyAudit(): Promise<{ ok: boolean; rows: number; seq?: number; reason?: string }>;
}

/** The upload's body broke off: the client went away, not the server (a 4xx, logged as a refusal). */
function clientLeft(error: unknown): EngineError | undefined {
  const code = (error as NodeJS.ErrnoException)?.code ?? '';
  const message = (error as Error)?.message ?? '';
  if (!['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ABORT_ERR', 'UND_ERR_SOCKET'].includes(code) && !/\b(aborted|terminated|premature close)\b/i.test(message)) {
    return undefined;
  }
  return new EngineError(400, 'client_closed', 'the connection closed before the whole upload arrived; nothing was written');
}

export class Warehouse {
  private readonly deps: WarehouseDeps;
  private readonly pipeline: QueryPipeline;

  constructor(deps: WarehouseDeps) {
    this.deps = deps;
    this.pipeline = new QueryPipeline({
      pool: deps.database.pool, limits: deps.limits, audit: deps.audit, onWrite: deps.onWrite, dataDirs: deps.database.dataDirs,
    });
  }

  query(principal: Principal, request: QueryRequest): Promise<QueryResponse> {
    return this.pipeline.run(principal, request);
  }

  listTables(principal: Principal): Promise<TableSummary[]> {
    return this.recorded(principal, 'LIST_TABLES', '', 'read', async (connection) => {
      const tables = await listTables(connection);
      return { value: tables, rows: tables.length };
    });
  }

  describeTable(principal: Principal, name: string): Promise<TableDescription> {
    return this.recorded(principal, 'DESCRIBE_TABLE', name, 'read', async (connection) => ({
      value: await describeTable(connection, validateTableName(name)),
      rows: 1,
    }));
  }

  /**
   * The body is spooled to the temp dir first (without holding a connection), then loaded in one write
   * transaction: a bad row or a schema mismatch rolls back and leaves the table as it was.
   */
  async ingest(principal: Principal, name: string, body: ReadableStream<Uint8Array>, format: IngestFormat, mode: IngestMode): Promise<IngestResult> {
    const started = performance.now();
    let spooled: { path: string; bytes: number } | undefined;
    try {
      this.require(principal, 'write', 'uploading a table');
      validateTableName(name);
      const { spoolDir } = this.deps.database;
      spooled = await spoolBody(body, spoolDir, this.deps.limits.maxIngestBytes, format);
      const file = spooled.path;
      const load = loadPath(spoolDir, format);
      const result = await this.withConnection(true, async (connection) => {
        // Under the write lock: the only upload SQL can read is the one being loaded now.
        await rename(file, load);
        try {
          return await ingestFile(connection, name, load, format, mode);
        } finally {
          await removeQuietly(load);
        }
      });
      this.deps.onWrite?.();
      this.audit(principal, 'INGEST', `${name} ${format} ${mode}`, started, 'ok', result.rows_added, spooled.bytes);
      return result;
    } catch (error) {
      const mapped = clientLeft(error) ?? this.mapped(principal, error);
      this.audit(principal, 'INGEST', `${name} ${format} ${mode}`, started, mapped.code, 0, spooled?.bytes ?? 0);
      throw mapped;
    } finally {
      if (spooled) await removeQuietly(spooled.path);
    }
  }

  async auditLog(principal: Principal, query: { after?: number; limit: number; agent?: string }): Promise<unknown[]> {
    this.require(principal, 'admin', 'reading the audit ledger');
    return this.deps.auditLog(query);
  }

  async verifyAudit(principal: Principal): Promise<{ ok: boolean; rows: number; seq?: number; reason?: string }> {
    this.require(principal, 'admin', 'verifying the audit ledger');
    return this.deps.verifyAudit();
  }

  private require(principal: Principal, scope: Scope, what: string): void {
    if (!scopeAllows(principal.scope, scope)) {
      throw new EngineError(403, 'insufficient_scope', `${what} needs a key with ${scope} scope; this key has ${principal.scope} scope`);
    }
  }

  private mapped(principal: Principal, error: unknown): EngineError {
    return toEngineError(error, { timedOut: false, scope: principal.scope, queryTimeout: this.deps.limits.queryTimeout });
  }

  /** A pooled connection; writes take the write lock and run in one transaction, rolled back on failure. */
  private async withConnection<T>(write: boolean, work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const lease = await this.deps.database.pool.acquire();
    try {
      if (!write) return await work(lease.connection);
      await lease.lockWrites();
      await lease.connection.run('BEGIN TRANSACTION');
      try {
        const value = await work(lease.connection);
        await lease.connection.run('COMMIT');
        return value;
      } catch (error) {
        await lease.connection.run('ROLLBACK').catch(() => undefined);
        throw error;
      }
    } finally {
      lease.release({ discard: write });
    }
  }

  private async recorded<T>(
    principal: Principal, operation: string, subject: string, scope: Scope,
    work: (connection: DuckDBConnection) => Promise<{ value: T; rows: number }>,
  ): Promise<T> {
    const started = performance.now();
    try {
      this.require(principal, scope, operation.toLowerCase().replace('_', ' '));
      const { value, rows } = await this.withConnection(false, work);
      this.audit(principal, operation, subject, started, 'ok', rows, 0);
      return value;
    } catch (error) {
      const mapped = this.mapped(principal, error);
      this.audit(principal, operation, subject, started, mapped.code, 0, 0);
      throw mapped;
    }
  }

  private audit(principal: Principal, operation: string, subject: string, started: number, outcome: string, rows: number, bytes: number): void {
    this.deps.audit({
      principal, sql: `${operation} ${subject}`, statementType: operation, rows, bytes,
      durationMs: performance.now() - started, outcome,
    });
  }
}
