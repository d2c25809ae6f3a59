/** What the API layer sees of the engine: no DuckDB types cross this line. */
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
}

export interface QueryRunner {
  query(sql: string): Promise<QueryResult>;
}

/** The statement itself was wrong (syntax, unknown table, type mismatch): the client's to fix. */
export class QueryError extends Error {
  override name = 'QueryError';
}
