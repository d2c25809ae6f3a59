// Every route of the HTTP API as an OpenAPI route: the zod schemas here validate the requests and are
// the source of GET /v1/openapi.json, so the document cannot drift from what the server accepts.
import { createRoute, z } from '@hono/zod-openapi';

const bearer = [{ bearer: [] as string[] }];

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'insufficient_scope' }),
      message: z.string().openapi({ example: 'INSERT needs a key with write scope; this key has read scope' }),
      position: z.object({ line: z.number(), column: z.number() }).optional()
        .openapi({ description: "Where DuckDB's parser or binder points in the SQL" }),
    }),
  })
  .openapi('Error');

const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [status, { description: ERROR_TEXT[status] ?? 'error', content: { 'application/json': { schema: ErrorBody } } }]),
  );

const ERROR_TEXT: Record<number, string> = {
  400: 'The request or its SQL is invalid; the message says what to change',
  401: 'No API key, or one that is not valid',
  403: "The key's scope does not allow it, or no key may do it (files, extensions, settings)",
  404: 'No such table',
  406: 'The Accept header names no format skyduck produces',
  408: 'The query ran longer than SKYDUCK_QUERY_TIMEOUT',
  413: 'The body is larger than SKYDUCK_MAX_BODY_BYTES / SKYDUCK_MAX_INGEST_BYTES',
  415: 'The Content-Type is not one this route reads',
  422: 'The uploaded data is malformed (the message names the line) or does not fit the table',
  429: 'SKYDUCK_MAX_CONCURRENT_QUERIES queries are running; retry after Retry-After seconds',
  503: 'The blob store or key service did not answer; the message names it',
};

export const QueryBody = z
  .object({
    sql: z.string().trim().min(1, 'sql must not be empty').openapi({ example: 'select region, sum(amount) from sales where year = $year group by all' }),
    params: z
      .union([z.array(z.unknown()), z.record(z.string(), z.unknown())])
      .optional()
      .openapi({
        description: 'Values bound to the statement: an array for $1/? placeholders, an object for $name placeholders',
        example: { year: 2026 },
      }),
  })
  .strict()
  .openapi('QueryRequest');

const Column = z.object({ name: z.string(), type: z.string().openapi({ example: 'BIGINT' }) });

export const QueryResult = z
  .object({
    columns: z.array(Column),
    rows: z.array(z.array(z.unknown())).openapi({
      description: 'One array per row in column order. BIGINT, HUGEINT and DECIMAL are strings (no precision lost); dates and timestamps are ISO text; lists are arrays; structs are objects; maps are [{key, value}]',
    }),
    row_count: z.number(),
    execution_time_ms: z.number(),
    truncated: z.boolean().openapi({ description: 'The result was cut at SKYDUCK_MAX_RESULT_ROWS or SKYDUCK_MAX_RESULT_BYTES; stream it (NDJSON/CSV) to get all rows' }),
  })
  .openapi('QueryResult');

export const queryRoute = createRoute({
  method: 'post',
  path: '/v1/query',
  summary: 'Run SQL',
  description:
    'Runs one or more statements (one transaction, refused whole if any is not allowed for the key). ' +
    'Accept: application/json (default) buffers the result up to the caps; application/x-ndjson (one object per row) ' +
    'and text/csv stream every row with flat memory.',
  security: bearer,
  request: { body: { required: true, content: { 'application/json': { schema: QueryBody } } } },
  responses: {
    200: {
      description: 'The result of the last statement',
      content: {
        'application/json': { schema: QueryResult },
        'application/x-ndjson': { schema: z.string().openapi({ description: 'One JSON object per row' }) },
        'text/csv': { schema: z.string().openapi({ description: 'A header line, then one line per row (RFC 4180)' }) },
      },
    },
    ...errors(400, 401, 403, 406, 408, 413, 415, 429),
  },
});

const TableSummary = z.object({ schema: z.string(), name: z.string(), column_count: z.number(), estimated_rows: z.number() }).openapi('TableSummary');

export const listTablesRoute = createRoute({
  method: 'get',
  path: '/v1/tables',
  summary: 'List tables',
  security: bearer,
  responses: {
    200: { description: 'The tables of the warehouse', content: { 'application/json': { schema: z.object({ tables: z.array(TableSummary) }) } } },
    ...errors(401, 403, 429),
  },
});

export const TableName = z
  .string()
  .openapi({ param: { name: 'name', in: 'path' }, example: 'sales', description: 'An identifier: a letter or _, then letters, digits or _ (at most 63)' });

const TableDescription = z
  .object({
    schema: z.string(),
    name: z.string(),
    columns: z.array(z.object({ name: z.string(), type: z.string(), nullable: z.boolean() })),
    row_count: z.number(),
  })
  .openapi('TableDescription');

export const describeTableRoute = createRoute({
  method: 'get',
  path: '/v1/tables/{name}',
  summary: 'Describe a table: columns, types, row count',
  security: bearer,
  request: { params: z.object({ name: TableName }) },
  responses: {
    200: { description: 'The table', content: { 'application/json': { schema: TableDescription } } },
    ...errors(400, 401, 403, 404, 429),
  },
});

export const INGEST_TYPES = {
  'text/csv': 'csv',
  'application/x-ndjson': 'json',
  'application/json': 'json',
  'application/vnd.apache.parquet': 'parquet',
} as const;

const IngestResult = z
  .object({ table: z.string(), created: z.boolean(), rows_added: z.number(), rows_total: z.number() })
  .openapi('IngestResult');

export const IngestQuery = z.object({
  mode: z.enum(['append', 'replace']).default('append').openapi({
    description: 'append (the default) adds the rows, creating the table if needed; replace swaps the whole table',
  }),
  format: z.enum(['csv', 'json', 'parquet']).optional().openapi({
    description: 'Overrides the format the Content-Type implies (use with application/octet-stream)',
  }),
});

export const ingestRoute = createRoute({
  method: 'post',
  path: '/v1/tables/{name}',
  summary: 'Upload rows into a table (CSV, NDJSON/JSON or Parquet)',
  description: 'The body is streamed to disk, never held in memory, then loaded in one transaction: a bad row changes nothing.',
  security: bearer,
  request: {
    params: z.object({ name: TableName }),
    query: IngestQuery,
    body: {
      required: true,
      content: Object.fromEntries(
        // Plain OpenAPI schemas, not zod: the body is a stream for the spool, which no validator may consume.
        [...Object.keys(INGEST_TYPES), 'application/octet-stream'].map((type) => [type, { schema: { type: 'string' as const, format: 'binary' } }]),
      ),
    },
  },
  responses: {
    200: { description: 'Rows loaded', content: { 'application/json': { schema: IngestResult } } },
    ...errors(400, 401, 403, 413, 415, 422, 429),
  },
});

export const AuditQuery = z.object({
  after: z.coerce.number().int().min(0).optional().openapi({ description: 'Rows after this sequence number' }),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  agent: z.string().max(64).optional(),
});

export const auditRoute = createRoute({
  method: 'get',
  path: '/v1/audit',
  summary: 'Read the audit ledger (admin)',
  security: bearer,
  request: { query: AuditQuery },
  responses: {
    200: { description: 'Ledger rows in order', content: { 'application/json': { schema: z.object({ rows: z.array(z.record(z.string(), z.unknown())) }) } } },
    ...errors(400, 401, 403),
  },
});

export const auditVerifyRoute = createRoute({
  method: 'get',
  path: '/v1/audit/verify',
  summary: "Check the audit ledger's hash chain (admin)",
  security: bearer,
  responses: {
    200: {
      description: 'ok, or the first broken row and why',
      content: { 'application/json': { schema: z.object({ ok: z.boolean(), rows: z.number(), seq: z.number().optional(), reason: z.string().optional() }) } },
    },
    ...errors(401, 403),
  },
});

export const healthRoute = createRoute({
  method: 'get',
  path: '/v1/health',
  summary: 'Liveness',
  responses: { 200: { description: 'The process serves', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } } },
});

export const infoRoute = createRoute({
  method: 'get',
  path: '/v1/info',
  summary: 'Version, variant, compiled clouds, provider; with an admin key also the cloud identity',
  responses: { 200: { description: 'Build and runtime facts', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } } },
});

const SnapshotSummary = z
  .object({ id: z.string(), created_at: z.string(), tables: z.number(), rows: z.number(), bytes: z.number(), latest: z.boolean() })
  .openapi('SnapshotSummary');

export const takeSnapshotRoute = createRoute({
  method: 'post',
  path: '/v1/snapshots',
  summary: 'Take a snapshot now (write)',
  description: 'Every table as encrypted Parquet in the blob store, unchanged tables reused, the manifest written last. Answers when the snapshot is durable.',
  security: bearer,
  responses: {
    200: {
      description: 'The snapshot',
      content: { 'application/json': { schema: SnapshotSummary.extend({ written: z.number(), reused: z.number(), ms: z.number() }) } },
    },
    ...errors(401, 403, 503),
  },
});

export const listSnapshotsRoute = createRoute({
  method: 'get',
  path: '/v1/snapshots',
  summary: 'List snapshots, newest first (read)',
  security: bearer,
  responses: {
    200: { description: 'The complete snapshots in the blob store', content: { 'application/json': { schema: z.object({ snapshots: z.array(SnapshotSummary) }) } } },
    ...errors(401, 403, 503),
  },
});

export const MEMORY_TYPE_VALUES = ['fact', 'observation', 'instruction', 'preference', 'episode'] as const;

const Memory = z
  .object({
    id: z.string(), agent: z.string(), memory_type: z.enum(MEMORY_TYPE_VALUES), content: z.string(),
    metadata: z.record(z.string(), z.unknown()), importance: z.number(), created_at: z.string(), score: z.number().optional(),
  })
  .openapi('Memory');

export const StoreMemoryBody = z
  .object({
    content: z.string().openapi({ example: 'The finance team closes the books on the 3rd working day' }),
    memory_type: z.enum(MEMORY_TYPE_VALUES),
    metadata: z.record(z.string(), z.unknown()).optional(),
    importance: z.number().min(0).max(1).optional(),
  })
  .strict()
  .openapi('StoreMemory');

export const storeMemoryRoute = createRoute({
  method: 'post',
  path: '/v1/memory',
  summary: "Store a memory for the key's agent",
  security: bearer,
  request: { body: { required: true, content: { 'application/json': { schema: StoreMemoryBody } } } },
  responses: {
    200: { description: 'The stored memory', content: { 'application/json': { schema: Memory } } },
    ...errors(400, 401, 413, 415),
  },
});

export const MemoryQuery = z.object({
  query: z.string().optional().openapi({ description: 'Keywords or a phrase: ranked search. Without it, memories in the order stored' }),
  top_k: z.coerce.number().int().optional(),
  memory_type: z.enum(MEMORY_TYPE_VALUES).optional(),
  agent: z.string().optional().openapi({ description: "Another agent's memories: admin keys only" }),
  limit: z.coerce.number().int().optional(),
  after: z.string().optional().openapi({ description: 'The id of the last memory of the previous page' }),
});

export const listMemoryRoute = createRoute({
  method: 'get',
  path: '/v1/memory',
  summary: "Search or list the key's agent's memories (admin keys: any agent's)",
  security: bearer,
  request: { query: MemoryQuery },
  responses: {
    200: { description: 'Memories', content: { 'application/json': { schema: z.object({ memories: z.array(Memory) }) } } },
    ...errors(400, 401, 403),
  },
});
