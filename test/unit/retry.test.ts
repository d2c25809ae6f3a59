// The shared retry policy: bounded attempts, bounded total time, and with a site, a hung attempt abandoned
// when the budget ends.
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/cloud/errors.ts';
import { withRetry } from '../../src/cloud/retry.ts';

const site = { provider: 'gcp' as const, resource: 'gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k' };
const policy = { maxAttempts: 4, maxTotalMs: 300, baseDelayMs: 5, maxDelayMs: 20 };

describe('withRetry', () => {
  it('retries a retryable failure and returns the later success', async () => {
    let calls = 0;
    const result = await withRetry(async () => {
      calls++;
      if (calls < 3) throw new UnavailableError(site, 'flaky');
      return 'ok';
    }, policy, site);
    expect({ result, calls }).toEqual({ result: 'ok', calls: 3 });
  });

  it('does not retry an error that is not retryable', async () => {
    let calls = 0;
    await expect(withRetry(async () => {
      calls++;
      throw new Error('refused');
    }, policy, site)).rejects.toThrow('refused');
    expect(calls).toBe(1);
  });

  it('abandons a hung attempt when the total budget ends, naming the service', async () => {
    const started = performance.now();
    const hung = withRetry(() => new Promise<never>(() => undefined), policy, site);
    await expect(hung).rejects.toThrow(/gcp-kms:\/\/projects\/p.*no answer within 0.3 s/);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2_000);
  });
});
