// Errors every adapter maps its SDK's errors onto. Each names the provider and the resource, never a
// secret, so a caller (and an operator reading a log) knows what failed and where.
import type { CloudName } from './types.ts';

export interface ErrorSite {
  provider: CloudName;
  /** What was addressed: `s3://bucket/key`, a key URI, a directory. */
  resource: string;
}

export abstract class CloudError extends Error {
  readonly provider: CloudName;
  readonly resource: string;
  /** Whether trying again may succeed (the shared retry policy reads this). */
  readonly retryable: boolean = false;

  constructor(site: ErrorSite, message: string, options?: { cause?: unknown }) {
    super(`${site.provider}: ${site.resource}: ${message}`, options);
    this.provider = site.provider;
    this.resource = site.resource;
  }
}

export class NotFoundError extends CloudError {
  override name = 'NotFoundError';
}

export class AccessDeniedError extends CloudError {
  override name = 'AccessDeniedError';
}

/** A condition (create-only put) did not hold: the object already exists. */
export class PreconditionFailedError extends CloudError {
  override name = 'PreconditionFailedError';
}

/** The service could not be reached or answered with a transient failure. */
export class UnavailableError extends CloudError {
  override name = 'UnavailableError';
  override readonly retryable: boolean = true;
}

/** The object key cannot be stored by this backend (too long a name for its filesystem, ...): not retryable. */
export class InvalidKeyError extends CloudError {
  override name = 'InvalidKeyError';
}

/** A configuration value cannot work; the message names the variable and how to fix it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
