/**
 * A request the engine refused or could not finish, as the client should see it: an HTTP-like status,
 * a stable code and a message that names what was wrong and how to fix it. Never a stack or a secret.
 */
export type EngineStatus = 400 | 401 | 403 | 404 | 406 | 408 | 409 | 413 | 415 | 422 | 429 | 500 | 503;

export class EngineError extends Error {
  override name = 'EngineError';
  readonly status: EngineStatus;
  readonly code: string;
  /** For 429: when to try again. */
  readonly retryAfterSeconds?: number;

  constructor(status: EngineStatus, code: string, message: string, retryAfterSeconds?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
    this.code = code;
    if (retryAfterSeconds !== undefined) this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The statement itself was wrong (syntax, unknown table, type mismatch): the client's to fix. */
export class QueryError extends EngineError {
  override name = 'QueryError';
  constructor(message: string) {
    super(400, 'query_error', message);
  }
}
