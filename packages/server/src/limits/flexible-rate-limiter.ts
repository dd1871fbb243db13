import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RateLimitDecision, RateLimiter } from './rate-limiter.js';

/** Adapts one `rate-limiter-flexible` limiter (memory or Redis) to the RateLimiter interface. */
export class FlexibleRateLimiter implements RateLimiter {
  readonly #limiter: RateLimiterAbstract;

  constructor(limiter: RateLimiterAbstract) {
    this.#limiter = limiter;
  }

  async consume(key: string, points = 1): Promise<RateLimitDecision> {
    try {
      const res = await this.#limiter.consume(key, points);
      return { allowed: true, remaining: res.remainingPoints, retryAfterMs: 0 };
    } catch (rejection) {
      // The library rejects with a RateLimiterRes when the budget is spent, with an Error
      // when the store failed and no insurance limiter could answer.
      if (rejection instanceof RateLimiterRes) return { allowed: false, remaining: 0, retryAfterMs: Math.max(1, rejection.msBeforeNext) };
      throw rejection;
    }
  }

  async reset(key: string): Promise<void> {
    await this.#limiter.delete(key);
  }
}
