import { RateLimiterMemory } from 'rate-limiter-flexible';
import { FlexibleRateLimiter } from './flexible-rate-limiter.js';
import type { RateLimitRule, RateLimiter, RateLimiterStore } from './rate-limiter.js';

/**
 * Counters in this process (`RateLimiterMemory`): exact for one node. A key's counter lives
 * only until its window ends, so attacker-chosen keys (IPs, emails) cost memory for at most
 * one window each.
 */
export class MemoryRateLimiterStore implements RateLimiterStore {
  readonly kind = 'memory';
  readonly #limiters = new Map<string, RateLimiter>();

  limiter(name: string, rule: RateLimitRule): RateLimiter {
    const id = `${name}:${rule.points}/${rule.durationSeconds}`;
    let limiter = this.#limiters.get(id);
    if (limiter === undefined) {
      limiter = new FlexibleRateLimiter(new RateLimiterMemory({ keyPrefix: id, points: rule.points, duration: rule.durationSeconds }));
      this.#limiters.set(id, limiter);
    }
    return limiter;
  }

  async ready(): Promise<void> {}

  async close(): Promise<void> {
    this.#limiters.clear();
  }
}
