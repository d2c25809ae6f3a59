// What both AWS adapters share: client options and how to read the SDK's errors.
import { ConfigError } from '../errors.ts';

/**
 * Client options both AWS adapters share. One attempt per SDK call, so withRetry's bounds are the only
 * ones; bounded timeouts, so an unreachable or hung endpoint fails instead of waiting forever (without
 * throwOnRequestTimeout the SDK only logs a warning when requestTimeout passes).
 */
export const transport = {
  maxAttempts: 1,
  requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
};

/** What the SDK's errors carry, read loosely: service errors, Node network errors and its own. */
export interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const THROTTLING = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded']);

export const statusOf = (error: unknown): number | undefined => (error as SdkError).$metadata?.httpStatusCode;

/** Worth another try: the network, a timeout, throttling or a 5xx. */
export function isTransient(error: unknown): boolean {
  const { name = '', code = '' } = error as SdkError;
  const status = statusOf(error) ?? 0;
  return NETWORK_CODES.has(code) || name === 'TimeoutError' || THROTTLING.has(name) || status === 429 || status >= 500;
}

/** For messages: the error's name, status and text, which never hold credentials. */
export function summary(error: unknown): string {
  const { name = 'Error', message = '' } = error as SdkError;
  const status = statusOf(error);
  return `${name}${status ? ` (HTTP ${status})` : ''}${message && message !== name ? `: ${message}` : ''}`;
}

/** Failures that come before any request: the SDK's default chains found no credentials or no region. */
export function setupError(error: unknown): ConfigError | undefined {
  const { name, message = '' } = error as SdkError;
  if (name === 'CredentialsProviderError') {
    return new ConfigError(`no AWS credentials: the SDK's default chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, web identity, instance role) found none (${message})`);
  }
  if (message === 'Region is missing') return new ConfigError('no AWS region: set SKYDUCK_CLOUD_REGION or AWS_REGION');
  return undefined;
}

