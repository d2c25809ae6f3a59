// The HTTP API. It sees the engine only through QueryRunner: no DuckDB or cloud SDK is imported here.
import { Hono } from 'hono';
import * as z from 'zod/mini';
import { QueryError, type QueryRunner } from '../engine/types.ts';
import { ApiError, errorBody } from './errors.ts';

export interface AppDeps {
  engine: QueryRunner;
  info(): Record<string, unknown>;
  /** Where unexpected errors go; the client only ever sees a generic message. */
  logError(error: unknown): void;
}

const queryBody = z.object({ sql: z.string().check(z.trim(), z.minLength(1, 'sql must not be empty')) });

async function readJson(req: Request): Promise<unknown> {
  const type = req.headers.get('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new ApiError(415, 'unsupported_media_type', 'send the body as JSON with Content-Type: application/json');
  }
  try {
    return await req.json();
  } catch {
    throw new ApiError(400, 'invalid_json', 'the body is not valid JSON');
  }
}

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();

  app.get('/v1/health', (c) => c.json({ status: 'ok' }));
  app.get('/v1/info', (c) => c.json(deps.info()));

  app.post('/v1/query', async (c) => {
    const parsed = queryBody.safeParse(await readJson(c.req.raw));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? issue.path.join('.') : 'body';
      throw new ApiError(400, 'invalid_request', `${where}: ${issue?.message ?? 'invalid'}; expected {"sql": "select 42"}`);
    }
    return c.json(await deps.engine.query(parsed.data.sql));
  });

  app.notFound((c) => errorBody(c, 404, 'not_found', `no route for ${c.req.method} ${c.req.path}`));

  app.onError((error, c) => {
    if (error instanceof ApiError) return errorBody(c, error.status, error.code, error.message);
    if (error instanceof QueryError) return errorBody(c, 400, 'query_error', error.message);
    deps.logError(error);
    return errorBody(c, 500, 'internal', 'internal error; the server log has the details');
  });

  return app;
}
