// The one retry policy every adapter uses: bounded in attempts and in total time, full-jitter
// exponential backoff, and only for errors marked retryable. Adapters turn off their SDK's own retries
// so that the bounds here are the only ones.
import { CloudError, type ErrorSite, UnavailableError } from './errors.ts';

export interface RetryPolicy {
  maxAttempts: number;
  /** No new attempt starts after this much time has passed since the first one. */
  maxTotalMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, maxTotalMs: 20_000, baseDelayMs: 100, maxDelayMs: 2_000 };

export const isRetryable = (error: unknown): boolean => error instanceof CloudError && error.retryable;

/**
 * Runs `operation` until it succeeds or the policy says stop. With `site`, an attempt still running when
 * the total budget ends is abandoned (its SDK call may finish later, unheard) and the caller gets an
 * UnavailableError at once: a hung service costs maxTotalMs, not one SDK timeout per attempt.
 */
export async function withRetry<T>(operation: () => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY, site?: ErrorSite): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      if (!site) return await operation();
      const left = Math.max(policy.maxTotalMs - (Date.now() - started), 1);
      let timer: NodeJS.Timeout | undefined;
      const budget = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new UnavailableError(site, `no answer within ${policy.maxTotalMs / 1000} s: the service hangs or is unreachable`)), left);
        timer.unref();
      });
      try {
        return await Promise.race([operation(), budget]);
      } finally {
        clearTimeout(timer);
      }
    } catch (error) {
      const delay = Math.random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const outOfTime = Date.now() + delay - started >= policy.maxTotalMs;
      if (!isRetryable(error) || attempt >= policy.maxAttempts || outOfTime) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
