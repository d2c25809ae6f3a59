// The one retry policy every adapter uses: bounded in attempts and in total time, full-jitter
// exponential backoff, and only for errors marked retryable. Adapters turn off their SDK's own retries
// so that the bounds here are the only ones.
import { CloudError } from './errors.ts';

export interface RetryPolicy {
  maxAttempts: number;
  /** No new attempt starts after this much time has passed since the first one. */
  maxTotalMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, maxTotalMs: 20_000, baseDelayMs: 100, maxDelayMs: 2_000 };

export const isRetryable = (error: unknown): boolean => error instanceof CloudError && error.retryable;

export async function withRetry<T>(operation: () => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const delay = Math.random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const outOfTime = Date.now() + delay - started > policy.maxTotalMs;
      if (!isRetryable(error) || attempt >= policy.maxAttempts || outOfTime) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
