/**
 * A request the engine refused or could not finish, as the client should see it: an HTTP-like status,
 * a stable code and a message that names what was wrong and how to fix it. Never a stack or a secret.
 */
export type EngineStatus = 400 | 401 | 403 | 404 | 406 | 408 | 409 | 413 | 415 | 422 | 429 | 500 | 503 | 507;

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

/** The data dir's disk is full: the server's problem, not the request's; no path in the message. */
export const diskFull = (): EngineError =>
  new EngineError(507, 'insufficient_storage', "the data dir's disk is full: nothing was written; free space or grow the volume behind SKYDUCK_DATA_DIR, then retry");

export function isDiskFull(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOSPC' || /No space left on device/i.test((error as Error)?.message ?? '');
}
