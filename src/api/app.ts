// The HTTP API. It sees the engine through the Warehouse type only: no DuckDB or cloud SDK is imported
// here. Requests are validated by the zod schemas of routes.ts, which also make GET /v1/openapi.json.
import { OpenAPIHono } from '@hono/zod-openapi';
import { swaggerUI } from '@hono/swagger-ui';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import type { Warehouse } from '../engine/warehouse.ts';
import { EngineError, type Principal } from '../engine/types.ts';
import type { Logger } from '../log.ts';
import { ApiError, errorBody } from './errors.ts';
import {
  auditRoute, auditVerifyRoute, describeTableRoute, healthRoute, infoRoute, ingestRoute, INGEST_TYPES,
  listMemoryRoute, listSnapshotsRoute, listTablesRoute, queryRoute, storeMemoryRoute, takeSnapshotRoute,
} from './routes.ts';

export interface AppDeps {
  warehouse: Pick<Warehouse, 'query' | 'listTables' | 'describeTable' | 'ingest' | 'auditLog' | 'verifyAudit'>;
  /** Stage 1 of the pipeline: the key behind the bearer token, or a 401 EngineError. */
  authenticate(token: string | undefined): Principal;
  info(): Record<string, unknown>;
  /** Snapshots of the warehouse; each checks the principal's scope. */
  snapshots?: {
    take(principal: Principal): Promise<Record<string, unknown>>;
    list(principal: Principal): Promise<Record<string, unknown>[]>;
  };
  /** Agent memory; the store checks who may see what. */
  memory?: {
    store(principal: Principal, input: Record<string, unknown>): Promise<unknown>;
    search(principal: Principal, options: Record<string, unknown>): Promise<unknown[]>;
    list(principal: Principal, options: Record<string, unknown>): Promise<unknown[]>;
  };
  /** MCP over Streamable HTTP: one session per initialize, bound to its key. */
  mcp?: { handle(request: Request, principal: Principal, parsedBody?: unknown): Promise<Response> };
  /** Who the server runs as in its cloud: shown to admin keys only. */
  identity?(): Promise<unknown>;
  limits: { maxBodyBytes: number; maxIngestBytes: number };
  /** Browser origins CORS allows; none (the default) means no CORS headers at all. */
  corsOrigins?: string[];
  /** Structured log lines; unexpected errors go here with their stack, the client sees a request id. */
  log?: Logger;
  /** Where unexpected errors go; the client only ever sees a generic message and the request id. */
  logError(error: unknown, requestId?: string): void;
}

type Env = { Variables: { principal: Principal; requestId: string } };

/** A client's own X-Request-Id is kept when it is a plain token; otherwise skyduck makes one. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const ACCEPTED = { 'application/json': 'json', 'application/x-ndjson': 'ndjson', 'text/csv': 'csv' } as const;

/** The first format of the Accept header that skyduck produces; JSON when the client does not say. */
export function negotiate(accept: string | undefined): 'json' | 'ndjson' | 'csv' {
  if (!accept) return 'json';
  const wanted = accept.split(',').map((part) => {
    const [type = '', ...parameters] = part.trim().toLowerCase().split(';');
    const q = parameters.map((p) => /^\s*q=([\d.]+)/.exec(p)?.[1]).find(Boolean);
    return { type: type.trim(), q: q === undefined ? 1 : Number(q) };
  });
  for (const { type } of wanted.filter((w) => w.q > 0).sort((a, b) => b.q - a.q)) {
    if (type in ACCEPTED) return ACCEPTED[type as keyof typeof ACCEPTED];
    if (type === '*/*' || type === 'application/*') return 'json';
    if (type === 'text/*') return 'csv';
  }
  throw new ApiError(406, 'not_acceptable',
    `cannot produce ${accept}: ask for application/json, application/x-ndjson or text/csv ` +
    '(Arrow is not offered: the DuckDB binding exposes no Arrow export, and re-encoding rows in JavaScript would be slower than NDJSON)');
}

function bearer(c: Context): string | undefined {
  const header = c.req.header('authorization');
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new ApiError(401, 'unauthenticated', 'the Authorization header must be "Bearer <key>"');
  return match[1];
}

const json413 = (limit: number, setting: string) => (c: Context) =>
  errorBody(c, 413, 'payload_too_large', `the body is larger than ${limit} bytes (${setting}); send less or raise the limit`);

export function createApp(deps: AppDeps): OpenAPIHono<Env> {
  const { warehouse } = deps;
  const app = new OpenAPIHono<Env>({
    // Validation failures in the API's own error shape, naming the field and what was expected.
    defaultHook: (result, c) => {
      if (result.success) return;
      const issue = result.error.issues[0];
      const where = issue?.path.length ? issue.path.join('.') : 'body';
      const hint = c.req.path === '/v1/query' ? '; expected {"sql": "select 42", "params": [...] or {...}}' : '';
      return errorBody(c, 400, 'invalid_request', `${where}: ${issue?.message ?? 'invalid'}${hint}`);
    },
  });

  // Every response carries a request id (also in error bodies and log lines) and headers that keep a
  // browser from sniffing, framing or caching it. CORS is off unless SKYDUCK_CORS_ORIGINS names origins.
  app.use('*', async (c, next) => {
    const offered = c.req.header('x-request-id');
    const requestId = offered && REQUEST_ID.test(offered) ? offered : crypto.randomUUID();
    c.set('requestId', requestId);
    const started = performance.now();
    await next();
    c.header('x-request-id', requestId);
    c.header('x-content-type-options', 'nosniff');
    c.header('x-frame-options', 'DENY');
    c.header('referrer-policy', 'no-referrer');
    c.header('cache-control', 'no-store');
    if (!c.req.path.startsWith('/docs')) c.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    const status = c.res.status;
    const level = status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug';
    if (deps.log?.enabled(level)) {
      deps.log[level]('request', {
        request_id: requestId, method: c.req.method, path: c.req.path, status, ms: Math.round((performance.now() - started) * 100) / 100,
        agent: c.get('principal')?.agent,
      });
    }
  });
  if (deps.corsOrigins?.length) app.use('*', cors({ origin: deps.corsOrigins, allowHeaders: ['authorization', 'content-type', 'accept', 'x-request-id', 'mcp-session-id'], exposeHeaders: ['x-request-id', 'mcp-session-id'] }));

  const authenticated = async (c: Context<Env>, next: () => Promise<void>) => {
    c.set('principal', deps.authenticate(bearer(c)));
    await next();
  };
  for (const path of ['/v1/query', '/v1/tables', '/v1/tables/*', '/v1/audit', '/v1/audit/*', '/v1/snapshots', '/v1/memory']) {
    app.use(path, authenticated);
  }

  app.use('/v1/query', async (c, next) => {
    if (c.req.method === 'POST' && !/^application\/json\b/i.test(c.req.header('content-type') ?? '')) {
      throw new ApiError(415, 'unsupported_media_type', 'send the body as JSON with Content-Type: application/json');
    }
    await next();
  });
  for (const path of ['/v1/query', '/v1/memory']) {
    app.use(path, bodyLimit({ maxSize: deps.limits.maxBodyBytes, onError: json413(deps.limits.maxBodyBytes, 'SKYDUCK_MAX_BODY_BYTES') }));
  }
  // MCP clients read JSON-RPC errors, so /mcp refuses in that shape too.
  app.use('/mcp', bodyLimit({
    maxSize: deps.limits.maxBodyBytes,
    onError: (c) => c.json({ jsonrpc: '2.0', error: { code: -32600, message: `the body is larger than ${deps.limits.maxBodyBytes} bytes (SKYDUCK_MAX_BODY_BYTES)` }, id: null }, 413),
  }));
  app.use('/v1/tables/*', async (c, next) => {
    const length = Number(c.req.header('content-length') ?? 0);
    if (c.req.method === 'POST' && length > deps.limits.maxIngestBytes) return json413(deps.limits.maxIngestBytes, 'SKYDUCK_MAX_INGEST_BYTES')(c);
    await next();
  });

  app.openapi(healthRoute, (c) => c.json({ status: 'ok' as const }, 200));

  app.openapi(infoRoute, async (c) => {
    const info = deps.info();
    const token = c.req.header('authorization') ? bearer(c) : undefined;
    if (token && deps.identity) {
      const principal = deps.authenticate(token);
      if (principal.scope === 'admin') return c.json({ ...info, identity: await deps.identity() }, 200);
    }
    return c.json(info, 200);
  });

  app.openapi(queryRoute, async (c) => {
    const format = negotiate(c.req.header('accept'));
    const { sql, params } = c.req.valid('json');
    const result = await warehouse.query(c.get('principal'), { sql, params, format, signal: c.req.raw.signal });
    if (result.kind === 'json') return c.json(result.body, 200);
    return new Response(result.body, { status: 200, headers: { 'content-type': result.contentType } }) as never;
  });

  app.openapi(listTablesRoute, async (c) => c.json({ tables: await warehouse.listTables(c.get('principal')) }, 200));

  app.openapi(describeTableRoute, async (c) => c.json(await warehouse.describeTable(c.get('principal'), c.req.valid('param').name), 200));

  app.openapi(ingestRoute, async (c) => {
    const { name } = c.req.valid('param');
    const { mode, format: override } = c.req.valid('query');
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const format = override ?? INGEST_TYPES[type as keyof typeof INGEST_TYPES];
    if (!format) {
      throw new ApiError(415, 'unsupported_media_type',
        `cannot load ${type || 'a body without Content-Type'}: send text/csv, application/x-ndjson, application/json or application/vnd.apache.parquet (or ?format=csv|json|parquet)`);
    }
    const body = c.req.raw.body;
    if (!body) throw new ApiError(400, 'empty_body', 'the body is empty: send the rows to load');
    return c.json(await warehouse.ingest(c.get('principal'), name, body, format, mode), 200);
  });

  app.openapi(auditRoute, async (c) => c.json({ rows: (await warehouse.auditLog(c.get('principal'), c.req.valid('query'))) as Record<string, unknown>[] }, 200));

  app.openapi(auditVerifyRoute, async (c) => c.json(await warehouse.verifyAudit(c.get('principal')), 200));

  const snapshots = () => {
    if (!deps.snapshots) throw new ApiError(503, 'snapshots_unavailable', 'snapshots are not set up on this server');
    return deps.snapshots;
  };
  app.openapi(takeSnapshotRoute, async (c) => c.json((await snapshots().take(c.get('principal'))) as never, 200));
  app.openapi(listSnapshotsRoute, async (c) => c.json({ snapshots: (await snapshots().list(c.get('principal'))) as never[] }, 200));

  const memory = () => {
    if (!deps.memory) throw new ApiError(503, 'memory_unavailable', 'agent memory is not set up on this server');
    return deps.memory;
  };
  app.openapi(storeMemoryRoute, async (c) => c.json((await memory().store(c.get('principal'), c.req.valid('json'))) as never, 200));
  app.openapi(listMemoryRoute, async (c) => {
    const { query, top_k, memory_type, agent, limit, after } = c.req.valid('query');
    const principal = c.get('principal');
    const memories = query !== undefined
      ? await memory().search(principal, { query, top_k, memory_type, agent })
      : await memory().list(principal, { memory_type, agent, limit, after });
    return c.json({ memories: memories as never[] }, 200);
  });

  // MCP: JSON-RPC errors for what the transport never sees (no key, no MCP on this server).
  app.all('/mcp', async (c) => {
    const rpcError = (status: 401 | 503, message: string) =>
      c.json({ jsonrpc: '2.0', error: { code: -32001, message }, id: null }, status);
    if (!deps.mcp) return rpcError(503, 'MCP is not set up on this server');
    let principal: Principal;
    try {
      principal = deps.authenticate(bearer(c));
    } catch (error) {
      return rpcError(401, (error as Error).message);
    }
    return deps.mcp.handle(c.req.raw, principal);
  });

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http', scheme: 'bearer', description: 'An API key from `skyduck keys create` (or the admin key the first start printed)',
  });
  app.doc31('/v1/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'skyduck', version: String(deps.info().version ?? '0'), description: 'Agent-native data warehouse: DuckDB behind an HTTP API' },
  });
  app.get('/docs', swaggerUI({ url: '/v1/openapi.json', title: 'skyduck API' }));

  app.notFound((c) => errorBody(c, 404, 'not_found', `no route for ${c.req.method} ${c.req.path}; GET /docs lists them`));

  app.onError((error, c) => {
    const requestId = c.get('requestId');
    if (error instanceof ApiError) return errorBody(c, error.status, error.code, error.message);
    if (error instanceof EngineError) {
      if (error.status === 500) {
        deps.logError(error.cause ?? error, requestId);
        return errorBody(c, 500, 'internal', `internal error; the server log has the details under request id ${requestId}`);
      }
      if (error.retryAfterSeconds !== undefined) c.header('retry-after', String(error.retryAfterSeconds));
      const position = (error as { position?: { line: number; column: number } }).position;
      return c.json({ error: { code: error.code, message: error.message, ...(position ? { position } : {}), request_id: requestId } }, error.status);
    }
    if (error instanceof HTTPException && error.status < 500) {
      // Hono's own refusals; the JSON validator's is "Malformed JSON in request body".
      const invalidJson = /json/i.test(error.message);
      return errorBody(c, error.status as 400, invalidJson ? 'invalid_json' : 'bad_request',
        invalidJson ? 'the body is not valid JSON' : error.message || 'bad request');
    }
    deps.logError(error, requestId);
    return errorBody(c, 500, 'internal', `internal error; the server log has the details under request id ${requestId}`);
  });

  return app;
}
