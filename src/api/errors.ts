import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** An error the client can act on: a status, a stable code and a message that says what to change. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: ContentfulStatusCode;
  readonly code: string;

  constructor(status: ContentfulStatusCode, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** `{error: {code, message, request_id}}`: the request id is the one in the X-Request-Id header and the log. */
export function errorBody(c: Context, status: ContentfulStatusCode, code: string, message: string): Response {
  const requestId = c.get('requestId') as string | undefined;
  return c.json({ error: { code, message, ...(requestId ? { request_id: requestId } : {}) } }, status);
}
