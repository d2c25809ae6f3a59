/** What the API layer sees of the engine: no DuckDB types cross this line. */
export { EngineError, QueryError } from './errors.ts';

export const SCOPES = ['read', 'write', 'admin'] as const;
/** read: SELECT and friends; write: DML and DDL too; admin: everything the sandbox allows. */
export type Scope = (typeof SCOPES)[number];

/** Who is asking: an API key's id, the agent it was issued to and its scope. */
export interface Principal {
  keyId: string;
  agent: string;
  scope: Scope;
}

export const scopeAllows = (held: Scope, needed: Scope): boolean => SCOPES.indexOf(held) >= SCOPES.indexOf(needed);

export interface Column {
  name: string;
  type: string;
}

export interface QueryResult {
  columns: Column[];
  /** One array per row, values in column order; BIGINT and other lossy-in-JSON values as strings. */
  rows: unknown[][];
  row_count: number;
  execution_time_ms: number;
  /** True when the result was cut at SKYDUCK_MAX_RESULT_ROWS or SKYDUCK_MAX_RESULT_BYTES. */
  truncated: boolean;
}

/** What the pipeline reports to the audit ledger after each request (the ledger fingerprints the SQL). */
export interface AuditRecord {
  principal: Principal;
  sql: string;
  /** The statement types of the body, comma-separated, or the operation (INGEST, LIST_TABLES, ...). */
  statementType: string;
  rows: number;
  bytes: number;
  durationMs: number;
  /** 'ok' or the error code the client got. */
  outcome: string;
}
