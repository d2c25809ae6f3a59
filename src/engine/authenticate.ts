// Stage 1 of the query pipeline, for every route: a valid API key or 401. Kept apart from the rest of the
// engine so the API can refuse a caller before DuckDB is even loaded.
import { EngineError } from './errors.ts';
import type { Principal } from './types.ts';

export function authenticate(token: string | undefined, lookup: (token: string) => Principal | undefined): Principal {
  if (!token) {
    throw new EngineError(401, 'unauthenticated', 'send an API key as "Authorization: Bearer <key>"; create one with `skyduck keys create --scope read --agent NAME`');
  }
  const principal = lookup(token);
  if (!principal) throw new EngineError(401, 'unauthenticated', 'the API key is not valid or was revoked; `skyduck keys list` shows the active keys');
  return principal;
}
